//! The integration tests, in one binary (as ripgrep's `tests/tests.rs`): the real `kreflect`
//! binary, or the library's reflector, against the fake API server of `kreflect-sim` over HTTP.
//! One module per area; [`harness`] holds what they share, written once.
//!
//! One area, or the tests whose names contain a word: `cargo test --test it pods::`,
//! `cargo test --test it socks5`.
//!
//! Every test shares this process with the others, so none may change what is process-wide
//! (environment variables, the working directory, signal dispositions, a global allocator): a
//! setting meant for kreflect goes on its `Command`. Two exceptions, both opt-in: `chaos`
//! installs a global `tracing` subscriber when `KREFLECT_LOG` is set, and `soak` (ignored by
//! default) reads this process's memory, so run it alone, as its module doc says.

mod harness;

mod absent;
mod adversarial;
mod allocator;
mod chaos;
mod client_cert;
mod completion;
mod compression;
mod contexts;
mod exec;
mod exec_plugin;
mod faults;
mod flags;
mod half_open;
mod kinds;
mod kubeconfig;
mod kubectl_flags;
mod layers;
mod messages;
mod metrics;
mod names;
mod namespaces;
mod no_progress;
mod plugin;
mod pods;
mod progress;
mod proxy;
mod resources;
mod security;
mod select_names;
mod server_answers;
mod sim;
mod soak;
mod state;
mod stuck_reader;
mod templates;
mod wait;
mod watch_cache;
mod wide;
mod wire;
