//! The protobuf answers over HTTP, decoded with k8s-pb's prost types as a client-go reader
//! would: list pages, watch frames, bookmarks, errors, and what stays JSON.

use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;

use super::*;

/// What client-go sends for built-in kinds (transcripts 19-21).
const CLIENT_GO: (&str, &str) = (
    "Accept",
    "application/vnd.kubernetes.protobuf, application/json",
);

/// The `runtime.Unknown` after the `k8s\0` magic.
fn unwrap(enveloped: &[u8]) -> Unknown {
    assert_eq!(&enveloped[..4], b"k8s\0", "magic: {:?}", &enveloped[..4]);
    Unknown::decode(&enveloped[4..]).expect("runtime.Unknown")
}

/// The kind in an envelope and its message.
fn kind_and_raw(enveloped: &[u8]) -> (String, Vec<u8>) {
    let unknown = unwrap(enveloped);
    let kind = unknown.type_meta.and_then(|t| t.kind).unwrap_or_default();
    (kind, unknown.raw.unwrap_or_default())
}

fn pod_list(body: &[u8]) -> core::PodList {
    let (kind, raw) = kind_and_raw(body);
    assert_eq!(kind, "PodList");
    core::PodList::decode(&raw[..]).expect("PodList")
}

fn status(enveloped: &[u8]) -> meta::Status {
    let (kind, raw) = kind_and_raw(enveloped);
    assert_eq!(kind, "Status");
    meta::Status::decode(&raw[..]).expect("Status")
}

/// `namespace/name` of each item, as [`names`] gives them from JSON.
fn pod_names(list: &core::PodList) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|pod| {
            let metadata = pod.metadata.as_ref()?;
            Some(format!(
                "{}/{}",
                metadata.namespace.as_deref()?,
                metadata.name.as_deref()?
            ))
        })
        .collect()
}

impl Reply {
    /// The next watch frame: a 4-byte big-endian length, then a `WatchEvent`.
    async fn frame(&mut self) -> Option<meta::WatchEvent> {
        loop {
            if self.data.len() >= 4 {
                let len =
                    u32::from_be_bytes([self.data[0], self.data[1], self.data[2], self.data[3]]);
                let len = len as usize;
                if self.data.len() >= 4 + len {
                    let frame: Vec<u8> = self.data.drain(..4 + len).collect();
                    return Some(meta::WatchEvent::decode(&frame[4..]).expect("WatchEvent"));
                }
            }
            if self.done {
                assert!(self.data.is_empty(), "a cut frame: {:?}", self.data);
                return None;
            }
            self.read_more().await;
        }
    }
}

/// An event's type and its object's envelope.
fn event_parts(event: meta::WatchEvent) -> (String, Vec<u8>) {
    let raw = event.object.and_then(|o| o.raw).expect("object");
    (event.r#type.unwrap_or_default(), raw)
}

fn pod_of(enveloped: &[u8]) -> core::Pod {
    let (kind, raw) = kind_and_raw(enveloped);
    assert_eq!(kind, "Pod");
    core::Pod::decode(&raw[..]).expect("Pod")
}

#[tokio::test]
async fn a_paged_list_in_protobuf_has_the_items_and_continue_token_of_the_json_one() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 5);
    let target = "/api/v1/namespaces/shop/pods?limit=2";
    let json = get(&server, target).await.json().await;

    let sent = server.body_bytes_sent();
    let mut first = request(&server, "GET", target, &[CLIENT_GO]).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    let body = first.body().await;
    assert_eq!(
        server.body_bytes_sent() - sent,
        body.len() as u64,
        "the meter counts protobuf"
    );
    let page = pod_list(&body);
    assert_eq!(pod_names(&page), names(&json));
    let list_meta = page.metadata.clone().expect("metadata");
    assert_eq!(
        list_meta.r#continue.as_deref(),
        json["metadata"]["continue"].as_str()
    );
    assert_eq!(list_meta.remaining_item_count, Some(3));
    assert_eq!(
        list_meta.resource_version.as_deref(),
        json["metadata"]["resourceVersion"].as_str()
    );
    let pod = &json["items"][0];
    let decoded = page.items[0].metadata.clone().expect("metadata");
    assert_eq!(decoded.uid.as_deref(), pod["metadata"]["uid"].as_str());
    assert_eq!(
        decoded.resource_version.as_deref(),
        pod["metadata"]["resourceVersion"].as_str()
    );
    assert_eq!(
        decoded.annotations.len(),
        pod["metadata"]["annotations"]
            .as_object()
            .map_or(0, |a| a.len())
    );

    let token = list_meta.r#continue.unwrap_or_default();
    let rest = format!("{target}&continue={token}");
    let last = pod_list(
        &request(&server, "GET", &rest, &[CLIENT_GO])
            .await
            .body()
            .await,
    );
    assert_eq!(last.items.len(), 2);
    let last_meta = last.metadata.expect("metadata");
    assert_eq!(
        last_meta.resource_version, list_meta.resource_version,
        "one snapshot"
    );
    let everything = pod_list(
        &request(&server, "GET", "/api/v1/namespaces/shop/pods", &[CLIENT_GO])
            .await
            .body()
            .await,
    );
    assert_eq!(
        everything.metadata.and_then(|m| m.r#continue).as_deref(),
        Some("")
    );
    assert_eq!(everything.items.len(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn a_protobuf_watch_sends_frames_then_bookmarks_like_transcript_20() {
    let server = server().await;
    let cluster = server.cluster();
    let start = cluster.create_pod("shop", "a");
    let mut watch = request(
        &server,
        "GET",
        &format!(
            "/api/v1/namespaces/shop/pods?watch=1&resourceVersion={start}&allowWatchBookmarks=true&timeoutSeconds=3"
        ),
        &[CLIENT_GO],
    )
    .await;
    assert_eq!(watch.status, 200);
    assert_eq!(
        watch.header("content-type"),
        Some("application/vnd.kubernetes.protobuf;stream=watch")
    );
    let added = cluster.create_pod("shop", "b");
    cluster.update_pod("shop", "b");
    let deleted = cluster.delete_pod("shop", "b").expect("deleted");
    // Periodic bookmarks (every 100 ms) may come between the events on a busy machine.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (event_type, object) = event_parts(watch.frame().await.expect("event"));
        let metadata = pod_of(&object).metadata.expect("metadata");
        if event_type != "BOOKMARK" {
            seen.push((
                event_type,
                metadata.name.unwrap_or_default(),
                metadata.resource_version,
            ));
        }
    }
    assert_eq!(
        seen[0],
        ("ADDED".to_owned(), "b".to_owned(), Some(added.to_string()))
    );
    assert_eq!(seen[1].0, "MODIFIED");
    assert_eq!(
        seen[2],
        (
            "DELETED".to_owned(),
            "b".to_owned(),
            Some(deleted.to_string())
        )
    );
    let (event_type, object) = event_parts(watch.frame().await.expect("bookmark"));
    assert_eq!(event_type, "BOOKMARK");
    let bookmark = pod_of(&object).metadata.expect("metadata");
    assert_eq!(bookmark.resource_version, Some(deleted.to_string()));
    assert_eq!(bookmark.name, None, "only the resourceVersion");
    server.shutdown().await;
}

#[tokio::test]
async fn a_too_old_watch_and_a_bad_request_answer_protobuf_statuses() {
    let server = server().await;
    let cluster = server.cluster();
    let old = cluster.create_pod("shop", "a");
    cluster.create_pod("shop", "b");
    cluster.compact();
    let target = format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={old}");
    let mut watch = request(&server, "GET", &target, &[CLIENT_GO]).await;
    assert_eq!(watch.status, 200);
    let (event_type, object) = event_parts(watch.frame().await.expect("error"));
    assert_eq!(event_type, "ERROR");
    let expired = status(&object);
    assert_eq!(
        (expired.code, expired.reason.as_deref()),
        (Some(410), Some("Expired"))
    );
    assert!(watch.frame().await.is_none());
    assert!(watch.complete);

    let bad = "/api/v1/namespaces/shop/pods?labelSelector=a%20b";
    let mut refused = request(&server, "GET", bad, &[CLIENT_GO]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    let refusal = status(&refused.body().await);
    assert_eq!(refusal.code, Some(400));
    assert_eq!(refusal.reason.as_deref(), Some("BadRequest"));
    assert_eq!(refusal.status.as_deref(), Some("Failure"));
    server.shutdown().await;
}

#[tokio::test]
async fn custom_resources_tables_and_json_clients_get_json() {
    let server = server().await;
    let widgets = server.resource("widgets").expect("widgets");
    widgets.create_object(serde_json::json!({"metadata": {"name": "w1", "namespace": "shop"}}));
    let target = "/apis/example.dev/v1/namespaces/shop/widgets";
    let mut fallback = request(&server, "GET", target, &[CLIENT_GO]).await;
    assert_eq!(fallback.status, 200);
    assert_eq!(
        fallback.header("content-type"),
        Some("application/json"),
        "transcript 21"
    );
    assert_eq!(names(&fallback.json().await), ["shop/w1"]);

    let only = [("Accept", "application/vnd.kubernetes.protobuf")];
    let mut refused = request(&server, "GET", target, &only).await;
    assert_eq!(refused.status, 406);
    let refusal = refused.json().await;
    assert_eq!(refusal["reason"], "NotAcceptable");
    assert_eq!(refusal["code"], 406);

    server.cluster().create_pod("shop", "a");
    let table = (
        "Accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io, application/vnd.kubernetes.protobuf, application/json",
    );
    let mut tabled = request(&server, "GET", "/api/v1/namespaces/shop/pods", &[table]).await;
    assert_eq!(tabled.header("content-type"), Some("application/json"));
    assert_eq!(tabled.json().await["kind"], "Table");
    let mut plain = get(&server, "/api/v1/namespaces/shop/pods").await;
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(names(&plain.json().await), ["shop/a"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_large_protobuf_list_is_gzipped_as_json_would_be() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 200);
    let target = "/api/v1/namespaces/shop/pods";
    let mut plain = request(&server, "GET", target, &[CLIENT_GO]).await;
    let plain_body = plain.body().await;
    assert!(plain_body.len() > 128 * 1024, "{} bytes", plain_body.len());
    let json_len = get(&server, target).await.body().await.len();
    assert!(
        plain_body.len() * 10 < json_len * 6,
        "protobuf {} bytes, JSON {json_len}",
        plain_body.len()
    );

    let sent = server.body_bytes_sent();
    let mut gzipped = request(
        &server,
        "GET",
        target,
        &[CLIENT_GO, ("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(
        gzipped.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    let wire = gzipped.body().await;
    assert_eq!(server.body_bytes_sent() - sent, wire.len() as u64);
    assert_eq!(gunzip(&wire).expect("valid gzip"), plain_body);
    assert_eq!(pod_list(&plain_body).items.len(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_streaming_list_in_protobuf_sends_the_objects_then_the_initial_events_end_bookmark() {
    let server = streaming_server().await;
    populate(&server.cluster(), &["shop".to_owned()], 3);
    let json_names = names(
        &get(&server, "/api/v1/namespaces/shop/pods")
            .await
            .json()
            .await,
    );
    let target = format!("/api/v1/namespaces/shop/pods?{STREAMING}");
    let mut watch = request(&server, "GET", &target, &[CLIENT_GO]).await;
    let mut added = Vec::new();
    for _ in 0..3 {
        let (event_type, object) = event_parts(watch.frame().await.expect("ADDED"));
        assert_eq!(event_type, "ADDED");
        let metadata = pod_of(&object).metadata.expect("metadata");
        added.push(format!(
            "{}/{}",
            metadata.namespace.unwrap_or_default(),
            metadata.name.unwrap_or_default()
        ));
    }
    assert_eq!(added, json_names);
    let (event_type, object) = event_parts(watch.frame().await.expect("bookmark"));
    assert_eq!(event_type, "BOOKMARK");
    let end = pod_of(&object).metadata.expect("metadata");
    assert_eq!(
        end.annotations
            .get("k8s.io/initial-events-end")
            .map(String::as_str),
        Some("true")
    );
    server.shutdown().await;
}
