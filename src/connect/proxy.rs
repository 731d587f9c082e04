//! Which proxy, if any, carries the connection to the API server: the choice kubectl makes.
//!
//! - The kubeconfig cluster's `proxy-url`, when set, is used for every request, whatever the
//!   environment says (client-go's `http.ProxyURL`); only `http`, `https` and `socks5` are
//!   accepted, as client-go's kubeconfig loader accepts.
//! - Otherwise the environment, by the rules of Go's `golang.org/x/net/http/httpproxy`
//!   (`FromEnvironment().ProxyFunc()`, what client-go's `http.ProxyFromEnvironment` runs):
//!   `HTTPS_PROXY` for an `https` server, `HTTP_PROXY` for an `http` one, each before its
//!   lowercase spelling, an empty value counting as unset; a value without a scheme is an
//!   `http://` proxy. The server is reached directly when its host is `localhost` or a loopback
//!   IP, or when `NO_PROXY`/`no_proxy` names it (`NoProxy` in the source).
//!
//! Where Go does something a person would not want, this module says so instead: an environment
//! proxy whose URL Go cannot parse is silently ignored by Go (the request goes direct), and one
//! with an unknown scheme (`socks4://`) is used as an HTTP proxy; both are a [`ProxyError`]
//! here, naming the variable. International domain names in `NO_PROXY` are compared as written
//! (Go converts them to punycode first).

use std::fmt;
use std::net::IpAddr;

/// A proxy to reach the API server through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy's URL (scheme http, https or socks5; credentials in userinfo allowed).
    ///
    /// Normalised: the scheme is lowercase (`socks5h` becomes `socks5`), the port is always
    /// present (80, 443 and 1080 by default, as Go), the path is dropped, and the userinfo is
    /// percent-encoded again from its decoded form.
    pub url: http::Uri,
    /// How to talk to it.
    pub kind: ProxyKind,
}

/// How to talk to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// An HTTP proxy over plain TCP: `CONNECT host:port` opens a tunnel.
    Http,
    /// An HTTP proxy over TLS: the same `CONNECT`, inside a TLS connection to the proxy.
    Https,
    /// A SOCKS5 proxy. Host names are sent to the proxy to resolve (Go does so for `socks5`
    /// and `socks5h` alike).
    Socks5,
}

/// Why a proxy setting cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The kubeconfig cluster's `proxy-url` is not a proxy URL kubectl accepts.
    #[error(
        "the kubeconfig cluster's proxy-url {value:?} cannot be used: {problem}; set it to \
         http://, https:// or socks5://HOST:PORT, or remove it"
    )]
    KubeconfigProxyUrl {
        /// The value, its password replaced by `xxxxx`.
        value: String,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// A proxy variable of the environment applies to the server but is not a proxy URL.
    #[error(
        "{variable}={value:?} cannot be used as a proxy: {problem}; set it to http://, https:// \
         or socks5://HOST:PORT, unset it, or exempt the API server with NO_PROXY"
    )]
    Environment {
        /// The variable read (`HTTPS_PROXY`, `https_proxy`, ...).
        variable: &'static str,
        /// The value, its password replaced by `xxxxx`.
        value: String,
        /// What is wrong with it.
        problem: UrlProblem,
    },
}

/// What is wrong with a proxy URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// The scheme is not one of those allowed there.
    #[error("the scheme {0:?} is not supported")]
    UnsupportedScheme(String),
    /// No `scheme://` in front (the kubeconfig field requires one).
    #[error("it has no scheme")]
    NoScheme,
    /// Nothing between `scheme://` and the port or path.
    #[error("it names no host")]
    NoHost,
    /// A raw `/`, `?` or `#` in the userinfo ends the authority early (Go cannot parse such a
    /// URL either); said without repeating any part of it, which may be the password.
    #[error(
        "its user name or password holds a raw '/', '?' or '#'; write them as %2F, %3F and %23"
    )]
    UserinfoDelimiter,
    /// The port is not a number from 1 to 65535.
    #[error("its port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    /// Anything else (a bad percent-escape, a character not allowed in a host).
    #[error("{0}")]
    Invalid(String),
}

/// The proxy kubectl would use to reach `server`: the kubeconfig cluster's `proxy-url` when set
/// (used for every request, NO_PROXY not consulted, as client-go's http.ProxyURL), else the
/// environment by Go's `golang.org/x/net/http/httpproxy` rules (FromEnvironment + ProxyFunc).
/// `env` reads a variable (std::env::var in production; a map in tests).
pub fn proxy_for(
    server: &http::Uri,
    kubeconfig_proxy_url: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyError> {
    if let Some(value) = kubeconfig_proxy_url.filter(|value| !value.is_empty()) {
        return kubeconfig_proxy(value).map(Some).map_err(|problem| {
            ProxyError::KubeconfigProxyUrl {
                value: redact(value),
                problem,
            }
        });
    }
    let variables = match server.scheme_str() {
        Some("https") => ["HTTPS_PROXY", "https_proxy"],
        Some("http") => ["HTTP_PROXY", "http_proxy"],
        _ => return Ok(None),
    };
    let Some((variable, value)) = first_set(&env, variables) else {
        return Ok(None);
    };
    let no_proxy = first_set(&env, ["NO_PROXY", "no_proxy"]).map_or_else(String::new, |(_, v)| v);
    if NoProxy::parse(&no_proxy).bypasses(server) {
        return Ok(None);
    }
    environment_proxy(&value)
        .map(Some)
        .map_err(|problem| ProxyError::Environment {
            variable,
            value: redact(&value),
            problem,
        })
}

impl fmt::Display for Proxy {
    /// The URL with its password replaced by `xxxxx`, as Go's `url.Redacted`: for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.url.scheme_str().unwrap_or_default();
        let authority = self.url.authority().map_or("", |a| a.as_str());
        f.write_str(&redact(&format!("{scheme}://{authority}")))
    }
}

/// The first of `names` set to a non-empty value, and that value (Go's `getEnvAny`).
fn first_set(
    env: &impl Fn(&str) -> Option<String>,
    names: [&'static str; 2],
) -> Option<(&'static str, String)> {
    names.into_iter().find_map(|name| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(|v| (name, v))
    })
}

/// A kubeconfig `proxy-url`, as client-go's `parseProxyURL`: a URL with scheme http, https or
/// socks5.
fn kubeconfig_proxy(value: &str) -> Result<Proxy, UrlProblem> {
    let parts = UrlParts::split(value)?.ok_or(UrlProblem::NoScheme)?;
    match parts.scheme.as_str() {
        "http" | "https" | "socks5" => parts.build(),
        _ => Err(UrlProblem::UnsupportedScheme(parts.scheme)),
    }
}

/// An environment proxy value, as Go's `httpproxy.parseProxy`: a URL, or without `scheme://`
/// an `http://` one. `socks5h` is accepted as Go's `net/http` accepts it.
fn environment_proxy(value: &str) -> Result<Proxy, UrlProblem> {
    let parts = match UrlParts::split(value)? {
        Some(parts) => parts,
        // Go: "proxy was bogus. Try prepending "http://" to it".
        None => UrlParts::split(&format!("http://{value}"))?.ok_or(UrlProblem::NoHost)?,
    };
    match parts.scheme.as_str() {
        "http" | "https" | "socks5" | "socks5h" => parts.build(),
        _ => Err(UrlProblem::UnsupportedScheme(parts.scheme)),
    }
}

/// A proxy URL cut into its pieces, userinfo decoded.
#[derive(Debug)]
struct UrlParts {
    /// Lowercase, as Go's `url.Parse` leaves it.
    scheme: String,
    /// User name and password (empty if absent), percent-decoded.
    userinfo: Option<(String, String)>,
    /// The host, without the brackets of an IPv6 literal.
    host: String,
    /// The port as written, if any.
    port: Option<String>,
}

impl UrlParts {
    /// `scheme://[user[:password]@]host[:port][/path...]`; `None` when there is no `scheme://`.
    fn split(value: &str) -> Result<Option<UrlParts>, UrlProblem> {
        let Some((scheme, rest)) = value.split_once("://") else {
            return Ok(None);
        };
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Ok(None);
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if rest[authority.len()..].contains('@') {
            return Err(UrlProblem::UserinfoDelimiter);
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decoded = (percent_decode(user)?, percent_decode(password)?);
                (Some(decoded), hostport)
            }
            None => (None, authority),
        };
        let (host, port) = split_authority_host(hostport)?;
        Ok(Some(UrlParts {
            scheme: scheme.to_ascii_lowercase(),
            userinfo,
            host: host.to_owned(),
            port: port.map(str::to_owned),
        }))
    }

    /// The normalised [`Proxy`]: lowercase scheme (`socks5h` as `socks5`), explicit port,
    /// no path, userinfo encoded again.
    fn build(self) -> Result<Proxy, UrlProblem> {
        let (scheme, kind, default_port) = match self.scheme.as_str() {
            "http" => ("http", ProxyKind::Http, 80),
            "https" => ("https", ProxyKind::Https, 443),
            "socks5" | "socks5h" => ("socks5", ProxyKind::Socks5, 1080),
            _ => return Err(UrlProblem::UnsupportedScheme(self.scheme)),
        };
        if self.host.is_empty() {
            return Err(UrlProblem::NoHost);
        }
        let port = match self.port.as_deref() {
            None | Some("") => default_port,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|port| *port != 0)
                .ok_or_else(|| UrlProblem::BadPort(port.to_owned()))?,
        };
        let userinfo = match &self.userinfo {
            Some((user, password)) if password.is_empty() => format!("{}@", percent_encode(user)),
            Some((user, password)) => {
                format!("{}:{}@", percent_encode(user), percent_encode(password))
            }
            None => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host
        };
        let url = format!("{scheme}://{userinfo}{host}:{port}")
            .parse::<http::Uri>()
            .map_err(|err| UrlProblem::Invalid(format!("{err} (host {host:?})")))?;
        Ok(Proxy { url, kind })
    }
}

/// `host[:port]` or `[v6]:port` of a URL authority: the host (brackets removed) and the port
/// text when there is a colon. Go's `url.parseHost` rules: a port is digits only.
fn split_authority_host(hostport: &str) -> Result<(&str, Option<&str>), UrlProblem> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UrlProblem::Invalid("an IPv6 host lacks its closing ']'".to_owned()))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => {
                return Err(UrlProblem::Invalid(format!(
                    "{after:?} follows the IPv6 host"
                )));
            }
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if let Some(port) = port
        && !port.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(UrlProblem::BadPort(port.to_owned()));
    }
    Ok((host, port))
}

/// The `NO_PROXY` list, parsed as Go's `httpproxy` does: comma-separated entries, trimmed and
/// lowercased, empty or malformed ones skipped. An entry is `*` (every host), an IP or an IP
/// CIDR (matching IP literals only), or a domain: `example.com` (it and its subdomains),
/// `.example.com` or `*.example.com` (subdomains only), matching host names only. IP and domain
/// entries may end in `:port`, then matching that port only.
#[derive(Debug, Default)]
struct NoProxy {
    /// `*` was given.
    all: bool,
    /// The other entries.
    entries: Vec<Entry>,
}

/// One `NO_PROXY` entry.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// An IP address, with a port (empty: any).
    Ip { ip: IpAddr, port: String },
    /// A CIDR block (the network address and the prefix length).
    Cidr { network: IpAddr, prefix: u32 },
    /// A domain: `suffix` begins with a dot; `exact` also matches the name without it.
    Domain {
        suffix: String,
        exact: bool,
        port: String,
    },
}

impl NoProxy {
    /// Parses a `NO_PROXY` value (Go's `httpproxy.config.init`).
    fn parse(value: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for entry in value.split(',') {
            let entry = entry.trim().to_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                no_proxy.all = true;
                return no_proxy;
            }
            if let Some(entry) = Entry::parse(&entry) {
                no_proxy.entries.push(entry);
            }
        }
        no_proxy
    }

    /// Whether `server` is reached directly (Go's `useProxy`, negated): its host is
    /// `localhost` or a loopback IP, or an entry matches it.
    fn bypasses(&self, server: &http::Uri) -> bool {
        let host = server.host().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host == "localhost" {
            return true;
        }
        let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        if self.all {
            return true;
        }
        let port = match server.port() {
            Some(port) => port.as_str().to_owned(),
            None if server.scheme_str() == Some("https") => "443".to_owned(),
            None => "80".to_owned(),
        };
        let host = host.trim().to_lowercase();
        self.entries
            .iter()
            .any(|entry| entry.matches(&host, &port, ip))
    }
}

impl Entry {
    /// One trimmed, lowercased, non-empty entry other than `*`; `None` if malformed.
    fn parse(entry: &str) -> Option<Entry> {
        if let Some(cidr) = parse_cidr(entry) {
            return Some(cidr);
        }
        let (host, port) = match split_host_port(entry) {
            Some(("", _)) => return None,
            Some((host, port)) => (host, port),
            None => (entry, ""),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(Entry::Ip {
                ip: ip.to_canonical(),
                port: port.to_owned(),
            });
        }
        let host = host
            .strip_prefix('*')
            .filter(|h| h.starts_with('.'))
            .unwrap_or(host);
        let (suffix, exact) = match host.strip_prefix('.') {
            Some(_) => (host.to_owned(), false),
            None => (format!(".{host}"), true),
        };
        Some(Entry::Domain {
            suffix,
            exact,
            port: port.to_owned(),
        })
    }

    /// Whether the entry matches the server's lowercased host, port and IP (if the host is an
    /// IP literal).
    fn matches(&self, host: &str, port: &str, ip: Option<IpAddr>) -> bool {
        match (self, ip) {
            (Entry::Ip { ip: entry, port: p }, Some(ip)) => {
                *entry == ip && (p.is_empty() || p == port)
            }
            (Entry::Cidr { network, prefix }, Some(ip)) => in_network(ip, *network, *prefix),
            (
                Entry::Domain {
                    suffix,
                    exact,
                    port: p,
                },
                None,
            ) => {
                (host.ends_with(suffix.as_str()) || (*exact && host == &suffix[1..]))
                    && (p.is_empty() || p == port)
            }
            _ => false,
        }
    }
}

/// `ip/prefix` as Go's `net.ParseCIDR` (the prefix in decimal digits, at most the address
/// length); an IPv4-mapped IPv6 network of prefix 96 or more is the IPv4 network it maps.
fn parse_cidr(entry: &str) -> Option<Entry> {
    let (address, prefix) = entry.split_once('/')?;
    let network = address.parse::<IpAddr>().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix = prefix.parse::<u32>().ok()?;
    let bits = if network.is_ipv4() { 32 } else { 128 };
    if prefix > bits {
        return None;
    }
    Some(match network.to_canonical() {
        IpAddr::V4(v4) if network.is_ipv6() => match prefix.checked_sub(96) {
            Some(prefix) => Entry::Cidr {
                network: IpAddr::V4(v4),
                prefix,
            },
            None => Entry::Cidr { network, prefix },
        },
        _ => Entry::Cidr { network, prefix },
    })
}

/// Whether `ip` lies in `network/prefix` (same address family only).
fn in_network(ip: IpAddr, network: IpAddr, prefix: u32) -> bool {
    let (ip, network, bits) = match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            (u128::from(ip.to_bits()), u128::from(net.to_bits()), 32)
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => (ip.to_bits(), net.to_bits(), 128),
        _ => return false,
    };
    // A shift by the whole width (prefix 0) leaves nothing to compare.
    let host_bits = bits - prefix;
    ip.checked_shr(host_bits).unwrap_or(0) == network.checked_shr(host_bits).unwrap_or(0)
}

/// Go's `net.SplitHostPort`: `host:port` or `[host]:port` (brackets removed); `None` when there
/// is no port or the brackets and colons do not fit.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let last_colon = hostport.rfind(':')?;
    let (host, inner_start, inner_end) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        if end + 1 != last_colon {
            return None;
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..last_colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[inner_start..].contains('[') || hostport[inner_end..].contains(']') {
        return None;
    }
    Some((host, &hostport[last_colon + 1..]))
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits, or bytes that are not UTF-8,
/// are an error (Go's `url.Parse` refuses them too).
fn percent_decode(text: &str) -> Result<String, UrlProblem> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| UrlProblem::Invalid("its userinfo has a bad %-escape".to_owned()))?;
            decoded.push(hex);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded)
        .map_err(|_| UrlProblem::Invalid("its userinfo is not UTF-8".to_owned()))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so that the text is a valid
/// userinfo part whatever it holds (`@`, `:`, `%`, spaces).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `value` with the password of its userinfo, if any, replaced by `xxxxx` (Go's
/// `url.Redacted`), for messages. The userinfo runs to the last `@`, even past a `/`, `?` or
/// `#`: unencoded in a password, those end the authority for a parser, not for the person who
/// typed it.
fn redact(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let Some(at) = value[start..].rfind('@').map(|i| start + i) else {
        return value.to_owned();
    };
    match value[start..at].find(':').map(|i| start + i) {
        Some(colon) => format!("{}:xxxxx{}", &value[..colon], &value[at..]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests;
