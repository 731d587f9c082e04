//! kreflect: mirror a Kubernetes cluster's objects into a local cache and print the cache's
//! keys, with a reflector written by hand (what client-go's `cache.NewReflector` +
//! `cache.NewStore(MetaNamespaceKeyFunc)` do in Go).
//!
//! # Layout
//! Data flows one way: server bytes → [`source`] (HTTP, decode) → [`reflector`] (state) →
//! [`store`] → [`render`] (bytes) → [`printer`] (scheduling, writing) → stdout.
//!
//! - [`cli`]: the clap command line and its conversion into a validated [`Config`].
//! - [`client`]: the `kube::Client` from a kubeconfig or the in-cluster service account,
//!   over the HTTP stack of [`transport`] (proxies chosen by [`proxy`], gzip), with exec
//!   credential plugins run once by [`exec_credential`].
//! - [`source`]: the [`source::ListWatch`] seam and its implementation over kube's HTTP client;
//!   how long a list page or discovery answer may take ([`source::RequestDeadline`]).
//! - [`decode`]: the wire formats: list bodies, watch lines, `Status` errors, server-side
//!   Tables (`-o wide`).
//! - [`failure`]: what a failed request means (expired, forbidden, invalid, transient, ...).
//! - [`object`]: the cached form of an object ([`object::RawObject`]) and its key; typed
//!   values from either encoding ([`object::openapi`]).
//! - [`reflector`]: the list → watch state machine, relists, backoff ([`backoff`]).
//! - [`store`]: the HashMap-backed cache, one writer and cheap read handles.
//! - [`selection`]: the positional arguments as kubectl reads them (`pods,deploy web-1`,
//!   `pod/web-1`).
//! - [`resolve`]: resource names (`po`, `deploy`, `deployments.apps`) and categories (`all`)
//!   through discovery.
//! - [`names`]: object names on the command line, filtered before the store.
//! - [`kinds`]: several kinds in one run: their stores, listed together with prefixed keys.
//! - [`printer`]: when listings and events go to stdout, written off the async runtime.
//! - [`render`]: what they look like: every output format (keys, json, wide, diff and event
//!   lines), with keys escaped by the rule in [`quote`].
//! - [`metrics`]: `--metrics-addr`, Prometheus text, `/livez`, `/readyz` and `/healthz`.
//! - [`progress`]: the initial list's progress on a terminal.
//! - [`logging`]: logs on stderr, as sentences on a terminal, structured elsewhere.
//! - [`runtime`]: the async runtime the binary runs on (one thread, and why).
//! - [`completion`]: shell completion (`COMPLETE=bash kreflect`) of resources, object names,
//!   namespaces and contexts from the cluster and the kubeconfig, with discovery cached on disk.
//! - `sim` (feature `sim`, on by default): the simulated cluster `--sim` watches, served by
//!   the fake kube-apiserver of the `kreflect-sim` crate (which tests and benchmarks use too).
//!
//! [`run`] wires these together in three steps, written out in [`wiring`]: resolve the kinds,
//! spawn the tasks, join them. The binary (`src/main.rs`) only parses the command line, sets up
//! logging and maps the result to an exit code.
//!
//! Around this crate, in the same workspace: `kreflect-sim/`, the fake API server (a crate of
//! its own); `tests/`, the real binary and the library's reflector against it over HTTP (their
//! shared harness in `tests/common/`); `benches/reflectors.rs`, kreflect against kube-runtime's
//! reflector. `fuzz/` is a workspace of its own.
//!
//! # Errors
//! One convention for every error type of this crate: **an error's `Display` is its whole
//! message, and its `source()` is `None`.**
//! - An inner error the message needs is written into the text (`cannot write to stdout: {0}`)
//!   and kept as a plain field, never also exposed as a source: no `#[source]`, no field named
//!   `source`, no `#[from]` on a variant with its own text (thiserror makes each a source). So
//!   `{err}`, a `tracing` field `error = %err` and any chain walk print each cause once.
//! - A wrapper that adds no words is `#[error(transparent)]`: it *is* the inner error.
//! - A foreign error (kube, hyper, rustls, io, kubeconfig parsing) is classified where it
//!   enters, by type along its own chain ([`error_chain::causes`], `downcast_ref`), into a variant
//!   per case a caller must tell apart ([`source::SourceError::Untrusted`],
//!   [`client::ClientError::ClientCertificateV1`]); its text is flattened with
//!   [`error_chain::flatten`]. Past that point callers match variants: no error is classified
//!   by searching its text.
//!
//! Why flattened text rather than sources walked at the edge: our messages are curated for
//! people (a proxy password redacted, a socket error said as `connection refused`, a plugin's
//! stderr escaped), and errors are logged with `%err` in many places; a source chain would
//! bring back the raw text at the edge, or drop the cause from the logs.

pub mod backoff;
pub mod cli;
pub mod client;
pub mod completion;
pub mod decode;
pub mod error_chain;
pub mod exec_credential;
pub mod failure;
pub mod kinds;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod object;
pub mod printer;
pub mod progress;
pub mod protobuf;
pub mod proxy;
pub mod quote;
pub mod reflector;
pub mod render;
pub mod resolve;
pub mod runtime;
pub mod selection;
#[cfg(feature = "sim")]
pub mod sim;
pub mod source;
pub mod store;
#[cfg(test)]
mod test_support;
pub mod transport;
pub mod wiring;

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, ClientOptions, Connection, Identity, KubeconfigChoice};
use crate::decode::ApiStatus;
use crate::failure::{FailureClass, ForbiddenAdvice, Reach};
use crate::printer::PrinterEnd;
use crate::reflector::{ReflectorConfig, ReflectorError};
use crate::render::OutputFormat;
use crate::resolve::ResolveError;
use crate::source::{Endpoint, Selectors, SourceOptions};

/// Which cluster to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterChoice {
    /// A real cluster, from a kubeconfig or the in-cluster service account.
    Kubeconfig(KubeconfigChoice),
    /// The embedded simulated cluster (`--sim`).
    Sim,
}

/// What is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A listing every interval.
    #[default]
    Listings,
    /// `+key` / `-key` lines for what changed since the previous listing, every interval.
    Diff,
    /// One line per change, as it is applied.
    Events,
}

/// A validated run configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// What to mirror, as the user named it: resources (`pods`, `no`, `deployments.apps`) or
    /// categories (`all`), each with the object names asked for.
    pub selection: selection::Selection,
    /// Which cluster to watch.
    pub cluster: ClusterChoice,
    /// Transport settings from the command line (`--disable-compression`).
    pub client: ClientOptions,
    /// One namespace, or `None` for all.
    pub namespace: Option<String>,
    /// Label and field selectors passed to the server.
    pub selectors: Selectors,
    /// Time between listings.
    pub interval: Duration,
    /// One listing after the initial sync, then stop; the first failure is fatal.
    pub once: bool,
    /// The listing format.
    pub format: OutputFormat,
    /// Listings, diffs or events.
    pub mode: Mode,
    /// Where to serve `/metrics` and `/healthz`, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// What to ask the server for (`--metadata-only`).
    pub source: SourceOptions,
    /// How the reflector lists, watches and backs off.
    pub reflector: ReflectorConfig,
}

/// The signal that asked a run to stop: what [`run`]'s `shutdown` future yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, `timeout`, a supervisor stopping the process.
    Terminate,
}

impl Signal {
    /// The exit code a shell shows for a process this signal killed: 128 + its number, 130 for
    /// SIGINT and 143 for SIGTERM (what `kubectl get` interrupted the same way reports).
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 128 + 2,
            Signal::Terminate => 128 + 15,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Why a run ended in failure.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No client could be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The reflector stopped on an error retrying cannot fix.
    #[error(transparent)]
    Reflector(#[from] ReflectorError),
    /// The credentials may not list or watch what was asked (403).
    #[error("{refused}; {advice}")]
    Forbidden {
        /// The reflector's [`ReflectorError::Forbidden`].
        refused: ReflectorError,
        /// What to do about it.
        advice: ForbiddenAdvice,
    },
    /// The server did not accept the credentials (401), during discovery, list or watch.
    #[error(
        "the server rejected the credentials of {identity} ({code} {reason}: {message}); log in \
         again or refresh the token",
        code = .status.code,
        reason = .status.reason,
        message = .status.message
    )]
    Unauthenticated {
        /// Whose credentials.
        identity: Identity,
        /// The server's answer.
        status: ApiStatus,
    },
    /// Writing a listing failed (other than the reader going away).
    #[error("cannot write to stdout: {0}")]
    Output(io::Error),
    /// The simulated cluster could not start.
    #[error("cannot start the simulated cluster: {0}")]
    Sim(io::Error),
    /// `--sim` in a build without the simulator (`--no-default-features`).
    #[error(
        "this build of kreflect has no simulated cluster (built without the `sim` feature); \
         use a real cluster, or a build with default features"
    )]
    NoSim,
    /// The resource name could not be resolved.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr}: {error}")]
    Metrics {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        error: io::Error,
    },
    /// A task panicked: a bug.
    #[error("internal error: {0}")]
    Task(String),
    /// A signal stopped a `--once` run before its listing was printed: stdout is empty, which a
    /// script or supervisor must not take for an empty cluster.
    #[error("interrupted by {signal} before the --once listing was printed")]
    Interrupted {
        /// The signal received.
        signal: Signal,
    },
}

impl RunError {
    /// The process exit code for this error: 2 for a usage error (a resource the server does
    /// not serve, a request the server calls invalid), 128 + the signal's number for an
    /// interrupted `--once` (130, 143), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Interrupted { signal } => signal.exit_code(),
            RunError::Resolve(err) if err.is_usage_error() => 2,
            RunError::Resolve(ResolveError::Discovery { error, .. })
                if matches!(
                    FailureClass::of(error),
                    FailureClass::Invalid | FailureClass::NotFound
                ) =>
            {
                2
            }
            RunError::Reflector(err) if err.is_usage_error() => 2,
            _ => 1,
        }
    }

    /// A reflector error; a 403 with advice from where the run looked (`reach`) and whose
    /// credentials were refused.
    fn from_reflector(err: ReflectorError, reach: Reach, identity: &Identity) -> RunError {
        let ReflectorError::Forbidden { verb, scope, .. } = &err else {
            return RunError::Reflector(err);
        };
        let advice = ForbiddenAdvice {
            identity: identity.clone(),
            plural: scope.plural.clone(),
            reach,
            watch_refused: *verb == "watch",
        };
        RunError::Forbidden {
            refused: err,
            advice,
        }
    }

    /// A 401 from the reflector or discovery, told with whose credentials were refused.
    fn with_identity(self, identity: &Identity) -> RunError {
        let status = match self {
            RunError::Reflector(ReflectorError::Unauthenticated { status, .. }) => status,
            RunError::Resolve(ResolveError::Discovery {
                error: source::SourceError::Status { status, .. },
                ..
            }) if FailureClass::of_status(&status) == FailureClass::Unauthenticated => status,
            other => return other,
        };
        RunError::Unauthenticated {
            identity: identity.clone(),
            status,
        }
    }
}

/// Watches the configured cluster's objects and prints listings of their keys to `output` until
/// `shutdown` completes with the signal that asked (then a final listing, best effort: given
/// up after [`printer::FINAL_OUTPUT_DEADLINE`] if nothing reads `output`), the output is
/// closed, `--once` is done, or a fatal error. A `--once` run stopped by `shutdown` before its
/// listing was printed fails with [`RunError::Interrupted`]; any other run it stops ends well.
/// `output` is written on a thread of its own. Every task has ended when this returns; only
/// that thread may still be blocked in a write nobody reads, and a blocking thread in a
/// credential plugin that hangs (`shutdown` is heeded while it runs).
pub async fn run<W>(
    config: Config,
    output: W,
    shutdown: impl Future<Output = Signal>,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    tokio::pin!(shutdown);
    let choice = match &config.cluster {
        ClusterChoice::Kubeconfig(choice) => choice,
        ClusterChoice::Sim => return run_sim(config, output, shutdown).await,
    };
    let connection = tokio::select! {
        connected = client::connect(choice, &config.client) => connected?,
        // A credential plugin may hang; a signal still ends the run.
        signal = &mut shutdown => {
            let unprinted = PrinterEnd::StoppedUnsynced;
            return interruption(signal, config.once, unprinted).map_or(Ok(()), Err);
        }
    };
    let identity = connection.identity.clone();
    watch_and_print(config, connection, output, shutdown)
        .await
        .map_err(|err| err.with_identity(&identity))
}

/// [`run`] against the embedded simulated cluster, stopped when the run ends.
#[cfg(feature = "sim")]
async fn run_sim<W>(
    config: Config,
    output: W,
    shutdown: impl Future<Output = Signal>,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    let sim = sim::Sim::start().await.map_err(RunError::Sim)?;
    let connection = sim.connect(&config.client)?;
    let result = watch_and_print(config, connection, output, shutdown).await;
    sim.shutdown().await;
    result
}

/// `--sim` in a build without the simulator.
#[cfg(not(feature = "sim"))]
async fn run_sim<W>(
    _config: Config,
    _output: W,
    _shutdown: impl Future<Output = Signal>,
) -> Result<(), RunError> {
    Err(RunError::NoSim)
}

/// The run on a connection, in three steps: resolve what to watch, spawn the reflector,
/// printer and metrics tasks, join them.
async fn watch_and_print<W>(
    config: Config,
    connection: Connection,
    output: W,
    shutdown: impl Future<Output = Signal>,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    tokio::pin!(shutdown);
    let endpoint = Endpoint::of(&connection);
    let resolving = wiring::resolve_targets(&config, &connection.client, &endpoint);
    let targets = tokio::select! {
        signal = &mut shutdown => {
            let unprinted = PrinterEnd::StoppedUnsynced;
            return interruption(signal, config.once, unprinted).map_or(Ok(()), Err);
        }
        targets = resolving => targets?,
    };
    let namespace = config.namespace.clone();
    let once = config.once;
    let stop = CancellationToken::new();
    let tasks =
        wiring::Tasks::spawn(config, connection.client, endpoint, &targets, output, &stop).await?;
    let ended = tasks.join(shutdown, stop).await?;
    ended.reflector.map_err(|err| {
        // Where the run looked, for the kind that failed.
        let namespaced = match &err {
            ReflectorError::Forbidden { scope, .. } => targets
                .iter()
                .find(|target| target.resource.plural == scope.plural)
                .is_none_or(|target| target.namespaced),
            _ => true,
        };
        let reach = Reach::of(
            namespaced,
            namespace.as_deref(),
            connection.context_namespace.as_deref(),
        );
        RunError::from_reflector(err, reach, &connection.identity)
    })?;
    let printed = ended.printer?;
    let failed = ended
        .signal
        .and_then(|signal| interruption(signal, once, printed));
    failed.map_or(Ok(()), Err)
}

/// The failure of a run that `signal` stopped, given how its printer ended: a `--once` run
/// whose listing was not printed failed ([`RunError::Interrupted`]: the listing was its one
/// job); any other run (a watching run, a `--once` run that had printed its listing) stopped
/// cleanly: `None`.
fn interruption(signal: Signal, once: bool, printed: PrinterEnd) -> Option<RunError> {
    if once && printed == PrinterEnd::StoppedUnsynced {
        tracing::debug!(%signal, "stopped before the --once listing was printed");
        return Some(RunError::Interrupted { signal });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_once_run_stopped_before_its_listing_fails_with_the_shells_code_for_the_signal() {
        for (signal, code) in [(Signal::Interrupt, 130), (Signal::Terminate, 143)] {
            let err =
                interruption(signal, true, PrinterEnd::StoppedUnsynced).expect("nothing printed");
            assert_eq!(err.exit_code(), code);
            assert_eq!(
                err.to_string(),
                format!("interrupted by {signal} before the --once listing was printed")
            );
            assert!(interruption(signal, true, PrinterEnd::Finished).is_none());
            assert!(interruption(signal, true, PrinterEnd::OutputClosed).is_none());
            assert!(interruption(signal, false, PrinterEnd::StoppedUnsynced).is_none());
        }
    }
}
