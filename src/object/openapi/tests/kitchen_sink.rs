//! A k8s-pb `Pod` with every field of the tree set (generated with the conversion's field
//! lists): strings hold their field's name, numbers 100 + the field's index, booleans `true`,
//! lists one item, maps one entry, `Time`s carry nanoseconds. The same pod as k8s-openapi
//! JSON is `tests/fixtures/kitchen-sink-pod.json`.

use std::collections::BTreeMap;

use k8s_pb::api::core::v1 as pb_core;
use k8s_pb::apimachinery::pkg::api::resource as pb_resource;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use k8s_pb::apimachinery::pkg::util::intstr as pb_intstr;

/// The kitchen-sink pod.
pub(super) fn pod() -> pb_core::Pod {
    pb_pod()
}

fn pb_aws_elastic_block_store_volume_source() -> pb_core::AwsElasticBlockStoreVolumeSource {
    pb_core::AwsElasticBlockStoreVolumeSource {
        volume_id: Some("volume_id".into()),
        fs_type: Some("fs_type".into()),
        partition: Some(101),
        read_only: Some(true),
    }
}

fn pb_affinity() -> pb_core::Affinity {
    pb_core::Affinity {
        node_affinity: Some(pb_node_affinity()),
        pod_affinity: Some(pb_pod_affinity()),
        pod_anti_affinity: Some(pb_pod_anti_affinity()),
    }
}

fn pb_app_armor_profile() -> pb_core::AppArmorProfile {
    pb_core::AppArmorProfile {
        r#type: Some("type_".into()),
        localhost_profile: Some("localhost_profile".into()),
    }
}

fn pb_azure_disk_volume_source() -> pb_core::AzureDiskVolumeSource {
    pb_core::AzureDiskVolumeSource {
        disk_name: Some("disk_name".into()),
        disk_uri: Some("disk_uri".into()),
        caching_mode: Some("caching_mode".into()),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
        kind: Some("kind".into()),
    }
}

fn pb_azure_file_volume_source() -> pb_core::AzureFileVolumeSource {
    pb_core::AzureFileVolumeSource {
        secret_name: Some("secret_name".into()),
        share_name: Some("share_name".into()),
        read_only: Some(true),
    }
}

fn pb_csi_volume_source() -> pb_core::CSIVolumeSource {
    pb_core::CSIVolumeSource {
        driver: Some("driver".into()),
        read_only: Some(true),
        fs_type: Some("fs_type".into()),
        volume_attributes: BTreeMap::from([(
            "key-volume_attributes".into(),
            "volume_attributes".into(),
        )]),
        node_publish_secret_ref: Some(pb_local_object_reference()),
    }
}

fn pb_capabilities() -> pb_core::Capabilities {
    pb_core::Capabilities {
        add: vec!["add".into()],
        drop: vec!["drop".into()],
    }
}

fn pb_cephfs_volume_source() -> pb_core::CephFsVolumeSource {
    pb_core::CephFsVolumeSource {
        monitors: vec!["monitors".into()],
        path: Some("path".into()),
        user: Some("user".into()),
        secret_file: Some("secret_file".into()),
        secret_ref: Some(pb_local_object_reference()),
        read_only: Some(true),
    }
}

fn pb_cinder_volume_source() -> pb_core::CinderVolumeSource {
    pb_core::CinderVolumeSource {
        volume_id: Some("volume_id".into()),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
        secret_ref: Some(pb_local_object_reference()),
    }
}

fn pb_cluster_trust_bundle_projection() -> pb_core::ClusterTrustBundleProjection {
    pb_core::ClusterTrustBundleProjection {
        name: Some("name".into()),
        signer_name: Some("signer_name".into()),
        label_selector: Some(pb_label_selector()),
        optional: Some(true),
        path: Some("path".into()),
    }
}

fn pb_config_map_env_source() -> pb_core::ConfigMapEnvSource {
    pb_core::ConfigMapEnvSource {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        optional: Some(true),
    }
}

fn pb_config_map_key_selector() -> pb_core::ConfigMapKeySelector {
    pb_core::ConfigMapKeySelector {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        key: Some("key".into()),
        optional: Some(true),
    }
}

fn pb_config_map_projection() -> pb_core::ConfigMapProjection {
    pb_core::ConfigMapProjection {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        items: vec![pb_key_to_path()],
        optional: Some(true),
    }
}

fn pb_config_map_volume_source() -> pb_core::ConfigMapVolumeSource {
    pb_core::ConfigMapVolumeSource {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        items: vec![pb_key_to_path()],
        default_mode: Some(100),
        optional: Some(true),
    }
}

fn pb_container() -> pb_core::Container {
    pb_core::Container {
        name: Some("name".into()),
        image: Some("image".into()),
        command: vec!["command".into()],
        args: vec!["args".into()],
        working_dir: Some("working_dir".into()),
        ports: vec![pb_container_port()],
        env_from: vec![pb_env_from_source()],
        env: vec![pb_env_var()],
        resources: Some(pb_resource_requirements()),
        resize_policy: vec![pb_container_resize_policy()],
        restart_policy: Some("restart_policy".into()),
        // Only in k8s-pb: dropped.
        restart_policy_rules: Default::default(),
        volume_mounts: vec![pb_volume_mount()],
        volume_devices: vec![pb_volume_device()],
        liveness_probe: Some(pb_probe()),
        readiness_probe: Some(pb_probe()),
        startup_probe: Some(pb_probe()),
        lifecycle: Some(pb_lifecycle()),
        termination_message_path: Some("termination_message_path".into()),
        termination_message_policy: Some("termination_message_policy".into()),
        image_pull_policy: Some("image_pull_policy".into()),
        security_context: Some(pb_security_context()),
        stdin: Some(true),
        stdin_once: Some(true),
        tty: Some(true),
    }
}

fn pb_container_port() -> pb_core::ContainerPort {
    pb_core::ContainerPort {
        name: Some("name".into()),
        host_port: Some(102),
        container_port: Some(100),
        protocol: Some("protocol".into()),
        host_ip: Some("host_ip".into()),
    }
}

fn pb_container_resize_policy() -> pb_core::ContainerResizePolicy {
    pb_core::ContainerResizePolicy {
        resource_name: Some("resource_name".into()),
        restart_policy: Some("restart_policy".into()),
    }
}

fn pb_container_state() -> pb_core::ContainerState {
    pb_core::ContainerState {
        waiting: Some(pb_container_state_waiting()),
        running: Some(pb_container_state_running()),
        terminated: Some(pb_container_state_terminated()),
    }
}

fn pb_container_state_running() -> pb_core::ContainerStateRunning {
    pb_core::ContainerStateRunning {
        started_at: Some(pb_meta::Time {
            seconds: Some(1700000000),
            nanos: Some(123_456_789),
        }),
    }
}

fn pb_container_state_terminated() -> pb_core::ContainerStateTerminated {
    pb_core::ContainerStateTerminated {
        exit_code: Some(101),
        signal: Some(105),
        reason: Some("reason".into()),
        message: Some("message".into()),
        started_at: Some(pb_meta::Time {
            seconds: Some(1700000006),
            nanos: Some(123_456_789),
        }),
        finished_at: Some(pb_meta::Time {
            seconds: Some(1700000002),
            nanos: Some(123_456_789),
        }),
        container_id: Some("container_id".into()),
    }
}

fn pb_container_state_waiting() -> pb_core::ContainerStateWaiting {
    pb_core::ContainerStateWaiting {
        reason: Some("reason".into()),
        message: Some("message".into()),
    }
}

fn pb_container_status() -> pb_core::ContainerStatus {
    pb_core::ContainerStatus {
        name: Some("name".into()),
        state: Some(pb_container_state()),
        last_state: Some(pb_container_state()),
        ready: Some(true),
        restart_count: Some(109),
        image: Some("image".into()),
        image_id: Some("image_id".into()),
        container_id: Some("container_id".into()),
        started: Some(true),
        allocated_resources: BTreeMap::from([(
            "key-allocated_resources".into(),
            pb_resource::Quantity {
                string: Some("0Mi".into()),
            },
        )]),
        resources: Some(pb_resource_requirements()),
        volume_mounts: vec![pb_volume_mount_status()],
        user: Some(pb_container_user()),
        allocated_resources_status: vec![pb_resource_status()],
        stop_signal: Some("stop_signal".into()),
    }
}

fn pb_container_user() -> pb_core::ContainerUser {
    pb_core::ContainerUser {
        linux: Some(pb_linux_container_user()),
    }
}

fn pb_downwardapi_projection() -> pb_core::DownwardAPIProjection {
    pb_core::DownwardAPIProjection {
        items: vec![pb_downwardapi_volume_file()],
    }
}

fn pb_downwardapi_volume_file() -> pb_core::DownwardAPIVolumeFile {
    pb_core::DownwardAPIVolumeFile {
        path: Some("path".into()),
        field_ref: Some(pb_object_field_selector()),
        resource_field_ref: Some(pb_resource_field_selector()),
        mode: Some(101),
    }
}

fn pb_downwardapi_volume_source() -> pb_core::DownwardAPIVolumeSource {
    pb_core::DownwardAPIVolumeSource {
        items: vec![pb_downwardapi_volume_file()],
        default_mode: Some(100),
    }
}

fn pb_empty_dir_volume_source() -> pb_core::EmptyDirVolumeSource {
    pb_core::EmptyDirVolumeSource {
        medium: Some("medium".into()),
        size_limit: Some(pb_resource::Quantity {
            string: Some("1Mi".into()),
        }),
    }
}

fn pb_env_from_source() -> pb_core::EnvFromSource {
    pb_core::EnvFromSource {
        prefix: Some("prefix".into()),
        config_map_ref: Some(pb_config_map_env_source()),
        secret_ref: Some(pb_secret_env_source()),
    }
}

fn pb_env_var() -> pb_core::EnvVar {
    pb_core::EnvVar {
        name: Some("name".into()),
        value: Some("value".into()),
        value_from: Some(pb_env_var_source()),
    }
}

fn pb_env_var_source() -> pb_core::EnvVarSource {
    pb_core::EnvVarSource {
        field_ref: Some(pb_object_field_selector()),
        resource_field_ref: Some(pb_resource_field_selector()),
        config_map_key_ref: Some(pb_config_map_key_selector()),
        secret_key_ref: Some(pb_secret_key_selector()),
        // Only in k8s-pb: dropped.
        file_key_ref: Default::default(),
    }
}

fn pb_ephemeral_container() -> pb_core::EphemeralContainer {
    pb_core::EphemeralContainer {
        ephemeral_container_common: Some(pb_core::EphemeralContainerCommon {
            name: Some("name".into()),
            image: Some("image".into()),
            command: vec!["command".into()],
            args: vec!["args".into()],
            working_dir: Some("working_dir".into()),
            ports: vec![pb_container_port()],
            env_from: vec![pb_env_from_source()],
            env: vec![pb_env_var()],
            resources: Some(pb_resource_requirements()),
            resize_policy: vec![pb_container_resize_policy()],
            restart_policy: Some("restart_policy".into()),
            restart_policy_rules: Default::default(),
            volume_mounts: vec![pb_volume_mount()],
            volume_devices: vec![pb_volume_device()],
            liveness_probe: Some(pb_probe()),
            readiness_probe: Some(pb_probe()),
            startup_probe: Some(pb_probe()),
            lifecycle: Some(pb_lifecycle()),
            termination_message_path: Some("termination_message_path".into()),
            termination_message_policy: Some("termination_message_policy".into()),
            image_pull_policy: Some("image_pull_policy".into()),
            security_context: Some(pb_security_context()),
            stdin: Some(true),
            stdin_once: Some(true),
            tty: Some(true),
        }),
        target_container_name: Some("target_container_name".into()),
    }
}

fn pb_ephemeral_volume_source() -> pb_core::EphemeralVolumeSource {
    pb_core::EphemeralVolumeSource {
        volume_claim_template: Some(pb_persistent_volume_claim_template()),
    }
}

fn pb_exec_action() -> pb_core::ExecAction {
    pb_core::ExecAction {
        command: vec!["command".into()],
    }
}

fn pb_fc_volume_source() -> pb_core::FcVolumeSource {
    pb_core::FcVolumeSource {
        target_ww_ns: vec!["target_wwns".into()],
        lun: Some(101),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
        wwids: vec!["wwids".into()],
    }
}

fn pb_flex_volume_source() -> pb_core::FlexVolumeSource {
    pb_core::FlexVolumeSource {
        driver: Some("driver".into()),
        fs_type: Some("fs_type".into()),
        secret_ref: Some(pb_local_object_reference()),
        read_only: Some(true),
        options: BTreeMap::from([("key-options".into(), "options".into())]),
    }
}

fn pb_flocker_volume_source() -> pb_core::FlockerVolumeSource {
    pb_core::FlockerVolumeSource {
        dataset_name: Some("dataset_name".into()),
        dataset_uuid: Some("dataset_uuid".into()),
    }
}

fn pb_gce_persistent_disk_volume_source() -> pb_core::GcePersistentDiskVolumeSource {
    pb_core::GcePersistentDiskVolumeSource {
        pd_name: Some("pd_name".into()),
        fs_type: Some("fs_type".into()),
        partition: Some(101),
        read_only: Some(true),
    }
}

fn pb_grpc_action() -> pb_core::GrpcAction {
    pb_core::GrpcAction {
        port: Some(100),
        service: Some("service".into()),
    }
}

fn pb_git_repo_volume_source() -> pb_core::GitRepoVolumeSource {
    pb_core::GitRepoVolumeSource {
        repository: Some("repository".into()),
        revision: Some("revision".into()),
        directory: Some("directory".into()),
    }
}

fn pb_glusterfs_volume_source() -> pb_core::GlusterfsVolumeSource {
    pb_core::GlusterfsVolumeSource {
        endpoints: Some("endpoints".into()),
        path: Some("path".into()),
        read_only: Some(true),
    }
}

fn pb_http_get_action() -> pb_core::HttpGetAction {
    pb_core::HttpGetAction {
        path: Some("path".into()),
        port: Some(pb_intstr::IntOrString {
            r#type: Some(1),
            int_val: Some(0),
            str_val: Some("port".into()),
        }),
        host: Some("host".into()),
        scheme: Some("scheme".into()),
        http_headers: vec![pb_http_header()],
    }
}

fn pb_http_header() -> pb_core::HttpHeader {
    pb_core::HttpHeader {
        name: Some("name".into()),
        value: Some("value".into()),
    }
}

fn pb_host_alias() -> pb_core::HostAlias {
    pb_core::HostAlias {
        ip: Some("ip".into()),
        hostnames: vec!["hostnames".into()],
    }
}

fn pb_hostip() -> pb_core::HostIp {
    pb_core::HostIp {
        ip: Some("ip".into()),
    }
}

fn pb_host_path_volume_source() -> pb_core::HostPathVolumeSource {
    pb_core::HostPathVolumeSource {
        path: Some("path".into()),
        r#type: Some("type_".into()),
    }
}

fn pb_iscsi_volume_source() -> pb_core::IscsiVolumeSource {
    pb_core::IscsiVolumeSource {
        target_portal: Some("target_portal".into()),
        iqn: Some("iqn".into()),
        lun: Some(106),
        iscsi_interface: Some("iscsi_interface".into()),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
        portals: vec!["portals".into()],
        chap_auth_discovery: Some(true),
        chap_auth_session: Some(true),
        secret_ref: Some(pb_local_object_reference()),
        initiator_name: Some("initiator_name".into()),
    }
}

fn pb_image_volume_source() -> pb_core::ImageVolumeSource {
    pb_core::ImageVolumeSource {
        reference: Some("reference".into()),
        pull_policy: Some("pull_policy".into()),
    }
}

fn pb_key_to_path() -> pb_core::KeyToPath {
    pb_core::KeyToPath {
        key: Some("key".into()),
        path: Some("path".into()),
        mode: Some(101),
    }
}

fn pb_label_selector() -> pb_meta::LabelSelector {
    pb_meta::LabelSelector {
        match_labels: BTreeMap::from([("key-match_labels".into(), "match_labels".into())]),
        match_expressions: vec![pb_label_selector_requirement()],
    }
}

fn pb_label_selector_requirement() -> pb_meta::LabelSelectorRequirement {
    pb_meta::LabelSelectorRequirement {
        key: Some("key".into()),
        operator: Some("operator".into()),
        values: vec!["values".into()],
    }
}

fn pb_lifecycle() -> pb_core::Lifecycle {
    pb_core::Lifecycle {
        post_start: Some(pb_lifecycle_handler()),
        pre_stop: Some(pb_lifecycle_handler()),
        stop_signal: Some("stop_signal".into()),
    }
}

fn pb_lifecycle_handler() -> pb_core::LifecycleHandler {
    pb_core::LifecycleHandler {
        exec: Some(pb_exec_action()),
        http_get: Some(pb_http_get_action()),
        tcp_socket: Some(pb_tcp_socket_action()),
        sleep: Some(pb_sleep_action()),
    }
}

fn pb_linux_container_user() -> pb_core::LinuxContainerUser {
    pb_core::LinuxContainerUser {
        uid: Some(102),
        gid: Some(100),
        supplemental_groups: vec![101],
    }
}

fn pb_local_object_reference() -> pb_core::LocalObjectReference {
    pb_core::LocalObjectReference {
        name: Some("name".into()),
    }
}

fn pb_managed_fields_entry() -> pb_meta::ManagedFieldsEntry {
    pb_meta::ManagedFieldsEntry {
        manager: Some("manager".into()),
        operation: Some("operation".into()),
        api_version: Some("api_version".into()),
        time: Some(pb_meta::Time {
            seconds: Some(1700000006),
            nanos: Some(123_456_789),
        }),
        fields_type: Some("fields_type".into()),
        fields_v1: Some(pb_meta::FieldsV1 {
            raw: Some(br#"{"f:metadata":{}}"#.to_vec()),
        }),
        subresource: Some("subresource".into()),
    }
}

fn pb_nfs_volume_source() -> pb_core::NfsVolumeSource {
    pb_core::NfsVolumeSource {
        server: Some("server".into()),
        path: Some("path".into()),
        read_only: Some(true),
    }
}

fn pb_node_affinity() -> pb_core::NodeAffinity {
    pb_core::NodeAffinity {
        required_during_scheduling_ignored_during_execution: Some(pb_node_selector()),
        preferred_during_scheduling_ignored_during_execution: vec![pb_preferred_scheduling_term()],
    }
}

fn pb_node_selector() -> pb_core::NodeSelector {
    pb_core::NodeSelector {
        node_selector_terms: vec![pb_node_selector_term()],
    }
}

fn pb_node_selector_requirement() -> pb_core::NodeSelectorRequirement {
    pb_core::NodeSelectorRequirement {
        key: Some("key".into()),
        operator: Some("operator".into()),
        values: vec!["values".into()],
    }
}

fn pb_node_selector_term() -> pb_core::NodeSelectorTerm {
    pb_core::NodeSelectorTerm {
        match_expressions: vec![pb_node_selector_requirement()],
        match_fields: vec![pb_node_selector_requirement()],
    }
}

fn pb_object_field_selector() -> pb_core::ObjectFieldSelector {
    pb_core::ObjectFieldSelector {
        api_version: Some("api_version".into()),
        field_path: Some("field_path".into()),
    }
}

fn pb_object_meta() -> pb_meta::ObjectMeta {
    pb_meta::ObjectMeta {
        name: Some("name".into()),
        generate_name: Some("generate_name".into()),
        namespace: Some("namespace".into()),
        self_link: Some("self_link".into()),
        uid: Some("uid".into()),
        resource_version: Some("resource_version".into()),
        generation: Some(106),
        creation_timestamp: Some(pb_meta::Time {
            seconds: Some(1700000001),
            nanos: Some(123_456_789),
        }),
        deletion_timestamp: Some(pb_meta::Time {
            seconds: Some(1700000003),
            nanos: Some(123_456_789),
        }),
        deletion_grace_period_seconds: Some(102),
        labels: BTreeMap::from([("key-labels".into(), "labels".into())]),
        annotations: BTreeMap::from([("key-annotations".into(), "annotations".into())]),
        owner_references: vec![pb_owner_reference()],
        finalizers: vec!["finalizers".into()],
        managed_fields: vec![pb_managed_fields_entry()],
    }
}

fn pb_owner_reference() -> pb_meta::OwnerReference {
    pb_meta::OwnerReference {
        api_version: Some("api_version".into()),
        kind: Some("kind".into()),
        name: Some("name".into()),
        uid: Some("uid".into()),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn pb_persistent_volume_claim_spec() -> pb_core::PersistentVolumeClaimSpec {
    pb_core::PersistentVolumeClaimSpec {
        access_modes: vec!["access_modes".into()],
        selector: Some(pb_label_selector()),
        resources: Some(pb_volume_resource_requirements()),
        volume_name: Some("volume_name".into()),
        storage_class_name: Some("storage_class_name".into()),
        volume_mode: Some("volume_mode".into()),
        data_source: Some(pb_typed_local_object_reference()),
        data_source_ref: Some(pb_typed_object_reference()),
        volume_attributes_class_name: Some("volume_attributes_class_name".into()),
    }
}

fn pb_persistent_volume_claim_template() -> pb_core::PersistentVolumeClaimTemplate {
    pb_core::PersistentVolumeClaimTemplate {
        metadata: Some(pb_object_meta()),
        spec: Some(pb_persistent_volume_claim_spec()),
    }
}

fn pb_persistent_volume_claim_volume_source() -> pb_core::PersistentVolumeClaimVolumeSource {
    pb_core::PersistentVolumeClaimVolumeSource {
        claim_name: Some("claim_name".into()),
        read_only: Some(true),
    }
}

fn pb_photon_persistent_disk_volume_source() -> pb_core::PhotonPersistentDiskVolumeSource {
    pb_core::PhotonPersistentDiskVolumeSource {
        pd_id: Some("pd_id".into()),
        fs_type: Some("fs_type".into()),
    }
}

fn pb_pod() -> pb_core::Pod {
    pb_core::Pod {
        metadata: Some(pb_object_meta()),
        spec: Some(pb_pod_spec()),
        status: Some(pb_pod_status()),
    }
}

fn pb_pod_affinity() -> pb_core::PodAffinity {
    pb_core::PodAffinity {
        required_during_scheduling_ignored_during_execution: vec![pb_pod_affinity_term()],
        preferred_during_scheduling_ignored_during_execution: vec![pb_weighted_pod_affinity_term()],
    }
}

fn pb_pod_affinity_term() -> pb_core::PodAffinityTerm {
    pb_core::PodAffinityTerm {
        label_selector: Some(pb_label_selector()),
        namespaces: vec!["namespaces".into()],
        topology_key: Some("topology_key".into()),
        namespace_selector: Some(pb_label_selector()),
        match_label_keys: vec!["match_label_keys".into()],
        mismatch_label_keys: vec!["mismatch_label_keys".into()],
    }
}

fn pb_pod_anti_affinity() -> pb_core::PodAntiAffinity {
    pb_core::PodAntiAffinity {
        required_during_scheduling_ignored_during_execution: vec![pb_pod_affinity_term()],
        preferred_during_scheduling_ignored_during_execution: vec![pb_weighted_pod_affinity_term()],
    }
}

fn pb_pod_condition() -> pb_core::PodCondition {
    pb_core::PodCondition {
        r#type: Some("type_".into()),
        observed_generation: Some(103),
        status: Some("status".into()),
        last_probe_time: Some(pb_meta::Time {
            seconds: Some(1700000000),
            nanos: Some(123_456_789),
        }),
        last_transition_time: Some(pb_meta::Time {
            seconds: Some(1700000001),
            nanos: Some(123_456_789),
        }),
        reason: Some("reason".into()),
        message: Some("message".into()),
    }
}

fn pb_poddns_config() -> pb_core::PodDnsConfig {
    pb_core::PodDnsConfig {
        nameservers: vec!["nameservers".into()],
        searches: vec!["searches".into()],
        options: vec![pb_poddns_config_option()],
    }
}

fn pb_poddns_config_option() -> pb_core::PodDnsConfigOption {
    pb_core::PodDnsConfigOption {
        name: Some("name".into()),
        value: Some("value".into()),
    }
}

fn pb_podip() -> pb_core::PodIp {
    pb_core::PodIp {
        ip: Some("ip".into()),
    }
}

fn pb_podos() -> pb_core::PodOs {
    pb_core::PodOs {
        name: Some("name".into()),
    }
}

fn pb_pod_readiness_gate() -> pb_core::PodReadinessGate {
    pb_core::PodReadinessGate {
        condition_type: Some("condition_type".into()),
    }
}

fn pb_pod_resource_claim() -> pb_core::PodResourceClaim {
    pb_core::PodResourceClaim {
        name: Some("name".into()),
        resource_claim_name: Some("resource_claim_name".into()),
        resource_claim_template_name: Some("resource_claim_template_name".into()),
    }
}

fn pb_pod_resource_claim_status() -> pb_core::PodResourceClaimStatus {
    pb_core::PodResourceClaimStatus {
        name: Some("name".into()),
        resource_claim_name: Some("resource_claim_name".into()),
    }
}

fn pb_pod_scheduling_gate() -> pb_core::PodSchedulingGate {
    pb_core::PodSchedulingGate {
        name: Some("name".into()),
    }
}

fn pb_pod_security_context() -> pb_core::PodSecurityContext {
    pb_core::PodSecurityContext {
        se_linux_options: Some(pb_se_linux_options()),
        windows_options: Some(pb_windows_security_context_options()),
        run_as_user: Some(105),
        run_as_group: Some(103),
        run_as_non_root: Some(true),
        supplemental_groups: vec![109],
        supplemental_groups_policy: Some("supplemental_groups_policy".into()),
        fs_group: Some(101),
        sysctls: vec![pb_sysctl()],
        fs_group_change_policy: Some("fs_group_change_policy".into()),
        seccomp_profile: Some(pb_seccomp_profile()),
        app_armor_profile: Some(pb_app_armor_profile()),
        se_linux_change_policy: Some("se_linux_change_policy".into()),
    }
}

fn pb_pod_spec() -> pb_core::PodSpec {
    pb_core::PodSpec {
        volumes: vec![pb_volume()],
        init_containers: vec![pb_container()],
        containers: vec![pb_container()],
        ephemeral_containers: vec![pb_ephemeral_container()],
        restart_policy: Some("restart_policy".into()),
        termination_grace_period_seconds: Some(136),
        active_deadline_seconds: Some(100),
        dns_policy: Some("dns_policy".into()),
        node_selector: BTreeMap::from([("key-node_selector".into(), "node_selector".into())]),
        service_account_name: Some("service_account_name".into()),
        service_account: Some("service_account".into()),
        automount_service_account_token: Some(true),
        node_name: Some("node_name".into()),
        host_network: Some(true),
        host_pid: Some(true),
        host_ipc: Some(true),
        share_process_namespace: Some(true),
        security_context: Some(pb_pod_security_context()),
        image_pull_secrets: vec![pb_local_object_reference()],
        hostname: Some("hostname".into()),
        subdomain: Some("subdomain".into()),
        affinity: Some(pb_affinity()),
        scheduler_name: Some("scheduler_name".into()),
        tolerations: vec![pb_toleration()],
        host_aliases: vec![pb_host_alias()],
        priority_class_name: Some("priority_class_name".into()),
        priority: Some(121),
        dns_config: Some(pb_poddns_config()),
        readiness_gates: vec![pb_pod_readiness_gate()],
        runtime_class_name: Some("runtime_class_name".into()),
        enable_service_links: Some(true),
        preemption_policy: Some("preemption_policy".into()),
        overhead: BTreeMap::from([(
            "key-overhead".into(),
            pb_resource::Quantity {
                string: Some("19Mi".into()),
            },
        )]),
        topology_spread_constraints: vec![pb_topology_spread_constraint()],
        set_hostname_as_fqdn: Some(true),
        os: Some(pb_podos()),
        host_users: Some(true),
        scheduling_gates: vec![pb_pod_scheduling_gate()],
        resource_claims: vec![pb_pod_resource_claim()],
        resources: Some(pb_resource_requirements()),
        // Only in k8s-pb: dropped.
        hostname_override: Default::default(),
        // Only in k8s-pb: dropped.
        workload_ref: Default::default(),
    }
}

fn pb_pod_status() -> pb_core::PodStatus {
    pb_core::PodStatus {
        observed_generation: Some(108),
        phase: Some("phase".into()),
        conditions: vec![pb_pod_condition()],
        message: Some("message".into()),
        reason: Some("reason".into()),
        nominated_node_name: Some("nominated_node_name".into()),
        host_ip: Some("host_ip".into()),
        host_ips: vec![pb_hostip()],
        pod_ip: Some("pod_ip".into()),
        pod_ips: vec![pb_podip()],
        start_time: Some(pb_meta::Time {
            seconds: Some(1700000016),
            nanos: Some(123_456_789),
        }),
        init_container_statuses: vec![pb_container_status()],
        container_statuses: vec![pb_container_status()],
        qos_class: Some("qos_class".into()),
        ephemeral_container_statuses: vec![pb_container_status()],
        resize: Some("resize".into()),
        resource_claim_statuses: vec![pb_pod_resource_claim_status()],
        // Only in k8s-pb: dropped.
        extended_resource_claim_status: Default::default(),
        // Only in k8s-pb: dropped.
        allocated_resources: Default::default(),
        // Only in k8s-pb: dropped.
        resources: Default::default(),
    }
}

fn pb_portworx_volume_source() -> pb_core::PortworxVolumeSource {
    pb_core::PortworxVolumeSource {
        volume_id: Some("volume_id".into()),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
    }
}

fn pb_preferred_scheduling_term() -> pb_core::PreferredSchedulingTerm {
    pb_core::PreferredSchedulingTerm {
        weight: Some(101),
        preference: Some(pb_node_selector_term()),
    }
}

fn pb_probe() -> pb_core::Probe {
    pb_core::Probe {
        handler: Some(pb_core::ProbeHandler {
            exec: Some(pb_exec_action()),
            http_get: Some(pb_http_get_action()),
            tcp_socket: Some(pb_tcp_socket_action()),
            grpc: Some(pb_grpc_action()),
        }),
        initial_delay_seconds: Some(104),
        timeout_seconds: Some(109),
        period_seconds: Some(105),
        success_threshold: Some(106),
        failure_threshold: Some(101),
        termination_grace_period_seconds: Some(108),
    }
}

fn pb_projected_volume_source() -> pb_core::ProjectedVolumeSource {
    pb_core::ProjectedVolumeSource {
        sources: vec![pb_volume_projection()],
        default_mode: Some(100),
    }
}

fn pb_quobyte_volume_source() -> pb_core::QuobyteVolumeSource {
    pb_core::QuobyteVolumeSource {
        registry: Some("registry".into()),
        volume: Some("volume".into()),
        read_only: Some(true),
        user: Some("user".into()),
        group: Some("group".into()),
        tenant: Some("tenant".into()),
    }
}

fn pb_rbd_volume_source() -> pb_core::RbdVolumeSource {
    pb_core::RbdVolumeSource {
        monitors: vec!["monitors".into()],
        image: Some("image".into()),
        fs_type: Some("fs_type".into()),
        pool: Some("pool".into()),
        user: Some("user".into()),
        keyring: Some("keyring".into()),
        secret_ref: Some(pb_local_object_reference()),
        read_only: Some(true),
    }
}

fn pb_resource_claim() -> pb_core::ResourceClaim {
    pb_core::ResourceClaim {
        name: Some("name".into()),
        request: Some("request".into()),
    }
}

fn pb_resource_field_selector() -> pb_core::ResourceFieldSelector {
    pb_core::ResourceFieldSelector {
        container_name: Some("container_name".into()),
        resource: Some("resource".into()),
        divisor: Some(pb_resource::Quantity {
            string: Some("1Mi".into()),
        }),
    }
}

fn pb_resource_health() -> pb_core::ResourceHealth {
    pb_core::ResourceHealth {
        resource_id: Some("resource_id".into()),
        health: Some("health".into()),
    }
}

fn pb_resource_requirements() -> pb_core::ResourceRequirements {
    pb_core::ResourceRequirements {
        limits: BTreeMap::from([(
            "key-limits".into(),
            pb_resource::Quantity {
                string: Some("1Mi".into()),
            },
        )]),
        requests: BTreeMap::from([(
            "key-requests".into(),
            pb_resource::Quantity {
                string: Some("2Mi".into()),
            },
        )]),
        claims: vec![pb_resource_claim()],
    }
}

fn pb_resource_status() -> pb_core::ResourceStatus {
    pb_core::ResourceStatus {
        name: Some("name".into()),
        resources: vec![pb_resource_health()],
    }
}

fn pb_se_linux_options() -> pb_core::SeLinuxOptions {
    pb_core::SeLinuxOptions {
        user: Some("user".into()),
        role: Some("role".into()),
        r#type: Some("type_".into()),
        level: Some("level".into()),
    }
}

fn pb_scaleio_volume_source() -> pb_core::ScaleIoVolumeSource {
    pb_core::ScaleIoVolumeSource {
        gateway: Some("gateway".into()),
        system: Some("system".into()),
        secret_ref: Some(pb_local_object_reference()),
        ssl_enabled: Some(true),
        protection_domain: Some("protection_domain".into()),
        storage_pool: Some("storage_pool".into()),
        storage_mode: Some("storage_mode".into()),
        volume_name: Some("volume_name".into()),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
    }
}

fn pb_seccomp_profile() -> pb_core::SeccompProfile {
    pb_core::SeccompProfile {
        r#type: Some("type_".into()),
        localhost_profile: Some("localhost_profile".into()),
    }
}

fn pb_secret_env_source() -> pb_core::SecretEnvSource {
    pb_core::SecretEnvSource {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        optional: Some(true),
    }
}

fn pb_secret_key_selector() -> pb_core::SecretKeySelector {
    pb_core::SecretKeySelector {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        key: Some("key".into()),
        optional: Some(true),
    }
}

fn pb_secret_projection() -> pb_core::SecretProjection {
    pb_core::SecretProjection {
        local_object_reference: Some(pb_core::LocalObjectReference {
            name: Some("name".into()),
        }),
        items: vec![pb_key_to_path()],
        optional: Some(true),
    }
}

fn pb_secret_volume_source() -> pb_core::SecretVolumeSource {
    pb_core::SecretVolumeSource {
        secret_name: Some("secret_name".into()),
        items: vec![pb_key_to_path()],
        default_mode: Some(100),
        optional: Some(true),
    }
}

fn pb_security_context() -> pb_core::SecurityContext {
    pb_core::SecurityContext {
        capabilities: Some(pb_capabilities()),
        privileged: Some(true),
        se_linux_options: Some(pb_se_linux_options()),
        windows_options: Some(pb_windows_security_context_options()),
        run_as_user: Some(108),
        run_as_group: Some(106),
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(true),
        proc_mount: Some("proc_mount".into()),
        seccomp_profile: Some(pb_seccomp_profile()),
        app_armor_profile: Some(pb_app_armor_profile()),
    }
}

fn pb_service_account_token_projection() -> pb_core::ServiceAccountTokenProjection {
    pb_core::ServiceAccountTokenProjection {
        audience: Some("audience".into()),
        expiration_seconds: Some(101),
        path: Some("path".into()),
    }
}

fn pb_sleep_action() -> pb_core::SleepAction {
    pb_core::SleepAction { seconds: Some(100) }
}

fn pb_storageos_volume_source() -> pb_core::StorageOsVolumeSource {
    pb_core::StorageOsVolumeSource {
        volume_name: Some("volume_name".into()),
        volume_namespace: Some("volume_namespace".into()),
        fs_type: Some("fs_type".into()),
        read_only: Some(true),
        secret_ref: Some(pb_local_object_reference()),
    }
}

fn pb_sysctl() -> pb_core::Sysctl {
    pb_core::Sysctl {
        name: Some("name".into()),
        value: Some("value".into()),
    }
}

fn pb_tcp_socket_action() -> pb_core::TcpSocketAction {
    pb_core::TcpSocketAction {
        port: Some(pb_intstr::IntOrString {
            r#type: Some(1),
            int_val: Some(0),
            str_val: Some("port".into()),
        }),
        host: Some("host".into()),
    }
}

fn pb_toleration() -> pb_core::Toleration {
    pb_core::Toleration {
        key: Some("key".into()),
        operator: Some("operator".into()),
        value: Some("value".into()),
        effect: Some("effect".into()),
        toleration_seconds: Some(103),
    }
}

fn pb_topology_spread_constraint() -> pb_core::TopologySpreadConstraint {
    pb_core::TopologySpreadConstraint {
        max_skew: Some(102),
        topology_key: Some("topology_key".into()),
        when_unsatisfiable: Some("when_unsatisfiable".into()),
        label_selector: Some(pb_label_selector()),
        min_domains: Some(103),
        node_affinity_policy: Some("node_affinity_policy".into()),
        node_taints_policy: Some("node_taints_policy".into()),
        match_label_keys: vec!["match_label_keys".into()],
    }
}

fn pb_typed_local_object_reference() -> pb_core::TypedLocalObjectReference {
    pb_core::TypedLocalObjectReference {
        api_group: Some("api_group".into()),
        kind: Some("kind".into()),
        name: Some("name".into()),
    }
}

fn pb_typed_object_reference() -> pb_core::TypedObjectReference {
    pb_core::TypedObjectReference {
        api_group: Some("api_group".into()),
        kind: Some("kind".into()),
        name: Some("name".into()),
        namespace: Some("namespace".into()),
    }
}

fn pb_volume() -> pb_core::Volume {
    pb_core::Volume {
        name: Some("name".into()),
        volume_source: Some(pb_core::VolumeSource {
            host_path: Some(pb_host_path_volume_source()),
            empty_dir: Some(pb_empty_dir_volume_source()),
            gce_persistent_disk: Some(pb_gce_persistent_disk_volume_source()),
            aws_elastic_block_store: Some(pb_aws_elastic_block_store_volume_source()),
            git_repo: Some(pb_git_repo_volume_source()),
            secret: Some(pb_secret_volume_source()),
            nfs: Some(pb_nfs_volume_source()),
            iscsi: Some(pb_iscsi_volume_source()),
            glusterfs: Some(pb_glusterfs_volume_source()),
            persistent_volume_claim: Some(pb_persistent_volume_claim_volume_source()),
            rbd: Some(pb_rbd_volume_source()),
            flex_volume: Some(pb_flex_volume_source()),
            cinder: Some(pb_cinder_volume_source()),
            cephfs: Some(pb_cephfs_volume_source()),
            flocker: Some(pb_flocker_volume_source()),
            downward_api: Some(pb_downwardapi_volume_source()),
            fc: Some(pb_fc_volume_source()),
            azure_file: Some(pb_azure_file_volume_source()),
            config_map: Some(pb_config_map_volume_source()),
            vsphere_volume: Some(pb_vsphere_virtual_disk_volume_source()),
            quobyte: Some(pb_quobyte_volume_source()),
            azure_disk: Some(pb_azure_disk_volume_source()),
            photon_persistent_disk: Some(pb_photon_persistent_disk_volume_source()),
            projected: Some(pb_projected_volume_source()),
            portworx_volume: Some(pb_portworx_volume_source()),
            scale_io: Some(pb_scaleio_volume_source()),
            storageos: Some(pb_storageos_volume_source()),
            csi: Some(pb_csi_volume_source()),
            ephemeral: Some(pb_ephemeral_volume_source()),
            image: Some(pb_image_volume_source()),
        }),
    }
}

fn pb_volume_device() -> pb_core::VolumeDevice {
    pb_core::VolumeDevice {
        name: Some("name".into()),
        device_path: Some("device_path".into()),
    }
}

fn pb_volume_mount() -> pb_core::VolumeMount {
    pb_core::VolumeMount {
        name: Some("name".into()),
        read_only: Some(true),
        recursive_read_only: Some("recursive_read_only".into()),
        mount_path: Some("mount_path".into()),
        sub_path: Some("sub_path".into()),
        mount_propagation: Some("mount_propagation".into()),
        sub_path_expr: Some("sub_path_expr".into()),
    }
}

fn pb_volume_mount_status() -> pb_core::VolumeMountStatus {
    pb_core::VolumeMountStatus {
        name: Some("name".into()),
        mount_path: Some("mount_path".into()),
        read_only: Some(true),
        recursive_read_only: Some("recursive_read_only".into()),
    }
}

fn pb_volume_projection() -> pb_core::VolumeProjection {
    pb_core::VolumeProjection {
        secret: Some(pb_secret_projection()),
        downward_api: Some(pb_downwardapi_projection()),
        config_map: Some(pb_config_map_projection()),
        service_account_token: Some(pb_service_account_token_projection()),
        cluster_trust_bundle: Some(pb_cluster_trust_bundle_projection()),
        // Only in k8s-pb: dropped.
        pod_certificate: Default::default(),
    }
}

fn pb_volume_resource_requirements() -> pb_core::VolumeResourceRequirements {
    pb_core::VolumeResourceRequirements {
        limits: BTreeMap::from([(
            "key-limits".into(),
            pb_resource::Quantity {
                string: Some("0Mi".into()),
            },
        )]),
        requests: BTreeMap::from([(
            "key-requests".into(),
            pb_resource::Quantity {
                string: Some("1Mi".into()),
            },
        )]),
    }
}

fn pb_vsphere_virtual_disk_volume_source() -> pb_core::VsphereVirtualDiskVolumeSource {
    pb_core::VsphereVirtualDiskVolumeSource {
        volume_path: Some("volume_path".into()),
        fs_type: Some("fs_type".into()),
        storage_policy_name: Some("storage_policy_name".into()),
        storage_policy_id: Some("storage_policy_id".into()),
    }
}

fn pb_weighted_pod_affinity_term() -> pb_core::WeightedPodAffinityTerm {
    pb_core::WeightedPodAffinityTerm {
        weight: Some(101),
        pod_affinity_term: Some(pb_pod_affinity_term()),
    }
}

fn pb_windows_security_context_options() -> pb_core::WindowsSecurityContextOptions {
    pb_core::WindowsSecurityContextOptions {
        gmsa_credential_spec_name: Some("gmsa_credential_spec_name".into()),
        gmsa_credential_spec: Some("gmsa_credential_spec".into()),
        run_as_user_name: Some("run_as_user_name".into()),
        host_process: Some(true),
    }
}
