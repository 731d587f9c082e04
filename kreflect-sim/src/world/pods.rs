//! A realistic Pod generator: about 5 KB of JSON shaped like what a Deployment's pods look like
//! on a real cluster, deterministic for its inputs.

use serde_json::{Map, Value, json};

const APPS: [&str; 6] = [
    "checkout", "cart", "search", "payments", "catalog", "frontend",
];
const IMAGES: [&str; 4] = [
    "registry.example.com/shop/app",
    "registry.example.com/platform/envoy",
    "registry.example.com/platform/log-shipper",
    "docker.io/library/busybox",
];

/// A realistic Pod object for `namespace/name`: labels, annotations, ownerReferences,
/// managedFields, 1–3 containers with env/ports/resources/volumeMounts, volumes, tolerations,
/// and a Running status with conditions and containerStatuses. The same inputs always give the
/// same object; `generation` varies the parts that change over a pod's life (annotations,
/// restart counts). `metadata.resourceVersion` is left for the cluster to set.
pub fn realistic_pod(namespace: &str, name: &str, generation: u64) -> Value {
    Value::Object(realistic_pod_object(namespace, name, generation))
}

/// `realistic_pod` as a JSON map.
pub(crate) fn realistic_pod_object(
    namespace: &str,
    name: &str,
    generation: u64,
) -> Map<String, Value> {
    let pod = PodSeed::new(namespace, name, generation);
    let object = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata(&pod),
        "spec": spec(&pod),
        "status": status(&pod),
    });
    match object {
        Value::Object(mut map) => {
            vary_status(&mut map, pod.seed, &pod.started);
            map
        }
        _ => Map::new(),
    }
}

/// A generated pod's inputs, and the values drawn from them that several parts of the object
/// share.
struct PodSeed<'a> {
    namespace: &'a str,
    name: &'a str,
    generation: u64,
    /// The hash of the namespace and name that every varying value is drawn from.
    seed: u64,
    /// The application: labels, service account, the first container's name.
    app: &'static str,
    /// The ReplicaSet's `pod-template-hash`.
    hash: String,
    /// The `creationTimestamp`.
    created: String,
    /// When the containers started.
    started: String,
    container_count: u64,
}

impl<'a> PodSeed<'a> {
    fn new(namespace: &'a str, name: &'a str, generation: u64) -> PodSeed<'a> {
        let seed = fnv1a(
            namespace.as_bytes(),
            fnv1a(name.as_bytes(), 0xcbf2_9ce4_8422_2325),
        );
        PodSeed {
            namespace,
            name,
            generation,
            seed,
            app: APPS[(seed % APPS.len() as u64) as usize],
            hash: format!("{:010x}", seed >> 24),
            created: timestamp(seed % 86_400),
            started: timestamp(seed % 86_400 + 7),
            container_count: 1 + (seed >> 40) % 3,
        }
    }

    /// The owning ReplicaSet's uid.
    fn owner_uid(&self) -> String {
        uid_from(self.seed.rotate_left(17))
    }
}

/// `metadata`: a Deployment's pod, owned by its ReplicaSet, with Helm's labels and
/// annotations as real clusters show them.
fn metadata(pod: &PodSeed<'_>) -> Value {
    let PodSeed {
        namespace,
        seed,
        app,
        ref hash,
        ref created,
        ..
    } = *pod;
    json!({
        "name": pod.name,
        "generateName": format!("{app}-{hash}-"),
        "namespace": namespace,
        "uid": uid(seed),
        "creationTimestamp": created,
        "labels": {
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/instance": format!("{app}-{namespace}"),
            "app.kubernetes.io/part-of": "shop",
            "app.kubernetes.io/managed-by": "helm",
            "pod-template-hash": hash,
            "tier": if seed.is_multiple_of(2) { "backend" } else { "frontend" },
        },
        "annotations": {
            "kubectl.kubernetes.io/restartedAt": created,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9090",
            "sim.kreflect.dev/generation": pod.generation.to_string(),
            "checksum/config": format!("{:016x}{:016x}", seed, seed.rotate_left(29)),
        },
        "ownerReferences": [{
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": format!("{app}-{hash}"),
            "uid": pod.owner_uid(),
            "controller": true,
            "blockOwnerDeletion": true,
        }],
        "managedFields": managed_fields(pod),
    })
}

/// `metadata.managedFields`: the controller manager's fields, then the kubelet's status.
fn managed_fields(pod: &PodSeed<'_>) -> Value {
    let PodSeed {
        app,
        ref created,
        ref started,
        ..
    } = *pod;
    let owner_uid = pod.owner_uid();
    json!([
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": created,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {
                    "f:generateName": {},
                    "f:labels": {".": {}, "f:app.kubernetes.io/name": {}, "f:pod-template-hash": {}},
                    "f:ownerReferences": {".": {}, format!("k:{{\"uid\":\"{owner_uid}\"}}"): {}},
                },
                "f:spec": {
                    "f:containers": {format!("k:{{\"name\":\"{app}\"}}"): {".": {}, "f:env": {}, "f:image": {}, "f:ports": {}, "f:resources": {}}},
                    "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:volumes": {},
                },
            },
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": started,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:status": {
                    "f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}},
                    "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {}, "f:startTime": {},
                },
            },
            "subresource": "status",
        },
    ])
}

/// `spec`: the containers, their volumes, scheduled on a node.
fn spec(pod: &PodSeed<'_>) -> Value {
    let PodSeed {
        namespace,
        seed,
        app,
        ref hash,
        container_count,
        ..
    } = *pod;
    let containers: Vec<Value> = (0..container_count)
        .map(|i| container(app, namespace, i, seed))
        .collect();
    json!({
        "containers": containers,
        "volumes": [
            {"name": "config", "configMap": {"name": format!("{app}-config"), "defaultMode": 420}},
            {"name": "tmp", "emptyDir": {}},
            {"name": format!("kube-api-access-{}", &hash[..5]), "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ]}},
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": app,
        "serviceAccount": app,
        "nodeName": format!("node-{:03}", seed % 200),
        "securityContext": {"runAsNonRoot": true, "fsGroup": 2000},
        "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
        "priority": 0,
        "enableServiceLinks": true,
        "preemptionPolicy": "PreemptLowerPriority",
    })
}

/// `status`: Running and ready, with its IPs and one status per container; restarts grow with
/// the generation.
fn status(pod: &PodSeed<'_>) -> Value {
    let PodSeed {
        seed,
        app,
        ref created,
        ref started,
        container_count,
        ..
    } = *pod;
    let restarts = pod.generation % 4;
    let statuses: Vec<Value> = (0..container_count)
        .map(|i| container_status(app, i, seed, restarts, started))
        .collect();
    let pod_ip = format!(
        "10.{}.{}.{}",
        64 + (seed >> 8) % 64,
        (seed >> 16) % 256,
        2 + (seed >> 24) % 250
    );
    let host_ip = format!("192.168.{}.{}", (seed >> 32) % 16, 10 + seed % 200);
    json!({
        "phase": "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": started},
            {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": created},
            {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": started},
            {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": started},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": created},
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": created,
        "containerStatuses": statuses,
        "qosClass": "Burstable",
    })
}

/// Makes some pods what a real cluster also shows, so `kubectl get`'s STATUS column has more
/// than `Running` to say: one pod in eight crash-loops (its first container waiting in
/// `CrashLoopBackOff` after restarts), one in eight has completed (phase `Succeeded`, every
/// container terminated with reason `Completed`).
fn vary_status(pod: &mut Map<String, Value>, seed: u64, started: &str) {
    let Some(Value::Object(status)) = pod.get_mut("status") else {
        return;
    };
    match seed % 8 {
        3 => {
            if let Some(Value::Object(first)) = status
                .get_mut("containerStatuses")
                .and_then(|statuses| statuses.get_mut(0))
            {
                let restarts = first["restartCount"].as_u64().unwrap_or(0) + 5;
                first.insert("ready".into(), json!(false));
                first.insert("started".into(), json!(false));
                first.insert("restartCount".into(), json!(restarts));
                first.insert(
                    "state".into(),
                    json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}),
                );
                first.insert(
                    "lastState".into(),
                    json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started, "finishedAt": started}}),
                );
            }
        }
        5 => {
            status.insert("phase".into(), json!("Succeeded"));
            if let Some(Value::Array(statuses)) = status.get_mut("containerStatuses") {
                for container in statuses.iter_mut().filter_map(Value::as_object_mut) {
                    container.insert("ready".into(), json!(false));
                    container.insert("started".into(), json!(false));
                    container.insert(
                        "state".into(),
                        json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}}),
                    );
                }
            }
        }
        _ => {}
    }
}

fn container(app: &str, namespace: &str, index: u64, seed: u64) -> Value {
    let name = container_name(app, index);
    let image = IMAGES[(index as usize) % IMAGES.len()];
    json!({
        "name": name,
        "image": format!("{image}:1.{}.{}", seed % 20, index),
        "ports": [
            {"name": "http", "containerPort": 8080 + index, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090 + index, "protocol": "TCP"},
        ],
        "env": [
            {"name": "APP_NAME", "value": app},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
            {"name": "UPSTREAM", "value": format!("http://{app}.{namespace}.svc.cluster.local:8080")},
        ],
        "resources": {
            "limits": {"cpu": "500m", "memory": format!("{}Mi", 256 << index)},
            "requests": {"cpu": "100m", "memory": format!("{}Mi", 128 << index)},
        },
        "volumeMounts": [
            {"name": "config", "readOnly": true, "mountPath": "/etc/app"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080 + index, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    })
}

fn container_status(app: &str, index: u64, seed: u64, restarts: u64, started: &str) -> Value {
    let image = IMAGES[(index as usize) % IMAGES.len()];
    json!({
        "name": container_name(app, index),
        "state": {"running": {"startedAt": started}},
        "lastState": {},
        "ready": true,
        "restartCount": restarts,
        "image": format!("{image}:1.{}.{}", seed % 20, index),
        "imageID": format!("{image}@sha256:{:016x}{:016x}{:016x}{:016x}", seed, seed ^ index, seed.rotate_left(7), seed.rotate_right(11)),
        "containerID": format!("containerd://{:016x}{:016x}{:016x}{:016x}", seed.rotate_left(3), index, seed, seed.rotate_left(41)),
        "started": true,
    })
}

fn container_name(app: &str, index: u64) -> String {
    match index {
        0 => app.to_owned(),
        1 => "envoy".to_owned(),
        _ => "log-shipper".to_owned(),
    }
}

fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // One more round so that "a"+"bc" and "ab"+"c" differ.
    (hash ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3)
}

fn uid(seed: u64) -> String {
    uid_from(seed)
}

fn uid_from(seed: u64) -> String {
    let high = seed;
    let low = seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15;
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        low >> 52,
        low & 0xffff_ffff_ffff
    )
}

/// `2026-11-26T00:00:00Z` plus `seconds` (under one day).
fn timestamp(seconds: u64) -> String {
    let seconds = seconds % 86_400;
    format!(
        "2026-11-26T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_deterministic_and_about_five_kilobytes() {
        let a = realistic_pod("shop", "cart-1", 3);
        assert_eq!(a, realistic_pod("shop", "cart-1", 3));
        assert_ne!(a, realistic_pod("shop", "cart-1", 4));
        assert_eq!(a["metadata"]["name"], "cart-1");
        assert_eq!(a["metadata"]["namespace"], "shop");
        let sizes: Vec<usize> = (0..30)
            .map(|i| {
                realistic_pod("shop", &format!("pod-{i}"), 0)
                    .to_string()
                    .len()
            })
            .collect();
        let average = sizes.iter().sum::<usize>() / sizes.len();
        assert!(
            (4_000..=6_500).contains(&average),
            "average size {average}: {sizes:?}"
        );
        assert!(
            sizes.iter().any(|s| *s != sizes[0]),
            "container counts should vary"
        );
    }

    #[test]
    fn some_pods_crash_loop_and_some_have_completed() {
        let pods: Vec<Value> = (0..40)
            .map(|i| realistic_pod("shop", &format!("pod-{i}"), 0))
            .collect();
        let waiting = |pod: &Value| {
            pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"].clone()
        };
        assert!(pods.iter().any(|pod| waiting(pod) == "CrashLoopBackOff"));
        assert!(pods.iter().any(|pod| pod["status"]["phase"] == "Succeeded"));
        assert!(
            pods.iter()
                .any(|pod| pod["status"]["phase"] == "Running" && waiting(pod).is_null())
        );
    }

    use std::collections::BTreeMap;

    use k8s_pb::api::core::v1 as core;
    use prost::Message;
    use serde::Deserialize;

    use crate::wire::protobuf;
    use crate::wire::resources::PODS;

    /// `value` at `path` in the JSON, as a string (numbers and booleans written out).
    fn text(value: &Value, path: &str) -> Option<String> {
        match value.pointer(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    #[test]
    fn a_realistic_pod_decodes_with_the_metadata_and_spec_of_its_json() {
        for i in 0..16 {
            let json = realistic_pod("shop", &format!("pod-{i}"), 3);
            let item = serde_json::to_vec(&json).expect("json");
            let pod = core::Pod::decode(&protobuf::message(PODS, &item).expect("pod")[..])
                .expect("decode");
            let metadata = pod.metadata.expect("metadata");
            assert_eq!(metadata.name, text(&json, "/metadata/name"));
            assert_eq!(metadata.namespace, text(&json, "/metadata/namespace"));
            assert_eq!(metadata.uid, text(&json, "/metadata/uid"));
            assert_eq!(
                metadata.generate_name,
                text(&json, "/metadata/generateName")
            );
            let labels: BTreeMap<String, String> =
                serde_json::from_value(json["metadata"]["labels"].clone()).expect("labels");
            assert_eq!(metadata.labels, labels);
            let annotations: BTreeMap<String, String> =
                serde_json::from_value(json["metadata"]["annotations"].clone()).expect("map");
            assert_eq!(metadata.annotations, annotations);
            let created = metadata
                .creation_timestamp
                .and_then(|t| t.seconds)
                .expect("created");
            let expected = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time::deserialize(
                &json["metadata"]["creationTimestamp"],
            )
            .expect("time");
            assert_eq!(created, expected.0.as_second());
            let owner = &metadata.owner_references[0];
            assert_eq!(owner.uid, text(&json, "/metadata/ownerReferences/0/uid"));
            assert_eq!(owner.controller, Some(true));
            assert_eq!(metadata.managed_fields.len(), 2);
            let fields_v1 = metadata.managed_fields[1]
                .fields_v1
                .clone()
                .and_then(|f| f.raw);
            let fields_v1: Value = serde_json::from_slice(&fields_v1.expect("raw")).expect("json");
            assert_eq!(fields_v1, json["metadata"]["managedFields"][1]["fieldsV1"]);
            assert_eq!(
                metadata.managed_fields[1].subresource.as_deref(),
                Some("status")
            );

            let spec = pod.spec.expect("spec");
            assert_eq!(spec.node_name, text(&json, "/spec/nodeName"));
            assert_eq!(
                spec.service_account_name,
                text(&json, "/spec/serviceAccountName")
            );
            assert_eq!(spec.termination_grace_period_seconds, Some(30));
            assert_eq!(spec.tolerations.len(), 2);
            assert_eq!(spec.volumes.len(), 3);
            let projected = spec.volumes[2]
                .volume_source
                .as_ref()
                .and_then(|s| s.projected.as_ref());
            assert_eq!(projected.map(|p| p.sources.len()), Some(3));
            let containers = json["spec"]["containers"].as_array().expect("containers");
            assert_eq!(spec.containers.len(), containers.len());
            for (at, container) in spec.containers.iter().enumerate() {
                let path = |field: &str| format!("/spec/containers/{at}/{field}");
                assert_eq!(container.name, text(&json, &path("name")));
                assert_eq!(container.image, text(&json, &path("image")));
                assert_eq!(container.env.len(), 5);
                assert_eq!(
                    container.env[2]
                        .value_from
                        .as_ref()
                        .and_then(|v| v.field_ref.as_ref())
                        .and_then(|f| f.field_path.clone()),
                    text(&json, &path("env/2/valueFrom/fieldRef/fieldPath"))
                );
                assert_eq!(
                    container.ports[1].container_port.map(|p| p.to_string()),
                    text(&json, &path("ports/1/containerPort"))
                );
                let memory = container
                    .resources
                    .as_ref()
                    .and_then(|r| r.limits.get("memory"));
                assert_eq!(
                    memory.and_then(|q| q.string.clone()),
                    text(&json, &path("resources/limits/memory"))
                );
                let probe = container
                    .readiness_probe
                    .as_ref()
                    .and_then(|p| p.handler.as_ref());
                let port = probe
                    .and_then(|h| h.http_get.as_ref())
                    .and_then(|g| g.port.as_ref());
                assert_eq!(
                    port.and_then(|p| p.int_val).map(|p| p.to_string()),
                    text(&json, &path("readinessProbe/httpGet/port"))
                );
            }
            let status = pod.status.expect("status");
            assert_eq!(status.phase, text(&json, "/status/phase"));
            assert_eq!(status.pod_ip, text(&json, "/status/podIP"));
            assert_eq!(
                status.container_statuses[0]
                    .restart_count
                    .map(|n| n.to_string()),
                text(&json, "/status/containerStatuses/0/restartCount")
            );
            let waiting = status.container_statuses[0]
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref());
            assert_eq!(
                waiting.and_then(|w| w.reason.clone()),
                text(&json, "/status/containerStatuses/0/state/waiting/reason")
            );
        }
    }
}
