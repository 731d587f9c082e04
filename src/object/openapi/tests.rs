use k8s_openapi::api::core::v1::Pod;
use k8s_pb::api::core::v1 as pb_core;
use k8s_pb::apimachinery::pkg::api::resource as pb_resource;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use k8s_pb::apimachinery::pkg::util::intstr as pb_intstr;
use prost::Message;

use super::*;
use crate::decode::{WatchEvent, decode_list, decode_protobuf_event, decode_protobuf_list};

mod kitchen_sink;

/// Transcript 19: two pods of `bar-w` as protobuf, `crash` first (resourceVersion 155536).
const PROTOBUF_LIST: &[u8] = include_bytes!("../../../tests/fixtures/19-list-protobuf.bin");
/// Transcript 20: a protobuf watch of `bar-w`.
const PROTOBUF_WATCH: &[u8] = include_bytes!("../../../tests/fixtures/20-watch-protobuf.bin");
/// Transcript 23: the same `crash` pod, same resourceVersion, as JSON.
const JSON_LIST: &str = include_str!("../../../tests/fixtures/23-list-gzip-small.txt");
const KITCHEN_SINK_JSON: &str = include_str!("../../../tests/fixtures/kitchen-sink-pod.json");

fn json_of_transcript(transcript: &str) -> &[u8] {
    let start = transcript.find("\n\n{").expect("headers then a JSON body");
    transcript[start..].trim().as_bytes()
}

fn protobuf_object(pod: &pb_core::Pod) -> RawObject {
    RawObject::from_protobuf(&pod.encode_to_vec()).expect("a keyable pod")
}

#[test]
fn a_real_pod_received_as_protobuf_equals_the_same_pod_received_as_json() {
    let protobuf = decode_protobuf_list(PROTOBUF_LIST, "Pod").expect("transcript 19");
    let json = decode_list(json_of_transcript(JSON_LIST), "Pod").expect("transcript 23");
    let (from_protobuf, from_json) = (&protobuf.items[0], &json.items[0]);
    assert_eq!(from_protobuf.key().as_str(), "bar-w/crash");
    assert_eq!(from_json.key(), from_protobuf.key());
    assert_eq!(from_json.resource_version(), "155536");
    assert_eq!(from_protobuf.resource_version(), "155536");
    assert_eq!(
        (from_protobuf.encoding(), from_json.encoding()),
        (Encoding::Protobuf, Encoding::Json)
    );
    let converted: Pod = from_protobuf.decode_openapi().expect("converted");
    let decoded: Pod = from_json.decode_openapi().expect("decoded");
    assert_eq!(converted, decoded);
    assert_eq!(converted.metadata.managed_fields, None, "spliced out");
    let uid = converted.metadata.uid.as_deref().unwrap_or_default();
    assert!(uid.starts_with("bfde93a6"), "{uid}");
}

#[test]
fn every_pod_of_the_real_protobuf_list_and_watch_converts() {
    let mut objects = decode_protobuf_list(PROTOBUF_LIST, "Pod")
        .expect("list")
        .items;
    let mut splitter = crate::protobuf::FrameSplitter::default();
    splitter.push(PROTOBUF_WATCH);
    while let Some((_, frame)) = splitter.next_frame().expect("frame") {
        match decode_protobuf_event(&frame, "Pod").expect("event") {
            WatchEvent::Added(pod) | WatchEvent::Modified(pod) | WatchEvent::Deleted(pod) => {
                objects.push(pod)
            }
            _ => {}
        }
    }
    assert_eq!(objects.len(), 4, "2 listed, 2 watched");
    for object in objects {
        let pod: Pod = object.decode_openapi().expect("converted");
        assert_eq!(pod.metadata.name.as_deref(), Some(object.key().name()));
        let spec = pod.spec.expect("spec");
        assert!(!spec.containers.is_empty(), "{}", object.key());
    }
}

#[test]
fn every_field_of_the_pod_tree_is_converted() {
    let expected: Pod = serde_json::from_str(KITCHEN_SINK_JSON).expect("kitchen-sink JSON");
    let converted = Pod::from_protobuf(kitchen_sink::pod()).expect("converted");
    assert_eq!(converted, expected);
    // Every field is set: the JSON of the one is the JSON of the other, field by field.
    let mut json = serde_json::to_value(&converted).expect("json");
    let object = json.as_object_mut().expect("an object");
    assert!(object.remove("apiVersion").is_some() && object.remove("kind").is_some());
    assert_eq!(
        json,
        serde_json::from_str::<serde_json::Value>(KITCHEN_SINK_JSON).expect("json"),
    );
}

#[test]
fn a_cached_kitchen_sink_pod_converts_without_its_managed_fields() {
    let mut expected: Pod = serde_json::from_str(KITCHEN_SINK_JSON).expect("kitchen-sink JSON");
    assert!(expected.metadata.managed_fields.take().is_some());
    let converted: Pod = protobuf_object(&kitchen_sink::pod())
        .decode_openapi()
        .expect("converted");
    assert_eq!(converted, expected);
}

/// A pod as the API server writes it in protobuf: Go's non-pointer fields always present,
/// zero or not; pointers only when set, zero or not.
fn pod_with_zero_values() -> pb_core::Pod {
    let container = pb_core::Container {
        name: Some("c".into()),
        image: Some("i".into()),
        working_dir: Some(String::new()),
        stdin: Some(false),
        tty: Some(false),
        args: Vec::new(),
        resources: Some(pb_core::ResourceRequirements::default()),
        ports: vec![pb_core::ContainerPort {
            name: Some(String::new()),
            host_port: Some(0),
            container_port: Some(80),
            protocol: Some("TCP".into()),
            host_ip: Some(String::new()),
        }],
        liveness_probe: Some(pb_core::Probe {
            handler: Some(pb_core::ProbeHandler {
                http_get: Some(pb_core::HttpGetAction {
                    path: Some("/healthz".into()),
                    port: Some(pb_intstr::IntOrString {
                        r#type: Some(0),
                        int_val: Some(8080),
                        str_val: Some(String::new()),
                    }),
                    host: Some(String::new()),
                    scheme: Some("HTTP".into()),
                    http_headers: Vec::new(),
                }),
                ..Default::default()
            }),
            initial_delay_seconds: Some(0),
            timeout_seconds: Some(1),
            termination_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        readiness_probe: Some(pb_core::Probe {
            handler: Some(pb_core::ProbeHandler {
                tcp_socket: Some(pb_core::TcpSocketAction {
                    port: Some(pb_intstr::IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: Some("http".into()),
                    }),
                    host: Some(String::new()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        security_context: Some(pb_core::SecurityContext {
            privileged: Some(false),
            allow_privilege_escalation: Some(false),
            run_as_user: Some(0),
            ..Default::default()
        }),
        ..Default::default()
    };
    pb_core::Pod {
        metadata: Some(pb_meta::ObjectMeta {
            name: Some("zero".into()),
            namespace: Some("shop".into()),
            generate_name: Some(String::new()),
            generation: Some(0),
            resource_version: Some("9".into()),
            creation_timestamp: Some(pb_meta::Time::default()),
            deletion_timestamp: Some(pb_meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(999_999_999),
            }),
            deletion_grace_period_seconds: Some(0),
            annotations: [("empty".to_owned(), String::new())].into(),
            owner_references: vec![pb_meta::OwnerReference {
                api_version: Some("apps/v1".into()),
                kind: Some("ReplicaSet".into()),
                name: Some("rs".into()),
                uid: Some("u".into()),
                controller: Some(false),
                block_owner_deletion: None,
            }],
            ..Default::default()
        }),
        spec: Some(pb_core::PodSpec {
            containers: vec![container],
            volumes: vec![pb_core::Volume {
                name: Some("v".into()),
                volume_source: Some(pb_core::VolumeSource {
                    empty_dir: Some(pb_core::EmptyDirVolumeSource {
                        medium: Some(String::new()),
                        size_limit: Some(pb_resource::Quantity {
                            string: Some("0".into()),
                        }),
                    }),
                    ..Default::default()
                }),
            }],
            host_network: Some(false),
            node_name: Some(String::new()),
            priority: Some(0),
            automount_service_account_token: Some(false),
            termination_grace_period_seconds: Some(0),
            security_context: Some(pb_core::PodSecurityContext {
                run_as_user: Some(0),
                run_as_non_root: Some(false),
                fs_group: Some(0),
                ..Default::default()
            }),
            overhead: [(
                "cpu".to_owned(),
                pb_resource::Quantity {
                    string: Some("250m".into()),
                },
            )]
            .into(),
            ..Default::default()
        }),
        status: Some(pb_core::PodStatus {
            phase: Some("Pending".into()),
            message: Some(String::new()),
            container_statuses: vec![pb_core::ContainerStatus {
                name: Some("c".into()),
                state: Some(pb_core::ContainerState::default()),
                last_state: Some(pb_core::ContainerState::default()),
                ready: Some(false),
                restart_count: Some(0),
                image: Some("i".into()),
                image_id: Some(String::new()),
                container_id: Some(String::new()),
                started: Some(false),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

/// What Go's encoding/json writes for [`pod_with_zero_values`].
const POD_WITH_ZERO_VALUES_JSON: &str = r#"{
  "metadata": {
    "name": "zero", "namespace": "shop", "resourceVersion": "9",
    "creationTimestamp": null,
    "deletionTimestamp": "2023-11-14T22:13:20Z",
    "deletionGracePeriodSeconds": 0,
    "annotations": {"empty": ""},
    "ownerReferences": [
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": false}
    ]
  },
  "spec": {
    "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "0"}}],
    "containers": [{
      "name": "c", "image": "i",
      "ports": [{"containerPort": 80, "protocol": "TCP"}],
      "resources": {},
      "livenessProbe": {
        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "terminationGracePeriodSeconds": 0
      },
      "readinessProbe": {"tcpSocket": {"port": "http"}},
      "securityContext": {"privileged": false, "runAsUser": 0, "allowPrivilegeEscalation": false}
    }],
    "terminationGracePeriodSeconds": 0,
    "automountServiceAccountToken": false,
    "securityContext": {"runAsUser": 0, "runAsNonRoot": false, "fsGroup": 0},
    "priority": 0,
    "overhead": {"cpu": "250m"}
  },
  "status": {
    "phase": "Pending",
    "containerStatuses": [{
      "name": "c", "state": {}, "lastState": {}, "ready": false, "restartCount": 0,
      "image": "i", "imageID": "", "started": false
    }]
  }
}"#;

#[test]
fn zero_values_are_kept_for_go_pointers_and_dropped_for_omitempty_fields_as_json_does() {
    let expected: Pod = serde_json::from_str(POD_WITH_ZERO_VALUES_JSON).expect("JSON");
    let converted: Pod = protobuf_object(&pod_with_zero_values())
        .decode_openapi()
        .expect("converted");
    assert_eq!(converted, expected);
}

#[test]
fn int_or_string_follows_its_type_and_an_unknown_type_is_an_error_at_its_path() {
    let int = pb_intstr::IntOrString {
        r#type: Some(0),
        int_val: Some(7),
        str_val: Some("ignored".into()),
    };
    let string = pb_intstr::IntOrString {
        r#type: Some(1),
        int_val: Some(7),
        str_val: Some("web".into()),
    };
    assert_eq!(IntOrString::leaf(int), Ok(IntOrString::Int(7)));
    assert_eq!(
        IntOrString::leaf(string),
        Ok(IntOrString::String("web".into()))
    );

    let mut pod = pod_with_zero_values();
    let spec = pod.spec.as_mut().expect("spec");
    let probe = spec.containers[0].liveness_probe.as_mut().expect("probe");
    let action = probe.handler.as_mut().and_then(|h| h.http_get.as_mut());
    action.expect("httpGet").port = Some(pb_intstr::IntOrString {
        r#type: Some(2),
        ..Default::default()
    });
    let err = protobuf_object(&pod)
        .decode_openapi::<Pod>()
        .expect_err("type 2");
    assert_eq!(
        err.to_string(),
        "cannot convert the object's protobuf to its k8s-openapi type: IntOrString of type 2, \
         neither 0 (int) nor 1 (string) (at spec.containers.liveness_probe.http_get.port)"
    );
}

#[test]
fn time_keeps_whole_seconds_and_an_empty_message_is_none() {
    let time_of = |seconds, nanos| {
        time(Some(pb_meta::Time {
            seconds: Some(seconds),
            nanos: Some(nanos),
        }))
    };
    let expected: Time = serde_json::from_str(r#""2023-11-14T22:13:20Z""#).expect("time");
    assert_eq!(time_of(1_700_000_000, 999_999_999), Ok(Some(expected)));
    assert_eq!(time(Some(pb_meta::Time::default())), Ok(None));
    assert_eq!(time(None), Ok(None));
    assert!(time_of(i64::MAX, 0).is_err());
}

#[test]
fn a_time_message_with_nanos_but_no_seconds_is_the_epoch_as_go_reads_it() {
    // Go's `Time.Unmarshal`: empty bytes are the zero time (`null`); any other message is
    // `time.Unix(seconds, 0)`, seconds 0 when absent, which JSON writes as the epoch.
    let nanos_only = pb_meta::Time {
        seconds: None,
        nanos: Some(5),
    };
    let epoch: Time = serde_json::from_str(r#""1970-01-01T00:00:00Z""#).expect("time");
    assert_eq!(time(Some(nanos_only)), Ok(Some(epoch)));
}

#[test]
fn lists_and_maps_are_none_when_empty_and_kept_with_empty_items() {
    assert_eq!(list::<String>(Vec::new()), Ok(None));
    assert_eq!(list(vec![String::new()]), Ok(Some(vec![String::new()])));
    assert_eq!(map::<String>(BTreeMap::new()), Ok(None));
    let quantities = [(
        "memory".to_owned(),
        pb_resource::Quantity {
            string: Some("1Gi".into()),
        },
    )];
    assert_eq!(
        map(quantities.into()),
        Ok(Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("1Gi".into())
        )])))
    );
}

#[test]
fn decode_openapi_refuses_a_table_row_as_decode_does() {
    let columns = crate::object::TableColumns::new(Vec::new());
    let row = RawObject::from_table_row(br#"{"metadata":{"name":"a"}}"#, columns, Vec::new())
        .expect("row");
    assert!(matches!(
        row.decode_openapi::<Pod>(),
        Err(TypedDecodeError::TableRow)
    ));
}
