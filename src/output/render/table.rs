//! `-o wide`: an aligned table for people, with kubectl's column names and ages.
//!
//! When the objects came as rows of a server-side Table (see [`crate::wire::decode::table`]), the
//! columns and cells are the server's, as `kubectl get -o wide` shows them: every column
//! (priority 0, and the priority 1 ones `-o wide` adds), headers upper-cased, NAMESPACE first
//! when listing across namespaces. One cell is not the server's: AGE. The server writes it when
//! it sends the row, and a listing printed every interval would show it frozen at that time, so
//! the `Age` column is said again at each listing from the object's creationTimestamp. Otherwise
//! (the server made no Table), kreflect's own columns: NAMESPACE, NAME, for pods STATUS and NODE,
//! and AGE. A listing without objects is its header alone: the columns of the Table the server
//! listed last when there is one (a Table list defines its columns even with zero rows), so the
//! header does not change when the first object appears.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::output::kinds::Columns;
use crate::quote::quote;
use crate::wire::object::{RawObject, TableColumns};

/// The fields `-o wide` shows, read lazily from an object's JSON.
#[derive(Default, Deserialize)]
struct WideFields {
    #[serde(default)]
    metadata: WideMetadata,
    #[serde(default)]
    spec: WideSpec,
    #[serde(default)]
    status: WideStatus,
}

#[derive(Default, Deserialize)]
struct WideMetadata {
    #[serde(default, rename = "creationTimestamp")]
    creation_timestamp: Option<String>,
    #[serde(default, rename = "deletionTimestamp")]
    deletion_timestamp: Option<String>,
}

#[derive(Default, Deserialize)]
struct WideSpec {
    #[serde(default, rename = "nodeName")]
    node_name: Option<String>,
}

#[derive(Default, Deserialize)]
struct WideStatus {
    #[serde(default)]
    phase: Option<String>,
}

/// `-o wide`: an aligned table for people. Rows that came from a server-side Table get the
/// server's columns (see the module docs); otherwise pods get NAMESPACE, NAME, STATUS, NODE,
/// AGE, and other kinds NAMESPACE (when namespaced), NAME, AGE. Rows in the order given (key
/// order), then an empty line. Every cell but AGE is quoted. With `kind` (one of several kinds
/// listed together), each NAME is written `kind/name`, as kubectl writes it then.
///
/// `listed` is the columns of the Table the server listed last: with no objects, the listing
/// is their header (NAMESPACE first when `columns.namespace`), so an empty listing shows the
/// columns its first object will be shown under. A Table list carries its `columnDefinitions`
/// with zero rows; one that defines none (`null`), or no Table, gets kreflect's header.
pub fn wide_listing(
    objects: &[&RawObject],
    listed: Option<&Arc<TableColumns>>,
    columns: Columns,
    kind: Option<&str>,
    now: SystemTime,
) -> Vec<u8> {
    let listed = listed.filter(|listed| objects.is_empty() && !listed.columns().is_empty());
    if let Some(server_columns) = server_columns(objects).or_else(|| listed.cloned()) {
        return server_table(objects, &server_columns, columns.namespace, kind, now);
    }
    let mut header: Vec<&str> = Vec::new();
    if columns.namespace {
        header.push("NAMESPACE");
    }
    header.push("NAME");
    if columns.pod_status {
        header.extend(["STATUS", "NODE"]);
    }
    header.push("AGE");
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    rows.extend(objects.iter().map(|object| row(object, columns, kind, now)));
    aligned(&rows)
}

/// The columns of a listing whose objects are all rows of a server-side Table: the newest set
/// the rows carry. `None` when some object is not a row, or there are no objects.
fn server_columns(objects: &[&RawObject]) -> Option<Arc<TableColumns>> {
    let mut newest: Option<&Arc<TableColumns>> = None;
    for object in objects {
        let columns = &object.table_row()?.columns;
        if newest.is_none_or(|newest| newest.arrival() < columns.arrival()) {
            newest = Some(columns);
        }
    }
    newest.cloned()
}

/// The table of the server's `columns`: NAMESPACE first when `namespace`, each row's cells
/// (found by column name when a row belongs to another column set), AGE said as of `now`, NAME
/// prefixed by `kind`.
fn server_table(
    objects: &[&RawObject],
    columns: &Arc<TableColumns>,
    namespace: bool,
    kind: Option<&str>,
    now: SystemTime,
) -> Vec<u8> {
    let mut header: Vec<String> = Vec::with_capacity(columns.columns().len() + 1);
    if namespace {
        header.push("NAMESPACE".to_owned());
    }
    header.extend(
        columns
            .columns()
            .iter()
            .map(|column| quote(&column.name.to_uppercase()).into_owned()),
    );
    let mut rows = vec![header];
    for object in objects {
        let Some(row) = object.table_row() else {
            continue;
        };
        let mut cells = Vec::with_capacity(rows[0].len());
        if namespace {
            cells.push(quote(object.key().namespace().unwrap_or("")).into_owned());
        }
        for (index, column) in columns.columns().iter().enumerate() {
            let cell = if Arc::ptr_eq(&row.columns, columns) {
                row.cells.get(index)
            } else {
                let at = row
                    .columns
                    .columns()
                    .iter()
                    .position(|c| c.name == column.name);
                at.and_then(|at| row.cells.get(at))
            };
            let cell = match (column.name.as_str(), row.created) {
                ("Age", Some(created)) => age_since(created, now),
                ("Restarts", _) => {
                    let cell = cell.map_or("", String::as_str);
                    quote(&restarts_as_of(cell, row.received, now)).into_owned()
                }
                ("Name", _) => {
                    quote(&kind_and_name(kind, cell.map_or("", String::as_str))).into_owned()
                }
                _ => quote(cell.map_or("", String::as_str)).into_owned(),
            };
            cells.push(cell);
        }
        rows.push(cells);
    }
    aligned(&rows)
}

/// A NAME cell: `kind/name` with several kinds, as kubectl writes it; `name` otherwise.
fn kind_and_name<'a>(kind: Option<&str>, name: &'a str) -> std::borrow::Cow<'a, str> {
    match kind {
        Some(kind) => format!("{kind}/{name}").into(),
        None => name.into(),
    }
}

/// `rows` (the header first) as aligned text: columns three spaces apart, no trailing blanks,
/// then an empty line.
fn aligned(rows: &[Vec<String>]) -> Vec<u8> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .map(|row| row.get(column).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}   ", width = widths[column]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.into_bytes()
}

/// The cells of `object`'s row, one per column.
fn row(object: &RawObject, columns: Columns, kind: Option<&str>, now: SystemTime) -> Vec<String> {
    let mut fields: WideFields = object
        .json()
        .and_then(|json| serde_json::from_slice(json).ok())
        .unwrap_or_default();
    if let Some(table_row) = object.table_row() {
        // A row listed before the server refused Tables (its watch answered 406): the same
        // fields, from the row's cells.
        let cell = |name: &str| {
            let at = table_row
                .columns
                .columns()
                .iter()
                .position(|c| c.name == name);
            at.and_then(|at| table_row.cells.get(at)).cloned()
        };
        fields.status.phase = cell("Status");
        fields.spec.node_name = cell("Node").filter(|node| node != "<none>");
        fields.metadata.creation_timestamp = table_row
            .created
            .map(|created| humantime::format_rfc3339_seconds(created).to_string());
    }
    let mut row = Vec::with_capacity(5);
    if columns.namespace {
        row.push(quote(object.key().namespace().unwrap_or("")).into_owned());
    }
    row.push(quote(&kind_and_name(kind, object.key().name())).into_owned());
    if columns.pod_status {
        // Quoted like names: the server's words must not split a row or reach the
        // terminal as escape sequences.
        let status = if fields.metadata.deletion_timestamp.is_some() {
            "Terminating".to_owned()
        } else {
            fields.status.phase.map_or_else(
                || "<unknown>".to_owned(),
                |phase| quote(&phase).into_owned(),
            )
        };
        row.push(status);
        let node = fields.spec.node_name;
        row.push(node.map_or_else(|| "<none>".to_owned(), |node| quote(&node).into_owned()));
    }
    let age = fields
        .metadata
        .creation_timestamp
        .and_then(|created| humantime::parse_rfc3339_weak(&created).ok())
        .map_or_else(|| "<unknown>".to_owned(), |created| age_since(created, now));
    row.push(age);
    row
}

/// The age of something `created` as of `now`, as kubectl prints it; `<unknown>` when it was
/// created after `now` (the clocks disagree).
fn age_since(created: SystemTime, now: SystemTime) -> String {
    now.duration_since(created)
        .map_or_else(|_| "<unknown>".to_owned(), human_age)
}

/// A RESTARTS cell (`5 (2m ago)`, kubectl's pod printer) as of `now`: its `(2m ago)` was said
/// when the row was `received`, and is said again, as AGE is. Any other cell (`0`, `5`) as it
/// is.
fn restarts_as_of(cell: &str, received: SystemTime, now: SystemTime) -> std::borrow::Cow<'_, str> {
    let parsed = cell
        .strip_suffix(" ago)")
        .and_then(|cell| cell.split_once(" ("))
        .and_then(|(count, ago)| Some((count, parse_human_age(ago)?)));
    match parsed {
        Some((count, ago)) => {
            let since = now.duration_since(received).unwrap_or_default();
            format!("{count} ({} ago)", human_age(ago + since)).into()
        }
        None => cell.into(),
    }
}

/// An age printed as [`human_age`] prints it (`45s`, `3m12s`, `5h3m`, `3d4h`, and kubectl's
/// `2y45d`), read back; `None` for anything else.
fn parse_human_age(text: &str) -> Option<Duration> {
    let mut seconds: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(digit))?,
            );
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'y' => 365 * 86_400,
            _ => return None,
        };
        seconds = seconds.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    (number.is_none() && !text.is_empty()).then(|| Duration::from_secs(seconds))
}

/// An age as kubectl prints it: `45s`, `3m12s`, `25m`, `5h3m`, `20h`, `3d4h`, `12d`.
fn human_age(age: Duration) -> String {
    let seconds = age.as_secs();
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 && s % 60 == 0 => format!("{minutes}m"),
        s if s < 600 => format!("{minutes}m{}s", s % 60),
        s if s < 3 * 3600 => format!("{minutes}m"),
        s if s < 8 * 3600 && minutes % 60 == 0 => format!("{hours}h"),
        s if s < 8 * 3600 => format!("{hours}h{}m", minutes % 60),
        s if s < 48 * 3600 => format!("{hours}h"),
        s if s < 8 * 86_400 && hours % 24 == 0 => format!("{days}d"),
        s if s < 8 * 86_400 => format!("{days}d{}h", hours % 24),
        _ => format!("{days}d"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: Columns = Columns {
        namespace: true,
        pod_status: true,
    };

    #[test]
    fn restarts_ago_is_said_as_of_now_and_other_cells_are_kept() {
        let received = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("received");
        let later = received + Duration::from_secs(3600);
        assert_eq!(restarts_as_of("5 (2m ago)", received, later), "5 (62m ago)");
        assert_eq!(
            restarts_as_of("5 (3d4h ago)", received, later),
            "5 (3d5h ago)"
        );
        assert_eq!(
            restarts_as_of("5 (2m ago)", received, received),
            "5 (2m ago)"
        );
        for kept in ["0", "5", "5 (soon ago)", "5 (2x ago)", "5 ( ago)", ""] {
            assert_eq!(restarts_as_of(kept, received, later), kept);
        }
        assert_eq!(
            parse_human_age("2y45d"),
            Some(Duration::from_secs((730 + 45) * 86_400))
        );
        assert_eq!(parse_human_age("45"), None);
        assert_eq!(parse_human_age("99999999999999999999s"), None);
    }

    #[test]
    fn wide_table_is_aligned_with_pod_columns() {
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("now");
        let running = RawObject::from_json(
            br#"{"metadata":{"name":"web-1","namespace":"shop","creationTimestamp":"2026-11-27T11:59:15Z"},"spec":{"nodeName":"node-a"},"status":{"phase":"Running"}}"#,
            "Pod",
        )
        .expect("pod");
        let pending = RawObject::from_json(
            br#"{"metadata":{"name":"db","namespace":"default","creationTimestamp":"2026-11-25T09:00:00Z","deletionTimestamp":"2026-11-27T11:00:00Z"},"status":{"phase":"Running"}}"#,
            "Pod",
        )
        .expect("pod");
        let table = wide_listing(&[&pending, &running], None, PODS, None, now);
        assert_eq!(
            String::from_utf8(table).expect("utf-8"),
            "NAMESPACE   NAME    STATUS        NODE     AGE\n\
             default     db      Terminating   <none>   2d3h\n\
             shop        web-1   Running       node-a   45s\n\n"
        );
    }

    #[test]
    fn wide_table_for_cluster_scoped_kinds() {
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("now");
        let node = RawObject::from_json(
            br#"{"metadata":{"name":"node-a","creationTimestamp":"2026-11-27T07:00:00Z"}}"#,
            "Node",
        )
        .expect("node");
        let columns = Columns {
            namespace: false,
            pod_status: false,
        };
        let table = wide_listing(&[&node], None, columns, None, now);
        assert_eq!(
            String::from_utf8(table).expect("utf-8"),
            "NAME     AGE\nnode-a   5h\n\n"
        );
    }

    /// The body of a captured response in `tests/fixtures`.
    fn transcript_body(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("fixture");
        let start = text.find("\n{").expect("a JSON body");
        text[start..].trim().to_owned()
    }

    fn table_rows(name: &str) -> Vec<RawObject> {
        let body = transcript_body(name);
        let page = crate::wire::decode::table::decode_table_list(body.as_bytes(), None)
            .expect("decodes")
            .expect("a Table");
        page.page.items
    }

    fn render(objects: &[RawObject], namespace: bool, now: &str) -> String {
        let now = humantime::parse_rfc3339(now).expect("now");
        let objects: Vec<&RawObject> = objects.iter().collect();
        let columns = Columns {
            namespace,
            pod_status: true,
        };
        String::from_utf8(wide_listing(&objects, None, columns, None, now)).expect("utf-8")
    }

    #[test]
    fn transcript_15_renders_as_kubectl_get_o_wide() {
        let rows = table_rows("15-list-table.txt");
        // 101 s after creation, as when the server wrote the cells.
        assert_eq!(
            render(&rows, false, "2026-11-27T17:38:43Z"),
            "NAME    READY   STATUS             RESTARTS   AGE    IP       NODE     NOMINATED NODE   READINESS GATES\n\
             crash   0/1     CrashLoopBackOff   5          101s   <none>   <none>   <none>           <none>\n\
             done    0/1     Completed          0          101s   <none>   <none>   <none>           <none>\n\
             pend    0/1     Pending            0          101s   <none>   <none>   <none>           <none>\n\n"
        );
    }

    #[test]
    fn age_is_said_again_at_each_listing_and_namespace_comes_first_across_namespaces() {
        let rows = table_rows("15-list-table.txt");
        let listing = render(&rows[..1], true, "2026-11-27T20:37:02Z");
        assert_eq!(
            listing,
            "NAMESPACE   NAME    READY   STATUS             RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES\n\
             bar-w       crash   0/1     CrashLoopBackOff   5          3h    <none>   <none>   <none>           <none>\n\n"
        );
    }

    #[test]
    fn an_empty_listing_has_the_columns_of_the_table_listed_last() {
        let now = humantime::parse_rfc3339("2026-11-27T18:00:00Z").expect("now");
        let listed = Arc::clone(
            &table_rows("15-list-table.txt")[0]
                .table_row()
                .expect("a row")
                .columns,
        );
        let table = |listed: Option<&Arc<TableColumns>>, namespace: bool| {
            let columns = Columns {
                namespace,
                pod_status: true,
            };
            String::from_utf8(wide_listing(&[], listed, columns, None, now)).expect("utf-8")
        };
        assert_eq!(
            table(Some(&listed), true),
            "NAMESPACE   NAME   READY   STATUS   RESTARTS   AGE   IP   NODE   NOMINATED NODE   READINESS GATES\n\n"
        );
        assert_eq!(
            table(Some(&listed), false),
            "NAME   READY   STATUS   RESTARTS   AGE   IP   NODE   NOMINATED NODE   READINESS GATES\n\n"
        );
        // No Table listed yet, or one that defined no columns: kreflect's own.
        let fallback = "NAMESPACE   NAME   STATUS   NODE   AGE\n\n";
        assert_eq!(table(None, true), fallback);
        assert_eq!(table(Some(&TableColumns::new(Vec::new())), true), fallback);
    }

    #[test]
    fn the_rows_columns_win_over_the_table_listed_last() {
        let now = humantime::parse_rfc3339("2026-11-27T18:00:00Z").expect("now");
        let rows = table_rows("17-list-table-crd.txt");
        let listed = Arc::clone(
            &table_rows("15-list-table.txt")[0]
                .table_row()
                .expect("a row")
                .columns,
        );
        let objects: Vec<&RawObject> = rows.iter().collect();
        let columns = Columns {
            namespace: false,
            pod_status: false,
        };
        let table = wide_listing(&objects, Some(&listed), columns, None, now);
        assert_eq!(
            String::from_utf8(table).expect("utf-8"),
            "NAME   COLOR\ng1     teal\n\n"
        );
    }

    #[test]
    fn transcript_17_shows_the_custom_resources_printer_columns() {
        let rows = table_rows("17-list-table-crd.txt");
        assert_eq!(
            render(&rows, false, "2026-11-27T18:00:00Z"),
            "NAME   COLOR\ng1     teal\n\n"
        );
    }

    #[test]
    fn transcript_18s_watch_events_update_the_row() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/18-watch-table.txt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        let mut columns = None;
        let mut latest = None;
        for line in text.lines().filter(|line| line.starts_with('+')) {
            let (_, json) = line.split_once(' ').expect("timed line");
            let event = crate::wire::decode::table::decode_table_watch_line(
                json.as_bytes(),
                "Pod",
                &mut columns,
            )
            .expect("event");
            if let crate::wire::decode::WatchEvent::Modified(object) = event {
                latest = Some(object);
            }
        }
        let latest = latest.expect("a MODIFIED event");
        assert_eq!(
            render(&[latest], false, "2026-11-27T17:39:02Z"),
            "NAME   READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES\n\
             pend   0/1     Pending   0          2m    <none>   <none>   <none>           <none>\n\n"
        );
    }

    #[test]
    fn a_hostile_server_cell_or_column_name_is_quoted() {
        let columns = TableColumns::new(vec![
            crate::wire::object::TableColumn {
                name: "Name".into(),
                priority: 0,
            },
            crate::wire::object::TableColumn {
                name: "Evil\x1b[2J".into(),
                priority: 1,
            },
        ]);
        let object = RawObject::from_table_row(
            br#"{"metadata":{"name":"a"}}"#,
            columns,
            vec!["a".to_owned(), "x\ny\x07".to_owned()],
        )
        .expect("row");
        assert_eq!(
            render(&[object], false, "2026-11-27T18:00:00Z"),
            "NAME   EVIL\\x1b[2J\na      x\\ny\\x07\n\n"
        );
    }

    #[test]
    fn rows_mixed_with_plain_objects_get_kreflects_columns_from_their_cells() {
        let mut rows = table_rows("15-list-table.txt");
        rows.truncate(1);
        rows.push(
            RawObject::from_json(
                br#"{"metadata":{"name":"later","namespace":"bar-w","creationTimestamp":"2026-11-27T17:37:02Z"},"spec":{"nodeName":"n1"},"status":{"phase":"Running"}}"#,
                "Pod",
            )
            .expect("pod"),
        );
        assert_eq!(
            render(&rows, true, "2026-11-27T17:38:43Z"),
            "NAMESPACE   NAME    STATUS             NODE     AGE\n\
             bar-w       crash   CrashLoopBackOff   <none>   101s\n\
             bar-w       later   Running            n1       101s\n\n"
        );
    }

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (45, "45s"),
            (125, "2m5s"),
            (300, "5m"),
            (1500, "25m"),
            (5 * 3600 + 180, "5h3m"),
            (20 * 3600, "20h"),
            (3 * 86_400 + 4 * 3600, "3d4h"),
            (12 * 86_400, "12d"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(
                human_age(Duration::from_secs(seconds)),
                expected,
                "{seconds}s"
            );
        }
    }
}
