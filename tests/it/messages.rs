//! Messages that name what a person needs, from the real binary over HTTP: an unreachable
//! server is named with its URL and kubeconfig context; a 403 suggests `-n` with the context's
//! namespace only where `-n` can help; logs on a terminal read as sentences, while a pipe keeps
//! the structured format.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::time::Duration;

use kreflect_sim::ServerOptions;
use tokio::process::Command;

use crate::harness::{DEADLINE, Running, TestCluster, kreflect_command, run_to_end};

/// A URL on which nothing listens: a port bound, then let go.
fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("address"))
}

/// A kubeconfig whose current context `prod` (namespace `shop`) points at `url`.
fn kubeconfig_for(url: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "users": [{"name": "dev", "user": {}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "dev", "namespace": "shop"}}],
        "current-context": "prod",
    })
    .to_string()
}

/// `kreflect --kubeconfig <a kubeconfig for url> ARGS` and the directory holding it.
fn kreflect_against(url: &str, args: &[&str]) -> (Command, tempfile::TempDir) {
    let home = tempfile::tempdir().expect("temp dir");
    let path = home.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig_for(url)).expect("kubeconfig");
    let mut all = vec!["--kubeconfig", path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    (kreflect_command(&all, home.path()), home)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named_with_its_url_and_context_in_the_error_line() {
    let url = refusing_url();
    for (args, doing) in [
        (&["pods", "--once"], "cannot list pods at cluster scope"),
        (
            &["deploy", "--once"],
            "discovering the server's resources at /api/v1",
        ),
    ] {
        let (command, _home) = kreflect_against(&url, args);
        let (status, stdout, stderr) = run_to_end(command).await;
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!("kreflect: {doing}: cannot reach {url} (context prod): connection refused\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_warnings_on_a_pipe_name_the_server_and_keep_the_structured_format() {
    let url = refusing_url();
    let (command, _home) = kreflect_against(&url, &["pods"]);
    let mut running = Running::spawn(command);
    let expected = format!("error=cannot reach {url} (context prod): connection refused");
    running
        .wait_for_stderr_lines("two structured retry warnings", 2, |line| {
            line.contains(" WARN kreflect::cache::reflector: request failed; retrying")
                && line.contains("verb=\"list\"")
                && line.contains(&expected)
        })
        .await;
    running.child.start_kill().expect("kill");
}

/// Runs `command` with its stderr on a new pseudo-terminal (stdout stays a pipe) until the
/// terminal shows `lines` lines or the process ends, then stops it: what the terminal showed,
/// with the terminal's `\r\n` as `\n`.
async fn on_a_terminal(mut command: Command, lines: usize) -> String {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    command.stderr(Stdio::from(pty.slave));
    let mut child = command.spawn().expect("kreflect starts");
    // Our copy of the terminal's other end goes with the command, so the read below ends
    // (EIO) when the child has exited.
    drop(command);
    let (sender, received) = std::sync::mpsc::channel();
    let master: OwnedFd = pty.master;
    std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut buffer = [0; 4096];
        while let Ok(read @ 1..) = master.read(&mut buffer) {
            if sender.send(buffer[..read].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut shown = Vec::new();
    let started = std::time::Instant::now();
    while shown.iter().filter(|&&byte| byte == b'\n').count() < lines {
        match received.recv_timeout(Duration::from_millis(50)) {
            Ok(bytes) => shown.extend(bytes),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => assert!(
                started.elapsed() < DEADLINE,
                "the terminal showed only {:?}",
                String::from_utf8_lossy(&shown)
            ),
        }
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
    String::from_utf8(shown)
        .expect("utf-8")
        .replace("\r\n", "\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_on_a_terminal_read_as_sentences_with_their_fields_after_them() {
    let url = refusing_url();
    let (command, _home) = kreflect_against(&url, &["pods"]);
    let shown = on_a_terminal(command, 2).await;
    let prefix = "kreflect: warning: request failed; retrying (verb: list, scope: pods at cluster \
                  scope, error: ";
    let error = format!("cannot reach {url} (context prod): connection refused, retry_in_ms: ");
    // From 1 s on, the retried initial list's progress line shows too; each warning clears it
    // first (`progress.rs`), so a warning is what follows the last clear on its line.
    let lines: Vec<&str> = shown
        .lines()
        .map(|line| line.rsplit("\r\x1b[K").next().unwrap_or(line))
        .filter(|line| !line.is_empty())
        .take(2)
        .collect();
    assert_eq!(lines.len(), 2, "{shown:?}");
    for line in lines {
        let rest = line
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(&error))
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not a sentence: {line:?}"));
        assert!(rest.parse::<u64>().is_ok(), "{line:?}");
    }

    let (command, _home) = kreflect_against(&url, &["pods", "--once"]);
    assert_eq!(
        on_a_terminal(command, 1).await,
        format!(
            "kreflect: cannot list pods at cluster scope: cannot reach {url} (context prod): \
             connection refused\n"
        ),
        "the error line is the same on a terminal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_v_a_terminal_keeps_the_structured_format() {
    let url = refusing_url();
    let (command, _home) = kreflect_against(&url, &["pods", "-v"]);
    let shown = on_a_terminal(command, 3).await;
    assert!(
        shown
            .lines()
            .any(|line| line.contains("WARN") && line.contains("kreflect::cache::reflector")),
        "{shown:?}"
    );
    assert!(!shown.contains("kreflect: warning:"), "{shown:?}");
}

/// A fake server that lets user `sim` read namespace `shop` only (a Role bound there), and a
/// kubeconfig for it whose context names namespace `namespace` (none when `None`).
async fn cluster_with_a_role_in_shop(namespace: Option<&str>) -> (TestCluster, std::path::PathBuf) {
    let cluster = TestCluster::start(ServerOptions {
        role_namespace: Some("shop".to_owned()),
        ..ServerOptions::default()
    })
    .await;
    cluster.server.cluster().create_pod("shop", "web-1");
    let mut kubeconfig: serde_json::Value =
        serde_json::from_str(&cluster.server.kubeconfig()).expect("JSON kubeconfig");
    let context = &mut kubeconfig["contexts"][0]["context"];
    match namespace {
        Some(namespace) => context["namespace"] = namespace.into(),
        None => {
            context
                .as_object_mut()
                .expect("context")
                .remove("namespace");
        }
    }
    let path = cluster.write_kubeconfig("role-in-shop", &kubeconfig.to_string());
    (cluster, path)
}

/// Runs `kreflect ARGS` (ARGS name the resource) to its refusal: its last stderr line.
async fn refused(cluster: &TestCluster, kubeconfig: &std::path::Path, args: &[&str]) -> String {
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_any_with_kubeconfig(kubeconfig, args)).await;
    assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stdout, "", "{args:?}");
    stderr.lines().last().expect("an error line").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_across_all_namespaces_suggests_the_namespace_of_the_kubeconfig_context() {
    let (cluster, kubeconfig) = cluster_with_a_role_in_shop(Some("shop")).await;
    let line = refused(&cluster, &kubeconfig, &["pods", "--once"]).await;
    assert!(
        line.starts_with(
            "kreflect: not allowed to list pods at cluster scope: pods is forbidden: User \"sim\" \
             cannot list resource \"pods\" in API group \"\" at the cluster scope; "
        ),
        "{line}"
    );
    assert!(
        line.contains("kreflect watches all namespaces unless given -n: try -n shop "),
        "{line}"
    );
    assert!(line.contains("user sim (context sim)"), "{line}");

    let hint = cluster.kreflect_any_with_kubeconfig(&kubeconfig, &["pods", "-n", "shop", "--once"]);
    let (status, stdout, stderr) = run_to_end(hint).await;
    assert!(status.success(), "the hint works: {stderr}");
    assert_eq!(stdout, "shop/web-1\n\n");

    let (cluster, kubeconfig) = cluster_with_a_role_in_shop(None).await;
    let line = refused(&cluster, &kubeconfig, &["pods", "--once"]).await;
    assert!(
        line.contains("pick a namespace you may read with -n NAMESPACE"),
        "no context namespace to name: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_never_suggests_n_for_a_cluster_scoped_kind_or_when_n_was_given() {
    let (cluster, kubeconfig) = cluster_with_a_role_in_shop(Some("shop")).await;
    for (args, start) in [
        (
            &["nodes", "--once"][..],
            "not allowed to list nodes at cluster scope: ",
        ),
        (
            &["no", "-n", "shop", "--once"],
            "not allowed to list nodes at cluster scope: ",
        ),
        (
            &["pods", "-n", "other", "--once"],
            "not allowed to list pods in namespace other: ",
        ),
    ] {
        let line = refused(&cluster, &kubeconfig, args).await;
        assert!(
            line.starts_with(&format!("kreflect: {start}")),
            "{args:?}: {line}"
        );
        let advice = line.rsplit("; ").next().expect("advice");
        assert!(!advice.contains("-n"), "{args:?}: {line}");
        assert!(
            advice.contains("user sim (context sim)"),
            "{args:?}: {line}"
        );
    }
    let line = refused(&cluster, &kubeconfig, &["nodes", "--once"]).await;
    assert!(
        line.contains("nodes are cluster-scoped: ask for a ClusterRoleBinding"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_says_all_namespaces_are_watched_by_default_next_to_n_and_context() {
    let home = tempfile::tempdir().expect("temp dir");
    let (status, stdout, stderr) = run_to_end(kreflect_command(&["--help"], home.path())).await;
    assert!(status.success(), "{stderr}");
    let after = |flag: &str| -> String {
        let at = stdout
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} in {stdout}"));
        stdout[at..].lines().take(3).collect::<Vec<_>>().join(" ")
    };
    assert!(
        after("--namespace <NS>").contains("default: all namespaces"),
        "{stdout}"
    );
    assert!(
        after("--context <NAME>").contains("all namespaces are watched"),
        "{stdout}"
    );
}

/// Logs that cannot be written are dropped, never a panic: stderr sharing the pipe that
/// `| head` closes (`kreflect pods -v 2>&1 | head`), or a full device. The run ends as it
/// would have: 0 when the reader went away, 0 after `--once`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_that_cannot_be_written_are_dropped_not_a_panic() {
    let cluster = TestCluster::with_pods(&["a/1", "a/2", "b/3"]).await;
    for (what, redirect) in [
        (
            "a closed pipe",
            "-v --interval 100ms 2>&1 | head -3 > /dev/null",
        ),
        ("a full device", "-vv --once > /dev/null 2> /dev/full"),
    ] {
        let script = format!(
            "{} --kubeconfig {} pods {redirect}; echo \"exit ${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_kreflect"),
            cluster.kubeconfig_path().display()
        );
        let mut bash = Command::new("bash");
        bash.arg("-c")
            .arg(&script)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .kill_on_drop(true);
        let (status, stdout, stderr) = run_to_end(bash).await;
        assert!(status.success(), "{what}: {stderr}");
        assert_eq!(stdout, "exit 0\n", "{what}: stderr {stderr:?}");
    }
}
