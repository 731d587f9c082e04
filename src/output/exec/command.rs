//! Running the `--exec` command once: `/bin/sh -c CMD` in a process group of its own, with its
//! environment and stdin given, kreflect's stdout and stderr as its own; stopped, when it runs
//! past its timeout or kreflect stops, by SIGTERM to its group, then SIGKILL after
//! [`KILL_GRACE`].
//!
//! A group of its own, so that the signal reaches what the command started too (`sh -c 'a | b'`
//! runs `a` and `b` as children of `sh`, which does not pass SIGTERM on). It also keeps a
//! terminal's Ctrl-C, sent to the foreground group, from reaching the command directly: kreflect
//! gets it and stops the command as above.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The shell that runs the command.
pub(crate) const SHELL: &str = "/bin/sh";

/// How long a command told to stop (SIGTERM) has before it is killed (SIGKILL).
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(5);

/// How long a killed command may take to be reaped before it is left to the process's exit (a
/// process in uninterruptible sleep dies only when it wakes).
const REAP_DEADLINE: Duration = Duration::from_secs(1);

/// The environment variables kreflect sets for a command: removed from the environment it
/// inherits, then set as each run says, so none is left over from kreflect's own environment.
pub(crate) const VARIABLES: [&str; 7] = [
    "KREFLECT_TYPE",
    "KREFLECT_KEY",
    "KREFLECT_NAMESPACE",
    "KREFLECT_NAME",
    "KREFLECT_KIND",
    "KREFLECT_RESOURCE_VERSION",
    "KREFLECT_CONTEXT",
];

/// One run of the command: what it is told.
#[derive(Debug)]
pub(crate) struct Job {
    /// Variables of [`VARIABLES`] set for it, with their values.
    pub(crate) env: Vec<(&'static str, String)>,
    /// What it reads on stdin.
    pub(crate) stdin: Vec<u8>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It exited 0.
    Succeeded,
    /// It exited with this non-zero status.
    Exited(i32),
    /// A signal (not kreflect's) killed it: this one's number.
    Killed(i32),
    /// It ran past its timeout and was stopped.
    TimedOut(Duration),
    /// It could not be started: why, and whether no later run can start either (the shell
    /// missing or not executable).
    NotStarted {
        /// The error, as a message.
        error: String,
        /// Whether it is the shell's or the working directory's lack, not this run's.
        every_run: bool,
    },
    /// kreflect stopped, and stopped it.
    Stopped,
}

/// The `--exec` command, run one job at a time.
#[derive(Clone, Debug)]
pub(crate) struct Shell {
    command: String,
    timeout: Option<Duration>,
    grace: Duration,
}

impl Shell {
    /// `command`, given to `/bin/sh -c`, stopped after `timeout` if given.
    pub(crate) fn new(command: &str, timeout: Option<Duration>) -> Self {
        Shell {
            command: command.to_owned(),
            timeout,
            grace: KILL_GRACE,
        }
    }

    /// The time a command told to stop has before it is killed, [`KILL_GRACE`] unless set.
    #[cfg(test)]
    fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs the command for `job` until it exits, its timeout, or `stop` (then it is stopped
    /// as the module docs say, and the outcome is [`Outcome::Stopped`]).
    pub(crate) async fn run(&self, job: Job, stop: &CancellationToken) -> Outcome {
        let mut command = tokio::process::Command::new(SHELL);
        command
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(true);
        for name in VARIABLES {
            command.env_remove(name);
        }
        command.envs(job.env);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return not_started(&error),
        };
        let mut group = Group::of(&child);
        let feeding = feed(child.stdin.take(), job.stdin);
        tokio::pin!(feeding);
        let deadline = self.timeout.map(|timeout| Instant::now() + timeout);
        let mut fed = false;
        let ended = loop {
            tokio::select! {
                status = child.wait() => break Ended::Exited(status),
                () = &mut feeding, if !fed => fed = true,
                () = until(deadline) => break Ended::TimedOut,
                () = stop.cancelled() => break Ended::Stopped,
            }
        };
        match ended {
            Ended::Exited(status) => {
                group.reaped();
                match status {
                    Ok(status) => outcome_of(status),
                    Err(error) => Outcome::NotStarted {
                        error: format!("cannot wait for it: {error}"),
                        every_run: false,
                    },
                }
            }
            Ended::TimedOut => {
                self.terminate(&mut child, &mut group).await;
                Outcome::TimedOut(self.timeout.unwrap_or_default())
            }
            Ended::Stopped => {
                self.terminate(&mut child, &mut group).await;
                Outcome::Stopped
            }
        }
    }

    /// SIGTERM to the command's group (and SIGCONT, as coreutils' `timeout` sends: a member
    /// stopped for reading or writing the terminal from its background group takes the
    /// SIGTERM then), then SIGKILL to the group if anything of it is left after the grace: the
    /// shell, or what it started that ignores SIGTERM and outlived it.
    async fn terminate(&self, child: &mut Child, group: &mut Group) {
        group.signal(Signal::TERM);
        group.signal(Signal::CONT);
        let grace_ends = Instant::now() + self.grace;
        if let Ok(Ok(_)) = tokio::time::timeout_at(grace_ends, child.wait()).await {
            // The shell is gone; what it started may not be.
            group.leader_exited();
            while group.has_members() && Instant::now() < grace_ends {
                tokio::time::sleep(MEMBERS_POLL).await;
            }
            if !group.has_members() {
                group.reaped();
                return;
            }
        }
        tracing::warn!(
            grace_ms = self.grace.as_millis() as u64,
            "the --exec command (or what it started) did not stop on SIGTERM; killing it"
        );
        group.signal(Signal::KILL);
        if let Ok(Ok(_)) = tokio::time::timeout(REAP_DEADLINE, child.wait()).await {
            group.reaped();
        }
    }
}

/// Why the wait for a command ended.
enum Ended {
    Exited(io::Result<ExitStatus>),
    TimedOut,
    Stopped,
}

/// The command's process group, signalled until it is known empty: while it has members its
/// number cannot name another process or group, even after its leader (the shell) has been
/// reaped; once it is empty it may. Killed when dropped before that (a run given up half-way).
struct Group(Option<Pid>);

/// How often a group whose leader has exited is looked at, until it is empty or the grace ends.
const MEMBERS_POLL: Duration = Duration::from_millis(20);

impl Group {
    fn of(child: &Child) -> Self {
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(Pid::from_raw);
        Group(pid)
    }

    /// Whether any process is left in the group.
    fn has_members(&self) -> bool {
        self.0
            .is_some_and(|pid| rustix::process::test_kill_process_group(pid).is_ok())
    }

    /// The leader has been reaped, the group is signalled on while it has members: forgotten
    /// now if it has none (its number is free for others).
    fn leader_exited(&mut self) {
        if !self.has_members() {
            self.0 = None;
        }
    }

    fn signal(&self, signal: Signal) {
        if let Some(pid) = self.0 {
            // Gone already (ESRCH) is what was wanted.
            let _ = kill_process_group(pid, signal);
        }
    }

    /// The leader has been reaped: the group is no longer ours to signal.
    fn reaped(&mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::KILL);
    }
}

/// Writes `bytes` to the command's stdin, then closes it. A command that does not read it all
/// is no error: it exits, and the write fails or is dropped.
async fn feed(stdin: Option<ChildStdin>, bytes: Vec<u8>) {
    if let Some(mut stdin) = stdin {
        let _ = stdin.write_all(&bytes).await;
    }
}

/// Resolves at `deadline`; never without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The outcome of a command that exited with `status`.
fn outcome_of(status: ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Succeeded,
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(signal)) => Outcome::Killed(signal),
        (None, None) => Outcome::Exited(-1),
    }
}

/// The outcome of a command that could not be started with `error`.
fn not_started(error: &io::Error) -> Outcome {
    Outcome::NotStarted {
        error: format!("cannot run {SHELL}: {error}"),
        every_run: matches!(
            error.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(env: &[(&'static str, &str)], stdin: &str) -> Job {
        Job {
            env: env
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned()))
                .collect(),
            stdin: stdin.as_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn the_command_reads_its_job_from_stdin_and_the_environment_and_its_status_is_told() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let script = format!(
            "printf '%s %s ' \"$KREFLECT_TYPE\" \"${{KREFLECT_KEY-unset}}\" > {out}; \
             cat >> {out}; exit 3",
            out = out.display()
        );
        let shell = Shell::new(&script, None);
        let stop = CancellationToken::new();
        let ran = shell
            .run(job(&[("KREFLECT_TYPE", "LISTING")], "a/x\n\n"), &stop)
            .await;
        assert_eq!(ran, Outcome::Exited(3));
        let written = std::fs::read_to_string(&out).expect("written");
        assert_eq!(
            written, "LISTING unset a/x\n\n",
            "KREFLECT_KEY is not inherited"
        );
        let ok = Shell::new("exit 0", None).run(job(&[], ""), &stop).await;
        assert_eq!(ok, Outcome::Succeeded);
        let killed = Shell::new("kill -9 $$", None)
            .run(job(&[], ""), &stop)
            .await;
        assert_eq!(killed, Outcome::Killed(9));
    }

    #[tokio::test]
    async fn a_command_that_reads_no_stdin_is_no_failure_however_much_it_is_given() {
        let big = "x".repeat(1 << 20);
        let stop = CancellationToken::new();
        let ran = Shell::new("exit 0", None).run(job(&[], &big), &stop).await;
        assert_eq!(ran, Outcome::Succeeded);
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_stopped_with_its_children_and_killed_if_it_holds_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stop = CancellationToken::new();
        // `sleep` is a child of the shell: the group's SIGTERM ends it, and the trap runs.
        let got = dir.path().join("got-term");
        let script = format!(
            "trap 'echo TERM > {}; exit 0' TERM; sleep 30 & wait",
            got.display()
        );
        let shell = Shell::new(&script, Some(Duration::from_millis(200)));
        let started = std::time::Instant::now();
        let ran = shell.run(job(&[], ""), &stop).await;
        assert_eq!(ran, Outcome::TimedOut(Duration::from_millis(200)));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        let said = std::fs::read_to_string(&got).expect("the trap ran");
        assert_eq!(said, "TERM\n");
        // A command that ignores SIGTERM is killed after the grace.
        let stubborn = Shell::new("trap '' TERM; while :; do sleep 0.05; done", None)
            .with_grace(Duration::from_millis(200));
        let stopping = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stopping.cancel();
        });
        let ran = stubborn.run(job(&[], ""), &stop).await;
        assert_eq!(ran, Outcome::Stopped);
    }

    #[tokio::test]
    async fn what_a_stopped_command_started_and_that_ignores_sigterm_is_killed_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pid_file = dir.path().join("pid");
        // The shell exits on SIGTERM; its background child ignores it and lives on.
        let script = format!(
            "(trap '' TERM; exec sleep 1000) & echo $! > '{}'; sleep 1000",
            pid_file.display()
        );
        let shell = Shell::new(&script, Some(Duration::from_millis(300)))
            .with_grace(Duration::from_millis(300));
        let outcome = shell.run(job(&[], ""), &CancellationToken::new()).await;
        assert_eq!(outcome, Outcome::TimedOut(Duration::from_millis(300)));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("the child's pid")
            .trim()
            .parse()
            .expect("a pid");
        let dead = || {
            // Gone, or a zombie its new parent has not reaped yet.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().unwrap_or_default().trim_start();
            stat.is_empty() || state.starts_with('Z')
        };
        let gone = poll(dead).await;
        assert!(
            gone,
            "the child that ignored SIGTERM was killed with its group"
        );
    }

    /// Polls `done` every 20 ms for up to 5 s.
    async fn poll(done: impl Fn() -> bool) -> bool {
        for _ in 0..250 {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_missing_shell_cannot_start_any_run_and_a_bad_value_only_its_own() {
        let bad = Shell::new("exit 0", None)
            .run(
                job(&[("KREFLECT_KEY", "a\0b")], ""),
                &CancellationToken::new(),
            )
            .await;
        assert!(
            matches!(
                bad,
                Outcome::NotStarted {
                    every_run: false,
                    ..
                }
            ),
            "{bad:?}"
        );
        let missing = not_started(&io::Error::from(io::ErrorKind::NotFound));
        let Outcome::NotStarted { every_run, error } = &missing else {
            panic!("{missing:?}");
        };
        assert!(*every_run, "the shell's lack fails every run");
        assert!(error.starts_with("cannot run /bin/sh: "), "{error}");
    }
}
