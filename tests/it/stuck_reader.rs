//! A reader that never reads stdout (a stuck `| consumer`, a full pipe nobody drains), or
//! stderr: memory stays bounded, signals still end the run promptly with exit 0, and
//! `/healthz` keeps answering.
//!
//! Every test waits until kreflect is actually blocked writing to its full stdout pipe before
//! it measures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kreflect_sim::{ServerOptions, World};
use nix::sys::signal::Signal;

use crate::harness::{ANY_PORT, Running, TestCluster, http_get, listening_addr};

/// How long the process may take to exit after SIGTERM (the printer gives up on stdout after
/// about 2 s).
const EXIT_WITHIN: Duration = Duration::from_secs(5);

/// How long memory is sampled while the server floods and stdout is stuck.
const SAMPLING: Duration = Duration::from_secs(10);

/// How much RSS may grow once stdout is stuck. What may pile up then is one bounded queue of
/// changes (1024 keys and resourceVersions, under 1 MiB even with these 264-byte keys), one
/// rendered batch, one watch line being decoded and the HTTP client's buffers: 8 MiB leaves the
/// rest to allocator noise. Measured: the bounded queue grows 0.4-0.7 MiB in these 10 s; the
/// unbounded one (before the fix) grew 23-57 MiB, depending on how fast the flood ran.
const RSS_GROWTH_CEILING_KIB: u64 = 8 * 1024;

/// The RSS ceiling, whatever the baseline: kreflect (a debug build) watching a hundred pods is
/// about 22 MiB; 40 MiB is a sixth of the Deployment's 256 Mi limit.
const RSS_CEILING_KIB: u64 = 40 * 1024;

/// Updates pods in a tight loop on its own thread: a server flooding its watchers.
struct Flood {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl Flood {
    fn start(cluster: World) -> Flood {
        let keys = cluster.keys();
        assert!(!keys.is_empty(), "a flood needs pods to update");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                let mut updates = 0u64;
                for key in keys.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (namespace, name) = key.split_once('/').expect("ns/name");
                    cluster.update_pod(namespace, name).expect("pod exists");
                    updates += 1;
                }
                updates
            }
        });
        Flood { stop, thread }
    }

    /// Stops flooding; the number of updates made.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("flood thread")
    }
}

async fn flooded_cluster() -> (TestCluster, Flood) {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let pods = cluster.server.cluster();
    // Minimal pods, so updates are cheap for the server and the flood is hard, with long keys
    // (a 63-byte namespace, 200-byte names), so every change kreflect holds weighs its most.
    let namespace = format!("flood-{}", "n".repeat(57));
    let padding = "x".repeat(192);
    for i in 0..100 {
        pods.create_pod_with(serde_json::json!({
            "metadata": {"namespace": namespace, "name": format!("pod-{i:03}-{padding}")}
        }));
    }
    let flood = Flood::start(cluster.server.cluster());
    (cluster, flood)
}

/// A cluster whose listing is several times larger than a pipe's 64 KiB.
async fn cluster_with_a_large_listing() -> TestCluster {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let pods = cluster.server.cluster();
    let padding = "x".repeat(200);
    for i in 0..1000 {
        pods.create_pod("big", &format!("pod-{i:04}-{padding}"));
    }
    cluster
}

/// Sends SIGTERM and returns how long the process took to exit; fails unless it exits 0 within
/// [`EXIT_WITHIN`].
async fn terminate(kreflect: &mut Running) -> Duration {
    kreflect.signal(Signal::SIGTERM);
    let signalled = Instant::now();
    match tokio::time::timeout(EXIT_WITHIN, kreflect.child.wait()).await {
        Ok(status) => {
            let status = status.expect("wait");
            let elapsed = signalled.elapsed();
            assert!(
                status.success(),
                "{status}; stderr: {}",
                kreflect.stderr().await
            );
            elapsed
        }
        Err(_) => {
            let threads = threads_of(kreflect.child.id().expect("running"));
            let _ = kreflect.child.start_kill();
            panic!(
                "still running {EXIT_WITHIN:?} after SIGTERM; threads (name: wait channel): \
                 {threads:?}; stderr: {}",
                kreflect.stderr().await
            );
        }
    }
}

/// Each thread of process `pid` and what it waits in (`/proc/<pid>/task/*/wchan`).
fn threads_of(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    tasks
        .flatten()
        .map(|task| {
            let name = read(task.path().join("comm"));
            let wchan = read(task.path().join("wchan"));
            format!("{}: {}", name.trim(), wchan.trim())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_memory_stays_bounded_when_stdout_is_never_read() {
    let (cluster, flood) = flooded_cluster().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--events"]));
    let capacity = kreflect.wait_until_stdout_blocks().await;
    let first = kreflect.rss_kib();
    let started = Instant::now();
    let mut peak = first;
    while started.elapsed() < SAMPLING {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(kreflect.rss_kib());
    }
    let last = kreflect.rss_kib();
    let sampled = started.elapsed();
    let updates = flood.stop();
    println!(
        "stdout pipe of {capacity} bytes stuck; {updates} updates, sampled for {sampled:.1?} \
         (flood stopped after {:.1?}); kreflect RSS: {:.1} MiB when stdout blocked, peak {:.1} MiB, \
         last {:.1} MiB (ceiling {} MiB, growth ceiling {} MiB)",
        started.elapsed(),
        first as f64 / 1024.0,
        peak as f64 / 1024.0,
        last as f64 / 1024.0,
        RSS_CEILING_KIB / 1024,
        RSS_GROWTH_CEILING_KIB / 1024
    );
    assert!(
        peak - first < RSS_GROWTH_CEILING_KIB,
        "RSS grew from {first} KiB to {peak} KiB with a stuck reader (growth ceiling \
         {RSS_GROWTH_CEILING_KIB} KiB)"
    );
    assert!(
        peak < RSS_CEILING_KIB,
        "RSS reached {peak} KiB with a stuck reader (ceiling {RSS_CEILING_KIB} KiB)"
    );
    terminate(&mut kreflect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_events_promptly_when_stdout_is_never_read() {
    let (cluster, flood) = flooded_cluster().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--events"]));
    kreflect.wait_until_stdout_blocks().await;
    let elapsed = terminate(&mut kreflect).await;
    flood.stop();
    println!("--events: SIGTERM to exit 0 with a stuck reader: {elapsed:.2?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_listings_promptly_when_stdout_is_never_read() {
    let cluster = cluster_with_a_large_listing().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--interval", "1ms"]));
    kreflect.wait_until_stdout_blocks().await;
    let elapsed = terminate(&mut kreflect).await;
    println!("listings: SIGTERM to exit 0 with a stuck reader: {elapsed:.2?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_on_one_worker_thread_while_stdout_is_blocked() {
    let cluster = cluster_with_a_large_listing().await;
    let mut command = cluster.kreflect(&["--metrics-addr", ANY_PORT, "--interval", "1ms"]);
    // One async worker, as on a one-CPU node: a blocking write on it would stall everything.
    command.env("TOKIO_WORKER_THREADS", "1");
    let mut kreflect = Running::spawn(command);
    let addr = listening_addr(kreflect.child.id()).await;
    kreflect.wait_until_stdout_blocks().await;
    let healthz = tokio::time::timeout(Duration::from_secs(3), http_get(&addr, "/healthz")).await;
    let Ok(healthz) = healthz else {
        let _ = kreflect.child.start_kill();
        panic!(
            "/healthz did not answer within 3 s; stderr: {}",
            kreflect.stderr().await
        );
    };
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    terminate(&mut kreflect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_sigterm_answer_while_stderr_is_never_read() {
    // `kreflect -v 2> >(a stuck log shipper)`: every event is a debug record, and the 64 KiB
    // stderr pipe fills within a second of the flood.
    let (cluster, flood) = flooded_cluster().await;
    let mut command = cluster.kreflect(&["-v", "--metrics-addr", ANY_PORT, "--interval", "1h"]);
    let mut child = command.spawn().expect("kreflect starts");
    let addr = listening_addr(child.id()).await;
    // Held, never read; stdout is drained so only stderr is stuck.
    let _stderr = child.stderr.take().expect("piped stderr");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let drain = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let healthz = tokio::time::timeout(Duration::from_secs(3), http_get(&addr, "/healthz")).await;
    flood.stop();
    let pid = child.id().expect("running");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGTERM)
        .expect("signal sent");
    let ended = tokio::time::timeout(EXIT_WITHIN, child.wait()).await;
    let threads = threads_of(pid);
    let _ = child.start_kill();
    drain.abort();
    let healthz = healthz.unwrap_or_else(|_| {
        panic!("/healthz did not answer within 3 s with stderr stuck; threads: {threads:?}")
    });
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    assert!(
        ended.is_ok(),
        "still running {EXIT_WITHIN:?} after SIGTERM with stderr stuck; threads: {threads:?}"
    );
}

/// `--once` whose one listing is stuck half-written in a pipe nobody reads when SIGTERM comes:
/// stdout holds a cut listing (no separator line), so the run failed its one job and must not
/// exit 0 (a supervisor or `timeout --preserve-status` would take the cut file for the
/// cluster). It exits 143 as an interrupted `--once` does, within the printer's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stopped_while_its_listing_is_stuck_in_a_full_pipe_does_not_exit_zero() {
    let cluster = cluster_with_a_large_listing().await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--once"]));
    kreflect.wait_until_stdout_blocks().await;
    kreflect.signal(Signal::SIGTERM);
    let status = tokio::time::timeout(EXIT_WITHIN, kreflect.child.wait())
        .await
        .expect("exits within the deadline")
        .expect("wait");
    let stdout = kreflect.rest_of_stdout().await;
    assert!(
        !stdout.ends_with("\n\n"),
        "the listing was cut: {} bytes",
        stdout.len()
    );
    assert_eq!(
        status.code(),
        Some(143),
        "a cut --once listing is no success; stderr: {}",
        kreflect.stderr().await
    );
}
