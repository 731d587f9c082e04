//! Extreme and empty flag values: usage errors (exit 2) that say what is allowed, never a panic.
//! And the help, byte for byte as recorded in `tests/fixtures/help*.txt`.

use crate::harness::{kreflect_command, run_to_end};

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

/// `--help` and `-h` are what users read: a change to them (a flag's text, the `-o` values'
/// help, their order) must be made on purpose, in the fixture too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_reads_byte_for_byte_as_recorded() {
    for (flag, fixture, expected) in [
        ("--help", "help.txt", include_str!("../fixtures/help.txt")),
        (
            "-h",
            "help-short.txt",
            include_str!("../fixtures/help-short.txt"),
        ),
    ] {
        let home = tempfile::tempdir().expect("temp dir");
        let (status, stdout, stderr) = run_to_end(kreflect_command(&[flag], home.path())).await;
        assert!(status.success(), "{flag}: {stderr}");
        if stdout != expected {
            let (got, want): (Vec<_>, Vec<_>) =
                (stdout.lines().collect(), expected.lines().collect());
            let line = (0..got.len().max(want.len()))
                .find(|&line| got.get(line) != want.get(line))
                .unwrap_or(got.len());
            panic!(
                "kreflect {flag} differs from tests/fixtures/{fixture} at line {}:\n  \
                 got:      {:?}\n  expected: {:?}\nthe whole output:\n{stdout}",
                line + 1,
                got.get(line),
                want.get(line),
            );
        }
    }
}
