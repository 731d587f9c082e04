//! Objects, lists, watch frames and `Status` bodies as the real server writes them in protobuf
//! (transcripts 19 and 20), converted from the JSON the world stores.
//!
//! - An object or a list is the magic `k8s\0`, then a `runtime.Unknown` { typeMeta {apiVersion,
//!   kind}, raw = the message, contentEncoding `""`, contentType `""` }.
//! - A watch frame is a 4-byte big-endian length, then a `meta.k8s.io/v1.WatchEvent` { type,
//!   object = `RawExtension` { raw = the enveloped object } }.
//!
//! k8s-pb has no serde, so the JSON is converted field by field ([`message`]): only the fields
//! listed in the crate doc are encoded, and any other is dropped. Lists are written around the
//! items' message bytes (`metadata` is field 1 and `items` field 2 of every `…List`), so each
//! object is encoded once and copied into every page.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
use serde::Deserialize;
use serde_json::Value;

use super::resources::ResourceType;

/// The magic every protobuf-encoded object starts with.
pub(crate) const MAGIC: &[u8; 4] = b"k8s\0";

/// Whether `resource` has a protobuf encoding: the built-in kinds; a custom resource has none
/// (transcript 21).
pub(crate) fn has_protobuf(resource: &ResourceType) -> bool {
    matches!(
        resource.kind,
        "Pod" | "Node" | "Namespace" | "Service" | "Deployment"
    )
}

/// The protobuf message of a stored object (list-item JSON), without the envelope; `None` when
/// `resource` has no protobuf encoding or `item` is not a JSON object.
pub(crate) fn message(resource: &ResourceType, item: &[u8]) -> Option<Bytes> {
    let object: Value = serde_json::from_slice(item).ok()?;
    if !object.is_object() {
        return None;
    }
    let meta = Some(object_meta(&object["metadata"]));
    let encoded = match resource.kind {
        "Pod" => core::Pod {
            metadata: meta,
            spec: child(&object, "spec", pod_spec),
            status: child(&object, "status", pod_status),
        }
        .encode_to_vec(),
        "Node" => core::Node {
            metadata: meta,
            spec: child(&object, "spec", node_spec),
            status: child(&object, "status", node_status),
        }
        .encode_to_vec(),
        "Namespace" => core::Namespace {
            metadata: meta,
            spec: child(&object, "spec", |v| core::NamespaceSpec {
                finalizers: strings(v, "finalizers"),
            }),
            status: child(&object, "status", |v| core::NamespaceStatus {
                phase: string(v, "phase"),
                ..Default::default()
            }),
        }
        .encode_to_vec(),
        "Service" => core::Service {
            metadata: meta,
            spec: child(&object, "spec", service_spec),
            status: child(&object, "status", service_status),
        }
        .encode_to_vec(),
        "Deployment" => apps::Deployment {
            metadata: meta,
            spec: child(&object, "spec", deployment_spec),
            status: child(&object, "status", deployment_status),
        }
        .encode_to_vec(),
        _ => return None,
    };
    Some(Bytes::from(encoded))
}

/// `k8s\0` + `runtime.Unknown` around `raw`, a message of `kind` in `api_version`.
pub(crate) fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(raw.len() + 64);
    out.put_slice(MAGIC);
    put_unknown(&mut out, api_version, kind, &[raw]);
    out.freeze()
}

/// A list body: the envelope around a `…List` { metadata = `list_meta`, items = `items`
/// (messages) }, the envelope naming `list_kind` when given (a hostile answer) or else the
/// resource's list kind.
pub(crate) fn list_body(
    resource: &ResourceType,
    list_kind: Option<&str>,
    list_meta: &meta::ListMeta,
    items: &[&[u8]],
) -> Bytes {
    let mut list = BytesMut::new();
    put_message_field(&mut list, 1, &list_meta.encode_to_vec());
    let head = list.freeze();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(items.len() * 2 + 1);
    parts.push(&head);
    let keys: Vec<Vec<u8>> = items
        .iter()
        .map(|item| {
            let mut key = Vec::with_capacity(6);
            encode_key(2, WireType::LengthDelimited, &mut key);
            encode_varint(item.len() as u64, &mut key);
            key
        })
        .collect();
    for (key, item) in keys.iter().zip(items) {
        parts.push(key);
        parts.push(item);
    }
    let size: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = BytesMut::with_capacity(size + 64);
    out.put_slice(MAGIC);
    let kind = list_kind.map_or_else(|| format!("{}List", resource.kind), str::to_owned);
    put_unknown(&mut out, &resource.api_version(), &kind, &parts);
    out.freeze()
}

/// A watch frame: length, then `WatchEvent` { `event_type`, object = RawExtension { raw =
/// `object` (already enveloped) } }.
pub(crate) fn watch_frame(event_type: &str, object: &[u8]) -> Bytes {
    let event = meta::WatchEvent {
        r#type: Some(event_type.to_owned()),
        object: Some(k8s_pb::apimachinery::pkg::runtime::RawExtension {
            raw: Some(object.to_vec()),
        }),
    };
    let len = event.encoded_len();
    let mut out = BytesMut::with_capacity(len + 4);
    out.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    event.encode_raw(&mut out);
    out.freeze()
}

/// A JSON watch line (`{"type":…,"object":{…}}`) as a protobuf frame of `resource`: objects of
/// `resource` and `Status` objects (ERROR events) are converted; `None` for anything else (the
/// caller then sends the line's bytes as they are, which no client decodes as a frame).
pub(crate) fn frame_from_line(line: &[u8], resource: &ResourceType) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        #[serde(borrow)]
        object: &'a serde_json::value::RawValue,
    }
    let parsed: Line<'_> = serde_json::from_slice(line).ok()?;
    let object = parsed.object.get().as_bytes();
    let enveloped = if parsed.event_type == "ERROR" {
        status_body(object)?
    } else {
        // The envelope names the kind the object says it is (a fault's ConfigMap stays one).
        #[derive(Deserialize)]
        struct Kind<'a> {
            kind: Option<&'a str>,
        }
        let kind = serde_json::from_slice::<Kind<'_>>(object)
            .ok()
            .and_then(|object| object.kind)
            .unwrap_or(resource.kind);
        envelope(&resource.api_version(), kind, &message(resource, object)?)
    };
    Some(watch_frame(parsed.event_type, &enveloped))
}

/// A `Status` body (its JSON text) in protobuf, as the real server writes errors when protobuf
/// was negotiated; `None` if `object` is not JSON.
pub(crate) fn status_body(object: &[u8]) -> Option<Bytes> {
    let status: Value = serde_json::from_slice(object).ok()?;
    let message = meta::Status {
        metadata: child(&status, "metadata", |v| meta::ListMeta {
            r#continue: string(v, "continue"),
            ..Default::default()
        }),
        status: string(&status, "status"),
        message: string(&status, "message"),
        reason: string(&status, "reason"),
        details: child(&status, "details", |v| meta::StatusDetails {
            name: string(v, "name"),
            group: string(v, "group"),
            kind: string(v, "kind"),
            causes: each(v, "causes", |c| meta::StatusCause {
                reason: string(c, "reason"),
                message: string(c, "message"),
                field: string(c, "field"),
            }),
            retry_after_seconds: int32(v, "retryAfterSeconds"),
            ..Default::default()
        }),
        code: int32(&status, "code"),
    };
    Some(envelope("v1", "Status", &message.encode_to_vec()))
}

/// Writes a `runtime.Unknown` whose `raw` is the concatenation of `raw`.
fn put_unknown(out: &mut BytesMut, api_version: &str, kind: &str, raw: &[&[u8]]) {
    let type_meta = k8s_pb::apimachinery::pkg::runtime::TypeMeta {
        api_version: Some(api_version.to_owned()),
        kind: Some(kind.to_owned()),
    }
    .encode_to_vec();
    put_message_field(out, 1, &type_meta);
    let raw_len: usize = raw.iter().map(|r| r.len()).sum();
    encode_key(2, WireType::LengthDelimited, out);
    encode_varint(raw_len as u64, out);
    out.reserve(raw_len + encoded_len_varint(raw_len as u64) + 4);
    for part in raw {
        out.put_slice(part);
    }
    // contentEncoding and contentType, empty as the real server writes them.
    put_message_field(out, 3, b"");
    put_message_field(out, 4, b"");
}

/// Writes field `tag` as length-delimited `bytes`.
fn put_message_field(out: &mut impl BufMut, tag: u32, bytes: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.put_slice(bytes);
}

// ---- JSON field readers: each returns the empty value when the field is absent or mistyped.

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_owned)
}

fn boolean(v: &Value, key: &str) -> Option<bool> {
    v.get(key)?.as_bool()
}

fn int64(v: &Value, key: &str) -> Option<i64> {
    v.get(key)?.as_i64()
}

fn int32(v: &Value, key: &str) -> Option<i32> {
    int64(v, key).and_then(|n| i32::try_from(n).ok())
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    each(v, key, |s| s.as_str().map(str::to_owned))
        .into_iter()
        .flatten()
        .collect()
}

fn string_map(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn quantities(v: &Value, key: &str) -> BTreeMap<String, Quantity> {
    string_map(v, key)
        .into_iter()
        .map(|(k, s)| (k, Quantity { string: Some(s) }))
        .collect()
}

fn time(v: &Value, key: &str) -> Option<meta::Time> {
    let parsed = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time::deserialize(v.get(key)?);
    let timestamp = parsed.ok()?.0;
    Some(meta::Time {
        seconds: Some(timestamp.as_second()),
        nanos: Some(timestamp.subsec_nanosecond()),
    })
}

fn int_or_string(v: &Value, key: &str) -> Option<IntOrString> {
    match v.get(key)? {
        Value::Number(n) => Some(IntOrString {
            r#type: Some(0),
            int_val: n.as_i64().and_then(|n| i32::try_from(n).ok()),
            str_val: None,
        }),
        Value::String(s) => Some(IntOrString {
            r#type: Some(1),
            int_val: None,
            str_val: Some(s.clone()),
        }),
        _ => None,
    }
}

/// `convert` applied to the object at `key`, if there is one.
fn child<T>(v: &Value, key: &str, convert: impl Fn(&Value) -> T) -> Option<T> {
    v.get(key).filter(|c| c.is_object()).map(convert)
}

/// `convert` applied to each element of the array at `key`.
fn each<T>(v: &Value, key: &str, convert: impl Fn(&Value) -> T) -> Vec<T> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().map(convert).collect())
        .unwrap_or_default()
}

// ---- metadata

fn object_meta(v: &Value) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: string(v, "name"),
        generate_name: string(v, "generateName"),
        namespace: string(v, "namespace"),
        uid: string(v, "uid"),
        resource_version: string(v, "resourceVersion"),
        generation: int64(v, "generation"),
        // Not optional in Go: a zero time is written as an empty message (transcript 20's
        // BOOKMARK), where JSON has `null`.
        creation_timestamp: time(v, "creationTimestamp").or(Some(meta::Time::default())),
        deletion_timestamp: time(v, "deletionTimestamp"),
        deletion_grace_period_seconds: int64(v, "deletionGracePeriodSeconds"),
        labels: string_map(v, "labels"),
        annotations: string_map(v, "annotations"),
        owner_references: each(v, "ownerReferences", |r| meta::OwnerReference {
            api_version: string(r, "apiVersion"),
            kind: string(r, "kind"),
            name: string(r, "name"),
            uid: string(r, "uid"),
            controller: boolean(r, "controller"),
            block_owner_deletion: boolean(r, "blockOwnerDeletion"),
        }),
        finalizers: strings(v, "finalizers"),
        managed_fields: each(v, "managedFields", |m| meta::ManagedFieldsEntry {
            manager: string(m, "manager"),
            operation: string(m, "operation"),
            api_version: string(m, "apiVersion"),
            time: time(m, "time"),
            fields_type: string(m, "fieldsType"),
            // FieldsV1 travels as its JSON text in protobuf too.
            fields_v1: m.get("fieldsV1").map(|f| meta::FieldsV1 {
                raw: Some(f.to_string().into_bytes()),
            }),
            subresource: string(m, "subresource"),
        }),
        ..Default::default()
    }
}

fn label_selector(v: &Value) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: string_map(v, "matchLabels"),
        match_expressions: each(v, "matchExpressions", |e| meta::LabelSelectorRequirement {
            key: string(e, "key"),
            operator: string(e, "operator"),
            values: strings(e, "values"),
        }),
    }
}

// ---- pods

fn pod_spec(v: &Value) -> core::PodSpec {
    core::PodSpec {
        volumes: each(v, "volumes", volume),
        init_containers: each(v, "initContainers", container),
        containers: each(v, "containers", container),
        restart_policy: string(v, "restartPolicy"),
        termination_grace_period_seconds: int64(v, "terminationGracePeriodSeconds"),
        active_deadline_seconds: int64(v, "activeDeadlineSeconds"),
        dns_policy: string(v, "dnsPolicy"),
        node_selector: string_map(v, "nodeSelector"),
        service_account_name: string(v, "serviceAccountName"),
        service_account: string(v, "serviceAccount"),
        node_name: string(v, "nodeName"),
        host_network: boolean(v, "hostNetwork"),
        security_context: child(v, "securityContext", |s| core::PodSecurityContext {
            run_as_user: int64(s, "runAsUser"),
            run_as_group: int64(s, "runAsGroup"),
            run_as_non_root: boolean(s, "runAsNonRoot"),
            fs_group: int64(s, "fsGroup"),
            ..Default::default()
        }),
        hostname: string(v, "hostname"),
        subdomain: string(v, "subdomain"),
        scheduler_name: string(v, "schedulerName"),
        tolerations: each(v, "tolerations", |t| core::Toleration {
            key: string(t, "key"),
            operator: string(t, "operator"),
            value: string(t, "value"),
            effect: string(t, "effect"),
            toleration_seconds: int64(t, "tolerationSeconds"),
        }),
        priority_class_name: string(v, "priorityClassName"),
        priority: int32(v, "priority"),
        enable_service_links: boolean(v, "enableServiceLinks"),
        preemption_policy: string(v, "preemptionPolicy"),
        ..Default::default()
    }
}

fn container(v: &Value) -> core::Container {
    core::Container {
        name: string(v, "name"),
        image: string(v, "image"),
        command: strings(v, "command"),
        args: strings(v, "args"),
        working_dir: string(v, "workingDir"),
        ports: each(v, "ports", |p| core::ContainerPort {
            name: string(p, "name"),
            host_port: int32(p, "hostPort"),
            container_port: int32(p, "containerPort"),
            protocol: string(p, "protocol"),
            host_ip: string(p, "hostIP"),
        }),
        env: each(v, "env", |e| core::EnvVar {
            name: string(e, "name"),
            value: string(e, "value"),
            value_from: child(e, "valueFrom", |s| core::EnvVarSource {
                field_ref: child(s, "fieldRef", object_field_selector),
                ..Default::default()
            }),
        }),
        resources: child(v, "resources", |r| core::ResourceRequirements {
            limits: quantities(r, "limits"),
            requests: quantities(r, "requests"),
            ..Default::default()
        }),
        volume_mounts: each(v, "volumeMounts", |m| core::VolumeMount {
            name: string(m, "name"),
            read_only: boolean(m, "readOnly"),
            mount_path: string(m, "mountPath"),
            sub_path: string(m, "subPath"),
            ..Default::default()
        }),
        liveness_probe: child(v, "livenessProbe", probe),
        readiness_probe: child(v, "readinessProbe", probe),
        startup_probe: child(v, "startupProbe", probe),
        termination_message_path: string(v, "terminationMessagePath"),
        termination_message_policy: string(v, "terminationMessagePolicy"),
        image_pull_policy: string(v, "imagePullPolicy"),
        ..Default::default()
    }
}

fn object_field_selector(v: &Value) -> core::ObjectFieldSelector {
    core::ObjectFieldSelector {
        api_version: string(v, "apiVersion"),
        field_path: string(v, "fieldPath"),
    }
}

fn probe(v: &Value) -> core::Probe {
    core::Probe {
        handler: Some(core::ProbeHandler {
            http_get: child(v, "httpGet", |h| core::HttpGetAction {
                path: string(h, "path"),
                port: int_or_string(h, "port"),
                host: string(h, "host"),
                scheme: string(h, "scheme"),
                ..Default::default()
            }),
            tcp_socket: child(v, "tcpSocket", |t| core::TcpSocketAction {
                port: int_or_string(t, "port"),
                host: string(t, "host"),
            }),
            exec: child(v, "exec", |e| core::ExecAction {
                command: strings(e, "command"),
            }),
            ..Default::default()
        }),
        initial_delay_seconds: int32(v, "initialDelaySeconds"),
        timeout_seconds: int32(v, "timeoutSeconds"),
        period_seconds: int32(v, "periodSeconds"),
        success_threshold: int32(v, "successThreshold"),
        failure_threshold: int32(v, "failureThreshold"),
        ..Default::default()
    }
}

fn key_to_path(v: &Value) -> core::KeyToPath {
    core::KeyToPath {
        key: string(v, "key"),
        path: string(v, "path"),
        mode: int32(v, "mode"),
    }
}

fn local_object_reference(v: &Value) -> Option<core::LocalObjectReference> {
    Some(core::LocalObjectReference {
        name: string(v, "name"),
    })
}

fn volume(v: &Value) -> core::Volume {
    core::Volume {
        name: string(v, "name"),
        volume_source: Some(core::VolumeSource {
            config_map: child(v, "configMap", |c| core::ConfigMapVolumeSource {
                local_object_reference: local_object_reference(c),
                items: each(c, "items", key_to_path),
                default_mode: int32(c, "defaultMode"),
                optional: boolean(c, "optional"),
            }),
            empty_dir: child(v, "emptyDir", |e| core::EmptyDirVolumeSource {
                medium: string(e, "medium"),
                size_limit: string(e, "sizeLimit").map(|s| Quantity { string: Some(s) }),
            }),
            secret: child(v, "secret", |s| core::SecretVolumeSource {
                secret_name: string(s, "secretName"),
                items: each(s, "items", key_to_path),
                default_mode: int32(s, "defaultMode"),
                optional: boolean(s, "optional"),
            }),
            projected: child(v, "projected", |p| core::ProjectedVolumeSource {
                sources: each(p, "sources", volume_projection),
                default_mode: int32(p, "defaultMode"),
            }),
            ..Default::default()
        }),
    }
}

fn volume_projection(v: &Value) -> core::VolumeProjection {
    core::VolumeProjection {
        service_account_token: child(v, "serviceAccountToken", |t| {
            core::ServiceAccountTokenProjection {
                audience: string(t, "audience"),
                expiration_seconds: int64(t, "expirationSeconds"),
                path: string(t, "path"),
            }
        }),
        config_map: child(v, "configMap", |c| core::ConfigMapProjection {
            local_object_reference: local_object_reference(c),
            items: each(c, "items", key_to_path),
            optional: boolean(c, "optional"),
        }),
        downward_api: child(v, "downwardAPI", |d| core::DownwardAPIProjection {
            items: each(d, "items", |f| core::DownwardAPIVolumeFile {
                path: string(f, "path"),
                field_ref: child(f, "fieldRef", object_field_selector),
                mode: int32(f, "mode"),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

fn pod_status(v: &Value) -> core::PodStatus {
    core::PodStatus {
        phase: string(v, "phase"),
        conditions: each(v, "conditions", |c| core::PodCondition {
            r#type: string(c, "type"),
            status: string(c, "status"),
            last_probe_time: time(c, "lastProbeTime"),
            last_transition_time: time(c, "lastTransitionTime"),
            reason: string(c, "reason"),
            message: string(c, "message"),
            ..Default::default()
        }),
        message: string(v, "message"),
        reason: string(v, "reason"),
        nominated_node_name: string(v, "nominatedNodeName"),
        host_ip: string(v, "hostIP"),
        host_ips: each(v, "hostIPs", |ip| core::HostIp {
            ip: string(ip, "ip"),
        }),
        pod_ip: string(v, "podIP"),
        pod_ips: each(v, "podIPs", |ip| core::PodIp {
            ip: string(ip, "ip"),
        }),
        start_time: time(v, "startTime"),
        init_container_statuses: each(v, "initContainerStatuses", container_status),
        container_statuses: each(v, "containerStatuses", container_status),
        qos_class: string(v, "qosClass"),
        ..Default::default()
    }
}

fn container_status(v: &Value) -> core::ContainerStatus {
    core::ContainerStatus {
        name: string(v, "name"),
        state: child(v, "state", container_state),
        last_state: child(v, "lastState", container_state),
        ready: boolean(v, "ready"),
        restart_count: int32(v, "restartCount"),
        image: string(v, "image"),
        image_id: string(v, "imageID"),
        container_id: string(v, "containerID"),
        started: boolean(v, "started"),
        ..Default::default()
    }
}

fn container_state(v: &Value) -> core::ContainerState {
    core::ContainerState {
        waiting: child(v, "waiting", |w| core::ContainerStateWaiting {
            reason: string(w, "reason"),
            message: string(w, "message"),
        }),
        running: child(v, "running", |r| core::ContainerStateRunning {
            started_at: time(r, "startedAt"),
        }),
        terminated: child(v, "terminated", |t| core::ContainerStateTerminated {
            exit_code: int32(t, "exitCode"),
            signal: int32(t, "signal"),
            reason: string(t, "reason"),
            message: string(t, "message"),
            started_at: time(t, "startedAt"),
            finished_at: time(t, "finishedAt"),
            container_id: string(t, "containerID"),
        }),
    }
}

// ---- nodes, services, deployments

fn node_spec(v: &Value) -> core::NodeSpec {
    core::NodeSpec {
        pod_cidr: string(v, "podCIDR"),
        pod_cid_rs: strings(v, "podCIDRs"),
        provider_id: string(v, "providerID"),
        unschedulable: boolean(v, "unschedulable"),
        taints: each(v, "taints", |t| core::Taint {
            key: string(t, "key"),
            value: string(t, "value"),
            effect: string(t, "effect"),
            time_added: time(t, "timeAdded"),
        }),
        ..Default::default()
    }
}

fn node_status(v: &Value) -> core::NodeStatus {
    core::NodeStatus {
        capacity: quantities(v, "capacity"),
        allocatable: quantities(v, "allocatable"),
        conditions: each(v, "conditions", |c| core::NodeCondition {
            r#type: string(c, "type"),
            status: string(c, "status"),
            last_heartbeat_time: time(c, "lastHeartbeatTime"),
            last_transition_time: time(c, "lastTransitionTime"),
            reason: string(c, "reason"),
            message: string(c, "message"),
        }),
        addresses: each(v, "addresses", |a| core::NodeAddress {
            r#type: string(a, "type"),
            address: string(a, "address"),
        }),
        node_info: child(v, "nodeInfo", |i| core::NodeSystemInfo {
            machine_id: string(i, "machineID"),
            system_uuid: string(i, "systemUUID"),
            boot_id: string(i, "bootID"),
            kernel_version: string(i, "kernelVersion"),
            os_image: string(i, "osImage"),
            container_runtime_version: string(i, "containerRuntimeVersion"),
            kubelet_version: string(i, "kubeletVersion"),
            kube_proxy_version: string(i, "kubeProxyVersion"),
            operating_system: string(i, "operatingSystem"),
            architecture: string(i, "architecture"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn service_spec(v: &Value) -> core::ServiceSpec {
    core::ServiceSpec {
        ports: each(v, "ports", |p| core::ServicePort {
            name: string(p, "name"),
            protocol: string(p, "protocol"),
            port: int32(p, "port"),
            target_port: int_or_string(p, "targetPort"),
            node_port: int32(p, "nodePort"),
            ..Default::default()
        }),
        selector: string_map(v, "selector"),
        cluster_ip: string(v, "clusterIP"),
        cluster_ips: strings(v, "clusterIPs"),
        r#type: string(v, "type"),
        external_ips: strings(v, "externalIPs"),
        session_affinity: string(v, "sessionAffinity"),
        external_name: string(v, "externalName"),
        ..Default::default()
    }
}

fn service_status(v: &Value) -> core::ServiceStatus {
    core::ServiceStatus {
        load_balancer: child(v, "loadBalancer", |b| core::LoadBalancerStatus {
            ingress: each(b, "ingress", |i| core::LoadBalancerIngress {
                ip: string(i, "ip"),
                hostname: string(i, "hostname"),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

fn deployment_spec(v: &Value) -> apps::DeploymentSpec {
    apps::DeploymentSpec {
        replicas: int32(v, "replicas"),
        selector: child(v, "selector", label_selector),
        template: child(v, "template", |t| core::PodTemplateSpec {
            metadata: child(t, "metadata", object_meta),
            spec: child(t, "spec", pod_spec),
        }),
        min_ready_seconds: int32(v, "minReadySeconds"),
        revision_history_limit: int32(v, "revisionHistoryLimit"),
        paused: boolean(v, "paused"),
        progress_deadline_seconds: int32(v, "progressDeadlineSeconds"),
        ..Default::default()
    }
}

fn deployment_status(v: &Value) -> apps::DeploymentStatus {
    apps::DeploymentStatus {
        observed_generation: int64(v, "observedGeneration"),
        replicas: int32(v, "replicas"),
        updated_replicas: int32(v, "updatedReplicas"),
        ready_replicas: int32(v, "readyReplicas"),
        available_replicas: int32(v, "availableReplicas"),
        unavailable_replicas: int32(v, "unavailableReplicas"),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use k8s_pb::apimachinery::pkg::runtime::Unknown;
    use serde_json::json;

    use super::*;
    use crate::wire::resources::{PODS, RESOURCES};

    /// A pod with the fields of transcripts 19/20's.
    fn small_pod() -> Vec<u8> {
        let pod = json!({"metadata": {"name": "a", "namespace": "shop", "uid": "u",
                         "resourceVersion": "5", "creationTimestamp": "2026-11-27T17:37:02Z",
                         "labels": {"bar": "kreflect"}},
                         "spec": {"containers": [{"name": "c", "image": "example.invalid/none"}]},
                         "status": {"phase": "Running"}});
        pod.to_string().into_bytes()
    }

    const LIST_19: &[u8] = include_bytes!("../../tests/fixtures/19-list-protobuf.bin");
    const WATCH_20: &[u8] = include_bytes!("../../tests/fixtures/20-watch-protobuf.bin");

    /// The `runtime.Unknown` after the magic.
    fn unwrap(enveloped: &[u8]) -> Unknown {
        assert_eq!(&enveloped[..4], MAGIC);
        Unknown::decode(&enveloped[4..]).expect("runtime.Unknown")
    }

    /// The frames of a watch body: 4-byte big-endian length, then a WatchEvent.
    fn frames(mut body: &[u8]) -> Vec<meta::WatchEvent> {
        let mut events = Vec::new();
        while !body.is_empty() {
            let len = u32::from_be_bytes(body[..4].try_into().expect("length")) as usize;
            events.push(meta::WatchEvent::decode(&body[4..4 + len]).expect("WatchEvent"));
            body = &body[4 + len..];
        }
        events
    }

    /// The field numbers and wire types at the top level of `message`, in order.
    fn fields(message: &[u8]) -> Vec<(u32, WireType)> {
        let mut buf = message;
        let mut seen = Vec::new();
        while !buf.is_empty() {
            let (tag, wire_type) = prost::encoding::decode_key(&mut buf).expect("key");
            seen.push((tag, wire_type));
            prost::encoding::skip_field(wire_type, tag, &mut buf, Default::default())
                .expect("field");
        }
        seen
    }

    #[test]
    fn a_list_body_has_transcript_19s_envelope() {
        let real = unwrap(LIST_19);
        let item = small_pod();
        let pod = message(PODS, &item).expect("pod");
        let list_meta = meta::ListMeta {
            resource_version: Some("7".to_owned()),
            r#continue: Some("token".to_owned()),
            remaining_item_count: Some(1),
            self_link: Some(String::new()),
        };
        let ours_bytes = list_body(PODS, None, &list_meta, &[&pod, &pod]);
        assert_eq!(fields(&LIST_19[4..]), fields(&ours_bytes[4..]));
        let ours = unwrap(&ours_bytes);
        assert_eq!(ours.type_meta, real.type_meta);
        assert_eq!(
            (
                ours.content_encoding.as_deref(),
                ours.content_type.as_deref()
            ),
            (Some(""), Some(""))
        );
        assert_eq!(real.content_encoding.as_deref(), Some(""));
        let real_list = core::PodList::decode(real.raw.as_deref().expect("raw")).expect("list");
        let our_list = core::PodList::decode(ours.raw.as_deref().expect("raw")).expect("list");
        assert_eq!(real_list.items.len(), 2);
        assert_eq!(our_list.items.len(), 2);
        assert_eq!(our_list.metadata, Some(list_meta));
        let real_raw = real.raw.expect("raw");
        let our_raw = ours.raw.expect("raw");
        assert_eq!(
            fields(&real_raw),
            fields(&our_raw),
            "metadata, items, items"
        );
    }

    #[test]
    fn watch_frames_have_transcript_20s_shape() {
        let real = frames(WATCH_20);
        assert_eq!(real[0].r#type.as_deref(), Some("MODIFIED"));
        let item = small_pod();
        let pod = message(PODS, &item).expect("pod");
        let ours = frames(&watch_frame("MODIFIED", &envelope("v1", "Pod", &pod)));
        let real_object = unwrap(
            real[0]
                .object
                .as_ref()
                .and_then(|o| o.raw.as_deref())
                .expect("raw"),
        );
        let our_object = unwrap(
            ours[0]
                .object
                .as_ref()
                .and_then(|o| o.raw.as_deref())
                .expect("raw"),
        );
        assert_eq!(our_object.type_meta, real_object.type_meta);
        assert_eq!(
            core::Pod::decode(our_object.raw.as_deref().expect("raw")).expect("pod"),
            core::Pod::decode(&pod[..]).expect("pod")
        );

        // A BOOKMARK, from the JSON line the sim renders: only the resourceVersion.
        let line = crate::wire::encode::bookmark_line(157_567, PODS);
        let ours = frames(&frame_from_line(&line, PODS).expect("frame"));
        let real_bookmark = real
            .iter()
            .find(|e| e.r#type.as_deref() == Some("BOOKMARK"));
        let real_bookmark = real_bookmark.expect("transcript 20 has a bookmark");
        let decode = |event: &meta::WatchEvent| {
            let unknown = unwrap(
                event
                    .object
                    .as_ref()
                    .and_then(|o| o.raw.as_deref())
                    .expect("raw"),
            );
            core::Pod::decode(unknown.raw.as_deref().expect("raw")).expect("pod")
        };
        let (real_pod, our_pod) = (decode(real_bookmark), decode(&ours[0]));
        assert_eq!(ours[0].r#type.as_deref(), Some("BOOKMARK"));
        let rv = |pod: &core::Pod| {
            pod.metadata
                .as_ref()
                .and_then(|m| m.resource_version.clone())
        };
        assert_eq!(rv(&our_pod), Some("157567".to_owned()));
        assert!(rv(&real_pod).is_some());
        let created = |pod: &core::Pod| pod.metadata.as_ref().and_then(|m| m.creation_timestamp);
        assert_eq!(
            created(&our_pod),
            created(&real_pod),
            "an empty Time, as Go writes it"
        );
    }

    #[test]
    fn an_error_line_becomes_a_status_frame() {
        let status = crate::wire::status::StatusError::too_old(5, 9);
        let line = crate::wire::encode::error_line(&status);
        let event = frames(&frame_from_line(&line, PODS).expect("frame")).remove(0);
        assert_eq!(event.r#type.as_deref(), Some("ERROR"));
        let unknown = unwrap(event.object.and_then(|o| o.raw).as_deref().expect("raw"));
        assert_eq!(
            unknown.type_meta.and_then(|t| t.kind).as_deref(),
            Some("Status")
        );
        let decoded = meta::Status::decode(unknown.raw.as_deref().expect("raw")).expect("status");
        assert_eq!(decoded.code, Some(410));
        assert_eq!(decoded.reason.as_deref(), Some("Expired"));
        assert_eq!(decoded.status.as_deref(), Some("Failure"));
        assert!(frame_from_line(b"{\"type\":\"ADDED\",\"object\":{\"kind\":\n", PODS).is_none());
    }

    #[test]
    fn other_built_in_kinds_encode_and_custom_resources_do_not() {
        let deployment = json!({
            "metadata": {"name": "web", "namespace": "shop", "deletionTimestamp": "2026-11-27T12:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}},
            "status": {"readyReplicas": 2},
        });
        let deployments = &RESOURCES[4];
        let bytes = message(deployments, deployment.to_string().as_bytes()).expect("deployment");
        let decoded = apps::Deployment::decode(&bytes[..]).expect("decode");
        let spec = decoded.spec.expect("spec");
        assert_eq!(spec.replicas, Some(3));
        assert_eq!(spec.selector.map(|s| s.match_labels.len()), Some(1));
        assert_eq!(decoded.status.and_then(|s| s.ready_replicas), Some(2));
        let deleted = decoded.metadata.and_then(|m| m.deletion_timestamp);
        assert!(deleted.and_then(|t| t.seconds).is_some());
        let node = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true},
                          "status": {"nodeInfo": {"kubeletVersion": "v1.33.1"}}});
        let node = core::Node::decode(
            &message(&RESOURCES[1], node.to_string().as_bytes()).expect("node")[..],
        )
        .expect("decode");
        assert_eq!(node.spec.and_then(|s| s.unschedulable), Some(true));
        let service = json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": "http"}]}});
        let service = core::Service::decode(
            &message(&RESOURCES[3], service.to_string().as_bytes()).expect("svc")[..],
        )
        .expect("decode");
        let target = service.spec.and_then(|s| s.ports[0].target_port.clone());
        assert_eq!(target.and_then(|t| t.str_val).as_deref(), Some("http"));
        assert!(has_protobuf(&RESOURCES[2]));
        assert!(!has_protobuf(&RESOURCES[5]));
        assert_eq!(message(&RESOURCES[5], b"{\"metadata\":{}}"), None);
    }
}
