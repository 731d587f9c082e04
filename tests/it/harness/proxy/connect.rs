//! An HTTP CONNECT proxy for tests, as a corporate proxy (squid, say) is to kubectl: it reads a
//! `CONNECT host:port` request, optionally requires `Proxy-Authorization: Basic`, opens a TCP
//! connection to the target and then passes bytes both ways, so TLS runs end to end between the
//! client and the server. A request for an absolute `http://` URL (what a client sends a proxy
//! for a plain-HTTP server) is forwarded as squid forwards it: the request line in origin form
//! and without `Proxy-Authorization` to the server, then bytes both ways. It records every
//! request, resolves made-up names (the fake server's [`kreflect_sim::PROXY_ONLY_HOST`])
//! through its own table, can refuse every request with a
//! status of choice, and can itself be reached over TLS (an `https://` proxy). Dropping it
//! closes the listener and every connection.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::{Hosts, Listener, Log, dial, split_target};

/// The longest request head read before answering 431.
const MAX_HEAD: usize = 16 * 1024;

/// How the proxy answers.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Host names it resolves itself (other targets are connected to as written).
    pub hosts: Hosts,
    /// Answer every CONNECT with this status (403, 502, ...) instead of opening a tunnel.
    pub refuse: Option<u16>,
    /// Require `Proxy-Authorization: Basic base64(user:password)` with these; 407 otherwise.
    pub credentials: Option<(String, String)>,
    /// Accept TLS first, as an `https://` proxy does.
    pub tls: Option<TlsAcceptor>,
}

impl ConnectOptions {
    /// Resolves `name` to `ip` (e.g. the fake server's made-up name to 127.0.0.1).
    pub fn resolving(name: &str, ip: IpAddr) -> ConnectOptions {
        ConnectOptions {
            hosts: HashMap::from([(name.to_owned(), ip)]),
            ..ConnectOptions::default()
        }
    }
}

/// One request the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The method (`CONNECT` unless the client sent something else).
    pub method: String,
    /// The request target: `host:port` for a CONNECT, the absolute URL of a forwarded request.
    pub target: String,
    /// The `Proxy-Authorization` header, if sent.
    pub proxy_authorization: Option<String>,
}

/// A CONNECT proxy on `127.0.0.1:0`.
pub struct ConnectProxy {
    listener: Listener,
    /// Whether it serves TLS.
    tls: bool,
    requests: Log<ConnectRequest>,
}

impl ConnectProxy {
    pub async fn start(options: ConnectOptions) -> ConnectProxy {
        let tls = options.tls.is_some();
        let requests = Log::default();
        let options = Arc::new(options);
        let listener = Listener::start({
            let requests = requests.clone();
            move |client| {
                let (options, requests) = (Arc::clone(&options), requests.clone());
                async move {
                    match &options.tls {
                        Some(acceptor) => {
                            if let Ok(client) = acceptor.accept(client).await {
                                serve(client, &options, &requests).await;
                            }
                        }
                        None => serve(client, &options, &requests).await,
                    }
                }
            }
        })
        .await;
        ConnectProxy {
            listener,
            tls,
            requests,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ConnectRequest> {
        self.requests.entries()
    }

    /// The targets of the requests received so far.
    pub fn targets(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.target).collect()
    }
}

/// One client connection: one request, then a tunnel or an error answer.
async fn serve(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    options: &ConnectOptions,
    requests: &Log<ConnectRequest>,
) {
    let Ok((head, early)) = read_head(&mut client).await else {
        return;
    };
    let Some(request) = parse_head(&head) else {
        let _ = answer(&mut client, 400, "Bad Request").await;
        return;
    };
    requests.push(request.clone());
    let forward = request.target.starts_with("http://");
    if request.method != "CONNECT" && !forward {
        let _ = answer(&mut client, 405, "Method Not Allowed").await;
        return;
    }
    if let Some(status) = options.refuse {
        let _ = answer(&mut client, status, "Refused by the test proxy").await;
        return;
    }
    if let Some((user, password)) = &options.credentials {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if request.proxy_authorization.as_deref() != Some(expected.as_str()) {
            let _ = answer(&mut client, 407, "Proxy Authentication Required").await;
            return;
        }
    }
    if forward {
        forward_request(client, options, &head, &request, &early).await;
        return;
    }
    let Some((host, port)) = split_target(&request.target) else {
        let _ = answer(&mut client, 400, "Bad Request").await;
        return;
    };
    let Ok(mut upstream) = dial(&options.hosts, host, port).await else {
        let _ = answer(&mut client, 502, "Bad Gateway").await;
        return;
    };
    let established = client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await;
    if established.is_err() || upstream.write_all(&early).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Forwards a request for an absolute `http://` URL to its server: the head in origin form,
/// without `Proxy-Authorization`, then the bytes after it, and bytes both ways from then on.
async fn forward_request(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    options: &ConnectOptions,
    head: &str,
    request: &ConnectRequest,
    early: &[u8],
) {
    let rest = request.target.trim_start_matches("http://");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let Some((host, port)) = split_target(authority)
        .or_else(|| Some((authority, 80)).filter(|_| !authority.contains(':')))
    else {
        let _ = answer(&mut client, 400, "Bad Request").await;
        return;
    };
    let Ok(mut upstream) = dial(&options.hosts, host, port).await else {
        let _ = answer(&mut client, 502, "Bad Gateway").await;
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let version = request_line.rsplit(' ').next().unwrap_or("HTTP/1.1");
    let mut rewritten = format!("{} {path} {version}\r\n", request.method);
    for line in lines.filter(|line| !line.is_empty()) {
        if !line
            .to_ascii_lowercase()
            .starts_with("proxy-authorization:")
        {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("\r\n");
    if upstream.write_all(rewritten.as_bytes()).await.is_err()
        || upstream.write_all(early).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Reads up to the end of the request head: the head, and any bytes after it.
async fn read_head(client: &mut (impl AsyncRead + Unpin)) -> io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let early = buffer.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buffer).into_owned(), early));
        }
        if buffer.len() > MAX_HEAD {
            return Err(io::Error::other("request head too long"));
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// The request line and the `Proxy-Authorization` header of a request head.
fn parse_head(head: &str) -> Option<ConnectRequest> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?, request_line.next()?);
    let proxy_authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    Some(ConnectRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        proxy_authorization,
    })
}

/// An error answer, and the connection closed.
async fn answer(
    client: &mut (impl AsyncWrite + Unpin),
    status: u16,
    reason: &str,
) -> io::Result<()> {
    let body = format!("{status} {reason}\n");
    let challenge = if status == 407 {
        "Proxy-Authenticate: Basic realm=\"test proxy\"\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\n{challenge}Content-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await
}

/// A TLS acceptor for an `https://` proxy on 127.0.0.1, and the PEM of the throwaway CA that
/// signed its certificate (what a client must trust to reach the proxy).
pub fn localhost_tls() -> (TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test proxy CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let ca = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("proxy key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("proxy params");
    params
        .distinguished_name
        .push(DnType::CommonName, "test proxy");
    let cert = params.signed_by(&key, &ca).expect("proxy certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("TLS config");
    (TlsAcceptor::from(Arc::new(config)), ca_cert.pem())
}
