//! kubectl's `printPod`: a pod's READY, STATUS and RESTARTS cells, `-o wide`'s IP, node,
//! nominated node and readiness gates, and the `Completed` condition of a finished pod.
//!
//! STATUS is an init container's state while one has not succeeded (`Init:0/1`,
//! `Init:Error`), else the state of the first app container that is not running
//! (`CrashLoopBackOff`, `Completed`), else `status.reason` (`Evicted`) or the phase; a pod being
//! deleted is `Terminating`.

use std::time::SystemTime;

use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, ContainerStatus, Pod, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use super::cells::{Condition, Row, age, name_of, since};

/// kubectl's `printPod`.
pub(super) fn pod_row(pod: &Pod, now: SystemTime) -> Row {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let mut restarts = Restarts::default();
    let (reason, ready) = match init_reason(&spec, &status, &mut restarts) {
        Some(reason) => (reason, 0),
        None => {
            // Past the init containers, kubectl counts the app containers' restarts only (the
            // last restart's time still looks at both).
            restarts.count = 0;
            container_reason(&status, phase_reason(&status), &mut restarts)
        }
    };
    let reason = match pod.metadata.deletion_timestamp {
        Some(_) => deleted_reason(&status),
        None => reason,
    };
    let gates = readiness_gates(&spec, &status);
    let conditions = finished_conditions(status.phase.as_deref());
    Row {
        cells: vec![
            name_of(&pod.metadata.name),
            json!(format!("{ready}/{}", spec.containers.len())),
            json!(reason),
            json!(restarts.cell(now)),
            age(pod.metadata.creation_timestamp.as_ref(), now),
            json!(or_none(first_ip(&status))),
            json!(or_none(spec.node_name)),
            json!(or_none(status.nominated_node_name)),
            json!(gates),
        ],
        conditions,
    }
}

/// The RESTARTS cell's count, and the latest time a counted container last terminated.
#[derive(Default)]
struct Restarts {
    count: i32,
    last: Option<Time>,
}

impl Restarts {
    /// Counts `container`'s restarts and its last termination time.
    fn add(&mut self, container: &ContainerStatus) {
        self.count += container.restart_count;
        let finished = container
            .last_state
            .as_ref()
            .and_then(|last| last.terminated.as_ref())
            .and_then(|terminated| terminated.finished_at.as_ref());
        if let Some(time) = finished
            && self.last.as_ref().is_none_or(|seen| seen.0 < time.0)
        {
            self.last = Some(time.clone());
        }
    }

    /// `5`, or `5 (2m ago)` when a last termination time is known.
    fn cell(&self, now: SystemTime) -> String {
        match since(self.last.as_ref(), now) {
            Some(ago) => format!("{} ({ago} ago)", self.count),
            None => self.count.to_string(),
        }
    }
}

/// STATUS before the containers are looked at: `status.reason` (`Evicted`), else the phase.
fn phase_reason(status: &PodStatus) -> String {
    status
        .reason
        .clone()
        .filter(|reason| !reason.is_empty())
        .or_else(|| status.phase.clone())
        .unwrap_or_default()
}

/// STATUS while an init container has not succeeded (`Init:Error`, `Init:CrashLoopBackOff`,
/// `Init:1/2`), counting the restarts of the init containers up to it; `None` once every init
/// container has succeeded.
fn init_reason(spec: &PodSpec, status: &PodStatus, restarts: &mut Restarts) -> Option<String> {
    let init_count = spec.init_containers.as_ref().map_or(0, Vec::len);
    for (i, container) in status.init_container_statuses.iter().flatten().enumerate() {
        restarts.add(container);
        let state = container.state.clone().unwrap_or_default();
        let waiting = state.waiting.and_then(|waiting| waiting.reason);
        let reason = match state.terminated {
            Some(terminated) if terminated.exit_code == 0 => continue,
            Some(terminated) => format!("Init:{}", terminated_reason(terminated)),
            None => match waiting.filter(|why| !why.is_empty() && why != "PodInitializing") {
                Some(why) => format!("Init:{why}"),
                None => format!("Init:{i}/{init_count}"),
            },
        };
        return Some(reason);
    }
    None
}

/// STATUS from the app containers, starting from `reason`, counting their restarts, and how
/// many are ready. kubectl reads the containers last to first, so the first container that is
/// waiting or terminated names the status.
fn container_reason(
    status: &PodStatus,
    mut reason: String,
    restarts: &mut Restarts,
) -> (String, usize) {
    let mut ready = 0;
    let mut has_running = false;
    for container in status.container_statuses.iter().flatten().rev() {
        restarts.add(container);
        let state = container.state.clone().unwrap_or_default();
        let waiting = state
            .waiting
            .and_then(|waiting| waiting.reason)
            .filter(|why| !why.is_empty());
        if let Some(why) = waiting {
            reason = why;
        } else if let Some(terminated) = state.terminated {
            reason = terminated_reason(terminated);
        } else if container.ready && state.running.is_some() {
            has_running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        reason = if pod_is_ready(status) {
            "Running"
        } else {
            "NotReady"
        }
        .to_owned();
    }
    (reason, ready)
}

/// A terminated container's reason, else its signal (`Signal:9`), else its exit code
/// (`ExitCode:1`).
fn terminated_reason(terminated: ContainerStateTerminated) -> String {
    match terminated.reason.filter(|why| !why.is_empty()) {
        Some(why) => why,
        None => match terminated.signal.filter(|signal| *signal != 0) {
            Some(signal) => format!("Signal:{signal}"),
            None => format!("ExitCode:{}", terminated.exit_code),
        },
    }
}

/// Whether any `Ready` condition is `True`.
fn pod_is_ready(status: &PodStatus) -> bool {
    status
        .conditions
        .iter()
        .flatten()
        .any(|condition| condition.type_ == "Ready" && condition.status == "True")
}

/// STATUS of a pod being deleted: `Unknown` when its node is lost, else `Terminating`.
fn deleted_reason(status: &PodStatus) -> String {
    if status.reason.as_deref() == Some("NodeLost") {
        "Unknown"
    } else {
        "Terminating"
    }
    .to_owned()
}

/// The row's `conditions`: `Completed` once the pod has succeeded or failed.
fn finished_conditions(phase: Option<&str>) -> Option<[Condition; 1]> {
    let (reason, message) = match phase {
        Some("Succeeded") => ("Succeeded", "The pod has completed successfully."),
        Some("Failed") => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some([Condition {
        kind: "Completed",
        status: "True",
        reason,
        message,
    }])
}

/// The pod's first IP.
fn first_ip(status: &PodStatus) -> Option<String> {
    status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.clone())
}

/// READINESS GATES: how many gates have their condition `True`, of how many; `<none>` without
/// gates.
fn readiness_gates(spec: &PodSpec, status: &PodStatus) -> String {
    match spec.readiness_gates.as_deref() {
        None | Some([]) => "<none>".to_owned(),
        Some(gates) => {
            let met = gates
                .iter()
                .filter(|gate| {
                    status
                        .conditions
                        .iter()
                        .flatten()
                        .find(|condition| condition.type_ == gate.condition_type)
                        .is_some_and(|condition| condition.status == "True")
                })
                .count();
            format!("{met}/{}", gates.len())
        }
    }
}

/// `text`, or `<none>` when it is missing or empty.
fn or_none(text: Option<String>) -> String {
    text.filter(|text| !text.is_empty())
        .unwrap_or_else(|| "<none>".to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::wire::table::cells::at;

    fn status_of(pod: Value) -> (String, String, String) {
        let pod: Pod = serde_json::from_value(pod).expect("pod");
        let row = pod_row(&pod, at("2026-11-27T12:00:00Z"));
        let text = |i: usize| row.cells[i].as_str().unwrap_or_default().to_owned();
        (text(1), text(2), text(3))
    }

    #[test]
    fn pod_status_follows_kubectls_rules() {
        let crash = json!({"metadata": {"name": "crash"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 5, "image": "i", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-27T11:58:00Z"}}}]}});
        assert_eq!(
            status_of(crash),
            ("0/1".into(), "CrashLoopBackOff".into(), "5 (2m ago)".into())
        );
        let done = json!({"metadata": {"name": "done"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        assert_eq!(status_of(done).1, "Completed");
        let evicted = json!({"metadata": {"name": "e"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Failed", "reason": "Evicted"}});
        assert_eq!(status_of(evicted).1, "Evicted");
        let terminating = json!({"metadata": {"name": "t", "deletionTimestamp": "2026-11-27T11:59:00Z"},
            "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
        assert_eq!(status_of(terminating).1, "Terminating");
        let init = json!({"metadata": {"name": "i"}, "spec": {"containers": [{"name": "c"}], "initContainers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "image": "i", "imageID": "", "state": {"terminated": {"exitCode": 0}}},
                {"name": "b", "ready": false, "restartCount": 0, "image": "i", "imageID": "", "state": {"running": {}}}]}});
        assert_eq!(status_of(init).1, "Init:1/2");
        let pending = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}});
        assert_eq!(
            status_of(pending),
            ("0/1".into(), "Pending".into(), "0".into())
        );
    }
}
