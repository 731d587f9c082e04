//! Half-open connections: the real binary reaches the fake API server through a TCP proxy that
//! freezes its connections (no bytes either way, nothing closed), as a frozen NAT, load
//! balancer or proxy does. The reflector must notice a dead watch within 60 s of the freeze and
//! print the server's truth again within 90 s, with the product's default timeouts.

mod common;

use std::time::{Duration, Instant};

use common::freeze_proxy::FreezeProxy;
use common::{Running, TestCluster, strings};
use kreflect::sim::{Fault, ServerOptions};

/// The budget: a dead watch is noticed within this long of the freeze...
const NOTICE: Duration = Duration::from_secs(60);
/// ...and the cache is right again within this long.
const CONVERGE: Duration = Duration::from_secs(90);

const PODS: &[&str] = &["shop/web-1", "shop/web-2", "default/db-0"];

/// A cluster with [`PODS`], a freezing proxy in front of it, and kreflect running through the
/// proxy, its first listing read.
async fn synced_through_proxy(fault: Option<Fault>) -> (TestCluster, FreezeProxy, Running) {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    for key in PODS {
        let (namespace, name) = key.split_once('/').expect("ns/name");
        cluster.server.cluster().create_pod(namespace, name);
    }
    if let Some(fault) = fault {
        cluster.server.inject(fault);
    }
    let proxy = FreezeProxy::start(cluster.server.addr()).await;
    let proxied = cluster.server.kubeconfig().replace(
        &cluster.server.url(),
        &format!("http://{}", proxy.addr()),
    );
    assert_ne!(proxied, cluster.server.kubeconfig(), "kubeconfig names the proxy");
    let kubeconfig = cluster.write_kubeconfig("through-proxy", &proxied);
    let mut kreflect =
        Running::spawn(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--interval", "500ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["default/db-0", "shop/web-1", "shop/web-2"])
    );
    (cluster, proxy, kreflect)
}

/// Adds and deletes pods while the client's connection is frozen.
fn churn(cluster: &TestCluster) {
    let pods = cluster.server.cluster();
    pods.create_pod("shop", "web-3");
    pods.create_pod("default", "db-1");
    pods.delete_pod("shop", "web-1").expect("web-1 exists");
    pods.delete_pod("default", "db-0").expect("db-0 exists");
}

fn remaining(budget: Duration, since: Instant) -> Duration {
    budget.saturating_sub(since.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_watch_frozen_by_a_proxy_is_declared_dead_within_60s_and_the_cache_converges_within_90s()
 {
    let (cluster, proxy, mut kreflect) = synced_through_proxy(None).await;
    cluster
        .wait_for_request("the watch", |r| r.path.ends_with("/pods") && r.is_watch())
        .await;
    assert!(proxy.freeze() >= 1, "the watch's connection is frozen");
    let frozen = Instant::now();
    churn(&cluster);
    let truth = cluster.server.cluster().keys();

    kreflect
        .wait_for_stderr_lines_within(
            remaining(NOTICE, frozen),
            "a warning that the watch is dead",
            1,
            |line| line.contains("WARN") && line.contains("watch is dead"),
        )
        .await;
    let noticed = frozen.elapsed();
    kreflect
        .wait_for_listing_within(remaining(CONVERGE, frozen), &truth)
        .await;
    eprintln!(
        "half-open watch: noticed after {:.1} s, cache right after {:.1} s",
        noticed.as_secs_f64(),
        frozen.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sent_on_a_frozen_pooled_connection_gives_up_on_it_and_converges_within_90s() {
    // The first watch is refused with Retry-After: its connection goes back to the client's
    // pool, idle, and is frozen there; the retried watch is sent on it and gets no answer.
    let refused = Fault::WatchStatus {
        code: 429,
        reason: "TooManyRequests".into(),
        retry_after: Some(2),
    };
    let (cluster, proxy, mut kreflect) = synced_through_proxy(Some(refused)).await;
    kreflect
        .wait_for_stderr("the refused watch", |line| {
            line.contains("WARN") && line.contains("429")
        })
        .await;
    assert!(proxy.freeze() >= 1, "the pooled connection is frozen");
    let frozen = Instant::now();
    churn(&cluster);
    let truth = cluster.server.cluster().keys();

    kreflect
        .wait_for_stderr_lines_within(
            remaining(NOTICE, frozen),
            "a warning that the watch request got no answer",
            1,
            |line| line.contains("WARN") && line.contains("no response headers"),
        )
        .await;
    let noticed = frozen.elapsed();
    kreflect
        .wait_for_listing_within(remaining(CONVERGE, frozen), &truth)
        .await;
    eprintln!(
        "frozen pooled connection: noticed after {:.1} s, cache right after {:.1} s",
        noticed.as_secs_f64(),
        frozen.elapsed().as_secs_f64()
    );
}
