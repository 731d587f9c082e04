//! `--wire`: the encoding asked of the server. Both encodings, over HTTP against the fake
//! server (which answers protobuf for its built-in kinds as transcripts 19 and 20 show, and JSON
//! for its custom resource as transcript 21 shows), give the same cache and the same listings.

use std::time::Duration;

use kreflect::api::kube_source::{SourceOptions, Wire};
use kreflect::wire::object::Encoding;
use kreflect_sim::{FakeApiServer, Fault, ServerOptions};
use serde_json::json;

use crate::harness::mirror::{Mirror, fast_config};
use crate::harness::{TestCluster, once};

const PROTOBUF_OR_JSON: &str = "application/vnd.kubernetes.protobuf, application/json";

async fn cluster() -> TestCluster {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let server = &cluster.server;
    for i in 0..30 {
        server.cluster().create_pod("shop", &format!("web-{i}"));
    }
    let deployments = server.resource("deployments").expect("deployments");
    deployments.create_object(json!({"metadata": {"name": "d1", "namespace": "shop"}}));
    let nodes = server.resource("nodes").expect("nodes");
    nodes.create_object(json!({"metadata": {"name": "node-a"}}));
    let widgets = server.resource("widgets").expect("widgets");
    widgets.create_object(json!({"metadata": {"name": "w1", "namespace": "shop"}}));
    cluster
}

/// The `Accept` of every list request for `plural`, in order.
fn list_accepts(cluster: &TestCluster, plural: &str) -> Vec<String> {
    cluster
        .server
        .requests()
        .into_iter()
        .filter(|request| !request.is_watch() && request.path.ends_with(plural))
        .map(|request| request.accept.unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wire_gives_the_same_listing_and_asks_as_client_go() {
    let cluster = cluster().await;
    let resources = "pods,deployments.apps,nodes,widgets.example.dev";
    let json = once(&cluster, &[resources, "--once", "--wire", "json"]).await;
    assert_eq!(json.lines().count(), 34, "{json}");
    for wire in ["auto", "protobuf"] {
        let listing = once(&cluster, &[resources, "--once", "--wire", wire]).await;
        assert_eq!(listing, json, "--wire {wire}");
    }
    assert_eq!(
        once(&cluster, &["pods", "--once"]).await.lines().count(),
        31,
        "auto is the default"
    );
    // JSON, auto, protobuf, then the default (auto): custom resources get protobuf only when
    // it is asked for every kind, and answer JSON (transcript 21).
    assert_eq!(
        list_accepts(&cluster, "/pods"),
        [
            "application/json",
            PROTOBUF_OR_JSON,
            PROTOBUF_OR_JSON,
            PROTOBUF_OR_JSON
        ]
    );
    assert_eq!(
        list_accepts(&cluster, "/deployments"),
        ["application/json", PROTOBUF_OR_JSON, PROTOBUF_OR_JSON]
    );
    assert_eq!(
        list_accepts(&cluster, "/widgets"),
        ["application/json", "application/json", PROTOBUF_OR_JSON]
    );
}

/// Pods listed and watched in either encoding, through churn and broken watches, converge to
/// the server's truth, each object held in the encoding it came in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_encodings_converge_through_churn_and_broken_watches() {
    for (wire, encoding) in [
        (Wire::Json, Encoding::Json),
        (Wire::Protobuf, Encoding::Protobuf),
    ] {
        let server = FakeApiServer::start(ServerOptions::default())
            .await
            .expect("fake server");
        let pods = server.cluster();
        for i in 0..700 {
            pods.create_pod(&format!("ns-{}", i % 7), &format!("p-{i}"));
        }
        server.inject(Fault::WatchResetAfter(3));
        server.inject(Fault::WatchExpiredAfter(2));
        let options = SourceOptions {
            wire,
            ..SourceOptions::default()
        };
        let mirror = Mirror::start_with(&server, None, fast_config(), options);
        mirror.synced().await;
        for i in 0..50 {
            pods.create_pod("late", &format!("n-{i}"));
            let updated = i + 100;
            pods.update_pod(&format!("ns-{}", updated % 7), &format!("p-{updated}"))
                .expect("update");
            pods.delete_pod(&format!("ns-{}", (i + 1) % 7), &format!("p-{}", i + 1))
                .expect("delete");
        }
        mirror
            .converged(&pods, Duration::from_secs(15))
            .await
            .unwrap_or_else(|diff| panic!("{wire:?}: {diff}"));
        let objects = mirror.store.objects();
        assert!(
            objects.iter().all(|object| object.encoding() == encoding),
            "{wire:?}: every object held as {encoding:?}"
        );
        mirror.stop().await.expect("ends cleanly");
    }
}
