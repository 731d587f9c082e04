//! Server-side Tables (`-o wide`): a list answered as a `meta.k8s.io` `Table` (transcripts
//! 15-17), and watch events whose object is a one-row Table (transcript 18).
//!
//! Each row becomes a [`RawObject`] keyed by the row's `object` metadata (the server's default
//! `includeObject=Metadata`), keeping only its cells. The column definitions come with every
//! list and with a watch's first event; later events send `null` and their rows belong to the
//! columns seen last, which the caller keeps per reflector and passes in.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{DecodeError, ListMeta, ListPage, WatchEvent, decode_list, decode_watch_line};
use crate::wire::object::{
    Bookmark, ObjectError, RawObject, TableColumn, TableColumns, bookmark_of,
};

/// The `kind` of a Table.
const TABLE_KIND: &str = "Table";

/// A list page decoded from a Table: its rows as objects, and the Table's columns.
#[derive(Debug)]
pub struct TablePage {
    /// The rows, as a list page.
    pub page: ListPage,
    /// The columns the rows belong to.
    pub columns: Arc<TableColumns>,
}

/// A Table's members that matter here.
#[derive(Deserialize)]
struct Table<'a> {
    #[serde(default, rename = "columnDefinitions")]
    column_definitions: Option<Vec<TableColumn>>,
    #[serde(borrow, default)]
    rows: Option<Vec<Row<'a>>>,
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(default)]
    cells: Vec<Value>,
    #[serde(borrow, default)]
    object: Option<&'a RawValue>,
}

/// Only the `kind` of a body or object.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
}

/// Whether `json` (one JSON object) is a `Table`.
pub fn is_table(json: &[u8]) -> bool {
    serde_json::from_slice::<Kind<'_>>(json)
        .is_ok_and(|head| head.kind.as_deref() == Some(TABLE_KIND))
}

/// A cell as kubectl prints it: a string as it is, `null` as `<none>`, anything else as its JSON.
fn cell_text(cell: Value) -> String {
    match cell {
        Value::String(text) => text,
        Value::Null => "<none>".to_owned(),
        other => other.to_string(),
    }
}

/// The columns a Table defines, or else the `known` ones; an error when there are none.
fn columns_of(
    definitions: Option<Vec<TableColumn>>,
    known: Option<&Arc<TableColumns>>,
) -> Result<Arc<TableColumns>, ObjectError> {
    match (definitions, known) {
        (Some(definitions), _) => Ok(TableColumns::new(definitions)),
        (None, Some(known)) => Ok(Arc::clone(known)),
        (None, None) => Err(ObjectError::BadRow(
            "a row before any column definitions".to_owned(),
        )),
    }
}

/// One row as an object.
fn row_object(row: Row<'_>, columns: &Arc<TableColumns>) -> Result<RawObject, ObjectError> {
    let object = row
        .object
        .filter(|object| object.get() != "null")
        .ok_or_else(|| ObjectError::BadRow("the row has no object".to_owned()))?;
    let cells = row.cells.into_iter().map(cell_text).collect();
    RawObject::from_table_row(object.get().as_bytes(), Arc::clone(columns), cells)
}

/// Decodes a list body asked for as a Table. A body that is not a Table (the server could not
/// make one and sent its ordinary list) is `Ok(None)`: decode it with [`decode_list`].
pub fn decode_table_list(
    body: &[u8],
    known: Option<&Arc<TableColumns>>,
) -> Result<Option<TablePage>, DecodeError> {
    #[derive(Deserialize)]
    struct ListTable<'a> {
        #[serde(default)]
        metadata: ListMeta,
        #[serde(default, rename = "columnDefinitions")]
        column_definitions: Option<Vec<TableColumn>>,
        #[serde(borrow, default)]
        rows: Option<Vec<Row<'a>>>,
    }
    if !is_table(body) {
        return Ok(None);
    }
    let list: ListTable<'_> =
        serde_json::from_slice(body).map_err(|err| DecodeError::Malformed(err.to_string()))?;
    let rows = list.rows.unwrap_or_default();
    let columns = match (list.column_definitions, known) {
        // An empty Table needs no columns (Go writes a nil slice as `null`); a watch's first
        // event brings them.
        (None, None) if rows.is_empty() => TableColumns::new(Vec::new()),
        (definitions, known) => columns_of(definitions, known)?,
    };
    let mut items = Vec::with_capacity(rows.len());
    let mut rejected = Vec::new();
    for row in rows {
        match row_object(row, &columns) {
            Ok(object) => items.push(object),
            Err(err) => rejected.push(err),
        }
    }
    Ok(Some(TablePage {
        page: ListPage {
            items,
            rejected,
            resource_version: list
                .metadata
                .resource_version
                .filter(|rv| !rv.is_empty())
                .ok_or(DecodeError::MissingResourceVersion)?,
            continue_token: list
                .metadata
                .continue_token
                .filter(|token| !token.is_empty()),
        },
        columns,
    }))
}

/// Decodes one line of a watch asked for as a Table. `columns` are the columns seen last, and
/// become the event's own when it carries definitions. An event whose object is not a Table
/// (an ERROR's `Status`, or a server that sent plain objects) is decoded as
/// [`decode_watch_line`] decodes it, expecting `object_kind`.
pub fn decode_table_watch_line(
    line: &[u8],
    object_kind: &str,
    columns: &mut Option<Arc<TableColumns>>,
) -> Result<WatchEvent, DecodeError> {
    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(borrow, rename = "type")]
        event_type: Cow<'a, str>,
        #[serde(borrow)]
        object: &'a RawValue,
    }
    let parsed: Line<'_> =
        serde_json::from_slice(line).map_err(|err| DecodeError::Malformed(err.to_string()))?;
    let object = parsed.object.get().as_bytes();
    if !is_table(object) {
        return decode_watch_line(line, object_kind);
    }
    let table: Table<'_> =
        serde_json::from_slice(object).map_err(|err| DecodeError::Malformed(err.to_string()))?;
    let event_columns = columns_of(table.column_definitions, columns.as_ref())?;
    *columns = Some(Arc::clone(&event_columns));
    let mut rows = table.rows.unwrap_or_default();
    if rows.len() != 1 {
        return Err(ObjectError::BadRow(format!(
            "a watch event's Table holds {} rows, not one",
            rows.len()
        ))
        .into());
    }
    let row = rows.remove(0);
    if parsed.event_type == "BOOKMARK" {
        let object = row
            .object
            .ok_or_else(|| ObjectError::BadRow("the bookmark row has no object".to_owned()))?;
        return Ok(match bookmark_of(object.get().as_bytes())? {
            Bookmark {
                resource_version,
                initial_events_end: true,
            } => WatchEvent::InitialEventsEnd(resource_version),
            Bookmark {
                resource_version, ..
            } => WatchEvent::Bookmark(resource_version),
        });
    }
    let object = row_object(row, &event_columns)?;
    Ok(match &*parsed.event_type {
        "ADDED" => WatchEvent::Added(object),
        "MODIFIED" => WatchEvent::Modified(object),
        "DELETED" => WatchEvent::Deleted(object),
        other => return Err(DecodeError::UnknownType(other.to_owned())),
    })
}

/// A list body asked for as a Table: its page, and its columns when it was one.
pub fn decode_list_or_table(
    body: &[u8],
    item_kind: &str,
    known: Option<&Arc<TableColumns>>,
) -> Result<(ListPage, Option<Arc<TableColumns>>), DecodeError> {
    Ok(match decode_table_list(body, known)? {
        Some(TablePage { page, columns }) => (page, Some(columns)),
        None => (decode_list(body, item_kind)?, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::decode::tests::{body_of, fixture, watch_lines};

    fn cells(object: &RawObject) -> Vec<&str> {
        let row = object.table_row().expect("a table row");
        row.cells.iter().map(String::as_str).collect()
    }

    #[test]
    fn decodes_transcript_15s_rows_keyed_by_their_object() {
        let body = fixture("15-list-table.txt");
        let page = decode_table_list(body_of(&body).as_bytes(), None)
            .expect("decodes")
            .expect("a Table");
        let names: Vec<&str> = page
            .columns
            .columns()
            .iter()
            .map(|column| column.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        let priorities: Vec<i32> = page.columns.columns().iter().map(|c| c.priority).collect();
        assert_eq!(priorities, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
        let keys: Vec<&str> = page.page.items.iter().map(|o| o.key().as_str()).collect();
        assert_eq!(keys, ["bar-w/crash", "bar-w/done", "bar-w/pend"]);
        assert_eq!(page.page.resource_version, "157562");
        assert_eq!(page.page.items[0].resource_version(), "155536");
        assert_eq!(
            cells(&page.page.items[0]),
            [
                "crash",
                "0/1",
                "CrashLoopBackOff",
                "5",
                "101s",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]
        );
        assert_eq!(cells(&page.page.items[1])[2], "Completed");
        let created = page.page.items[0].table_row().and_then(|row| row.created);
        assert_eq!(
            created,
            humantime::parse_rfc3339("2026-11-27T17:37:02Z").ok()
        );
        assert!(
            page.page.items[0].bytes().is_empty(),
            "only the cells are kept"
        );
    }

    #[test]
    fn rows_without_objects_are_rejected_not_fatal() {
        let body = fixture("16-list-table-wide.txt");
        let page = decode_table_list(body_of(&body).as_bytes(), None)
            .expect("decodes")
            .expect("a Table");
        assert!(page.page.items.is_empty());
        assert_eq!(page.page.rejected.len(), 3);
        assert_eq!(
            page.page.rejected[0],
            ObjectError::BadRow("the row has no object".into())
        );
    }

    #[test]
    fn a_custom_resource_table_has_its_printer_columns() {
        let body = fixture("17-list-table-crd.txt");
        let page = decode_table_list(body_of(&body).as_bytes(), None)
            .expect("decodes")
            .expect("a Table");
        let names: Vec<&str> = page
            .columns
            .columns()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["Name", "Color"]);
        assert_eq!(cells(&page.page.items[0]), ["g1", "teal"]);
    }

    #[test]
    fn a_plain_list_is_not_a_table() {
        let body = fixture("01-list-page1.txt");
        assert!(matches!(
            decode_table_list(body_of(&body).as_bytes(), None),
            Ok(None)
        ));
        let (page, columns) =
            decode_list_or_table(body_of(&body).as_bytes(), "Pod", None).expect("plain list");
        assert_eq!(page.items.len(), 2);
        assert!(columns.is_none() && page.items[0].table_row().is_none());
    }

    #[test]
    fn decodes_transcript_18s_watch_keeping_the_first_events_columns() {
        let transcript = fixture("18-watch-table.txt");
        let mut columns = None;
        let events: Vec<WatchEvent> = watch_lines(&transcript)
            .into_iter()
            .map(|line| {
                decode_table_watch_line(line.as_bytes(), "Pod", &mut columns).expect("event")
            })
            .collect();
        let WatchEvent::Modified(first) = &events[0] else {
            panic!("expected MODIFIED, got {:?}", events[0]);
        };
        let WatchEvent::Modified(second) = &events[1] else {
            panic!("expected MODIFIED, got {:?}", events[1]);
        };
        assert_eq!(first.key().as_str(), "bar-w/pend");
        assert_eq!(second.resource_version(), "157570");
        assert_eq!(cells(second)[4], "2m");
        let (a, b) = (first.table_row(), second.table_row());
        assert!(
            a.zip(b)
                .is_some_and(|(a, b)| Arc::ptr_eq(&a.columns, &b.columns)),
            "the second event's rows belong to the first event's columns"
        );
        assert_eq!(events[2], WatchEvent::Bookmark("157570".into()));
        assert_eq!(events[3], WatchEvent::Bookmark("157570".into()));
    }

    #[test]
    fn bad_table_events_are_decode_errors_not_panics() {
        let mut none = None;
        let row_first = br#"{"type":"ADDED","object":{"kind":"Table","columnDefinitions":null,"rows":[{"cells":["a"],"object":{"metadata":{"name":"a"}}}]}}"#;
        assert_eq!(
            decode_table_watch_line(row_first, "Pod", &mut none),
            Err(DecodeError::Object(ObjectError::BadRow(
                "a row before any column definitions".into()
            )))
        );
        let mut columns = None;
        let short = br#"{"type":"ADDED","object":{"kind":"Table","columnDefinitions":[{"name":"Name"},{"name":"Age"}],"rows":[{"cells":["a"],"object":{"metadata":{"name":"a"}}}]}}"#;
        let Ok(WatchEvent::Added(object)) = decode_table_watch_line(short, "Pod", &mut columns)
        else {
            panic!("a short row is a row");
        };
        assert_eq!(cells(&object), ["a", ""], "missing cells are empty");
        let long = br#"{"type":"ADDED","object":{"kind":"Table","rows":[{"cells":["a","1s","x"],"object":{"metadata":{"name":"a"}}}]}}"#;
        let Ok(WatchEvent::Added(object)) = decode_table_watch_line(long, "Pod", &mut columns)
        else {
            panic!("a long row is a row");
        };
        assert_eq!(cells(&object), ["a", "1s"], "extra cells are dropped");
        let two_rows =
            br#"{"type":"ADDED","object":{"kind":"Table","rows":[{"cells":[]},{"cells":[]}]}}"#;
        assert!(decode_table_watch_line(two_rows, "Pod", &mut columns).is_err());
        let no_object =
            br#"{"type":"DELETED","object":{"kind":"Table","rows":[{"cells":["a","1s"]}]}}"#;
        assert!(decode_table_watch_line(no_object, "Pod", &mut columns).is_err());
        assert!(decode_table_watch_line(b"{\"type\":", "Pod", &mut columns).is_err());
        let error = br#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}"#;
        assert!(matches!(
            decode_table_watch_line(error, "Pod", &mut columns),
            Ok(WatchEvent::Error(_))
        ));
        let numbers = br#"{"type":"ADDED","object":{"kind":"Table","rows":[{"cells":[7,null],"object":{"metadata":{"name":"a"}}}]}}"#;
        let Ok(WatchEvent::Added(object)) = decode_table_watch_line(numbers, "Pod", &mut columns)
        else {
            panic!("a row of the known columns");
        };
        assert_eq!(cells(&object), ["7", "<none>"]);
    }

    /// A Table list body with these `columnDefinitions`, `rows` and list `metadata` (JSON).
    fn table_list(columns: &str, rows: &str, metadata: &str) -> String {
        format!(
            r#"{{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{metadata},"columnDefinitions":{columns},"rows":{rows}}}"#
        )
    }

    /// One row of pod `ns/a`.
    const ONE_ROW: &str = r#"[{"cells":["a","1s"],"object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"4"}}}]"#;

    fn page_of(body: &str, known: Option<&Arc<TableColumns>>) -> TablePage {
        decode_table_list(body.as_bytes(), known)
            .expect("decodes")
            .expect("a Table")
    }

    #[test]
    fn an_empty_table_needs_no_column_definitions() {
        // Go writes an empty list's nil columns as `null`; a watch's first event brings them.
        let page = page_of(
            &table_list("null", "[]", r#"{"resourceVersion":"5"}"#),
            None,
        );
        assert!(page.page.items.is_empty() && page.page.rejected.is_empty());
        assert!(page.columns.columns().is_empty());
        assert_eq!(page.page.resource_version, "5");
    }

    #[test]
    fn an_empty_table_keeps_the_columns_it_defines() {
        // What a real server sends for an empty list: every column, no rows.
        let columns = r#"[{"name":"Name","type":"string","format":"name","description":"","priority":0},{"name":"Color","type":"string","format":"","description":"","priority":0}]"#;
        let page = page_of(
            &table_list(columns, "[]", r#"{"resourceVersion":"5"}"#),
            None,
        );
        assert!(page.page.items.is_empty());
        let names: Vec<&str> = page
            .columns
            .columns()
            .iter()
            .map(|column| column.name.as_str())
            .collect();
        assert_eq!(names, ["Name", "Color"]);
    }

    #[test]
    fn rows_without_column_definitions_take_the_known_ones_or_fail_the_list() {
        let body = table_list("null", ONE_ROW, r#"{"resourceVersion":"5"}"#);
        assert_eq!(
            decode_table_list(body.as_bytes(), None).err(),
            Some(DecodeError::Object(ObjectError::BadRow(
                "a row before any column definitions".into()
            )))
        );
        let known = TableColumns::new(
            ["Name", "Age"]
                .map(|name| TableColumn {
                    name: name.to_owned(),
                    priority: 0,
                })
                .into(),
        );
        let page = page_of(&body, Some(&known));
        assert!(Arc::ptr_eq(&page.columns, &known));
        assert_eq!(cells(&page.page.items[0]), ["a", "1s"]);
    }

    #[test]
    fn a_table_pages_continue_token_is_kept_and_an_empty_one_ends_the_list() {
        let columns = r#"[{"name":"Name"},{"name":"Age"}]"#;
        let more = page_of(
            &table_list(
                columns,
                ONE_ROW,
                r#"{"resourceVersion":"5","continue":"abc"}"#,
            ),
            None,
        );
        assert_eq!(more.page.continue_token.as_deref(), Some("abc"));
        let last = page_of(
            &table_list(columns, ONE_ROW, r#"{"resourceVersion":"5","continue":""}"#),
            None,
        );
        assert_eq!(last.page.continue_token, None);
        let no_version = table_list(columns, ONE_ROW, r#"{"resourceVersion":""}"#);
        assert_eq!(
            decode_table_list(no_version.as_bytes(), None).err(),
            Some(DecodeError::MissingResourceVersion)
        );
    }
}
