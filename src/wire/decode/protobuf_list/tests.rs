use prost::Message as _;

use super::*;

const PROTOBUF_LIST: &[u8] = include_bytes!("../../../../tests/fixtures/19-list-protobuf.bin");

use crate::wire::test_support::enveloped;

/// A `PodList` body of `count` pods `ns/p-N` with a few KB of annotation each, its last item
/// unkeyable (no name), at resourceVersion 77, with a continue token.
fn pod_list(count: usize) -> Vec<u8> {
    use k8s_pb::api::core::v1::{Pod, PodList};
    use k8s_pb::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
    let pod = |name: Option<String>| Pod {
        metadata: Some(ObjectMeta {
            name,
            namespace: Some("ns".to_owned()),
            resource_version: Some("5".to_owned()),
            annotations: [("filler".to_owned(), "x".repeat(3000))].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut items: Vec<Pod> = (0..count).map(|i| pod(Some(format!("p-{i}")))).collect();
    items.push(pod(None));
    let list = PodList {
        metadata: Some(ListMeta {
            resource_version: Some("77".to_owned()),
            r#continue: Some("token".to_owned()),
            ..Default::default()
        }),
        items,
    };
    enveloped("PodList", list.encode_to_vec())
}

/// `body` pushed in pieces of `piece` bytes.
fn read_in_pieces(body: &[u8], piece: usize) -> Result<ListPage, DecodeError> {
    let mut reader = ProtobufListReader::new("Pod");
    for chunk in body.chunks(piece) {
        reader.push(chunk)?;
    }
    reader.finish()
}

/// What a page says, for comparing two readings.
fn summary(page: &ListPage) -> (Vec<String>, usize, String, Option<String>) {
    (
        page.items.iter().map(|o| o.key().to_string()).collect(),
        page.rejected.len(),
        page.resource_version.clone(),
        page.continue_token.clone(),
    )
}

#[test]
fn reads_in_pieces_of_any_size_what_the_whole_body_reader_reads() {
    for body in [PROTOBUF_LIST.to_vec(), pod_list(200)] {
        let whole = summary(&decode_protobuf_list(&body, "Pod").expect("whole"));
        for piece in [1, 2, 3, 7, 64, 4096, 100_000, body.len()] {
            let pieces = read_in_pieces(&body, piece).expect("in pieces");
            assert_eq!(summary(&pieces), whole, "pieces of {piece}");
            let bytes: Vec<&[u8]> = pieces.items.iter().map(|o| o.bytes()).collect();
            let whole_page = decode_protobuf_list(&body, "Pod").expect("whole");
            let whole_bytes: Vec<&[u8]> = whole_page.items.iter().map(|o| o.bytes()).collect();
            assert_eq!(bytes, whole_bytes, "the same objects, pieces of {piece}");
        }
    }
    let page = read_in_pieces(&pod_list(3), 10).expect("list");
    assert_eq!(page.rejected.len(), 1, "the item without a name");
    assert_eq!(page.continue_token.as_deref(), Some("token"));
}

#[test]
fn lets_go_of_the_bytes_of_the_items_it_has_read() {
    let body = pod_list(2000);
    assert!(body.len() > 6_000_000, "{}", body.len());
    let mut reader = ProtobufListReader::new("Pod");
    let mut most_held = 0;
    for chunk in body.chunks(16 * 1024) {
        reader.push(chunk).expect("piece");
        most_held = most_held.max(reader.pending.capacity());
    }
    assert_eq!(reader.received(), body.len());
    assert!(
        most_held <= 2 * COMPACT_AFTER,
        "held {most_held} bytes of a {}-byte body",
        body.len()
    );
    assert_eq!(reader.finish().expect("list").items.len(), 2000);
}

#[test]
fn any_other_body_gets_the_whole_body_readers_answer() {
    let pods = crate::wire::protobuf::read_envelope(PROTOBUF_LIST)
        .expect("transcript 19")
        .raw
        .to_vec();
    let status = k8s_pb::apimachinery::pkg::apis::meta::v1::Status {
        message: Some("etcdserver: request timed out".to_owned()),
        reason: Some("InternalError".to_owned()),
        code: Some(500),
        ..Default::default()
    };
    let mut cut = pod_list(5);
    cut.truncate(cut.len() - 100);
    let bodies = [
        enveloped("SecretList", pods.clone()),
        enveloped("", pods),
        enveloped("Status", status.encode_to_vec()),
        b"{\"kind\":\"PodList\"}".to_vec(),
        b"k8s".to_vec(),
        cut,
        Vec::new(),
    ];
    for body in bodies {
        let whole = decode_protobuf_list(&body, "Pod").map(|page| summary(&page));
        for piece in [1, 5, 1000] {
            let pieces = read_in_pieces(&body, piece).map(|page| summary(&page));
            match (&whole, &pieces) {
                (Ok(whole), Ok(pieces)) => assert_eq!(whole, pieces),
                (Err(whole), Err(pieces)) => {
                    // A cut body: both say truncated; elsewhere the same words.
                    let (whole, pieces) = (whole.to_string(), pieces.to_string());
                    assert!(
                        whole == pieces
                            || (whole.contains("truncated") && pieces.contains("truncated")),
                        "{whole} / {pieces}"
                    );
                }
                _ => panic!("{whole:?} against {pieces:?}, pieces of {piece}"),
            }
        }
    }
}

#[test]
fn a_list_without_a_resource_version_is_refused_as_the_whole_body_reader_refuses_it() {
    let list = k8s_pb::api::core::v1::PodList::default();
    let body = enveloped("PodList", list.encode_to_vec());
    let err = read_in_pieces(&body, 3).expect_err("no resourceVersion");
    assert!(matches!(err, DecodeError::MissingResourceVersion), "{err}");
}
