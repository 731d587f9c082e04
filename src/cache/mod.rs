//! The local cache and what keeps it true: the reflector, the store, and the seam they pull
//! objects through.
//!
//! - [`list_watch`]: the [`list_watch::ListWatch`] seam the reflector drives (client-go's
//!   `ListerWatcher`) and its errors; the HTTP implementation lives above, in `api`.
//! - [`reflector`]: the list → watch state machine, relists, restore checks, resyncs, with
//!   [`backoff`] and the meaning of a failed request (`failure`).
//! - [`store`]: the HashMap-backed cache, one writer and cheap read handles.
//! - `names`: object names from the command line, filtered before the store.
//! - [`state`]: `--state FILE`, what a run knew kept for the next one, written atomically.
//! - `metrics`: the counters the reflector keeps, and `--metrics-addr`'s server for them.
//!
//! May import: `wire`, `connect` (for who the client is, in messages) and the leaves.

pub mod backoff;
pub(crate) mod failure;
pub mod list_watch;
pub(crate) mod metrics;
pub(crate) mod names;
pub mod reflector;
pub mod state;
pub mod store;
