//! Server-side Tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, transcripts
//! 15-18): what `kubectl get` prints, derived on the server.
//!
//! A list answers one `meta.k8s.io/v1` `Table`: `columnDefinitions` (priority 0: the default
//! columns; priority 1: `-o wide`'s extra ones), then one row per object with its `cells` and
//! its `object` as `includeObject` asks (`Metadata`, the default: `PartialObjectMetadata`;
//! `Object`: the whole object; `None`: `null`). A watch sends each event's object as a one-row
//! Table; only the first event of a watch carries `columnDefinitions` (later ones `null`), and a
//! BOOKMARK is a row computed from an empty object whose `object` holds only the
//! resourceVersion (transcript 18).
//!
//! The cells follow kubectl's printers (`pkg/printers/internalversion/printers.go`): a pod's
//! STATUS is its waiting or terminated container reason (`CrashLoopBackOff`, `Completed`), an
//! init container's (`Init:0/1`, `Init:Error`), `status.reason` (`Evicted`) or the phase, and
//! `Terminating` once `deletionTimestamp` is set; RESTARTS says `5 (2m ago)` when a container
//! last terminated at a known time. The custom resource `widgets.example.dev` has one
//! `additionalPrinterColumn`, `Color` (`.spec.color`), and then, like a CRD with printer
//! columns, no Age column unless it names one (transcript 17).
//!
//! Here: the Table and its rows' objects, for a list page or a watch line. The column
//! definitions are in `columns`; the cells in `pod` (kubectl's `printPod`) and `printers` (every
//! other kind, and the per-kind dispatch), with what they share (the row, names, ages) in
//! `cells`.

mod cells;
mod columns;
mod pod;
mod printers;

use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use self::cells::{Condition, Row};
use self::columns::{Column, columns};
use self::printers::row;
use super::encode::metadata_item;
use super::resources::ResourceType;

/// What each row's `object` holds (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    /// `null`.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object, with `kind` and `apiVersion`.
    Object,
}

impl IncludeObject {
    /// The `includeObject` query parameter; `Err` names an unknown value (a 400).
    pub(crate) fn parse(value: Option<&str>) -> Result<IncludeObject, String> {
        match value {
            None | Some("" | "Metadata") => Ok(IncludeObject::Metadata),
            Some("None") => Ok(IncludeObject::None),
            Some("Object") => Ok(IncludeObject::Object),
            Some(other) => Err(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"Metadata\", \
                 \"None\", \"Object\""
            )),
        }
    }
}

/// Whether an `Accept` header asks for a `meta.k8s.io` Table (v1 or v1beta1).
pub(crate) fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

/// A row's `object` as `include` asks, from a stored item (without `kind`/`apiVersion`, which
/// are added for `Object`, in front as the server writes them).
fn row_object(resource: &ResourceType, item: &[u8], include: IncludeObject) -> Box<RawValue> {
    let bytes = match include {
        IncludeObject::None => return raw(b"null".to_vec()),
        IncludeObject::Metadata => metadata_item(item).to_vec(),
        IncludeObject::Object => {
            let mut object = format!(
                "{{\"kind\":\"{}\",\"apiVersion\":\"{}\"",
                resource.kind,
                resource.api_version()
            )
            .into_bytes();
            let members = item.get(1..).unwrap_or(b"}");
            if members.first() != Some(&b'}') {
                object.push(b',');
            }
            object.extend_from_slice(members);
            object
        }
    };
    raw(bytes)
}

/// `bytes` as a raw JSON value; `{}` when they are not JSON (stored items always are).
fn raw(bytes: Vec<u8>) -> Box<RawValue> {
    String::from_utf8(bytes)
        .ok()
        .and_then(|text| RawValue::from_string(text).ok())
        .unwrap_or_else(|| RawValue::from_string("{}".to_owned()).unwrap_or_default())
}

/// A `Table`, members in the real server's order.
#[derive(Serialize)]
struct Table {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: TableMeta,
    #[serde(rename = "columnDefinitions")]
    column_definitions: Option<Vec<Column>>,
    rows: Vec<TableRow>,
}

/// A Table's (list) metadata.
#[derive(Serialize)]
pub(crate) struct TableMeta {
    /// The list's resourceVersion.
    #[serde(rename = "resourceVersion")]
    pub resource_version: String,
    /// The next page's continue token.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    /// Objects after this page.
    #[serde(rename = "remainingItemCount", skip_serializing_if = "Option::is_none")]
    pub remaining_item_count: Option<usize>,
}

#[derive(Serialize)]
struct TableRow {
    cells: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conditions: Option<[Condition; 1]>,
    object: Box<RawValue>,
}

/// The `Table` holding `rows`, `columnDefinitions` filled in when `with_columns`.
fn table(
    resource: &ResourceType,
    metadata: TableMeta,
    rows: Vec<(Row, Box<RawValue>)>,
    with_columns: bool,
) -> Table {
    Table {
        kind: "Table",
        api_version: "meta.k8s.io/v1",
        metadata,
        column_definitions: with_columns.then(|| columns(resource)),
        rows: rows
            .into_iter()
            .map(|(row, object)| TableRow {
                cells: row.cells,
                conditions: row.conditions,
                object,
            })
            .collect(),
    }
}

/// A list page as a Table (transcripts 15/16/17): `metadata` is the list's, `items` the stored
/// items of the page.
pub(crate) fn table_page(
    resource: &ResourceType,
    metadata: TableMeta,
    items: &[&[u8]],
    include: IncludeObject,
) -> Bytes {
    let now = SystemTime::now();
    let rows = items
        .iter()
        .map(|item| {
            (
                row(resource, item, now),
                row_object(resource, item, include),
            )
        })
        .collect();
    Bytes::from(serde_json::to_vec(&table(resource, metadata, rows, true)).unwrap_or_default())
}

/// A watch line with its object as a one-row Table (transcript 18), `columnDefinitions` filled
/// in when `with_columns` (the watch's first event). `None` for lines that carry no object to
/// convert (ERROR events, malformed lines) or whose object is a Table already (a test's
/// scripted line, `Fault::WatchLinesThenClose`): they are sent as they are.
pub(crate) fn table_line(
    line: &[u8],
    resource: &ResourceType,
    include: IncludeObject,
    with_columns: bool,
) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct ObjectLine<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        #[serde(borrow)]
        object: &'a RawValue,
    }
    #[derive(Deserialize)]
    struct Version {
        #[serde(default, rename = "resourceVersion")]
        resource_version: Option<String>,
    }
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(default)]
        kind: Option<&'a str>,
        #[serde(default)]
        metadata: Option<Version>,
    }
    #[derive(Serialize)]
    struct Event<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        object: Table,
    }
    let parsed: ObjectLine<'_> = serde_json::from_slice(line).ok()?;
    if parsed.event_type == "ERROR" {
        return None;
    }
    let object = parsed.object.get().as_bytes();
    let head: Head<'_> = serde_json::from_slice(object).ok()?;
    if head.kind == Some("Table") {
        return None;
    }
    let resource_version = head
        .metadata
        .and_then(|m| m.resource_version)
        .unwrap_or_default();
    let now = SystemTime::now();
    let (row, object) = if parsed.event_type == "BOOKMARK" {
        // The printer run on an empty object; the object only carries the resourceVersion.
        (
            row(resource, b"{}", now),
            raw(metadata_item(object).to_vec()),
        )
    } else {
        // A watch event's object already carries `kind` and `apiVersion`.
        let object = match include {
            IncludeObject::Object => raw(object.to_vec()),
            other => row_object(resource, object, other),
        };
        (row(resource, parsed.object.get().as_bytes(), now), object)
    };
    let metadata = TableMeta {
        resource_version,
        continue_token: None,
        remaining_item_count: None,
    };
    let event = Event {
        event_type: parsed.event_type,
        object: table(resource, metadata, vec![(row, object)], with_columns),
    };
    let mut out = serde_json::to_vec(&event).ok()?;
    out.push(b'\n');
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::wire::resources::{PODS, RESOURCES};

    #[test]
    fn accept_headers_asking_for_a_table_are_recognised() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(wants_table("application/json;as=Table;g=meta.k8s.io;v=v1"));
        assert!(!wants_table("application/json"));
        assert!(!wants_table(
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
        ));
    }

    #[test]
    fn a_pod_table_has_transcript_15s_columns_and_row_shape() {
        let item = br#"{"metadata":{"name":"pend","namespace":"bar-w","resourceVersion":"155535","creationTimestamp":"2026-11-27T17:37:02Z"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"phase":"Pending"}}"#;
        let body = table_page(
            PODS,
            TableMeta {
                resource_version: "157562".into(),
                continue_token: None,
                remaining_item_count: None,
            },
            &[item],
            IncludeObject::Metadata,
        );
        let table: Value = serde_json::from_slice(&body).expect("json");
        let transcript = include_str!("../../../../tests/fixtures/15-list-table.txt");
        let start = transcript.find("{\"kind\"").expect("body");
        let real: Value = serde_json::from_str(transcript[start..].trim()).expect("real table");
        assert_eq!(table["columnDefinitions"], real["columnDefinitions"]);
        assert_eq!(table["kind"], "Table");
        let row = &table["rows"][0];
        let cells = |row: &Value| row["cells"].as_array().map(|cells| cells[..4].to_vec());
        assert_eq!(cells(row), cells(&real["rows"][2]));
        assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(row["object"]["metadata"]["name"], "pend");
        let meta = TableMeta {
            resource_version: "1".into(),
            continue_token: None,
            remaining_item_count: None,
        };
        let none = table_page(PODS, meta, &[item], IncludeObject::None);
        let none: Value = serde_json::from_slice(&none).expect("json");
        assert_eq!(none["rows"][0]["object"], Value::Null);
    }

    /// The real server fills `columnDefinitions` from the kind's printer whatever the rows
    /// (`TableGenerator.GenerateTable`), and a list printer makes its rows with
    /// `make([]TableRow, 0, n)`: an empty list is every column and `"rows":[]`.
    #[test]
    fn an_empty_page_still_defines_every_column() {
        let meta = || TableMeta {
            resource_version: "157562".into(),
            continue_token: None,
            remaining_item_count: None,
        };
        let empty = table_page(PODS, meta(), &[], IncludeObject::Metadata);
        let empty: Value = serde_json::from_slice(&empty).expect("json");
        let transcript = include_str!("../../../../tests/fixtures/15-list-table.txt");
        let start = transcript.find("{\"kind\"").expect("body");
        let real: Value = serde_json::from_str(transcript[start..].trim()).expect("real table");
        assert_eq!(empty["columnDefinitions"], real["columnDefinitions"]);
        assert_eq!(empty["rows"], json!([]));
        let widgets = table_page(&RESOURCES[5], meta(), &[], IncludeObject::Metadata);
        let widgets: Value = serde_json::from_slice(&widgets).expect("json");
        assert_eq!(widgets["columnDefinitions"][1]["name"], "Color");
    }

    #[test]
    fn watch_lines_carry_columns_only_when_asked_and_bookmarks_a_blank_row() {
        let widgets = &RESOURCES[5];
        let line = br#"{"type":"ADDED","object":{"kind":"Widget","apiVersion":"example.dev/v1","metadata":{"name":"w","namespace":"n","resourceVersion":"7"},"spec":{"color":"teal"}}}"#;
        let first = table_line(line, widgets, IncludeObject::Metadata, true).expect("line");
        let first: Value = serde_json::from_slice(&first).expect("json");
        assert_eq!(first["object"]["columnDefinitions"][1]["name"], "Color");
        assert_eq!(first["object"]["rows"][0]["cells"], json!(["w", "teal"]));
        assert_eq!(first["object"]["metadata"]["resourceVersion"], "7");
        let later = table_line(line, widgets, IncludeObject::Metadata, false).expect("line");
        let later: Value = serde_json::from_slice(&later).expect("json");
        assert_eq!(later["object"]["columnDefinitions"], Value::Null);
        let bookmark = br#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9","creationTimestamp":null},"spec":{"containers":null},"status":{}}}"#;
        let bookmark = table_line(bookmark, PODS, IncludeObject::Metadata, false).expect("line");
        let bookmark: Value = serde_json::from_slice(&bookmark).expect("json");
        assert_eq!(
            bookmark["object"]["rows"][0]["cells"],
            json!([
                "",
                "0/0",
                "",
                "0",
                "<unknown>",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ])
        );
        assert_eq!(
            bookmark["object"]["rows"][0]["object"]["metadata"]["resourceVersion"],
            "9"
        );
        assert_eq!(
            table_line(
                br#"{"type":"ERROR","object":{}}"#,
                PODS,
                IncludeObject::None,
                true
            ),
            None
        );
    }
}
