//! How stored objects become bytes on the wire: list items, watch event lines, bookmarks.
//!
//! A pod is stored once as its compact JSON without `kind`/`apiVersion` (the form list items
//! take, transcript 01); watch events add `"kind":"Pod","apiVersion":"v1"` in front by
//! concatenation (transcript 03), so serving never re-serializes.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value};

use super::resources::ResourceType;
use super::status::Status;

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
    fn as_str(self) -> &'static str {
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

/// An ERROR line carrying `status`.
pub(crate) fn error_line(status: &Status) -> Bytes {
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
    use crate::sim::resources::PODS;

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
        let deployments = &super::super::resources::RESOURCES[4];
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
