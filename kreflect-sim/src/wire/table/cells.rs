//! What the printers share: the row they give, an object's name, and times as kubectl writes
//! them (`5m`, `3d4h`, `<unknown>`).

use std::time::{Duration, SystemTime};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;
use serde_json::{Value, json};

/// A row: its cells and, for finished pods, its `conditions` (as the pod printer sets them).
pub(super) struct Row {
    pub(super) cells: Vec<Value>,
    pub(super) conditions: Option<[Condition; 1]>,
}

impl Row {
    /// A row with cells only, as every printer but the pod's gives.
    pub(super) fn plain(cells: Vec<Value>) -> Row {
        Row {
            cells,
            conditions: None,
        }
    }
}

/// A row condition, as the pod printer sets for finished pods.
#[derive(Serialize)]
pub(super) struct Condition {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) status: &'static str,
    pub(super) reason: &'static str,
    pub(super) message: &'static str,
}

/// A NAME cell: the object's name, empty without one.
pub(super) fn name_of(name: &Option<String>) -> Value {
    json!(name.as_deref().unwrap_or_default())
}

/// kubectl's `translateTimestampSince`: `<unknown>` without a timestamp.
pub(super) fn age(time: Option<&Time>, now: SystemTime) -> Value {
    json!(since(time, now).unwrap_or_else(|| "<unknown>".to_owned()))
}

/// How long ago `time` was, as kubectl writes it; `None` without a timestamp.
pub(super) fn since(time: Option<&Time>, now: SystemTime) -> Option<String> {
    let then = time?.0.as_second();
    let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let now = i64::try_from(now).ok()?;
    Some(human_duration(now - then))
}

/// kubectl's `duration.HumanDuration`.
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    let seconds = u64::try_from(seconds).unwrap_or(0);
    let d = Duration::from_secs(seconds);
    let (minutes, hours) = (d.as_secs() / 60, d.as_secs() / 3600);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if minutes < 10 && s % 60 == 0 => format!("{minutes}m"),
        s if minutes < 10 => format!("{minutes}m{}s", s % 60),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 && minutes % 60 == 0 => format!("{hours}h"),
        _ if hours < 8 => format!("{hours}h{}m", minutes % 60),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 192 && hours % 24 == 0 => format!("{}d", hours / 24),
        _ if hours < 192 => format!("{}d{}h", hours / 24, hours % 24),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 && (hours / 24) % 365 == 0 => {
            format!("{}y", hours / 24 / 365)
        }
        _ if hours < 24 * 365 * 8 => format!("{}y{}d", hours / 24 / 365, (hours / 24) % 365),
        _ => format!("{}y", hours / 24 / 365),
    }
}

/// `rfc3339` as a `SystemTime`, the `now` of the printers' tests.
#[cfg(test)]
pub(super) fn at(rfc3339: &str) -> SystemTime {
    let time: Time = serde_json::from_value(json!(rfc3339)).expect("time");
    SystemTime::UNIX_EPOCH + Duration::from_secs(time.0.as_second().unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        for (seconds, expected) in [
            (45, "45s"),
            (125, "2m5s"),
            (300, "5m"),
            (1500, "25m"),
            (5 * 3600 + 180, "5h3m"),
            (20 * 3600, "20h"),
            (3 * 86_400 + 4 * 3600, "3d4h"),
            (12 * 86_400, "12d"),
            (-5, "<invalid>"),
        ] {
            assert_eq!(human_duration(seconds), expected, "{seconds}");
        }
    }
}
