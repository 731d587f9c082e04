//! **World**, the middle layer: the fake cluster's state, with no HTTP in it. The objects of one
//! resource type, their resourceVersions, watch history, list snapshots and live fan-out
//! (`state`), the realistic pod generator (`pods`), and filling and churning a world (`churn`).
//!
//! Layering rule (checked by the workspace's `tests/it/layers.rs`): `world` imports `wire` (it keeps every object
//! in its wire form, serialized once under its lock, so serving never re-serializes) and the
//! leaf modules, never `serve`.

pub(crate) mod churn;
pub(crate) mod pods;
pub(crate) mod state;
