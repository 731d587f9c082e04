//! `--metrics-addr`: a listen address in the forms every Kubernetes component takes (Go's
//! `net.Listen`): `IP:PORT`, `[IPv6]:PORT`, `HOST:PORT` (a name, resolved once at start), and
//! `:PORT` for every interface.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

/// Parses a listen address. `:PORT` listens on every IPv4 interface (`0.0.0.0`; for IPv6, say
/// `[::]:PORT`); a name is resolved once, its first IPv4 address preferred (as Go listens on
/// `localhost`), else its first one.
pub(crate) fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let refused = |why: &str| {
        format!(
            "{why}: expected IP:PORT, HOST:PORT or :PORT (e.g. :9090, localhost:9090, \
             0.0.0.0:9090, [::1]:9090)"
        )
    };
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(refused("no port"));
    };
    let port: u16 = port.parse().map_err(|_| {
        refused(&format!(
            "the port {port:?} is not a number from 0 to 65535"
        ))
    })?;
    if host.is_empty() {
        return Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    if host.contains(':') && !host.starts_with('[') {
        return Err(refused("an IPv6 address needs brackets"));
    }
    let resolved: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|err| refused(&format!("cannot resolve {host:?} ({err})")))?
        .collect();
    resolved
        .iter()
        .find(|address| address.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .ok_or_else(|| refused(&format!("{host:?} has no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gos_listen_forms_are_taken() {
        for (text, expected) in [
            (":9090", "0.0.0.0:9090"),
            ("127.0.0.1:0", "127.0.0.1:0"),
            ("0.0.0.0:9090", "0.0.0.0:9090"),
            ("[::1]:9090", "[::1]:9090"),
            ("localhost:9090", "127.0.0.1:9090"),
        ] {
            let parsed = parse_listen_address(text).unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!(parsed.to_string(), expected, "{text}");
        }
    }

    #[test]
    fn what_cannot_be_listened_on_is_refused_with_the_forms_taken() {
        for (text, said) in [
            ("9090", "no port"),
            (":http", "not a number"),
            ("localhost:70000", "not a number"),
            ("::1:9090", "brackets"),
        ] {
            let err = parse_listen_address(text).expect_err(text);
            assert!(err.contains(said), "{text}: {err}");
            assert!(err.contains("e.g. :9090, localhost:9090"), "{text}: {err}");
        }
    }
}
