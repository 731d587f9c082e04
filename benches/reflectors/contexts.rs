//! `--contexts`: what the shipped binary costs watching 1, 2, 5 and 10 kubeconfig contexts in
//! one run (`kreflect pods --context c0,c1,...`), against a run of one context.
//!
//! The parent starts ten fake API servers, each with the same pods (2,000 in 100 namespaces),
//! and writes one kubeconfig with a context per server (`c0` to `c9`: one cluster each, one
//! user without credentials). For each count it runs the real binary (`kreflect pods`, built
//! with the bench profile: the release profile's fat LTO) twice: `--once`, and watching
//! (`--interval 1h`) until its first listing is on stdout, then SIGTERM. Each listing must hold
//! every pod of every context (`CONTEXT/namespace/name`; one context prints `namespace/name`),
//! so each figure is of a complete run. CPU is the child's user + system time (`wait4`). Peak
//! RSS is its `VmHWM`, read when it stops at its exit (`PTRACE_O_TRACEEXIT`, the memory still
//! mapped): a `--once` run ends as soon as it has printed, and `ru_maxrss` would carry the
//! parent's high-water mark over `execve` (see the bench's module doc). The rounds alternate the
//! counts; the tables give each figure's median.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kreflect_sim::{FakeApiServer, ServerOptions, populate};

/// The numbers of contexts measured; the first (one context) is the reference.
const CONTEXT_COUNTS: [usize; 4] = [1, 2, 5, 10];
const NAMESPACES: usize = 100;
const PODS_PER_CONTEXT: usize = 2_000;
/// Each run takes well under a second; the figures of one context (tens of milliseconds of CPU)
/// need more rounds than three to give a steady median on a shared machine.
const ROUNDS: usize = 9;

/// How a run ends.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Mode {
    /// `--once`: exits after its listing.
    Once,
    /// `--interval 1h`: SIGTERM once its first listing is out (it then prints a final one).
    Watching,
}

impl Mode {
    fn args(self) -> &'static [&'static str] {
        match self {
            Mode::Once => &["--once"],
            Mode::Watching => &["--interval", "1h"],
        }
    }
}

/// What one run of the binary measured.
#[derive(Clone, Copy, Debug)]
struct Measured {
    /// From the start to the listing's empty line on stdout.
    listing: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

/// Starts the servers, measures every count in every mode `ROUNDS` times and prints the tables.
pub fn run(runtime: &tokio::runtime::Runtime) {
    let most = CONTEXT_COUNTS.into_iter().max().expect("counts");
    let servers = runtime.block_on(start_servers(most));
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let urls: Vec<String> = servers.iter().map(FakeApiServer::url).collect();
    std::fs::write(&kubeconfig, kubeconfig_of(&urls)).expect("kubeconfig");
    let mut runs: HashMap<(usize, Mode), Vec<Measured>> = HashMap::new();
    for round in 1..=ROUNDS {
        for contexts in CONTEXT_COUNTS {
            for mode in [Mode::Once, Mode::Watching] {
                let measured = measure(&kubeconfig, dir.path(), contexts, mode);
                eprintln!("round {round}, {contexts} contexts, {mode:?}: {measured:?}");
                runs.entry((contexts, mode)).or_default().push(measured);
            }
        }
    }
    runtime.block_on(async {
        for server in servers {
            server.shutdown().await;
        }
    });
    for mode in [Mode::Once, Mode::Watching] {
        let medians: Vec<(usize, Measured)> = CONTEXT_COUNTS
            .into_iter()
            .map(|contexts| (contexts, median(&runs[&(contexts, mode)])))
            .collect();
        print(mode, &medians);
    }
}

/// `count` servers, each with the same pods, each listed once as protobuf so that the fake has
/// encoded them before the first measured run (as [`super::warm_protobuf`] says).
async fn start_servers(count: usize) -> Vec<FakeApiServer> {
    let namespaces: Vec<String> = (0..NAMESPACES).map(|i| format!("ns-{i:03}")).collect();
    let mut servers = Vec::new();
    for _ in 0..count {
        let server = FakeApiServer::start(ServerOptions {
            history_limit: PODS_PER_CONTEXT + 16,
            ..ServerOptions::default()
        })
        .await
        .expect("fake server");
        populate(
            &server.cluster(),
            &namespaces,
            PODS_PER_CONTEXT / NAMESPACES,
        );
        assert_eq!(server.cluster().len(), PODS_PER_CONTEXT);
        super::warm_protobuf(&server.url()).await;
        servers.push(server);
    }
    servers
}

/// A kubeconfig with a context `c{i}` for each URL, as a cluster of the same name, all with one
/// user without credentials (JSON is YAML).
fn kubeconfig_of(urls: &[String]) -> String {
    let name = |i: usize| format!("c{i}");
    let clusters: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| serde_json::json!({"name": name(i), "cluster": {"server": url}}))
        .collect();
    let contexts: Vec<_> = (0..urls.len())
        .map(|i| serde_json::json!({"name": name(i), "context": {"cluster": name(i), "user": "u"}}))
        .collect();
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": [{"name": "u", "user": {}}],
        "contexts": contexts,
        "current-context": name(0),
    })
    .to_string()
}

/// Runs the binary on the first `contexts` contexts in `mode`, checks its listing and returns
/// what it cost.
fn measure(kubeconfig: &Path, home: &Path, contexts: usize, mode: Mode) -> Measured {
    let names: Vec<String> = (0..contexts).map(|i| format!("c{i}")).collect();
    let started = Instant::now();
    // Reaped by `trace_to_exit` (wait4), which also reads its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(env!("CARGO_BIN_EXE_kreflect"))
        .args(["pods", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["--context", &names.join(",")])
        .args(mode.args())
        .env_clear()
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kreflect starts");
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain integers; the child is ours and not yet reaped (it cannot exit before it
    // has listed from a server).
    let seized = unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            libc::PTRACE_O_TRACEEXIT as libc::c_long,
        )
    };
    assert_eq!(
        seized,
        0,
        "PTRACE_SEIZE: {}",
        std::io::Error::last_os_error()
    );
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut keys = Vec::new();
        for line in lines.by_ref() {
            let line = line.expect("stdout");
            if line.is_empty() {
                break;
            }
            keys.push(line);
        }
        let listed = started.elapsed();
        if mode == Mode::Watching {
            // The child exits only once signalled, and is reaped only after this thread ends
            // (`trace_to_exit`): the pid is still its own.
            // SAFETY: a plain kill(2).
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let after: Vec<String> = lines.map_while(Result::ok).collect();
        (keys, listed, after)
    });
    let (cpu, peak_rss_kib, status, (keys, listing, after)) = trace_to_exit(pid, reader);
    assert_eq!(status, 0, "{contexts} contexts, {mode:?}: exit status");
    check_listing(contexts, &keys);
    // `--once` prints one listing; a watching run, stopped, prints a final one.
    let expected_after = match mode {
        Mode::Once => Vec::new(),
        Mode::Watching => keys.iter().cloned().chain([String::new()]).collect(),
    };
    assert!(
        after == expected_after,
        "{contexts} contexts, {mode:?}: after its listing, {} lines, not {}",
        after.len(),
        expected_after.len()
    );
    Measured {
        listing,
        cpu,
        peak_rss_kib,
    }
}

/// Every context's pods, each once: `CONTEXT/namespace/name` with several contexts,
/// `namespace/name` with one.
fn check_listing(contexts: usize, keys: &[String]) {
    let segments = if contexts == 1 { 2 } else { 3 };
    let mut per_context: HashMap<&str, usize> = HashMap::new();
    for key in keys {
        assert!(
            key.split('/').count() == segments,
            "{contexts} contexts: a key of {segments} segments expected: {key}"
        );
        let context = if contexts == 1 {
            "c0"
        } else {
            key.split_once('/').map_or("", |(context, _)| context)
        };
        *per_context.entry(context).or_default() += 1;
    }
    let expected: HashMap<String, usize> = (0..contexts)
        .map(|i| (format!("c{i}"), PODS_PER_CONTEXT))
        .collect();
    let got: HashMap<String, usize> = per_context
        .into_iter()
        .map(|(context, count)| (context.to_owned(), count))
        .collect();
    assert_eq!(got, expected, "{contexts} contexts: keys per context");
}

/// Lets the traced child `pid` run to its exit, passing on the signals it gets; reads its peak
/// RSS when it stops at its exit, joins `reader` (which ends when the child's stdout closes) and
/// reaps the child: its CPU time, peak RSS in KiB, exit status, and what `reader` returned.
fn trace_to_exit<T>(
    pid: libc::pid_t,
    reader: std::thread::JoinHandle<T>,
) -> (Duration, u64, i32, T) {
    let mut peak = None;
    let mut reader = Some(reader);
    let mut read = None;
    loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own child, not yet reaped; both pointers are valid for the call.
        let waited = unsafe { libc::wait4(pid, &mut status, libc::__WALL, &mut usage) };
        assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
        if libc::WIFSTOPPED(status) {
            let event = status >> 16;
            let signal = if event == libc::PTRACE_EVENT_EXIT {
                // Stopped in exit, its memory still mapped: the last moment to read its peak.
                peak = Some(vm_hwm_kib(pid));
                0
            } else if event != 0 {
                // A group-stop (PTRACE_EVENT_STOP): nothing to pass on.
                0
            } else {
                libc::WSTOPSIG(status)
            };
            // SAFETY: pid is our tracee, in a ptrace stop.
            let resumed = unsafe {
                libc::ptrace(
                    libc::PTRACE_CONT,
                    pid,
                    std::ptr::null_mut::<libc::c_void>(),
                    libc::c_long::from(signal),
                )
            };
            assert_eq!(
                resumed,
                0,
                "PTRACE_CONT: {}",
                std::io::Error::last_os_error()
            );
            if event == libc::PTRACE_EVENT_EXIT {
                // Its stdout closes as it exits; only then may its pid be freed.
                let reader = reader.take().expect("one exit stop");
                read = Some(reader.join().expect("stdout reader"));
            }
            continue;
        }
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        let peak = peak.expect("the child stopped at its exit");
        let read = read.expect("stdout read to its end");
        return (
            time(usage.ru_utime) + time(usage.ru_stime),
            peak,
            code,
            read,
        );
    }
}

/// `VmHWM` of process `pid`, in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Each figure's median over the rounds, taken on its own.
fn median(runs: &[Measured]) -> Measured {
    fn middle<T: Ord + Copy>(mut values: Vec<T>) -> T {
        values.sort_unstable();
        values[values.len() / 2]
    }
    Measured {
        listing: middle(runs.iter().map(|m| m.listing).collect()),
        cpu: middle(runs.iter().map(|m| m.cpu).collect()),
        peak_rss_kib: middle(runs.iter().map(|m| m.peak_rss_kib).collect()),
    }
}

fn print(mode: Mode, rows: &[(usize, Measured)]) {
    let title = match mode {
        Mode::Once => "`--once`",
        Mode::Watching => "watching (`--interval 1h`), SIGTERM after the first listing",
    };
    let (_, single) = rows[0];
    let mib = |kib: f64| kib / 1024.0;
    println!();
    println!(
        "### {title}: {PODS_PER_CONTEXT} pods per context in {NAMESPACES} namespaces, median of {ROUNDS}"
    );
    println!();
    println!(
        "| contexts | pods | listing (s) | CPU (s) | peak RSS (MiB) | CPU per context (s) | RSS per context (MiB) | RSS each context adds (MiB) | CPU / 1 context | RSS / 1 context |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(contexts, m) in rows {
        let n = contexts as f64;
        let (cpu, rss) = (m.cpu.as_secs_f64(), m.peak_rss_kib as f64);
        // The RSS each context beyond the first adds, on average.
        let added = if contexts == 1 {
            "–".to_owned()
        } else {
            format!("{:.1}", mib(rss - single.peak_rss_kib as f64) / (n - 1.0))
        };
        println!(
            "| {contexts} | {} | {:.2} | {cpu:.2} | {:.1} | {:.3} | {:.1} | {added} | {:.2} | {:.2} |",
            contexts * PODS_PER_CONTEXT,
            m.listing.as_secs_f64(),
            mib(rss),
            cpu / n,
            mib(rss) / n,
            cpu / single.cpu.as_secs_f64(),
            rss / single.peak_rss_kib as f64,
        );
    }
}
