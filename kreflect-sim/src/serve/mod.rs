//! **Serve**, the top layer: the HTTP server. Its lifecycle and the public handle (`server`),
//! one request from recording to answer (`handler`, `request`), list pages and continue tokens
//! (`list`), watch streams (`watch`), label and field selectors (`selector`), TLS (`tls`),
//! injected faults (`faults`), gzip (`gzip`), slow bodies (`trickle`) and counting the bytes sent
//! (`meter`).
//!
//! Layering rule (checked by the workspace's `tests/it/layers.rs`): `serve` may import every other layer; nothing
//! imports `serve` but the crate root, which re-exports its public items.

pub(crate) mod faults;
pub(crate) mod gzip;
pub(crate) mod handler;
pub(crate) mod list;
pub(crate) mod meter;
pub(crate) mod request;
pub(crate) mod selector;
pub(crate) mod server;
pub(crate) mod tls;
pub(crate) mod trickle;
pub(crate) mod watch;
