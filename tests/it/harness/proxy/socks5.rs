//! A SOCKS5 proxy for tests (RFC 1928, CONNECT only): the "no authentication" method, or
//! username/password authentication (RFC 1929) when configured. It records every request with
//! the methods the client offered, resolves made-up names through its own table, and can answer
//! every request with a failure code. After a successful reply it passes bytes both ways, so TLS
//! runs end to end between the client and the server. Dropping it closes the listener and every
//! connection.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Hosts, Listener, Log, dial};

/// "No authentication required".
pub const NO_AUTH: u8 = 0x00;
/// "Username/password".
pub const USER_PASS: u8 = 0x02;
/// Reply code "connection not allowed by ruleset".
pub const NOT_ALLOWED: u8 = 0x02;
/// Reply code "host unreachable".
const HOST_UNREACHABLE: u8 = 0x04;
/// Reply code "command not supported".
const COMMAND_NOT_SUPPORTED: u8 = 0x07;

/// How the proxy answers.
#[derive(Clone, Debug, Default)]
pub struct Socks5Options {
    /// Host names it resolves itself.
    pub hosts: Hosts,
    /// Require username/password authentication with these.
    pub credentials: Option<(String, String)>,
    /// Answer every request with this reply code (e.g. [`NOT_ALLOWED`]) instead of connecting.
    pub refuse: Option<u8>,
}

impl Socks5Options {
    /// Resolves `name` to `ip` (e.g. the fake server's made-up name to 127.0.0.1).
    pub fn resolving(name: &str, ip: IpAddr) -> Socks5Options {
        Socks5Options {
            hosts: HashMap::from([(name.to_owned(), ip)]),
            ..Socks5Options::default()
        }
    }
}

/// How the client named the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    Ipv4,
    Domain,
    Ipv6,
}

/// One request the proxy received (after authentication, if any, succeeded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocksRequest {
    /// The authentication methods the client offered.
    pub methods: Vec<u8>,
    /// The username and password the client authenticated with, if it did.
    pub credentials: Option<(String, String)>,
    /// `host:port` (an IPv6 host in brackets).
    pub target: String,
    /// How the host was sent.
    pub address: Address,
}

/// A SOCKS5 proxy on `127.0.0.1:0`.
pub struct Socks5Proxy {
    listener: Listener,
    requests: Log<SocksRequest>,
}

impl Socks5Proxy {
    pub async fn start(options: Socks5Options) -> Socks5Proxy {
        let requests = Log::default();
        let options = Arc::new(options);
        let listener = Listener::start({
            let requests = requests.clone();
            move |client| {
                let (options, requests) = (Arc::clone(&options), requests.clone());
                async move {
                    // A client that breaks the protocol is simply disconnected.
                    let _ = serve(client, &options, &requests).await;
                }
            }
        })
        .await;
        Socks5Proxy { listener, requests }
    }

    /// `socks5://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("socks5://{}", self.listener.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<SocksRequest> {
        self.requests.entries()
    }

    /// The targets of the requests received so far.
    pub fn targets(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.target).collect()
    }
}

/// One client connection: negotiation, authentication, one request, then a tunnel.
async fn serve(
    mut client: TcpStream,
    options: &Socks5Options,
    requests: &Log<SocksRequest>,
) -> io::Result<()> {
    let methods = read_greeting(&mut client).await?;
    let wanted = if options.credentials.is_some() {
        USER_PASS
    } else {
        NO_AUTH
    };
    if !methods.contains(&wanted) {
        return client.write_all(&[5, 0xFF]).await;
    }
    client.write_all(&[5, wanted]).await?;
    let credentials = match &options.credentials {
        Some(expected) => {
            let given = read_user_pass(&mut client).await?;
            if &given != expected {
                return client.write_all(&[1, 1]).await;
            }
            client.write_all(&[1, 0]).await?;
            Some(given)
        }
        None => None,
    };
    let (command, host, port, address) = read_request(&mut client).await?;
    let target = match address {
        Address::Ipv6 => format!("[{host}]:{port}"),
        _ => format!("{host}:{port}"),
    };
    requests.push(SocksRequest {
        methods,
        credentials,
        target,
        address,
    });
    if command != 1 {
        return reply(&mut client, COMMAND_NOT_SUPPORTED).await;
    }
    if let Some(code) = options.refuse {
        return reply(&mut client, code).await;
    }
    let Ok(mut upstream) = dial(&options.hosts, &host, port).await else {
        return reply(&mut client, HOST_UNREACHABLE).await;
    };
    reply(&mut client, 0).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// `VER NMETHODS METHODS...`: the methods offered.
async fn read_greeting(client: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut header = [0; 2];
    client.read_exact(&mut header).await?;
    if header[0] != 5 {
        return Err(io::Error::other("not SOCKS5"));
    }
    let mut methods = vec![0; usize::from(header[1])];
    client.read_exact(&mut methods).await?;
    Ok(methods)
}

/// `VER ULEN UNAME PLEN PASSWD` (RFC 1929).
async fn read_user_pass(client: &mut TcpStream) -> io::Result<(String, String)> {
    let version = client.read_u8().await?;
    if version != 1 {
        return Err(io::Error::other("not username/password version 1"));
    }
    let user = read_short_string(client).await?;
    let password = read_short_string(client).await?;
    Ok((user, password))
}

/// A length byte and that many bytes of text.
async fn read_short_string(client: &mut TcpStream) -> io::Result<String> {
    let mut text = vec![0; usize::from(client.read_u8().await?)];
    client.read_exact(&mut text).await?;
    String::from_utf8(text).map_err(io::Error::other)
}

/// `VER CMD RSV ATYP DST.ADDR DST.PORT`: the command, host, port and address type.
async fn read_request(client: &mut TcpStream) -> io::Result<(u8, String, u16, Address)> {
    let mut header = [0; 4];
    client.read_exact(&mut header).await?;
    let [version, command, _, address_type] = header;
    if version != 5 {
        return Err(io::Error::other("not SOCKS5"));
    }
    let (host, address) = match address_type {
        1 => {
            let mut octets = [0; 4];
            client.read_exact(&mut octets).await?;
            (Ipv4Addr::from(octets).to_string(), Address::Ipv4)
        }
        3 => (read_short_string(client).await?, Address::Domain),
        4 => {
            let mut octets = [0; 16];
            client.read_exact(&mut octets).await?;
            (Ipv6Addr::from(octets).to_string(), Address::Ipv6)
        }
        _ => return Err(io::Error::other("unknown address type")),
    };
    let port = client.read_u16().await?;
    Ok((command, host, port, address))
}

/// `VER REP RSV ATYP BND.ADDR BND.PORT`, with an unspecified IPv4 bound address.
async fn reply(client: &mut TcpStream, code: u8) -> io::Result<()> {
    client.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}
