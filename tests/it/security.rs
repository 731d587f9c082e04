//! Security properties of `kreflect pods`, end to end against the fake API server: it only reads,
//! its bearer token never reaches a log, it trusts an HTTPS server only through the kubeconfig's
//! CA, and the manifests in `deploy/` grant it no more than it uses.

use std::path::Path;

use kreflect_sim::{Fault, ServerOptions};
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::harness::{Running, TestCluster, assert_one_line, run_to_end, strings};

const TOKEN: &str = "s3cr3t-kreflect-test-token-9f2c41d7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_get_requests_reach_the_server_through_list_watch_faults_and_relist() {
    let cluster = TestCluster::with_pods(&["a/x", "b/y"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "200ms"]));
    assert_eq!(kreflect.next_listing().await, strings(&["a/x", "b/y"]));
    cluster
        .wait_for_request("a watch", |r| r.is_plain_watch())
        .await;

    // The restart cuts the watch; the next watch is told 410 Gone, so kreflect relists; that
    // relist fails with a 500 and is retried after a backoff.
    cluster.server.inject(Fault::WatchGoneHttp);
    cluster.server.inject(Fault::ListStatus {
        code: 500,
        reason: "InternalError".into(),
        retry_after: None,
    });
    cluster.server.restart().await;
    cluster.server.cluster().create_pod("a", "z");
    kreflect
        .wait_for_listing(&strings(&["a/x", "a/z", "b/y"]))
        .await;
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());

    let requests = cluster.requests();
    assert!(
        cluster.list_requests().len() >= 3,
        "the run includes a failed and a successful relist: {requests:#?}"
    );
    assert!(cluster.watch_requests().len() >= 2, "{requests:#?}");
    let not_get: Vec<_> = requests.iter().filter(|r| r.method != "GET").collect();
    assert!(not_get.is_empty(), "kreflect is read-only: {not_get:#?}");
}

/// Runs `kreflect pods -vv` (plus `RUST_LOG` when given) against a server requiring a bearer
/// token, through events and a server restart, then SIGTERM; returns (stdout, stderr).
async fn run_with_token(rust_log: Option<&str>) -> (String, String) {
    let cluster = TestCluster::start(ServerOptions {
        bearer_token: Some(TOKEN.to_owned()),
        ..ServerOptions::default()
    })
    .await;
    let pods = cluster.server.cluster();
    pods.create_pod("a", "x");
    let mut command = cluster.kreflect(&["--interval", "200ms", "-vv"]);
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let mut kreflect = Running::spawn(command);
    let mut stdout = kreflect.next_listing().await.join("\n");
    pods.create_pod("a", "y");
    kreflect
        .wait_for_stderr("the ADDED event", |line| {
            line.contains("got event") && line.contains("a/y")
        })
        .await;
    // The restart drops the watch: kreflect connects (and authenticates) again.
    cluster.server.restart().await;
    pods.delete_pod("a", "x").expect("exists");
    kreflect.wait_for_listing(&strings(&["a/y"])).await;
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
    stdout.push_str(&kreflect.rest_of_stdout().await);
    let stderr = kreflect.stderr().await;

    let requests = cluster.requests();
    assert!(cluster.watch_requests().len() >= 2, "{requests:#?}");
    let expected = format!("Bearer {TOKEN}");
    for request in &requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some(expected.as_str()),
            "every request carries the token: {request:?}"
        );
    }
    (stdout, stderr)
}

fn assert_no_token(stdout: &str, stderr: &str) {
    assert!(!stdout.contains(TOKEN), "token on stdout: {stdout}");
    let leaks: Vec<&str> = stderr.lines().filter(|l| l.contains(TOKEN)).collect();
    assert!(leaks.is_empty(), "token in the logs: {leaks:#?}");
    // Not even a prefix long enough to be useful (a truncated header dump, say).
    assert!(!stderr.contains(&TOKEN[..12]), "token prefix in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_sent_but_never_logged_at_vv() {
    let (stdout, stderr) = run_with_token(None).await;
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "{stderr}"
    );
    assert_no_token(&stdout, &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_never_logged_even_with_rust_log_trace_for_every_crate() {
    let (stdout, stderr) = run_with_token(Some("trace")).await;
    // Proof that the HTTP stack's own logs were on, not only ours. (The `hyper` crate itself
    // logs only when built with `--cfg hyper_unstable_tracing`; hyper-util and tower log every
    // request, with its URL but without its headers. kube's request spans are not in the stack
    // kreflect builds: see transport.rs.)
    for target in ["hyper_util", "tower"] {
        assert!(
            stderr.lines().any(|l| l.contains(target)),
            "{target} logs are on: {}",
            &stderr[..stderr.len().min(2000)]
        );
    }
    assert_no_token(&stdout, &stderr);
}

async fn https_cluster(pods: &[&str]) -> TestCluster {
    let options = ServerOptions {
        tls: true,
        bearer_token: Some(TOKEN.to_owned()),
        ..ServerOptions::default()
    };
    TestCluster::start_with_pods(options, pods).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_trusted_through_the_kubeconfig_ca_data() {
    let cluster = https_cluster(&["a/x", "b/y"]).await;
    assert!(cluster.server.url().starts_with("https://127.0.0.1:"));
    assert!(
        cluster
            .server
            .kubeconfig()
            .contains("certificate-authority-data")
    );
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stdout, "a/x\nb/y\n\n");
    assert_eq!(stderr, "");
}

/// The server's kubeconfig with its cluster's `certificate-authority-data` replaced by
/// `ca_data` (removed when `None`).
fn kubeconfig_with_ca(cluster: &TestCluster, ca_data: Option<Value>) -> String {
    let mut config: Value = serde_json::from_str(&cluster.server.kubeconfig()).expect("JSON");
    let entry = config["clusters"][0]["cluster"]
        .as_object_mut()
        .expect("cluster entry");
    match ca_data {
        Some(data) => entry.insert("certificate-authority-data".into(), data),
        None => entry.remove("certificate-authority-data"),
    };
    config.to_string()
}

/// Runs `--once` with `kubeconfig` and checks the run fails with one line naming `problem`.
async fn assert_untrusted_server_is_refused(
    cluster: &TestCluster,
    kubeconfig: &Path,
    problem: &str,
) {
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(kubeconfig, &["--once"])).await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, problem);
    assert!(stderr.starts_with("kreflect: "), "{stderr}");
    assert!(
        stderr.contains(&format!("invalid peer certificate: {problem}")),
        "names the certificate problem: {stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
    // The handshake failed before any request: the token never went to the untrusted server.
    assert_eq!(cluster.requests(), Vec::new(), "no request got through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_without_the_ca_in_the_kubeconfig_is_refused_with_one_line() {
    let cluster = https_cluster(&["a/x"]).await;
    let kubeconfig = cluster.write_kubeconfig("no-ca", &kubeconfig_with_ca(&cluster, None));
    assert_untrusted_server_is_refused(&cluster, &kubeconfig, "UnknownIssuer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_another_ca_in_the_kubeconfig_is_refused_with_one_line() {
    let cluster = https_cluster(&["a/x"]).await;
    let impostor = https_cluster(&[]).await;
    let other_ca: Value = serde_json::from_str(&impostor.server.kubeconfig())
        .map(|config: Value| config["clusters"][0]["cluster"]["certificate-authority-data"].clone())
        .expect("JSON");
    assert!(other_ca.is_string());
    let kubeconfig =
        cluster.write_kubeconfig("other-ca", &kubeconfig_with_ca(&cluster, Some(other_ca)));
    // Both CAs have the same name (as every cluster's "kubernetes" CA does), so the issuer is
    // found but its key does not match.
    assert_untrusted_server_is_refused(&cluster, &kubeconfig, "BadSignature").await;
}

mod deploy {
    //! The manifests in `deploy/`: well-formed Kubernetes objects (no field the API would
    //! silently drop), a kustomization that installs exactly the cluster-wide set, least-privilege
    //! RBAC, a hardened Deployment whose probes and port match its `--metrics-addr`.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, Probe, ServiceAccount};
    use k8s_openapi::api::rbac::v1::{
        ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};
    use serde_json::Value;

    const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

    /// The namespaced variant (a Role and its binding), which `kustomization.yaml` leaves out of
    /// the default, cluster-wide install on purpose; every other manifest must be listed there.
    const NAMESPACED_VARIANT: [&str; 2] = ["role.yaml", "rolebinding.yaml"];

    /// `deploy/kustomization.yaml`, as far as kustomize reads it; a field this does not know
    /// (a misspelt `resource:`, or a new one: add it here) fails the parse.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Kustomization {
        api_version: String,
        kind: String,
        resources: Vec<String>,
    }

    /// `deploy/NAME` (a path relative to `deploy/`) parsed as YAML.
    fn yaml<T: DeserializeOwned>(name: &str) -> T {
        let path = format!("{DEPLOY}/{name}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
        serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    /// Parses `deploy/NAME` as `K`, and checks that it round-trips: a misspelt or misplaced
    /// field would be dropped by the typed parse and show up as a difference here. (k8s-openapi
    /// also refuses an `apiVersion` or `kind` other than `K`'s.)
    fn manifest<K: DeserializeOwned + Serialize>(name: &str) -> K {
        let value: Value = yaml(name);
        let typed: K = serde_json::from_value(value.clone()).unwrap_or_else(|err| {
            panic!(
                "deploy/{name} is not a {}: {err}",
                std::any::type_name::<K>()
            )
        });
        let again = serde_json::to_value(&typed).expect("serializes");
        assert_eq!(
            again, value,
            "deploy/{name} has fields its kind does not know"
        );
        typed
    }

    /// Checks that `deploy/NAME` round-trips through the type its `kind` names; returns the kind.
    fn manifest_of_its_kind(name: &str) -> String {
        let value: Value = yaml(name);
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        match kind.as_str() {
            "Namespace" => {
                let _: Namespace = manifest(name);
            }
            "ServiceAccount" => {
                let _: ServiceAccount = manifest(name);
            }
            "ClusterRole" => {
                let _: ClusterRole = manifest(name);
            }
            "ClusterRoleBinding" => {
                let _: ClusterRoleBinding = manifest(name);
            }
            "Role" => {
                let _: Role = manifest(name);
            }
            "RoleBinding" => {
                let _: RoleBinding = manifest(name);
            }
            "Deployment" => {
                let _: Deployment = manifest(name);
            }
            _ => panic!("deploy/{name}: kind {kind:?} is not checked here: add its type"),
        }
        kind
    }

    /// Every `*.yaml` under `deploy/`, as paths relative to it, sorted.
    fn yaml_files() -> BTreeSet<String> {
        fn walk(dir: &Path, files: &mut BTreeSet<String>) {
            let entries = std::fs::read_dir(dir).unwrap_or_else(|err| panic!("{dir:?}: {err}"));
            for entry in entries {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path
                    .extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
                {
                    let relative = path.strip_prefix(DEPLOY).expect("under deploy/");
                    files.insert(relative.to_str().expect("UTF-8 name").to_owned());
                }
            }
        }
        let mut files = BTreeSet::new();
        walk(Path::new(DEPLOY), &mut files);
        files
    }

    #[test]
    fn every_yaml_file_in_deploy_parses_and_each_manifest_round_trips_as_its_kind() {
        let files = yaml_files();
        assert!(files.contains("deployment.yaml"), "{files:?}");
        for name in &files {
            if name == "kustomization.yaml" {
                let _: Kustomization = yaml(name);
            } else {
                manifest_of_its_kind(name);
            }
        }
    }

    #[test]
    fn kustomization_lists_the_cluster_wide_install_and_only_files_that_exist() {
        let kustomization: Kustomization = yaml("kustomization.yaml");
        assert_eq!(kustomization.api_version, "kustomize.config.k8s.io/v1beta1");
        assert_eq!(kustomization.kind, "Kustomization");
        let listed: BTreeSet<String> = kustomization.resources.iter().cloned().collect();
        assert_eq!(
            listed.len(),
            kustomization.resources.len(),
            "listed twice: {:?}",
            kustomization.resources
        );
        for name in &listed {
            assert!(
                Path::new(DEPLOY).join(name).is_file(),
                "kustomization.yaml lists {name}, which is not a file in deploy/"
            );
        }
        // Every manifest is either installed by default or the documented namespaced variant.
        let mut expected = yaml_files();
        expected.remove("kustomization.yaml");
        for name in NAMESPACED_VARIANT {
            assert!(expected.remove(name), "{name} is missing from deploy/");
        }
        assert_eq!(
            listed, expected,
            "kustomization.yaml must list every manifest but the namespaced variant"
        );
        let kinds: BTreeSet<String> = listed.iter().map(|n| manifest_of_its_kind(n)).collect();
        let wanted = [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Namespace",
            "ServiceAccount",
        ];
        assert_eq!(kinds, wanted.map(str::to_owned).into(), "{listed:?}");
    }

    fn assert_list_watch_pods_only(rules: Option<Vec<PolicyRule>>, what: &str) {
        let rules = rules.unwrap_or_default();
        assert_eq!(rules.len(), 1, "{what}: one rule: {rules:#?}");
        let rule = &rules[0];
        assert_eq!(
            rule.api_groups.as_deref(),
            Some(&[String::new()][..]),
            "{what}: core group only"
        );
        assert_eq!(
            rule.resources.as_deref(),
            Some(&["pods".to_owned()][..]),
            "{what}"
        );
        assert_eq!(
            rule.verbs,
            ["list", "watch"],
            "{what}: exactly list and watch"
        );
        assert_eq!(rule.resource_names, None, "{what}");
        assert_eq!(rule.non_resource_urls, None, "{what}");
    }

    #[test]
    fn cluster_role_and_role_grant_exactly_list_and_watch_on_core_pods() {
        let cluster_role: ClusterRole = manifest("clusterrole.yaml");
        assert_eq!(cluster_role.aggregation_rule, None);
        assert_list_watch_pods_only(cluster_role.rules, "ClusterRole");
        let role: Role = manifest("role.yaml");
        assert_list_watch_pods_only(role.rules, "Role");
    }

    #[test]
    fn bindings_tie_the_roles_to_the_service_account() {
        let account: ServiceAccount = manifest("serviceaccount.yaml");
        let cluster_role: ClusterRole = manifest("clusterrole.yaml");
        let role: Role = manifest("role.yaml");
        let cluster_binding: ClusterRoleBinding = manifest("clusterrolebinding.yaml");
        let binding: RoleBinding = manifest("rolebinding.yaml");

        assert_eq!(cluster_binding.role_ref.kind, "ClusterRole");
        assert_eq!(
            Some(&cluster_binding.role_ref.name),
            cluster_role.metadata.name.as_ref()
        );
        assert_eq!(binding.role_ref.kind, "Role");
        assert_eq!(Some(&binding.role_ref.name), role.metadata.name.as_ref());
        assert_eq!(binding.metadata.namespace, role.metadata.namespace);
        for subjects in [cluster_binding.subjects, binding.subjects] {
            let subjects = subjects.unwrap_or_default();
            assert_eq!(subjects.len(), 1, "{subjects:#?}");
            assert_eq!(subjects[0].kind, "ServiceAccount");
            assert_eq!(Some(&subjects[0].name), account.metadata.name.as_ref());
            assert_eq!(subjects[0].namespace, account.metadata.namespace);
        }
    }

    /// The Deployment's pod spec and its one container.
    fn deployment_pod() -> (Deployment, PodSpec, Container) {
        let deployment: Deployment = manifest("deployment.yaml");
        let pod = deployment
            .spec
            .as_ref()
            .and_then(|spec| spec.template.spec.clone())
            .expect("pod spec");
        assert_eq!(pod.containers.len(), 1, "one container");
        let container = pod.containers[0].clone();
        (deployment, pod, container)
    }

    /// The port of the container's `--metrics-addr` (`--metrics-addr ADDR` or `=ADDR`).
    fn metrics_port(container: &Container) -> i32 {
        let args = container.args.as_deref().unwrap_or_default();
        let addr = args
            .iter()
            .position(|arg| arg == "--metrics-addr")
            .and_then(|i| args.get(i + 1).map(String::as_str))
            .or_else(|| {
                args.iter()
                    .find_map(|arg| arg.strip_prefix("--metrics-addr="))
            })
            .unwrap_or_else(|| panic!("no --metrics-addr in {args:?}"));
        let (_, port) = addr.rsplit_once(':').expect("ADDR has a port");
        port.parse()
            .unwrap_or_else(|err| panic!("port of {addr:?}: {err}"))
    }

    /// The container port a probe's `httpGet` names (by number or by name), and its path.
    fn probed(probe: Option<&Probe>, container: &Container, what: &str) -> (i32, String) {
        let get = probe
            .and_then(|probe| probe.http_get.as_ref())
            .unwrap_or_else(|| panic!("no {what} with httpGet"));
        assert!(
            matches!(get.scheme.as_deref(), None | Some("HTTP")),
            "{what}: plain HTTP, as --metrics-addr serves"
        );
        let port = match &get.port {
            IntOrString::Int(port) => *port,
            IntOrString::String(name) => {
                container
                    .ports
                    .iter()
                    .flatten()
                    .find(|port| port.name.as_ref() == Some(name))
                    .unwrap_or_else(|| panic!("{what}: no container port named {name:?}"))
                    .container_port
            }
        };
        (port, get.path.clone().unwrap_or_default())
    }

    #[test]
    fn deployment_serves_metrics_and_probes_on_the_port_of_its_metrics_addr() {
        let (deployment, _, container) = deployment_pod();
        let port = metrics_port(&container);
        let ports = container.ports.as_deref().unwrap_or_default();
        let metrics = ports
            .iter()
            .find(|p| p.name.as_deref() == Some("metrics"))
            .unwrap_or_else(|| panic!("a port named metrics: {ports:#?}"));
        assert_eq!(metrics.container_port, port, "the --metrics-addr port");
        assert_eq!(metrics.protocol.as_deref().unwrap_or("TCP"), "TCP");

        let liveness = probed(
            container.liveness_probe.as_ref(),
            &container,
            "livenessProbe",
        );
        assert_eq!(liveness, (port, "/livez".to_owned()));
        // Not /readyz: readiness fails while the API server is unreachable, which a restart
        // cannot fix.
        let readiness = probed(
            container.readiness_probe.as_ref(),
            &container,
            "readinessProbe",
        );
        assert_eq!(readiness, (port, "/readyz".to_owned()));
        if let Some(startup) = container.startup_probe.as_ref() {
            assert_eq!(probed(Some(startup), &container, "startupProbe").0, port);
        }

        let annotations = deployment
            .spec
            .and_then(|spec| spec.template.metadata)
            .and_then(|metadata| metadata.annotations)
            .unwrap_or_default();
        let annotation = |key: &str| annotations.get(key).map(String::as_str);
        assert_eq!(annotation("prometheus.io/scrape"), Some("true"));
        assert_eq!(
            annotation("prometheus.io/port"),
            Some(port.to_string().as_str())
        );
        assert!(matches!(
            annotation("prometheus.io/path"),
            None | Some("/metrics")
        ));
    }

    /// A quantity in its base unit (bytes, cores): `64Mi`, `1G`, `500m`, `2`.
    fn amount(quantity: &Quantity) -> f64 {
        const SUFFIXES: [(&str, f64); 9] = [
            ("Ki", 1024.0),
            ("Mi", 1024.0 * 1024.0),
            ("Gi", 1024.0 * 1024.0 * 1024.0),
            ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
            ("k", 1e3),
            ("M", 1e6),
            ("G", 1e9),
            ("T", 1e12),
            ("m", 1e-3),
        ];
        let text = quantity.0.as_str();
        let (number, factor) = SUFFIXES
            .iter()
            .find_map(|(suffix, factor)| Some((text.strip_suffix(suffix)?, *factor)))
            .unwrap_or((text, 1.0));
        let number: f64 = number
            .parse()
            .unwrap_or_else(|err| panic!("quantity {text:?}: {err}"));
        number * factor
    }

    #[test]
    fn deployment_requests_and_limits_cpu_and_memory_with_limits_above_requests() {
        let (_, _, container) = deployment_pod();
        let resources = container.resources.as_ref().expect("resources");
        let get = |what: &str, map: Option<&BTreeMap<String, Quantity>>, resource: &str| {
            let map = map.unwrap_or_else(|| panic!("no {what}"));
            let quantity = map.get(resource);
            amount(quantity.unwrap_or_else(|| panic!("no {resource} in {what}: {map:?}")))
        };
        for resource in ["cpu", "memory"] {
            let request = get("requests", resources.requests.as_ref(), resource);
            let limit = get("limits", resources.limits.as_ref(), resource);
            assert!(request > 0.0, "{resource} request {request}");
            assert!(
                limit >= request,
                "{resource}: limit {limit} below request {request}"
            );
        }
        assert_eq!(amount(&Quantity("64Mi".into())), 64.0 * 1024.0 * 1024.0);
        assert_eq!(amount(&Quantity("500m".into())), 0.5);
    }

    #[test]
    fn deployment_runs_kreflect_pods_as_the_service_account_locked_down() {
        let account: ServiceAccount = manifest("serviceaccount.yaml");
        let (deployment, pod, container) = deployment_pod();
        assert_eq!(deployment.metadata.namespace, account.metadata.namespace);
        assert_eq!(pod.service_account_name, account.metadata.name);
        assert_ne!(
            pod.automount_service_account_token,
            Some(false),
            "needs its token"
        );
        let pod_security = pod.security_context.expect("pod securityContext");
        assert_eq!(pod_security.run_as_non_root, Some(true));
        assert!(pod_security.run_as_user.is_some_and(|uid| uid != 0));

        assert_eq!(container.image.as_deref(), Some("kreflect:latest"));
        let args = container.args.as_deref().unwrap_or_default();
        assert_eq!(
            args,
            ["pods", "--interval", "30s", "--metrics-addr", ":9090"]
        );
        let security = container
            .security_context
            .as_ref()
            .expect("securityContext");
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_ne!(security.privileged, Some(true));
        assert_ne!(security.run_as_non_root, Some(false));
        assert_ne!(security.run_as_user, Some(0));
        let dropped = security
            .capabilities
            .as_ref()
            .and_then(|c| c.drop.as_deref());
        assert_eq!(dropped, Some(&["ALL".to_owned()][..]));
        assert_eq!(
            security.capabilities.as_ref().and_then(|c| c.add.as_ref()),
            None
        );
        // The container's seccomp profile, else the pod's.
        let seccomp = security
            .seccomp_profile
            .as_ref()
            .or(pod_security.seccomp_profile.as_ref())
            .expect("a seccompProfile");
        assert_eq!(seccomp.type_, "RuntimeDefault");
    }
}

/// Retrying cannot fix a certificate: even without `--once` the run stops with one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_fatal_without_once_too() {
    let cluster = https_cluster(&["a/x"]).await;
    let kubeconfig = cluster.write_kubeconfig("no-ca", &kubeconfig_with_ca(&cluster, None));
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--interval", "1s"])).await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "untrusted certificate without --once");
    let url = cluster.server.url();
    let url = url.trim_end_matches('/');
    assert!(
        stderr.starts_with(&format!(
            "kreflect: cannot list pods at cluster scope: the TLS certificate of {url} (context sim) is not trusted (invalid peer certificate: UnknownIssuer); check certificate-authority"
        )),
        "{stderr}"
    );
}
