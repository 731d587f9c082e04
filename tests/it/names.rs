//! Names with control characters (the API server accepts them for some kinds, e.g. RBAC names)
//! end to end: every line format writes them quoted (docs/guide.md, "stdout is a contract"), so one
//! object is one line; `-o json` carries the exact names.

use nix::sys::signal::Signal;

use crate::harness::{Running, TestCluster, run_to_end};

/// Raw names, and how line formats write them, in key order.
const NAMES: [(&str, &str); 4] = [
    ("a\n\nb", "a\\n\\nb"),
    ("back\\slash", "back\\\\slash"),
    ("t\tab", "t\\tab"),
    ("x\u{1}y\u{7f}", "x\\x01y\\x7f"),
];

async fn cluster_with_odd_names() -> TestCluster {
    let cluster = TestCluster::with_pods(&[]).await;
    for (name, _) in NAMES {
        cluster.server.cluster().create_pod("ns", name);
    }
    cluster
}

fn quoted_keys(prefix: &str) -> Vec<String> {
    NAMES
        .iter()
        .map(|(_, quoted)| format!("{prefix}ns/{quoted}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_writes_control_characters_escaped_one_key_per_line() {
    let cluster = cluster_with_odd_names().await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    let expected: String = quoted_keys("").iter().map(|k| format!("{k}\n")).collect();
    assert_eq!(stdout, format!("{expected}\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_diff_write_control_characters_escaped() {
    let cluster = cluster_with_odd_names().await;
    let mut events = Running::spawn(cluster.kreflect(&["--events"]));
    let mut diff = Running::spawn(cluster.kreflect(&["--diff", "--interval", "100ms"]));
    for expected in quoted_keys("ADDED ") {
        assert_eq!(events.next_line().await, expected);
    }
    for expected in quoted_keys("+") {
        assert_eq!(diff.next_line().await, expected);
    }
    cluster
        .server
        .cluster()
        .delete_pod("ns", NAMES[0].0)
        .expect("exists");
    assert_eq!(events.next_line().await, "DELETED ns/a\\n\\nb");
    assert_eq!(diff.next_line().await, "-ns/a\\n\\nb");
    for mut running in [events, diff] {
        running.signal(Signal::SIGTERM);
        assert!(running.wait().await.success(), "{}", running.stderr().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_rows_write_names_escaped_and_json_keeps_them_exact() {
    let cluster = cluster_with_odd_names().await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once", "-o", "wide"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    let names: Vec<&str> = stdout
        .lines()
        .skip(1)
        .filter_map(|row| row.split_whitespace().nth(1))
        .collect();
    let expected: Vec<&str> = NAMES.iter().map(|(_, quoted)| *quoted).collect();
    assert_eq!(names, expected, "table:\n{stdout}");
    assert_eq!(stdout.lines().count(), 1 + NAMES.len() + 1, "{stdout}");

    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once", "-o", "json"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    let listing: serde_json::Value = serde_json::from_str(&stdout).expect("JSON listing");
    let exact: Vec<String> = NAMES.iter().map(|(raw, _)| format!("ns/{raw}")).collect();
    assert_eq!(listing["keys"], serde_json::json!(exact));
}
