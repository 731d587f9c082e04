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
    cluster.wait_for_request("a watch", |r| r.is_watch()).await;

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
    //! silently drop), least-privilege RBAC, a hardened Deployment.

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{
        ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding,
    };
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    /// Parses `deploy/NAME` as `K`, and checks that it round-trips: a misspelt or misplaced
    /// field would be dropped by the typed parse and show up as a difference here.
    fn manifest<K: DeserializeOwned + Serialize>(name: &str) -> K {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/").to_owned() + name;
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
        let value: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"));
        let typed: K = serde_json::from_value(value.clone())
            .unwrap_or_else(|err| panic!("{path} is not a {}: {err}", std::any::type_name::<K>()));
        let again = serde_json::to_value(&typed).expect("serializes");
        assert_eq!(again, value, "{path} has fields its kind does not know");
        typed
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

    #[test]
    fn deployment_runs_kreflect_pods_as_the_service_account_locked_down() {
        let account: ServiceAccount = manifest("serviceaccount.yaml");
        let deployment: Deployment = manifest("deployment.yaml");
        assert_eq!(deployment.metadata.namespace, account.metadata.namespace);
        let pod = deployment
            .spec
            .expect("spec")
            .template
            .spec
            .expect("pod spec");
        assert_eq!(pod.service_account_name, account.metadata.name);
        assert_ne!(
            pod.automount_service_account_token,
            Some(false),
            "needs its token"
        );
        let pod_security = pod.security_context.expect("pod securityContext");
        assert_eq!(pod_security.run_as_non_root, Some(true));
        assert!(pod_security.run_as_user.is_some_and(|uid| uid != 0));

        assert_eq!(pod.containers.len(), 1);
        let container = &pod.containers[0];
        assert_eq!(container.image.as_deref(), Some("kreflect:latest"));
        assert_eq!(
            container.args.as_deref(),
            Some(&["pods".to_owned(), "--interval".to_owned(), "30s".to_owned()][..])
        );
        let security = container
            .security_context
            .as_ref()
            .expect("securityContext");
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_ne!(security.privileged, Some(true));
        let dropped = security
            .capabilities
            .as_ref()
            .and_then(|c| c.drop.as_deref());
        assert_eq!(dropped, Some(&["ALL".to_owned()][..]));
        let resources = container.resources.as_ref().expect("resources");
        for (what, map) in [
            ("requests", &resources.requests),
            ("limits", &resources.limits),
        ] {
            let map = map.as_ref().unwrap_or_else(|| panic!("no {what}"));
            assert!(
                map.contains_key("cpu") && map.contains_key("memory"),
                "{what}: {map:?}"
            );
        }
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
