//! When kreflect asks the API server for gzip: the user's [`Compression`] choice, and the rule
//! behind its default, `auto`, which asks only where gzip pays.
//!
//! Gzip costs the server CPU (about 1 ms per MB on a v1.26 server, a fifth more CPU for a
//! 5,000-pod protobuf list from its cache); kreflect's inflating (1.4 ms per MB) is about what
//! reading fewer bytes saves it. It saves link time only where the link is slower than a few
//! Gbit/s (docs/performance.md, "Compression"): a server reached over loopback or from inside
//! its cluster gains nothing, and on a private network the bytes saved cost nobody anything
//! while the shared API server pays for compressing; a server across the internet gains. So
//! `auto` does not ask when every address the server's name resolves to is loopback,
//! link-local or private (RFC 1918, CGNAT 100.64/10, IPv6 ULA fc00::/7), nor from inside the
//! cluster; it asks for a public server, through a proxy (the path beyond it is unknown), and
//! when the server's addresses are unknown (a name that does not resolve: kubectl's behaviour).
//! `never` (`--disable-compression`, or the kubeconfig cluster's `disable-compression: true`)
//! never asks; `always` asks whatever the path (a slow VPN to a private address).
//!
//! The decision is made once per connection, when the client is built, and logged at debug.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// How long resolving the server's name may take before `auto` gives up and asks for gzip.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// When to ask the server to gzip its responses (`--compression`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    /// Ask only where gzip pays: not for a server on loopback, a private network or from inside
    /// the cluster; yes for a public server or one reached through a proxy.
    #[default]
    Auto,
    /// Always ask (a slow link to a private address, such as a VPN).
    Always,
    /// Never ask (as --disable-compression).
    Never,
}

/// Where an address is, as far as gzip is concerned, from nearest to farthest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Network {
    /// This host: 127/8, ::1, or the unspecified address (which reaches this host).
    Loopback,
    /// The local link: 169.254/16, fe80::/10.
    LinkLocal,
    /// A private network: RFC 1918 (10/8, 172.16/12, 192.168/16), CGNAT 100.64/10, IPv6 ULA
    /// fc00::/7.
    Private,
    /// Anything else: the internet, as far as kreflect can tell.
    Public,
}

impl Network {
    /// The network of `ip`; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is its IPv4 one.
    pub fn of(ip: IpAddr) -> Network {
        match ip {
            IpAddr::V4(v4) => Network::of_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Network::of_v4(v4),
                None => Network::of_v6(v6),
            },
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Network {
        let [a, b, ..] = ip.octets();
        if ip.is_loopback() || ip.is_unspecified() {
            Network::Loopback
        } else if ip.is_link_local() {
            Network::LinkLocal
        } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
            Network::Private
        } else {
            Network::Public
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Network {
        let first = ip.segments()[0];
        if ip.is_loopback() || ip.is_unspecified() {
            Network::Loopback
        } else if first & 0xffc0 == 0xfe80 {
            Network::LinkLocal
        } else if first & 0xfe00 == 0xfc00 {
            Network::Private
        } else {
            Network::Public
        }
    }

    /// The farthest network of `addresses`: one public address makes the server public.
    fn farthest(addresses: &[IpAddr]) -> Option<Network> {
        addresses.iter().map(|ip| Network::of(*ip)).max()
    }
}

/// Whether requests ask for gzip, and why: what the debug log shows as
/// `compression = "off: server on a private network"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether requests carry `Accept-Encoding: gzip`.
    pub gzip: bool,
    /// Why.
    pub reason: Reason,
}

/// Why requests ask for gzip or do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `--compression always`.
    Always,
    /// `--disable-compression` (or `--compression never`).
    Never,
    /// The kubeconfig cluster's `disable-compression: true`.
    Kubeconfig,
    /// Through a proxy: the path beyond it is unknown.
    Proxy,
    /// The in-cluster service account: the server is on the cluster's network.
    InCluster,
    /// The server's addresses are unknown (its name did not resolve in time, or was not looked
    /// up).
    Unresolved,
    /// The server's farthest address is on this network.
    Server(Network),
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.gzip { "on: " } else { "off: " })?;
        f.write_str(match self.reason {
            Reason::Always => "--compression always",
            Reason::Never => "disabled on the command line",
            Reason::Kubeconfig => "disable-compression in the kubeconfig",
            Reason::Proxy => "through a proxy, the path beyond it unknown",
            Reason::InCluster => "in-cluster",
            Reason::Unresolved => "the server's addresses are unknown",
            Reason::Server(Network::Loopback) => "server on loopback",
            Reason::Server(Network::LinkLocal) => "server on a link-local address",
            Reason::Server(Network::Private) => "server on a private network",
            Reason::Server(Network::Public) => "server on a public network",
        })
    }
}

/// What the rule knows of the way to the server.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    /// The server's URL.
    pub url: &'a http::Uri,
    /// Whether the connection is the in-cluster service account's.
    pub in_cluster: bool,
    /// Whether requests go through a proxy.
    pub proxied: bool,
}

/// The decision for `choice`, the kubeconfig's `disable-compression` and `route`, resolving the
/// server's name only when `auto` needs its addresses.
pub async fn decide(choice: Compression, kubeconfig_disables: bool, route: Route<'_>) -> Decision {
    match without_addresses(choice, kubeconfig_disables, route) {
        Some(decision) => decision,
        None => by_addresses(resolve(route.url).await.as_deref()),
    }
}

/// [`decide`] without a name lookup: a server named by a host name rather than an address has
/// unknown addresses (and is asked for gzip).
pub fn decide_without_lookup(choice: Compression, route: Route<'_>) -> Decision {
    without_addresses(choice, false, route)
        .unwrap_or_else(|| by_addresses(address_of(route.url).as_ref().map(std::slice::from_ref)))
}

/// The decision, when it does not depend on the server's addresses.
fn without_addresses(
    choice: Compression,
    kubeconfig_disables: bool,
    route: Route<'_>,
) -> Option<Decision> {
    let (gzip, reason) = match choice {
        Compression::Always => (true, Reason::Always),
        Compression::Never => (false, Reason::Never),
        Compression::Auto if kubeconfig_disables => (false, Reason::Kubeconfig),
        Compression::Auto if route.proxied => (true, Reason::Proxy),
        Compression::Auto if route.in_cluster => (false, Reason::InCluster),
        Compression::Auto => return None,
    };
    Some(Decision { gzip, reason })
}

/// `auto`'s decision from the server's addresses, `None` when unknown: asks unless every one is
/// nearer than the internet.
fn by_addresses(addresses: Option<&[IpAddr]>) -> Decision {
    match addresses.and_then(Network::farthest) {
        Some(network) => Decision {
            gzip: network == Network::Public,
            reason: Reason::Server(network),
        },
        None => Decision {
            gzip: true,
            reason: Reason::Unresolved,
        },
    }
}

/// The address in `url`'s host, when it is one (`10.0.0.1`, `[fd00::1]`).
fn address_of(url: &http::Uri) -> Option<IpAddr> {
    let host = url.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

/// The addresses of `url`'s host: the address itself, or what its name resolves to within
/// [`RESOLVE_TIMEOUT`]; `None` if it does not resolve.
async fn resolve(url: &http::Uri) -> Option<Vec<IpAddr>> {
    if let Some(ip) = address_of(url) {
        return Some(vec![ip]);
    }
    let host = url.host()?;
    // The port does not change the addresses; getaddrinfo wants one.
    let port = url.port_u16().unwrap_or(443);
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addresses)) => Some(addresses.map(|address| address.ip()).collect()),
        Ok(Err(err)) => {
            tracing::debug!(host, error = %err, "the server's name did not resolve");
            None
        }
        Err(_) => {
            tracing::debug!(
                host,
                timeout_s = RESOLVE_TIMEOUT.as_secs(),
                "resolving the server's name timed out"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(ip: &str) -> Network {
        Network::of(ip.parse().expect("an address"))
    }

    #[test]
    fn ipv4_addresses_are_classified_by_range() {
        for ip in ["127.0.0.1", "127.255.255.254", "0.0.0.0"] {
            assert_eq!(network(ip), Network::Loopback, "{ip}");
        }
        for ip in ["169.254.0.1", "169.254.169.254"] {
            assert_eq!(network(ip), Network::LinkLocal, "{ip}");
        }
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.10",
            "100.64.0.1",
            "100.127.255.255",
        ] {
            assert_eq!(network(ip), Network::Private, "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "11.0.0.1",
            "169.255.0.1",
        ] {
            assert_eq!(network(ip), Network::Public, "{ip}");
        }
    }

    #[test]
    fn ipv6_addresses_are_classified_by_range() {
        for ip in ["::1", "::"] {
            assert_eq!(network(ip), Network::Loopback, "{ip}");
        }
        for ip in ["fe80::1", "febf:ffff::1"] {
            assert_eq!(network(ip), Network::LinkLocal, "{ip}");
        }
        for ip in ["fc00::1", "fd12:3456:789a::1", "fdff:ffff::1"] {
            assert_eq!(network(ip), Network::Private, "{ip}");
        }
        for ip in ["2001:4860:4860::8888", "fec0::1", "fbff::1", "fe00::1"] {
            assert_eq!(network(ip), Network::Public, "{ip}");
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_are_classified_as_their_ipv4_address() {
        assert_eq!(network("::ffff:127.0.0.1"), Network::Loopback);
        assert_eq!(network("::ffff:169.254.1.1"), Network::LinkLocal);
        assert_eq!(network("::ffff:10.1.2.3"), Network::Private);
        assert_eq!(network("::ffff:100.64.0.1"), Network::Private);
        assert_eq!(network("::ffff:8.8.8.8"), Network::Public);
    }

    fn route(url: &http::Uri) -> Route<'_> {
        Route {
            url,
            in_cluster: false,
            proxied: false,
        }
    }

    fn uri(text: &str) -> http::Uri {
        text.parse().expect("a URI")
    }

    #[test]
    fn auto_asks_only_when_one_of_the_servers_addresses_is_public() {
        let addresses = |list: &[&str]| -> Vec<IpAddr> {
            list.iter().map(|ip| ip.parse().expect("address")).collect()
        };
        let private = addresses(&["10.0.0.1", "fd00::1", "127.0.0.1"]);
        assert_eq!(
            by_addresses(Some(&private)),
            Decision {
                gzip: false,
                reason: Reason::Server(Network::Private)
            }
        );
        let mixed = addresses(&["10.0.0.1", "203.0.113.7"]);
        assert!(by_addresses(Some(&mixed)).gzip);
        assert_eq!(
            by_addresses(None),
            Decision {
                gzip: true,
                reason: Reason::Unresolved
            }
        );
        assert_eq!(by_addresses(Some(&[])).reason, Reason::Unresolved);
    }

    #[test]
    fn a_proxy_makes_auto_ask_even_for_a_loopback_server() {
        let url = uri("https://127.0.0.1:6443");
        let proxied = Route {
            proxied: true,
            ..route(&url)
        };
        let decision = decide_without_lookup(Compression::Auto, proxied);
        assert_eq!(
            decision.to_string(),
            "on: through a proxy, the path beyond it unknown"
        );
        let in_cluster_proxied = Route {
            in_cluster: true,
            ..proxied
        };
        assert!(decide_without_lookup(Compression::Auto, in_cluster_proxied).gzip);
    }

    #[test]
    fn in_cluster_does_not_ask_whatever_the_service_address() {
        let url = uri("https://203.0.113.1:443");
        let in_cluster = Route {
            in_cluster: true,
            ..route(&url)
        };
        let decision = decide_without_lookup(Compression::Auto, in_cluster);
        assert_eq!(decision.to_string(), "off: in-cluster");
    }

    #[test]
    fn never_and_the_kubeconfig_never_ask_and_always_always_asks() {
        let url = uri("https://203.0.113.1:443");
        let proxied = Route {
            proxied: true,
            ..route(&url)
        };
        for route in [route(&url), proxied] {
            assert!(!decide_without_lookup(Compression::Never, route).gzip);
            let kubeconfig = without_addresses(Compression::Auto, true, route);
            assert_eq!(
                kubeconfig.map(|decision| decision.to_string()).as_deref(),
                Some("off: disable-compression in the kubeconfig")
            );
        }
        let loopback = uri("http://127.0.0.1:8080");
        let decision = decide_without_lookup(Compression::Always, route(&loopback));
        assert_eq!(decision.to_string(), "on: --compression always");
        // The command line wins over the kubeconfig.
        assert!(
            without_addresses(Compression::Always, true, route(&loopback)).is_some_and(|d| d.gzip)
        );
    }

    #[test]
    fn an_address_in_the_url_is_classified_without_a_lookup_and_a_name_is_unknown() {
        let decide = |url: &str| decide_without_lookup(Compression::Auto, route(&uri(url)));
        assert_eq!(
            decide("http://127.0.0.1:8080").to_string(),
            "off: server on loopback"
        );
        assert_eq!(
            decide("https://[fd00::1]:6443").to_string(),
            "off: server on a private network"
        );
        assert_eq!(
            decide("https://[::ffff:192.168.0.2]:6443").to_string(),
            "off: server on a private network"
        );
        assert_eq!(
            decide("https://198.51.100.1").to_string(),
            "on: server on a public network"
        );
        assert_eq!(
            decide("https://api.example.com:6443").to_string(),
            "on: the server's addresses are unknown"
        );
    }

    #[tokio::test]
    async fn a_name_is_decided_by_what_it_resolves_to_and_a_failed_lookup_asks() {
        let localhost = uri("https://localhost:6443");
        let decision = decide(Compression::Auto, false, route(&localhost)).await;
        assert_eq!(decision.to_string(), "off: server on loopback");
        // `.invalid` never resolves (RFC 6761).
        let nowhere = uri("https://kreflect.invalid:6443");
        let decision = decide(Compression::Auto, false, route(&nowhere)).await;
        assert_eq!(
            decision.to_string(),
            "on: the server's addresses are unknown"
        );
    }
}
