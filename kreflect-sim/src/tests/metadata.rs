//! `PartialObjectMetadata` lists and watches (transcripts 07/08).

use super::*;

const METADATA_LIST_ACCEPT: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA_ACCEPT: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

#[tokio::test]
async fn metadata_only_lists_and_watches_serve_partial_object_metadata() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod("shop", "a");
    let list = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?limit=10",
        &[("Accept", METADATA_LIST_ACCEPT)],
    )
    .await
    .json()
    .await;
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(names(&list), vec!["shop/a"]);
    let item = &list["items"][0];
    assert_eq!(item["kind"], "PartialObjectMetadata");
    assert!(
        item.get("spec").is_none() && item.get("status").is_none(),
        "{item}"
    );
    assert!(item["metadata"]["labels"].is_object());

    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut watch = request(
        &server,
        "GET",
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1"),
        &[("Accept", METADATA_ACCEPT)],
    )
    .await;
    cluster.update_pod("shop", "a").unwrap();
    let event = watch.event().await.expect("an event");
    assert_eq!(event["type"], "MODIFIED");
    assert_eq!(event["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(event["object"]["metadata"]["name"], "a");
    assert!(event["object"].get("spec").is_none());
    assert_eq!(
        server.requests()[1].accept.as_deref(),
        Some(METADATA_ACCEPT)
    );
    server.shutdown().await;
}
