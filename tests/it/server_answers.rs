//! What each kind of server answer does to a run, over HTTP against the fake server: errors
//! retrying cannot fix end the run at once with the server's message (invalid input: exit 2;
//! credentials: exit 1), `--once` needs only `list`, a `Retry-After` is honoured up to a cap,
//! and a list that trickles is given up (fatal with `--once`, retried otherwise).

use std::time::{Duration, Instant};

use kreflect::cache::reflector::ReflectorConfig;
use kreflect_sim::{FakeApiServer, Fault, ServerOptions};

use crate::harness::mirror::{Mirror, fast_config};
use crate::harness::{Running, TestCluster, assert_one_line, run_to_end, strings};

/// Runs `kreflect pods ARGS` to its end and checks it failed at once: `code`, nothing on
/// stdout, one line on stderr containing each of `expected`, and exactly one request for pods.
async fn fails_at_once(cluster: &TestCluster, args: &[&str], code: i32, expected: &[&str]) {
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(args)).await;
    assert_eq!(status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(stdout, "", "{args:?}");
    assert_one_line(&stderr, format_args!("{args:?}"));
    assert!(stderr.starts_with("kreflect: "), "{stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{args:?}: {text:?} missing in {stderr}"
        );
    }
    assert_eq!(
        cluster.list_requests().len() + cluster.watch_requests().len(),
        1,
        "{args:?}: not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_selector_the_server_cannot_parse_is_a_usage_error_with_its_message() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    fails_at_once(
        &cluster,
        &["-l", "a=("],
        2,
        &["400 BadRequest", "unable to parse requirement"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_selector_the_server_does_not_support_is_a_usage_error_with_its_message() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    fails_at_once(
        &cluster,
        &["--field-selector", "spec.foo=bar"],
        2,
        &["400 BadRequest", "field label not supported: spec.foo"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_the_server_does_not_serve_on_the_first_list_is_a_usage_error() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    cluster.server.inject(Fault::ListStatus {
        code: 404,
        reason: "NotFound".into(),
        retry_after: None,
    });
    fails_at_once(
        &cluster,
        &["--interval", "1s"],
        2,
        &["does not serve pods", "404 NotFound"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_name_the_user_and_context_and_advise_logging_in() {
    let cluster = TestCluster::start(ServerOptions {
        bearer_token: Some("right".into()),
        ..ServerOptions::default()
    })
    .await;
    let kubeconfig = cluster
        .server
        .kubeconfig()
        .replace("\"right\"", "\"wrong\"");
    let path = cluster.write_kubeconfig("wrong-token", &kubeconfig);
    // `pods` skips discovery, so its list is refused; `deploy` is refused during discovery.
    for args in [["pods", "--interval", "1s"], ["deploy", "--interval", "1s"]] {
        let (status, stdout, stderr) =
            run_to_end(cluster.kreflect_any_with_kubeconfig(&path, &args)).await;
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert_one_line(&stderr, format_args!("{args:?}"));
        assert!(
            stderr.contains("the server rejected the credentials of user sim (context sim)"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("log in again or refresh the token"),
            "{stderr}"
        );
        assert!(!stderr.contains("RBAC"), "not RBAC advice: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_needs_only_list_and_never_watches() {
    let cluster = TestCluster::start(ServerOptions {
        deny_watch: true,
        ..ServerOptions::default()
    })
    .await;
    cluster.server.cluster().create_pod("a", "1");
    cluster.server.cluster().create_pod("b", "2");
    for _ in 0..5 {
        let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
        assert_eq!(status.code(), Some(0), "{stderr}");
        assert_eq!(stdout, "a/1\nb/2\n\n");
        assert_eq!(stderr, "");
    }
    assert!(
        cluster.requests().iter().all(|request| !request.is_watch()),
        "not even a streaming list, which is a watch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_cap_is_retried_after_the_cap() {
    let server = FakeApiServer::start(ServerOptions::default())
        .await
        .expect("fake server");
    server.cluster().create_pod("a", "1");
    server.inject(Fault::ListStatus {
        code: 429,
        reason: "TooManyRequests".into(),
        retry_after: Some(3600),
    });
    let config = ReflectorConfig {
        max_retry_after: Duration::from_secs(1),
        ..fast_config()
    };
    let mirror = Mirror::start(&server, None, config);
    let synced = tokio::time::timeout(Duration::from_secs(10), mirror.synced()).await;
    assert!(
        synced.is_ok(),
        "still waiting the hour the server asked for"
    );
    mirror.stop().await.expect("reflector ends cleanly");
}

/// The test knob that shortens the window of the list body's minimum rate (a minute by default),
/// so a trickling list is given up in seconds.
const LIST_RATE_WINDOW_VAR: &str = "KREFLECT_LIST_RATE_WINDOW";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_trickling_a_byte_a_second_ends_a_once_run_with_one_line_naming_the_server() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    cluster.server.inject(Fault::ListTrickle {
        bytes_per_second: 1,
    });
    let mut command = cluster.kreflect(&["--once"]);
    command.env(LIST_RATE_WINDOW_VAR, "2s");
    let started = Instant::now();
    let (status, stdout, stderr) = run_to_end(command).await;
    let took = started.elapsed();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "a list trickling with --once");
    let server = format!("{} (context sim)", cluster.server.url());
    assert!(
        stderr.starts_with(&format!(
            "kreflect: cannot list pods at cluster scope: {server} sent its answer too slowly: "
        )),
        "{stderr}"
    );
    assert!(stderr.contains("check the network"), "what to do: {stderr}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "given up after the 2 s window, took {took:?}"
    );
    assert_eq!(cluster.list_requests().len(), 1, "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_trickling_a_byte_a_second_is_retried_like_any_transport_failure() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    cluster.server.inject(Fault::ListTrickle {
        bytes_per_second: 1,
    });
    let mut command = cluster.kreflect(&["--interval", "1h"]);
    command.env(LIST_RATE_WINDOW_VAR, "2s");
    let mut kreflect = Running::spawn(command);
    assert_eq!(kreflect.next_listing().await, strings(&["a/1"]));
    assert_eq!(
        cluster.list_requests().len(),
        2,
        "the trickle, then a retry"
    );
    let stderr = kreflect.stderr_so_far();
    assert!(
        stderr.contains("request failed; retrying") && stderr.contains("too slowly"),
        "{stderr}"
    );
}

/// A gzipped list trickling 200 bytes a second on the wire, of a pod that inflates 200-fold: the
/// decompressed body grows at about 40 KB/s, above the minimum rate, yet the link brings almost
/// nothing. The rate is the link's (bytes received), so this is given up like any trickle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_list_trickling_on_the_wire_is_given_up_however_far_it_inflates() {
    let cluster = TestCluster::with_pods(&[]).await;
    cluster.server.cluster().create_pod_with(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "inflating",
            "namespace": "a",
            "annotations": { "filler": "x".repeat(2_000_000) },
        },
        "spec": { "containers": [] },
        "status": {},
    }));
    cluster.server.inject(Fault::ListTrickle {
        bytes_per_second: 200,
    });
    // Gzip asked for, although the server is on loopback.
    let mut command = cluster.kreflect(&["--once", "--compression", "always"]);
    command.env(LIST_RATE_WINDOW_VAR, "2s");
    let started = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(20), run_to_end(command)).await;
    let Ok((status, stdout, stderr)) = ended else {
        panic!("still reading the trickled page after 20 s");
    };
    let took = started.elapsed();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("sent its answer too slowly"), "{stderr}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
}
