//! kubectl's global flags through the binary, against the fake API server: what the server
//! sees (`Authorization`, `Impersonate-*`), where the run connects (`--server`, `--cluster`,
//! `--user`), how TLS is checked (`--certificate-authority`, `--insecure-skip-tls-verify`,
//! `--tls-server-name`), `--request-timeout`, and the messages of what cannot work.

use std::time::Duration;

use kreflect_sim::ServerOptions;

use crate::harness::{TestCluster, kreflect_command, run_to_end};

/// A kubeconfig with two clusters (`dead`, a port nothing listens on, the current context's;
/// `live`, the fake server) and two users (`wrong`, a token the server refuses, the current
/// context's; `right`, the server's token).
fn two_of_each(cluster: &TestCluster, token: &str) -> std::path::PathBuf {
    let text = format!(
        r#"apiVersion: v1
kind: Config
clusters:
- name: dead
  cluster: {{server: "http://127.0.0.1:9"}}
- name: live
  cluster: {{server: "{url}"}}
users:
- name: wrong
  user: {{token: not-the-token}}
- name: right
  user: {{token: {token}}}
contexts:
- name: main
  context: {{cluster: dead, user: wrong}}
current-context: main
"#,
        url = cluster.server.url()
    );
    cluster.write_kubeconfig("two-of-each", &text)
}

fn with_token(token: &str) -> ServerOptions {
    ServerOptions {
        bearer_token: Some(token.to_owned()),
        ..ServerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_impersonation_reach_the_server_as_kubectl_sends_them() {
    let cluster = TestCluster::start(with_token("s3cret")).await;
    cluster.server.cluster().create_pod("shop", "web-1");
    let kubeconfig = two_of_each(&cluster, "unused");
    let args = [
        "--server",
        &cluster.server.url(),
        "--token",
        "s3cret",
        "--as",
        "alice",
        "--as-group",
        "dev",
        "--as-group",
        "ops",
        "--as-uid",
        "42",
        "--once",
    ];
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &args)).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "shop/web-1\n\n");
    let requests = cluster.server.requests();
    assert!(!requests.is_empty());
    for request in requests {
        assert_eq!(request.authorization.as_deref(), Some("Bearer s3cret"));
        let agent = request.user_agent.as_deref().unwrap_or_default();
        assert!(agent.starts_with("kreflect/v0."), "{agent}");
        assert_eq!(request.impersonate_user.as_deref(), Some("alice"));
        assert_eq!(request.impersonate_groups, ["dev", "ops"]);
        assert_eq!(request.impersonate_uid.as_deref(), Some("42"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_user_pick_kubeconfig_entries_over_the_contexts() {
    let cluster = TestCluster::start(with_token("t0k3n")).await;
    cluster.server.cluster().create_pod("shop", "web-1");
    let kubeconfig = two_of_each(&cluster, "t0k3n");
    let picked = ["--cluster", "live", "--user", "right", "--once"];
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &picked)).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "shop/web-1\n\n");
    // The context's own user is refused: --user is what made it work.
    let (status, _, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--cluster", "live", "--once"]))
            .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rejected the credentials of user wrong"),
        "{stderr}"
    );
    let (status, _, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--user", "nobody", "--once"]))
            .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has no user \"nobody\"; its users are: right, wrong"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_alone_is_a_configuration_as_it_is_for_kubectl() {
    let cluster = TestCluster::with_pods(&["shop/web-1"]).await;
    let home = tempfile::tempdir().expect("home");
    let args = ["pods", "-s", &cluster.server.url(), "--once"];
    let (status, stdout, stderr) = run_to_end(kreflect_command(&args, home.path())).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "shop/web-1\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_impersonation_is_named_as_one() {
    let options = ServerOptions {
        refuse_impersonation: true,
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start(options).await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--as", "bob", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(
            "the server refused to let user sim (context sim) impersonate user \"bob\" (--as)"
        ) && stderr.contains("the impersonate verb on users"),
        "{stderr}"
    );
    // Without --as the same server serves the run.
    let (status, _, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success(), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_checked_with_the_flags_ca_skipped_on_request_and_by_the_name_given() {
    let options = ServerOptions {
        tls: true,
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start(options).await;
    cluster.server.cluster().create_pod("shop", "web-1");
    let ca = cluster.write_kubeconfig("ca.pem", cluster.server.ca_pem().expect("TLS"));
    let ca = ca.to_str().expect("utf-8");
    let url = cluster.server.url();
    let home = tempfile::tempdir().expect("home");
    let run = |args: Vec<String>| {
        let mut all = vec!["pods".to_owned(), "--once".to_owned()];
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        run_to_end(kreflect_command(&all, home.path()))
    };
    let s = |text: &str| text.to_owned();
    let cases = [
        (vec![s("-s"), url.clone()], false, "no CA"),
        (
            vec![s("-s"), url.clone(), s("--certificate-authority"), s(ca)],
            true,
            "the CA given",
        ),
        (
            vec![s("-s"), url.clone(), s("--insecure-skip-tls-verify")],
            true,
            "not checked",
        ),
        // The certificate names 127.0.0.1 and localhost, not wrong.example.
        (
            vec![
                s("-s"),
                url.clone(),
                s("--certificate-authority"),
                s(ca),
                s("--tls-server-name"),
                s("wrong.example"),
            ],
            false,
            "checked against a --tls-server-name the certificate does not name",
        ),
        (
            vec![
                s("-s"),
                url.clone(),
                s("--certificate-authority"),
                s(ca),
                s("--tls-server-name"),
                s("localhost"),
            ],
            true,
            "checked against --tls-server-name",
        ),
    ];
    for (args, works, case) in cases {
        let (status, stdout, stderr) = run(args).await;
        if works {
            assert!(status.success(), "{case}: {stderr}");
            assert_eq!(stdout, "shop/web-1\n\n", "{case}");
        } else {
            assert_eq!(status.code(), Some(1), "{case}: {stderr}");
            assert!(stderr.contains("certificate"), "{case}: {stderr}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_bounds_a_list_as_kubectl_bounds_a_request() {
    let options = ServerOptions {
        response_delay: Duration::from_secs(30),
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start(options).await;
    let started = std::time::Instant::now();
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["--once", "--request-timeout", "1s"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}: {stderr}",
        started.elapsed()
    );
    assert!(stderr.contains("1s"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_flags_cannot_mean_is_said_before_anything_is_asked() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["--as-group", "dev"],
            1,
            "--as-group and --as-uid act as a user's",
        ),
        (
            &["--server", "ftp://x"],
            2,
            "--server \"ftp://x\" is not a URL",
        ),
        (&["--token", ""], 2, "--token is empty"),
        (
            &[
                "--insecure-skip-tls-verify",
                "--certificate-authority",
                "/ca.pem",
            ],
            2,
            "cannot be used with",
        ),
        (
            &["--certificate-authority", "/nonexistent/ca.pem"],
            1,
            "cannot use --certificate-authority /nonexistent/ca.pem",
        ),
    ];
    for (args, code, said) in cases {
        let mut all = args.to_vec();
        all.push("--once");
        let (status, stdout, stderr) = run_to_end(cluster.kreflect(&all)).await;
        assert_eq!(status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
    assert!(cluster.server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_while_impersonating_names_the_user_acted_as() {
    let options = ServerOptions {
        deny_cluster_scope: true,
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start(options).await;
    let (status, _, stderr) = run_to_end(cluster.kreflect(&["--as", "bob", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("grants user bob (impersonated by user sim (context sim)) list and watch"),
        "{stderr}"
    );
}
