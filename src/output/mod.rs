//! What reaches stdout and stderr, and when.
//!
//! - `kinds`: several kinds in one run: their stores as the listings see them, keys prefixed.
//! - `render`: every output format (keys, json, wide, diff and event lines), bytes only.
//! - `template`: kubectl's field templates (`-o jsonpath=`, `custom-columns=`, `name`), byte
//!   for byte as kubectl v1.32 prints them.
//! - [`printer`]: when listings and events are written, off the async runtime; with `--state`,
//!   what was written is what is saved (`printer::remember`).
//! - `wait`: `--for`, kubectl wait's conditions over the mirror.
//! - `exec`: `--exec`, a command run for each change or changed listing, its queue and its
//!   process.
//! - `progress`: the initial list's progress on a terminal.
//! - `logging`: logs on stderr, as sentences on a terminal, structured elsewhere.
//!
//! May import: `cache`, `wire` and the leaves. Not `api` or `connect`: output never asks the
//! server anything.

pub(crate) mod exec;
pub(crate) mod kinds;
pub(crate) mod logging;
pub mod printer;
pub(crate) mod progress;
pub(crate) mod render;
pub(crate) mod template;
pub(crate) mod wait;
