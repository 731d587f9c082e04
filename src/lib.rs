//! kreflect: mirror a Kubernetes cluster's objects into a local cache and print the cache's
//! keys, with a reflector written by hand (what client-go's `cache.NewReflector` +
//! `cache.NewStore(MetaNamespaceKeyFunc)` do in Go).
//!
//! # Layout
//! Data flows one way: server bytes → [`api`] (HTTP requests, framing) → [`cache`] (the
//! reflector's state machine, the store) → [`output`] (rendering, printing) → stdout. The
//! source folders are layers, and a module imports only its own layer and lower ones
//! (`tests/it/layers.rs` fails otherwise, and on two modules that import each other). Bottom up:
//!
//! - Leaves, importing nothing of this crate: `error_chain` (foreign errors, flattened),
//!   `quote` (keys and messages escaped for one line), [`runtime`] (the binary's async
//!   runtime: one thread, and why).
//! - [`connect`]: reaching the server, nothing about what is asked: the `kube::Client` from a
//!   kubeconfig or the in-cluster service account ([`connect::client`]), kubectl's global
//!   flags over it ([`connect::overrides`]: `--server`, `--token`, `--as`...), its HTTP stack
//!   (`connect::transport`, proxies, gzip), exec credential plugins, the simulated cluster.
//! - [`wire`], beside it: what the server's bytes mean, without I/O: the cached object
//!   ([`wire::object::RawObject`]) and its key, list bodies, watch lines, `Status` errors,
//!   server-side Tables and protobuf ([`wire::decode`], [`wire::protobuf`]).
//! - [`cache`]: the [`cache::list_watch::ListWatch`] seam, the reflector that drives it
//!   ([`cache::reflector`]: list → watch, relists, restore checks, backoff, what a failure
//!   means; a watch resumed from an earlier run's state), the store ([`cache::store`]), names
//!   filtered before it, the metrics, and `--state`'s file ([`cache::state`]: atomic writes, a
//!   lock, what it was written for).
//! - [`api`]: the seam over HTTP ([`api::kube_source::KubeSource`]), watch framing, request
//!   errors, deadlines, and discovery (`api::resolve`); and [`output`], beside it: several
//!   kinds and namespaces as the listings see them (one store each, one listing), every output format (`output::render`), when it is
//!   written ([`output::printer`]; with `--state`, what was written is what is saved), the
//!   `--exec` command run in its place (`output::exec`), the
//!   progress line and the logs.
//! - `cli`: the clap command line, its validated `cli::config::Config`, the positional
//!   arguments as kubectl reads them, and shell completion from the cluster.
//!
//! Above the layers, the crate root: `run` wires them together in three steps, written out in
//! `wiring`: resolve the kinds, spawn the tasks (a reflector per context, kind and namespace),
//! join them (with several contexts, `--context a,b`, a context's failure is its own: logged,
//! left out of the listings, the others going on); [`main`] (`entry.rs`) parses the
//! command line, sets up logging, runs, and maps the result to an exit code. The binary
//! (`src/main.rs`) is a call to [`main`] and its allocator.
//!
//! Around this crate, in the same workspace: `kreflect-sim/`, the fake API server (a crate of
//! its own); `tests/`, the real binary and the library's reflector against it over HTTP (their
//! shared harness in `tests/it/harness/`); `benches/reflectors.rs`, kreflect against kube-runtime's
//! reflector. `fuzz/` is a workspace of its own.
//!
//! # As a library
//! The binary is one user of the library; the reflector, the store, the list/watch seam and the
//! cached object are for others too. Mirror the pods of a cluster and print their keys once
//! synced, as `kreflect pods --once` does:
//!
//! ```no_run
//! use kreflect::api::kube_source::KubeSource;
//! use kreflect::cache::reflector::{Reflector, ReflectorConfig, ReflectorError};
//! use kreflect::cache::store::new_store;
//! use tokio_util::sync::CancellationToken;
//!
//! async fn print_pods(client: kube::Client) -> Result<(), ReflectorError> {
//!     let (writer, store) = new_store();
//!     let source = KubeSource::pods(client, None);
//!     let stop = CancellationToken::new();
//!     let reflector = Reflector::new(source, writer, ReflectorConfig::default());
//!     let running = tokio::spawn(reflector.run(stop.clone()));
//!     store.wait_synced().await;
//!     for key in store.sorted_keys() {
//!         println!("{key}");
//!     }
//!     stop.cancel();
//!     running.await.expect("the reflector task")
//! }
//! ```
//!
//! Any [`cache::list_watch::ListWatch`] can feed a reflector in place of the HTTP
//! [`api::kube_source::KubeSource`] (the reflector's tests drive it with scripted answers).
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
//!   enters, by type along its own chain (`error_chain::causes`, `downcast_ref`), into a variant
//!   per case a caller must tell apart ([`cache::list_watch::SourceError::Untrusted`],
//!   [`connect::client::ClientError::ClientCertificateV1`]); its text is flattened with
//!   `error_chain::flatten`. Past that point callers match variants: no error is classified
//!   by searching its text.
//!
//! Why flattened text rather than sources walked at the edge: our messages are curated for
//! people (a proxy password redacted, a socket error said as `connection refused`, a plugin's
//! stderr escaped), and errors are logged with `%err` in many places; a source chain would
//! bring back the raw text at the edge, or drop the cause from the logs.

// Every type a public item names is one a user of the library can name too (a public type in a
// crate-private module would be reachable but unnameable).
#![warn(unnameable_types)]

pub mod api;
pub mod cache;
pub(crate) mod cli;
pub mod connect;
mod entry;
pub(crate) mod error_chain;
pub mod output;
pub(crate) mod quote;
pub mod runtime;
pub mod wire;
pub(crate) mod wiring;

pub use entry::main;

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use futures::StreamExt;

use tokio_util::sync::CancellationToken;

use crate::api::resolve::ResolveError;
use crate::cache::failure::{FailureClass, ForbiddenAdvice, Reach};
use crate::cache::list_watch::SourceError;
use crate::cache::reflector::ReflectorError;
use crate::cache::state::StateError;
use crate::cli::config::{ClusterChoice, Config};
use crate::connect::client::{self, ClientError, Connection, Identity};
#[cfg(feature = "sim")]
use crate::connect::sim;
use crate::output::exec::ExecFailure;
use crate::output::printer::PrinterEnd;
use crate::output::template::TemplateError;
use crate::output::wait::WaitFailure;
use crate::wire::decode::ApiStatus;

/// What asked a run to stop from outside: what [`run`]'s `shutdown` future yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, `timeout`, a supervisor stopping the process.
    Terminate,
    /// SIGHUP: the terminal or ssh session went away. A run stops as for SIGTERM (an `--exec`
    /// command, in a process group of its own, gets no hang-up from the terminal: kreflect
    /// stops it).
    Hangup,
    /// No signal: stdout's reader has gone (`| grep -m1 x` matched), noticed without a write.
    /// The run ends as a write to a closed stdout ends it: quietly, exit 0.
    ReaderGone,
}

impl Signal {
    /// The exit code a shell shows for a process this signal killed: 128 + its number, 130 for
    /// SIGINT and 143 for SIGTERM (what `kubectl get` interrupted the same way reports); 0 when
    /// the reader went away.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 128 + 2,
            Signal::Terminate => 128 + 15,
            Signal::Hangup => 128 + 1,
            Signal::ReaderGone => 0,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
            Signal::ReaderGone => "stdout's reader going away",
        })
    }
}

/// Why a run ended in failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
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
    /// The server refused to let the credentials act as someone else (`--as`, `--as-group`,
    /// `--as-uid`, or the kubeconfig user's `as`): a 403 on the impersonation itself, before
    /// the request was looked at.
    #[error(
        "the server refused to let {identity} impersonate {}: {message}; impersonating takes \
         the impersonate verb on {plural} (a ClusterRole rule with verbs [impersonate] and \
         resources [{plural}]), or run without it",
        impersonated(.status),
        message = .status.message,
        plural = .status.details.kind
    )]
    ImpersonationRefused {
        /// Whose credentials.
        identity: Identity,
        /// The server's answer.
        status: ApiStatus,
    },
    /// Writing a listing failed (other than the reader going away).
    #[error("cannot write to stdout: {0}")]
    Output(io::Error),
    /// The simulated cluster could not start.
    #[cfg(feature = "sim")]
    #[error("cannot start the simulated cluster: {0}")]
    Sim(io::Error),
    /// `--sim` in a build without the simulator (`--no-default-features`).
    #[cfg(not(feature = "sim"))]
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
    /// The run would hold more connections than the process may open files.
    #[error(
        "watching {collections} collections (kinds, namespaces, contexts) takes a connection \
         each, and this process may open only {limit} files (ulimit -n): raise the limit, or \
         name fewer namespaces or contexts (without -n, every namespace is watched over one \
         connection)"
    )]
    TooManyConnections {
        /// The kinds and namespaces asked for (one collection each).
        collections: usize,
        /// The soft open-file limit.
        limit: u64,
    },
    /// The `--state` file cannot be used: held by another run, not a state file, or its
    /// directory missing.
    #[error(transparent)]
    State(#[from] StateError),
    /// `--once --state` printed its listing and could not save the state (`FILE: error`).
    #[error(
        "cannot save the state to {0}; the listing above was printed, and the next run will \
         print the same changes again: free some space, or check the file's directory"
    )]
    StateNotSaved(String),
    /// With several contexts, none could be connected to: the first failure, and its context.
    #[error("context {context}: {error}")]
    Connect {
        /// The context.
        context: String,
        /// Why it could not be connected to.
        error: Arc<ClientError>,
    },
    /// With several contexts, the resources could be resolved in none: the last failure, and
    /// its context.
    #[error("context {context}: {error}")]
    InContext {
        /// The context.
        context: String,
        /// What failed there.
        error: Box<RunError>,
    },
    /// `--all-contexts` with a kubeconfig that has none.
    #[error("the kubeconfig has no contexts; --all-contexts has nothing to watch")]
    NoContexts,
    /// Several contexts, and a `--once` run could not list some of them (each logged above):
    /// the listing printed has the others.
    #[error(
        "could not list context{} {}; the listing above has the other contexts",
        if .0.len() == 1 { "" } else { "s" },
        .0.join(", ")
    )]
    ContextsFailed(Vec<String>),
    /// A task panicked: a bug.
    #[error("internal error: {0}")]
    Task(String),
    /// A template failed on the objects (a key missing with
    /// `--allow-missing-template-keys=false`): kubectl's message.
    #[error(transparent)]
    Template(TemplateError),
    /// The `--once` listing lacked objects it named, as `kubectl get` fails for NotFound (the
    /// listing of those there was printed).
    #[error("{} not found", .0.join(", "))]
    NotFound(Vec<String>),
    /// `--for`: the condition was not met in time, or nothing was selected (kubectl wait's
    /// words).
    #[error(transparent)]
    Wait(WaitFailure),
    /// `--exec`: the command failed on the `--once` listing, or cannot be started at all.
    #[error(transparent)]
    Exec(ExecFailure),
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
            RunError::InContext { error, .. } => error.exit_code(),
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

    /// A 401 from the reflector or discovery, told with whose credentials were refused; a 403
    /// refusing an impersonation, told as one.
    fn with_identity(self, identity: &Identity) -> RunError {
        let refused = match &self {
            RunError::Forbidden {
                refused: ReflectorError::Forbidden { status, .. },
                ..
            }
            | RunError::Resolve(ResolveError::Discovery {
                error: SourceError::Status { status, .. },
                ..
            }) => Some(status),
            _ => None,
        };
        if let Some(status) = refused.filter(|status| refuses_impersonation(status)) {
            return RunError::ImpersonationRefused {
                identity: identity.credentials().clone(),
                status: status.clone(),
            };
        }
        let status = match self {
            RunError::Reflector(ReflectorError::Unauthenticated { status, .. }) => status,
            RunError::Resolve(ResolveError::Discovery {
                error: SourceError::Status { status, .. },
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
/// up after [`output::printer::FINAL_OUTPUT_DEADLINE`] if nothing reads `output`), the output is
/// closed, `--once` is done, or a fatal error. A `--once` run stopped by `shutdown` before its
/// listing was printed fails with [`RunError::Interrupted`]; any other run it stops ends well.
/// `output` is written on a thread of its own. Every task has ended when this returns; only
/// that thread may still be blocked in a write nobody reads, and a blocking thread in a
/// credential plugin that hangs (`shutdown` is heeded while it runs).
pub(crate) async fn run<W>(
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
        ClusterChoice::Contexts(contexts) => {
            let contexts = contexts.clone();
            return run_contexts(config, contexts, output, shutdown).await;
        }
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
    let only = vec![wiring::Cluster::ready(None, connection.clone())];
    watch_and_print(config, (connection, only), output, shutdown)
        .await
        .map(|_| ())
        .map_err(|err| err.with_identity(&identity))
}

/// [`run`] over several kubeconfig contexts (`--context a,b`, `--all-contexts`): each
/// connected on its own, a context that cannot be is logged and left out, and the run goes on
/// with the others; a `--once` run then fails naming it, after its listing.
async fn run_contexts<W>(
    config: Config,
    contexts: cli::config::Contexts,
    output: W,
    shutdown: impl Future<Output = Signal>,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    tokio::pin!(shutdown);
    let names = match &contexts.names {
        Some(names) => names.clone(),
        None => client::context_names(&contexts.base)?,
    };
    if names.is_empty() {
        return Err(RunError::NoContexts);
    }
    if let Some(named) = &contexts.names {
        refuse_unknown_contexts(&contexts.base, named, &config.client).await?;
    }
    // Every context connects on its own (a credential plugin each): the run starts with the
    // first connected, the others join as they connect (a `--once` run waits
    // CONTEXTS_CONNECT_GRACE for them); one that cannot connect fails alone.
    let connecting: Vec<wiring::Connecting> = names
        .iter()
        .map(|name| {
            let choice = client::KubeconfigChoice {
                context: Some(name.clone()),
                ..contexts.base.clone()
            };
            let options = config.client.clone();
            let once = config.once;
            let connect = async move {
                let connecting = client::connect(&choice, &options);
                let connected = if once {
                    tokio::time::timeout(CONTEXTS_CONNECT_GRACE, connecting)
                        .await
                        .unwrap_or(Err(ClientError::StillConnecting(
                            CONTEXTS_CONNECT_GRACE.as_secs(),
                        )))
                } else {
                    connecting.await
                };
                connected.map_err(Arc::new)
            };
            futures::FutureExt::shared(futures::FutureExt::boxed(connect))
        })
        .collect();
    let mut waiting: futures::stream::FuturesUnordered<_> = names
        .iter()
        .zip(&connecting)
        .map(|(name, connecting)| {
            let connecting = connecting.clone();
            async move { (name, connecting.await) }
        })
        .collect();
    let mut first_error = None;
    let first = loop {
        tokio::select! {
            next = waiting.next() => match next {
                Some((_, Ok(connection))) => break Some(connection),
                Some((name, Err(error))) => {
                    // Said now: the others may take long to connect.
                    tracing::error!(context = %name, error = %error, "cannot connect to the context; it is left out");
                    first_error.get_or_insert(RunError::Connect { context: name.clone(), error });
                }
                None => break None,
            },
            signal = &mut shutdown => {
                let unprinted = PrinterEnd::StoppedUnsynced;
                return interruption(signal, config.once, unprinted).map_or(Ok(()), Err);
            }
        }
    };
    drop(waiting);
    let Some(first) = first else {
        return Err(first_error.unwrap_or(RunError::NoContexts));
    };
    let clusters: Vec<wiring::Cluster> = names
        .iter()
        .zip(connecting)
        .map(|(name, connection)| wiring::Cluster {
            context: Some(Arc::from(name.as_str())),
            connection,
        })
        .collect();
    let once = config.once;
    let ContextsEnded { failed } =
        watch_and_print(config, (first, clusters), output, shutdown).await?;
    if once && !failed.is_empty() {
        return Err(RunError::ContextsFailed(failed));
    }
    Ok(())
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
    let only = vec![wiring::Cluster::ready(None, connection.clone())];
    let result = watch_and_print(config, (connection, only), output, shutdown).await;
    sim.shutdown().await;
    result.map(|_| ())
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

/// How long the contexts of a run over several may take to connect once one has (a credential
/// plugin runs for each: one waiting for a login is left out, not waited for).
const CONTEXTS_CONNECT_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Fails as connecting to it does when a context named is not in the kubeconfig: a mistake of
/// the command line, said before anything runs (no credential plugin of the others).
async fn refuse_unknown_contexts(
    base: &client::KubeconfigChoice,
    named: &[String],
    options: &client::ClientOptions,
) -> Result<(), RunError> {
    let known = client::context_names(base)?;
    let Some(missing) = named.iter().find(|name| !known.contains(name)) else {
        return Ok(());
    };
    let choice = client::KubeconfigChoice {
        context: Some(missing.clone()),
        ..base.clone()
    };
    // The kubeconfig is read, and the missing context refused, before any plugin runs.
    match client::connect(&choice, options).await {
        Err(err) => Err(err.into()),
        Ok(_) => Ok(()),
    }
}

/// How a run that watched ended well: with several contexts, those that failed (each logged).
struct ContextsEnded {
    failed: Vec<String>,
}

/// The run on its connections (one, or a context's each), in three steps: resolve what to
/// watch, spawn the reflector, printer and metrics tasks, join them.
async fn watch_and_print<W>(
    config: Config,
    (connection, clusters): (Connection, Vec<wiring::Cluster>),
    output: W,
    shutdown: impl Future<Output = Signal>,
) -> Result<ContextsEnded, RunError>
where
    W: Write + Send + 'static,
{
    tokio::pin!(shutdown);
    let resolving = wiring::resolve_targets_in_any(&config, &clusters);
    let targets = tokio::select! {
        signal = &mut shutdown => {
            let unprinted = PrinterEnd::StoppedUnsynced;
            return interruption(signal, config.once, unprinted)
                .map_or(Ok(ContextsEnded { failed: Vec::new() }), Err);
        }
        targets = resolving => targets?,
    };
    // A `--for` run, like a `--once` one, has one job: stopped before it is done, it failed.
    let once = config.once || config.mode == cli::config::Mode::Wait;
    let stop = CancellationToken::new();
    let tasks = wiring::Tasks::spawn(
        config,
        (&clusters, &connection.server),
        &targets,
        output,
        &stop,
    )
    .await?;
    let ended = tasks.join(shutdown, stop).await?;
    ended.reflector.map_err(|err| {
        // Where the run looked, for the collection that failed.
        let (namespaced, namespace) = match &err {
            ReflectorError::Forbidden { scope, .. } => (
                targets
                    .iter()
                    .find(|target| target.resource.plural == scope.plural)
                    .is_none_or(|target| target.namespaced),
                scope.namespace.as_deref(),
            ),
            _ => (true, None),
        };
        let reach = Reach::of(
            namespaced,
            namespace,
            connection.context_namespace.as_deref(),
        );
        RunError::from_reflector(err, reach, &connection.identity)
    })?;
    let printed = match ended.printer? {
        PrinterEnd::TemplateFailed(err) => return Err(RunError::Template(err)),
        PrinterEnd::NotFound(objects) => return Err(RunError::NotFound(objects)),
        PrinterEnd::WaitFailed(failure) => return Err(RunError::Wait(failure)),
        PrinterEnd::ExecFailed(failure) => return Err(RunError::Exec(failure)),
        PrinterEnd::StateNotSaved(error) => return Err(RunError::StateNotSaved(error)),
        printed => printed,
    };
    let failed = ended
        .signal
        .and_then(|signal| interruption(signal, once, printed));
    let contexts = ContextsEnded {
        failed: ended.failed_contexts,
    };
    failed.map_or(Ok(contexts), Err)
}

/// Whether `status` is the server refusing an impersonation: a 403 about `users`, `groups`,
/// `uids` or `userextras/...` (the resources the impersonate verb is granted on), not about
/// what was asked for.
fn refuses_impersonation(status: &ApiStatus) -> bool {
    let kind = status.details.kind.as_str();
    status.code == 403
        && (matches!(kind, "users" | "groups" | "uids" | "serviceaccounts")
            || kind.starts_with("userextras"))
}

/// What an impersonation refused was of, and the flag that asks for it: `user "bob" (--as)`.
fn impersonated(status: &ApiStatus) -> String {
    let name = &status.details.name;
    match status.details.kind.as_str() {
        "users" | "serviceaccounts" => format!("user {name:?} (--as)"),
        "groups" => format!("group {name:?} (--as-group)"),
        "uids" => format!("uid {name:?} (--as-uid)"),
        extra => format!("{extra} {name:?}"),
    }
}

/// The failure of a run that `signal` stopped, given how its printer ended: a `--once` run
/// whose listing was not printed failed ([`RunError::Interrupted`]: the listing was its one
/// job); any other run (a watching run, a `--once` run that had printed its listing, a run
/// whose reader went away) stopped cleanly: `None`.
fn interruption(signal: Signal, once: bool, printed: PrinterEnd) -> Option<RunError> {
    if once && printed == PrinterEnd::StoppedUnsynced && signal != Signal::ReaderGone {
        tracing::debug!(%signal, "stopped before the --once listing was printed");
        return Some(RunError::Interrupted { signal });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    use crate::cache::list_watch::Scope;
    use crate::connect::exec_credential::ExecError;
    use crate::error_chain::flatten;
    use crate::wire::decode::DecodeError;
    use crate::wire::test_support::Captured;

    #[test]
    fn only_a_once_run_stopped_before_its_listing_fails_with_the_shells_code_for_the_signal() {
        for (signal, code, name) in [
            (Signal::Interrupt, 130, "SIGINT"),
            (Signal::Terminate, 143, "SIGTERM"),
            (Signal::Hangup, 129, "SIGHUP"),
        ] {
            let err =
                interruption(signal, true, PrinterEnd::StoppedUnsynced).expect("nothing printed");
            assert_eq!(err.exit_code(), code);
            assert_eq!(
                err.to_string(),
                format!("interrupted by {name} before the --once listing was printed")
            );
            assert!(interruption(signal, true, PrinterEnd::Finished).is_none());
            assert!(interruption(signal, true, PrinterEnd::OutputClosed).is_none());
            assert!(interruption(signal, false, PrinterEnd::StoppedUnsynced).is_none());
        }
        let gone = Signal::ReaderGone;
        assert!(interruption(gone, true, PrinterEnd::StoppedUnsynced).is_none());
    }

    #[test]
    fn our_errors_hold_their_causes_in_the_message_and_expose_no_source() {
        let in_use = || io::Error::new(io::ErrorKind::AddrInUse, "address in use");
        let decode = || SourceError::Decode(DecodeError::Malformed("x".into()));
        let scope = Scope {
            plural: "pods".into(),
            namespace: None,
            namespaced: true,
        };
        let errors: Vec<Box<dyn Error>> = vec![
            Box::new(decode()),
            Box::new(ReflectorError::Failed {
                verb: "list",
                scope,
                error: decode(),
            }),
            Box::new(ResolveError::Discovery {
                path: "/api/v1".into(),
                error: decode(),
            }),
            Box::new(RunError::Output(in_use())),
            Box::new(RunError::Metrics {
                addr: ([127, 0, 0, 1], 9090).into(),
                error: in_use(),
            }),
            Box::new(ExecError::Start {
                command: "login".into(),
                error: in_use(),
                hint: None,
            }),
        ];
        for err in errors {
            assert!(err.source().is_none(), "{err} exposes a source");
            let message = err.to_string();
            assert!(
                message.ends_with("malformed JSON: x") || message.contains(": address in use"),
                "the message lacks its cause: {message}"
            );
            assert_eq!(flatten(err.as_ref()), message);
        }
    }

    fn status(code: u16, reason: &str) -> ApiStatus {
        ApiStatus {
            code,
            reason: reason.to_owned(),
            message: "the server's words".to_owned(),
            ..ApiStatus::default()
        }
    }

    fn answered(code: u16, reason: &str) -> SourceError {
        SourceError::Status {
            status: status(code, reason),
            retry_after: None,
        }
    }

    fn pods() -> Scope {
        Scope {
            plural: "pods".into(),
            namespace: Some("shop".into()),
            namespaced: true,
        }
    }

    fn discovery_failed(code: u16, reason: &str) -> RunError {
        RunError::Resolve(ResolveError::Discovery {
            path: "/apis/apps/v1".into(),
            error: answered(code, reason),
        })
    }

    fn identity() -> Identity {
        Identity::Kubeconfig {
            user: Some("dev".into()),
            context: Some("prod".into()),
        }
    }

    #[test]
    fn the_exit_code_is_2_only_where_the_command_line_must_change() {
        let unknown = |unreadable: Vec<String>| {
            RunError::Resolve(ResolveError::Unknown {
                name: "podz".into(),
                closest: vec!["pods".into()],
                unreadable,
            })
        };
        let reflector = |err| RunError::Reflector(err);
        let cases = [
            (unknown(Vec::new()), 2),
            // The name may be served by a group whose discovery failed: not known to be wrong.
            (unknown(vec!["apps/v1: 503".into()]), 1),
            (
                RunError::Resolve(ResolveError::NotWatchable("bindings".into())),
                2,
            ),
            (discovery_failed(404, "NotFound"), 2),
            (discovery_failed(400, "BadRequest"), 2),
            (discovery_failed(500, "InternalError"), 1),
            (discovery_failed(503, "ServiceUnavailable"), 1),
            (
                reflector(ReflectorError::Invalid {
                    verb: "list",
                    scope: pods(),
                    status: status(400, "BadRequest"),
                }),
                2,
            ),
            (
                reflector(ReflectorError::Failed {
                    verb: "list",
                    scope: pods(),
                    error: answered(500, "InternalError"),
                }),
                1,
            ),
            (RunError::Output(io::Error::other("disk full")), 1),
        ];
        for (err, code) in cases {
            assert_eq!(err.exit_code(), code, "{err}");
        }
    }

    #[test]
    fn a_refused_watch_suggests_once_and_a_refused_list_does_not() {
        let forbidden = |verb| {
            let err = ReflectorError::Forbidden {
                verb,
                scope: pods(),
                status: status(403, "Forbidden"),
            };
            RunError::from_reflector(err, Reach::Namespace("shop".into()), &identity()).to_string()
        };
        let once = "or list once without watching with --once";
        assert!(forbidden("watch").contains(once), "{}", forbidden("watch"));
        assert!(!forbidden("list").contains(once), "{}", forbidden("list"));
        assert!(
            forbidden("list").starts_with("not allowed to list pods"),
            "{}",
            forbidden("list")
        );
    }

    #[test]
    fn a_401_from_discovery_or_the_reflector_names_whose_credentials_and_nothing_else_does() {
        let rejected = "the server rejected the credentials of ";
        let from_discovery = discovery_failed(401, "Unauthorized").with_identity(&identity());
        assert!(matches!(from_discovery, RunError::Unauthenticated { .. }));
        assert!(
            from_discovery.to_string().starts_with(rejected),
            "{from_discovery}"
        );
        let from_reflector = RunError::Reflector(ReflectorError::Unauthenticated {
            verb: "watch",
            scope: pods(),
            status: status(401, "Unauthorized"),
        })
        .with_identity(&identity());
        assert!(matches!(from_reflector, RunError::Unauthenticated { .. }));
        let failed = discovery_failed(500, "InternalError").with_identity(&identity());
        assert!(
            matches!(failed, RunError::Resolve(ResolveError::Discovery { .. })),
            "{failed}"
        );
    }

    fn config(args: &[&str]) -> Config {
        let cli = crate::cli::args::Cli::try_parse_args_from(args).expect("valid");
        match cli.into_invocation().expect("valid") {
            crate::cli::args::Invocation::Watch(config) => *config,
            crate::cli::args::Invocation::Completions(_) => panic!("completions"),
        }
    }

    #[tokio::test]
    async fn a_run_without_its_kubeconfig_fails_before_printing_anything() {
        let output = Captured::default();
        let kubeconfig = "/nonexistent/kreflect-test/kubeconfig";
        let config = config(&["kreflect", "pods", "--once", "--kubeconfig", kubeconfig]);
        let ended = run(config, output.clone(), std::future::pending()).await;
        let err = ended.expect_err("no kubeconfig");
        assert!(matches!(err, RunError::Client(_)), "{err}");
        assert_eq!(err.exit_code(), 1);
        assert!(output.text().is_empty());
    }

    #[cfg(feature = "sim")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_once_run_on_the_simulated_cluster_prints_one_listing() {
        let output = Captured::default();
        let config = config(&["kreflect", "pods", "--sim", "--once"]);
        run(config, output.clone(), std::future::pending())
            .await
            .expect("a listing");
        let printed = output.text();
        let keys: Vec<&str> = printed.lines().collect();
        assert!(keys.len() > 1, "{printed:?}");
        assert!(printed.ends_with("\n\n"), "{printed:?}");
        assert!(
            keys[..keys.len() - 1].iter().all(|key| key.contains('/')),
            "{printed:?}"
        );
    }
}
