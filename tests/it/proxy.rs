//! Proxies, end to end: `kreflect pods --once` against the fake server in HTTPS mode, through
//! the harness's CONNECT and SOCKS5 proxies, chosen as kubectl chooses them: the kubeconfig
//! cluster's `proxy-url` first, else `HTTPS_PROXY`/`https_proxy` unless `NO_PROXY`/`no_proxy`
//! names the server or the server is loopback.
//!
//! Since loopback servers are never proxied from the environment, those tests name the server
//! [`PROXY_ONLY_HOST`], a name only the proxies resolve (to 127.0.0.1), or `0.0.0.0`, an IP
//! that is not loopback but reaches the server's 127.0.0.1 listener. A run that bypasses the
//! proxy for the made-up name must fail to resolve it, naming it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use kreflect_sim::{PROXY_ONLY_HOST, ServerOptions};
use serde_json::Value;

use crate::harness::proxy::connect::{self, ConnectOptions, ConnectProxy};
use crate::harness::proxy::socks5::{self, Address, Socks5Options, Socks5Proxy};
use crate::harness::{TestCluster, assert_one_line, run_to_end};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// What `--once` prints for the cluster of [`https_cluster`].
const LISTING: &str = "a/x\nb/y\n\n";
/// A proxy address nothing listens on (port 1 needs root to bind).
const NOWHERE: &str = "http://127.0.0.1:1";

async fn https_cluster() -> TestCluster {
    let cluster = TestCluster::start(ServerOptions {
        tls: true,
        ..ServerOptions::default()
    })
    .await;
    cluster.server.cluster().create_pod("a", "x");
    cluster.server.cluster().create_pod("b", "y");
    cluster
}

/// Writes the cluster's kubeconfig with the server named `host` (same port) and, if given, a
/// `proxy-url`, as `name`; returns its path.
fn kubeconfig(cluster: &TestCluster, name: &str, host: &str, proxy_url: Option<&str>) -> PathBuf {
    let mut config: Value = serde_json::from_str(&cluster.server.kubeconfig()).expect("JSON");
    let entry = &mut config["clusters"][0]["cluster"];
    entry["server"] = format!("https://{host}:{}", cluster.server.addr().port()).into();
    if let Some(url) = proxy_url {
        entry["proxy-url"] = url.into();
    }
    cluster.write_kubeconfig(name, &config.to_string())
}

/// `host:PORT` of the fake server under `host`.
fn target(cluster: &TestCluster, host: &str) -> String {
    format!("{host}:{}", cluster.server.addr().port())
}

/// Runs `kreflect pods --once` with `kubeconfig` and the environment `env` (and nothing else).
async fn run(
    cluster: &TestCluster,
    kubeconfig: &Path,
    env: &[(&str, &str)],
) -> (ExitStatus, String, String) {
    let mut command = cluster.kreflect_with_kubeconfig(kubeconfig, &["--once"]);
    command.envs(env.iter().copied());
    run_to_end(command).await
}

/// The run printed the cluster's keys and nothing on stderr.
fn assert_listed(outcome: &(ExitStatus, String, String), what: &str) {
    let (status, stdout, stderr) = outcome;
    assert!(
        status.success(),
        "{what}: exit {status:?}, stderr: {stderr}"
    );
    assert_eq!(stdout, LISTING, "{what}: stderr: {stderr}");
    assert_eq!(stderr, "", "{what}");
}

/// The run failed with exit 1 and one line on stderr that contains every one of `names`, and
/// says nothing of cargo features or panics; returns that line.
fn assert_one_line_failure(
    outcome: &(ExitStatus, String, String),
    what: &str,
    names: &[&str],
) -> String {
    let (status, stdout, stderr) = outcome;
    assert_eq!(status.code(), Some(1), "{what}: stderr: {stderr}");
    assert_eq!(stdout, "", "{what}");
    assert_one_line(stderr, what);
    assert!(stderr.starts_with("kreflect: "), "{what}: {stderr}");
    for name in names {
        assert!(stderr.contains(name), "{what}: names {name:?}: {stderr}");
    }
    for word in ["feature", "panicked"] {
        assert!(
            !stderr.contains(word),
            "{what}: mentions {word:?}: {stderr}"
        );
    }
    stderr.clone()
}

async fn connect_proxy() -> ConnectProxy {
    ConnectProxy::start(ConnectOptions::resolving(PROXY_ONLY_HOST, LOCALHOST)).await
}

async fn socks_proxy() -> Socks5Proxy {
    Socks5Proxy::start(Socks5Options::resolving(PROXY_ONLY_HOST, LOCALHOST)).await
}

// --- HTTPS_PROXY ---

/// Asserts that the proxy was used, and only to reach `expected` (`host:port`).
fn assert_tunnelled_only_to(targets: &[String], expected: &str) {
    assert!(!targets.is_empty(), "the proxy was used");
    assert!(
        targets.iter().all(|t| t == expected),
        "every connection went to {expected}: {targets:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_carries_the_connection_through_a_connect_proxy() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let outcome = run(&cluster, &config, &[("HTTPS_PROXY", &proxy.url())]).await;
    assert_listed(&outcome, "through the proxy");
    let targets = proxy.targets();
    assert!(!targets.is_empty(), "the proxy was used");
    assert!(
        targets
            .iter()
            .all(|t| *t == target(&cluster, PROXY_ONLY_HOST)),
        "every connection was a CONNECT to the server's name: {:?}",
        proxy.requests()
    );
    assert!(proxy.requests().iter().all(|r| r.method == "CONNECT"));
    assert!(!cluster.requests().is_empty(), "and reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowercase_https_proxy_is_honoured_and_uppercase_wins_over_it() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let lowercase = run(&cluster, &config, &[("https_proxy", &proxy.url())]).await;
    assert_listed(&lowercase, "https_proxy");
    let used = proxy.targets().len();
    assert!(used > 0, "https_proxy was used");

    let url = proxy.url();
    let both = [("HTTPS_PROXY", url.as_str()), ("https_proxy", NOWHERE)];
    assert_listed(&run(&cluster, &config, &both).await, "both set");
    assert!(proxy.targets().len() > used, "HTTPS_PROXY was used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_without_scheme_is_an_http_proxy() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let bare = proxy.addr().to_string();
    assert_listed(
        &run(&cluster, &config, &[("HTTPS_PROXY", &bare)]).await,
        &bare,
    );
    assert!(!proxy.targets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_is_sent_absolute_urls_for_an_http_server_as_kubectl_sends_them() {
    // Go's net/http tunnels only to https servers; a plain-HTTP request goes to the proxy as
    // `GET http://server/path`, which squid's default configuration allows where it refuses a
    // CONNECT to any port but 443.
    let cluster = TestCluster::start(ServerOptions::default()).await;
    cluster.server.cluster().create_pod("a", "x");
    cluster.server.cluster().create_pod("b", "y");
    let proxy = ConnectProxy::start(ConnectOptions {
        credentials: Some(("alice".to_owned(), "pw".to_owned())),
        ..ConnectOptions::resolving(PROXY_ONLY_HOST, LOCALHOST)
    })
    .await;
    let mut config: Value = serde_json::from_str(&cluster.server.kubeconfig()).expect("JSON");
    let server = format!("http://{}", target(&cluster, PROXY_ONLY_HOST));
    config["clusters"][0]["cluster"]["server"] = server.clone().into();
    let config = cluster.write_kubeconfig("http", &config.to_string());
    let url = format!("http://alice:pw@{}", proxy.addr());
    let outcome = run(&cluster, &config, &[("HTTP_PROXY", &url)]).await;
    assert_listed(&outcome, "through the proxy");
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the proxy was used");
    for request in &requests {
        assert!(
            request.method == "GET" && request.target.starts_with(&format!("{server}/api")),
            "an absolute URL, not a tunnel: {requests:?}"
        );
        assert_eq!(
            request.proxy_authorization.as_deref(),
            Some("Basic YWxpY2U6cHc="),
            "with the proxy's credentials"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_is_not_used_for_an_https_server() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let outcome = run(&cluster, &config, &[("HTTP_PROXY", &proxy.url())]).await;
    assert_one_line_failure(&outcome, "direct to the made-up name", &[PROXY_ONLY_HOST]);
    assert_eq!(proxy.requests(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socks5_https_proxy_is_sent_the_name_to_resolve() {
    let cluster = https_cluster().await;
    let proxy = socks_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let outcome = run(&cluster, &config, &[("HTTPS_PROXY", &proxy.url())]).await;
    assert_listed(&outcome, "through SOCKS5");
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the proxy was used");
    for request in &requests {
        assert_eq!(request.target, target(&cluster, PROXY_ONLY_HOST));
        assert_eq!(
            request.address,
            Address::Domain,
            "Go sends the name: {request:?}"
        );
        assert_eq!(request.credentials, None);
    }
}

// --- the kubeconfig's proxy-url ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_url_http_is_used_even_for_a_loopback_server() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "http-proxy", "127.0.0.1", Some(&proxy.url()));
    assert_listed(&run(&cluster, &config, &[]).await, "proxy-url http");
    assert_tunnelled_only_to(&proxy.targets(), &target(&cluster, "127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_url_socks5_is_used_even_for_a_loopback_server() {
    let cluster = https_cluster().await;
    let proxy = socks_proxy().await;
    let config = kubeconfig(&cluster, "socks-proxy", "127.0.0.1", Some(&proxy.url()));
    assert_listed(&run(&cluster, &config, &[]).await, "proxy-url socks5");
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the proxy was used");
    for request in &requests {
        assert_eq!(request.target, target(&cluster, "127.0.0.1"));
        assert_eq!(request.address, Address::Ipv4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_url_https_is_a_connect_proxy_inside_tls_trusted_through_the_kubeconfig_ca() {
    use base64::Engine as _;
    let cluster = https_cluster().await;
    let (acceptor, proxy_ca) = connect::localhost_tls();
    let proxy = ConnectProxy::start(ConnectOptions {
        tls: Some(acceptor),
        ..ConnectOptions::default()
    })
    .await;
    assert!(proxy.url().starts_with("https://"));
    let config = kubeconfig(&cluster, "https-proxy", "127.0.0.1", Some(&proxy.url()));
    // client-go verifies the proxy with the cluster's TLS settings: its CA bundle, here holding
    // the server's CA and the proxy's.
    let mut text: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).expect("read")).expect("JSON");
    let bundle = format!("{}{proxy_ca}", cluster.server.ca_pem().expect("TLS"));
    text["clusters"][0]["cluster"]["certificate-authority-data"] =
        base64::engine::general_purpose::STANDARD
            .encode(bundle)
            .into();
    let config = cluster.write_kubeconfig("https-proxy", &text.to_string());
    assert_listed(&run(&cluster, &config, &[]).await, "proxy-url https");
    assert_tunnelled_only_to(&proxy.targets(), &target(&cluster, "127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_url_wins_over_https_proxy_and_ignores_no_proxy() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "both", PROXY_ONLY_HOST, Some(&proxy.url()));
    let env = [("HTTPS_PROXY", NOWHERE), ("NO_PROXY", "*")];
    assert_listed(
        &run(&cluster, &config, &env).await,
        "proxy-url over the environment",
    );
    assert!(
        !proxy.targets().is_empty(),
        "the kubeconfig's proxy was used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_proxy_url_are_sent_decoded() {
    let cluster = https_cluster().await;
    let connect = ConnectProxy::start(ConnectOptions {
        credentials: Some(("al@ice".to_owned(), "s:cret".to_owned())),
        ..ConnectOptions::default()
    })
    .await;
    let url = format!("http://al%40ice:s%3Acret@{}", connect.addr());
    let config = kubeconfig(&cluster, "connect-auth", "127.0.0.1", Some(&url));
    assert_listed(&run(&cluster, &config, &[]).await, "Basic auth");
    let authorizations: Vec<_> = connect
        .requests()
        .into_iter()
        .map(|r| r.proxy_authorization)
        .collect();
    assert!(!authorizations.is_empty());
    // base64("al@ice:s:cret")
    let expected = Some("Basic YWxAaWNlOnM6Y3JldA==".to_owned());
    assert!(
        authorizations.iter().all(|a| *a == expected),
        "{authorizations:?}"
    );

    let socks = Socks5Proxy::start(Socks5Options {
        credentials: Some(("bob".to_owned(), "pa$$ word".to_owned())),
        ..Socks5Options::default()
    })
    .await;
    let url = socks
        .url()
        .replace("socks5://", "socks5://bob:pa%24%24%20word@");
    let config = kubeconfig(&cluster, "socks-auth", "127.0.0.1", Some(&url));
    assert_listed(
        &run(&cluster, &config, &[]).await,
        "SOCKS5 username/password",
    );
    let requests = socks.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert!(request.methods.contains(&socks5::USER_PASS), "{request:?}");
        let expected = Some(("bob".to_owned(), "pa$$ word".to_owned()));
        assert_eq!(request.credentials, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_url_kubectl_refuses_is_one_line_naming_the_field() {
    let cluster = https_cluster().await;
    let config = kubeconfig(&cluster, "ftp", "127.0.0.1", Some("ftp://proxy.corp:21"));
    let outcome = run(&cluster, &config, &[]).await;
    assert_one_line_failure(
        &outcome,
        "ftp proxy-url",
        &["proxy-url", "ftp://proxy.corp:21"],
    );
    assert_eq!(cluster.requests(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_proxy_value_that_is_no_proxy_url_is_one_line_naming_the_variable() {
    let cluster = https_cluster().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let outcome = run(&cluster, &config, &[("https_proxy", "socks4://p:1080")]).await;
    assert_one_line_failure(&outcome, "socks4", &["https_proxy", "socks4://p:1080"]);
}

// --- NO_PROXY and loopback ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_host_and_domain_entries_bypass_the_proxy() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let bypassing = [
        PROXY_ONLY_HOST.to_owned(),
        "kreflect.test".to_owned(),
        ".kreflect.test".to_owned(),
        "*.kreflect.test".to_owned(),
        "KREFLECT.test".to_owned(),
        target(&cluster, "kreflect.test"),
        // Empty entries are skipped, as Go does (kube-rs refused the whole list).
        format!("example.org,,{PROXY_ONLY_HOST},"),
    ];
    let url = proxy.url();
    for no_proxy in &bypassing {
        let env = [
            ("HTTPS_PROXY", url.as_str()),
            ("NO_PROXY", no_proxy.as_str()),
        ];
        let what = format!("NO_PROXY={no_proxy}");
        let outcome = run(&cluster, &config, &env).await;
        // Direct, the made-up name does not resolve.
        assert_one_line_failure(&outcome, &what, &[PROXY_ONLY_HOST]);
        assert_eq!(proxy.requests(), Vec::new(), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_entries_that_do_not_match_leave_the_proxy_in_use() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let not_matching = [
        "other.kreflect.test",
        "reflect.test",
        "kreflect.test:443",
        "127.0.0.0/8",
        "0.0.0.0/0",
    ];
    for no_proxy in not_matching {
        let before = proxy.targets().len();
        let env = [("no_proxy", no_proxy), ("HTTPS_PROXY", &proxy.url())];
        let outcome = run(&cluster, &config, &env).await;
        assert_listed(&outcome, &format!("NO_PROXY={no_proxy}"));
        assert!(
            proxy.targets().len() > before,
            "NO_PROXY={no_proxy}: proxied"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_ip_and_cidr_entries_bypass_the_proxy_for_an_ip_server() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    // 0.0.0.0 is not loopback, so it is proxied unless NO_PROXY names it.
    let config = kubeconfig(&cluster, "any-ip", "0.0.0.0", None);
    let proxied = run(&cluster, &config, &[("HTTPS_PROXY", &proxy.url())]).await;
    assert_listed(&proxied, "0.0.0.0 through the proxy");
    assert_eq!(proxy.targets().first(), Some(&target(&cluster, "0.0.0.0")));

    let (url, port_entry) = (proxy.url(), target(&cluster, "0.0.0.0"));
    for no_proxy in ["0.0.0.0", "0.0.0.0/8", "10.0.0.0/8, 0.0.0.0/0", &port_entry] {
        let before = proxy.targets().len();
        let env = [("HTTPS_PROXY", url.as_str()), ("NO_PROXY", no_proxy)];
        assert_listed(&run(&cluster, &config, &env).await, no_proxy);
        assert_eq!(proxy.targets().len(), before, "NO_PROXY={no_proxy}: direct");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_servers_are_reached_directly_whatever_https_proxy_says() {
    let cluster = https_cluster().await;
    let proxy = connect_proxy().await;
    let url = proxy.url();
    for host in ["127.0.0.1", "localhost"] {
        let config = kubeconfig(&cluster, host, host, None);
        let env = [("HTTPS_PROXY", url.as_str()), ("HTTP_PROXY", url.as_str())];
        assert_listed(&run(&cluster, &config, &env).await, host);
        assert_eq!(proxy.requests(), Vec::new(), "{host}");
    }
}

// --- compression: a proxy hides the path, so kreflect asks for gzip ---

/// Every request the server received asked for gzip, or none did, as `asked` says.
fn assert_gzip_asked(cluster: &TestCluster, asked: bool, what: &str) {
    let requests = cluster.requests();
    assert!(!requests.is_empty(), "{what}: the server was reached");
    let wrong: Vec<_> = requests
        .iter()
        .filter(|request| request.asks_for_gzip() != asked)
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: gzip asked should be {asked}: {wrong:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_makes_kreflect_ask_for_gzip_even_of_a_loopback_server() {
    let (connect, socks) = (connect_proxy().await, socks_proxy().await);
    for url in [connect.url(), socks.url()] {
        let cluster = https_cluster().await;
        let config = kubeconfig(&cluster, "gzip-proxy", "127.0.0.1", Some(&url));
        assert_listed(&run(&cluster, &config, &[]).await, &url);
        assert_gzip_asked(&cluster, true, &url);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_compression_never_asks_for_gzip_even_through_a_proxy() {
    let proxy = connect_proxy().await;
    let cluster = https_cluster().await;
    let config = kubeconfig(&cluster, "flag", "127.0.0.1", Some(&proxy.url()));
    let command = cluster.kreflect_with_kubeconfig(&config, &["--once", "--disable-compression"]);
    assert_listed(&run_to_end(command).await, "--disable-compression");
    assert_gzip_asked(&cluster, false, "--disable-compression");

    let cluster = https_cluster().await;
    let mut config: Value = serde_json::from_str(&cluster.server.kubeconfig()).expect("JSON");
    let entry = &mut config["clusters"][0]["cluster"];
    entry["proxy-url"] = proxy.url().into();
    entry["disable-compression"] = true.into();
    let config = cluster.write_kubeconfig("no-gzip", &config.to_string());
    assert_listed(&run(&cluster, &config, &[]).await, "kubeconfig");
    assert_gzip_asked(&cluster, false, "disable-compression in the kubeconfig");
    assert!(!proxy.targets().is_empty(), "the proxy was used");
}

// --- proxies that fail ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_proxy_that_refuses_is_one_line_naming_the_proxy() {
    let cluster = https_cluster().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    for status in [403, 502] {
        let proxy = ConnectProxy::start(ConnectOptions {
            refuse: Some(status),
            ..ConnectOptions::default()
        })
        .await;
        let outcome = run(&cluster, &config, &[("HTTPS_PROXY", &proxy.url())]).await;
        let addr = proxy.addr().to_string();
        assert_one_line_failure(&outcome, &format!("CONNECT {status}"), &[&addr, "proxy"]);
        assert!(!proxy.targets().is_empty(), "{status}: the proxy was asked");
    }
    assert_eq!(cluster.requests(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_proxy_wanting_credentials_is_one_line_saying_so() {
    let cluster = https_cluster().await;
    let proxy = ConnectProxy::start(ConnectOptions {
        credentials: Some(("alice".to_owned(), "secret".to_owned())),
        ..ConnectOptions::resolving(PROXY_ONLY_HOST, LOCALHOST)
    })
    .await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let outcome = run(&cluster, &config, &[("HTTPS_PROXY", &proxy.url())]).await;
    let addr = proxy.addr().to_string();
    let line = assert_one_line_failure(&outcome, "407", &[&addr]);
    assert!(
        line.to_lowercase().contains("auth"),
        "says credentials are wanted: {line}"
    );

    // And with a wrong password in the URL, the password is not printed.
    let url = format!("http://alice:wrong-pw@{addr}");
    let outcome = run(&cluster, &config, &[("HTTPS_PROXY", &url)]).await;
    let line = assert_one_line_failure(&outcome, "407, wrong password", &[&addr]);
    assert!(!line.contains("wrong-pw"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socks5_proxy_that_refuses_is_one_line_naming_the_proxy() {
    let cluster = https_cluster().await;
    let proxy = Socks5Proxy::start(Socks5Options {
        refuse: Some(socks5::NOT_ALLOWED),
        ..Socks5Options::default()
    })
    .await;
    let config = kubeconfig(&cluster, "socks", "127.0.0.1", Some(&proxy.url()));
    let outcome = run(&cluster, &config, &[]).await;
    let addr = proxy.url().replace("socks5://", "");
    assert_one_line_failure(&outcome, "SOCKS5 refusal", &[&addr, "proxy"]);
    assert!(!proxy.targets().is_empty(), "the proxy was asked");
    assert_eq!(cluster.requests(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_is_not_listening_is_one_line_naming_the_proxy() {
    let cluster = https_cluster().await;
    let config = kubeconfig(&cluster, "named", PROXY_ONLY_HOST, None);
    let outcome = run(&cluster, &config, &[("HTTPS_PROXY", NOWHERE)]).await;
    assert_one_line_failure(&outcome, "nothing listening", &["127.0.0.1:1", "proxy"]);
}
