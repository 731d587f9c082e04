//! `KUBECONFIG` with several entries, loaded as kubectl (client-go) does: missing files are
//! skipped, the others merged in order with the first file winning, and only a list in which no
//! file exists is "no kubeconfig found".

use crate::harness::{TestCluster, assert_one_line, kreflect_command, run_to_end};

/// `kreflect pods --once` with `KUBECONFIG=entries` (joined with `:`) and a HOME holding no
/// kubeconfig.
async fn once_with_kubeconfig_env(entries: &[&str]) -> (std::process::ExitStatus, String, String) {
    let home = tempfile::tempdir().expect("temp dir");
    let mut command = kreflect_command(&["pods", "--once"], home.path());
    command.env("KUBECONFIG", entries.join(":"));
    run_to_end(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_kubeconfig_entries_are_skipped_like_kubectl() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let good = cluster.kubeconfig_path();
    let good = good.to_str().expect("utf-8 path");
    for entries in [
        &["/nonexistent/kubeconfig", good][..],
        &[good, "/nonexistent/kubeconfig"],
        &["", "/nonexistent/a", good, "/nonexistent/b"],
    ] {
        let (status, stdout, stderr) = once_with_kubeconfig_env(entries).await;
        assert!(status.success(), "KUBECONFIG={entries:?}: {stderr}");
        assert_eq!(stdout, "a/x\n\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_file_wins_for_current_context_and_each_named_entry() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    // The second file names another current context and redefines cluster `sim` to point
    // nowhere; neither may override the first file.
    let dead = r#"{"apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "sim", "cluster": {"server": "http://127.0.0.1:1"}},
                     {"name": "dead", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "dead", "user": {}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
        "current-context": "dead"}"#;
    let second = cluster.write_kubeconfig("second", dead);
    let first = cluster.kubeconfig_path();
    let entries = [
        "/nonexistent/kubeconfig",
        first.to_str().expect("utf-8"),
        second.to_str().expect("utf-8"),
    ];
    let (status, stdout, stderr) = once_with_kubeconfig_env(&entries).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "a/x\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_list_with_no_existing_file_is_no_kubeconfig_naming_each_path() {
    let entries = ["/nonexistent/one", "/nonexistent/two"];
    let (status, stdout, stderr) = once_with_kubeconfig_env(&entries).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "KUBECONFIG naming no existing file");
    assert!(
        stderr.starts_with("kreflect: no kubeconfig found"),
        "{stderr}"
    );
    for path in entries {
        assert!(stderr.contains(path), "names {path}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_that_does_not_exist_lists_the_contexts_that_do() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["--context", "nope", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "--context nope");
    assert!(
        stderr.contains("has no context \"nope\"; its contexts are: sim;"),
        "{stderr}"
    );
    assert!(stderr.contains("--context NAME"), "{stderr}");
    assert!(cluster.requests().is_empty(), "nothing was sent");
}
