//! The standard `process_*` families, with the names, HELP and TYPE lines the Prometheus client
//! libraries (client_golang's process collector) write. Linux only, read from `/proc/self`; on
//! other systems the families are left out, as the client libraries do.

/// Appends the `process_*` families to `text` (nothing off Linux, or if `/proc` is unreadable).
pub fn render(text: &mut String) {
    #[cfg(target_os = "linux")]
    if let Some(sample) = linux::sample() {
        sample.write(text);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = text;
}

/// One reading of the process's figures.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug, PartialEq)]
struct Sample {
    cpu_seconds: f64,
    resident_bytes: u64,
    start_time_seconds: f64,
    open_fds: usize,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl Sample {
    fn write(&self, text: &mut String) {
        use std::fmt::Write as _;
        let mut family = |name: &str, kind: &str, help: &str, value: String| {
            let _ = write!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        family(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            format!("{}", self.cpu_seconds),
        );
        family(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            self.open_fds.to_string(),
        );
        family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            self.resident_bytes.to_string(),
        );
        family(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            format!("{}", self.start_time_seconds),
        );
    }
}

#[cfg(any(target_os = "linux", test))]
mod linux {
    use super::Sample;

    /// `/proc` reports times in USER_HZ ticks, which the kernel ABI fixes at 100 (procfs, the
    /// Go library behind client_golang's collector, assumes the same).
    const TICKS_PER_SECOND: f64 = 100.0;

    /// Reads `/proc/self/{stat,status,fd}` and `/proc/stat`.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(super) fn sample() -> Option<Sample> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let system = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
        parse(&stat, &status, &system, open_fds)
    }

    /// The sample from the texts of `/proc/self/stat`, `/proc/self/status` (VmRSS in kB: no page
    /// size needed, unlike `statm`) and `/proc/stat` (`btime`, the boot time).
    pub(super) fn parse(stat: &str, status: &str, system: &str, open_fds: usize) -> Option<Sample> {
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .collect();
        // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        let ticks = field(14)? + field(15)?;
        let started_ticks = field(22)?;
        let boot = system
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse::<u64>()
            .ok()?;
        let rss_kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(Sample {
            cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
            resident_bytes: rss_kb * 1024,
            start_time_seconds: boot as f64 + started_ticks as f64 / TICKS_PER_SECOND,
            open_fds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_texts_with_a_command_name_holding_spaces_and_parentheses() {
        let stat = "4242 (kre (f) lect) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 50 0 0 20 0 3 0 12300 1000000 500 18446744073709551615";
        let status = "Name:\tkreflect\nVmRSS:\t    2048 kB\nThreads:\t3\n";
        let system = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let sample = linux::parse(stat, status, system, 7).expect("parsed");
        assert_eq!(
            sample,
            Sample {
                cpu_seconds: 3.0,
                resident_bytes: 2048 * 1024,
                start_time_seconds: 1_700_000_123.0,
                open_fds: 7,
            }
        );
        let mut text = String::new();
        sample.write(&mut text);
        for line in [
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
            "# TYPE process_cpu_seconds_total counter",
            "process_cpu_seconds_total 3",
            "# TYPE process_resident_memory_bytes gauge",
            "process_resident_memory_bytes 2097152",
            "process_start_time_seconds 1700000123",
            "# TYPE process_open_fds gauge",
            "process_open_fds 7",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn a_truncated_stat_gives_no_sample() {
        assert_eq!(
            linux::parse("1 (x) S 1 2", "VmRSS: 1 kB", "btime 1", 0),
            None
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let sample = linux::sample().expect("/proc/self readable");
        assert!(sample.resident_bytes > 0, "{sample:?}");
        assert!(sample.open_fds > 0, "{sample:?}");
        assert!(sample.start_time_seconds > 1_600_000_000.0, "{sample:?}");
    }
}
