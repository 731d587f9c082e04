//! The `--exec` command's families: runs, failures by reason, changes coalesced, and the keys
//! waiting. Counted by the output layer, which runs the command; served here with the rest.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a run of the `--exec` command failed: the `reason` label of
/// `kreflect_exec_failures_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailedBy {
    /// It exited with a non-zero status.
    Exit,
    /// A signal (not kreflect's) killed it.
    Signal,
    /// It ran past `--exec-timeout` and was stopped.
    Timeout,
    /// It could not be started.
    Start,
}

impl FailedBy {
    const ALL: [FailedBy; 4] = [
        FailedBy::Exit,
        FailedBy::Signal,
        FailedBy::Timeout,
        FailedBy::Start,
    ];

    fn label(self) -> &'static str {
        match self {
            FailedBy::Exit => "exit",
            FailedBy::Signal => "signal",
            FailedBy::Timeout => "timeout",
            FailedBy::Start => "start",
        }
    }
}

/// Counters of the `--exec` command; relaxed atomics, shared with the metrics server.
#[derive(Debug, Default)]
pub struct CommandMetrics {
    runs: AtomicU64,
    failed_by_exit: AtomicU64,
    failed_by_signal: AtomicU64,
    failed_by_timeout: AtomicU64,
    failed_by_start: AtomicU64,
    coalesced: AtomicU64,
    queued: AtomicU64,
}

impl CommandMetrics {
    /// Counts a run started (or tried: one that cannot start counts too).
    pub fn ran(&self) {
        self.runs.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a run that failed.
    pub fn failed(&self, by: FailedBy) {
        self.failures(by).fetch_add(1, Ordering::Relaxed);
    }

    /// The failures counted for `by`.
    fn failures(&self, by: FailedBy) -> &AtomicU64 {
        match by {
            FailedBy::Exit => &self.failed_by_exit,
            FailedBy::Signal => &self.failed_by_signal,
            FailedBy::Timeout => &self.failed_by_timeout,
            FailedBy::Start => &self.failed_by_start,
        }
    }

    /// Counts `changes` that will not run on their own: folded into a newer state of their key,
    /// or dropped with it.
    pub fn coalesced(&self, changes: u64) {
        self.coalesced.fetch_add(changes, Ordering::Relaxed);
    }

    /// Sets how many keys wait for the command.
    pub fn set_queued(&self, keys: usize) {
        let keys = u64::try_from(keys).unwrap_or(u64::MAX);
        self.queued.store(keys, Ordering::Relaxed);
    }

    /// Appends the families' Prometheus text to `text`.
    pub fn render(&self, text: &mut String) {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = write!(
            text,
            "# HELP kreflect_exec_runs_total Runs of the --exec command.\n\
             # TYPE kreflect_exec_runs_total counter\n\
             kreflect_exec_runs_total {}\n\
             # HELP kreflect_exec_failures_total Runs of the --exec command that failed, by \
             reason: a non-zero exit, a signal, --exec-timeout, or not started.\n\
             # TYPE kreflect_exec_failures_total counter\n",
            get(&self.runs)
        );
        for by in FailedBy::ALL {
            let _ = writeln!(
                text,
                "kreflect_exec_failures_total{{reason=\"{}\"}} {}",
                by.label(),
                get(self.failures(by))
            );
        }
        let _ = write!(
            text,
            "# HELP kreflect_exec_coalesced_total Changes the --exec command was not run for on \
             their own: folded into a newer state of their key, or dropped with it (an object \
             added and deleted before the command heard of it).\n\
             # TYPE kreflect_exec_coalesced_total counter\n\
             kreflect_exec_coalesced_total {}\n\
             # HELP kreflect_exec_queued_keys Keys whose change waits for the --exec command.\n\
             # TYPE kreflect_exec_queued_keys gauge\n\
             kreflect_exec_queued_keys {}\n",
            get(&self.coalesced),
            get(&self.queued)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_runs_failures_by_reason_coalesced_and_the_keys_waiting() {
        let metrics = CommandMetrics::default();
        for _ in 0..3 {
            metrics.ran();
        }
        metrics.failed(FailedBy::Exit);
        metrics.failed(FailedBy::Timeout);
        metrics.failed(FailedBy::Timeout);
        metrics.coalesced(5);
        metrics.set_queued(2);
        let mut text = String::new();
        metrics.render(&mut text);
        for line in [
            "kreflect_exec_runs_total 3",
            "kreflect_exec_failures_total{reason=\"exit\"} 1",
            "kreflect_exec_failures_total{reason=\"signal\"} 0",
            "kreflect_exec_failures_total{reason=\"timeout\"} 2",
            "kreflect_exec_failures_total{reason=\"start\"} 0",
            "kreflect_exec_coalesced_total 5",
            "kreflect_exec_queued_keys 2",
            "# TYPE kreflect_exec_queued_keys gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).expect("name");
            assert_eq!(
                line.ends_with(" counter"),
                name.ends_with("_total"),
                "{line}"
            );
        }
    }
}
