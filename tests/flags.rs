//! Extreme and empty flag values: usage errors (exit 2) that say what is allowed, never a panic.

mod common;

use common::{kreflect_command, run_to_end};

async fn usage_error(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("temp dir");
    let (status, stdout, stderr) = run_to_end(kreflect_command(args, home.path())).await;
    assert_eq!(status.code(), Some(2), "{args:?}: stderr: {stderr}");
    assert_eq!(stdout, "", "{args:?}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_intervals_are_usage_errors_that_state_the_allowed_range() {
    for interval in ["1e20", "500000000000y", "8d", "inf", "0.0001"] {
        let stderr = usage_error(&["pods", "--sim", "--interval", interval]).await;
        assert!(
            stderr.contains("from 1ms to 7 days"),
            "--interval {interval}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_namespace_context_or_kubeconfig_are_usage_errors_not_other_meanings() {
    let stderr = usage_error(&["pods", "--sim", "-n", ""]).await;
    assert!(
        stderr.contains("-n/--namespace is empty") && stderr.contains("-A"),
        "{stderr}"
    );
    let stderr = usage_error(&["pods", "--context", ""]).await;
    assert!(stderr.contains("--context is empty"), "{stderr}");
    let stderr = usage_error(&["pods", "--kubeconfig", ""]).await;
    assert!(stderr.contains("--kubeconfig <PATH>"), "{stderr}");
}
