//! Renderings of the cache for `-o json`, `-o wide`, `--diff` and `--events`: pure functions
//! from keys and objects to bytes, so each format is tested byte for byte. (`-o keys`, the
//! default listing, is [`crate::printer::render`].) Line formats write keys and names quoted
//! ([`crate::quote`]); JSON writes them exactly.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::object::{ObjectKey, RawObject};
use crate::quote::{quote, quote_into};

/// `-o json`: one listing as one JSON document on one line.
pub fn render_json_listing(
    time: SystemTime,
    resource_version: &str,
    keys: &[ObjectKey],
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Listing<'a> {
        time: String,
        #[serde(rename = "resourceVersion")]
        resource_version: &'a str,
        count: usize,
        keys: Vec<&'a str>,
    }
    let listing = Listing {
        time: humantime::format_rfc3339_seconds(time).to_string(),
        resource_version,
        count: keys.len(),
        keys: keys.iter().map(ObjectKey::as_str).collect(),
    };
    let mut line = serde_json::to_vec(&listing).unwrap_or_default();
    line.push(b'\n');
    line
}

/// `--events`: one applied change, as `TYPE key` (key quoted) or, with `json`, a JSON object.
pub fn render_event(
    event_type: &str,
    key: &ObjectKey,
    resource_version: &str,
    json: bool,
) -> Vec<u8> {
    if json {
        #[derive(Serialize)]
        struct Event<'a> {
            #[serde(rename = "type")]
            event_type: &'a str,
            key: &'a str,
            #[serde(rename = "resourceVersion")]
            resource_version: &'a str,
        }
        let event = Event {
            event_type,
            key: key.as_str(),
            resource_version,
        };
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        line
    } else {
        let mut line = Vec::with_capacity(event_type.len() + key.as_str().len() + 2);
        line.extend_from_slice(event_type.as_bytes());
        line.push(b' ');
        quote_into(&mut line, key.as_str());
        line.push(b'\n');
        line
    }
}

/// `--diff`: `+key` (key quoted) for keys new since `previous`, `-key` for keys gone, in key order; empty
/// when nothing changed. Both inputs are sorted.
pub fn render_diff(previous: &[ObjectKey], current: &[ObjectKey]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = |sign: u8, key: &ObjectKey| {
        out.push(sign);
        quote_into(&mut out, key.as_str());
        out.push(b'\n');
    };
    let (mut old, mut new) = (0, 0);
    while old < previous.len() || new < current.len() {
        match (previous.get(old), current.get(new)) {
            (Some(gone), Some(added)) if gone == added => {
                old += 1;
                new += 1;
            }
            (Some(gone), Some(added)) if gone > added => {
                line(b'+', added);
                new += 1;
            }
            (Some(gone), _) => {
                line(b'-', gone);
                old += 1;
            }
            (None, Some(added)) => {
                line(b'+', added);
                new += 1;
            }
            (None, None) => break,
        }
    }
    out
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
/// kinds NAMESPACE (when namespaced), NAME, AGE. Rows in key order, then an empty line.
/// Namespaces, names, phases and node names are quoted.
pub fn render_wide(
    objects: &[&RawObject],
    pods: bool,
    namespaced: bool,
    now: SystemTime,
) -> Vec<u8> {
    let mut header: Vec<&str> = Vec::new();
    if namespaced {
        header.push("NAMESPACE");
    }
    header.push("NAME");
    if pods {
        header.extend(["STATUS", "NODE"]);
    }
    header.push("AGE");
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for object in objects {
        let fields: WideFields = serde_json::from_slice(object.json()).unwrap_or_default();
        let mut row = Vec::with_capacity(header.len());
        if namespaced {
            row.push(quote(object.key().namespace().unwrap_or("")).into_owned());
        }
        row.push(quote(object.key().name()).into_owned());
        if pods {
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
        rows.push(row);
    }
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

/// An age as kubectl prints it: `45s`, `3m12s`, `25m`, `5h3m`, `20h`, `3d4h`, `12d`.
pub fn human_age(age: Duration) -> String {
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

    fn key(text: &str) -> ObjectKey {
        match text.split_once('/') {
            Some((namespace, name)) => ObjectKey::new(Some(namespace), name),
            None => ObjectKey::new(None, text),
        }
    }

    fn keys(texts: &[&str]) -> Vec<ObjectKey> {
        texts.iter().map(|text| key(text)).collect()
    }

    #[test]
    fn json_listing_is_one_line_with_time_version_count_and_keys() {
        let time = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("time");
        let line = render_json_listing(time, "42", &keys(&["a/x", "b/y"]));
        assert_eq!(
            String::from_utf8(line).expect("utf-8"),
            "{\"time\":\"2026-11-27T12:00:00Z\",\"resourceVersion\":\"42\",\"count\":2,\"keys\":[\"a/x\",\"b/y\"]}\n"
        );
    }

    #[test]
    fn events_in_text_and_json() {
        assert_eq!(
            render_event("ADDED", &key("a/x"), "7", false),
            b"ADDED a/x\n"
        );
        assert_eq!(
            render_event("DELETED", &key("node-1"), "8", true),
            b"{\"type\":\"DELETED\",\"key\":\"node-1\",\"resourceVersion\":\"8\"}\n"
        );
    }

    #[test]
    fn diff_lists_added_and_removed_keys_in_order() {
        let before = keys(&["a/1", "a/2", "b/1"]);
        let after = keys(&["a/2", "a/3", "c/1"]);
        assert_eq!(
            String::from_utf8(render_diff(&before, &after)).expect("utf-8"),
            "-a/1\n+a/3\n-b/1\n+c/1\n"
        );
        assert!(render_diff(&after, &after).is_empty());
        assert_eq!(render_diff(&[], &keys(&["x"])), b"+x\n");
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
        let table = render_wide(&[&pending, &running], true, true, now);
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
        let table = render_wide(&[&node], false, false, now);
        assert_eq!(
            String::from_utf8(table).expect("utf-8"),
            "NAME     AGE\nnode-a   5h\n\n"
        );
    }

    #[test]
    fn events_diff_and_wide_escape_control_characters_but_json_keeps_exact_names() {
        assert_eq!(
            render_event("ADDED", &key("a/x\ny"), "7", false),
            b"ADDED a/x\\ny\n"
        );
        assert_eq!(
            render_event("ADDED", &key("a/x\ny"), "7", true),
            b"{\"type\":\"ADDED\",\"key\":\"a/x\\ny\",\"resourceVersion\":\"7\"}\n"
        );
        assert_eq!(
            render_diff(&keys(&["a/\t"]), &keys(&["a/b\\c"])),
            b"-a/\\t\n+a/b\\\\c\n"
        );
        let time = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("time");
        let line = render_json_listing(time, "1", &keys(&["a/x\u{1}"]));
        assert!(
            String::from_utf8(line)
                .expect("utf-8")
                .contains(r#""keys":["a/x\u0001"]"#),
            "JSON escapes the exact name"
        );
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").expect("now");
        let object = RawObject::from_json(
            br#"{"metadata":{"name":"a\n\nb","namespace":"t\tab","creationTimestamp":"2026-11-27T11:59:15Z"}}"#,
            "Role",
        )
        .expect("role");
        assert_eq!(
            String::from_utf8(render_wide(&[&object], false, true, now)).expect("utf-8"),
            "NAMESPACE   NAME     AGE\nt\\tab       a\\n\\nb   45s\n\n"
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
