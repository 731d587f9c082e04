//! `--for` and `--timeout` (issue 21): kubectl wait's conditions over the mirror, through the
//! binary against the fake server, with kubectl's lines and messages
//! (`tests/fixtures/kubectl-wait/transcript.md`).

use std::time::Duration;

use serde_json::json;

use crate::harness::{Running, TestCluster, run_to_end};

/// A pod in namespace `w`, `Ready` as given (no conditions when `None`), in `phase`.
fn pod(name: &str, ready: Option<&str>, phase: &str) -> serde_json::Value {
    let conditions = ready.map_or_else(Vec::new, |ready| {
        vec![json!({"type":"Ready","status":ready})]
    });
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "w", "labels": {"app": "web"}},
        "spec": {"containers": []},
        "status": {"phase": phase, "conditions": conditions},
    })
}

async fn cluster() -> TestCluster {
    let cluster = TestCluster::start(Default::default()).await;
    let pods = cluster.server.cluster();
    pods.create_pod_with(pod("a", Some("True"), "Running"));
    pods.create_pod_with(pod("b", None, "Pending"));
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_met_at_once_print_kubectls_lines_in_key_order() {
    let cluster = cluster().await;
    for (args, printed) in [
        (&["a", "--for=condition=Ready"][..], "pod/a condition met\n"),
        (
            &["a", "--for=condition=ready=TRUE"],
            "pod/a condition met\n",
        ),
        (
            &["a", "--for=jsonpath={.status.phase}=Running"],
            "pod/a condition met\n",
        ),
        (
            &["b", "--for=jsonpath={.status.phase}"],
            "pod/b condition met\n",
        ),
        (
            &[
                "--for=condition=Ready",
                "--for=jsonpath={.status.phase}=Pending",
            ],
            "pod/a condition met\npod/b condition met\n",
        ),
        (&["nope", "--for=delete"], ""),
    ] {
        let mut full = vec!["-n", "w"];
        full.extend(args);
        let (status, stdout, stderr) = run_to_end(cluster.kreflect(&full)).await;
        assert!(status.success(), "{args:?}: {stderr}");
        assert_eq!(stdout, printed, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_met_fails_in_kubectls_words() {
    let cluster = cluster().await;
    for (args, stdout_expected, said) in [
        (
            &["--for=condition=Ready", "--timeout=1s"][..],
            "pod/a condition met\n",
            "kreflect: timed out waiting for the condition on pods/b\n",
        ),
        (
            &["b", "--for=condition=Ready", "--timeout=0"],
            "",
            "kreflect: condition not met for pods/b\n",
        ),
        (
            &["nope", "--for=condition=Ready"],
            "",
            "kreflect: pods \"nope\" not found\n",
        ),
        (
            &["-l", "app=nothing", "--for=condition=Ready"],
            "",
            "kreflect: no matching resources found\n",
        ),
    ] {
        let mut full = vec!["-n", "w"];
        full.extend(args);
        let (status, stdout, stderr) = run_to_end(cluster.kreflect(&full)).await;
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, stdout_expected, "{args:?}");
        assert_eq!(stderr, said, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_meets_a_condition_or_any_of_several_while_waiting() {
    let cluster = cluster().await;
    let mut waiting = Running::spawn(cluster.kreflect(&[
        "b",
        "-n",
        "w",
        "--for=condition=Ready",
        "--for=delete",
    ]));
    cluster
        .wait_for_request("the watch", |request| request.is_plain_watch())
        .await;
    // A change that meets nothing, then one that meets the condition.
    cluster
        .server
        .cluster()
        .create_pod_with(pod("b", Some("False"), "Pending"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster
        .server
        .cluster()
        .create_pod_with(pod("b", Some("True"), "Running"));
    assert_eq!(waiting.next_line().await, "pod/b condition met");
    assert!(waiting.wait().await.success());

    let mut waiting = Running::spawn(cluster.kreflect(&["b", "-n", "w", "--for=delete"]));
    cluster
        .wait_for_request("the second watch", |request| {
            request.is_plain_watch() && cluster.watch_requests().len() >= 2
        })
        .await;
    cluster.server.cluster().delete_pod("w", "b");
    assert_eq!(waiting.next_line().await, "pod/b condition met");
    assert!(waiting.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn for_refuses_what_it_cannot_mean() {
    let cluster = cluster().await;
    for args in [
        &["--for=ready"][..],
        &["--for=condition="],
        &["--for=jsonpath=.status.phase"],
        &["--for=delete", "--events"],
        &["--for=delete", "--once"],
        &["--timeout=5s"],
    ] {
        let (status, _, stderr) = run_to_end(cluster.kreflect(args)).await;
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    }
}

/// An initial list longer than the queue of changes between the store and the waiter: its
/// changes are drained while the list goes on, so it completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_longer_than_the_queue_of_changes_is_waited_through() {
    let cluster = cluster().await;
    for i in 0..1500 {
        cluster
            .server
            .cluster()
            .create_pod("many", &format!("p-{i:04}"));
    }
    let args = [
        "p-0000",
        "-n",
        "many",
        "--for=jsonpath={.metadata.name}=p-0000",
    ];
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&args)).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "pod/p-0000 condition met\n");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["-n", "many", "--for=jsonpath={.kind}"])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1500);
}

/// A wait stopped before it is done failed: a signal is not success, and neither is a reader
/// going away (a `--for` run goes on waiting, as kubectl wait does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_cut_short_is_no_success() {
    let cluster = cluster().await;
    let mut waiting = Running::spawn(cluster.kreflect(&["b", "-n", "w", "--for=condition=Ready"]));
    cluster
        .wait_for_request("the watch", |request| request.is_plain_watch())
        .await;
    waiting.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(waiting.wait().await.code(), Some(143));

    let args = ["b", "-n", "w", "--for=condition=Ready", "--timeout=2s"];
    let mut waiting = Running::spawn(cluster.kreflect(&args));
    waiting.close_stdout();
    let status = waiting.wait().await;
    let stderr = waiting.stderr().await;
    assert_eq!(status.code(), Some(1), "waited out the timeout: {stderr}");
    assert!(
        stderr.contains("timed out waiting for the condition on pods/b"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_met_by_nothing_there_and_refused_with_a_selection_it_cannot_tell_from() {
    let cluster = cluster().await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["-n", "empty", "--for=delete"])).await;
    assert!(status.success(), "nothing to wait for: {stderr}");
    assert_eq!(stdout, "");
    let (status, _, stderr) =
        run_to_end(cluster.kreflect(&["-n", "w", "-l", "app=web", "--for=delete"])).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("left the selection"), "{stderr}");
    let args = ["b", "-n", "w", "--for=condition=Ready", "--timeout=-0s"];
    let (status, _, stderr) = run_to_end(cluster.kreflect(&args)).await;
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr, "kreflect: condition not met for pods/b\n",
        "-0 is 0"
    );
}
