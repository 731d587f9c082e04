//! `kreflect pods` end to end: the real binary against the fake API server over HTTP, through a
//! generated kubeconfig.

use std::time::{Duration, Instant};

use kreflect_sim::{Fault, ServerOptions, WatchListSupport};
use nix::sys::signal::Signal;

use crate::harness::{
    Running, TestCluster, assert_one_line, kreflect_command, run_to_end, strings,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_initial_keys_then_reflects_add_modify_delete() {
    let cluster = TestCluster::with_pods(&["shop/web-1", "default/db-0", "shop/api-2"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["default/db-0", "shop/api-2", "shop/web-1"])
    );

    let pods = cluster.server.cluster();
    pods.create_pod("shop", "web-2");
    pods.update_pod("shop", "web-1").expect("exists");
    pods.delete_pod("default", "db-0").expect("exists");
    kreflect
        .wait_for_listing(&strings(&["shop/api-2", "shop/web-1", "shop/web-2"]))
        .await;
    assert_eq!(
        pods.keys(),
        strings(&["shop/api-2", "shop/web-1", "shop/web-2"])
    );
    assert_eq!(
        cluster.list_requests().len(),
        1,
        "no relist needed for plain events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_exactly_one_listing_byte_for_byte_and_exits_zero() {
    let cluster = TestCluster::with_pods(&["b/y", "a-b/x", "a/x", "B/z"]).await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stdout, "B/z\na-b/x\na/x\nb/y\n\n");
    assert_eq!(stderr, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_flag_lists_and_watches_one_namespace() {
    let cluster = TestCluster::with_pods(&["shop/web-1", "default/db-0", "shop/api-2"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["-n", "shop", "--interval", "200ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["shop/api-2", "shop/web-1"])
    );
    cluster.server.cluster().create_pod("default", "db-1");
    cluster.server.cluster().create_pod("shop", "web-3");
    kreflect
        .wait_for_listing(&strings(&["shop/api-2", "shop/web-1", "shop/web-3"]))
        .await;
    for request in cluster
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/pods"))
    {
        assert_eq!(request.path, "/api/v1/namespaces/shop/pods", "{request:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_in_pages_of_500_following_continue_tokens() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let pods = cluster.server.cluster();
    for i in 0..1203 {
        pods.create_pod(&format!("ns-{}", i % 7), &format!("pod-{i:04}"));
    }
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success(), "stderr: {stderr}");
    let printed: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(printed, pods.keys());

    let lists = cluster.list_requests();
    assert_eq!(lists.len(), 3, "{lists:#?}");
    assert!(
        lists.iter().all(|r| r.param("limit") == Some("500")),
        "{lists:#?}"
    );
    assert_eq!(lists[0].param("continue"), None);
    assert!(lists[1].param("continue").is_some_and(|t| !t.is_empty()));
    assert!(lists[2].param("continue").is_some_and(|t| !t.is_empty()));
    assert_ne!(lists[1].param("continue"), lists[2].param("continue"));
    assert!(
        lists
            .iter()
            .all(|r| r.raw_query.starts_with("limit=") && !r.raw_query.contains("&&")),
        "no stray '&' (kube-core's builders start the query with '?&'): {lists:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_watch_resumes_from_the_last_resource_version_without_relisting() {
    let cluster = TestCluster::with_pods(&["a/one"]).await;
    cluster.server.inject(Fault::WatchCloseAfter(2));
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/one"]));
    cluster
        .wait_for_request("a first watch", |r| r.is_plain_watch())
        .await;
    let pods = cluster.server.cluster();
    pods.create_pod("a", "two");
    let last = pods.create_pod("a", "three");
    cluster
        .wait_for_request("a watch from the last event's resourceVersion", |r| {
            r.is_plain_watch() && r.param("resourceVersion") == Some(&last.to_string())
        })
        .await;
    kreflect
        .wait_for_listing(&strings(&["a/one", "a/three", "a/two"]))
        .await;
    assert_eq!(cluster.list_requests().len(), 1, "resumed without a relist");
    let first_watch = &cluster.watch_requests()[0];
    assert_eq!(first_watch.param("allowWatchBookmarks"), Some("true"));
    let timeout: u32 = first_watch
        .param("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .expect("timeoutSeconds");
    assert!((40..=50).contains(&timeout), "timeoutSeconds={timeout}");
    assert!(
        first_watch
            .raw_query
            .starts_with("watch=true&resourceVersion="),
        "no stray '&': {first_watch:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookmark_advances_the_resource_version_the_next_watch_starts_from() {
    let cluster = TestCluster::with_pods(&["watched/a"]).await;
    let mut kreflect =
        Running::spawn(cluster.kreflect(&["-n", "watched", "--interval", "200ms", "-vv"]));
    assert_eq!(kreflect.next_listing().await, strings(&["watched/a"]));
    cluster
        .wait_for_request("a first watch", |r| r.is_plain_watch())
        .await;
    let pods = cluster.server.cluster();
    // No event in "watched" carries this resourceVersion: only a bookmark can move us to it.
    let elsewhere = pods.create_pod("elsewhere", "b");
    pods.bookmark_now();
    let expected = format!("resource_version={elsewhere}");
    kreflect
        .wait_for_stderr("the bookmark", |line| {
            line.contains("BOOKMARK") && line.contains(&expected)
        })
        .await;
    cluster.server.restart().await;
    cluster
        .wait_for_request("a watch from the bookmark's resourceVersion", |r| {
            r.is_plain_watch() && r.param("resourceVersion") == Some(&elsewhere.to_string())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_leads_to_a_relist_that_drops_pods_deleted_meanwhile() {
    let cluster = TestCluster::with_pods(&["a/kept", "a/doomed"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["a/doomed", "a/kept"])
    );
    cluster
        .wait_for_request("a first watch", |r| r.is_plain_watch())
        .await;
    // The watch is cut and the next one fails, so kreflect is backing off while the pod is
    // deleted; then the server compacts its history, so the watch after that is told 410
    // ("too old resource version") and only a relist can learn of the delete.
    cluster.server.inject(Fault::WatchStatus {
        code: 503,
        reason: "ServiceUnavailable".into(),
        retry_after: None,
    });
    cluster.server.restart().await;
    let pods = cluster.server.cluster();
    pods.delete_pod("a", "doomed").expect("exists");
    pods.create_pod("a", "new");
    pods.compact();
    kreflect
        .wait_for_listing(&strings(&["a/kept", "a/new"]))
        .await;
    assert_eq!(cluster.list_requests().len(), 2, "one relist after 410");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_backoff_not_in_a_hot_loop() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    for _ in 0..2 {
        cluster.server.inject(Fault::ListStatus {
            code: 500,
            reason: "InternalError".into(),
            retry_after: None,
        });
    }
    let started = Instant::now();
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/x"]));
    let elapsed = started.elapsed();
    assert_eq!(
        cluster.list_requests().len(),
        3,
        "two failures, one success"
    );
    // 800ms, then 1.6s at least, before the third attempt.
    assert!(
        elapsed >= Duration::from_millis(2400),
        "retried after {elapsed:?}"
    );
    let stderr = kreflect.stderr_so_far();
    assert!(stderr.contains("WARN"), "a warning on stderr: {stderr}");
    assert!(stderr.contains("InternalError"), "{stderr}");
}

async fn final_listing_and_clean_exit_on(signal: Signal) {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "1h"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/x"]));
    cluster.server.cluster().create_pod("a", "y");
    cluster
        .wait_for_request("a watch", |r| r.is_plain_watch())
        .await;
    let sent = Instant::now();
    kreflect.signal(signal);
    let status = kreflect.wait().await;
    let took = sent.elapsed();
    assert!(status.success(), "{signal}: exit {status:?}");
    assert!(
        took < Duration::from_secs(1),
        "{signal}: exit took {took:?}"
    );
    let rest = kreflect.rest_of_stdout().await;
    assert!(
        rest == "a/x\n\n" || rest == "a/x\na/y\n\n",
        "{signal}: one final listing, got {rest:?}"
    );
    assert_eq!(kreflect.stderr().await, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_prints_a_final_listing_and_exits_zero() {
    final_listing_and_clean_exit_on(Signal::SIGINT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_prints_a_final_listing_and_exits_zero() {
    final_listing_and_clean_exit_on(Signal::SIGTERM).await;
}

/// Runs `kreflect pods ARGS` against a server whose first list trickles (1 byte/s: still in
/// progress when the test is over), sends `signal` once the list has reached the server, and
/// returns the exit code, stdout and stderr.
async fn signalled_during_the_first_list(
    args: &[&str],
    signal: Signal,
) -> (Option<i32>, String, String) {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    cluster.server.inject(Fault::ListTrickle {
        bytes_per_second: 1,
    });
    let mut kreflect = Running::spawn(cluster.kreflect(args));
    cluster
        .wait_for_request("the list", |r| !r.is_watch())
        .await;
    let sent = Instant::now();
    kreflect.signal(signal);
    let status = kreflect.wait().await;
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{signal}: exit took {took:?}"
    );
    let stdout = kreflect.rest_of_stdout().await;
    (status.code(), stdout, kreflect.stderr().await)
}

/// `--once` stopped before its listing: the shell's code for death by `signal`, nothing on
/// stdout (not even the separator), and one line saying so.
async fn once_interrupted_before_its_listing_fails_with(signal: Signal, code: i32) {
    let (exit, stdout, stderr) = signalled_during_the_first_list(&["--once"], signal).await;
    assert_eq!(exit, Some(code), "{signal}: stderr {stderr:?}");
    assert_eq!(stdout, "", "{signal}");
    assert_one_line(&stderr, signal);
    assert_eq!(
        stderr,
        format!("kreflect: interrupted by {signal} before the --once listing was printed\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_interrupted_by_sigterm_before_its_listing_exits_143() {
    once_interrupted_before_its_listing_fails_with(Signal::SIGTERM, 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_interrupted_by_sigint_before_its_listing_exits_130() {
    once_interrupted_before_its_listing_fails_with(Signal::SIGINT, 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_run_signalled_during_its_first_list_still_exits_zero() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let (exit, stdout, stderr) =
            signalled_during_the_first_list(&["--interval", "1h"], signal).await;
        assert_eq!(exit, Some(0), "{signal}: stderr {stderr:?}");
        assert_eq!(stdout, "", "{signal}: nothing synced, nothing printed");
        assert_eq!(stderr, "", "{signal}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_ends_quietly_with_exit_zero() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "100ms"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/x", "a/y"]));
    // What `| head -1` does: read a little, then close the pipe.
    kreflect.close_stdout();
    let status = kreflect.wait().await;
    let stderr = kreflect.stderr().await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stderr, "");
}

/// `kreflect pods | grep -m1 x`: the reader going away is noticed without a write, so a run
/// with nothing more to print (an hour to the next listing, no change to the watched pod) ends
/// within a second of it, as quietly as a write to the closed pipe would have ended it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_ends_the_run_without_a_write() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    for args in [&["--interval", "1h"][..], &["x", "-n", "a", "--events"]] {
        let mut kreflect = Running::spawn(cluster.kreflect(args));
        kreflect.next_line().await;
        let closed = std::time::Instant::now();
        kreflect.close_stdout();
        let status = kreflect.wait().await;
        let stderr = kreflect.stderr().await;
        assert!(
            status.success(),
            "{args:?}: exit {status:?}, stderr: {stderr}"
        );
        assert_eq!(stderr, "", "{args:?}");
        assert!(
            closed.elapsed() < std::time::Duration::from_secs(5),
            "{args:?}: ended {:?} after its reader",
            closed.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_kubeconfig_gives_one_clear_line_and_exit_one() {
    let home = tempfile::tempdir().expect("temp dir");
    let (status, stdout, stderr) =
        run_to_end(kreflect_command(&["pods", "--once"], home.path())).await;
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "no kubeconfig");
    assert!(
        stderr.starts_with("kreflect: no kubeconfig found"),
        "{stderr}"
    );
    assert!(
        stderr.contains(".kube/config"),
        "says where it looked: {stderr}"
    );
    assert!(stderr.contains("--kubeconfig"), "says what to do: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_at_cluster_scope_gives_one_clear_line_and_exit_one() {
    let cluster = TestCluster::start(ServerOptions {
        deny_cluster_scope: true,
        ..ServerOptions::default()
    })
    .await;
    cluster.server.cluster().create_pod("shop", "web-1");
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--interval", "1s"])).await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "forbidden at cluster scope");
    assert!(
        stderr.starts_with("kreflect: not allowed to list pods at cluster scope"),
        "{stderr}"
    );
    assert!(
        stderr.contains("try -n default"),
        "the context's namespace: {stderr}"
    );
    assert_eq!(cluster.list_requests().len(), 1, "not retried");

    let (status, stdout, _) = run_to_end(cluster.kreflect(&["-n", "shop", "--once"])).await;
    assert!(status.success());
    assert_eq!(stdout, "shop/web-1\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_with_once_fails_with_one_line() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let kubeconfig = cluster.kubeconfig_path();
    cluster.server.shutdown().await;
    let home = tempfile::tempdir().expect("temp dir");
    let args = [
        "pods",
        "--once",
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8"),
    ];
    let (status, stdout, stderr) = run_to_end(kreflect_command(&args, home.path())).await;
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "unreachable server with --once");
    assert!(
        stderr.starts_with("kreflect: cannot list pods at cluster scope: cannot reach http://"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_every_applied_event_on_stderr_only() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms", "-v"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/x"]));
    let rv = cluster.server.cluster().create_pod("a", "y");
    kreflect.wait_for_listing(&strings(&["a/x", "a/y"])).await;
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
    let stderr = kreflect.stderr().await;
    let event_line = stderr
        .lines()
        .find(|line| line.contains("got event") && line.contains("a/y"))
        .unwrap_or_else(|| panic!("no event log in {stderr}"));
    assert!(event_line.contains("event=\"ADDED\""), "{event_line}");
    assert!(
        event_line.contains(&format!("resource_version={rv}")),
        "{event_line}"
    );
    assert!(stderr.contains("listed"), "{stderr}");
    assert!(stderr.contains("watch started"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_picks_the_cluster_and_its_namespace_is_not_applied() {
    let cluster = TestCluster::with_pods(&["default/a", "shop/b"]).await;
    let mut kubeconfig: serde_json::Value =
        serde_json::from_str(&cluster.server.kubeconfig()).expect("JSON kubeconfig");
    // A second cluster that does not exist becomes the current context.
    kubeconfig["clusters"]
        .as_array_mut()
        .expect("clusters")
        .push(serde_json::json!({"name": "gone", "cluster": {"server": "http://127.0.0.1:1"}}));
    kubeconfig["contexts"]
        .as_array_mut()
        .expect("contexts")
        .push(serde_json::json!({"name": "gone", "context": {"cluster": "gone", "user": "sim"}}));
    kubeconfig["current-context"] = "gone".into();
    let path = cluster.write_kubeconfig("two-contexts", &kubeconfig.to_string());

    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&path, &["--context", "sim", "--once"])).await;
    assert!(status.success(), "stderr: {stderr}");
    // The "sim" context's namespace is "default", but without -n every namespace is listed.
    assert_eq!(stdout, "default/a\nshop/b\n\n");

    let (status, _, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&path, &["--once"])).await;
    assert_eq!(
        status.code(),
        Some(1),
        "the current context's server is down: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_retried_with_warnings_until_stopped() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let home = tempfile::tempdir().expect("temp dir");
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.server.kubeconfig()).expect("kubeconfig");
    cluster.server.shutdown().await;
    let args = ["pods", "--kubeconfig", kubeconfig.to_str().expect("utf-8")];
    let mut kreflect = Running::spawn(kreflect_command(&args, home.path()));
    kreflect
        .wait_for_stderr_lines("two retry warnings", 2, |line| {
            line.contains("WARN") && line.contains("(context sim): connection refused")
        })
        .await;
    assert!(
        kreflect.child.try_wait().expect("status").is_none(),
        "still running"
    );
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
    assert_eq!(
        kreflect.rest_of_stdout().await,
        "",
        "no listing without a sync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_asks_for_partial_object_metadata_and_reflects_changes() {
    let cluster = TestCluster::with_pods(&["shop/web-1", "default/db-0"]).await;
    let mut kreflect =
        Running::spawn(cluster.kreflect(&["--metadata-only", "--interval", "200ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["default/db-0", "shop/web-1"])
    );
    let pods = cluster.server.cluster();
    pods.create_pod("shop", "web-2");
    pods.delete_pod("default", "db-0").expect("exists");
    kreflect
        .wait_for_listing(&strings(&["shop/web-1", "shop/web-2"]))
        .await;
    let lists = cluster.list_requests();
    let watches = cluster.watch_requests();
    assert_eq!(
        lists[0].accept.as_deref(),
        Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
        "{lists:#?}"
    );
    assert_eq!(
        watches[0].accept.as_deref(),
        Some("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
        "{watches:#?}"
    );
    assert!(
        !kreflect.stderr_so_far().contains("kind"),
        "no event was skipped: {}",
        kreflect.stderr_so_far()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_syncs_from_the_initial_events_and_keeps_watching_on_the_same_stream() {
    // A server that streams lists (v1.32+): a watching run asks for one, unasked.
    let cluster = TestCluster::start(ServerOptions {
        watch_list: WatchListSupport::Supported,
        ..ServerOptions::default()
    })
    .await;
    let pods = cluster.server.cluster();
    pods.create_pod("shop", "web-1");
    pods.create_pod("default", "db-0");
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["default/db-0", "shop/web-1"])
    );
    cluster.server.cluster().create_pod("shop", "web-2");
    kreflect
        .wait_for_listing(&strings(&["default/db-0", "shop/web-1", "shop/web-2"]))
        .await;
    assert_eq!(cluster.list_requests().len(), 0, "no paged list needed");
    assert_eq!(cluster.watch_requests().len(), 0, "no other watch");
    let watches = cluster.streaming_list_requests();
    assert_eq!(
        watches.len(),
        1,
        "the streaming list's watch goes on: {watches:#?}"
    );
    assert_eq!(watches[0].param("sendInitialEvents"), Some("true"));
    assert_eq!(
        watches[0].param("resourceVersionMatch"),
        Some("NotOlderThan")
    );
    assert_eq!(watches[0].param("allowWatchBookmarks"), Some("true"));
}

async fn streaming_list_falls_back_to_the_paged_list(support: WatchListSupport) {
    let cluster = TestCluster::start(ServerOptions {
        watch_list: support,
        bookmark_interval: Duration::from_millis(200),
        ..ServerOptions::default()
    })
    .await;
    let pods = cluster.server.cluster();
    pods.create_pod("shop", "web-1");
    pods.create_pod("default", "db-0");
    // Not --once: it never watches, so it never tries a streaming list. The flag that asked
    // for one before it was the default is accepted, and says it does nothing.
    let mut kreflect = Running::spawn(cluster.kreflect(&["--streaming-list", "-v"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["default/db-0", "shop/web-1"]),
        "{support:?}"
    );
    kreflect.signal(Signal::SIGTERM);
    let status = kreflect.wait().await;
    let stderr = kreflect.stderr().await;
    assert!(
        status.success(),
        "{support:?}: exit {status:?}, stderr: {stderr}"
    );
    assert!(
        stderr.contains("the server cannot stream lists; listing instead"),
        "{support:?}: {stderr}"
    );
    assert!(
        stderr.contains("--streaming-list does nothing: streaming lists are the default"),
        "{support:?}: {stderr}"
    );
    assert_eq!(
        cluster.streaming_list_requests().len(),
        1,
        "{support:?}: asked once, then never again in this run"
    );
    let lists = cluster.list_requests();
    assert_eq!(lists.len(), 1, "{support:?}: one list: {lists:#?}");
    assert_eq!(
        (lists[0].param("resourceVersion"), lists[0].param("limit")),
        (Some("0"), Some("500")),
        "{support:?}: from the watch cache, as client-go asks it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_falls_back_when_the_server_answers_422_like_v1_25() {
    streaming_list_falls_back_to_the_paged_list(WatchListSupport::Refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_falls_back_when_the_server_starts_a_plain_watch() {
    streaming_list_falls_back_to_the_paged_list(WatchListSupport::Ignored).await;
}

/// A cluster whose watches end after a second (so the binary's 40-50 s watches end in
/// moments): pods `kept/k-0..3`, a backup of them, then `gone/g-0..4` created after it.
async fn cluster_before_a_restore() -> (TestCluster, kreflect_sim::Backup) {
    let cluster = TestCluster::start(ServerOptions {
        max_watch_seconds: Some(1),
        ..ServerOptions::default()
    })
    .await;
    let pods = cluster.server.cluster();
    for i in 0..3 {
        pods.create_pod("kept", &format!("k-{i}"));
    }
    let backup = pods.backup();
    for i in 0..4 {
        pods.create_pod("gone", &format!("g-{i}"));
    }
    (cluster, backup)
}

/// Restores `backup` and creates `new/n-0..1` on it: the cluster an etcd restore leaves.
fn restore_and_create_two(cluster: &TestCluster, backup: &kreflect_sim::Backup) {
    let pods = cluster.server.cluster();
    pods.restore(backup);
    pods.create_pod("new", "n-0");
    pods.create_pod("new", "n-1");
}

/// The next `count` lines of stdout, sorted.
async fn next_lines(kreflect: &mut Running, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..count {
        lines.push(kreflect.next_line().await);
    }
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_etcd_restore_the_events_say_what_the_relist_changed() {
    let (cluster, backup) = cluster_before_a_restore().await;
    let mut kreflect =
        Running::spawn(cluster.kreflect(&["--events", "--restore-check-every", "1s"]));
    assert_eq!(next_lines(&mut kreflect, 7).await.len(), 7);
    restore_and_create_two(&cluster, &backup);
    assert_eq!(
        next_lines(&mut kreflect, 6).await,
        strings(&[
            "ADDED new/n-0",
            "ADDED new/n-1",
            "DELETED gone/g-0",
            "DELETED gone/g-1",
            "DELETED gone/g-2",
            "DELETED gone/g-3",
        ])
    );
    kreflect
        .wait_for_stderr("the went-back warning", |stderr| {
            stderr.contains("went back in time")
        })
        .await;
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_periodic_resync_counts_and_fixes_what_the_cache_had_wrong() {
    let (cluster, backup) = cluster_before_a_restore().await;
    // Restore checks off (an hour apart): only the resync can find the drift.
    let mut kreflect = Running::spawn(cluster.kreflect(&[
        "--diff",
        "--interval",
        "200ms",
        "--restore-check-every",
        "1h",
        "--resync-every",
        "3s",
    ]));
    assert_eq!(next_lines(&mut kreflect, 7).await.len(), 7);
    restore_and_create_two(&cluster, &backup);
    assert_eq!(
        next_lines(&mut kreflect, 6).await,
        strings(&[
            "+new/n-0",
            "+new/n-1",
            "-gone/g-0",
            "-gone/g-1",
            "-gone/g-2",
            "-gone/g-3",
        ])
    );
    kreflect
        .wait_for_stderr("the resync's warning with its count", |stderr| {
            stderr.contains("resync: the cache differed") && stderr.contains("differences=6")
        })
        .await;
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}
