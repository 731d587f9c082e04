//! PLACEHOLDER interface for the proxy rules (a helper writes the real module).

use std::str::FromStr;

/// A proxy to reach the API server through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy's URL.
    pub url: http::Uri,
    /// How to talk to it.
    pub kind: ProxyKind,
}

/// How to talk to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP CONNECT over plain TCP.
    Http,
    /// HTTP CONNECT over TLS.
    Https,
    /// SOCKS5.
    Socks5,
}

/// Why a proxy setting cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Not a URL.
    #[error("bad proxy-url {0}")]
    Bad(String),
}

/// The proxy kubectl would use to reach `server`.
pub fn proxy_for(
    _server: &http::Uri,
    kubeconfig_proxy_url: Option<&str>,
    _env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyError> {
    let Some(url) = kubeconfig_proxy_url else {
        return Ok(None);
    };
    let url = http::Uri::from_str(url).map_err(|_| ProxyError::Bad(url.to_owned()))?;
    let kind = match url.scheme_str() {
        Some("http") => ProxyKind::Http,
        Some("https") => ProxyKind::Https,
        Some("socks5") => ProxyKind::Socks5,
        _ => return Err(ProxyError::Bad(url.to_string())),
    };
    Ok(Some(Proxy { url, kind }))
}
