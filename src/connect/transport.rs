//! The HTTP stack every request goes through: TCP, an optional proxy, TLS, timeouts, gzip,
//! credentials, then kube's [`kube::Client`] on top.
//!
//! kube's `Client::try_from(Config)` builds much the same stack, but kreflect assembles it from
//! kube's public pieces ([`ConfigExt`]) for three reasons:
//! - **Proxies.** The proxy is chosen by [`crate::connect::proxy`] with kubectl's rules; kube's choice
//!   differs (see that module) and its cargo features would surface as messages about them.
//!   The connectors are the ones kube's `http-proxy` and `socks5` features use: hyper-util's
//!   [`Tunnel`] (HTTP CONNECT, over TLS for an `https://` proxy) and [`SocksV5`]; but a
//!   plain-HTTP server's requests go to an HTTP proxy in absolute form, as Go sends them
//!   ([`forward`]), where kube would tunnel them.
//! - **Exec credential plugins run once.** kube's builder runs the plugin three times (once for
//!   the auth layer, twice looking for a client certificate); here the plugin has run before
//!   the stack is built ([`crate::connect::exec_credential`]) and the kube configuration given to
//!   [`ConfigExt`] has no `exec` left to run.
//! - **Compression** is tower-http's gzip decompression, as with kube's `gzip` feature: requests
//!   ask for gzip when the configuration's `disable_compression` is false, which
//!   [`crate::connect::compression`] decides (only where gzip pays); the server compresses only
//!   large responses (lists), as a real API server does. Unlike kube's, a body may inflate only
//!   so far ([`inflation`]): a gzip bomb fails the request instead of filling memory.
//!
//! kube's retry layer and request tracing spans are left out: the reflector owns retries, and
//! logs its own requests.

use std::time::Duration;

use http::HeaderValue;
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;
use tower_http::decompression::DecompressionLayer;

use crate::connect::exec_credential::ExecAuth;
use crate::connect::proxy::{Proxy, ProxyKind};

pub mod forward;
pub mod inflation;

use forward::Forward;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long connecting to the server (or the proxy) may take before the request fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the stack needs beyond kube's configuration.
pub struct Transport {
    /// The proxy to reach the server through, if any.
    pub proxy: Option<Proxy>,
    /// The exec plugin's credential, refreshed when it expires, if the user has one.
    pub exec: Option<ExecAuth>,
}

/// Builds the client for `config`: its server, TLS settings, static credentials (token, client
/// certificate, basic auth, token file), extra and impersonation headers, timeouts and
/// `disable_compression` (as [`crate::connect::compression`] decided it), plus the proxy and
/// exec credential of `transport`. Runs nothing: the configuration must have no `exec` left.
pub fn client(config: &kube::Config, transport: Transport) -> Result<kube::Client, kube::Error> {
    debug_assert!(
        config.auth_info.exec.is_none(),
        "the exec plugin runs before the stack is built"
    );
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let Transport { proxy, exec } = transport;
    // Go tunnels to https servers only: a plain-HTTP server's requests go to the proxy itself.
    let forward = config.cluster_url.scheme_str() == Some("http");
    match proxy {
        None => with_connector(config, tcp, exec, None),
        Some(Proxy {
            url,
            kind: ProxyKind::Http,
        }) if forward => {
            let authorization = basic_authorization(&url);
            with_connector(config, Forward::new(url, tcp), exec, authorization)
        }
        Some(Proxy {
            url,
            kind: ProxyKind::Http,
        }) => {
            let tunnel = with_basic_auth(Tunnel::new(url.clone(), tcp), &url);
            with_connector(config, tunnel, exec, None)
        }
        Some(Proxy {
            url,
            kind: ProxyKind::Https,
        }) => {
            // TLS to the proxy trusts what the cluster's TLS trusts, as with kube's feature.
            let to_proxy = config.rustls_https_connector_with_connector(tcp)?;
            if forward {
                let authorization = basic_authorization(&url);
                with_connector(config, Forward::new(url, to_proxy), exec, authorization)
            } else {
                let tunnel = with_basic_auth(Tunnel::new(url.clone(), to_proxy), &url);
                with_connector(config, tunnel, exec, None)
            }
        }
        Some(Proxy {
            url,
            kind: ProxyKind::Socks5,
        }) => {
            // Names are resolved by the proxy (no local DNS), as Go's SOCKS5 dialer does.
            let mut socks = SocksV5::new(url.clone(), tcp);
            if let Some((user, password)) = userinfo(&url) {
                socks = socks.with_auth(user, password);
            }
            with_connector(config, socks, exec, None)
        }
    }
}

/// The stack over `connector`, which opens a byte stream to the server (directly or through
/// a proxy); TLS to the server is added here. `proxy_authorization` goes on every request
/// (when the requests themselves go to the proxy: [`forward`]).
fn with_connector<C>(
    config: &kube::Config,
    connector: C,
    exec: Option<ExecAuth>,
    proxy_authorization: Option<HeaderValue>,
) -> Result<kube::Client, kube::Error>
where
    C: tower::Service<http::Uri> + Clone + Send + Sync + 'static,
    C::Response: Connection + hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
    C::Future: Send + 'static,
    C::Error: std::error::Error + Send + Sync + 'static,
{
    let tls = config.rustls_https_connector_with_connector(connector)?;
    let mut timeouts = TimeoutConnector::new(tls);
    timeouts.set_connect_timeout(config.connect_timeout);
    timeouts.set_read_timeout(config.read_timeout);
    timeouts.set_write_timeout(config.write_timeout);
    timeouts.set_reset_reader_on_write(config.reset_reader_on_write);
    let http = hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(timeouts);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .map_response(inflation::guard)
        .layer(
            DecompressionLayer::new()
                .no_br()
                .no_deflate()
                .no_zstd()
                .gzip(!config.disable_compression),
        )
        .option_layer(config.auth_layer()?)
        .option_layer(exec)
        .layer(config.extra_headers_layer()?)
        .option_layer(proxy_authorization.map(|value| {
            MapRequestLayer::new(move |mut request: http::Request<kube::client::Body>| {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, value.clone());
                request
            })
        }))
        .map_err(BoxError::from)
        .map_response(inflation::count_wire)
        .service(http);
    Ok(kube::Client::new(service, config.default_namespace.clone()))
}

/// A CONNECT tunnel that sends the proxy's [`basic_authorization`], if any.
fn with_basic_auth<C>(tunnel: Tunnel<C>, url: &http::Uri) -> Tunnel<C> {
    match basic_authorization(url) {
        Some(header) => tunnel.with_auth(header),
        None => tunnel,
    }
}

/// `Proxy-Authorization: Basic` for the credentials of a proxy URL, percent-decoded as Go's
/// `url.UserPassword` does; `None` without credentials.
fn basic_authorization(url: &http::Uri) -> Option<HeaderValue> {
    use base64::Engine as _;
    let (user, password) = userinfo(url)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut header = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// The user and password in a URL's authority (`user:pass@host`), percent-decoded.
fn userinfo(url: &http::Uri) -> Option<(String, String)> {
    let (userinfo, _) = url.authority()?.as_str().rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(user), decode(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_percent_decoded() {
        let url: http::Uri = "http://al%40ce:p%3Ass+w@proxy:3128".parse().expect("uri");
        assert_eq!(
            userinfo(&url),
            Some(("al@ce".to_owned(), "p:ss+w".to_owned()))
        );
        let url: http::Uri = "socks5://bob@proxy:1080".parse().expect("uri");
        assert_eq!(userinfo(&url), Some(("bob".to_owned(), String::new())));
        let url: http::Uri = "http://proxy:3128".parse().expect("uri");
        assert_eq!(userinfo(&url), None);
    }
}
