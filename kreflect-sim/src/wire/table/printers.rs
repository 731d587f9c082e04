//! The rows of every kind but pods (`pod.rs`), as kubectl's printers compute their cells for
//! the fields the generated objects have.

use std::time::SystemTime;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::cells::{Row, age, name_of};
use super::pod::pod_row;
use crate::wire::resources::ResourceType;

/// The row of `item` (a stored list item, or a watch event's object), as of `now`.
pub(super) fn row(resource: &ResourceType, item: &[u8], now: SystemTime) -> Row {
    match resource.kind {
        "Pod" => pod_row(&parse(item), now),
        "Deployment" => Row::plain(deployment_cells(&parse(item), now)),
        "Node" => Row::plain(node_cells(&parse(item), now)),
        "Namespace" => Row::plain(namespace_cells(&parse(item), now)),
        "Service" => Row::plain(service_cells(&parse(item), now)),
        "Widget" => Row::plain(widget_cells(&parse(item))),
        _ => Row::plain(default_cells(&parse(item), now)),
    }
}

/// `item` as a `T`; `T`'s default when it does not parse (stored items always do).
fn parse<T: DeserializeOwned + Default>(item: &[u8]) -> T {
    serde_json::from_slice(item).unwrap_or_default()
}

/// kubectl's `printNamespace`.
fn namespace_cells(namespace: &Namespace, now: SystemTime) -> Vec<Value> {
    let phase = namespace
        .status
        .as_ref()
        .and_then(|status| status.phase.clone());
    vec![
        name_of(&namespace.metadata.name),
        json!(phase.unwrap_or_default()),
        age(namespace.metadata.creation_timestamp.as_ref(), now),
    ]
}

/// The custom resource's cells: its name and `.spec.color`.
fn widget_cells(widget: &Value) -> Vec<Value> {
    // A JSONPath that finds nothing gives a `null` cell.
    vec![
        widget["metadata"]["name"].clone(),
        widget["spec"]["color"].clone(),
    ]
}

/// The default printer's cells: name and age.
fn default_cells(object: &Value, now: SystemTime) -> Vec<Value> {
    let created =
        serde_json::from_value::<Time>(object["metadata"]["creationTimestamp"].clone()).ok();
    vec![
        object["metadata"]["name"].clone(),
        age(created.as_ref(), now),
    ]
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

/// kubectl's `printDeployment`.
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

/// kubectl's `printNode`.
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

/// kubectl's `printService`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::table::cells::at;

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
}
