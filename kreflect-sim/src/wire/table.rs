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

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

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

/// One column definition, members in the real server's order.
#[derive(Serialize)]
struct Column {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    format: &'static str,
    description: &'static str,
    priority: u8,
}

const fn column(name: &'static str, description: &'static str, priority: u8) -> Column {
    Column {
        name,
        kind: "string",
        format: "",
        description,
        priority,
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names",
    priority: 0,
};

const AGE: Column = column(
    "Age",
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    0,
);

/// The column definitions of `resource`'s Table.
fn columns(resource: &ResourceType) -> Vec<Column> {
    match resource.kind {
        "Pod" => vec![
            NAME,
            column(
                "Ready",
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            column(
                "Status",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            column(
                "Restarts",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
            ),
            AGE,
            column(
                "IP",
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                1,
            ),
            column(
                "Node",
                "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.",
                1,
            ),
            column(
                "Nominated Node",
                "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
                1,
            ),
            column(
                "Readiness Gates",
                "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
                1,
            ),
        ],
        "Deployment" => vec![
            NAME,
            column("Ready", "Number of the pod with ready state", 0),
            column(
                "Up-to-date",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                0,
            ),
            column(
                "Available",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                0,
            ),
            AGE,
            column("Containers", "Names of each container in the template.", 1),
            column(
                "Images",
                "Images referenced by each container in the template.",
                1,
            ),
            column(
                "Selector",
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
                1,
            ),
        ],
        "Node" => vec![
            NAME,
            column("Status", "The status of the node", 0),
            column("Roles", "The roles of the node", 0),
            AGE,
            column("Version", "Kubelet Version reported by the node.", 0),
            column(
                "Internal-IP",
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
                1,
            ),
            column(
                "External-IP",
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
                1,
            ),
            column(
                "OS-Image",
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
                1,
            ),
            column(
                "Kernel-Version",
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
                1,
            ),
            column(
                "Container-Runtime",
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
                1,
            ),
        ],
        "Namespace" => vec![
            NAME,
            column("Status", "The status of the namespace", 0),
            AGE,
        ],
        "Service" => vec![
            NAME,
            column("Type", "The type of the service", 0),
            column(
                "Cluster-IP",
                "The cluster-internal IP address of the service",
                0,
            ),
            column("External-IP", "The external IP addresses of the service", 0),
            column("Port(s)", "The ports of the service", 0),
            AGE,
            column(
                "Selector",
                "Route service traffic to pods with label keys and values matching this selector.",
                1,
            ),
        ],
        "Widget" => vec![
            NAME,
            column(
                "Color",
                "Custom resource definition column (in JSONPath format): .spec.color",
                0,
            ),
        ],
        _ => vec![NAME, AGE],
    }
}

/// A row: its cells and, for finished pods, its `conditions` (as the pod printer sets them).
struct Row {
    cells: Vec<Value>,
    conditions: Option<[Condition; 1]>,
}

/// The row of `item` (a stored list item, or a watch event's object), as of `now`.
fn row(resource: &ResourceType, item: &[u8], now: SystemTime) -> Row {
    let plain = |cells: Vec<Value>| Row {
        cells,
        conditions: None,
    };
    match resource.kind {
        "Pod" => pod_row(&serde_json::from_slice(item).unwrap_or_default(), now),
        "Deployment" => plain(deployment_cells(
            &serde_json::from_slice(item).unwrap_or_default(),
            now,
        )),
        "Node" => plain(node_cells(
            &serde_json::from_slice(item).unwrap_or_default(),
            now,
        )),
        "Namespace" => {
            let namespace: Namespace = serde_json::from_slice(item).unwrap_or_default();
            let phase = namespace.status.and_then(|status| status.phase);
            plain(vec![
                name_of(&namespace.metadata.name),
                json!(phase.unwrap_or_default()),
                age(namespace.metadata.creation_timestamp.as_ref(), now),
            ])
        }
        "Service" => plain(service_cells(
            &serde_json::from_slice(item).unwrap_or_default(),
            now,
        )),
        "Widget" => {
            let widget: Value = serde_json::from_slice(item).unwrap_or_default();
            // A JSONPath that finds nothing gives a `null` cell.
            plain(vec![
                widget["metadata"]["name"].clone(),
                widget["spec"]["color"].clone(),
            ])
        }
        _ => {
            let object: Value = serde_json::from_slice(item).unwrap_or_default();
            let created =
                serde_json::from_value::<Time>(object["metadata"]["creationTimestamp"].clone())
                    .ok();
            plain(vec![
                object["metadata"]["name"].clone(),
                age(created.as_ref(), now),
            ])
        }
    }
}

fn name_of(name: &Option<String>) -> Value {
    json!(name.as_deref().unwrap_or_default())
}

/// kubectl's `translateTimestampSince`: `<unknown>` without a timestamp.
fn age(time: Option<&Time>, now: SystemTime) -> Value {
    json!(since(time, now).unwrap_or_else(|| "<unknown>".to_owned()))
}

fn since(time: Option<&Time>, now: SystemTime) -> Option<String> {
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

/// kubectl's `printPod`.
fn pod_row(pod: &Pod, now: SystemTime) -> Row {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let mut restarts = 0;
    let mut ready = 0;
    let mut last_restart: Option<Time> = None;
    let mut note_restart = |last: Option<&Time>| {
        if let Some(time) = last
            && last_restart.as_ref().is_none_or(|seen| seen.0 < time.0)
        {
            last_restart = Some(time.clone());
        }
    };
    let mut reason = status
        .reason
        .clone()
        .filter(|reason| !reason.is_empty())
        .or_else(|| status.phase.clone())
        .unwrap_or_default();
    let completed = |reason, message| {
        Some([Condition {
            kind: "Completed",
            status: "True",
            reason,
            message,
        }])
    };
    let conditions = match status.phase.as_deref() {
        Some("Succeeded") => completed("Succeeded", "The pod has completed successfully."),
        Some("Failed") => completed("Failed", "The pod failed."),
        _ => None,
    };
    let init_count = spec.init_containers.as_ref().map_or(0, Vec::len);
    let mut initializing = false;
    for (i, container) in status.init_container_statuses.iter().flatten().enumerate() {
        restarts += container.restart_count;
        note_restart(
            container
                .last_state
                .as_ref()
                .and_then(|last| last.terminated.as_ref())
                .and_then(|terminated| terminated.finished_at.as_ref()),
        );
        let state = container.state.clone().unwrap_or_default();
        let waiting = state.waiting.and_then(|waiting| waiting.reason);
        match state.terminated {
            Some(terminated) if terminated.exit_code == 0 => continue,
            Some(terminated) => {
                reason = match terminated.reason.filter(|reason| !reason.is_empty()) {
                    Some(why) => format!("Init:{why}"),
                    None => match terminated.signal.filter(|signal| *signal != 0) {
                        Some(signal) => format!("Init:Signal:{signal}"),
                        None => format!("Init:ExitCode:{}", terminated.exit_code),
                    },
                };
            }
            None => match waiting.filter(|why| !why.is_empty() && why != "PodInitializing") {
                Some(why) => reason = format!("Init:{why}"),
                None => reason = format!("Init:{i}/{init_count}"),
            },
        }
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        for container in status.container_statuses.iter().flatten().rev() {
            restarts += container.restart_count;
            note_restart(
                container
                    .last_state
                    .as_ref()
                    .and_then(|last| last.terminated.as_ref())
                    .and_then(|terminated| terminated.finished_at.as_ref()),
            );
            let state = container.state.clone().unwrap_or_default();
            let waiting = state
                .waiting
                .and_then(|waiting| waiting.reason)
                .filter(|why| !why.is_empty());
            if let Some(why) = waiting {
                reason = why;
            } else if let Some(terminated) = state.terminated {
                reason = match terminated.reason.filter(|why| !why.is_empty()) {
                    Some(why) => why,
                    None => match terminated.signal.filter(|signal| *signal != 0) {
                        Some(signal) => format!("Signal:{signal}"),
                        None => format!("ExitCode:{}", terminated.exit_code),
                    },
                };
            } else if container.ready && state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = status
                .conditions
                .iter()
                .flatten()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_owned();
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.reason.as_deref() == Some("NodeLost") {
            "Unknown"
        } else {
            "Terminating"
        }
        .to_owned();
    }
    let restarts = match since(last_restart.as_ref(), now) {
        Some(ago) => format!("{restarts} ({ago} ago)"),
        None => restarts.to_string(),
    };
    let none = |text: Option<String>| {
        text.filter(|text| !text.is_empty())
            .unwrap_or_else(|| "<none>".to_owned())
    };
    let ip = status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.clone());
    let gates = match spec.readiness_gates.as_deref() {
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
    };
    Row {
        cells: vec![
            name_of(&pod.metadata.name),
            json!(format!("{ready}/{}", spec.containers.len())),
            json!(reason),
            json!(restarts),
            age(pod.metadata.creation_timestamp.as_ref(), now),
            json!(none(ip)),
            json!(none(spec.node_name)),
            json!(none(status.nominated_node_name)),
            json!(gates),
        ],
        conditions,
    }
}

/// kubectl's `metav1.FormatLabelSelector`.
fn format_selector(selector: Option<&LabelSelector>) -> String {
    let Some(selector) = selector else {
        return "<none>".to_owned();
    };
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    for expression in selector.match_expressions.iter().flatten() {
        let values = expression.values.clone().unwrap_or_default().join(",");
        parts.push(match expression.operator.as_str() {
            "In" => format!("{} in ({values})", expression.key),
            "NotIn" => format!("{} notin ({values})", expression.key),
            "Exists" => expression.key.clone(),
            "DoesNotExist" => format!("!{}", expression.key),
            other => format!("{} {other} ({values})", expression.key),
        });
    }
    if parts.is_empty() {
        "<none>".to_owned()
    } else {
        parts.join(",")
    }
}

fn deployment_cells(deployment: &Deployment, now: SystemTime) -> Vec<Value> {
    let spec = deployment.spec.clone().unwrap_or_default();
    let status = deployment.status.clone().unwrap_or_default();
    let containers = spec
        .template
        .spec
        .map(|spec| spec.containers)
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers
        .iter()
        .map(|c| c.image.as_deref().unwrap_or_default())
        .collect();
    vec![
        name_of(&deployment.metadata.name),
        json!(format!(
            "{}/{}",
            status.ready_replicas.unwrap_or(0),
            spec.replicas.unwrap_or(1)
        )),
        json!(status.updated_replicas.unwrap_or(0)),
        json!(status.available_replicas.unwrap_or(0)),
        age(deployment.metadata.creation_timestamp.as_ref(), now),
        json!(names.join(",")),
        json!(images.join(",")),
        json!(format_selector(Some(&spec.selector))),
    ]
}

fn node_cells(node: &Node, now: SystemTime) -> Vec<Value> {
    let status = node.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .find(|condition| condition.type_ == "Ready")
        .map(|condition| condition.status.as_str());
    let mut state = match ready {
        Some("True") => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if node.spec.as_ref().and_then(|spec| spec.unschedulable) == Some(true) {
        state.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<&str> = node
        .metadata
        .labels
        .iter()
        .flatten()
        .filter_map(|(key, _)| key.strip_prefix("node-role.kubernetes.io/"))
        .collect();
    roles.sort_unstable();
    let address = |kind: &str| {
        status
            .addresses
            .iter()
            .flatten()
            .find(|address| address.type_ == kind)
            .map_or_else(|| "<none>".to_owned(), |address| address.address.clone())
    };
    let info = status.node_info.clone().unwrap_or_default();
    vec![
        name_of(&node.metadata.name),
        json!(state),
        json!(if roles.is_empty() {
            "<none>".to_owned()
        } else {
            roles.join(",")
        }),
        age(node.metadata.creation_timestamp.as_ref(), now),
        json!(info.kubelet_version),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info.os_image),
        json!(info.kernel_version),
        json!(info.container_runtime_version),
    ]
}

fn service_cells(service: &Service, now: SystemTime) -> Vec<Value> {
    let spec = service.spec.clone().unwrap_or_default();
    let kind = spec.type_.clone().unwrap_or_else(|| "ClusterIP".to_owned());
    // kubectl's `getServiceExternalIP`.
    let mut external: Vec<String> = Vec::new();
    if kind == "LoadBalancer" {
        let ingress = service
            .status
            .as_ref()
            .and_then(|status| status.load_balancer.as_ref())
            .and_then(|balancer| balancer.ingress.as_ref());
        external.extend(
            ingress
                .iter()
                .flat_map(|ingress| ingress.iter())
                .filter_map(|ingress| ingress.ip.clone().or_else(|| ingress.hostname.clone())),
        );
    }
    external.extend(spec.external_ips.iter().flatten().cloned());
    let external = match kind.as_str() {
        "ExternalName" => spec.external_name.clone().unwrap_or_default(),
        "LoadBalancer" if external.is_empty() => "<pending>".to_owned(),
        _ if external.is_empty() => "<none>".to_owned(),
        _ => external.join(","),
    };
    let ports: Vec<String> = spec
        .ports
        .iter()
        .flatten()
        .map(|port| {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            match port.node_port {
                Some(node_port) => format!("{}:{node_port}/{protocol}", port.port),
                None => format!("{}/{protocol}", port.port),
            }
        })
        .collect();
    let selector = spec.selector.as_ref().map(|labels| LabelSelector {
        match_labels: Some(labels.clone()),
        ..LabelSelector::default()
    });
    vec![
        name_of(&service.metadata.name),
        json!(kind),
        json!(
            spec.cluster_ip
                .filter(|ip| !ip.is_empty())
                .unwrap_or_else(|| "<none>".to_owned())
        ),
        json!(external),
        json!(if ports.is_empty() {
            "<none>".to_owned()
        } else {
            ports.join(",")
        }),
        age(service.metadata.creation_timestamp.as_ref(), now),
        json!(format_selector(selector.as_ref())),
    ]
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

/// A row condition, as the pod printer sets for finished pods.
#[derive(Serialize)]
struct Condition {
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    reason: &'static str,
    message: &'static str,
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
    use super::*;
    use crate::wire::resources::{PODS, RESOURCES};

    fn at(rfc3339: &str) -> SystemTime {
        let time: Time = serde_json::from_value(json!(rfc3339)).expect("time");
        SystemTime::UNIX_EPOCH + Duration::from_secs(time.0.as_second().unsigned_abs())
    }

    fn status_of(pod: Value) -> (String, String, String) {
        let pod: Pod = serde_json::from_value(pod).expect("pod");
        let row = pod_row(&pod, at("2026-11-27T12:00:00Z"));
        let text = |i: usize| row.cells[i].as_str().unwrap_or_default().to_owned();
        (text(1), text(2), text(3))
    }

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
        let transcript = include_str!("../../../tests/fixtures/15-list-table.txt");
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

    #[test]
    fn services_and_nodes_read_as_kubectl_prints_them() {
        let now = at("2026-11-27T12:00:00Z");
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-11-27T11:00:00Z"},
            "spec": {"clusterIP": "10.96.0.9", "selector": {"app": "web"},
                     "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}]},
        }))
        .expect("service");
        assert_eq!(
            service_cells(&service, now),
            json!([
                "web",
                "ClusterIP",
                "10.96.0.9",
                "<none>",
                "80/TCP,443:30443/TCP",
                "60m",
                "app=web"
            ])
            .as_array()
            .cloned()
            .unwrap_or_default()
        );
        let balancer: Service = serde_json::from_value(json!({
            "metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer"},
        }))
        .expect("service");
        assert_eq!(service_cells(&balancer, now)[3], "<pending>");
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "192.168.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian", "kernelVersion": "6.1",
                                    "containerRuntimeVersion": "containerd://2.0", "architecture": "amd64",
                                    "bootID": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux",
                                    "systemUUID": ""}},
        }))
        .expect("node");
        assert_eq!(
            node_cells(&node, now),
            json!([
                "n1",
                "Ready,SchedulingDisabled",
                "control-plane",
                "<unknown>",
                "v1.33.1",
                "192.168.0.2",
                "<none>",
                "Debian",
                "6.1",
                "containerd://2.0"
            ])
            .as_array()
            .cloned()
            .unwrap_or_default()
        );
    }

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
