//! `--exec CMD` and `--exec-timeout D`: a command run by `/bin/sh -c` for each change (with
//! `--events`), each listing that changed, or each non-empty `--diff`, one at a time and in
//! order, instead of printing (when to run it is the printer's, `output::printer::executing`).
//!
//! - What a run is told ([`change_job`], [`listing_job`]): the change in the environment
//!   (`KREFLECT_TYPE`, `KREFLECT_KEY`, ...) and the object as JSON on stdin; or the listing (or
//!   diff) on stdin, `KREFLECT_TYPE=LISTING` (`DIFF`).
//! - `queue`: the changes waiting while a command runs, one entry per key, the latest state
//!   kept; what a command may miss (intermediate states, never the last one, never the deletion
//!   of an object it was told of) is said there.
//! - `command`: running one command: its process group, stdin, timeout, and stopping it.
//!
//! A run that fails (a non-zero exit, a signal, the timeout) is logged with its key and counted
//! ([`record`]); the run of kreflect goes on, but for `--once`, whose one job it was, and a
//! shell that cannot be started at all.

pub(crate) mod command;
pub(crate) mod queue;

use std::time::Duration;

use crate::cache::metrics::commands::{CommandMetrics, FailedBy};
use crate::cache::store::Change;
use crate::output::render::{EventTypes, ObjectReads, event_value};
use crate::output::template::write_go_json;
use command::{Job, Outcome};

/// What `--exec` runs, and for how long at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlan {
    /// The command line, for `/bin/sh -c`.
    pub command: String,
    /// `--exec-timeout`: the longest a run may take before it is stopped.
    pub timeout: Option<Duration>,
}

/// How the `--exec` command ends a run that cannot go on without it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecFailure {
    /// `--once`: the command failed on the one listing.
    #[error("the --exec command failed on the --once listing: {0}")]
    Once(String),
    /// The shell cannot be started, so no run can.
    #[error("{0}; no --exec command can run")]
    CannotStart(String),
}

/// `KREFLECT_TYPE` of a listing's run.
pub(crate) const LISTING: &str = "LISTING";
/// `KREFLECT_TYPE` of a `--diff`'s run.
pub(crate) const DIFF: &str = "DIFF";

/// The run for one change (`--events`): in the environment, `KREFLECT_TYPE` (`ADDED`,
/// `MODIFIED`, `DELETED`), `KREFLECT_KEY` (the key as `--events` prints it, prefixed by kind
/// with several kinds), `KREFLECT_NAMESPACE` (empty for a cluster-scoped object),
/// `KREFLECT_NAME`, `KREFLECT_KIND`, `KREFLECT_RESOURCE_VERSION` and `KREFLECT_CONTEXT` (the
/// kubeconfig context, with several; empty otherwise); on stdin, the object as JSON
/// on one line, as `--events -o json --output-watch-events` prints it (its last state, for a
/// deletion). An object whose JSON cannot be read as a value (nested too deep) goes on stdin as
/// the server sent it.
pub(crate) fn change_job(change: &Change, types: &EventTypes) -> Job {
    let (namespace, name) = match &change.object {
        Some(object) => (object.key().namespace(), object.key().name()),
        None => (change.key.namespace(), change.key.name()),
    };
    let mut stdin = Vec::new();
    // The kind of the collection's resource, where the object cannot be read for its own.
    let mut kind = types.of(&change.key).kind.to_string();
    match event_value(change, types, false, &ObjectReads::all()) {
        Ok(value) => {
            if let Some(own) = value["kind"].as_str() {
                own.clone_into(&mut kind);
            }
            write_go_json(&value, &mut stdin);
        }
        Err(error) => {
            let key = change.key.as_str();
            tracing::debug!(key, error = %error, "the --exec command gets the object as sent");
            if let Some(json) = change.object.as_ref().and_then(|object| object.json()) {
                stdin.extend_from_slice(json);
            }
        }
    }
    stdin.push(b'\n');
    Job {
        env: vec![
            ("KREFLECT_TYPE", change.change_type.as_str().to_owned()),
            ("KREFLECT_KEY", change.key.to_string()),
            (
                "KREFLECT_NAMESPACE",
                namespace.unwrap_or_default().to_owned(),
            ),
            ("KREFLECT_NAME", name.to_owned()),
            ("KREFLECT_KIND", kind),
            ("KREFLECT_RESOURCE_VERSION", change.resource_version.clone()),
            (
                "KREFLECT_CONTEXT",
                types.context_of(&change.key).unwrap_or_default().to_owned(),
            ),
        ],
        stdin,
    }
}

/// The run for a listing, or with `diff` a `--diff`'s lines: `KREFLECT_TYPE=LISTING` (`DIFF`),
/// the bytes on stdin.
pub(crate) fn listing_job(diff: bool, listing: Vec<u8>) -> Job {
    let change_type = if diff { DIFF } else { LISTING };
    Job {
        env: vec![("KREFLECT_TYPE", change_type.to_owned())],
        stdin: listing,
    }
}

/// What tells two listings apart for `--exec`: all of their bytes, but for an `-o json`
/// listing's (`json`) `time`, which differs from one to the next while the cache stays the same.
pub(crate) fn listing_identity(listing: &[u8], json: bool) -> &[u8] {
    let Some(rest) = listing.strip_prefix(b"{\"time\":\"").filter(|_| json) else {
        return listing;
    };
    // The time is RFC 3339 (no quote or comma in it); the members after it are the listing.
    match rest.iter().position(|&byte| byte == b'"') {
        Some(end) => &rest[end..],
        None => listing,
    }
}

/// What a run was for, as its log records say it.
pub(crate) struct RanFor<'a> {
    /// `ADDED`, `MODIFIED`, `DELETED`, `LISTING` or `DIFF`.
    pub(crate) change_type: &'a str,
    /// The key, for a change.
    pub(crate) key: Option<&'a str>,
    /// Whether a failure ends the run (`--once`), whose error line tells it: not also logged.
    pub(crate) ends_the_run: bool,
}

/// Counts how a run for `ran_for` ended, and logs it: a failure as a warning with the key, the
/// type and the exit status or signal (unless it ends the run), the rest at debug.
pub(crate) fn record(outcome: &Outcome, ran_for: &RanFor<'_>, metrics: &CommandMetrics) {
    metrics.ran();
    if let Some(failed_by) = failed_by(outcome) {
        metrics.failed(failed_by);
    }
    // A listing's run has no key: the field is left out.
    let RanFor {
        change_type,
        key,
        ends_the_run,
    } = *ran_for;
    if ends_the_run && failed_by(outcome).is_some() {
        return;
    }
    match outcome {
        Outcome::Succeeded => {
            tracing::debug!(key, event = change_type, "the --exec command succeeded");
        }
        Outcome::Exited(code) => {
            tracing::warn!(
                key,
                event = change_type,
                exit_code = code,
                "the --exec command failed"
            );
        }
        Outcome::Killed(signal) => {
            tracing::warn!(
                key,
                event = change_type,
                signal,
                "the --exec command was killed by a signal"
            );
        }
        Outcome::TimedOut(timeout) => {
            let timeout_ms = timeout.as_millis() as u64;
            tracing::warn!(
                key,
                event = change_type,
                timeout_ms,
                "the --exec command timed out and was stopped"
            );
        }
        Outcome::NotStarted { error, .. } => {
            let event = change_type;
            tracing::warn!(key, event, error = %error, "the --exec command could not start");
        }
        Outcome::Stopped => {
            tracing::debug!(
                key,
                event = change_type,
                "stopped the --exec command on the way out"
            );
        }
    }
}

/// Which failure `outcome` is, if any.
fn failed_by(outcome: &Outcome) -> Option<FailedBy> {
    match outcome {
        Outcome::Succeeded | Outcome::Stopped => None,
        Outcome::Exited(_) => Some(FailedBy::Exit),
        Outcome::Killed(_) => Some(FailedBy::Signal),
        Outcome::TimedOut(_) => Some(FailedBy::Timeout),
        Outcome::NotStarted { .. } => Some(FailedBy::Start),
    }
}

/// How a failed run is told in an error line: `exit status 3`, `killed by signal 9`, `timed
/// out after 5s`, or why it could not start; `None` for a run that did not fail.
pub(crate) fn failure_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Succeeded | Outcome::Stopped => None,
        Outcome::Exited(code) => Some(format!("exit status {code}")),
        Outcome::Killed(signal) => Some(format!("killed by signal {signal}")),
        Outcome::TimedOut(timeout) => Some(format!(
            "timed out after {}",
            humantime::format_duration(*timeout)
        )),
        Outcome::NotStarted { error, .. } => Some(error.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cache::store::ChangeType;
    use crate::output::kinds::ObjectType;
    use crate::wire::object::{ObjectKey, RawObject};

    fn env_of(job: &Job) -> Vec<String> {
        job.env
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect()
    }

    #[test]
    fn a_changes_run_is_told_the_change_in_its_environment_and_the_object_on_stdin() {
        let json = br#"{"metadata":{"name":"web-1","namespace":"shop","resourceVersion":"7"},
            "spec":{"x":"<a>"}}"#;
        let object = RawObject::from_json(json, "Pod").expect("pod");
        let change = Change {
            change_type: ChangeType::Modified,
            key: ObjectKey::new(Some("pod/shop"), "web-1"),
            resource_version: "7".to_owned(),
            object: Some(Arc::new(object)),
            listed: false,
        };
        let types = EventTypes::single(ObjectType::pod());
        let job = change_job(&change, &types);
        assert_eq!(
            env_of(&job),
            [
                "KREFLECT_TYPE=MODIFIED",
                "KREFLECT_KEY=pod/shop/web-1",
                "KREFLECT_NAMESPACE=shop",
                "KREFLECT_NAME=web-1",
                "KREFLECT_KIND=Pod",
                "KREFLECT_RESOURCE_VERSION=7",
                "KREFLECT_CONTEXT=",
            ]
        );
        let stdin = String::from_utf8(job.stdin).expect("utf-8");
        assert!(
            stdin.ends_with("}\n") && stdin.lines().count() == 1,
            "{stdin:?}"
        );
        let value: serde_json::Value = serde_json::from_str(&stdin).expect("JSON");
        assert_eq!(value["apiVersion"], "v1", "filled in as kubectl does");
        assert_eq!(value["spec"]["x"], "<a>");
        let names: Vec<&str> = command::VARIABLES.to_vec();
        let set: Vec<&str> = job.env.iter().map(|(name, _)| *name).collect();
        assert_eq!(set, names, "every variable is set, in the documented order");
    }

    #[test]
    fn a_cluster_scoped_objects_namespace_is_empty() {
        let object =
            RawObject::from_json(br#"{"metadata":{"name":"node-a"}}"#, "Node").expect("node");
        let change = Change {
            change_type: ChangeType::Deleted,
            key: object.key().clone(),
            resource_version: "3".to_owned(),
            object: Some(Arc::new(object)),
            listed: false,
        };
        let node = ObjectType {
            api_version: "v1".into(),
            kind: "Node".into(),
        };
        let job = change_job(&change, &EventTypes::single(node));
        let env = env_of(&job);
        assert!(env.contains(&"KREFLECT_NAMESPACE=".to_owned()), "{env:?}");
        assert!(env.contains(&"KREFLECT_KIND=Node".to_owned()), "{env:?}");
        assert!(env.contains(&"KREFLECT_KEY=node-a".to_owned()), "{env:?}");
    }

    #[test]
    fn an_object_too_deep_to_read_is_given_as_sent_and_named_by_its_resources_kind() {
        let deep = format!(
            r#"{{"kind":"Deep","metadata":{{"name":"d"}},"spec":{}1{}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        );
        let object = RawObject::from_json(deep.as_bytes(), "Deep").expect("kept as sent");
        let change = Change {
            change_type: ChangeType::Added,
            key: object.key().clone(),
            resource_version: String::new(),
            object: Some(Arc::new(object)),
            listed: false,
        };
        let deep_type = ObjectType {
            api_version: "example.com/v1".into(),
            kind: "Deep".into(),
        };
        let job = change_job(&change, &EventTypes::single(deep_type));
        let env = env_of(&job);
        assert!(env.contains(&"KREFLECT_KIND=Deep".to_owned()), "{env:?}");
        assert_eq!(job.stdin, format!("{deep}\n").into_bytes());
    }

    #[test]
    fn listings_differ_by_their_content_not_a_json_listings_time() {
        let at = |time: &str, keys: &str| {
            format!(
                "{{\"time\":\"{time}\",\"resourceVersion\":\"5\",\"count\":1,\"keys\":[{keys}]}}\n"
            )
        };
        let first = at("2026-01-01T00:00:00Z", "\"a/x\"");
        let later = at("2026-01-01T00:00:30Z", "\"a/x\"");
        let changed = at("2026-01-01T00:00:30Z", "\"a/y\"");
        let identity = |listing: &str| listing_identity(listing.as_bytes(), true).to_vec();
        assert_eq!(identity(&first), identity(&later));
        assert_ne!(identity(&later), identity(&changed));
        assert_ne!(identity("a/x\n\n"), identity("a/y\n\n"));
        let template = |listing: &str| listing_identity(listing.as_bytes(), false).to_vec();
        assert_ne!(
            template(&first),
            template(&later),
            "only JSON listings have a time"
        );
        let job = listing_job(true, b"+a/x\n".to_vec());
        assert_eq!(env_of(&job), ["KREFLECT_TYPE=DIFF"]);
    }

    #[test]
    fn failures_are_told_in_words_for_the_error_line() {
        for (outcome, said) in [
            (Outcome::Exited(3), Some("exit status 3")),
            (Outcome::Killed(9), Some("killed by signal 9")),
            (
                Outcome::TimedOut(Duration::from_secs(5)),
                Some("timed out after 5s"),
            ),
            (Outcome::Succeeded, None),
            (Outcome::Stopped, None),
        ] {
            assert_eq!(failure_of(&outcome).as_deref(), said, "{outcome:?}");
        }
    }
}
