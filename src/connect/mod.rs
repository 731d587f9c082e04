//! Reaching the API server: the HTTP stack and the credentials, nothing about what is asked.
//!
//! - [`client`]: the `kube::Client` from a kubeconfig or the in-cluster service account.
//! - [`compression`]: when requests ask for gzip (only where it pays, by default).
//! - [`endpoint`]: the server requests go to, as messages name it.
//! - `transport`: the HTTP stack under it (timeouts, gzip, the gzip-bomb cap), with proxies
//!   chosen by `proxy`.
//! - `exec_credential`: exec credential plugins, run once and cached.
//! - `sim` (feature `sim`): a connection to the embedded simulated cluster.
//!
//! May import: the leaves (`error_chain`, `quote`). Nothing else of this crate.

pub mod client;
pub mod compression;
pub mod endpoint;
pub(crate) mod exec_credential;
pub mod overrides;
pub(crate) mod proxy;
#[cfg(feature = "sim")]
pub(crate) mod sim;
pub(crate) mod transport;
