//! The harness every test module shares: a fake API server, a kubeconfig pointing at it, and
//! the real `kreflect` binary run against it with its stdout split into listings.

pub mod mirror;
pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kreflect_sim::{FakeApiServer, RecordedRequest, ServerOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails with its context.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How often [`poll_until`] looks again.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Polls `check` until it returns `Some`, for at most `deadline`: its value, or `None` once the
/// deadline has passed (the caller fails with its own context).
pub async fn poll_until<T>(
    deadline: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    tokio::time::timeout(deadline, async {
        loop {
            if let Some(found) = check().await {
                return found;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    })
    .await
    .ok()
}

/// Asserts that `stderr` is exactly one line (a failed run's one error line), showing
/// `context` and all of stderr, escaped, otherwise.
#[track_caller]
pub fn assert_one_line(stderr: &str, context: impl std::fmt::Display) {
    assert_eq!(
        stderr.lines().count(),
        1,
        "{context}: stderr is not one line: {stderr:?}"
    );
}

/// A fake API server and a kubeconfig file for it.
pub struct TestCluster {
    pub server: FakeApiServer,
    dir: tempfile::TempDir,
}

impl TestCluster {
    pub async fn start(options: ServerOptions) -> Self {
        let server = FakeApiServer::start(options)
            .await
            .expect("fake server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kubeconfig"), server.kubeconfig()).expect("kubeconfig");
        TestCluster { server, dir }
    }

    /// A cluster with a pod for each `namespace/name` of `keys`.
    pub async fn with_pods(keys: &[&str]) -> Self {
        TestCluster::start_with_pods(ServerOptions::default(), keys).await
    }

    /// [`TestCluster::start`], then a pod for each `namespace/name` of `keys`.
    pub async fn start_with_pods(options: ServerOptions, keys: &[&str]) -> Self {
        let cluster = TestCluster::start(options).await;
        for key in keys {
            let (namespace, name) = key.split_once('/').expect("ns/name");
            cluster.server.cluster().create_pod(namespace, name);
        }
        cluster
    }

    /// A cluster with one pod more than a page holds (`a/p-000` .. `a/p-500`), so a list of it
    /// takes a continue token.
    pub async fn with_two_pages() -> Self {
        // A server paging every list from etcd, as one without a watch cache: a watching run's
        // first list comes in pages too.
        let options = ServerOptions {
            watch_cache: false,
            ..ServerOptions::default()
        };
        let cluster = TestCluster::start(options).await;
        for i in 0..501 {
            cluster
                .server
                .cluster()
                .create_pod("a", &format!("p-{i:03}"));
        }
        cluster
    }

    /// Runs `kreflect pods ARGS` for `window`, then kills it: the watch and list requests it
    /// sent, and its stderr.
    pub async fn requests_while_running(&self, args: &[&str], window: Duration) -> Sent {
        let mut running = Running::spawn(self.kreflect(args));
        tokio::time::sleep(window).await;
        let (watches, lists) = (self.watch_requests().len(), self.list_requests().len());
        running.child.start_kill().expect("kill");
        let stderr = running.stderr().await;
        eprintln!("{watches} watches, {lists} lists in {window:?}; stderr:\n{stderr}");
        Sent {
            watches,
            lists,
            stderr,
        }
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// `kreflect pods --kubeconfig <generated> ARGS...`, in a clean environment.
    pub fn kreflect(&self, args: &[&str]) -> Command {
        self.kreflect_with_kubeconfig(&self.kubeconfig_path(), args)
    }

    /// `kreflect pods --kubeconfig KUBECONFIG ARGS...`, in a clean environment.
    pub fn kreflect_with_kubeconfig(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut all = vec!["pods"];
        all.extend_from_slice(args);
        self.kreflect_any_with_kubeconfig(kubeconfig, &all)
    }

    /// `kreflect --kubeconfig <generated> ARGS...` (ARGS name the resource).
    pub fn kreflect_any(&self, args: &[&str]) -> Command {
        self.kreflect_any_with_kubeconfig(&self.kubeconfig_path(), args)
    }

    /// `kreflect --kubeconfig KUBECONFIG ARGS...` (ARGS name the resource), in a clean environment.
    pub fn kreflect_any_with_kubeconfig(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        kreflect_command(&all, self.dir.path())
    }

    /// Writes another kubeconfig, `text`, next to the generated one and returns its path.
    pub fn write_kubeconfig(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    /// Writes an executable shell script, `body` after a `#!/bin/sh` line, next to the
    /// generated kubeconfig and returns its path.
    pub fn write_script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write_kubeconfig(name, &format!("#!/bin/sh\n{body}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// Writes a kubeconfig for this server whose user gets its token from an exec credential
    /// plugin, `command` with `args` (a YAML list), and returns its path.
    pub fn write_exec_plugin_kubeconfig(&self, name: &str, command: &Path, args: &str) -> PathBuf {
        let kubeconfig = format!(
            r#"apiVersion: v1
kind: Config
current-context: ctx
clusters:
- name: c
  cluster: {{server: "{url}"}}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: "{command}"
      args: {args}
      interactiveMode: Never
contexts:
- name: ctx
  context: {{cluster: c, user: u}}
"#,
            url = self.server.url(),
            command = command.display(),
        );
        self.write_kubeconfig(name, &kubeconfig)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    pub fn list_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/pods") && !r.is_watch())
            .collect()
    }

    /// The watches of pods, streaming lists left out: a watching run first asks for one, which
    /// the fake server, as v1.26, refuses ([`TestCluster::streaming_list_requests`]).
    pub fn watch_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/pods") && r.is_plain_watch())
            .collect()
    }

    /// The streaming lists of pods asked for (`sendInitialEvents=true`).
    pub fn streaming_list_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/pods") && r.is_streaming_list())
            .collect()
    }

    /// Waits until the server has seen a request matching `predicate`.
    pub async fn wait_for_request(&self, what: &str, predicate: impl Fn(&RecordedRequest) -> bool) {
        let found = poll_until(DEADLINE, async || {
            self.requests().iter().any(&predicate).then_some(())
        })
        .await;
        if found.is_none() {
            panic!("server never saw {what}; requests: {:#?}", self.requests());
        }
    }
}

/// What a run sent, from [`TestCluster::requests_while_running`].
pub struct Sent {
    pub watches: usize,
    pub lists: usize,
    pub stderr: String,
}

/// The binary with only the given args and a HOME with no kubeconfig.
pub fn kreflect_command(args: &[&str], home: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kreflect"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// A running kreflect whose stdout is read listing by listing.
pub struct Running {
    pub child: Child,
    lines: Option<Lines<BufReader<ChildStdout>>>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Running {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("kreflect starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_reader = tokio::spawn({
            let stderr = Arc::clone(&stderr);
            async move {
                let mut lines = BufReader::new(stderr_pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut text = stderr.lock().expect("stderr");
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        Running {
            child,
            lines: Some(BufReader::new(stdout).lines()),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Waits until stderr has a line matching `predicate`.
    pub async fn wait_for_stderr(&mut self, what: &str, predicate: impl Fn(&str) -> bool) {
        self.wait_for_stderr_lines(what, 1, predicate).await;
    }

    /// Waits until stderr has at least `count` lines matching `predicate`.
    pub async fn wait_for_stderr_lines(
        &mut self,
        what: &str,
        count: usize,
        predicate: impl Fn(&str) -> bool,
    ) {
        self.wait_for_stderr_lines_within(DEADLINE, what, count, predicate)
            .await;
    }

    /// Waits at most `deadline` until stderr has at least `count` lines matching `predicate`.
    pub async fn wait_for_stderr_lines_within(
        &mut self,
        deadline: Duration,
        what: &str,
        count: usize,
        predicate: impl Fn(&str) -> bool,
    ) {
        let found = poll_until(deadline, async || {
            let matching = self
                .stderr_so_far()
                .lines()
                .filter(|l| predicate(l))
                .count();
            (matching >= count).then_some(())
        })
        .await;
        if found.is_none() {
            panic!(
                "stderr never showed {what} within {deadline:?}: {}",
                self.stderr_so_far()
            );
        }
    }

    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    /// The next listing: the lines up to the next empty line.
    pub async fn next_listing(&mut self) -> Vec<String> {
        match tokio::time::timeout(DEADLINE, self.read_listing()).await {
            Ok(Some(listing)) => listing,
            Ok(None) => panic!("stdout ended before a listing; {}", self.stderr_now().await),
            Err(_) => panic!(
                "no listing within {DEADLINE:?}; {}",
                self.stderr_now().await
            ),
        }
    }

    /// The next line of stdout (for `--events` and `--diff`).
    pub async fn next_line(&mut self) -> String {
        let lines = self.lines.as_mut().expect("stdout still open");
        match tokio::time::timeout(DEADLINE, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => panic!("stdout ended; {}", self.stderr_now().await),
            Err(_) => panic!("no line within {DEADLINE:?}; {}", self.stderr_now().await),
        }
    }

    /// Reads listings until one equals `expected`.
    pub async fn wait_for_listing(&mut self, expected: &[String]) {
        self.wait_for_listing_within(DEADLINE, expected).await;
    }

    /// Reads listings for at most `deadline` until one equals `expected`.
    pub async fn wait_for_listing_within(&mut self, deadline: Duration, expected: &[String]) {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(deadline, async {
            while let Some(listing) = self.read_listing().await {
                if listing == expected {
                    return true;
                }
                seen.push(listing);
            }
            false
        })
        .await;
        if found != Ok(true) {
            panic!(
                "never printed {expected:?} within {deadline:?}; last listings: {:?}; {}",
                seen.iter().rev().take(3).collect::<Vec<_>>(),
                self.stderr_now().await
            );
        }
    }

    async fn read_listing(&mut self) -> Option<Vec<String>> {
        let mut listing = Vec::new();
        loop {
            let lines = self.lines.as_mut().expect("stdout still open");
            match lines.next_line().await.expect("read stdout")? {
                line if line.is_empty() => return Some(listing),
                line => listing.push(line),
            }
        }
    }

    /// Everything left on stdout after the process ends.
    pub async fn rest_of_stdout(&mut self) -> String {
        let mut rest = String::new();
        let reader = self.lines.as_mut().expect("stdout still open").get_mut();
        tokio::time::timeout(DEADLINE, reader.read_to_string(&mut rest))
            .await
            .expect("stdout closes")
            .expect("read stdout");
        rest
    }

    /// Waits, without reading it, until stdout is stuck: its pipe holds at least half its
    /// capacity and a thread of the process sleeps in a pipe write (`wchan`), so kreflect is
    /// blocked on a reader that never reads. Returns the pipe's capacity.
    pub async fn wait_until_stdout_blocks(&mut self) -> usize {
        use std::os::fd::AsRawFd;
        let fd = self
            .lines
            .as_mut()
            .expect("stdout still open")
            .get_mut()
            .get_ref()
            .as_raw_fd();
        let pid = self.child.id().expect("running");
        // SAFETY: `fd` is our open read end of the child's stdout pipe for the whole call.
        let capacity = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
        let capacity = usize::try_from(capacity).expect("F_GETPIPE_SZ");
        let blocked = poll_until(DEADLINE, async || {
            let mut pending: libc::c_int = 0;
            // SAFETY: FIONREAD writes one c_int through the valid pointer.
            let ok = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut pending) };
            assert_eq!(ok, 0, "FIONREAD on stdout");
            let half_full = usize::try_from(pending).unwrap_or(0) >= capacity / 2;
            (half_full && sleeps_in_pipe_write(pid)).then_some(())
        })
        .await;
        if blocked.is_none() {
            panic!(
                "stdout never blocked on its {capacity}-byte pipe; {}",
                self.stderr_now().await
            );
        }
        capacity
    }

    /// Resident set size of the running process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id().expect("running"))
    }

    /// Closes our end of the stdout pipe, as `| head -1` does once it has its line.
    pub fn close_stdout(&mut self) {
        self.lines = None;
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = self.child.id().expect("running") as i32;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("signal sent");
    }

    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("kreflect exits")
            .expect("wait")
    }

    /// All of stderr, once the process has closed it.
    pub async fn stderr(&mut self) -> String {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(DEADLINE, reader).await;
        }
        self.stderr_so_far()
    }

    async fn stderr_now(&mut self) -> String {
        let _ = self.child.start_kill();
        format!("stderr: {}", self.stderr().await)
    }
}

/// Whether a thread of process `pid` sleeps in a pipe write (`pipe_write`, or
/// `anon_pipe_write` on newer kernels).
fn sleeps_in_pipe_write(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("wchan"))
            .is_ok_and(|wchan| wchan.contains("pipe_write"))
    })
}

/// The value of the first sample of `name` in the Prometheus text `text`: a line `name value`
/// or `name{labels} value`.
pub fn sample<T: std::str::FromStr>(text: &str, name: &str) -> Option<T> {
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(name)?;
            rest.strip_prefix(' ').or_else(|| {
                rest.strip_prefix('{')?
                    .split_once("} ")
                    .map(|(_, value)| value)
            })
        })
        .and_then(|v| v.parse().ok())
}

/// Resident set size, in KiB, of `process`: a pid, or `"self"` for this test process.
pub fn rss_kib(process: impl std::fmt::Display) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{process}/status")).expect("/proc/<process>/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// `--metrics-addr` for a test: port 0, the kernel's choice, read back with [`listening_addr`].
/// (A free port found by the test and released for kreflect could be handed meanwhile to a
/// server of a neighbouring test.)
pub const ANY_PORT: &str = "127.0.0.1:0";

/// The address process `pid` (kreflect started with `--metrics-addr` [`ANY_PORT`]) listens on,
/// `127.0.0.1:PORT`, once it does: its one listening TCP socket, found in `/proc`.
pub async fn listening_addr(pid: Option<u32>) -> String {
    let pid = pid.expect("kreflect is running");
    let port = poll_until(DEADLINE, async || listening_port(pid)).await;
    format!("127.0.0.1:{}", port.expect("kreflect listens for metrics"))
}

/// The local port of a listening TCP socket of process `pid`, if it has one.
fn listening_port(pid: u32) -> Option<u16> {
    let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    // Columns: sl, local_address (hex IP:port), rem_address, st (0A is LISTEN), ..., inode.
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let (local, state, inode) = (columns.get(1)?, columns.get(3)?, columns.get(9)?);
        if *state != "0A" || !sockets.iter().any(|socket| socket == inode) {
            return None;
        }
        u16::from_str_radix(local.split_once(':')?.1, 16).ok()
    })
}

/// A plain HTTP/1.1 GET; the whole response, or empty if nothing listens.
pub async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut response = String::new();
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_string(&mut response)).await;
    response
}

/// Runs a command to completion: (exit status, stdout, stderr).
pub async fn run_to_end(mut command: Command) -> (ExitStatus, String, String) {
    let output = tokio::time::timeout(DEADLINE, command.output())
        .await
        .expect("kreflect finishes")
        .expect("kreflect runs");
    (
        output.status,
        String::from_utf8(output.stdout).expect("utf-8 stdout"),
        String::from_utf8(output.stderr).expect("utf-8 stderr"),
    )
}

/// Runs `kreflect ARGS` against `cluster` to its end (ARGS name the resource, and hold
/// `--once`), asserts that it succeeded, and returns its stdout.
pub async fn once(cluster: &TestCluster, args: &[&str]) -> String {
    let (status, stdout, stderr) = run_to_end(cluster.kreflect_any(args)).await;
    assert!(
        status.success(),
        "{args:?}: exit {status:?}, stderr: {stderr}"
    );
    stdout
}

pub fn strings(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}
