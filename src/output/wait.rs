//! `--for CONDITION` and `--timeout D`: kubectl wait's conditions (the waiting itself is the
//! printer's, `output::printer::waiting`), with kubectl wait's meaning over the mirror. Every object
//! selected when the initial state is complete must meet a condition (any of several `--for`);
//! `pod/web-1 condition met` is printed as each does, and the run ends when all have, or fails
//! at the timeout naming the first that has not. One list and one watch per collection, however
//! many objects are waited for.
//!
//! Where kubectl's answers are the reference (`tests/fixtures/kubectl-wait/transcript.md`):
//! an object named and gone meets `--for=delete` at once, silently; an object named and missing
//! fails any other condition as NotFound; a selection of nothing is "no matching resources
//! found"; `--timeout 0` checks once ("condition not met for pods/b").

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::output::template::{Headers, Template};

/// One `--for` condition.
#[derive(Clone, Debug)]
pub enum WaitFor {
    /// `delete`: the object is gone.
    Delete,
    /// `condition=NAME[=VALUE]`: a `.status.conditions` item of type NAME has status VALUE
    /// (`true` by default), both compared case-insensitively, as kubectl compares them.
    Condition {
        /// The condition's type.
        name: String,
        /// Its status.
        value: String,
    },
    /// `jsonpath='{expr}'[=VALUE]`: the template prints VALUE, or, without one, prints anything.
    JsonPath {
        /// `jsonpath=EXPR`, parsed.
        template: Arc<Template>,
        /// What it must print.
        value: Option<String>,
    },
}

impl WaitFor {
    /// Parses a `--for` value, with kubectl's forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("delete") {
            return Ok(WaitFor::Delete);
        }
        if let Some(condition) = text.strip_prefix("condition=") {
            let (name, value) = condition.split_once('=').unwrap_or((condition, "true"));
            if name.is_empty() {
                return Err("--for condition= needs a condition name: condition=Ready".to_owned());
            }
            return Ok(WaitFor::Condition {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        if let Some(path) = text.strip_prefix("jsonpath=") {
            // The expression ends at its last `}`; `=VALUE` may follow.
            let Some(end) = path.rfind('}') else {
                return Err(format!(
                    "--for jsonpath={path}: the expression must be in braces, e.g. \
                     jsonpath='{{.status.phase}}'=Running"
                ));
            };
            let (expression, rest) = path.split_at(end + 1);
            let value = match rest {
                "" => None,
                _ => match rest.strip_prefix('=') {
                    Some("") => {
                        return Err(format!(
                            "--for {text}: a value must follow '=' (or leave out '=' to wait \
                             for the expression to print anything)"
                        ));
                    }
                    Some(value) => Some(value.to_owned()),
                    None => return Err(format!("--for jsonpath={path}: expected =VALUE after }}")),
                },
            };
            let template = Template::parse(&format!("jsonpath={expression}"))
                .map_err(|err| format!("--for {text}: {err}"))?;
            return Ok(WaitFor::JsonPath {
                template: Arc::new(template),
                value,
            });
        }
        Err(format!(
            "--for {text:?}: expected delete, condition=NAME[=VALUE] or jsonpath='{{expr}}'[=VALUE]"
        ))
    }

    /// Whether `object` (as a template reads it) meets this condition.
    pub(crate) fn met_by(&self, object: &Value) -> bool {
        match self {
            WaitFor::Delete => false,
            WaitFor::Condition { name, value } => {
                let generation = object["metadata"]["generation"].as_i64();
                let status_generation = object["status"]["observedGeneration"].as_i64();
                let conditions = object["status"]["conditions"].as_array();
                let same = |found: &Value, wanted: &str| {
                    found
                        .as_str()
                        .is_some_and(|found| found.to_lowercase() == wanted.to_lowercase())
                };
                // The first condition of the type counts, as kubectl reads it.
                let Some(condition) = conditions
                    .into_iter()
                    .flatten()
                    .find(|condition| same(&condition["type"], name))
                else {
                    return false;
                };
                // A condition observed for an older generation says nothing of this one (the
                // status's observedGeneration stands for a condition without its own).
                let observed = condition["observedGeneration"]
                    .as_i64()
                    .or(status_generation);
                let current = match (observed, generation) {
                    (Some(observed), Some(generation)) => observed == generation,
                    _ => true,
                };
                same(&condition["status"], value) && current
            }
            WaitFor::JsonPath { template, value } => {
                let mut printed = Vec::new();
                if template
                    .render_object(object, Headers::Omit, &mut printed)
                    .is_err()
                {
                    return false;
                }
                match value {
                    Some(value) => printed == value.as_bytes(),
                    None => !printed.is_empty(),
                }
            }
        }
    }
}

/// What a `--for` run waits for.
#[derive(Clone, Debug)]
pub struct WaitPlan {
    /// The conditions: any of them.
    pub conditions: Vec<WaitFor>,
    /// How long to wait; zero checks once.
    pub timeout: Duration,
}

/// Why a `--for` run failed, in kubectl's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WaitFailure {
    /// The timeout came with an object not meeting any condition.
    #[error("timed out waiting for the condition on {0}")]
    TimedOut(String),
    /// `--timeout 0`, and an object did not meet any condition.
    #[error("condition not met for {0}")]
    NotMet(String),
    /// Nothing was selected.
    #[error("no matching resources found")]
    NoMatch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_parse_in_kubectls_forms_and_are_met_as_kubectl_meets_them() {
        let ready = WaitFor::parse("condition=Ready").expect("condition");
        let pod = |status: &str| {
            json!({"metadata":{"generation":2},"status":{"phase":"Running",
                "conditions":[{"type":"Ready","status":status}]}})
        };
        assert!(ready.met_by(&pod("True")));
        assert!(!ready.met_by(&pod("False")));
        assert!(
            WaitFor::parse("condition=ready=FALSE")
                .unwrap()
                .met_by(&pod("False"))
        );
        let stale = json!({"metadata":{"generation":3},"status":{"conditions":[
            {"type":"Ready","status":"True","observedGeneration":2}]}});
        assert!(!ready.met_by(&stale), "observed for an older generation");
        let stale_status = json!({"metadata":{"generation":2},"status":{"observedGeneration":1,
            "conditions":[{"type":"Ready","status":"True"}]}});
        assert!(
            !ready.met_by(&stale_status),
            "the status observed an older generation"
        );
        let twice = json!({"status":{"conditions":[{"type":"Ready","status":"True"},
            {"type":"Ready","status":"False"}]}});
        let not_ready = WaitFor::parse("condition=Ready=False").unwrap();
        assert!(!not_ready.met_by(&twice), "the first of a type counts");
        let phase = WaitFor::parse("jsonpath={.status.phase}=Running").expect("jsonpath");
        assert!(phase.met_by(&pod("False")));
        let exists = WaitFor::parse("jsonpath={.status.podIP}").expect("jsonpath");
        assert!(!exists.met_by(&pod("True")));
        let filter =
            WaitFor::parse(r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}=True"#)
                .expect("a filter holding '=='");
        assert!(filter.met_by(&pod("True")));
        assert!(matches!(WaitFor::parse("delete"), Ok(WaitFor::Delete)));
        for bad in [
            "ready",
            "condition=",
            "jsonpath=.status.phase",
            "jsonpath={.a}x",
            "jsonpath={.a",
        ] {
            assert!(WaitFor::parse(bad).is_err(), "{bad}");
        }
    }
}
