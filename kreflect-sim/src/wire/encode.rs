//! How stored objects become bytes on the wire: list items, watch event lines, bookmarks.
//!
//! A pod is stored once as its compact JSON without `kind`/`apiVersion` (the form list items
//! take, transcript 01); watch events add `"kind":"Pod","apiVersion":"v1"` in front by
//! concatenation (transcript 03), so serving never re-serializes.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::resources::ResourceType;
use super::status::StatusError;

/// The `type` of a watch event carrying an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
}

impl EventType {
    /// The event's `type`, as on the wire.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// Serializes a pod as a list item: `kind`/`apiVersion` removed, `resourceVersion` set.
pub(crate) fn item_bytes(mut pod: Map<String, Value>, resource_version: u64) -> Bytes {
    pod.remove("kind");
    pod.remove("apiVersion");
    let metadata = pod
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert(
            "resourceVersion".to_owned(),
            Value::String(resource_version.to_string()),
        );
    }
    Bytes::from(Value::Object(pod).to_string())
}

/// `item` (a stored list item) at a new `resource_version`, with `annotation` set if given,
/// changed without parsing the whole object: the top level and `metadata` are split into raw
/// members and joined again, everything else is copied as is. `None` when the item does not
/// have that shape (or uses escapes in member names); the caller then re-serializes it fully.
pub(crate) fn revise(
    item: &[u8],
    resource_version: u64,
    annotation: Option<(&str, &str)>,
) -> Option<Bytes> {
    type Members<'a> = BTreeMap<&'a str, &'a RawValue>;
    let mut pod: Members<'_> = serde_json::from_slice(item).ok()?;
    let mut metadata: Members<'_> = serde_json::from_str(pod.get("metadata")?.get()).ok()?;
    let version = serde_json::value::to_raw_value(&resource_version.to_string()).ok()?;
    metadata.insert("resourceVersion", &version);
    let annotations;
    if let Some((name, value)) = annotation {
        let mut current: BTreeMap<&str, &RawValue> = match metadata.get("annotations") {
            Some(raw) => serde_json::from_str(raw.get()).ok()?,
            None => BTreeMap::new(),
        };
        let value = serde_json::value::to_raw_value(value).ok()?;
        current.insert(name, &value);
        annotations = serde_json::value::to_raw_value(&current).ok()?;
        metadata.insert("annotations", &annotations);
    }
    let metadata = serde_json::value::to_raw_value(&metadata).ok()?;
    pod.insert("metadata", &metadata);
    serde_json::to_vec(&pod).ok().map(Bytes::from)
}

/// One watch line: `{"type":"…","object":{"kind":"Pod","apiVersion":"v1",…}}\n`.
pub(crate) fn event_line(event_type: EventType, item: &[u8], resource: &ResourceType) -> Bytes {
    let mut line = BytesMut::with_capacity(item.len() + 64);
    line.put_slice(b"{\"type\":\"");
    line.put_slice(event_type.as_str().as_bytes());
    line.put_slice(b"\",\"object\":{\"kind\":\"");
    line.put_slice(resource.kind.as_bytes());
    line.put_slice(b"\",\"apiVersion\":\"");
    line.put_slice(resource.api_version().as_bytes());
    line.put_u8(b'"');
    // `item` is a non-empty JSON object `{…}`: splice its members after ours.
    let members = item.get(1..).unwrap_or(b"}");
    if members.first() != Some(&b'}') {
        line.put_u8(b',');
    }
    line.put_slice(members);
    line.put_slice(b"}\n");
    line.freeze()
}

/// A BOOKMARK line at `resource_version`: for pods exactly like transcript 03, for other kinds
/// the same with only `metadata`.
pub(crate) fn bookmark_line(resource_version: u64, resource: &ResourceType) -> Bytes {
    let (kind, api_version) = (resource.kind, resource.api_version());
    let pod_fields = if kind == "Pod" {
        ",\"spec\":{\"containers\":null},\"status\":{}"
    } else {
        ""
    };
    Bytes::from(format!(
        "{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{kind}\",\"apiVersion\":\"{api_version}\",\"metadata\":{{\"resourceVersion\":\"{resource_version}\",\"creationTimestamp\":null}}{pod_fields}}}}}\n"
    ))
}

/// The BOOKMARK that ends a streaming list's initial events: like [`bookmark_line`], with the
/// annotation `k8s.io/initial-events-end: "true"`.
pub(crate) fn initial_events_end_line(resource_version: u64, resource: &ResourceType) -> Bytes {
    let (kind, api_version) = (resource.kind, resource.api_version());
    let pod_fields = if kind == "Pod" {
        ",\"spec\":{\"containers\":null},\"status\":{}"
    } else {
        ""
    };
    Bytes::from(format!(
        "{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{kind}\",\"apiVersion\":\"{api_version}\",\"metadata\":{{\"resourceVersion\":\"{resource_version}\",\"creationTimestamp\":null,\"annotations\":{{\"k8s.io/initial-events-end\":\"true\"}}}}{pod_fields}}}}}\n"
    ))
}

/// The members `PartialObjectMetadata` starts with (transcripts 07/08).
const METADATA_HEAD: &[u8] =
    b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":";

#[derive(Deserialize)]
struct OnlyMetadata<'a> {
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
}

/// A stored item as `PartialObjectMetadata`: `kind`, `apiVersion` and its `metadata` only.
pub(crate) fn metadata_item(item: &[u8]) -> Bytes {
    let parsed: Option<OnlyMetadata<'_>> = serde_json::from_slice(item).ok();
    let metadata = parsed
        .and_then(|parsed| parsed.metadata)
        .map_or("{}", RawValue::get);
    let mut out = BytesMut::with_capacity(METADATA_HEAD.len() + metadata.len() + 1);
    out.put_slice(METADATA_HEAD);
    out.put_slice(metadata.as_bytes());
    out.put_u8(b'}');
    out.freeze()
}

/// A watch line with its object as `PartialObjectMetadata` (transcript 08); `None` for lines
/// that carry no object to convert (ERROR events, malformed lines): they are sent as they are.
pub(crate) fn metadata_line(line: &[u8]) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct ObjectLine<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        #[serde(borrow)]
        object: OnlyMetadata<'a>,
    }
    let parsed: ObjectLine<'_> = serde_json::from_slice(line).ok()?;
    if parsed.event_type == "ERROR" {
        return None;
    }
    let metadata = parsed.object.metadata.map_or("{}", RawValue::get);
    let mut out = BytesMut::with_capacity(METADATA_HEAD.len() + metadata.len() + 64);
    out.put_slice(b"{\"type\":\"");
    out.put_slice(parsed.event_type.as_bytes());
    out.put_slice(b"\",\"object\":");
    out.put_slice(METADATA_HEAD);
    out.put_slice(metadata.as_bytes());
    out.put_slice(b"}}\n");
    Some(out.freeze())
}

/// An ERROR line carrying `status`.
pub(crate) fn error_line(status: &StatusError) -> Bytes {
    let body = status.to_bytes();
    let mut line = BytesMut::with_capacity(body.len() + 32);
    line.put_slice(b"{\"type\":\"ERROR\",\"object\":");
    line.put_slice(&body);
    line.put_slice(b"}\n");
    line.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::resources::PODS;

    #[test]
    fn event_line_prefixes_kind_and_api_version() {
        let item = br#"{"metadata":{"name":"a"}}"#;
        assert_eq!(
            event_line(EventType::Modified, item, PODS),
            "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\"}}}\n"
        );
        assert_eq!(
            event_line(EventType::Added, b"{}", PODS),
            "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}}\n"
        );
    }

    #[test]
    fn bookmark_matches_transcript_03() {
        assert_eq!(
            bookmark_line(31552, PODS),
            "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"31552\",\"creationTimestamp\":null},\"spec\":{\"containers\":null},\"status\":{}}}\n"
        );
    }

    #[test]
    fn other_kinds_carry_their_kind_and_group_version() {
        let deployments = &crate::wire::resources::RESOURCES[4];
        assert_eq!(
            event_line(EventType::Added, b"{}", deployments),
            "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\"}}\n"
        );
        assert_eq!(
            bookmark_line(7, deployments),
            "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"resourceVersion\":\"7\",\"creationTimestamp\":null}}}\n"
        );
    }

    #[test]
    fn metadata_forms_match_transcripts_07_and_08() {
        let item = br#"{"metadata":{"name":"c0","namespace":"cap","resourceVersion":"5"},"spec":{"x":1},"status":{}}"#;
        assert_eq!(
            metadata_item(item),
            r#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"c0","namespace":"cap","resourceVersion":"5"}}"#
        );
        assert_eq!(
            metadata_line(&event_line(EventType::Deleted, item, PODS)).expect("object line"),
            "{\"type\":\"DELETED\",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"name\":\"c0\",\"namespace\":\"cap\",\"resourceVersion\":\"5\"}}}\n"
        );
        let end = metadata_line(&initial_events_end_line(9, PODS)).expect("bookmark");
        let end: Value = serde_json::from_slice(&end).expect("json");
        assert_eq!(end["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(
            end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        let error = error_line(&StatusError::new(410, "Expired", "too old"));
        assert_eq!(metadata_line(&error), None);
    }

    #[test]
    fn item_drops_kind_and_sets_resource_version() {
        let pod = serde_json::json!({"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"1"}});
        let Value::Object(map) = pod else {
            unreachable!()
        };
        assert_eq!(
            item_bytes(map, 7),
            r#"{"metadata":{"name":"a","resourceVersion":"7"}}"#
        );
    }
}
