//! Exec credential plugins (aws, gke-gcloud-auth-plugin, kubelogin, ...): run once per process
//! as kubectl runs them, their token reused until it expires, and a failing one reported in one
//! line with its own words. Each test runs the real binary against the fake server with a
//! plugin script that counts its runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kreflect_sim::Fault;

use crate::harness::{Running, TestCluster, assert_one_line, run_to_end};

/// A plugin that appends a line to `runs` each time it runs and prints the token `token-N`
/// (N its run number), expiring `expires_in` from now if given.
fn counting_plugin(cluster: &TestCluster, runs: &Path, expires_in: Option<u32>) -> PathBuf {
    let expiry = match expires_in {
        Some(seconds) => format!(
            r#","expirationTimestamp":"'"$(date -u -d "+{seconds} seconds" +%Y-%m-%dT%H:%M:%SZ)"'""#
        ),
        None => String::new(),
    };
    cluster.write_script(
        "plugin.sh",
        &format!(
            r#"echo run >> "{runs}"
n=$(wc -l < "{runs}" | tr -d ' ')
echo '{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"token-'$n'"{expiry}}}}}'
"#,
            runs = runs.display()
        ),
    )
}

fn runs_of(runs: &Path) -> usize {
    std::fs::read_to_string(runs).map_or(0, |text| text.lines().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_runs_once_for_a_once_run_and_its_token_is_on_every_request() {
    let cluster = TestCluster::with_two_pages().await;
    let runs = cluster.kubeconfig_path().with_file_name("runs");
    let plugin = counting_plugin(&cluster, &runs, None);
    let kubeconfig = cluster.write_exec_plugin_kubeconfig("exec", &plugin, "[]");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--once"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stdout.lines().filter(|line| !line.is_empty()).count(), 501);
    assert_eq!(runs_of(&runs), 1, "kubectl runs the plugin once");
    let requests = cluster.requests();
    assert!(requests.len() >= 2, "two pages: {requests:?}");
    for request in requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Bearer token-1"),
            "{request:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_reused_until_it_expires_then_the_plugin_runs_again() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    // Every watch ends at once, so requests keep coming (after 0.8, 1.6, 3.2 s...).
    cluster.server.inject_always(Fault::WatchCloseAfter(0));
    let runs = cluster.kubeconfig_path().with_file_name("runs");
    // Refreshed 10 s before it expires: 3 s after it is printed.
    let plugin = counting_plugin(&cluster, &runs, Some(13));
    let kubeconfig = cluster.write_exec_plugin_kubeconfig("exec", &plugin, "[]");
    let mut running =
        Running::spawn(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--interval", "1h"]));
    assert_eq!(running.next_listing().await, ["a/1"]);
    assert_eq!(
        runs_of(&runs),
        1,
        "the first token serves the list and the watch"
    );
    cluster
        .wait_for_request("a request with the refreshed token", |request| {
            request.authorization.as_deref() == Some("Bearer token-2")
        })
        .await;
    let before_refresh: Vec<_> = cluster
        .requests()
        .into_iter()
        .take_while(|request| request.authorization.as_deref() == Some("Bearer token-1"))
        .collect();
    assert!(
        before_refresh.len() >= 3,
        "token-1 was reused until its refresh: {before_refresh:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs_of(&runs), 2, "one run per expiry, not per request");
    running.signal(nix::sys::signal::Signal::SIGTERM);
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_is_one_line_naming_the_command_and_its_stderr() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    let plugin = cluster.write_script(
        "aws-login.sh",
        "echo 'Error loading SSO Token: Token for prod does not exist' >&2\nexit 255\n",
    );
    let kubeconfig = cluster.write_exec_plugin_kubeconfig("exec", &plugin, "[]");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--once"])).await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "kreflect: the credential plugin {} failed (exit status: 255): Error loading SSO \
             Token: Token for prod does not exist\n",
            plugin.display()
        )
    );
    assert!(
        cluster.requests().is_empty(),
        "no request without a credential"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_is_not_installed_gets_its_install_hint() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    let kubeconfig = cluster.write_kubeconfig(
        "exec",
        &format!(
            r#"apiVersion: v1
kind: Config
current-context: ctx
clusters:
- {{name: c, cluster: {{server: "{url}"}}}}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kreflect-test-no-such-plugin
      installHint: "install it from https://example.com/plugin"
contexts:
- {{name: ctx, context: {{cluster: c, user: u}}}}
"#,
            url = cluster.server.url()
        ),
    );
    let (status, _, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--once"])).await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_one_line(&stderr, "missing credential plugin");
    assert!(
        stderr.starts_with(
            "kreflect: cannot run the credential plugin kreflect-test-no-such-plugin: "
        ) && stderr
            .trim_end()
            .ends_with("; install it from https://example.com/plugin"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_fails_is_reported_as_the_plugins_failure_not_as_an_unreachable_server() {
    let cluster = TestCluster::with_pods(&["a/1"]).await;
    // Every watch ends at once, so requests keep coming and need the refreshed token.
    cluster.server.inject_always(Fault::WatchCloseAfter(0));
    let ran = cluster.kubeconfig_path().with_file_name("ran");
    // The first run prints a token refreshed 3 s later (10 s before it expires), time enough for
    // the first listing on a loaded machine; the next run fails.
    let plugin = cluster.write_script(
        "sso-login.sh",
        &format!(
            r#"if [ -e "{ran}" ]; then echo 'SSO session expired; run aws sso login' >&2; exit 1; fi
touch "{ran}"
echo '{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"t","expirationTimestamp":"'"$(date -u -d "+13 seconds" +%Y-%m-%dT%H:%M:%SZ)"'"}}}}'
"#,
            ran = ran.display()
        ),
    );
    let kubeconfig = cluster.write_exec_plugin_kubeconfig("exec", &plugin, "[]");
    let mut running =
        Running::spawn(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--interval", "1h"]));
    assert_eq!(running.next_listing().await, ["a/1"]);
    running
        .wait_for_stderr("the refresh's failure", |line| {
            line.contains("SSO session expired")
        })
        .await;
    let stderr = running.stderr_so_far();
    let line = stderr
        .lines()
        .find(|line| line.contains("SSO session expired"))
        .unwrap_or_default();
    assert!(
        line.contains(&format!(
            "error=the credential plugin {} failed (exit status: 1): SSO session expired",
            plugin.display()
        )) && !line.contains("cannot reach"),
        "the server was never asked: {line}"
    );
    running.signal(nix::sys::signal::Signal::SIGTERM);
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_is_replaced_by_running_the_plugin_again() {
    // The server no longer takes the token the plugin printed first (revoked, or expired by
    // the server's clock before ours), and takes the next: client-go runs the plugin again on a
    // 401, and its reflector retries; kreflect resends the request with the new token.
    let cluster = TestCluster::start(kreflect_sim::ServerOptions {
        bearer_token: Some("token-2".to_owned()),
        ..kreflect_sim::ServerOptions::default()
    })
    .await;
    cluster.server.cluster().create_pod("a", "1");
    let runs = cluster.kubeconfig_path().with_file_name("runs");
    let plugin = counting_plugin(&cluster, &runs, None);
    let kubeconfig = cluster.write_exec_plugin_kubeconfig("exec", &plugin, "[]");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--once"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stdout, "a/1\n\n");
    assert_eq!(runs_of(&runs), 2, "once at start, once after the 401");
    let tokens: Vec<_> = cluster
        .requests()
        .into_iter()
        .map(|request| request.authorization)
        .collect();
    assert_eq!(
        tokens.first().cloned().flatten().as_deref(),
        Some("Bearer token-1")
    );
    assert!(
        tokens[1..]
            .iter()
            .all(|token| token.as_deref() == Some("Bearer token-2")),
        "{tokens:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_prints_the_refused_token_again_leaves_the_401() {
    let cluster = TestCluster::start(kreflect_sim::ServerOptions {
        bearer_token: Some("never-printed".to_owned()),
        ..kreflect_sim::ServerOptions::default()
    })
    .await;
    let runs = cluster.kubeconfig_path().with_file_name("runs");
    let plugin = cluster.write_script(
        "same.sh",
        &format!(
            r#"echo run >> "{runs}"
echo '{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"same"}}}}'
"#,
            runs = runs.display()
        ),
    );
    let kubeconfig = cluster.write_exec_plugin_kubeconfig("exec", &plugin, "[]");
    let (status, _, stderr) =
        run_to_end(cluster.kreflect_with_kubeconfig(&kubeconfig, &["--once"])).await;
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert_eq!(
        runs_of(&runs),
        2,
        "one more run per refused request, not a loop"
    );
}
