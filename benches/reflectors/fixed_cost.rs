//! `--fixed-cost`: what the shipped binary's resident memory is made of when it mirrors one pod
//! (the small size's fixed cost).
//!
//! The parent runs the fake API server with one pod, writes a kubeconfig for it and starts the
//! real binary (`kreflect pods`, built with the bench profile: the release profile's fat LTO),
//! once over plain HTTP and once over TLS with the kubeconfig's CA. When the pod's key is on
//! stdout, it reads the child's `/proc/PID/smaps` and sorts each mapping's resident pages into
//! the binary's own pages (code, read-only data, writable data with the `.bss` mapped right
//! after it), shared libraries, stacks (`[stack]`, and each anonymous mapping right above a
//! guard page: a thread's stack, or its signal stack), and the rest of
//! anonymous memory: the heap (jemalloc's, and glibc's arenas for libc's own allocations).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use kreflect_sim::{FakeApiServer, ServerOptions};

/// Resident KiB by category, in the order printed.
#[derive(Debug, Default)]
struct Breakdown {
    code: u64,
    read_only_data: u64,
    writable_data: u64,
    shared_libraries: u64,
    stacks: u64,
    heap: u64,
    total: u64,
    threads: u64,
}

/// Measures both transports and prints the table.
pub fn run(runtime: &tokio::runtime::Runtime) {
    let plain = runtime.block_on(measure(false));
    let tls = runtime.block_on(measure(true));
    print(&plain, &tls);
}

async fn measure(tls: bool) -> Breakdown {
    let server = FakeApiServer::start(ServerOptions {
        tls,
        ..ServerOptions::default()
    })
    .await
    .expect("fake server");
    server.cluster().create_pod("default", "only");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig()).expect("kubeconfig");
    let breakdown = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kreflect"))
            .args(["pods", "--interval", "1h", "--kubeconfig"])
            .arg(&kubeconfig)
            .env_clear()
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kreflect starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let first = BufReader::new(stdout).lines().next();
        assert_eq!(
            first.map(|line| line.expect("stdout")).as_deref(),
            Some("default/only"),
            "kreflect listed its one pod"
        );
        // Let the watch settle after the first listing.
        std::thread::sleep(Duration::from_millis(500));
        let breakdown = read_breakdown(child.id());
        child.kill().expect("kill");
        child.wait().expect("reaped");
        breakdown
    })
    .await
    .expect("measuring thread");
    server.shutdown().await;
    breakdown
}

fn read_breakdown(pid: u32) -> Breakdown {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe link");
    let exe = exe.to_string_lossy().into_owned();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    let mut breakdown = Breakdown::default();
    /// What a mapping's resident pages count as.
    #[derive(Clone, Copy)]
    enum Category {
        Code,
        ReadOnlyData,
        WritableData,
        SharedLibraries,
        Stack,
        Heap,
    }
    let mut current: Option<Category> = None;
    // Where the last guard page, and the binary's last writable mapping, end.
    let (mut guard_end, mut exe_data_end) = (None, None);
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let Some(range) = fields
            .first()
            .filter(|f| f.contains('-') && fields.len() >= 5)
        {
            let (start, end) = range.split_once('-').expect("range");
            let start = u64::from_str_radix(start, 16).expect("hex start");
            let end = u64::from_str_radix(end, 16).expect("hex end");
            let perms = fields[1];
            let path = fields.get(5..).map(|p| p.join(" ")).unwrap_or_default();
            let anonymous = path.is_empty();
            let category = if path == exe {
                if perms.contains('w') {
                    exe_data_end = Some(end);
                }
                match perms {
                    p if p.contains('x') => Category::Code,
                    p if p.contains('w') => Category::WritableData,
                    _ => Category::ReadOnlyData,
                }
            } else if anonymous && exe_data_end == Some(start) {
                Category::WritableData
            } else if path == "[stack]" || (anonymous && guard_end == Some(start)) {
                Category::Stack
            } else if anonymous || path == "[heap]" {
                Category::Heap
            } else {
                // Shared objects, [vdso], [vvar].
                Category::SharedLibraries
            };
            guard_end = (perms.starts_with("---") && anonymous).then_some(end);
            current = Some(category);
        } else if fields.first() == Some(&"Rss:") {
            let kib: u64 = fields[1].parse().expect("Rss kB");
            breakdown.total += kib;
            let slot = match current.expect("a mapping before Rss") {
                Category::Code => &mut breakdown.code,
                Category::ReadOnlyData => &mut breakdown.read_only_data,
                Category::WritableData => &mut breakdown.writable_data,
                Category::SharedLibraries => &mut breakdown.shared_libraries,
                Category::Stack => &mut breakdown.stacks,
                Category::Heap => &mut breakdown.heap,
            };
            *slot += kib;
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    breakdown.threads = status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads in status");
    breakdown
}

/// One row of the table: a category's KiB in a breakdown.
type Column = fn(&Breakdown) -> u64;

fn print(plain: &Breakdown, tls: &Breakdown) {
    let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
    println!();
    println!("### fixed cost: the shipped binary mirroring one pod (resident MiB)");
    println!();
    println!("| | plain HTTP | TLS (kubeconfig CA) |");
    println!("|---|---:|---:|");
    let rows: [(&str, Column); 6] = [
        ("binary: code", |b| b.code),
        ("binary: read-only data", |b| b.read_only_data),
        ("binary: writable data and .bss", |b| b.writable_data),
        ("shared libraries (libc, libgcc, ld.so, vdso)", |b| {
            b.shared_libraries
        }),
        ("stacks (threads' and their signal stacks)", |b| b.stacks),
        ("heap (jemalloc; glibc's arenas for libc)", |b| b.heap),
    ];
    for (label, value) in rows {
        println!("| {label} | {} | {} |", mib(value(plain)), mib(value(tls)));
    }
    println!(
        "| **total RSS** | **{}** | **{}** |",
        mib(plain.total),
        mib(tls.total)
    );
    println!("| threads | {} | {} |", plain.threads, tls.threads);
}
