//! The conversion of a [`Pod`](k8s_openapi::api::core::v1::Pod) and every type it holds.
//!
//! Generated once from the sources of k8s-openapi 0.29 (feature `v1_33`) and k8s-pb 0.9: the
//! types reachable from `Pod`, each with its fields in k8s-openapi's order and the rule that
//! converts each (see the parent module: `opt` for Go pointers and nested objects, `omit` for
//! Go non-pointer `omitempty` scalars, `req` for what k8s-openapi requires, `list`, `map`,
//! `time`).

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::api::core::v1 as pb_core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;

use super::{convert, field, list, map, omit, opt, req, req_list, time};

convert! {
    core::Pod = pb_core::Pod {
        metadata: req,
        spec: opt,
        status: opt,
    }
    meta::ObjectMeta = pb_meta::ObjectMeta {
        annotations: map,
        creation_timestamp: time,
        deletion_grace_period_seconds: opt,
        deletion_timestamp: time,
        finalizers: list,
        generate_name: omit,
        generation: omit,
        labels: map,
        managed_fields: list,
        name: omit,
        namespace: omit,
        owner_references: list,
        resource_version: omit,
        self_link: omit,
        uid: omit,
    }
    core::PodSpec = pb_core::PodSpec {
        active_deadline_seconds: opt,
        affinity: opt,
        automount_service_account_token: opt,
        containers: req_list,
        dns_config: opt,
        dns_policy: omit,
        enable_service_links: opt,
        ephemeral_containers: list,
        host_aliases: list,
        host_ipc: omit,
        host_network: omit,
        host_pid: omit,
        host_users: opt,
        hostname: omit,
        image_pull_secrets: list,
        init_containers: list,
        node_name: omit,
        node_selector: map,
        os: opt,
        overhead: map,
        preemption_policy: opt,
        priority: opt,
        priority_class_name: omit,
        readiness_gates: list,
        resource_claims: list,
        resources: opt,
        restart_policy: omit,
        runtime_class_name: opt,
        scheduler_name: omit,
        scheduling_gates: list,
        security_context: opt,
        service_account: omit,
        service_account_name: omit,
        set_hostname_as_fqdn: opt,
        share_process_namespace: opt,
        subdomain: omit,
        termination_grace_period_seconds: opt,
        tolerations: list,
        topology_spread_constraints: list,
        volumes: list,
    }
    core::PodStatus = pb_core::PodStatus {
        conditions: list,
        container_statuses: list,
        ephemeral_container_statuses: list,
        host_ip: omit,
        host_ips: list,
        init_container_statuses: list,
        message: omit,
        nominated_node_name: omit,
        observed_generation: omit,
        phase: omit,
        pod_ip: omit,
        pod_ips: list,
        qos_class: omit,
        reason: omit,
        resize: omit,
        resource_claim_statuses: list,
        start_time: time,
    }
    meta::ManagedFieldsEntry = pb_meta::ManagedFieldsEntry {
        api_version: omit,
        fields_type: omit,
        fields_v1: opt,
        manager: omit,
        operation: omit,
        subresource: omit,
        time: time,
    }
    meta::OwnerReference = pb_meta::OwnerReference {
        api_version: req,
        block_owner_deletion: opt,
        controller: opt,
        kind: req,
        name: req,
        uid: req,
    }
    core::Affinity = pb_core::Affinity {
        node_affinity: opt,
        pod_affinity: opt,
        pod_anti_affinity: opt,
    }
    core::Container = pb_core::Container {
        args: list,
        command: list,
        env: list,
        env_from: list,
        image: omit,
        image_pull_policy: omit,
        lifecycle: opt,
        liveness_probe: opt,
        name: req,
        ports: list,
        readiness_probe: opt,
        resize_policy: list,
        resources: opt,
        restart_policy: opt,
        security_context: opt,
        startup_probe: opt,
        stdin: omit,
        stdin_once: omit,
        termination_message_path: omit,
        termination_message_policy: omit,
        tty: omit,
        volume_devices: list,
        volume_mounts: list,
        working_dir: omit,
    }
    core::PodDNSConfig = pb_core::PodDnsConfig {
        nameservers: list,
        options: list,
        searches: list,
    }
    core::EphemeralContainer = pb_core::EphemeralContainer {
        target_container_name: omit,
        ..ephemeral_container_common {
            args: list,
            command: list,
            env: list,
            env_from: list,
            image: omit,
            image_pull_policy: omit,
            lifecycle: opt,
            liveness_probe: opt,
            name: req,
            ports: list,
            readiness_probe: opt,
            resize_policy: list,
            resources: opt,
            restart_policy: opt,
            security_context: opt,
            startup_probe: opt,
            stdin: omit,
            stdin_once: omit,
            termination_message_path: omit,
            termination_message_policy: omit,
            tty: omit,
            volume_devices: list,
            volume_mounts: list,
            working_dir: omit,
        }
    }
    core::HostAlias = pb_core::HostAlias {
        hostnames: list,
        ip: req,
    }
    core::LocalObjectReference = pb_core::LocalObjectReference {
        name: req,
    }
    core::PodOS = pb_core::PodOs {
        name: req,
    }
    core::PodReadinessGate = pb_core::PodReadinessGate {
        condition_type: req,
    }
    core::PodResourceClaim = pb_core::PodResourceClaim {
        name: req,
        resource_claim_name: opt,
        resource_claim_template_name: opt,
    }
    core::ResourceRequirements = pb_core::ResourceRequirements {
        claims: list,
        limits: map,
        requests: map,
    }
    core::PodSchedulingGate = pb_core::PodSchedulingGate {
        name: req,
    }
    core::PodSecurityContext = pb_core::PodSecurityContext {
        app_armor_profile: opt,
        fs_group: opt,
        fs_group_change_policy: opt,
        run_as_group: opt,
        run_as_non_root: opt,
        run_as_user: opt,
        se_linux_change_policy: opt,
        se_linux_options: opt,
        seccomp_profile: opt,
        supplemental_groups: list,
        supplemental_groups_policy: opt,
        sysctls: list,
        windows_options: opt,
    }
    core::Toleration = pb_core::Toleration {
        effect: omit,
        key: omit,
        operator: omit,
        toleration_seconds: opt,
        value: omit,
    }
    core::TopologySpreadConstraint = pb_core::TopologySpreadConstraint {
        label_selector: opt,
        match_label_keys: list,
        max_skew: req,
        min_domains: opt,
        node_affinity_policy: opt,
        node_taints_policy: opt,
        topology_key: req,
        when_unsatisfiable: req,
    }
    core::Volume = pb_core::Volume {
        name: req,
        ..volume_source {
            aws_elastic_block_store: opt,
            azure_disk: opt,
            azure_file: opt,
            cephfs: opt,
            cinder: opt,
            config_map: opt,
            csi: opt,
            downward_api: opt,
            empty_dir: opt,
            ephemeral: opt,
            fc: opt,
            flex_volume: opt,
            flocker: opt,
            gce_persistent_disk: opt,
            git_repo: opt,
            glusterfs: opt,
            host_path: opt,
            image: opt,
            iscsi: opt,
            nfs: opt,
            persistent_volume_claim: opt,
            photon_persistent_disk: opt,
            portworx_volume: opt,
            projected: opt,
            quobyte: opt,
            rbd: opt,
            scale_io: opt,
            secret: opt,
            storageos: opt,
            vsphere_volume: opt,
        }
    }
    core::PodCondition = pb_core::PodCondition {
        last_probe_time: time,
        last_transition_time: time,
        message: omit,
        observed_generation: omit,
        reason: omit,
        status: req,
        type_ as r#type: req,
    }
    core::ContainerStatus = pb_core::ContainerStatus {
        allocated_resources: map,
        allocated_resources_status: list,
        container_id: omit,
        image: req,
        image_id: req,
        last_state: opt,
        name: req,
        ready: req,
        resources: opt,
        restart_count: req,
        started: opt,
        state: opt,
        stop_signal: opt,
        user: opt,
        volume_mounts: list,
    }
    core::HostIP = pb_core::HostIp {
        ip: req,
    }
    core::PodIP = pb_core::PodIp {
        ip: req,
    }
    core::PodResourceClaimStatus = pb_core::PodResourceClaimStatus {
        name: req,
        resource_claim_name: opt,
    }
    core::NodeAffinity = pb_core::NodeAffinity {
        preferred_during_scheduling_ignored_during_execution: list,
        required_during_scheduling_ignored_during_execution: opt,
    }
    core::PodAffinity = pb_core::PodAffinity {
        preferred_during_scheduling_ignored_during_execution: list,
        required_during_scheduling_ignored_during_execution: list,
    }
    core::PodAntiAffinity = pb_core::PodAntiAffinity {
        preferred_during_scheduling_ignored_during_execution: list,
        required_during_scheduling_ignored_during_execution: list,
    }
    core::EnvVar = pb_core::EnvVar {
        name: req,
        value: omit,
        value_from: opt,
    }
    core::EnvFromSource = pb_core::EnvFromSource {
        config_map_ref: opt,
        prefix: omit,
        secret_ref: opt,
    }
    core::Lifecycle = pb_core::Lifecycle {
        post_start: opt,
        pre_stop: opt,
        stop_signal: opt,
    }
    core::Probe = pb_core::Probe {
        failure_threshold: omit,
        initial_delay_seconds: omit,
        period_seconds: omit,
        success_threshold: omit,
        termination_grace_period_seconds: opt,
        timeout_seconds: omit,
        ..handler {
            exec: opt,
            grpc: opt,
            http_get: opt,
            tcp_socket: opt,
        }
    }
    core::ContainerPort = pb_core::ContainerPort {
        container_port: req,
        host_ip: omit,
        host_port: omit,
        name: omit,
        protocol: omit,
    }
    core::ContainerResizePolicy = pb_core::ContainerResizePolicy {
        resource_name: req,
        restart_policy: req,
    }
    core::SecurityContext = pb_core::SecurityContext {
        allow_privilege_escalation: opt,
        app_armor_profile: opt,
        capabilities: opt,
        privileged: opt,
        proc_mount: opt,
        read_only_root_filesystem: opt,
        run_as_group: opt,
        run_as_non_root: opt,
        run_as_user: opt,
        se_linux_options: opt,
        seccomp_profile: opt,
        windows_options: opt,
    }
    core::VolumeDevice = pb_core::VolumeDevice {
        device_path: req,
        name: req,
    }
    core::VolumeMount = pb_core::VolumeMount {
        mount_path: req,
        mount_propagation: opt,
        name: req,
        read_only: omit,
        recursive_read_only: opt,
        sub_path: omit,
        sub_path_expr: omit,
    }
    core::PodDNSConfigOption = pb_core::PodDnsConfigOption {
        name: omit,
        value: opt,
    }
    core::ResourceClaim = pb_core::ResourceClaim {
        name: req,
        request: omit,
    }
    core::AppArmorProfile = pb_core::AppArmorProfile {
        localhost_profile: opt,
        type_ as r#type: req,
    }
    core::SELinuxOptions = pb_core::SeLinuxOptions {
        level: omit,
        role: omit,
        type_ as r#type: omit,
        user: omit,
    }
    core::SeccompProfile = pb_core::SeccompProfile {
        localhost_profile: opt,
        type_ as r#type: req,
    }
    core::Sysctl = pb_core::Sysctl {
        name: req,
        value: req,
    }
    core::WindowsSecurityContextOptions = pb_core::WindowsSecurityContextOptions {
        gmsa_credential_spec: opt,
        gmsa_credential_spec_name: opt,
        host_process: opt,
        run_as_user_name: opt,
    }
    meta::LabelSelector = pb_meta::LabelSelector {
        match_expressions: list,
        match_labels: map,
    }
    core::AWSElasticBlockStoreVolumeSource = pb_core::AwsElasticBlockStoreVolumeSource {
        fs_type: omit,
        partition: omit,
        read_only: omit,
        volume_id: req,
    }
    core::AzureDiskVolumeSource = pb_core::AzureDiskVolumeSource {
        caching_mode: opt,
        disk_name: req,
        disk_uri: req,
        fs_type: opt,
        kind: opt,
        read_only: opt,
    }
    core::AzureFileVolumeSource = pb_core::AzureFileVolumeSource {
        read_only: omit,
        secret_name: req,
        share_name: req,
    }
    core::CephFSVolumeSource = pb_core::CephFsVolumeSource {
        monitors: req_list,
        path: omit,
        read_only: omit,
        secret_file: omit,
        secret_ref: opt,
        user: omit,
    }
    core::CinderVolumeSource = pb_core::CinderVolumeSource {
        fs_type: omit,
        read_only: omit,
        secret_ref: opt,
        volume_id: req,
    }
    core::ConfigMapVolumeSource = pb_core::ConfigMapVolumeSource {
        default_mode: opt,
        items: list,
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::CSIVolumeSource = pb_core::CSIVolumeSource {
        driver: req,
        fs_type: opt,
        node_publish_secret_ref: opt,
        read_only: opt,
        volume_attributes: map,
    }
    core::DownwardAPIVolumeSource = pb_core::DownwardAPIVolumeSource {
        default_mode: opt,
        items: list,
    }
    core::EmptyDirVolumeSource = pb_core::EmptyDirVolumeSource {
        medium: omit,
        size_limit: opt,
    }
    core::EphemeralVolumeSource = pb_core::EphemeralVolumeSource {
        volume_claim_template: opt,
    }
    core::FCVolumeSource = pb_core::FcVolumeSource {
        fs_type: omit,
        lun: opt,
        read_only: omit,
        target_wwns as target_ww_ns: list,
        wwids: list,
    }
    core::FlexVolumeSource = pb_core::FlexVolumeSource {
        driver: req,
        fs_type: omit,
        options: map,
        read_only: omit,
        secret_ref: opt,
    }
    core::FlockerVolumeSource = pb_core::FlockerVolumeSource {
        dataset_name: omit,
        dataset_uuid: omit,
    }
    core::GCEPersistentDiskVolumeSource = pb_core::GcePersistentDiskVolumeSource {
        fs_type: omit,
        partition: omit,
        pd_name: req,
        read_only: omit,
    }
    core::GitRepoVolumeSource = pb_core::GitRepoVolumeSource {
        directory: omit,
        repository: req,
        revision: omit,
    }
    core::GlusterfsVolumeSource = pb_core::GlusterfsVolumeSource {
        endpoints: req,
        path: req,
        read_only: omit,
    }
    core::HostPathVolumeSource = pb_core::HostPathVolumeSource {
        path: req,
        type_ as r#type: opt,
    }
    core::ImageVolumeSource = pb_core::ImageVolumeSource {
        pull_policy: omit,
        reference: omit,
    }
    core::ISCSIVolumeSource = pb_core::IscsiVolumeSource {
        chap_auth_discovery: omit,
        chap_auth_session: omit,
        fs_type: omit,
        initiator_name: opt,
        iqn: req,
        iscsi_interface: omit,
        lun: req,
        portals: list,
        read_only: omit,
        secret_ref: opt,
        target_portal: req,
    }
    core::NFSVolumeSource = pb_core::NfsVolumeSource {
        path: req,
        read_only: omit,
        server: req,
    }
    core::PersistentVolumeClaimVolumeSource = pb_core::PersistentVolumeClaimVolumeSource {
        claim_name: req,
        read_only: omit,
    }
    core::PhotonPersistentDiskVolumeSource = pb_core::PhotonPersistentDiskVolumeSource {
        fs_type: omit,
        pd_id: req,
    }
    core::PortworxVolumeSource = pb_core::PortworxVolumeSource {
        fs_type: omit,
        read_only: omit,
        volume_id: req,
    }
    core::ProjectedVolumeSource = pb_core::ProjectedVolumeSource {
        default_mode: opt,
        sources: list,
    }
    core::QuobyteVolumeSource = pb_core::QuobyteVolumeSource {
        group: omit,
        read_only: omit,
        registry: req,
        tenant: omit,
        user: omit,
        volume: req,
    }
    core::RBDVolumeSource = pb_core::RbdVolumeSource {
        fs_type: omit,
        image: req,
        keyring: omit,
        monitors: req_list,
        pool: omit,
        read_only: omit,
        secret_ref: opt,
        user: omit,
    }
    core::ScaleIOVolumeSource = pb_core::ScaleIoVolumeSource {
        fs_type: omit,
        gateway: req,
        protection_domain: omit,
        read_only: omit,
        secret_ref: req,
        ssl_enabled: omit,
        storage_mode: omit,
        storage_pool: omit,
        system: req,
        volume_name: omit,
    }
    core::SecretVolumeSource = pb_core::SecretVolumeSource {
        default_mode: opt,
        items: list,
        optional: opt,
        secret_name: omit,
    }
    core::StorageOSVolumeSource = pb_core::StorageOsVolumeSource {
        fs_type: omit,
        read_only: omit,
        secret_ref: opt,
        volume_name: omit,
        volume_namespace: omit,
    }
    core::VsphereVirtualDiskVolumeSource = pb_core::VsphereVirtualDiskVolumeSource {
        fs_type: omit,
        storage_policy_id: omit,
        storage_policy_name: omit,
        volume_path: req,
    }
    core::ResourceStatus = pb_core::ResourceStatus {
        name: req,
        resources: list,
    }
    core::ContainerState = pb_core::ContainerState {
        running: opt,
        terminated: opt,
        waiting: opt,
    }
    core::ContainerUser = pb_core::ContainerUser {
        linux: opt,
    }
    core::VolumeMountStatus = pb_core::VolumeMountStatus {
        mount_path: req,
        name: req,
        read_only: omit,
        recursive_read_only: opt,
    }
    core::PreferredSchedulingTerm = pb_core::PreferredSchedulingTerm {
        preference: req,
        weight: req,
    }
    core::NodeSelector = pb_core::NodeSelector {
        node_selector_terms: req_list,
    }
    core::WeightedPodAffinityTerm = pb_core::WeightedPodAffinityTerm {
        pod_affinity_term: req,
        weight: req,
    }
    core::PodAffinityTerm = pb_core::PodAffinityTerm {
        label_selector: opt,
        match_label_keys: list,
        mismatch_label_keys: list,
        namespace_selector: opt,
        namespaces: list,
        topology_key: req,
    }
    core::EnvVarSource = pb_core::EnvVarSource {
        config_map_key_ref: opt,
        field_ref: opt,
        resource_field_ref: opt,
        secret_key_ref: opt,
    }
    core::ConfigMapEnvSource = pb_core::ConfigMapEnvSource {
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::SecretEnvSource = pb_core::SecretEnvSource {
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::LifecycleHandler = pb_core::LifecycleHandler {
        exec: opt,
        http_get: opt,
        sleep: opt,
        tcp_socket: opt,
    }
    core::ExecAction = pb_core::ExecAction {
        command: list,
    }
    core::GRPCAction = pb_core::GrpcAction {
        port: req,
        service: opt,
    }
    core::HTTPGetAction = pb_core::HttpGetAction {
        host: omit,
        http_headers: list,
        path: omit,
        port: req,
        scheme: omit,
    }
    core::TCPSocketAction = pb_core::TcpSocketAction {
        host: omit,
        port: req,
    }
    core::Capabilities = pb_core::Capabilities {
        add: list,
        drop: list,
    }
    meta::LabelSelectorRequirement = pb_meta::LabelSelectorRequirement {
        key: req,
        operator: req,
        values: list,
    }
    core::KeyToPath = pb_core::KeyToPath {
        key: req,
        mode: opt,
        path: req,
    }
    core::DownwardAPIVolumeFile = pb_core::DownwardAPIVolumeFile {
        field_ref: opt,
        mode: opt,
        path: req,
        resource_field_ref: opt,
    }
    core::PersistentVolumeClaimTemplate = pb_core::PersistentVolumeClaimTemplate {
        metadata: opt,
        spec: req,
    }
    core::VolumeProjection = pb_core::VolumeProjection {
        cluster_trust_bundle: opt,
        config_map: opt,
        downward_api: opt,
        secret: opt,
        service_account_token: opt,
    }
    core::ResourceHealth = pb_core::ResourceHealth {
        health: omit,
        resource_id: req,
    }
    core::ContainerStateRunning = pb_core::ContainerStateRunning {
        started_at: time,
    }
    core::ContainerStateTerminated = pb_core::ContainerStateTerminated {
        container_id: omit,
        exit_code: req,
        finished_at: time,
        message: omit,
        reason: omit,
        signal: omit,
        started_at: time,
    }
    core::ContainerStateWaiting = pb_core::ContainerStateWaiting {
        message: omit,
        reason: omit,
    }
    core::LinuxContainerUser = pb_core::LinuxContainerUser {
        gid: req,
        supplemental_groups: list,
        uid: req,
    }
    core::NodeSelectorTerm = pb_core::NodeSelectorTerm {
        match_expressions: list,
        match_fields: list,
    }
    core::ConfigMapKeySelector = pb_core::ConfigMapKeySelector {
        key: req,
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::ObjectFieldSelector = pb_core::ObjectFieldSelector {
        api_version: omit,
        field_path: req,
    }
    core::ResourceFieldSelector = pb_core::ResourceFieldSelector {
        container_name: omit,
        divisor: opt,
        resource: req,
    }
    core::SecretKeySelector = pb_core::SecretKeySelector {
        key: req,
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::SleepAction = pb_core::SleepAction {
        seconds: req,
    }
    core::HTTPHeader = pb_core::HttpHeader {
        name: req,
        value: req,
    }
    core::PersistentVolumeClaimSpec = pb_core::PersistentVolumeClaimSpec {
        access_modes: list,
        data_source: opt,
        data_source_ref: opt,
        resources: opt,
        selector: opt,
        storage_class_name: opt,
        volume_attributes_class_name: opt,
        volume_mode: opt,
        volume_name: omit,
    }
    core::ClusterTrustBundleProjection = pb_core::ClusterTrustBundleProjection {
        label_selector: opt,
        name: opt,
        optional: opt,
        path: req,
        signer_name: opt,
    }
    core::ConfigMapProjection = pb_core::ConfigMapProjection {
        items: list,
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::DownwardAPIProjection = pb_core::DownwardAPIProjection {
        items: list,
    }
    core::SecretProjection = pb_core::SecretProjection {
        items: list,
        optional: opt,
        ..local_object_reference {
            name: req,
        }
    }
    core::ServiceAccountTokenProjection = pb_core::ServiceAccountTokenProjection {
        audience: omit,
        expiration_seconds: opt,
        path: req,
    }
    core::NodeSelectorRequirement = pb_core::NodeSelectorRequirement {
        key: req,
        operator: req,
        values: list,
    }
    core::TypedLocalObjectReference = pb_core::TypedLocalObjectReference {
        api_group: opt,
        kind: req,
        name: req,
    }
    core::TypedObjectReference = pb_core::TypedObjectReference {
        api_group: opt,
        kind: req,
        name: req,
        namespace: opt,
    }
    core::VolumeResourceRequirements = pb_core::VolumeResourceRequirements {
        limits: map,
        requests: map,
    }
}
