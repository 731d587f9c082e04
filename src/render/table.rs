//! `-o wide`: an aligned table for people, with kubectl's column names and ages.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::object::RawObject;
use crate::quote::quote;

/// Which columns the table has besides NAME and AGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    /// NAMESPACE, for kinds that live in namespaces.
    pub namespace: bool,
    /// STATUS and NODE, for Pods.
    pub pod_status: bool,
}

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

/// `-o wide`: an aligned table for people. Pods get NAMESPACE, NAME, STATUS, NODE, AGE; other
/// kinds NAMESPACE (when namespaced), NAME, AGE. Rows in the order given (key order), then an
/// empty line. Namespaces, names, phases and node names are quoted.
pub fn wide(objects: &[&RawObject], columns: Columns, now: SystemTime) -> Vec<u8> {
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
    rows.extend(objects.iter().map(|object| row(object, columns, now)));
    let widths: Vec<usize> = (0..header.len())
        .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
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
fn row(object: &RawObject, columns: Columns, now: SystemTime) -> Vec<String> {
    let fields: WideFields = serde_json::from_slice(object.json()).unwrap_or_default();
    let mut row = Vec::with_capacity(5);
    if columns.namespace {
        row.push(quote(object.key().namespace().unwrap_or("")).into_owned());
    }
    row.push(quote(object.key().name()).into_owned());
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
        .and_then(|created| now.duration_since(created).ok())
        .map_or_else(|| "<unknown>".to_owned(), human_age);
    row.push(age);
    row
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
        let table = wide(&[&pending, &running], PODS, now);
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
        let table = wide(&[&node], columns, now);
        assert_eq!(
            String::from_utf8(table).expect("utf-8"),
            "NAME     AGE\nnode-a   5h\n\n"
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
