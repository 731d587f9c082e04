//! Compression: kreflect asks for gzip only where it pays, so not of the fake server on
//! loopback unless told to (`--compression always`), never when told not to
//! (`--disable-compression`, or the kubeconfig cluster's `disable-compression: true`); it
//! mirrors a cluster whose list pages come gzipped, and treats a broken gzip body as a failed
//! list, never as a shorter one. (A proxy makes it ask: tests/it/proxy.rs.)

use std::time::Duration;

use kreflect::connect::client::{ClientOptions, connect_insecure_local};
use kreflect::connect::compression::Compression;
use kreflect_sim::{Fault, GzipCorruption, RecordedRequest, ServerOptions, populate};

use crate::harness::{Running, TestCluster, run_to_end};

/// Pods in the large cluster: three pages of 500, each several times over the real server's
/// 128 KiB compression threshold.
const NAMESPACES: usize = 5;
const PODS_PER_NAMESPACE: usize = 250;

/// A cluster of 1,250 realistic pods (about 6 KB of JSON each).
async fn large_cluster() -> TestCluster {
    large_cluster_with(ServerOptions::default()).await
}

/// [`large_cluster`] served as `options` say.
async fn large_cluster_with(options: ServerOptions) -> TestCluster {
    let cluster = TestCluster::start(options).await;
    let namespaces: Vec<String> = (0..NAMESPACES).map(|i| format!("ns-{i}")).collect();
    populate(&cluster.server.cluster(), &namespaces, PODS_PER_NAMESPACE);
    cluster
}

/// The JSON bytes of every pod the server holds: what the list pages weigh uncompressed (the
/// tests comparing against it ask for JSON: `--wire json`).
fn uncompressed_bytes(cluster: &TestCluster) -> u64 {
    cluster
        .server
        .cluster()
        .items()
        .iter()
        .map(|(_, item)| item.len() as u64)
        .sum()
}

/// The expected `--once` output: every key, sorted, then the empty line that ends a listing.
fn listing_of(cluster: &TestCluster) -> String {
    let mut keys = cluster.server.cluster().keys();
    keys.sort();
    format!("{}\n\n", keys.join("\n"))
}

fn mentions_gzip(request: &RecordedRequest) -> bool {
    request
        .accept_encoding
        .as_deref()
        .is_some_and(|value| value.to_ascii_lowercase().contains("gzip"))
}

/// Runs `kreflect pods ARGS --once` against `cluster` and requires the full listing.
async fn mirrors_with(cluster: &TestCluster, kubeconfig: Option<&std::path::Path>, args: &[&str]) {
    let mut all = args.to_vec();
    all.push("--once");
    let command = match kubeconfig {
        Some(path) => cluster.kreflect_with_kubeconfig(path, &all),
        None => cluster.kreflect(&all),
    };
    let (status, stdout, stderr) = run_to_end(command).await;
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stdout == listing_of(cluster),
        "wrong listing; stderr: {stderr}"
    );
    let lists = cluster.list_requests();
    assert_eq!(
        lists.len(),
        3,
        "three pages of 500: {lists:#?}; stderr: {stderr}"
    );
}

/// Runs `kreflect pods -v ARGS --once` against `cluster`, requires the full listing, and
/// returns its stderr.
async fn mirrors_verbosely(cluster: &TestCluster, args: &[&str]) -> String {
    let mut all = vec!["-v", "--once"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&all)).await;
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stdout == listing_of(cluster),
        "wrong listing; stderr: {stderr}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_server_is_not_asked_for_gzip_and_the_log_says_why() {
    let cluster = large_cluster().await;
    let stderr = mirrors_verbosely(&cluster, &["--wire", "json"]).await;
    let asked: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(mentions_gzip)
        .collect();
    assert!(asked.is_empty(), "gzip asked of 127.0.0.1: {asked:#?}");
    assert!(cluster.server.body_bytes_sent() >= uncompressed_bytes(&cluster));
    let said: Vec<_> = stderr
        .lines()
        .filter(|line| line.contains("compression="))
        .collect();
    assert!(
        said.len() == 1 && said[0].contains("compression=off: server on loopback"),
        "one line says why: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_always_asks_a_loopback_server_and_mirrors_from_compressed_pages() {
    let cluster = large_cluster().await;
    let stderr = mirrors_verbosely(&cluster, &["--compression", "always"]).await;
    assert!(
        stderr.contains("compression=on: --compression always"),
        "{stderr}"
    );
    assert_eq!(cluster.list_requests().len(), 3, "three pages of 500");
    for list in cluster.list_requests() {
        assert!(
            list.asks_for_gzip(),
            "every page asks for gzip as the real server reads it: {list:#?}"
        );
    }
    let (sent, plain) = (
        cluster.server.body_bytes_sent(),
        uncompressed_bytes(&cluster),
    );
    assert!(
        sent * 4 < plain,
        "the pages came compressed: {sent} bytes sent for {plain} bytes of pods"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_compression_and_compression_always_together_are_a_usage_error() {
    let cluster = large_cluster().await;
    let args = ["--disable-compression", "--compression", "always", "--once"];
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&args)).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "");
    assert!(cluster.requests().is_empty(), "{stderr}");
}

/// On loopback, where nothing asks for gzip anyway; through a proxy, where the default would
/// ask: tests/it/proxy.rs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_compression_flag_sends_no_gzip_and_still_mirrors() {
    let cluster = large_cluster().await;
    mirrors_with(&cluster, None, &["--disable-compression", "--wire", "json"]).await;
    let asked: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(mentions_gzip)
        .collect();
    assert!(asked.is_empty(), "gzip asked despite the flag: {asked:#?}");
    assert!(cluster.server.body_bytes_sent() >= uncompressed_bytes(&cluster));
}

/// The kubeconfig's `disable-compression` on loopback, and overridden by the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_disable_compression_sends_no_gzip_and_still_mirrors() {
    let cluster = large_cluster().await;
    let mut config: serde_json::Value =
        serde_json::from_str(&cluster.server.kubeconfig()).expect("kubeconfig is JSON");
    config["clusters"][0]["cluster"]["disable-compression"] = true.into();
    let path = cluster.write_kubeconfig("no-gzip", &config.to_string());
    mirrors_with(&cluster, Some(&path), &["--wire", "json"]).await;
    let asked: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(mentions_gzip)
        .collect();
    assert!(
        asked.is_empty(),
        "gzip asked despite disable-compression: {asked:#?}"
    );
    assert!(cluster.server.body_bytes_sent() >= uncompressed_bytes(&cluster));
    let before = cluster.requests().len();
    let args = ["--once", "--compression", "always"];
    let (status, _, stderr) = run_to_end(cluster.kreflect_with_kubeconfig(&path, &args)).await;
    assert!(status.success(), "{stderr}");
    let requests = cluster.requests().split_off(before);
    assert!(
        !requests.is_empty() && requests.iter().all(mentions_gzip),
        "--compression always wins over the kubeconfig: {requests:#?}"
    );
}

const CORRUPTIONS: [GzipCorruption; 3] = [
    GzipCorruption::NotGzip,
    GzipCorruption::Truncated,
    GzipCorruption::BadChecksum,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_gzip_page_fails_once_with_one_clear_line_and_prints_nothing() {
    for corruption in CORRUPTIONS {
        let cluster = large_cluster().await;
        cluster.server.inject(Fault::ListCorruptGzip {
            corruption,
            later_page: true,
        });
        let args = ["--once", "--compression", "always"];
        let (status, stdout, stderr) = run_to_end(cluster.kreflect(&args)).await;
        assert_eq!(status.code(), Some(1), "{corruption:?}: {stderr}");
        assert_eq!(stdout, "", "{corruption:?}: no partial listing");
        assert!(!stderr.contains("panicked"), "{corruption:?}: {stderr}");
        let line = stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "{corruption:?}: {stderr}");
        assert!(line.starts_with("kreflect: "), "{corruption:?}: {stderr}");
        // The server was reached and answered: the line must say the answer was broken.
        assert!(!line.contains("cannot reach"), "{corruption:?}: {stderr}");
        let lower = line.to_ascii_lowercase();
        assert!(
            lower.contains("gzip") || lower.contains("compress"),
            "{corruption:?}: the line names the cause: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_gzip_page_is_relisted_and_the_listing_is_whole() {
    for corruption in CORRUPTIONS {
        let cluster = large_cluster_with(ServerOptions {
            watch_cache: false,
            ..ServerOptions::default()
        })
        .await;
        cluster.server.inject(Fault::ListCorruptGzip {
            corruption,
            later_page: true,
        });
        let args = ["--interval", "1h", "--compression", "always"];
        let mut running = Running::spawn(cluster.kreflect(&args));
        let listing = running.next_listing().await;
        let mut expected = cluster.server.cluster().keys();
        expected.sort();
        assert!(
            listing == expected,
            "{corruption:?}: the first listing has {} of {} keys; stderr: {}",
            listing.len(),
            expected.len(),
            running.stderr_so_far()
        );
        let stderr = running.stderr_so_far();
        assert!(stderr.contains("retrying"), "{corruption:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{corruption:?}: {stderr}");
        // The broken second page, then a list from the start: pages 1..3 again.
        let lists = cluster.list_requests();
        assert!(lists.len() >= 5, "{corruption:?}: {lists:#?}");
        assert!(
            lists[1].param("continue").is_some() && lists[2].param("continue").is_none(),
            "{corruption:?}: the page after the first was broken, then a fresh list: {lists:#?}"
        );
        running.child.start_kill().expect("kill");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_client_asks_a_loopback_server_for_gzip_only_when_told_to() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};

    let cluster = large_cluster().await;
    for (compression, asks) in [
        (Compression::Auto, false),
        (Compression::Always, true),
        (Compression::Never, false),
    ] {
        let options = ClientOptions {
            compression,
            ..ClientOptions::default()
        };
        let client = connect_insecure_local(&cluster.server.url(), &options).expect("client");
        let pods: Api<Pod> = Api::all(client);
        let page = tokio::time::timeout(
            Duration::from_secs(20),
            pods.list(&ListParams::default().limit(500)),
        )
        .await
        .expect("list in time")
        .expect("list");
        assert_eq!(page.items.len(), 500);
        let last = cluster.requests().pop().expect("a request");
        assert_eq!(mentions_gzip(&last), asks, "{compression:?}: {last:#?}");
    }
}

/// A server that answers every request 200 with a chunked body holding the first half of
/// `body`, then closes the connection before the body's end.
async fn cutting_server(body: Vec<u8>, gzip: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0; 4096];
            let _ = stream.read(&mut request).await;
            let encoding = if gzip {
                "Content-Encoding: gzip\r\n"
            } else {
                ""
            };
            let half = &body[..body.len() / 2];
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{encoding}\
                 Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
                half.len()
            )
            .into_bytes();
            response.extend_from_slice(half);
            response.extend_from_slice(b"\r\n");
            let _ = stream.write_all(&response).await;
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_cut_in_transit_is_a_connection_failure_not_a_corrupt_gzip_body() {
    use std::io::Write;
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let list =
        br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#
            .repeat(64);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&list).expect("compress");
    let gzipped = encoder.finish().expect("compress");
    for (body, gzip) in [(list, false), (gzipped, true)] {
        let url = cutting_server(body, gzip).await;
        let mut config: serde_json::Value =
            serde_json::from_str(&cluster.server.kubeconfig()).expect("kubeconfig is JSON");
        config["clusters"][0]["cluster"]["server"] = url.clone().into();
        let path = cluster.write_kubeconfig("cutting", &config.to_string());
        let (status, stdout, stderr) = run_to_end(
            cluster.kreflect_with_kubeconfig(&path, &["--once", "--compression", "always"]),
        )
        .await;
        assert_eq!(status.code(), Some(1), "gzip {gzip}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(&format!("cannot reach {url}")) && !stderr.contains("gzip"),
            "gzip {gzip}: {stderr}"
        );
    }
}
