//! A watching run starts from the server's watch cache, as client-go's reflector does, and its
//! watch brings a cache that is behind to the present; `--once` and the relists that cannot
//! trust the cache read etcd. The fake server's watch cache is held behind its "etcd" here
//! (`World::hold_watch_cache`), as a real one is for moments.

use std::time::Duration;

use kreflect_sim::{BadPayload, Fault, ServerOptions};

use crate::harness::{Running, TestCluster, run_to_end, strings};

/// Pods `a/kept` and `a/doomed`, the watch cache held there, then `a/doomed` deleted and
/// `a/new` created: the cache lags etcd by two changes. Watches end after a second.
async fn cluster_with_a_cache_behind() -> (TestCluster, u64) {
    let options = ServerOptions {
        max_watch_seconds: Some(1),
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start_with_pods(options, &["a/kept", "a/doomed"]).await;
    let pods = cluster.server.cluster();
    pods.hold_watch_cache();
    let held_at = pods.resource_version();
    pods.delete_pod("a", "doomed");
    pods.create_pod("a", "new");
    (cluster, held_at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_run_lists_the_watch_cache_and_its_watch_brings_the_listing_to_the_present() {
    let (cluster, held_at) = cluster_with_a_cache_behind().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    let first = kreflect.next_listing().await;
    assert!(
        first == strings(&["a/doomed", "a/kept"]) || first == strings(&["a/kept", "a/new"]),
        "the cache's state, or the present once the watch has replayed: {first:?}"
    );
    kreflect
        .wait_for_listing(&strings(&["a/kept", "a/new"]))
        .await;
    let lists = cluster.list_requests();
    assert_eq!(lists.len(), 1, "{lists:#?}");
    assert_eq!(
        (lists[0].param("resourceVersion"), lists[0].param("limit")),
        (Some("0"), Some("500"))
    );
    let held_at = held_at.to_string();
    assert_eq!(
        cluster.watch_requests()[0].param("resourceVersion"),
        Some(held_at.as_str()),
        "the watch starts where the cache's state was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_reads_etcd_and_prints_the_present_whatever_the_cache_holds() {
    let (cluster, _) = cluster_with_a_cache_behind().await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "a/kept\na/new\n\n");
    let lists = cluster.list_requests();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].param("resourceVersion"), None, "a consistent read");
    assert_eq!(lists[0].param("limit"), Some("500"));
}

/// After a garbled watch line, the relist asks the cache for a state not older than the last
/// resourceVersion seen; the held cache has not reached it (504 "Too large resource
/// version"), so the relist reads etcd at once, and the listing stays the present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relist_the_cache_cannot_serve_is_read_from_etcd_at_once() {
    let (cluster, held_at) = cluster_with_a_cache_behind().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms", "-v"]));
    kreflect
        .wait_for_listing(&strings(&["a/kept", "a/new"]))
        .await;
    cluster
        .server
        .inject(Fault::WatchBadPayload(BadPayload::MalformedJson));
    let pods = cluster.server.cluster();
    let at = pods.resource_version();
    cluster
        .wait_for_request("the consistent relist", |request| {
            !request.is_watch() && request.param("resourceVersion").is_none()
        })
        .await;
    pods.create_pod("a", "later");
    kreflect
        .wait_for_listing(&strings(&["a/kept", "a/later", "a/new"]))
        .await;
    let lists = cluster.list_requests();
    let asked: Vec<(Option<&str>, Option<&str>, Option<&str>)> = lists
        .iter()
        .map(|list| {
            (
                list.param("resourceVersion"),
                list.param("resourceVersionMatch"),
                list.param("limit"),
            )
        })
        .collect();
    let at = at.to_string();
    assert_eq!(
        asked,
        [
            (Some("0"), None, Some("500")),
            (Some(at.as_str()), Some("NotOlderThan"), None),
            (None, None, Some("500")),
        ],
        "the cache held at {held_at}"
    );
    assert!(
        kreflect
            .stderr_so_far()
            .contains("cannot list from its watch cache at that resourceVersion"),
        "{}",
        kreflect.stderr_so_far()
    );
}

/// After a 410 the history is gone, and the cache cannot be trusted to have what followed:
/// the relist reads etcd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relist_after_a_410_reads_etcd() {
    let (cluster, _) = cluster_with_a_cache_behind().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    kreflect
        .wait_for_listing(&strings(&["a/kept", "a/new"]))
        .await;
    cluster.server.inject(Fault::WatchGoneHttp);
    cluster
        .wait_for_request("the relist", |request| {
            !request.is_watch() && request.param("resourceVersion").is_none()
        })
        .await;
    kreflect
        .wait_for_listing(&strings(&["a/kept", "a/new"]))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lists = cluster.list_requests();
    assert_eq!(lists.len(), 2, "{lists:#?}");
    assert_eq!(lists[1].param("resourceVersion"), None);
}
