//! The command line: what the user typed, turned into a validated `config::Config`.
//!
//! - `args`: the clap definition and its conversion.
//! - `config`: the run's configuration, what the crate root's `run` takes.
//! - `selection`: the positional arguments as kubectl reads them (`pods,deploy web-1`).
//! - `kubectl_flags`: kubectl's global flags (`--server`, `--token`, `--as`, ...).
//! - `listen`: `--metrics-addr` in Go's listen forms (`:9090`, `localhost:9090`).
//! - `completion`: shell completion (`COMPLETE=bash kreflect`) of resources, object names,
//!   namespaces and contexts, with discovery cached on disk.
//!
//! May import every layer below.

pub(crate) mod args;
pub(crate) mod completion;
pub(crate) mod config;
pub(crate) mod kubectl_flags;
pub(crate) mod listen;
pub(crate) mod selection;
