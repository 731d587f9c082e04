use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// `proxy_for(server, proxy_url, env)` with the environment given as pairs.
fn choose(
    server: &str,
    proxy_url: Option<&str>,
    env: &[(&str, &str)],
) -> Result<Option<Proxy>, ProxyError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let server: http::Uri = server.parse().expect("server URL");
    proxy_for(&server, proxy_url, |name| env.get(name).cloned())
}

/// The chosen proxy's URL, or `None`; panics on an error.
fn proxy_url(server: &str, proxy_url_field: Option<&str>, env: &[(&str, &str)]) -> Option<String> {
    choose(server, proxy_url_field, env)
        .unwrap_or_else(|err| panic!("{server} {env:?}: {err}"))
        .map(|proxy| proxy.url.to_string().trim_end_matches('/').to_owned())
}

/// Whether `server` goes through `HTTPS_PROXY=http://proxy:3128` with `NO_PROXY=no_proxy`.
fn proxied(server: &str, no_proxy: &str) -> bool {
    proxy_url(
        server,
        None,
        &[("HTTPS_PROXY", "http://proxy:3128"), ("NO_PROXY", no_proxy)],
    )
    .is_some()
}

const SERVER: &str = "https://api.example.com:6443";

// --- the kubeconfig's proxy-url ---

#[test]
fn proxy_url_is_used_without_any_environment() {
    let proxy = choose(SERVER, Some("socks5://proxy.corp:1080"), &[])
        .expect("valid")
        .expect("a proxy");
    assert_eq!(proxy.kind, ProxyKind::Socks5);
    assert_eq!(proxy.url.host(), Some("proxy.corp"));
    assert_eq!(proxy.url.port_u16(), Some(1080));
}

#[test]
fn proxy_url_wins_over_https_proxy() {
    let chosen = proxy_url(
        SERVER,
        Some("http://kubeconfig-proxy:8080"),
        &[("HTTPS_PROXY", "http://env-proxy:3128")],
    );
    assert_eq!(chosen.as_deref(), Some("http://kubeconfig-proxy:8080"));
}

#[test]
fn proxy_url_ignores_no_proxy_and_the_loopback_exemption() {
    let field = Some("http://kubeconfig-proxy:8080");
    for server in [SERVER, "https://127.0.0.1:6443", "https://localhost:6443"] {
        let chosen = proxy_url(server, field, &[("NO_PROXY", "*")]);
        assert_eq!(
            chosen.as_deref(),
            Some("http://kubeconfig-proxy:8080"),
            "{server}"
        );
    }
}

#[test]
fn an_empty_proxy_url_is_unset() {
    let chosen = proxy_url(
        SERVER,
        Some(""),
        &[("HTTPS_PROXY", "http://env-proxy:3128")],
    );
    assert_eq!(chosen.as_deref(), Some("http://env-proxy:3128"));
}

#[test]
fn proxy_url_accepts_http_https_and_socks5_only() {
    for (url, kind) in [
        ("http://p:1", ProxyKind::Http),
        ("HTTPS://p:1", ProxyKind::Https),
        ("socks5://p:1", ProxyKind::Socks5),
    ] {
        let proxy = choose(SERVER, Some(url), &[]).expect(url).expect(url);
        assert_eq!(proxy.kind, kind, "{url}");
    }
    for (url, problem) in [
        (
            "socks5h://p:1",
            UrlProblem::UnsupportedScheme("socks5h".into()),
        ),
        ("ftp://p:21", UrlProblem::UnsupportedScheme("ftp".into())),
        ("proxy.corp:3128", UrlProblem::NoScheme),
        ("http://", UrlProblem::NoHost),
        ("http://p:http", UrlProblem::BadPort("http".into())),
        ("http://p:70000", UrlProblem::BadPort("70000".into())),
    ] {
        let err = choose(SERVER, Some(url), &[]).expect_err(url);
        assert_eq!(
            err,
            ProxyError::KubeconfigProxyUrl {
                value: url.to_owned(),
                problem
            },
            "{url}"
        );
    }
}

#[test]
fn a_bad_proxy_url_is_named_in_the_message_without_its_password() {
    let err = choose(SERVER, Some("ftp://alice:s3cret@p:21"), &[]).expect_err("ftp");
    let message = err.to_string();
    assert_eq!(
        message,
        "the kubeconfig cluster's proxy-url \"ftp://alice:xxxxx@p:21\" cannot be used: the \
         scheme \"ftp\" is not supported; set it to http://, https:// or socks5://HOST:PORT, or \
         remove it"
    );
}

// --- the environment: which variable ---

#[test]
fn https_servers_use_https_proxy_and_http_servers_http_proxy() {
    let env = [
        ("HTTPS_PROXY", "http://for-https:1"),
        ("HTTP_PROXY", "http://for-http:2"),
    ];
    let https = proxy_url("https://api.example.com", None, &env);
    let http = proxy_url("http://api.example.com", None, &env);
    assert_eq!(https.as_deref(), Some("http://for-https:1"));
    assert_eq!(http.as_deref(), Some("http://for-http:2"));
    assert_eq!(
        proxy_url(SERVER, None, &[("HTTP_PROXY", "http://p:1")]),
        None
    );
    assert_eq!(
        proxy_url("http://a.b", None, &[("HTTPS_PROXY", "http://p:1")]),
        None
    );
}

#[test]
fn uppercase_wins_and_an_empty_value_counts_as_unset() {
    let both = [
        ("HTTPS_PROXY", "http://upper:1"),
        ("https_proxy", "http://lower:2"),
    ];
    assert_eq!(
        proxy_url(SERVER, None, &both).as_deref(),
        Some("http://upper:1")
    );
    let lower_only = [("https_proxy", "http://lower:2")];
    assert_eq!(
        proxy_url(SERVER, None, &lower_only).as_deref(),
        Some("http://lower:2")
    );
    let empty_upper = [("HTTPS_PROXY", ""), ("https_proxy", "http://lower:2")];
    assert_eq!(
        proxy_url(SERVER, None, &empty_upper).as_deref(),
        Some("http://lower:2")
    );
    assert_eq!(proxy_url(SERVER, None, &[("HTTPS_PROXY", "")]), None);
}

#[test]
fn no_proxy_lowercase_applies_when_uppercase_is_unset_or_empty() {
    let env = |no_proxy_upper: &str| {
        proxy_url(
            SERVER,
            None,
            &[
                ("HTTPS_PROXY", "http://p:1"),
                ("NO_PROXY", no_proxy_upper),
                ("no_proxy", "example.com"),
            ],
        )
    };
    assert_eq!(env(""), None, "lowercase applies");
    assert!(env("other.org").is_some(), "uppercase wins");
}

#[test]
fn servers_of_other_schemes_get_no_proxy() {
    let server: http::Uri = "unix://socket/path".parse().expect("uri");
    let chosen = proxy_for(&server, None, |_| Some("http://p:1".to_owned()));
    assert_eq!(chosen, Ok(None));
}

// --- the environment: the proxy's URL ---

#[test]
fn a_value_without_scheme_is_an_http_proxy_and_ports_default_as_in_go() {
    for (value, expected, kind) in [
        ("proxy.corp:3128", "http://proxy.corp:3128", ProxyKind::Http),
        ("proxy.corp", "http://proxy.corp:80", ProxyKind::Http),
        ("10.0.0.1:3128", "http://10.0.0.1:3128", ProxyKind::Http),
        (
            "user:pw@proxy.corp:3128",
            "http://user:pw@proxy.corp:3128",
            ProxyKind::Http,
        ),
        (
            "http://proxy.corp/some/path",
            "http://proxy.corp:80",
            ProxyKind::Http,
        ),
        (
            "https://proxy.corp",
            "https://proxy.corp:443",
            ProxyKind::Https,
        ),
        (
            "socks5://proxy.corp",
            "socks5://proxy.corp:1080",
            ProxyKind::Socks5,
        ),
        (
            "SOCKS5h://proxy.corp:9050",
            "socks5://proxy.corp:9050",
            ProxyKind::Socks5,
        ),
        (
            "http://[fd00::1]:3128",
            "http://[fd00::1]:3128",
            ProxyKind::Http,
        ),
        (
            "http://proxy.corp:",
            "http://proxy.corp:80",
            ProxyKind::Http,
        ),
    ] {
        let proxy = choose(SERVER, None, &[("HTTPS_PROXY", value)])
            .unwrap_or_else(|err| panic!("{value}: {err}"))
            .expect(value);
        assert_eq!(
            proxy.url.to_string().trim_end_matches('/'),
            expected,
            "{value}"
        );
        assert_eq!(proxy.kind, kind, "{value}");
    }
}

#[test]
fn an_unusable_environment_value_is_an_error_naming_the_variable() {
    for (variable, value, problem) in [
        (
            "HTTPS_PROXY",
            "socks4://p:1080",
            UrlProblem::UnsupportedScheme("socks4".into()),
        ),
        (
            "https_proxy",
            "http://p:notaport",
            UrlProblem::BadPort("notaport".into()),
        ),
        ("HTTPS_PROXY", "http://:3128", UrlProblem::NoHost),
    ] {
        let err = choose(SERVER, None, &[(variable, value)]).expect_err(value);
        assert_eq!(
            err,
            ProxyError::Environment {
                variable,
                value: value.to_owned(),
                problem
            }
        );
    }
    let err = choose(
        SERVER,
        None,
        &[("HTTPS_PROXY", "socks4://bob:hunter2@p:1080")],
    )
    .expect_err("socks4");
    assert_eq!(
        err.to_string(),
        "HTTPS_PROXY=\"socks4://bob:xxxxx@p:1080\" cannot be used as a proxy: the scheme \
         \"socks4\" is not supported; set it to http://, https:// or socks5://HOST:PORT, unset \
         it, or exempt the API server with NO_PROXY"
    );
}

#[test]
fn an_unusable_value_the_server_is_exempt_from_is_no_error() {
    let env = [
        ("HTTPS_PROXY", "socks4://p:1080"),
        ("NO_PROXY", "example.com"),
    ];
    assert_eq!(choose(SERVER, None, &env), Ok(None));
    assert_eq!(
        choose(
            "https://127.0.0.1:6443",
            None,
            &[("HTTPS_PROXY", "socks4://p")]
        ),
        Ok(None)
    );
}

// --- credentials ---

#[test]
fn credentials_are_kept_percent_encoded_in_the_url_and_redacted_in_display() {
    let proxy = choose(SERVER, Some("http://al%40ice:p%3Ass w@proxy:3128"), &[])
        .expect("valid")
        .expect("proxy");
    // Whatever the user wrote (a raw space here), the userinfo is encoded again, so that the
    // transport can decode it as Go does (`al@ice`, `p:ss w`).
    assert_eq!(
        proxy.url.to_string(),
        "http://al%40ice:p%3Ass%20w@proxy:3128/"
    );
    assert_eq!(proxy.to_string(), "http://al%40ice:xxxxx@proxy:3128");
    let user_only = choose(SERVER, Some("http://alice@proxy:3128"), &[])
        .expect("valid")
        .expect("proxy");
    assert_eq!(user_only.to_string(), "http://alice@proxy:3128");
    let bare = choose(SERVER, Some("http://proxy:3128"), &[])
        .expect("valid")
        .expect("proxy");
    assert_eq!(bare.to_string(), "http://proxy:3128");
}

#[test]
fn a_password_with_at_signs_and_colons_survives() {
    // Go splits the userinfo at the last '@' and the first ':'.
    let proxy = choose(
        SERVER,
        None,
        &[("HTTPS_PROXY", "http://u:p@ss:w@proxy:3128")],
    )
    .expect("valid")
    .expect("proxy");
    assert_eq!(proxy.url.host(), Some("proxy"));
    let authority = proxy.url.authority().map(|a| a.as_str());
    assert_eq!(authority, Some("u:p%40ss%3Aw@proxy:3128"));
}

#[test]
fn a_bad_percent_escape_is_an_error() {
    let err = choose(SERVER, Some("http://u:50%@proxy:3128"), &[]).expect_err("bad escape");
    assert!(
        matches!(
            err,
            ProxyError::KubeconfigProxyUrl {
                problem: UrlProblem::Invalid(_),
                ..
            }
        ),
        "{err:?}"
    );
    // The value in the message is redacted even when it cannot be parsed.
    assert!(
        err.to_string().contains("\"http://u:xxxxx@proxy:3128\""),
        "{err}"
    );
}

#[test]
fn a_password_with_a_raw_slash_question_mark_or_hash_is_never_shown() {
    // Unencoded, these end the authority: Go cannot parse such a URL either. The message must
    // neither repeat the password nor take part of it for a port.
    for password in ["pa/ss0rd", "pa?ss0rd", "pa#ss0rd"] {
        let value = format!("http://alice:{password}@proxy.corp:3128");
        for err in [
            choose(SERVER, None, &[("HTTPS_PROXY", &value)]).expect_err("unusable"),
            choose(SERVER, Some(&value), &[]).expect_err("unusable"),
        ] {
            let message = err.to_string();
            assert!(
                !message.contains("ss0rd") && !message.contains("\"pa\""),
                "{message}"
            );
            assert!(
                message.contains("\"http://alice:xxxxx@proxy.corp:3128\"")
                    && message.contains(
                        "its user name or password holds a raw '/', '?' or '#'; write them as \
                         %2F, %3F and %23"
                    ),
                "{message}"
            );
        }
    }
}

// --- loopback ---

#[test]
fn localhost_and_loopback_ips_are_never_proxied_from_the_environment() {
    for server in [
        "https://localhost:6443",
        "https://127.0.0.1:6443",
        "https://127.1.2.3",
        "https://[::1]:6443",
        "https://[::ffff:127.0.0.1]:6443",
    ] {
        assert!(!proxied(server, ""), "{server}");
    }
    // Only the literal name and loopback IPs: other names are proxied whatever they resolve to.
    for server in [
        "https://localhost.localdomain",
        "https://foo.localhost",
        "https://0.0.0.0",
    ] {
        assert!(proxied(server, ""), "{server}");
    }
}

// --- NO_PROXY ---

#[test]
fn a_domain_matches_itself_and_its_subdomains_only() {
    assert!(!proxied("https://example.com", "example.com"));
    assert!(!proxied("https://api.example.com", "example.com"));
    assert!(!proxied("https://a.b.example.com:6443", "example.com"));
    assert!(proxied("https://badexample.com", "example.com"));
    assert!(proxied("https://example.com.evil.org", "example.com"));
}

#[test]
fn a_leading_dot_or_star_dot_matches_subdomains_only() {
    for entry in [".example.com", "*.example.com"] {
        assert!(!proxied("https://api.example.com", entry), "{entry}");
        assert!(proxied("https://example.com", entry), "{entry}");
        assert!(proxied("https://badexample.com", entry), "{entry}");
    }
}

#[test]
fn a_star_alone_matches_everything() {
    assert!(!proxied(SERVER, "*"));
    assert!(!proxied("https://10.1.2.3", "*"));
    assert!(!proxied(SERVER, "other.org,*"));
    // Not as part of another entry.
    assert!(proxied(SERVER, "*example.com"));
}

#[test]
fn entries_are_trimmed_lowercased_and_empty_ones_skipped() {
    assert!(!proxied(SERVER, " other.org , EXAMPLE.com "));
    assert!(!proxied("https://API.Example.COM", "example.com"));
    // kube-rs refused the whole list for these; Go skips the empty entries.
    assert!(!proxied(SERVER, "other.org,,example.com,"));
    assert!(!proxied(SERVER, ",example.com"));
}

#[test]
fn an_entry_with_a_port_matches_that_port_only() {
    assert!(!proxied("https://api.example.com:6443", "example.com:6443"));
    assert!(proxied("https://api.example.com:6443", "example.com:443"));
    // The server's port defaults by its scheme.
    assert!(!proxied("https://api.example.com", "example.com:443"));
    assert!(!proxied("https://10.0.0.1", "10.0.0.1:443"));
    assert!(proxied("https://10.0.0.1:6443", "10.0.0.1:443"));
    assert!(!proxied("https://[fd00::1]:6443", "[fd00::1]:6443"));
    // An empty port matches any port, as in Go.
    assert!(!proxied("https://api.example.com:6443", "example.com:"));
}

#[test]
fn ip_entries_match_ip_literals_only() {
    assert!(!proxied("https://10.0.0.1:6443", "10.0.0.1"));
    assert!(proxied("https://10.0.0.2:6443", "10.0.0.1"));
    assert!(!proxied("https://[fd00::1]", "fd00::1"));
    assert!(!proxied("https://[fd00::1]", "FD00:0::1"));
    assert!(!proxied("https://[::ffff:10.0.0.1]", "10.0.0.1"));
    // A domain entry never matches an IP, nor an IP entry a name.
    assert!(proxied("https://10.0.0.1", ".0.0.1"));
    assert!(proxied("https://10.0.0.1.nip.io", "10.0.0.1"));
}

#[test]
fn cidr_entries_match_ip_literals_inside_them() {
    assert!(!proxied("https://10.1.2.3:6443", "10.0.0.0/8"));
    assert!(
        !proxied("https://10.1.2.3:6443", "10.9.9.9/8"),
        "host bits are ignored"
    );
    assert!(proxied("https://11.0.0.1:6443", "10.0.0.0/8"));
    assert!(!proxied("https://192.168.1.7", "192.168.1.0/24"));
    assert!(proxied("https://192.168.2.7", "192.168.1.0/24"));
    assert!(!proxied("https://203.0.113.9", "0.0.0.0/0"));
    assert!(!proxied("https://[fd00::5]", "fd00::/8"));
    assert!(!proxied("https://[fd00::5]", "::/0"));
    assert!(!proxied("https://[fd00::5]", "fd00::5/128"));
    assert!(proxied("https://[fd00::6]", "fd00::5/128"));
    assert!(proxied("https://[fe80::5]", "fd00::/8"));
    assert!(
        proxied("https://10.1.2.3", "fd00::/8"),
        "families do not mix"
    );
    assert!(!proxied("https://10.1.2.3", "::ffff:10.0.0.0/104"));
    // A CIDR never matches a host name, whatever it resolves to.
    assert!(proxied(SERVER, "0.0.0.0/0"));
}

#[test]
fn malformed_entries_are_ignored() {
    for entry in [
        ":6443",
        "10.0.0.0/33",
        "10.0.0.0/",
        "[fd00::1",
        "a:b:c",
        "/8",
    ] {
        assert!(proxied(SERVER, entry), "{entry}");
        assert!(proxied("https://10.0.0.1", entry), "{entry}");
        assert!(!proxied(SERVER, &format!("{entry},example.com")), "{entry}");
    }
}

// --- properties ---

/// A DNS label.
fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}[a-z0-9]"
}

/// A host name of 1 to 3 labels.
fn domain() -> impl Strategy<Value = String> {
    proptest::collection::vec(label(), 1..=3).prop_map(|labels| labels.join("."))
}

/// An entry of any kind, or an empty or blank one.
fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        domain(),
        domain().prop_map(|d| format!(".{d}")),
        domain().prop_map(|d| format!("*.{d}")),
        (domain(), 1u16..).prop_map(|(d, port)| format!("{d}:{port}")),
        any::<[u8; 4]>().prop_map(|ip| std::net::Ipv4Addr::from(ip).to_string()),
        (any::<[u8; 4]>(), 0u8..=32)
            .prop_map(|(ip, prefix)| format!("{}/{prefix}", std::net::Ipv4Addr::from(ip))),
        Just(String::new()),
        Just("  ".to_owned()),
    ]
}

/// A server URL with a name or a non-loopback-looking IP.
fn server() -> impl Strategy<Value = String> {
    prop_oneof![
        (domain(), proptest::option::of(1u16..)).prop_map(|(d, port)| match port {
            Some(port) => format!("https://{d}:{port}"),
            None => format!("https://{d}"),
        }),
        any::<[u8; 4]>().prop_map(|ip| format!("https://{}", std::net::Ipv4Addr::from(ip))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_domain_entry_matches_every_subdomain_and_the_dot_form_all_but_itself(
        domain in domain(),
        subdomain in label(),
    ) {
        let sub = format!("https://{subdomain}.{domain}:6443");
        let itself = format!("https://{domain}:6443");
        let glued = format!("https://{subdomain}{domain}");
        let dotted = format!(".{domain}");
        prop_assert!(!proxied(&sub, &domain));
        prop_assert!(!proxied(&itself, &domain));
        prop_assert!(!proxied(&sub, &dotted));
        prop_assert!(proxied(&itself, &dotted));
        prop_assert!(proxied(&glued, &domain));
    }

    #[test]
    fn blank_entries_spacing_and_order_change_nothing(
        server in server(),
        entries in proptest::collection::vec(entry(), 0..6),
    ) {
        let plain = proxied(&server, &entries.join(","));
        let padded: Vec<String> = entries.iter().rev().map(|e| format!(" {e} ,")).collect();
        prop_assert_eq!(plain, proxied(&server, &padded.concat()));
    }

    #[test]
    fn an_entry_only_ever_removes_the_proxy(
        server in server(),
        entries in proptest::collection::vec(entry(), 0..6),
        extra in entry(),
    ) {
        let before = proxied(&server, &entries.join(","));
        let after = proxied(&server, &format!("{},{extra}", entries.join(",")));
        prop_assert!(before || !after, "adding {extra:?} made {server} proxied");
    }

    #[test]
    fn loopback_servers_are_never_proxied_from_any_environment(
        host in any::<[u8; 3]>(),
        port in 1u16..,
        value in "[a-z0-9:/.@]{0,20}",
    ) {
        let server = format!("https://127.{}.{}.{}:{port}", host[0], host[1], host[2]);
        let env = [("HTTPS_PROXY", value.as_str()), ("https_proxy", "http://p:1")];
        prop_assert_eq!(choose(&server, None, &env), Ok(None));
    }

    #[test]
    fn a_proxy_url_makes_the_environment_irrelevant(
        server in server(),
        https_proxy in "[a-z0-9:/.@]{0,20}",
        no_proxy in proptest::collection::vec(entry(), 0..4),
    ) {
        let field = Some("socks5://proxy.corp:1080");
        let env = [("HTTPS_PROXY", https_proxy.as_str()), ("NO_PROXY", &no_proxy.join(","))];
        prop_assert_eq!(choose(&server, field, &env), choose(&server, field, &[]));
    }
}
