//! Several kinds in one run (`kreflect pods,deploy`, `kreflect all`): one listing of every
//! kind's keys, prefixed as `kubectl get -o name` spells the kind, sorted bytewise; the real
//! binary against the fake API server over HTTP.

use kreflect_sim::ServerOptions;
use nix::sys::signal::Signal;
use serde_json::json;

use crate::harness::{ANY_PORT, Running, TestCluster, http_get, listening_addr, once, run_to_end};

async fn cluster_with(options: ServerOptions) -> TestCluster {
    let cluster = TestCluster::start(options).await;
    let server = &cluster.server;
    server.cluster().create_pod("shop", "web-1");
    server.cluster().create_pod("data", "db-0");
    let deployments = server.resource("deployments").expect("deployments");
    deployments.create_object(json!({"metadata": {"name": "d1", "namespace": "shop"}}));
    let services = server.resource("services").expect("services");
    services.create_object(json!({"metadata": {"name": "web", "namespace": "shop"}}));
    let nodes = server.resource("nodes").expect("nodes");
    nodes.create_object(json!({"metadata": {"name": "node-a"}}));
    server
        .resource("widgets")
        .expect("widgets")
        .create_object(json!({"metadata": {"name": "w1", "namespace": "shop"}}));
    cluster
}

async fn cluster() -> TestCluster {
    cluster_with(ServerOptions::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_kinds_make_one_listing_of_prefixed_keys_sorted_bytewise() {
    let cluster = cluster().await;
    assert_eq!(
        once(&cluster, &["pods,deploy,no", "--once"]).await,
        "deployment.apps/shop/d1\nnode/node-a\npod/data/db-0\npod/shop/web-1\n\n"
    );
    assert_eq!(
        once(
            &cluster,
            &["pod/web-1", "widget.example.dev/w1", "-n", "shop", "--once"]
        )
        .await,
        "pod/shop/web-1\nwidget.example.dev/shop/w1\n\n"
    );
    // Two spellings of one kind are one kind: no prefix, today's keys.
    assert_eq!(
        once(&cluster, &["pods,po", "--once"]).await,
        "data/db-0\nshop/web-1\n\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_kind_keeps_todays_keys() {
    let cluster = cluster().await;
    assert_eq!(once(&cluster, &["deploy", "--once"]).await, "shop/d1\n\n");
    assert_eq!(once(&cluster, &["no", "--once"]).await, "node-a\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_is_the_category_discovery_publishes() {
    let cluster = cluster().await;
    assert_eq!(
        once(&cluster, &["all", "-n", "shop", "--once"]).await,
        "deployment.apps/shop/d1\npod/shop/web-1\nservice/shop/web\n\n"
    );
    let paths: Vec<String> = cluster
        .requests()
        .into_iter()
        .filter(|r| !r.is_watch() && r.path.starts_with("/api") && r.path.contains("/namespaces/"))
        .map(|r| r.path)
        .collect();
    assert_eq!(paths.len(), 3, "one list per kind: {paths:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("widgets") || p.contains("nodes"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_diffs_carry_the_prefixes() {
    let cluster = cluster().await;
    let mut events = Running::spawn(cluster.kreflect_any(&["pods,svc", "-n", "shop", "--events"]));
    let mut initial = vec![events.next_line().await, events.next_line().await];
    initial.sort();
    assert_eq!(initial, ["ADDED pod/shop/web-1", "ADDED service/shop/web"]);
    let mut diff = Running::spawn(cluster.kreflect_any(&[
        "pods,svc",
        "-n",
        "shop",
        "--diff",
        "--interval",
        "100ms",
    ]));
    assert_eq!(diff.next_line().await, "+pod/shop/web-1");
    assert_eq!(diff.next_line().await, "+service/shop/web");
    cluster
        .server
        .resource("services")
        .expect("services")
        .delete_object(Some("shop"), "web");
    assert_eq!(events.next_line().await, "DELETED service/shop/web");
    assert_eq!(diff.next_line().await, "-service/shop/web");
    for running in [&mut events, &mut diff] {
        running.signal(Signal::SIGTERM);
        assert!(running.wait().await.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_has_each_kinds_resource_version_and_wide_a_table_per_kind() {
    let cluster = cluster().await;
    let line = once(
        &cluster,
        &["pods,deploy", "-n", "shop", "-o", "json", "--once"],
    )
    .await;
    let listing: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    assert_eq!(
        listing["keys"],
        json!(["deployment.apps/shop/d1", "pod/shop/web-1"])
    );
    assert_eq!(listing["count"], 2);
    assert!(listing.get("resourceVersion").is_none(), "{listing}");
    for kind in ["pod", "deployment.apps"] {
        let version = listing["resourceVersions"][kind]
            .as_str()
            .unwrap_or_default();
        assert!(!version.is_empty(), "{kind}: {listing}");
    }
    let wide = once(
        &cluster,
        &["pods,deploy", "-n", "shop", "-o", "wide", "--once"],
    )
    .await;
    let tables: Vec<&str> = wide.trim_end().split("\n\n").collect();
    assert_eq!(tables.len(), 2, "{wide}");
    // The server's columns; no NAMESPACE within one namespace; each NAME prefixed by its kind,
    // as kubectl writes them with several kinds.
    assert!(
        tables[0].starts_with("NAME ")
            && tables[0].contains("\npod/web-1 ")
            && tables[0].contains("STATUS"),
        "{wide}"
    );
    assert!(
        tables[1].starts_with("NAME ")
            && tables[1].contains("\ndeployment.apps/d1 ")
            && tables[1].contains("UP-TO-DATE"),
        "{wide}"
    );
    assert!(wide.ends_with("\n\n"), "{wide:?}");
    // As with kubectl, a kind without objects has no table; none at all is an empty listing.
    let one_empty = once(
        &cluster,
        &["pods,deploy", "-n", "data", "-o", "wide", "--once"],
    )
    .await;
    assert!(
        one_empty.starts_with("NAME ") && one_empty.contains("\npod/db-0 "),
        "{one_empty}"
    );
    assert_eq!(one_empty.matches("NAME ").count(), 1, "{one_empty}");
    let none = once(
        &cluster,
        &["deploy,svc", "-n", "data", "-o", "wide", "--once"],
    )
    .await;
    assert_eq!(none, "\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_that_is_forbidden_ends_the_run_naming_it() {
    let cluster = cluster_with(ServerOptions {
        role_namespace: Some("shop".to_owned()),
        ..ServerOptions::default()
    })
    .await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_any(&["pods,nodes", "-n", "shop"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not allowed to list nodes"), "{stderr}");
    assert_eq!(stdout, "", "no listing before every kind is synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_each_kind_and_readyz_waits_for_all() {
    let cluster = cluster().await;
    let mut kreflect = Running::spawn(cluster.kreflect_any(&[
        "pods,deploy",
        "--metrics-addr",
        ANY_PORT,
        "--interval",
        "100ms",
    ]));
    let addr = listening_addr(kreflect.child.id()).await;
    assert_eq!(kreflect.next_listing().await.len(), 3);
    let readyz = http_get(&addr, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 200"), "{readyz}");
    let metrics = http_get(&addr, "/metrics").await;
    for line in [
        "kreflect_store_objects{resource=\"pods\"} 2",
        "kreflect_store_objects{resource=\"deployments.apps\"} 1",
        "kreflect_synced{resource=\"pods\"} 1",
        "kreflect_synced{resource=\"deployments.apps\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in {metrics}"
        );
    }
    for family in [
        "kreflect_store_objects",
        "kreflect_build_info",
        "process_start_time_seconds",
    ] {
        let headers = metrics
            .lines()
            .filter(|l| *l == format!("# TYPE {family} gauge"))
            .count();
        assert_eq!(headers, 1, "{family} once: {metrics}");
    }
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}
