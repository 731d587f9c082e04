//! The initial list's progress on a terminal (a pty from util-linux `script`): shown only for a
//! list that takes more than about a second, and never mixed with a log line. Elsewhere (the
//! other suites pipe stderr) nothing of it is written.

use std::time::Duration;

use kreflect_sim::{Fault, GzipCorruption, ServerOptions};

use crate::harness::{DEADLINE, TestCluster, poll_until};

/// Runs `kreflect pods --once` on a pseudo-terminal against `cluster` and returns what the
/// terminal showed (stdout is discarded; stderr is the terminal); the run must succeed.
async fn terminal_of_once_run(cluster: &TestCluster) -> String {
    let (success, terminal) = terminal_of_run(cluster, "--once").await;
    assert!(success, "{terminal:?}");
    terminal
}

/// Runs `kreflect pods ARGS > /dev/null` on a pseudo-terminal against `cluster`: whether it exited
/// 0, and what the terminal showed (stdout is discarded; stderr is the terminal).
async fn terminal_of_run(cluster: &TestCluster, args: &str) -> (bool, String) {
    let command_line = format!(
        "{} --kubeconfig {} pods {args} > /dev/null",
        env!("CARGO_BIN_EXE_kreflect"),
        cluster.kubeconfig_path().display()
    );
    let home = tempfile::tempdir().expect("temp dir");
    let mut script = on_a_terminal(&command_line, home.path());
    let output = tokio::time::timeout(DEADLINE, script.output())
        .await
        .expect("finishes")
        .expect("script runs");
    let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.success(), terminal)
}

/// `script` running `command_line` in a shell on a pseudo-terminal, in a clean environment
/// with `home` as HOME; killed if dropped.
fn on_a_terminal(command_line: &str, home: &std::path::Path) -> tokio::process::Command {
    let mut script = tokio::process::Command::new("script");
    script
        .args(["-qec", command_line, "/dev/null"])
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    script
}

async fn cluster_with_pods(count: usize, options: ServerOptions) -> TestCluster {
    let cluster = TestCluster::start(options).await;
    let pods = cluster.server.cluster();
    for i in 0..count {
        pods.create_pod("ns", &format!("p-{i:04}"));
    }
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_list_shows_no_progress() {
    let cluster = cluster_with_pods(4, ServerOptions::default()).await;
    let terminal = terminal_of_once_run(&cluster).await;
    assert_eq!(terminal, "", "a quick list: nothing but the listing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_list_shows_progress_and_a_summary() {
    let options = ServerOptions {
        response_delay: Duration::from_millis(450),
        ..ServerOptions::default()
    };
    let cluster = cluster_with_pods(1100, options).await;
    let terminal = terminal_of_once_run(&cluster).await;
    assert!(
        terminal.contains("\r\x1b[Klisting pods: 500 so far (1 pages)"),
        "{terminal:?}"
    );
    assert!(
        terminal.contains("\r\x1b[Klisting pods: 1000 so far (2 pages)"),
        "{terminal:?}"
    );
    let summary = terminal
        .rfind("\r\x1b[Ksynced 1100 pods in ")
        .unwrap_or_else(|| panic!("a summary: {terminal:?}"));
    assert!(
        terminal[summary..].ends_with("s\r\n") && !terminal[summary..].contains("listing"),
        "the summary ends the output, on its own line: {terminal:?}"
    );
}

/// A warning logged while the line is up (a corrupt second page, 0.7 s after the first, which
/// is shown from 1 s on) gets a line of its own: the progress line is cleared first and drawn
/// again after it. (Without `--once`, which would make the failure fatal; the run ends at the
/// second listing, when `head` has closed stdout.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_during_the_list_never_lands_on_the_progress_line() {
    let cluster = slow_cluster_with_a_corrupt_second_page().await;
    let (_, terminal) =
        terminal_of_run(&cluster, "--compression always --interval 100ms | head -1").await;
    let warning = terminal
        .find("kreflect: warning:")
        .unwrap_or_else(|| panic!("a warning: {terminal:?}"));
    assert!(
        terminal[..warning].ends_with("listing pods: 500 so far (1 pages)\r\x1b[K"),
        "the line is shown, then cleared before the warning: {terminal:?}"
    );
    let after = &terminal[warning..];
    let end_of_warning = after.find("\r\n").expect("the warning ends its line");
    assert!(
        !after[..end_of_warning].contains("listing pods"),
        "{terminal:?}"
    );
    assert!(
        after[end_of_warning..].starts_with("\r\n\r\x1b[Klisting pods"),
        "the line comes back below the warning: {terminal:?}"
    );
    assert!(terminal.contains("synced 1100 pods in "), "{terminal:?}");
}

/// The error that ends a run (here `--once`, where the first failure is fatal) is written on a
/// line of its own too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_ending_the_run_never_lands_on_the_progress_line() {
    let cluster = slow_cluster_with_a_corrupt_second_page().await;
    let (success, terminal) = terminal_of_run(&cluster, "--compression always --once").await;
    assert!(!success, "{terminal:?}");
    let error = "\r\x1b[Kkreflect: cannot list pods at cluster scope: cannot decode the \
                 server's answer: corrupt gzip body: Invalid gzip header\r\n";
    assert!(
        terminal.ends_with(error) && terminal.contains("listing pods"),
        "the progress line, cleared, then the error, and nothing after it: {terminal:?}"
    );
}

/// 1100 pods served 0.7 s a page, the second page's gzip corrupt once (seen by a run with
/// `--compression always`: the server is on loopback).
async fn slow_cluster_with_a_corrupt_second_page() -> TestCluster {
    // No watch cache: a watching run's list comes in pages too.
    let options = ServerOptions {
        response_delay: Duration::from_millis(700),
        watch_cache: false,
        ..ServerOptions::default()
    };
    let cluster = cluster_with_pods(1100, options).await;
    cluster.server.inject(Fault::ListCorruptGzip {
        corruption: GzipCorruption::NotGzip,
        later_page: true,
    });
    cluster
}

/// With several kinds and `--events` on a terminal (stdout and stderr both the tty), one kind's
/// events print while another's slow first list shows its progress: each event line must start
/// on a line of its own (the progress line cleared first) and the progress line come back
/// below it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_printed_during_another_kinds_list_never_lands_on_the_progress_line() {
    // No watch cache: the pods list comes in pages, its progress shown between them.
    let options = ServerOptions {
        response_delay: Duration::from_millis(450),
        watch_cache: false,
        ..ServerOptions::default()
    };
    let cluster = cluster_with_pods(4000, options).await;
    let command_line = format!(
        // Long enough for the event under a loaded CI (7 s once ended the run during the
        // pods list, before the deployment's event): the run is ended by the timeout anyway.
        "timeout -s TERM 12 {} --kubeconfig {} pods,deploy -n ns --events",
        env!("CARGO_BIN_EXE_kreflect"),
        cluster.kubeconfig_path().display()
    );
    let home = tempfile::tempdir().expect("temp dir");
    let mut script = on_a_terminal(&command_line, home.path());
    let running = script.output();
    let create = async {
        // The pods list is on its fourth page: its progress line is up (from 1 s on).
        poll_until(DEADLINE, async || {
            let pages = cluster
                .list_requests()
                .iter()
                .filter(|request| request.path.ends_with("/pods"))
                .count();
            (pages >= 4).then_some(())
        })
        .await
        .expect("the pods list goes on");
        cluster
            .server
            .resource("deployments")
            .expect("deployments")
            .create_object(serde_json::json!({"metadata": {"name": "d1", "namespace": "ns"}}));
    };
    let (output, ()) = tokio::join!(tokio::time::timeout(DEADLINE, running), create);
    let output = output.expect("ends").expect("script runs");
    let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
    let event = terminal
        .find("ADDED deployment.apps/ns/d1")
        .unwrap_or_else(|| panic!("the event: {terminal:?}"));
    assert!(
        terminal[..event].ends_with(" pages)\r\x1b[K"),
        "the progress line is shown, then cleared before the event: {terminal:?}"
    );
    assert!(
        terminal[event..].starts_with("ADDED deployment.apps/ns/d1\r\n\r\x1b[Klisting pods"),
        "the progress line comes back below the event: {terminal:?}"
    );
}

/// A run stopped (SIGTERM, Ctrl-C) while its first list is shown clears the progress line: the
/// shell's prompt must not land on a line saying the list goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_during_a_slow_list_clears_the_progress_line() {
    let options = ServerOptions {
        response_delay: Duration::from_millis(450),
        ..ServerOptions::default()
    };
    let cluster = cluster_with_pods(4000, options).await;
    let command_line = format!(
        "timeout --preserve-status -s TERM 2 {} --kubeconfig {} pods > /dev/null; echo \"exit $?\"",
        env!("CARGO_BIN_EXE_kreflect"),
        cluster.kubeconfig_path().display()
    );
    let home = tempfile::tempdir().expect("temp dir");
    let mut script = on_a_terminal(&command_line, home.path());
    let output = tokio::time::timeout(DEADLINE, script.output())
        .await
        .expect("ends")
        .expect("script runs");
    let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
    // The watch cache answers in one response: nothing to count until it has come.
    assert!(
        terminal.ends_with(
            "listing pods: waiting for the whole list in one response (1 s)\r\x1b[Kexit 0\r\n"
        ),
        "the line is cleared before the process exits (0: a clean stop): {terminal:?}"
    );
}
