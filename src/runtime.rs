//! The async runtime the binary runs on: tokio's current-thread scheduler.
//!
//! Why one thread (measured in `benches/reflectors.rs` at 50,000 pods and 100,000
//! events, same run): kreflect's CPU went from 2.26 s to 1.46 s with protobuf and from 3.53 s
//! to 3.03 s with JSON, peak RSS unchanged. A reflector waits on the network; with two worker
//! threads, each chunk read woke a task on the other thread (futex, scheduler), and that cost
//! more than decoding. What could block has its own threads: stdout is written by the printer's
//! thread ([`crate::output::printer`]), the client's setup and credential plugins run on tokio's
//! blocking pool.
//!
//! The open-file limit is raised as Go raises it for every Go program (kubectl among them):
//! each kind and namespace watched holds a connection ([`raise_open_file_limit`]).

/// Builds the runtime `main` runs the watch on (benchmarks build the same).
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Raises this process's soft limit on open files to its hard limit, as Go's runtime does for
/// every Go program since Go 1.19 (a soft limit of 1024 is common; a run of `-n` with hundreds
/// of namespaces holds a connection for each). The limit stays where it is if the hard limit is
/// unlimited or raising fails.
pub fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && current < maximum
    {
        let raised = Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        if let Err(err) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %err, current, maximum, "cannot raise the open-file limit");
        }
    }
}

/// The soft limit on open files now in force; `None` if unlimited.
pub fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}
