//! Every fault the fake API server can inject, each followed by churn: the reflector's cache
//! must end equal to the server's truth, object by object, deletes included.

use std::time::{Duration, Instant};

use kreflect::cache::reflector::ReflectorConfig;
use kreflect_sim::{BadPayload, FakeApiServer, Fault, ServerOptions};

use crate::harness::mirror::{Mirror, fast_config};
use crate::harness::{Running, TestCluster, strings};

const CONVERGE: Duration = Duration::from_secs(15);

async fn server_with_pods() -> FakeApiServer {
    let server = FakeApiServer::start(ServerOptions::default())
        .await
        .expect("fake server");
    let pods = server.cluster();
    for i in 0..4 {
        pods.create_pod("alpha", &format!("a-{i}"));
        pods.create_pod("beta", &format!("b-{i}"));
    }
    server
}

/// Adds, updates and deletes, in both namespaces.
fn churn(server: &FakeApiServer) {
    let pods = server.cluster();
    pods.create_pod("alpha", "new-1");
    pods.update_pod("alpha", "a-0").expect("a-0");
    pods.delete_pod("alpha", "a-1").expect("a-1");
    pods.create_pod("beta", "new-2");
    pods.update_pod("beta", "b-0").expect("b-0");
    pods.delete_pod("beta", "b-1").expect("b-1");
    pods.update_pod("alpha", "new-1").expect("new-1");
}

/// Injects `fault` before the reflector starts (so it hits the first request of its kind),
/// churns after the initial sync, and requires the cache to converge.
async fn converges_after(fault: Fault) -> FakeApiServer {
    let server = server_with_pods().await;
    server.inject(fault.clone());
    let mirror = Mirror::start(&server, None, fast_config());
    mirror.synced().await;
    churn(&server);
    if let Err(diff) = mirror.converged(&server.cluster(), CONVERGE).await {
        panic!("after {fault:?}: {diff}");
    }
    mirror.stop().await.expect("reflector ends cleanly");
    server
}

fn watches(server: &FakeApiServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.is_plain_watch())
        .count()
}

fn lists(server: &FakeApiServer) -> Vec<kreflect_sim::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/pods") && !r.is_watch())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_closed_cleanly_after_some_events() {
    let server = converges_after(Fault::WatchCloseAfter(2)).await;
    assert!(watches(&server) >= 2);
    assert_eq!(lists(&server).len(), 1, "resumed, no relist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_cut_mid_line() {
    let server = converges_after(Fault::WatchResetAfter(2)).await;
    assert!(watches(&server) >= 2);
    assert_eq!(lists(&server).len(), 1, "resumed, no relist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_at_watch_start() {
    let server = converges_after(Fault::WatchGoneHttp).await;
    assert_eq!(lists(&server).len(), 2, "relisted after 410");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_error_event_mid_stream() {
    let server = converges_after(Fault::WatchExpiredAfter(2)).await;
    assert_eq!(lists(&server).len(), 2, "relisted after the ERROR event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_list_and_watch() {
    for code in [500, 503] {
        converges_after(Fault::ListStatus {
            code,
            reason: "InternalError".into(),
            retry_after: None,
        })
        .await;
        converges_after(Fault::WatchStatus {
            code,
            reason: "ServiceUnavailable".into(),
            retry_after: None,
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_honours_retry_after() {
    let started = Instant::now();
    let server = converges_after(Fault::ListStatus {
        code: 429,
        reason: "TooManyRequests".into(),
        retry_after: Some(1),
    })
    .await;
    assert_eq!(lists(&server).len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before Retry-After: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_watch_is_detected_and_reopened() {
    let server = converges_after(Fault::WatchStall).await;
    assert!(watches(&server) >= 2, "the stalled watch was replaced");
    assert_eq!(lists(&server).len(), 1, "resumed from history, no relist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_watch_one_byte_at_a_time() {
    converges_after(Fault::WatchTrickle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_token_expiring_between_pages_restarts_the_list_unpaged() {
    let server = server_with_pods().await;
    server.inject(Fault::ExpireContinue);
    // A consistent list in pages: the watch cache answers in one response.
    let config = kreflect::cache::reflector::ReflectorConfig {
        page_size: 3,
        watch_cache_lists: false,
        ..fast_config()
    };
    let mirror = Mirror::start(&server, None, config);
    mirror.synced().await;
    churn(&server);
    mirror
        .converged(&server.cluster(), CONVERGE)
        .await
        .expect("converged");
    let lists = lists(&server);
    assert_eq!(lists.len(), 3, "{lists:#?}");
    assert_eq!(lists[0].param("limit"), Some("3"));
    assert!(lists[1].param("continue").is_some());
    assert_eq!(lists[2].param("limit"), None, "restarted without pages");
    assert_eq!(lists[2].param("continue"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_history_gone_and_objects_changed_while_away() {
    let server = server_with_pods().await;
    let mirror = Mirror::start(&server, None, fast_config());
    mirror.synced().await;
    // Keep the client away (its next watch fails) while the restarted server changes.
    server.inject(Fault::WatchStatus {
        code: 503,
        reason: "ServiceUnavailable".into(),
        retry_after: Some(1),
    });
    server.restart().await;
    churn(&server);
    server.cluster().compact();
    mirror
        .converged(&server.cluster(), CONVERGE)
        .await
        .expect("converged after restart");
    assert_eq!(
        lists(&server).len(),
        2,
        "relisted once the history was gone"
    );
    mirror.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_lines_are_answered_with_a_relist() {
    for bad in [BadPayload::MalformedJson, BadPayload::InvalidUtf8] {
        let server = converges_after(Fault::WatchBadPayload(bad)).await;
        assert_eq!(lists(&server).len(), 2, "{bad:?}: relisted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unappliable_events_are_skipped() {
    for bad in [
        BadPayload::UnknownEventType,
        BadPayload::WrongKind,
        BadPayload::MissingName,
    ] {
        let server = converges_after(Fault::WatchBadPayload(bad)).await;
        assert_eq!(lists(&server).len(), 1, "{bad:?}: skipped without a relist");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_object_is_cached_whole() {
    let server = server_with_pods().await;
    let mirror = Mirror::start(&server, None, fast_config());
    mirror.synced().await;
    // A real object of the cluster (not a line made up by a fault), so the cache can be
    // compared with the server: it arrives as one 10 MB watch line, then changes.
    let mut pod = kreflect_sim::realistic_pod("default", "huge", 0);
    pod["metadata"]["annotations"]["filler"] = "x".repeat(10 * 1024 * 1024).into();
    let pods = server.cluster();
    pods.create_pod_with(pod);
    pods.update_pod("default", "huge").expect("huge");
    mirror
        .converged(&pods, CONVERGE)
        .await
        .expect("the 10 MB object is cached like any other");
    let huge = kreflect::wire::object::ObjectKey::new(Some("default"), "huge");
    let object = mirror.store.get(&huge).expect("cached");
    assert!(object.bytes().len() > 10_000_000);
    // Pods come as protobuf (--wire auto): typed access is k8s-pb's Pod.
    assert_eq!(
        object.encoding(),
        kreflect::wire::object::Encoding::Protobuf
    );
    let pod: k8s_pb::api::core::v1::Pod = object.decode_protobuf().expect("decodes as a Pod");
    let metadata = pod.metadata.expect("metadata");
    assert_eq!(metadata.name.as_deref(), Some("huge"));
    assert_eq!(
        lists(&server).len(),
        1,
        "the big line was applied from the watch, not recovered by a relist"
    );
    mirror.stop().await.expect("clean stop");
}

/// The binary logs a bad line as a warning naming its byte offset, and keeps going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_logged_with_their_offset() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    cluster
        .server
        .inject(Fault::WatchBadPayload(BadPayload::MissingName));
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "100ms"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/x"]));
    cluster.server.cluster().create_pod("a", "y");
    kreflect.wait_for_listing(&strings(&["a/x", "a/y"])).await;
    kreflect
        .wait_for_stderr("a warning with the offset", |line| {
            line.contains("WARN") && line.contains("offset=0") && line.contains("metadata.name")
        })
        .await;
}

/// An etcd snapshot restored under the server: lists answer an older resourceVersion with other
/// objects, and a watch from the cache's (newer) resourceVersion is answered with silence
/// (transcript 33). The cache must notice on its own and relist: the 40 pods deleted back then
/// gone, the 5 created since the restore there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etcd_restore_under_the_server_is_noticed_and_relisted() {
    let server = FakeApiServer::start(ServerOptions::default())
        .await
        .expect("fake server");
    let pods = server.cluster();
    for i in 0..10 {
        pods.create_pod("kept", &format!("k-{i}"));
    }
    let snapshot = pods.backup();
    for i in 0..40 {
        pods.create_pod("gone", &format!("g-{i}"));
    }
    let config = ReflectorConfig {
        restore_check_interval: Duration::from_millis(500),
        ..fast_config()
    };
    let mirror = Mirror::start(&server, None, config);
    mirror.synced().await;
    assert_eq!(mirror.store.object_count(), 50);
    pods.restore(&snapshot);
    for i in 0..5 {
        pods.create_pod("new", &format!("n-{i}"));
    }
    assert!(pods.resource_version() < snapshot.resource_version() + 40);
    if let Err(diff) = mirror.converged(&pods, CONVERGE).await {
        panic!("after an etcd restore: {diff}");
    }
    assert_eq!(mirror.store.object_count(), 15);
    let probes = lists(&server)
        .iter()
        .filter(|list| list.param("limit") == Some("1"))
        .count();
    assert!(probes >= 1, "the restore was found by a limit=1 list");
    mirror.stop().await.expect("clean stop");
}

/// A BOOKMARK whose resourceVersion is not an integer (`zzz`): a v1.26 server answers a watch
/// from it with 500 for ever, so it must not become the resume point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookmark_with_a_resource_version_that_is_not_an_integer_is_not_resumed_from() {
    let bookmark = r#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"zzz"}}}"#;
    let server = converges_after(Fault::WatchLinesThenClose(vec![bookmark.to_owned()])).await;
    let from_zzz = server
        .requests()
        .iter()
        .filter(|request| {
            request.is_plain_watch() && request.param("resourceVersion") == Some("zzz")
        })
        .count();
    assert_eq!(from_zzz, 0, "never watched from the bookmark's value");
}
