//! `--state FILE` (issue 21): what a run knew, kept for the next one, through the binary
//! against the fake server: `--diff` and `--events` across runs with additions, deletions and
//! modifications, a resume without a list, a relist after the watch window or an etcd
//! restore, and files that cannot be used.

use std::path::{Path, PathBuf};

use nix::sys::signal::Signal::SIGTERM;

use crate::harness::{Running, TestCluster, run_to_end};

/// A state file's path in a directory of its own, kept alive with it.
fn state_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pods.state");
    (dir, path)
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Full lists (not the one-object restore checks) the server has answered.
fn full_lists(cluster: &TestCluster) -> usize {
    cluster
        .list_requests()
        .iter()
        .filter(|request| request.param("limit") != Some("1"))
        .count()
}

/// Runs `kreflect pods --diff --once --state PATH ARGS`: its stdout, after checking it succeeded.
async fn diff_once(cluster: &TestCluster, path: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["--diff", "--once", "--state", arg(path)];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&all)).await;
    assert!(status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// Reads `count` lines of a running kreflect's stdout.
async fn lines(running: &mut Running, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..count {
        lines.push(running.next_line().await);
    }
    lines
}

/// Stops a running kreflect as a supervisor does, and checks it stopped cleanly.
async fn stop(mut running: Running) -> String {
    running.signal(SIGTERM);
    let status = running.wait().await;
    let stderr = running.stderr().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_diff_shows_additions_deletions_and_modifications_since_the_last_run() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y", "a/z"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    assert_eq!(
        diff_once(&cluster, &path, &[]).await.0,
        "+a/x\n+a/y\n+a/z\n"
    );
    assert_eq!(
        diff_once(&cluster, &path, &[]).await.0,
        "",
        "nothing changed"
    );
    pods.update_pod("a", "x");
    pods.delete_pod("a", "y");
    pods.create_pod("a", "w");
    assert_eq!(
        diff_once(&cluster, &path, &[]).await.0,
        "+a/w\n~a/x\n-a/y\n"
    );
    assert_eq!(diff_once(&cluster, &path, &[]).await.0, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_within_the_watch_window_resumes_the_watch_without_a_list() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let events = ["--events", "--state", arg(&path), "--interval", "200ms"];
    let mut first = Running::spawn(cluster.kreflect(&events));
    assert_eq!(lines(&mut first, 2).await, ["ADDED a/x", "ADDED a/y"]);
    stop(first).await;
    assert_eq!(full_lists(&cluster), 1);

    pods.update_pod("a", "x");
    pods.delete_pod("a", "y");
    pods.create_pod("a", "w");
    let mut second = Running::spawn(cluster.kreflect(&[&events[..], &["-v"]].concat()));
    assert_eq!(
        lines(&mut second, 3).await,
        ["MODIFIED a/x", "DELETED a/y", "ADDED a/w"],
        "what changed while no run watched, in the order it happened"
    );
    second
        .wait_for_stderr("the resume to be up to date", |stderr| {
            stderr.contains("resumed from the saved state: up to date without a list")
        })
        .await;
    pods.update_pod("a", "w");
    assert_eq!(second.next_line().await, "MODIFIED a/w");
    stop(second).await;
    assert_eq!(
        cluster.list_requests().len(),
        1,
        "the second run sent no list at all: {:#?}",
        cluster.list_requests()
    );
    let resumed = cluster.watch_requests();
    assert!(
        resumed.len() >= 2
            && resumed[1]
                .param("resourceVersion")
                .is_some_and(|rv| rv != "0"),
        "the second run watched from the saved resourceVersion: {resumed:#?}"
    );

    // The third run knows the second's last change.
    let mut third = Running::spawn(cluster.kreflect(&events));
    pods.delete_pod("a", "x");
    assert_eq!(third.next_line().await, "DELETED a/x");
    stop(third).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_collection_resumes_with_a_one_object_check_and_lists_nothing() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (_dir, path) = state_file();
    let (stdout, _) = diff_once(&cluster, &path, &[]).await;
    assert_eq!(stdout, "+a/x\n+a/y\n");
    let lists_before = cluster.list_requests().len();
    // A watch on a collection where nothing changed hears nothing (no bookmark either, as on a
    // real server): one object listed shows the server has not gone back.
    let mut resumed = Running::spawn(cluster.kreflect(&["--state", arg(&path)]));
    assert_eq!(resumed.next_listing().await, ["a/x", "a/y"]);
    stop(resumed).await;
    let lists: Vec<_> = cluster.list_requests().split_off(lists_before);
    assert_eq!(lists.len(), 1, "{lists:#?}");
    assert_eq!(lists[0].param("limit"), Some("1"), "{lists:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_watch_window_the_next_run_relists_and_prints_the_differences() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let events = ["--events", "--state", arg(&path)];
    let mut first = Running::spawn(cluster.kreflect(&events));
    assert_eq!(lines(&mut first, 2).await, ["ADDED a/x", "ADDED a/y"]);
    stop(first).await;

    pods.update_pod("a", "x");
    pods.delete_pod("a", "y");
    pods.create_pod("a", "w");
    pods.compact();
    let mut second = Running::spawn(cluster.kreflect(&events));
    assert_eq!(
        lines(&mut second, 3).await,
        ["ADDED a/w", "MODIFIED a/x", "DELETED a/y"],
        "a list's differences from the file, in key order"
    );
    stop(second).await;
    assert_eq!(full_lists(&cluster), 2, "{:#?}", cluster.list_requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etcd_restore_while_no_run_watched_is_noticed_and_its_deletes_printed() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let backup = pods.backup();
    pods.create_pod("a", "z");
    let events = ["--events", "--state", arg(&path)];
    let mut first = Running::spawn(cluster.kreflect(&events));
    assert_eq!(
        lines(&mut first, 3).await,
        ["ADDED a/x", "ADDED a/y", "ADDED a/z"]
    );
    stop(first).await;

    pods.restore(&backup);
    let mut second = Running::spawn(cluster.kreflect(&events));
    assert_eq!(second.next_line().await, "DELETED a/z");
    let stderr = stop(second).await;
    assert!(stderr.contains("went back in time"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_run_leaves_out_what_prints_as_the_last_run_printed_it() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let events = [
        "--events",
        "-o",
        "jsonpath={.metadata.name}{\"\\n\"}",
        "--state",
        arg(&path),
    ];
    let mut first = Running::spawn(cluster.kreflect(&events));
    assert_eq!(lines(&mut first, 2).await, ["x", "y"]);
    stop(first).await;

    // An annotation the template does not print, then a delete and a new pod it does.
    pods.update_pod("a", "x");
    pods.delete_pod("a", "y");
    pods.create_pod("a", "w");
    let mut second = Running::spawn(cluster.kreflect(&events));
    assert_eq!(
        lines(&mut second, 2).await,
        ["y", "w"],
        "x's MODIFIED prints what the first run printed for it, and is left out"
    );
    stop(second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_future_or_foreign_file_starts_afresh_with_a_warning_and_is_replaced() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (_dir, path) = state_file();
    let (stdout, _) = diff_once(&cluster, &path, &["-l", "app=web"]).await;
    assert_eq!(stdout, "");
    let (stdout, stderr) = diff_once(&cluster, &path, &[]).await;
    assert_eq!(stdout, "+a/x\n");
    assert!(
        stderr.contains("the saved state is for something else") && stderr.contains("-l 'app=web'"),
        "{stderr}"
    );
    let good = std::fs::read_to_string(&path).expect("saved");
    for (broken, said) in [
        (good[..good.len() / 2].to_owned(), "truncated or corrupt"),
        (
            good.replace(r#""version":1"#, r#""version":99"#),
            "written by a newer kreflect",
        ),
        // An empty file (`touch`, `mktemp`) is a first run: said at -v only.
        (String::new(), ""),
    ] {
        std::fs::write(&path, &broken).expect("written");
        let (stdout, stderr) = diff_once(&cluster, &path, &[]).await;
        assert_eq!(stdout, "+a/x\n", "{said}");
        assert!(stderr.contains(said), "{said}: {stderr}");
        assert_eq!(said.is_empty(), stderr.is_empty(), "{said}: {stderr}");
        let replaced = std::fs::read_to_string(&path).expect("saved");
        let replaced: serde_json::Value = serde_json::from_str(&replaced)
            .unwrap_or_else(|err| panic!("{said}: replaced by a whole state: {err}: {replaced}"));
        assert_eq!(replaced["version"], 1, "{said}");
        assert_eq!(replaced["collections"][0]["objects"][0][0], "a/x", "{said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_file_is_refused_and_left_alone_and_a_second_run_on_one_file_is_refused() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (_dir, path) = state_file();
    std::fs::write(&path, "export KUBECONFIG=~/.kube/prod\n").expect("written");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["--once", "--state", arg(&path)])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("is not a kreflect state file; not using or replacing it"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "export KUBECONFIG=~/.kube/prod\n"
    );

    std::fs::remove_file(&path).expect("removed");
    let mut holder = Running::spawn(cluster.kreflect(&["--state", arg(&path)]));
    assert_eq!(holder.next_listing().await, ["a/x"]);
    let pid = holder.child.id().expect("running");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["--once", "--state", arg(&path)])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!(
            "is in use by another kreflect run (pid {pid}); stop it, or give this run another \
             --state file"
        )),
        "{stderr}"
    );
    stop(holder).await;
    let (stdout, _) = diff_once(&cluster, &path, &[]).await;
    assert_eq!(
        stdout, "",
        "free once the first run has ended, and its state saved"
    );
}

#[tokio::test]
async fn state_with_for_is_a_usage_error() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (_dir, path) = state_file();
    let (status, _, stderr) =
        run_to_end(cluster.kreflect(&["x", "--for=delete", "--state", arg(&path)])).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--state"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_namespaces_each_resume_from_their_own_resource_version() {
    let cluster = TestCluster::with_pods(&["a/x", "b/y", "c/z"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let events = ["-n", "a,b", "--events", "--state", arg(&path)];
    let mut first = Running::spawn(cluster.kreflect(&events));
    let mut printed = lines(&mut first, 2).await;
    printed.sort();
    assert_eq!(printed, ["ADDED a/x", "ADDED b/y"]);
    stop(first).await;

    pods.update_pod("a", "x");
    pods.delete_pod("b", "y");
    pods.update_pod("c", "z");
    let mut second = Running::spawn(cluster.kreflect(&events));
    let mut printed = lines(&mut second, 2).await;
    printed.sort();
    assert_eq!(printed, ["DELETED b/y", "MODIFIED a/x"]);
    pods.create_pod("b", "w");
    assert_eq!(second.next_line().await, "ADDED b/w");
    stop(second).await;
    assert_eq!(
        full_lists(&cluster),
        2,
        "one list per namespace, by the first run only: {:#?}",
        cluster.list_requests()
    );
}

/// The resourceVersion a state file saved for its first collection.
fn saved_resource_version(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let saved: serde_json::Value = serde_json::from_str(&text).ok()?;
    saved["collections"][0]["resourceVersion"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_collection_on_a_busy_cluster_saves_how_far_its_bookmarks_got() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let events = [
        "-n",
        "a",
        "--events",
        "--state",
        arg(&path),
        "--interval",
        "200ms",
    ];
    let mut first = Running::spawn(cluster.kreflect(&events));
    assert_eq!(first.next_line().await, "ADDED a/x");
    // A bookmark comes for what changes after the watch opened, as on a real server: changes
    // elsewhere until one has, then until the last one's is saved.
    let listed = pods.resource_version();
    let mut created = 0;
    let flowing = crate::harness::poll_until(std::time::Duration::from_secs(20), async || {
        created += 1;
        pods.create_pod("b", &format!("p{created}"));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let saved = saved_resource_version(&path).and_then(|rv| rv.parse::<u64>().ok());
        saved.is_some_and(|saved| saved > listed).then_some(())
    })
    .await;
    assert!(flowing.is_some(), "{}", first.stderr_so_far());
    pods.create_pod("b", "last");
    let busy = pods.resource_version().to_string();
    let reached = crate::harness::poll_until(std::time::Duration::from_secs(20), async || {
        (saved_resource_version(&path).as_deref() == Some(busy.as_str())).then_some(())
    })
    .await;
    assert!(
        reached.is_some(),
        "the bookmarks' resourceVersion {busy} saved, not {:?}; {}",
        saved_resource_version(&path),
        first.stderr_so_far()
    );
    stop(first).await;
    // History before it gone: resuming from the list's resourceVersion would be too old.
    pods.compact();
    let mut second = Running::spawn(cluster.kreflect(&events));
    pods.create_pod("a", "y");
    assert_eq!(second.next_line().await, "ADDED a/y");
    stop(second).await;
    assert_eq!(full_lists(&cluster), 1, "{:#?}", cluster.list_requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_only_prints_what_changed_while_no_run_watched() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (_dir, path) = state_file();
    let pods = cluster.server.cluster();
    let events = [
        "--events",
        "--watch-only",
        "-o",
        "json",
        "--state",
        arg(&path),
    ];
    let typed = |line: String| -> String {
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        format!(
            "{} {}",
            event["type"].as_str().unwrap_or(""),
            event["key"].as_str().unwrap_or("")
        )
    };
    let mut first = Running::spawn(cluster.kreflect(&events));
    assert_eq!(
        typed(first.next_line().await),
        "SYNCED ",
        "the initial list is left out"
    );
    stop(first).await;

    pods.update_pod("a", "x");
    pods.delete_pod("a", "y");
    let mut second = Running::spawn(cluster.kreflect(&events));
    let printed: Vec<String> = lines(&mut second, 3).await.into_iter().map(typed).collect();
    assert_eq!(printed, ["MODIFIED a/x", "DELETED a/y", "SYNCED "]);
    stop(second).await;
}

#[tokio::test]
async fn a_directory_or_a_device_as_the_state_file_is_refused() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (dir, _) = state_file();
    for (path, what) in [
        (dir.path(), "a directory"),
        (Path::new("/dev/null"), "a device"),
    ] {
        let (status, stdout, stderr) =
            run_to_end(cluster.kreflect(&["--once", "--state", arg(path)])).await;
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(&format!("is {what}, not a file")),
            "{stderr}"
        );
    }
}

/// The lines of the file at `path` so far.
fn logged(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until the file at `path` has `count` lines.
async fn wait_for_lines(path: &Path, count: usize) -> Vec<String> {
    let found = crate::harness::poll_until(crate::harness::DEADLINE, async || {
        let lines = logged(path);
        (lines.len() >= count).then_some(lines)
    })
    .await;
    found.unwrap_or_else(|| panic!("never {count} lines: {:?}", logged(path)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_loop_runs_its_command_for_what_changed_while_it_was_down() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let (dir, path) = state_file();
    let log = dir.path().join("log");
    let pods = cluster.server.cluster();
    let command = format!(
        "echo \"$KREFLECT_TYPE $KREFLECT_KEY\" >> '{}'",
        log.display()
    );
    let reconcile = ["--events", "--exec", &command, "--state", arg(&path)];
    let first = Running::spawn(cluster.kreflect(&reconcile));
    assert_eq!(wait_for_lines(&log, 2).await, ["ADDED a/x", "ADDED a/y"]);
    stop(first).await;

    pods.update_pod("a", "x");
    pods.delete_pod("a", "y");
    pods.create_pod("a", "w");
    let second = Running::spawn(cluster.kreflect(&reconcile));
    assert_eq!(
        wait_for_lines(&log, 5).await[2..],
        ["MODIFIED a/x", "DELETED a/y", "ADDED a/w"]
    );
    stop(second).await;
    assert_eq!(full_lists(&cluster), 1, "{:#?}", cluster.list_requests());
    assert_eq!(
        logged(&log).len(),
        5,
        "nothing run twice: {:?}",
        logged(&log)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_the_stop_cut_short_runs_again_in_the_next_run() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let (dir, path) = state_file();
    let log = dir.path().join("log");
    let pods = cluster.server.cluster();
    // Logs the change, then takes long for a MODIFIED: the stop comes while it runs.
    let command = format!(
        "echo \"$KREFLECT_TYPE $KREFLECT_KEY\" >> '{}'; [ \"$KREFLECT_TYPE\" = MODIFIED ] && sleep 30; true",
        log.display()
    );
    let reconcile = ["--events", "--exec", &command, "--state", arg(&path)];
    let first = Running::spawn(cluster.kreflect(&reconcile));
    assert_eq!(wait_for_lines(&log, 1).await, ["ADDED a/x"]);
    pods.update_pod("a", "x");
    assert_eq!(wait_for_lines(&log, 2).await, ["ADDED a/x", "MODIFIED a/x"]);
    stop(first).await;

    let fast = format!(
        "echo \"$KREFLECT_TYPE $KREFLECT_KEY\" >> '{}'",
        log.display()
    );
    let second =
        Running::spawn(cluster.kreflect(&["--events", "--exec", &fast, "--state", arg(&path)]));
    assert_eq!(
        wait_for_lines(&log, 3).await,
        ["ADDED a/x", "MODIFIED a/x", "MODIFIED a/x"],
        "the change whose command was stopped is run again"
    );
    stop(second).await;
}
