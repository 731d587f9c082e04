//! `--wire`: the encoding asked of the server. Both encodings, over HTTP against the fake
//! server (which answers protobuf for its built-in kinds as transcripts 19 and 20 show, and JSON
//! for its custom resource as transcript 21 shows), give the same cache and the same listings.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kreflect::object::Encoding;
use kreflect::source::{SourceOptions, Wire};
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

/// Where two JSON values first differ, as a path with both values.
fn first_difference(path: &str, left: &serde_json::Value, right: &serde_json::Value) -> String {
    use serde_json::Value;
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: std::collections::BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            keys.into_iter()
                .find(|key| l.get(*key) != r.get(*key))
                .map(|key| {
                    let absent = Value::Null;
                    let (l, r) = (l.get(key).unwrap_or(&absent), r.get(key).unwrap_or(&absent));
                    first_difference(&format!("{path}.{key}"), l, r)
                })
                .unwrap_or_default()
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => l
            .iter()
            .zip(r)
            .enumerate()
            .find(|(_, (l, r))| l != r)
            .map(|(i, (l, r))| first_difference(&format!("{path}[{i}]"), l, r))
            .unwrap_or_default(),
        _ => format!("{path}: {left} where {right}"),
    }
}

/// k8s-openapi's `Pod` of every cached object, by key, through `decode_openapi`.
fn openapi_pods(mirror: &Mirror, encoding: Encoding) -> BTreeMap<String, Pod> {
    let objects = mirror.store.objects();
    objects
        .iter()
        .map(|object| {
            assert_eq!(object.encoding(), encoding, "{}", object.key());
            let pod: Pod = object
                .decode_openapi()
                .unwrap_or_else(|err| panic!("{}: {err}", object.key()));
            (object.key().to_string(), pod)
        })
        .collect()
}

/// A library user gets the same k8s-openapi `Pod` from a store filled over protobuf as from
/// one filled over JSON, after churn, for every pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decode_openapi_gives_the_same_pods_over_protobuf_and_json() {
    let server = FakeApiServer::start(ServerOptions::default())
        .await
        .expect("fake server");
    let pods = server.cluster();
    for i in 0..40 {
        pods.create_pod(&format!("ns-{}", i % 3), &format!("p-{i}"));
    }
    let start = |wire| {
        let options = SourceOptions {
            wire,
            ..SourceOptions::default()
        };
        Mirror::start_with(&server, None, fast_config(), options)
    };
    let (json, protobuf) = (start(Wire::Json), start(Wire::Protobuf));
    json.synced().await;
    protobuf.synced().await;
    for i in 0..10 {
        pods.create_pod("late", &format!("n-{i}"));
        pods.update_pod(&format!("ns-{}", i % 3), &format!("p-{i}"))
            .expect("update");
    }
    for mirror in [&json, &protobuf] {
        mirror
            .converged(&pods, Duration::from_secs(15))
            .await
            .expect("converged");
    }
    let from_json = openapi_pods(&json, Encoding::Json);
    let from_protobuf = openapi_pods(&protobuf, Encoding::Protobuf);
    assert_eq!(from_json.len(), 50);
    assert_eq!(
        from_json.keys().collect::<Vec<_>>(),
        from_protobuf.keys().collect::<Vec<_>>()
    );
    for (key, pod) in &from_json {
        let converted = serde_json::to_value(&from_protobuf[key]).expect("json");
        let decoded = serde_json::to_value(pod).expect("json");
        assert!(
            converted == decoded,
            "{key}: converted from protobuf, then decoded from JSON: {}",
            first_difference("", &converted, &decoded)
        );
    }
    json.stop().await.expect("ends cleanly");
    protobuf.stop().await.expect("ends cleanly");
}
