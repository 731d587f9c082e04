//! The `columnDefinitions` of each kind's Table: kubectl's printer columns with the real
//! server's descriptions (priority 0: the default columns; priority 1: `-o wide`'s extra ones).

use serde::Serialize;

use crate::wire::resources::ResourceType;

/// One column definition, members in the real server's order.
#[derive(Serialize)]
pub(super) struct Column {
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
pub(super) fn columns(resource: &ResourceType) -> Vec<Column> {
    match resource.kind {
        "Pod" => pod_columns(),
        "Deployment" => deployment_columns(),
        "Node" => node_columns(),
        "Namespace" => namespace_columns(),
        "Service" => service_columns(),
        "Widget" => widget_columns(),
        _ => vec![NAME, AGE],
    }
}

/// A pod's columns, and `-o wide`'s IP, node, nominated node and readiness gates.
fn pod_columns() -> Vec<Column> {
    vec![
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
    ]
}

/// A deployment's columns, and `-o wide`'s containers, images and selector.
fn deployment_columns() -> Vec<Column> {
    vec![
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
    ]
}

/// A node's columns, and `-o wide`'s addresses, OS image, kernel and container runtime.
fn node_columns() -> Vec<Column> {
    vec![
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
    ]
}

/// A namespace's columns.
fn namespace_columns() -> Vec<Column> {
    vec![
        NAME,
        column("Status", "The status of the namespace", 0),
        AGE,
    ]
}

/// A service's columns, and `-o wide`'s selector.
fn service_columns() -> Vec<Column> {
    vec![
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
    ]
}

/// The custom resource's columns: its one `additionalPrinterColumn`, and no Age (transcript 17).
fn widget_columns() -> Vec<Column> {
    vec![
        NAME,
        column(
            "Color",
            "Custom resource definition column (in JSONPath format): .spec.color",
            0,
        ),
    ]
}
