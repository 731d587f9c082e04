//! **Wire**, the lowest layer: what the fake server's bytes look like, with no state and no
//! server behind them. The resource types it serves (`resources`), objects and watch events as
//! JSON (`encode`), which encoding an `Accept` gets (`negotiate`), the protobuf forms
//! (`protobuf`), `Status` failure bodies and the responses that carry them (`status`),
//! server-side Tables (`table`),
//! and the discovery documents (`discovery`).
//!
//! Layering rule (checked by the workspace's `tests/it/layers.rs`): `wire` imports only the leaf modules (`body`,
//! `options`), never `world` or `serve`.

pub(crate) mod discovery;
pub(crate) mod encode;
pub(crate) mod negotiate;
pub(crate) mod protobuf;
pub(crate) mod resources;
pub(crate) mod status;
pub(crate) mod table;
