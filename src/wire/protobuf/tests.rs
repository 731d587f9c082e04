use super::*;

const LIST: &[u8] = include_bytes!("../../../tests/fixtures/19-list-protobuf.bin");
const WATCH: &[u8] = include_bytes!("../../../tests/fixtures/20-watch-protobuf.bin");

/// The frames of a protobuf watch stream, split as it arrives: one byte at a time.
fn frames(stream: &[u8]) -> Vec<Bytes> {
    let mut splitter = FrameSplitter::default();
    let mut frames = Vec::new();
    for byte in stream {
        splitter.push(&[*byte]);
        while let Some((_, frame)) = splitter.next_frame().expect("frame") {
            frames.push(frame);
            // Each frame costs its 4-byte length: a splitter that never runs dry fails here
            // instead of filling memory.
            assert!(frames.len() <= stream.len() / 4, "more frames than lengths");
        }
    }
    assert_eq!(splitter.remainder(), 0);
    frames
}

#[test]
fn a_frame_over_the_cap_is_refused_before_it_is_buffered() {
    let mut splitter = FrameSplitter::default();
    splitter.push(&[0, 0, 0, 2, b'o', b'k']);
    splitter.push(&0xffff_ffff_u32.to_be_bytes());
    assert_eq!(
        splitter.next_frame(),
        Ok(Some((0, Bytes::from_static(b"ok"))))
    );
    assert_eq!(
        splitter.next_frame(),
        Err(FrameTooLong {
            offset: 6,
            len: 0xffff_ffff
        })
    );
}

#[test]
fn a_frame_exactly_at_the_cap_is_awaited_not_refused() {
    let cap = u32::try_from(MAX_LINE_BYTES).expect("the cap fits a frame length");
    let mut splitter = FrameSplitter::default();
    splitter.push(&cap.to_be_bytes());
    assert_eq!(
        splitter.next_frame(),
        Ok(None),
        "the frame's bytes are still to come"
    );
    let mut over = FrameSplitter::default();
    over.push(&(cap + 1).to_be_bytes());
    assert_eq!(
        over.next_frame(),
        Err(FrameTooLong {
            offset: 0,
            len: u64::from(cap) + 1
        })
    );
}

#[test]
fn a_list_body_is_the_magic_then_an_envelope_around_the_list() {
    let envelope = read_envelope(LIST).expect("envelope");
    assert_eq!((envelope.api_version, envelope.kind), ("v1", "PodList"));
    let list = read_list(envelope.raw).expect("list");
    assert_eq!(list.resource_version, "157565");
    assert!(!list.continue_token.is_empty(), "page 1 of limit=2");
    assert_eq!(list.items.len(), 2);
    let heads: Vec<(&str, &str)> = list
        .items
        .iter()
        .map(|item| {
            let head = read_object(item).expect("pod");
            (head.namespace, head.name)
        })
        .collect();
    assert_eq!(heads, [("bar-w", "crash"), ("bar-w", "done")]);
}

#[test]
fn varint_len_is_what_put_varint_writes() {
    for value in [
        0,
        1,
        127,
        128,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX,
    ] {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        assert_eq!(varint_len(value), out.len(), "{value}");
    }
}

#[test]
fn managed_fields_are_cut_out_and_everything_else_kept() {
    let envelope = read_envelope(LIST).expect("envelope");
    let list = read_list(envelope.raw).expect("list");
    for item in list.items {
        let head = read_object(item).expect("pod");
        assert!(
            head.metadata.iter().any(|m| !m.managed_fields.is_empty()),
            "kubectl-created pods have them"
        );
        let kept = without_managed_fields(item, &head);
        let removed: usize = head
            .metadata
            .iter()
            .flat_map(|metadata| &metadata.managed_fields)
            .map(ExactSizeIterator::len)
            .sum();
        assert!(
            kept.len() < item.len() - removed + 3,
            "only the length prefix may grow"
        );
        let again = read_object(&kept).expect("still a pod");
        assert!(again.metadata.iter().all(|m| m.managed_fields.is_empty()));
        assert_eq!(
            (again.name, again.namespace, again.resource_version),
            (head.name, head.namespace, head.resource_version)
        );
        // Whatever followed the metadata (spec, status) is byte for byte the same.
        assert!(kept.ends_with(&item[head.metadata[0].span.end..]));
    }
}

/// A pod message from its metadata, as prost writes it.
fn pod_with(metadata: k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Vec<u8> {
    use prost::Message;
    k8s_pb::api::core::v1::Pod {
        metadata: Some(metadata),
        ..Default::default()
    }
    .encode_to_vec()
}

fn managed(manager: &str) -> k8s_pb::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry {
    k8s_pb::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry {
        manager: Some(manager.to_owned()),
        ..Default::default()
    }
}

#[test]
fn a_metadata_field_sent_twice_is_merged_as_prost_merges_it() {
    use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use prost::Message;
    // Two `metadata` fields in one message: protobuf merges them (scalars: last wins;
    // repeated fields and maps: both), so managedFields of the first are the object's too.
    let mut message = pod_with(ObjectMeta {
        name: Some("first".to_owned()),
        namespace: Some("ns".to_owned()),
        annotations: [(INITIAL_EVENTS_END_ANNOTATION.to_owned(), "true".to_owned())].into(),
        managed_fields: vec![managed("kubectl")],
        ..Default::default()
    });
    message.extend(pod_with(ObjectMeta {
        name: Some("second".to_owned()),
        resource_version: Some("7".to_owned()),
        annotations: [(INITIAL_EVENTS_END_ANNOTATION.to_owned(), "false".to_owned())].into(),
        managed_fields: vec![managed("kubelet")],
        ..Default::default()
    }));
    let merged = k8s_pb::api::core::v1::Pod::decode(&*message).expect("prost reads it");
    let meta = merged.metadata.clone().expect("metadata");
    assert_eq!(meta.managed_fields.len(), 2);
    let head = read_object(&message).expect("object");
    assert_eq!(
        (head.name, head.namespace, head.resource_version),
        ("second", "ns", "7")
    );
    assert!(
        !head.initial_events_end,
        "the map's last value is \"false\""
    );
    let kept = without_managed_fields(&message, &head);
    let mut expected = merged;
    if let Some(meta) = &mut expected.metadata {
        meta.managed_fields.clear();
    }
    assert_eq!(
        k8s_pb::api::core::v1::Pod::decode(&*kept).expect("still a pod"),
        expected
    );
}

/// An `ObjectMeta` of any of the fields the reflector reads, managedFields and annotations.
fn object_meta()
-> impl proptest::strategy::Strategy<Value = k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta>
{
    use k8s_pb::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use proptest::prelude::*;
    let annotation_key = prop_oneof![
        Just(INITIAL_EVENTS_END_ANNOTATION.to_owned()),
        "[a-z./-]{0,12}",
    ];
    (
        proptest::option::of(any::<String>()),
        proptest::option::of("[a-z0-9-]{0,20}"),
        proptest::option::of("[0-9]{0,12}"),
        proptest::option::of(proptest::option::of(any::<i64>())),
        proptest::collection::vec(proptest::option::of(".{0,300}"), 0..4),
        proptest::collection::btree_map(annotation_key, "true|false|.{0,8}", 0..3),
    )
        .prop_map(
            |(name, namespace, resource_version, deletion, managers, annotations)| ObjectMeta {
                name,
                namespace,
                resource_version,
                deletion_timestamp: deletion.map(|seconds| Time {
                    seconds,
                    nanos: None,
                }),
                managed_fields: managers
                    .into_iter()
                    .map(
                        |manager| k8s_pb::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry {
                            manager,
                            ..Default::default()
                        },
                    )
                    .collect(),
                annotations,
                ..Default::default()
            },
        )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// What `read_object` reads is what prost decodes, and the copy without managedFields
    /// decodes with prost to the same pod minus them: for one metadata field, or two merged.
    #[test]
    fn the_metadata_reader_agrees_with_prost(
        first in object_meta(),
        second in proptest::option::of(object_meta()),
        node_name in proptest::option::of(".{0,40}"),
    ) {
        use prost::Message;
        let mut message = k8s_pb::api::core::v1::Pod {
            metadata: Some(first),
            spec: Some(k8s_pb::api::core::v1::PodSpec {
                node_name,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec();
        if let Some(second) = second {
            message.extend(pod_with(second));
        }
        let pod = k8s_pb::api::core::v1::Pod::decode(&*message).expect("prost reads it");
        let meta = pod.metadata.clone().unwrap_or_default();
        let head = read_object(&message).expect("we read it");
        proptest::prop_assert_eq!(head.name, meta.name.as_deref().unwrap_or(""));
        proptest::prop_assert_eq!(head.namespace, meta.namespace.as_deref().unwrap_or(""));
        proptest::prop_assert_eq!(
            head.resource_version,
            meta.resource_version.as_deref().unwrap_or("")
        );
        proptest::prop_assert_eq!(head.deleting, meta.deletion_timestamp.is_some());
        proptest::prop_assert_eq!(
            head.initial_events_end,
            meta.annotations
                .get(INITIAL_EVENTS_END_ANNOTATION)
                .is_some_and(|value| value == "true")
        );
        let kept = without_managed_fields(&message, &head);
        let mut expected = pod;
        if let Some(meta) = &mut expected.metadata {
            meta.managed_fields.clear();
        }
        proptest::prop_assert_eq!(
            k8s_pb::api::core::v1::Pod::decode(&*kept).expect("still a pod"),
            expected
        );
    }
}

#[test]
fn a_watch_is_frames_of_events_around_envelopes() {
    let events: Vec<(String, String, String)> = frames(WATCH)
        .iter()
        .map(|frame| {
            let event = read_event(frame).expect("event");
            let envelope = read_envelope(event.object).expect("envelope");
            assert_eq!(envelope.kind, "Pod");
            let head = read_object(envelope.raw).expect("object");
            (
                event.event_type.to_owned(),
                head.name.to_owned(),
                head.resource_version.to_owned(),
            )
        })
        .collect();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].0, "MODIFIED");
    assert_eq!(events[2].0, "BOOKMARK");
    assert_eq!(events[2].1, "", "a bookmark holds only a resourceVersion");
    assert!(!events[2].2.is_empty());
}

#[test]
fn a_status_reads_code_reason_and_retry_after() {
    // Status{status: "Failure", message: "m", reason: "TooManyRequests",
    // details: {retryAfterSeconds: 3}, code: 429}
    let message = [
        0x12, 7, b'F', b'a', b'i', b'l', b'u', b'r', b'e', 0x1a, 1, b'm', 0x22, 15, b'T', b'o',
        b'o', b'M', b'a', b'n', b'y', b'R', b'e', b'q', b'u', b'e', b's', b't', b's', 0x2a, 2,
        0x28, 3, 0x30, 0xad, 0x03,
    ];
    assert_eq!(
        read_status(&message).expect("status"),
        StatusParts {
            status: "Failure",
            message: "m",
            reason: "TooManyRequests",
            code: 429,
            retry_after_seconds: Some(3),
            ..StatusParts::default()
        }
    );
}

#[test]
fn a_negative_int32_is_ten_varint_bytes_and_reads_back_negative() {
    use k8s_pb::apimachinery::pkg::apis::meta::v1::{Status, StatusDetails};
    use prost::Message;
    // An int32 below zero is the varint of its sign-extended 64 bits: ten bytes, the tenth
    // 0x01, the largest a varint holds (not one that overflows 64 bits).
    let message = Status {
        code: Some(-1),
        details: Some(StatusDetails {
            retry_after_seconds: Some(i32::MIN),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    assert_eq!(
        message[..2],
        [0x2a, 11],
        "details: the tag of retryAfterSeconds and its ten-byte varint"
    );
    let status = read_status(&message).expect("status");
    assert_eq!(
        (status.code, status.retry_after_seconds),
        (-1, Some(i32::MIN))
    );
    let mut u64_max = [0xff; 10];
    u64_max[9] = 0x01;
    assert_eq!(Fields::of(&u64_max).varint(), Ok(u64::MAX));
}

#[test]
fn malformed_input_is_an_error_never_a_panic() {
    assert_eq!(read_envelope(b"{\"kind\":1}"), Err(ProtobufError::NoMagic));
    assert_eq!(
        read_envelope(b"k8s\0\x0a\x0d\x0a"),
        Err(ProtobufError::Truncated(3))
    );
    // A length far beyond the bytes there: refused, nothing allocated for it.
    assert!(matches!(
        read_list(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Err(ProtobufError::Truncated(_))
    ));
    assert!(matches!(
        read_object(&[0x0a, 0x02, 0x0b, 0x00]),
        Err(ProtobufError::WireType { wire_type: 3, .. })
    ));
    assert!(matches!(
        read_object(&[0x0a, 0x02, 0x08, 0x01]),
        Err(ProtobufError::FieldType { .. })
    ));
    assert!(matches!(
        read_object(&[0x0a, 0x03, 0x0a, 0x01, 0xff]),
        Err(ProtobufError::NotUtf8 { .. })
    ));
    assert_eq!(
        read_event(b"\x0a\x05ADDED"),
        Err(ProtobufError::NoPayload("WatchEvent"))
    );
    // A tenth byte over 1 overflows 64 bits: prost refuses it; read as the low bits, this
    // length of 2^64 + 1 would frame the message as one byte long.
    let overflowing_length = [
        0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x0a,
    ];
    assert!(
        <k8s_pb::api::core::v1::Pod as prost::Message>::decode(&overflowing_length[..]).is_err()
    );
    assert_eq!(
        read_object(&overflowing_length),
        Err(ProtobufError::VarintTooLong(1))
    );
    let mut endless_varint = vec![0x08];
    endless_varint.extend([0xff; 11]);
    assert_eq!(
        read_list(&endless_varint),
        Err(ProtobufError::VarintTooLong(1))
    );
    // Every prefix of a real body fails cleanly or reads a shorter message.
    for cut in 0..LIST.len() {
        if let Ok(envelope) = read_envelope(&LIST[..cut])
            && let Ok(list) = read_list(envelope.raw)
        {
            for item in list.items {
                let _ = read_object(item);
            }
        }
    }
}

#[test]
fn a_status_reads_the_details_name_and_kind_of_a_refused_impersonation() {
    // Status{reason: "Forbidden", details: {name: "bob", kind: "users"}, code: 403}
    let message = [
        0x22, 9, b'F', b'o', b'r', b'b', b'i', b'd', b'd', b'e', b'n', 0x2a, 12, 0x0a, 3, b'b',
        b'o', b'b', 0x1a, 5, b'u', b's', b'e', b'r', b's', 0x30, 0x93, 0x03,
    ];
    let status = read_status(&message).expect("status");
    assert_eq!(
        (status.code, status.details_kind, status.details_name),
        (403, "users", "bob")
    );
}
