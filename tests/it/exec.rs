//! `--exec CMD` and `--exec-timeout D` (issue 21): a command per change or per changed listing,
//! through the binary against the fake server. The commands are small `sh` scripts that append
//! what they were told to a file in a temporary directory; the tests wait for what they expect
//! there, with generous deadlines, and assert behaviour, never timing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::harness::{
    ANY_PORT, DEADLINE, Running, TestCluster, http_get, listening_addr, poll_until, run_to_end,
    sample,
};

/// A temporary directory for a command's files.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    /// The path of `name` in it, as a shell word (the directory's path has no quote).
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn at(&self, name: &str) -> String {
        format!("'{}'", self.path(name).display())
    }

    /// The lines of `name` so far (none before it exists).
    fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until `check` finds what it wants in the lines of `name`.
    async fn wait_for(
        &self,
        name: &str,
        what: &str,
        running: &mut Running,
        check: impl Fn(&[String]) -> bool,
    ) {
        let found = poll_until(DEADLINE, async || check(&self.lines(name)).then_some(())).await;
        if found.is_none() {
            let _ = running.child.start_kill();
            panic!(
                "never {what}; {name}: {:#?}\nstderr: {}",
                self.lines(name),
                running.stderr().await
            );
        }
    }
}

/// What the command was told, replayed from `TYPE KEY RV` lines: each key's last state (its
/// resourceVersion), deleted keys gone.
fn view_of(lines: &[String]) -> BTreeMap<String, String> {
    let mut view = BTreeMap::new();
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["DELETED", key, _] => {
                view.remove(*key);
            }
            [_, key, rv] => {
                view.insert((*key).to_owned(), (*rv).to_owned());
            }
            _ => {}
        }
    }
    view
}

/// The metrics at `addr` once they have every line of `lines` (a run is counted once it has
/// ended, a moment after it has written its last line).
async fn metrics_with(addr: &str, lines: &[&str]) -> String {
    let mut text = String::new();
    let found = poll_until(DEADLINE, async || {
        text = http_get(addr, "/metrics").await;
        lines
            .iter()
            .all(|line| text.lines().any(|l| l == *line))
            .then_some(())
    })
    .await;
    assert!(found.is_some(), "missing some of {lines:?} in\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_runs_the_command_with_the_change_in_its_environment_and_the_object_on_stdin() {
    let cluster = TestCluster::with_pods(&["w/a"]).await;
    let dir = Dir::new();
    // One line written at once (the object read first), so a line is never seen half-written.
    let command = format!(
        "object=$(cat); printf '%s|%s|%s|%s|%s|%s|%s\\n' \"$KREFLECT_TYPE\" \"$KREFLECT_KEY\" \
         \"$KREFLECT_NAMESPACE\" \"$KREFLECT_NAME\" \"$KREFLECT_KIND\" \
         \"$KREFLECT_RESOURCE_VERSION\" \"$object\" >> {log}; echo \"ran $KREFLECT_TYPE\"",
        log = dir.at("log")
    );
    let mut running =
        Running::spawn(cluster.kreflect(&["-n", "w", "--events", "--exec", &command]));
    dir.wait_for("log", "ran for the initial list", &mut running, |lines| {
        lines.len() == 1
    })
    .await;
    let pods = cluster.server.cluster();
    let modified = pods.update_pod("w", "a").expect("updated");
    dir.wait_for("log", "ran for the MODIFIED", &mut running, |lines| {
        lines.len() == 2
    })
    .await;
    let deleted = pods.delete_pod("w", "a").expect("deleted");
    dir.wait_for("log", "ran for the DELETED", &mut running, |lines| {
        lines.len() == 3
    })
    .await;
    let lines = dir.lines("log");
    let mut told = Vec::new();
    for line in &lines {
        let fields: Vec<&str> = line.splitn(7, '|').collect();
        let [change_type, key, namespace, name, kind, rv, object] = fields[..] else {
            panic!("not a run's line: {line:?}");
        };
        let object: serde_json::Value = serde_json::from_str(object).expect("the object as JSON");
        assert_eq!(object["metadata"]["name"], "a", "{line}");
        assert_eq!(object["metadata"]["resourceVersion"], rv, "{line}");
        assert_eq!(
            (object["apiVersion"].as_str(), object["kind"].as_str()),
            (Some("v1"), Some("Pod")),
            "{line}"
        );
        assert_eq!((key, namespace, name, kind), ("w/a", "w", "a", "Pod"));
        told.push(format!("{change_type} {rv}"));
    }
    assert_eq!(
        told[1..],
        [format!("MODIFIED {modified}"), format!("DELETED {deleted}")]
    );
    assert!(told[0].starts_with("ADDED "), "{told:?}");
    // The command's stdout is kreflect's: what a script reads; kreflect prints nothing itself.
    for expected in ["ran ADDED", "ran MODIFIED", "ran DELETED"] {
        assert_eq!(running.next_line().await, expected);
    }
}

/// Changes that come while a slow command runs wait, one per key, and run in order: the command
/// runs fewer times than there are changes, never two at once, each key's resourceVersions
/// only grow, the deletion of a pod it was told of reaches it, and it ends with each key's last
/// state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_command_runs_one_at_a_time_in_order_and_ends_with_each_keys_last_state() {
    let cluster = TestCluster::with_pods(&["w/p0", "w/p1", "w/p2"]).await;
    let dir = Dir::new();
    let command = format!(
        "mkdir {lock} || echo OVERLAP >> {log}; \
         echo \"$KREFLECT_TYPE $KREFLECT_KEY $KREFLECT_RESOURCE_VERSION\" >> {log}; \
         sleep 0.2; rmdir {lock}",
        lock = dir.at("lock"),
        log = dir.at("log")
    );
    let args = ["-n", "w", "--events", "--exec", &command];
    let mut running =
        Running::spawn(cluster.kreflect(&[&args[..], &["--metrics-addr", ANY_PORT]].concat()));
    let addr = listening_addr(running.child.id()).await;
    dir.wait_for("log", "ran for the three pods", &mut running, |lines| {
        lines.len() == 3
    })
    .await;
    let pods = cluster.server.cluster();
    let mut changes = 3;
    let mut last = BTreeMap::new();
    for round in 0..60 {
        let name = format!("p{}", round % 3);
        let rv = pods.update_pod("w", &name).expect("updated");
        last.insert(format!("w/{name}"), rv.to_string());
        changes += 1;
    }
    pods.delete_pod("w", "p0").expect("deleted");
    last.remove("w/p0");
    // A pod that comes and goes meanwhile: the command may never hear of it.
    pods.create_pod("w", "brief");
    pods.delete_pod("w", "brief").expect("deleted");
    let rv = pods.update_pod("w", "p1").expect("updated");
    last.insert("w/p1".to_owned(), rv.to_string());
    changes += 4;
    dir.wait_for("log", "the last state of each pod", &mut running, |lines| {
        view_of(lines) == last
    })
    .await;
    let lines = dir.lines("log");
    assert!(
        !lines.contains(&"OVERLAP".to_owned()),
        "two at once: {lines:#?}"
    );
    assert!(
        lines.iter().any(|line| line.starts_with("DELETED w/p0 ")),
        "the deletion of a pod the command was told of: {lines:#?}"
    );
    assert!(
        lines.len() < changes,
        "{} runs for {changes} changes",
        lines.len()
    );
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for line in &lines {
        let words: Vec<&str> = line.split(' ').collect();
        let rv: u64 = words[2].parse().expect("a resourceVersion");
        let before = seen.insert(words[1], rv);
        assert!(before < Some(rv), "{line} after {before:?}: {lines:#?}");
    }
    let runs = format!("kreflect_exec_runs_total {}", lines.len());
    let text = metrics_with(&addr, &[&runs, "kreflect_exec_queued_keys 0"]).await;
    let coalesced = sample::<u64>(&text, "kreflect_exec_coalesced_total").expect("coalesced");
    assert_eq!(coalesced, changes as u64 - lines.len() as u64, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_is_logged_with_its_key_and_counted_and_the_run_goes_on() {
    let cluster = TestCluster::with_pods(&["w/bad", "w/good"]).await;
    let dir = Dir::new();
    let command = format!(
        "[ \"$KREFLECT_NAME\" != bad ] || exit 7; echo \"$KREFLECT_KEY\" >> {log}",
        log = dir.at("log")
    );
    let args = [
        "-n",
        "w",
        "--events",
        "--exec",
        &command,
        "--metrics-addr",
        ANY_PORT,
    ];
    let mut running = Running::spawn(cluster.kreflect(&args));
    let addr = listening_addr(running.child.id()).await;
    dir.wait_for("log", "ran for w/good", &mut running, |lines| {
        lines == ["w/good"]
    })
    .await;
    cluster.server.cluster().create_pod("w", "after");
    dir.wait_for(
        "log",
        "ran for a pod after the failure",
        &mut running,
        |lines| lines == ["w/good", "w/after"],
    )
    .await;
    running
        .wait_for_stderr("the failure, with its key and exit status", |line| {
            line.contains("the --exec command failed")
                && line.contains("key=\"w/bad\"")
                && line.contains("exit_code=7")
        })
        .await;
    metrics_with(
        &addr,
        &[
            "kreflect_exec_runs_total 3",
            "kreflect_exec_failures_total{reason=\"exit\"} 1",
            "kreflect_exec_failures_total{reason=\"timeout\"} 0",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_timeout_stops_a_command_that_runs_for_ever_and_the_next_one_runs() {
    let cluster = TestCluster::with_pods(&["w/a-stuck", "w/b-quick"]).await;
    let dir = Dir::new();
    let command = format!(
        "echo \"$KREFLECT_KEY\" >> {log}; \
         [ \"$KREFLECT_NAME\" != a-stuck ] || {{ trap 'echo TERM >> {log}; exit 0' TERM; \
         while :; do sleep 0.1; done; }}",
        log = dir.at("log")
    );
    let args = [
        "-n",
        "w",
        "--events",
        "--exec",
        &command,
        "--exec-timeout",
        "500ms",
        "--metrics-addr",
        ANY_PORT,
    ];
    let mut running = Running::spawn(cluster.kreflect(&args));
    let addr = listening_addr(running.child.id()).await;
    dir.wait_for(
        "log",
        "the stuck one stopped, the next run",
        &mut running,
        |lines| lines == ["w/a-stuck", "TERM", "w/b-quick"],
    )
    .await;
    running
        .wait_for_stderr("the timeout, with its key", |line| {
            line.contains("the --exec command timed out")
                && line.contains("key=\"w/a-stuck\"")
                && line.contains("timeout_ms=500")
        })
        .await;
    metrics_with(
        &addr,
        &["kreflect_exec_failures_total{reason=\"timeout\"} 1"],
    )
    .await;
}

/// SIGTERM while a command runs: the command gets SIGTERM (its trap runs), the one queued
/// behind it never starts, and kreflect exits as a watching run does (0); a `--once` run,
/// whose one job the command was, exits 143.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_running_command_starts_no_other_and_exits_as_today() {
    let cluster = TestCluster::with_pods(&["w/a", "w/b"]).await;
    let dir = Dir::new();
    let command = format!(
        "trap 'echo \"TERM $KREFLECT_TYPE\" >> {log}; exit 0' TERM; \
         echo \"started $KREFLECT_TYPE\" >> {log}; while :; do sleep 0.1; done",
        log = dir.at("log")
    );
    // SIGHUP (the terminal or ssh session gone) as SIGTERM: the command, in a process group of
    // its own, gets no hang-up from the terminal, and must not outlive kreflect.
    for (args, code, signal) in [
        (
            &["-n", "w", "--events", "--exec", &command][..],
            0,
            Signal::SIGTERM,
        ),
        (
            &["-n", "w", "--events", "--exec", &command],
            0,
            Signal::SIGHUP,
        ),
        (
            &["-n", "w", "--once", "--exec", &command],
            143,
            Signal::SIGTERM,
        ),
        (
            &["-n", "w", "--once", "--exec", &command],
            129,
            Signal::SIGHUP,
        ),
    ] {
        let _ = std::fs::remove_file(dir.path("log"));
        let mut running = Running::spawn(cluster.kreflect(args));
        dir.wait_for("log", "the command started", &mut running, |lines| {
            !lines.is_empty()
        })
        .await;
        running.signal(signal);
        let status = running.wait().await;
        let stderr = running.stderr().await;
        assert_eq!(status.code(), Some(code), "{args:?}: {stderr}");
        let lines = dir.lines("log");
        let change_type = if code == 0 { "ADDED" } else { "LISTING" };
        assert_eq!(
            lines,
            [
                format!("started {change_type}"),
                format!("TERM {change_type}")
            ],
            "{args:?}: one run, stopped by SIGTERM, none after it"
        );
    }
}

/// Listings: the command runs for the first listing, then only for one that differs from the
/// last it ran for (a pod's status update changes no key); `-o json` listings differ by their
/// keys and resourceVersion, not their time; `--diff` runs for each diff that is not empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_run_the_command_once_per_changed_listing_with_the_listing_on_stdin() {
    let cluster = TestCluster::with_pods(&["w/a"]).await;
    let dir = Dir::new();
    let command = format!(
        "{{ echo \"$KREFLECT_TYPE\"; cat; echo .; }} >> {log}",
        log = dir.at("log")
    );
    let runs = |lines: &[String]| lines.iter().filter(|line| *line == ".").count();
    let args = ["-n", "w", "--interval", "100ms", "--exec", &command];
    let mut running = Running::spawn(cluster.kreflect(&args));
    dir.wait_for("log", "the first listing", &mut running, |lines| {
        runs(lines) == 1
    })
    .await;
    // A status update changes no key; then ten intervals of the same listing: no run.
    let pods = cluster.server.cluster();
    pods.update_pod("w", "a").expect("updated");
    tokio::time::sleep(Duration::from_secs(1)).await;
    pods.create_pod("w", "b");
    dir.wait_for("log", "the listing with b", &mut running, |lines| {
        runs(lines) == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    pods.delete_pod("w", "b").expect("deleted");
    dir.wait_for("log", "the listing without b", &mut running, |lines| {
        runs(lines) == 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        dir.lines("log").join("\n"),
        "LISTING\nw/a\n\n.\nLISTING\nw/a\nw/b\n\n.\nLISTING\nw/a\n\n.",
        "each listing that changed, once"
    );
    let _ = running.child.start_kill();

    let _ = std::fs::remove_file(dir.path("log"));
    let args = [
        "-n",
        "w",
        "--interval",
        "100ms",
        "-o",
        "json",
        "--exec",
        &command,
    ];
    let mut running = Running::spawn(cluster.kreflect(&args));
    dir.wait_for("log", "the first JSON listing", &mut running, |lines| {
        runs(lines) == 1
    })
    .await;
    // The listings' time changes every second; nothing else does.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(runs(&dir.lines("log")), 1, "{:#?}", dir.lines("log"));
    let listing: serde_json::Value =
        serde_json::from_str(&dir.lines("log")[1]).expect("a JSON listing");
    assert_eq!(listing["keys"], serde_json::json!(["w/a"]));
    let _ = running.child.start_kill();

    let _ = std::fs::remove_file(dir.path("log"));
    let args = [
        "-n",
        "w",
        "--interval",
        "100ms",
        "--diff",
        "--exec",
        &command,
    ];
    let mut running = Running::spawn(cluster.kreflect(&args));
    dir.wait_for("log", "the first diff", &mut running, |lines| {
        runs(lines) == 1
    })
    .await;
    pods.create_pod("w", "c");
    dir.wait_for("log", "the diff with c", &mut running, |lines| {
        runs(lines) == 2
    })
    .await;
    assert_eq!(dir.lines("log").join("\n"), "DIFF\n+w/a\n.\nDIFF\n+w/c\n.");
}

/// `--once --exec`: the command runs once, on the one listing, and the run fails with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_runs_the_command_on_the_one_listing_and_fails_with_it() {
    let cluster = TestCluster::with_pods(&["w/a", "w/b"]).await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["-n", "w", "--once", "--exec", "grep -c ."])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "2\n", "the command's output, nothing of kreflect's");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["-n", "w", "--once", "--exec", "exit 3"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "kreflect: the --exec command failed on the --once listing: exit status 3\n"
    );
    for args in [
        &["--exec", ""][..],
        &["--exec", "true", "--for=delete"],
        &["--exec", "true", "-o", "wide"],
        &["--events", "--exec", "true", "-o", "name"],
    ] {
        let (status, _, stderr) = run_to_end(cluster.kreflect(args)).await;
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    }
}
