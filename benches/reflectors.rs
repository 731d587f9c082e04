//! Side-by-side benchmark: kreflect's reflector against kube-runtime's `reflector(watcher(..))`,
//! on the same data from the fake API server.
//!
//! ```sh
//! cargo bench --bench reflectors -- --size small   # 2,000 pods, 10,000 events
//! cargo bench --bench reflectors -- --size large   # 50,000 pods, 100,000 events
//! cargo bench --bench reflectors -- --size large --churn  # RSS as the events go
//! cargo bench --bench reflectors -- --size large --flush-each-event  # one event per write
//! cargo bench --bench reflectors -- --fixed-cost   # the binary's RSS with one pod, by kind
//! cargo bench --bench reflectors -- --contexts     # the binary on 1, 2, 5, 10 contexts at once
//! ```
//!
//! The parent process runs the fake API server; each reflector runs in its own child process
//! (this binary re-executed with `--child NAME`), so CPU seconds (user + system, from `wait4`)
//! and peak RSS belong to that reflector alone. Peak RSS is the child's own `VmHWM` from
//! `/proc/self/status`, not `ru_maxrss`: Linux carries the parent's high-water mark over
//! `execve` into the child's `ru_maxrss`, and the parent holds every pod and event. For each reflector the parent starts a
//! fresh server with the same pods (N pods in 500 namespaces), waits for the child's "synced",
//! applies the same M watch events (80% MODIFIED, 10% ADDED, 10% DELETED, seeded), then creates a
//! sentinel pod. The child reports when the sentinel is in its store, then the count and a hash
//! of its sorted keys, which the parent checks against the server's keys. The parent also reads
//! how many response body bytes the server sent (compressed when gzipped) up to the sync and in
//! all: kreflect runs without gzip (the default on loopback, as for kube-runtime) and with
//! `--compression always`, so the CPU that gzip costs and the bytes it saves are known; with
//! protobuf (the default for pods, `--wire auto`) and `--wire json` (kube-runtime speaks JSON
//! only); and from three servers: the default one (a watch cache that answers kreflect's first
//! list, `resourceVersion=0`, in one response; streaming lists refused, as v1.26), one without a
//! watch cache (`kreflect-paged`: the list comes in pages of 500, as before issue 23), and one
//! that streams lists (`kreflect-streaming-list`). The parent's own CPU from the child's start
//! to its sync, while nothing but the fake server runs in it, stands in for what the start cost
//! the API server (the fake keeps each object encoded in both forms, and every object is listed
//! once as protobuf before the child starts, so this measures serving, not encoding; the real
//! server encodes on every request, and reads etcd for a consistent list: its own figures are
//! in docs/performance.md, "The API server's side").
//!
//! Each child's page faults (minor and major, `wait4`'s `ru_minflt` + `ru_majflt`) are counted
//! too, and divided by the megabytes it received: a fault costs some microseconds of CPU, and
//! most of a reflector's are its buffers' pages coming and going.
//!
//! With `--flush-each-event`, the fake server writes every watch event on its own (one HTTP
//! chunk, one write: `ServerOptions::flush_each_watch_event`), as a server that flushes after
//! each event does, so the children read one event at a time instead of many per read.
//!
//! With `--churn`, the events are applied in ten batches, each followed by a marker pod the
//! child waits for before reporting its current and peak RSS: how memory grows with the number of
//! events at the same number of pods.
//!
//! kreflect's children allocate as the shipped binary does (jemalloc, `src/allocator.rs`); the
//! parent and kube-runtime's child use the system allocator, as a kube-runtime program does
//! unless its author chose otherwise.
//!
//! Speed is only ever measured here, never in `cargo test`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use kreflect_sim::{FakeApiServer, ServerOptions, WatchListSupport, World, populate};

#[path = "reflectors/contexts.rs"]
mod contexts;
#[path = "reflectors/fixed_cost.rs"]
mod fixed_cost;

/// The shipped binary's allocator and its options (`_rjem_malloc_conf`).
#[path = "../src/allocator.rs"]
mod allocator;

/// Set (to anything) in a child's environment: it allocates with the shipped binary's allocator.
const SHIPPED_ALLOCATOR_ENV: &std::ffi::CStr = c"KREFLECT_BENCH_SHIPPED_ALLOCATOR";

#[global_allocator]
static ALLOCATOR: ChosenAllocator = ChosenAllocator;

/// The shipped binary's allocator or the system's, chosen by the environment at the first
/// allocation (before `main`, with one thread) and kept for the whole process.
struct ChosenAllocator;

/// 0 until the first allocation, then 1 (shipped) or 2 (system).
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// The shipped binary's allocator, for [`ChosenAllocator`] to hand calls to.
static SHIPPED: allocator::Allocator = allocator::Allocator {};

impl ChosenAllocator {
    /// The allocator this process chose, deciding at the first call.
    fn chosen() -> &'static dyn GlobalAlloc {
        let shipped = match CHOSEN.load(Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => {
                // SAFETY: a NUL-terminated name; getenv allocates nothing.
                let set = !unsafe { libc::getenv(SHIPPED_ALLOCATOR_ENV.as_ptr()) }.is_null();
                CHOSEN.store(if set { 1 } else { 2 }, Ordering::Relaxed);
                set
            }
        };
        if shipped { &SHIPPED } else { &System }
    }
}

// SAFETY: every call goes to the one allocator chosen before the first allocation, under the
// caller's contract.
unsafe impl GlobalAlloc for ChosenAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { Self::chosen().alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { Self::chosen().alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on to the allocator that allocated `ptr`.
        unsafe { Self::chosen().dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on to the allocator that allocated `ptr`.
        unsafe { Self::chosen().realloc(ptr, layout, new_size) }
    }
}

const NAMESPACES: usize = 500;
const SENTINEL_NAMESPACE: &str = "zz-sentinel";
const SENTINEL_NAME: &str = "sentinel";
/// Marker pods (in the sentinel's namespace) are named this and their batch number.
const MARK_PREFIX: &str = "mark-";
/// The batches `--churn` cuts the events into.
const CHURN_BATCHES: usize = 10;
/// How long a child may take for any phase before the run is declared failed.
const PHASE_DEADLINE: Duration = Duration::from_secs(600);

/// The benchmark's sizes: pods, then watch events.
#[derive(Clone, Copy, Debug)]
struct Size {
    name: &'static str,
    pods: usize,
    events: usize,
}

const SMALL: Size = Size {
    name: "small",
    pods: 2_000,
    events: 10_000,
};
const LARGE: Size = Size {
    name: "large",
    pods: 50_000,
    events: 100_000,
};

/// The reflectors measured; the first is the reference the ratios divide by.
const REFLECTORS: [(&str, &str); 10] = [
    (
        "kube-runtime",
        "kube-runtime `reflector(watcher(..))`, page size 500 (JSON)",
    ),
    (
        "kreflect",
        "kreflect (the default: the watch cache's list in one response, then watch; protobuf)",
    ),
    (
        "kreflect-paged",
        "kreflect, from a server without a watch cache (a consistent list in pages of 500)",
    ),
    ("kreflect-json", "kreflect `--wire json`"),
    ("kreflect-gzip", "kreflect `--compression always`"),
    (
        "kreflect-streaming-list",
        "kreflect, from a server that streams lists (v1.32+)",
    ),
    ("kreflect-metadata-only", "kreflect `--metadata-only`"),
    (
        "kreflect-binary-events",
        "the kreflect binary, `--events` (`TYPE key` lines)",
    ),
    (
        "kreflect-binary-template",
        "the kreflect binary, `--events --output-watch-events -o jsonpath=...` (the same lines from a template)",
    ),
    (
        "kreflect-binary-state",
        "the kreflect binary, `--events --state FILE --interval 1s` (what it printed saved every second)",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(child) = arg("--child") {
        let url = arg("--url").expect("--url for a child");
        let pods = arg("--pods")
            .and_then(|pods| pods.parse().ok())
            .unwrap_or(0);
        child::run(&child, &url, pods);
        return;
    }
    let fixed_cost = args.iter().any(|a| a == "--fixed-cost");
    if fixed_cost || args.iter().any(|a| a == "--contexts") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        if fixed_cost {
            fixed_cost::run(&runtime);
        } else {
            contexts::run(&runtime);
        }
        return;
    }
    let size = match arg("--size").as_deref() {
        None | Some("small") => SMALL,
        Some("large") => LARGE,
        Some(other) => {
            eprintln!("unknown --size {other:?}: use small or large");
            std::process::exit(2);
        }
    };
    let only = arg("--only");
    let run = Run {
        size,
        batches: if args.iter().any(|a| a == "--churn") {
            CHURN_BATCHES
        } else {
            1
        },
        flush_each_event: args.iter().any(|a| a == "--flush-each-event"),
    };
    parent(run, only.as_deref());
}

/// What every child of one benchmark run is measured on.
#[derive(Clone, Copy, Debug)]
struct Run {
    size: Size,
    /// The batches the events are applied in (more than one with `--churn`).
    batches: usize,
    /// `--flush-each-event`: the server writes each watch event on its own.
    flush_each_event: bool,
}

/// What one child run measured.
#[derive(Debug)]
struct Measured {
    sync: Duration,
    events: Duration,
    generate: Duration,
    cpu: Duration,
    /// Page faults, minor and major.
    faults: u64,
    max_rss_kib: u64,
    /// Peak RSS when the child reported its sync: what the initial list cost.
    sync_rss_kib: u64,
    /// With `--churn`: after each batch, events applied so far, then current and peak RSS.
    marks: Vec<(usize, u64, u64)>,
    keys_ok: bool,
    keys: usize,
    /// Response body bytes the server sent until the child reported its sync.
    sync_bytes: u64,
    /// Response body bytes the server sent in the whole run.
    total_bytes: u64,
    /// CPU the parent (the fake server, nothing else runs then) spent from the child's start
    /// to its sync: what serving the initial list cost the server.
    server_sync_cpu: Duration,
}

fn parent(run: Run, only: Option<&str>) {
    let Run {
        size,
        batches,
        flush_each_event,
    } = run;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    eprintln!(
        "size {}: {} pods in {NAMESPACES} namespaces, {} events{}",
        size.name,
        size.pods,
        size.events,
        if flush_each_event {
            ", each event written on its own"
        } else {
            ""
        }
    );
    let mut rows = Vec::new();
    for (name, label) in REFLECTORS {
        if only.is_some_and(|only| only != name) {
            continue;
        }
        let measured = runtime.block_on(measure(name, run));
        eprintln!("{name}: {measured:?}");
        rows.push((name, label, measured));
    }
    if batches > 1 {
        print_churn(size, &rows);
        return;
    }
    let printing = measure_printing(100_000);
    print_table(size, &rows, printing);
}

async fn measure(name: &str, run: Run) -> Measured {
    let Run { size, batches, .. } = run;
    let server = Arc::new(
        FakeApiServer::start(ServerOptions {
            history_limit: size.pods + size.events + 16,
            flush_each_watch_event: run.flush_each_event,
            watch_cache: name != "kreflect-paged",
            watch_list: if name == "kreflect-streaming-list" {
                WatchListSupport::Supported
            } else {
                WatchListSupport::Refused
            },
            ..ServerOptions::default()
        })
        .await
        .expect("fake server"),
    );
    let cluster = server.cluster();
    let started = Instant::now();
    let namespaces: Vec<String> = (0..NAMESPACES).map(|i| format!("ns-{i:03}")).collect();
    populate(&cluster, &namespaces, size.pods / NAMESPACES);
    eprintln!(
        "{name}: populated {} pods in {:?}",
        cluster.len(),
        started.elapsed()
    );

    warm_protobuf(&server.url()).await;
    let name_owned = name.to_owned();
    let driven = Arc::clone(&server);
    let handle =
        tokio::task::spawn_blocking(move || drive_child(&name_owned, &driven, size, batches));
    let measured = handle.await.expect("child driver");
    Arc::into_inner(server)
        .expect("the driver is done with the server")
        .shutdown()
        .await;
    measured
}

/// Lists every pod once as protobuf, so the fake server has encoded each (it encodes an
/// object's protobuf on first use and keeps it, as it renders each object's JSON once when it is
/// stored): the server CPU measured for a child is then serving, in either encoding.
async fn warm_protobuf(url: &str) {
    use kreflect::api::kube_source::{KubeSource, SourceOptions, Wire};
    use kreflect::cache::list_watch::{ListRequest, ListWatch};
    let client = kreflect::connect::client::connect_insecure_local(
        url,
        &kreflect::connect::client::ClientOptions::default(),
    )
    .expect("client");
    let options = SourceOptions {
        wire: Wire::Protobuf,
        ..SourceOptions::default()
    };
    KubeSource::pods(client, None)
        .with_options(options)
        .list(ListRequest::default())
        .await
        .expect("a protobuf list");
}

/// Runs one child through sync, events (in `batches`, each but the last followed by a marker
/// pod the child reports its RSS at) and the final check; blocking.
fn drive_child(name: &str, server: &FakeApiServer, size: Size, batches: usize) -> Measured {
    let (url, cluster) = (server.url(), server.cluster());
    let exe = std::env::current_exe().expect("own path");
    let server_cpu_before = own_cpu();
    // The warm-up list is not this child's.
    let bytes_before = server.body_bytes_sent();
    let mut command = Command::new(exe);
    let variable = SHIPPED_ALLOCATOR_ENV.to_str().expect("ASCII name");
    if name.starts_with("kreflect") {
        command.env(variable, "1");
    } else {
        command.env_remove(variable);
    }
    // Reaped by `reap` (wait4), which also reads the child's resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = command
        .args([
            "--child",
            name,
            "--url",
            &url,
            "--pods",
            &size.pods.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let expect = |prefix: &str| -> Vec<String> {
        let line: String = lines
            .recv_timeout(PHASE_DEADLINE)
            .unwrap_or_else(|err| panic!("{name}: no {prefix:?} line: {err}"));
        let fields: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        assert_eq!(
            fields.first().map(String::as_str),
            Some(prefix),
            "{name}: {line}"
        );
        fields
    };
    let synced = expect("synced");
    let sync = Duration::from_secs_f64(synced[1].parse().expect("seconds"));
    let sync_rss_kib: u64 = synced[2].parse().expect("VmHWM");
    let sync_bytes = server.body_bytes_sent() - bytes_before;
    let server_sync_cpu = own_cpu().saturating_sub(server_cpu_before);

    let events_started = Instant::now();
    let mut events = EventGenerator::new(&cluster);
    let mut marks = Vec::new();
    for batch in 1..=batches {
        events.apply(&cluster, size.events / batches);
        if batch < batches {
            cluster.create_pod(SENTINEL_NAMESPACE, &format!("{MARK_PREFIX}{batch}"));
            let mark = expect("mark");
            let field = |i: usize| -> u64 { mark[i].parse().expect("KiB") };
            marks.push((batch * size.events / batches, field(2), field(3)));
        }
    }
    let generate = events_started.elapsed();
    cluster.create_pod(SENTINEL_NAMESPACE, SENTINEL_NAME);
    let done = expect("done");
    let events = events_started.elapsed();
    let count: usize = done[1].parse().expect("count");
    let hash: u64 = done[2].parse().expect("hash");
    let max_rss_kib: u64 = done[3].parse().expect("VmHWM");

    let (usage, status) = reap(child.id());
    assert!(status == 0, "{name}: child exited with status {status}");
    let expected = cluster.keys();
    Measured {
        sync,
        events,
        generate,
        cpu: usage.cpu,
        faults: usage.faults,
        max_rss_kib,
        sync_rss_kib,
        marks,
        keys_ok: count == expected.len()
            && hash == child::key_hash(expected.iter().map(String::as_str)),
        keys: count,
        sync_bytes,
        total_bytes: server.body_bytes_sent() - bytes_before,
        server_sync_cpu,
    }
}

/// CPU time (user + system) this process has used so far.
fn own_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the call.
    let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(result, 0, "getrusage failed");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// What a child used, from `wait4`.
struct Usage {
    /// User + system time.
    cpu: Duration,
    /// Page faults: minor (`ru_minflt`) and major (`ru_majflt`).
    faults: u64,
}

/// Waits for the child and returns what it used and its exit status.
fn reap(pid: u32) -> (Usage, i32) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped; both pointers are valid for the call.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid as libc::pid_t, "wait4 failed");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let usage = Usage {
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        faults: (usage.ru_minflt + usage.ru_majflt) as u64,
    };
    (usage, code)
}

/// Changes: about 80% MODIFIED, 10% ADDED, 10% DELETED, the same sequence for every run however
/// it is cut into batches.
struct EventGenerator {
    rng: StdRng,
    population: Vec<(String, String)>,
    applied: usize,
}

impl EventGenerator {
    fn new(cluster: &World) -> Self {
        let population = cluster
            .keys()
            .into_iter()
            .filter_map(|key| {
                let (namespace, name) = key.split_once('/')?;
                Some((namespace.to_owned(), name.to_owned()))
            })
            .collect();
        EventGenerator {
            rng: StdRng::seed_from_u64(42),
            population,
            applied: 0,
        }
    }

    fn apply(&mut self, cluster: &World, count: usize) {
        let (rng, population) = (&mut self.rng, &mut self.population);
        for i in self.applied..self.applied + count {
            let roll: u32 = rng.random_range(0..10);
            if roll == 0 || population.is_empty() {
                let namespace = format!("ns-{:03}", rng.random_range(0..NAMESPACES));
                let name = format!("added-{i:06}");
                cluster.create_pod(&namespace, &name);
                population.push((namespace, name));
            } else if roll == 1 {
                let index = rng.random_range(0..population.len());
                let (namespace, name) = population.swap_remove(index);
                cluster.delete_pod(&namespace, &name);
            } else {
                let index = rng.random_range(0..population.len());
                let (namespace, name) = &population[index];
                cluster.update_pod(namespace, name);
            }
        }
        self.applied += count;
    }
}

/// Time to print one listing of `count` keys (sort included) into `/dev/null`.
fn measure_printing(count: usize) -> Duration {
    let (mut writer, store) = kreflect::cache::store::new_store();
    let objects = (0..count)
        .map(|i| {
            let json = format!(
                r#"{{"metadata":{{"name":"pod-{i:06}","namespace":"ns-{:03}","resourceVersion":"{i}"}}}}"#,
                (i * 7919) % NAMESPACES
            );
            kreflect::wire::object::RawObject::from_json(json.as_bytes(), "Pod").expect("object")
        })
        .collect();
    // Nothing consumes changes here, so the replace never waits: no runtime needed.
    futures::executor::block_on(writer.replace(objects, "1"));
    let mut sink = std::fs::File::create("/dev/null").expect("/dev/null");
    let started = Instant::now();
    let printed = kreflect::output::printer::write_listing(&store, &mut sink).expect("printed");
    let elapsed = started.elapsed();
    assert!(printed);
    sink.flush().expect("flush");
    elapsed
}

fn print_table(size: Size, rows: &[(&str, &str, Measured)], printing: Duration) {
    let secs = |d: Duration| format!("{:.2}", d.as_secs_f64());
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    println!();
    println!(
        "### {} ({} pods in {NAMESPACES} namespaces, {} watch events)",
        size.name, size.pods, size.events
    );
    println!();
    let mb = |bytes: u64| format!("{:.1}", bytes as f64 / 1e6);
    println!(
        "| reflector | initial sync (s) | apply all events (s) | CPU (s) | page faults (thousands) | page faults per MB received | peak RSS after list (MiB) | peak RSS (MiB) | received until synced (MB) | received in all (MB) | server CPU until synced (s) | final keys |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (_, label, m) in rows {
        println!(
            "| {label} | {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} ({}) |",
            secs(m.sync),
            secs(m.events),
            secs(m.cpu),
            m.faults as f64 / 1000.0,
            m.faults as f64 / (m.total_bytes as f64 / 1e6),
            mib(m.sync_rss_kib),
            mib(m.max_rss_kib),
            mb(m.sync_bytes),
            mb(m.total_bytes),
            secs(m.server_sync_cpu),
            if m.keys_ok { "correct" } else { "WRONG" },
            m.keys
        );
    }
    if let Some((_, _, reference)) = rows.iter().find(|(name, _, _)| *name == "kube-runtime") {
        println!();
        println!(
            "| ratio to kube-runtime | initial sync | apply all events | CPU | page faults | peak RSS | received in all | server CPU until synced |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (name, label, m) in rows.iter().filter(|(name, _, _)| *name != "kube-runtime") {
            let ratio = |a: f64, b: f64| format!("{:.3}", a / b);
            let _ = name;
            println!(
                "| {label} | {} | {} | {} | {} | {} | {} | {} |",
                ratio(m.sync.as_secs_f64(), reference.sync.as_secs_f64()),
                ratio(m.events.as_secs_f64(), reference.events.as_secs_f64()),
                ratio(m.cpu.as_secs_f64(), reference.cpu.as_secs_f64()),
                ratio(m.faults as f64, reference.faults as f64),
                ratio(m.max_rss_kib as f64, reference.max_rss_kib as f64),
                ratio(m.total_bytes as f64, reference.total_bytes as f64),
                ratio(
                    m.server_sync_cpu.as_secs_f64(),
                    reference.server_sync_cpu.as_secs_f64()
                ),
            );
        }
    }
    print_compression(rows);
    println!();
    for (name, _, m) in rows {
        println!(
            "- {name}: the fake server generated the {} events in {} s",
            size.events,
            secs(m.generate)
        );
    }
    println!(
        "- printing a listing of 100,000 keys (snapshot, sort, render, one write): {:.1} ms",
        printing.as_secs_f64() * 1000.0
    );
}

/// `--churn`: each reflector's RSS after the list and after each tenth of the events.
fn print_churn(size: Size, rows: &[(&str, &str, Measured)]) {
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    println!();
    println!(
        "### churn, {} ({} pods, {} events in {CHURN_BATCHES} batches): RSS / peak RSS (MiB)",
        size.name, size.pods, size.events
    );
    println!();
    let header: Vec<String> = rows.iter().map(|(_, label, _)| label.to_string()).collect();
    println!("| events applied | {} |", header.join(" | "));
    println!("|---:|{}", "---:|".repeat(rows.len()));
    let cell = |rss: u64, peak: u64| format!("{} / {}", mib(rss), mib(peak));
    let after_list: Vec<String> = rows
        .iter()
        .map(|(_, _, m)| format!("– / {}", mib(m.sync_rss_kib)))
        .collect();
    println!("| 0 (synced) | {} |", after_list.join(" | "));
    for batch in 0..CHURN_BATCHES - 1 {
        let cells: Vec<String> = rows
            .iter()
            .map(|(_, _, m)| {
                m.marks
                    .get(batch)
                    .map_or("?".into(), |&(_, r, p)| cell(r, p))
            })
            .collect();
        let applied = rows
            .first()
            .and_then(|(_, _, m)| m.marks.get(batch))
            .map_or(0, |&(events, _, _)| events);
        println!("| {applied} | {} |", cells.join(" | "));
    }
    let last: Vec<String> = rows
        .iter()
        .map(|(_, _, m)| {
            format!(
                "– / {} ({:+.0}% on the list's)",
                mib(m.max_rss_kib),
                (m.max_rss_kib as f64 / m.sync_rss_kib as f64 - 1.0) * 100.0
            )
        })
        .collect();
    println!("| {} (done) | {} |", size.events, last.join(" | "));
    let usage: Vec<String> = rows
        .iter()
        .map(|(_, _, m)| {
            format!(
                "{:.2} s, {:.1}k faults",
                m.cpu.as_secs_f64(),
                m.faults as f64 / 1000.0
            )
        })
        .collect();
    println!("| CPU, page faults | {} |", usage.join(" | "));
}

/// kreflect with gzip (`--compression always`) against the default (none on loopback), when
/// both ran.
fn print_compression(rows: &[(&str, &str, Measured)]) {
    let row = |wanted: &str| {
        rows.iter()
            .find(|(name, _, _)| *name == wanted)
            .map(|(_, _, m)| m)
    };
    let (Some(gzip), Some(plain)) = (row("kreflect-gzip"), row("kreflect")) else {
        return;
    };
    let mb = |bytes: u64| format!("{:.1}", bytes as f64 / 1e6);
    let ratio = |a: f64, b: f64| format!("{:.3}", a / b);
    println!();
    println!(
        "| kreflect | received until synced (MB) | received in all (MB) | initial sync (s) | CPU (s) | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, m) in [
        ("`--compression always`", gzip),
        ("none (the default on loopback)", plain),
    ] {
        println!(
            "| {label} | {} | {} | {:.2} | {:.2} | {:.0} |",
            mb(m.sync_bytes),
            mb(m.total_bytes),
            m.sync.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.max_rss_kib as f64 / 1024.0
        );
    }
    println!(
        "| ratio gzip / none | {} | {} | {} | {} | {} |",
        ratio(gzip.sync_bytes as f64, plain.sync_bytes as f64),
        ratio(gzip.total_bytes as f64, plain.total_bytes as f64),
        ratio(gzip.sync.as_secs_f64(), plain.sync.as_secs_f64()),
        ratio(gzip.cpu.as_secs_f64(), plain.cpu.as_secs_f64()),
        ratio(gzip.max_rss_kib as f64, plain.max_rss_kib as f64),
    );
}

/// The reflectors, each run in its own process.
mod child {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Pod;

    use super::{MARK_PREFIX, SENTINEL_NAME, SENTINEL_NAMESPACE};

    /// How often a child looks for the sentinel in its store.
    const POLL: Duration = Duration::from_millis(1);

    /// FNV-1a over the keys, each followed by a newline.
    pub fn key_hash<'a>(keys: impl Iterator<Item = &'a str>) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for key in keys {
            for &byte in key.as_bytes().iter().chain(b"\n") {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        hash
    }

    fn report(line: &str) {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}").expect("report");
        stdout.flush().expect("flush");
    }

    /// Runs child `name` against the server at `url`, which starts with `pods` pods.
    pub fn run(name: &str, url: &str, pods: usize) {
        if let Some(args) = binary_args(name) {
            kreflect_binary(url, pods, &args);
            return;
        }
        // kreflect runs on the binary's runtime; kube-runtime on `#[tokio::main]`'s.
        let runtime = if name.starts_with("kreflect") {
            kreflect::runtime::build()
        } else {
            tokio::runtime::Runtime::new()
        }
        .expect("runtime");
        runtime.block_on(async {
            match name {
                "kube-runtime" => kube_runtime(url).await,
                "kreflect" => kreflect(url, Variant::default()).await,
                "kreflect-json" => {
                    let variant = Variant {
                        json: true,
                        ..Variant::default()
                    };
                    kreflect(url, variant).await;
                }
                "kreflect-gzip" => {
                    let variant = Variant {
                        gzip: true,
                        ..Variant::default()
                    };
                    kreflect(url, variant).await;
                }
                // The server decides how these start.
                "kreflect-paged" | "kreflect-streaming-list" => {
                    kreflect(url, Variant::default()).await;
                }
                "kreflect-metadata-only" => {
                    let variant = Variant {
                        metadata_only: true,
                        ..Variant::default()
                    };
                    kreflect(url, variant).await;
                }
                other => panic!("unknown child {other}"),
            }
        });
    }

    /// Reports the sync, with the time since `started` and the peak RSS so far in KiB.
    fn report_synced(started: Instant) {
        let rss = rss_kib();
        report(&format!(
            "synced {} {}",
            started.elapsed().as_secs_f64(),
            rss.peak
        ));
    }

    /// Waits until `present(name)` says the sentinel is in the store, reporting each marker pod
    /// (`mark-1`, `mark-2`, ...) with the RSS and peak RSS when it arrived.
    async fn await_sentinel(present: impl Fn(&str) -> bool) {
        let mut next_mark = 1;
        loop {
            let mark = format!("{MARK_PREFIX}{next_mark}");
            if present(&mark) {
                let rss = rss_kib();
                report(&format!("mark {next_mark} {} {}", rss.current, rss.peak));
                next_mark += 1;
            } else if present(SENTINEL_NAME) {
                return;
            } else {
                tokio::time::sleep(POLL).await;
            }
        }
    }

    /// Reports the sorted keys' count and hash, and this process's peak RSS in KiB.
    fn finish(mut keys: Vec<String>) {
        keys.sort_unstable();
        report(&format!(
            "done {} {} {}",
            keys.len(),
            key_hash(keys.iter().map(String::as_str)),
            rss_kib().peak
        ));
    }

    /// This process's resident set, in KiB.
    struct Rss {
        /// `VmRSS`.
        current: u64,
        /// `VmHWM` (its own address space since `execve`).
        peak: u64,
    }

    fn rss_kib() -> Rss {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
        };
        Rss {
            current: field("VmRSS:"),
            peak: field("VmHWM:"),
        }
    }

    /// The arguments after `--events` of the children that run the kreflect binary: each prints
    /// `TYPE namespace/name` lines, from kreflect's own format or from a template.
    fn binary_args(name: &str) -> Option<Vec<&'static str>> {
        match name {
            "kreflect-binary-events" => Some(Vec::new()),
            "kreflect-binary-state" => {
                let path = std::env::temp_dir()
                    .join(format!("kreflect-bench-{}.state", std::process::id()));
                let _ = std::fs::remove_file(&path);
                // One path per child process, for the process's life: leaked on purpose.
                let path: &'static str = Box::leak(path.display().to_string().into_boxed_str());
                Some(vec!["--state", path, "--interval", "1s"])
            }
            "kreflect-binary-template" => Some(vec![
                "--output-watch-events",
                "--print-unchanged",
                "-o",
                r#"jsonpath={.type} {.object.metadata.namespace}/{.object.metadata.name}{"\n"}"#,
            ]),
            _ => None,
        }
    }

    /// The kreflect binary, `--events` and `args`, against `url`: synced once `pods` ADDED lines
    /// came, done when the sentinel's did. Its CPU is this child's (it is waited for); its peak
    /// RSS is read from `/proc` before it is stopped.
    fn kreflect_binary(url: &str, pods: usize, args: &[&str]) {
        use std::io::BufRead;
        let started = Instant::now();
        let kubeconfig =
            std::env::temp_dir().join(format!("kreflect-bench-{}.kubeconfig", std::process::id()));
        let config = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {"server": url}}],
            "users": [{"name": "bench", "user": {}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
        });
        std::fs::write(&kubeconfig, config.to_string()).expect("kubeconfig");
        let mut kreflect = std::process::Command::new(env!("CARGO_BIN_EXE_kreflect"))
            .arg("pods")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--events")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kreflect starts");
        let pid = kreflect.id();
        let peak = || {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| {
                    value
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .expect("VmHWM")
        };
        let stdout = kreflect.stdout.take().expect("stdout");
        let sentinel = format!("{SENTINEL_NAMESPACE}/{SENTINEL_NAME}");
        let mut keys = std::collections::HashSet::new();
        let mut added = 0;
        let mut synced = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            let Some((event, key)) = line.split_once(' ') else {
                continue;
            };
            match event {
                "ADDED" => {
                    added += 1;
                    keys.insert(key.to_owned());
                }
                "DELETED" => {
                    keys.remove(key);
                }
                _ => {}
            }
            if !synced && added >= pods {
                synced = true;
                report(&format!(
                    "synced {} {}",
                    started.elapsed().as_secs_f64(),
                    peak()
                ));
            }
            if key == sentinel {
                break;
            }
        }
        let peak = peak();
        let _ = kreflect.kill();
        let _ = kreflect.wait();
        let _ = std::fs::remove_file(&kubeconfig);
        let mut keys: Vec<String> = keys.into_iter().collect();
        keys.sort_unstable();
        report(&format!(
            "done {} {} {peak}",
            keys.len(),
            key_hash(keys.iter().map(String::as_str))
        ));
    }

    /// How a kreflect child differs from the defaults.
    #[derive(Clone, Copy, Default)]
    struct Variant {
        metadata_only: bool,
        /// `--compression always` (the default asks no gzip of a server on loopback).
        gzip: bool,
        /// `--wire json` (the default asks protobuf for pods).
        json: bool,
    }

    async fn kreflect(url: &str, variant: Variant) {
        use kreflect::api::kube_source::{KubeSource, SourceOptions, Wire};
        use kreflect::cache::reflector::{Reflector, ReflectorConfig};
        use kreflect::wire::object::Encoding;
        use kreflect::wire::object::ObjectKey;

        let Variant {
            metadata_only,
            gzip,
            json,
        } = variant;
        let started = Instant::now();
        let client = kreflect::connect::client::connect_insecure_local(
            url,
            &kreflect::connect::client::ClientOptions {
                // The rule of the shipped binary (no gzip on loopback), unless the variant asks
                // for it, as on a link where it pays.
                compression: if gzip {
                    kreflect::connect::compression::Compression::Always
                } else {
                    kreflect::connect::compression::Compression::Auto
                },
                ..kreflect::connect::client::ClientOptions::default()
            },
        )
        .expect("client");
        let (writer, store) = kreflect::cache::store::new_store();
        let options = SourceOptions {
            metadata_only,
            wire: if json { Wire::Json } else { Wire::Auto },
            ..SourceOptions::default()
        };
        let source = KubeSource::pods(client, None).with_options(options);
        let stop = tokio_util::sync::CancellationToken::new();
        let reflector = Reflector::new(source, writer, ReflectorConfig::default());
        let task = tokio::spawn(reflector.run(stop.clone()));
        store.wait_synced().await;
        report_synced(started);
        await_sentinel(|name| {
            store
                .get(&ObjectKey::new(Some(SENTINEL_NAMESPACE), name))
                .is_some()
        })
        .await;
        let sentinel = ObjectKey::new(Some(SENTINEL_NAMESPACE), SENTINEL_NAME);
        // The full object is retrievable by key.
        let object = store.get(&sentinel).expect("sentinel");
        if metadata_only {
            let meta: kube::core::PartialObjectMeta<Pod> = object.decode().expect("metadata");
            assert_eq!(meta.metadata.name.as_deref(), Some(SENTINEL_NAME));
        } else if object.encoding() == Encoding::Protobuf {
            let pod: k8s_pb::api::core::v1::Pod = object.decode_protobuf().expect("pod");
            assert!(pod.spec.is_some_and(|spec| !spec.containers.is_empty()));
        } else {
            let pod: Pod = object.decode().expect("pod");
            assert!(pod.spec.is_some_and(|spec| !spec.containers.is_empty()));
        }
        let keys = store.sorted_keys();
        stop.cancel();
        task.await.expect("reflector task").expect("reflector");
        finish(keys.iter().map(|k| k.as_str().to_owned()).collect());
    }

    async fn kube_runtime(url: &str) {
        use kube::runtime::reflector::{self, ObjectRef};
        use kube::runtime::watcher;

        let started = Instant::now();
        // The same client stack and compression rule as kreflect's default variant (no gzip
        // on loopback; kube's own client asks none unless its `gzip` feature is on).
        let client = kreflect::connect::client::connect_insecure_local(
            url,
            &kreflect::connect::client::ClientOptions {
                compression: kreflect::connect::compression::Compression::Auto,
                ..kreflect::connect::client::ClientOptions::default()
            },
        )
        .expect("client");
        let (reader, writer) = reflector::store::<Pod>();
        let api = kube::Api::<Pod>::all(client);
        let stream = reflector::reflector(
            writer,
            watcher(api, watcher::Config::default().page_size(500)),
        );
        let task = tokio::spawn(async move {
            stream.for_each(|_| std::future::ready(())).await;
        });
        reader.wait_until_ready().await.expect("ready");
        report_synced(started);
        await_sentinel(|name| {
            let object = ObjectRef::<Pod>::new(name).within(SENTINEL_NAMESPACE);
            reader.get(&object).is_some()
        })
        .await;
        let keys = reader
            .state()
            .iter()
            .map(|pod| {
                format!(
                    "{}/{}",
                    pod.metadata.namespace.as_deref().unwrap_or(""),
                    pod.metadata.name.as_deref().unwrap_or("")
                )
            })
            .collect();
        task.abort();
        finish(keys);
    }
}
