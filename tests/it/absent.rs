//! No silent empty results (issue 20): what the first listing lacks of what was asked for is
//! said on stderr, as kubectl says it, and stdout stays the listing. A `--once` run missing an
//! object it named fails after printing the listing of those there, as `kubectl get` does.

use crate::harness::{Running, TestCluster, run_to_end};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_namespace_or_selection_is_said_on_stderr_and_the_listing_stays_empty() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    for (args, said) in [
        (
            &["-n", "does-not-exist", "--once"][..],
            "No resources found in does-not-exist namespace.",
        ),
        (&["-l", "app=nothing", "--once"][..], "No resources found"),
    ] {
        let (status, stdout, stderr) = run_to_end(cluster.kreflect(args)).await;
        assert!(status.success(), "{args:?}: {stderr}");
        assert_eq!(stdout, "\n", "{args:?}: the listing, its empty line alone");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["--once"])).await;
    assert!(status.success());
    assert_eq!(stdout, "a/x\n\n");
    assert!(!stderr.contains("No resources found"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_object_that_is_not_there_fails_a_once_run_after_the_listing_of_those_that_are() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["x", "web-9", "-n", "a", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "a/x\n\n", "the listing of those there, first");
    assert_eq!(stderr, "kreflect: pods \"web-9\" not found\n");
    let (status, stdout, _) = run_to_end(cluster.kreflect(&["x", "y", "-n", "a", "--once"])).await;
    assert!(status.success());
    assert_eq!(stdout, "a/x\na/y\n\n");
}

/// `--events` says what its initial state lacks once it is complete, and goes on watching: what
/// is not there may come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_say_what_the_initial_state_lacks_and_keep_watching() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["web-9", "-n", "a", "--events"]));
    kreflect
        .wait_for_stderr("web-9 said not found", |stderr| {
            stderr.contains(r#"pods "web-9""#) && stderr.contains("not found")
        })
        .await;
    cluster.server.cluster().create_pod("a", "web-9");
    assert_eq!(kreflect.next_line().await, "ADDED a/web-9");

    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["-n", "a,typo", "--events"]));
    assert_eq!(kreflect.next_line().await, "ADDED a/x");
    kreflect
        .wait_for_stderr("the empty namespace said", |stderr| {
            stderr.contains("No resources found in typo namespace.")
        })
        .await;
    assert!(
        !kreflect.stderr_so_far().contains("in a namespace"),
        "{}",
        kreflect.stderr_so_far()
    );
}
