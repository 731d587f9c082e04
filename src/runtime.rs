//! The async runtime the binary runs on: tokio's current-thread scheduler.
//!
//! Why one thread (measured in `benches/reflectors.rs` at 50,000 pods and 100,000
//! events, same run): kreflect's CPU went from 2.26 s to 1.46 s with protobuf and from 3.53 s
//! to 3.03 s with JSON, peak RSS unchanged. A reflector waits on the network; with two worker
//! threads, each chunk read woke a task on the other thread (futex, scheduler), and that cost
//! more than decoding. What could block has its own threads: stdout is written by the printer's
//! thread ([`crate::output::printer`]), the client's setup and credential plugins run on tokio's
//! blocking pool.

/// Builds the runtime `main` runs the watch on (benchmarks build the same).
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
