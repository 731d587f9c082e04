//! kreflect: mirror a Kubernetes cluster's objects into a local cache and print the cache's
//! keys, with a reflector written by hand (what client-go's `cache.NewReflector` +
//! `cache.NewStore(MetaNamespaceKeyFunc)` do in Go).
//!
//! # Layout
//! Data flows one way: server bytes → [`source`] (HTTP, decode) → [`reflector`] (state) →
//! [`store`] → [`printer`] → stdout.
//!
//! - [`cli`]: the clap command line and its conversion into a validated [`Config`].
//! - [`client`]: the `kube::Client` from a kubeconfig or the in-cluster service account,
//!   over the HTTP stack of [`transport`] (proxies chosen by [`proxy`], gzip), with exec
//!   credential plugins run once by [`exec_credential`].
//! - [`source`]: the [`source::ListWatch`] seam and its implementation over kube's HTTP client.
//! - [`decode`]: the wire formats: list bodies, watch lines, `Status` errors.
//! - [`failure`]: what a failed request means (expired, forbidden, invalid, transient, ...).
//! - [`object`]: the cached form of an object ([`object::RawObject`]) and its key.
//! - [`reflector`]: the list → watch state machine, relists, backoff ([`backoff`]).
//! - [`store`]: the HashMap-backed cache, one writer and cheap read handles.
//! - [`resolve`]: resource names (`po`, `deploy`, `deployments.apps`) through discovery.
//! - [`printer`]: when listings and events go to stdout, written off the async runtime.
//! - [`render`]: what they look like: every output format (keys, json, wide, diff and event
//!   lines), with keys escaped by the rule in [`quote`].
//! - [`metrics`]: `--metrics-addr`, Prometheus text and `/healthz`.
//! - [`progress`]: the initial list's progress on a terminal.
//! - [`logging`]: logs on stderr, as sentences on a terminal, structured elsewhere.
//! - [`sim`]: a fake kube-apiserver speaking the real HTTP protocol (tests, benchmarks, `--sim`),
//!   and [`demo`], the simulated cluster `--sim` watches.
//!
//! [`run`] wires these together; the binary only parses the command line, sets up logging and
//! maps the result to an exit code.

pub mod backoff;
pub mod cli;
pub mod client;
pub mod decode;
pub mod demo;
pub mod exec_credential;
pub mod failure;
pub mod logging;
pub mod metrics;
pub mod object;
pub mod printer;
pub mod progress;
pub mod proxy;
pub mod quote;
pub mod reflector;
pub mod render;
pub mod resolve;
pub mod sim;
pub mod source;
pub mod store;
pub mod transport;

use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kube::core::ApiResource;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::client::{ClientError, ClientOptions, Connection, Identity, KubeconfigChoice};
use crate::decode::ApiStatus;
use crate::failure::{FailureClass, ForbiddenAdvice, Reach};
use crate::metrics::{Metrics, MetricsServer};
use crate::printer::{PrinterConfig, PrinterEnd, print_events, print_listings};
use crate::reflector::{Reflector, ReflectorConfig, ReflectorError};
use crate::render::OutputFormat;
use crate::resolve::ResolveError;
use crate::source::{Endpoint, KubeSource, Selectors, SourceOptions};

/// Which cluster to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cluster {
    /// A real cluster, from a kubeconfig or the in-cluster service account.
    Kubeconfig(KubeconfigChoice),
    /// The embedded simulated cluster (`--sim`).
    Simulated,
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
    /// The resource to mirror, as the user named it (`pods`, `no`, `deployments.apps`).
    pub resource: String,
    /// Which cluster to watch.
    pub cluster: Cluster,
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
    Output(#[source] io::Error),
    /// The simulated cluster could not start.
    #[error("cannot start the simulated cluster: {0}")]
    Simulation(#[source] io::Error),
    /// The resource name could not be resolved.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: io::Error,
    },
    /// A task panicked: a bug.
    #[error("internal error: {0}")]
    Task(String),
}

impl RunError {
    /// The process exit code for this error: 2 for a usage error (a resource the server does
    /// not serve, a request the server calls invalid), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Resolve(err) if err.is_usage_error() => 2,
            RunError::Resolve(ResolveError::Discovery { source, .. })
                if matches!(
                    FailureClass::of(source),
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
                source: source::SourceError::Status { status, .. },
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
/// `shutdown` completes (then a final listing, best effort: given up after
/// [`printer::FINAL_OUTPUT_DEADLINE`] if nothing reads `output`), the output is closed, `--once`
/// is done, or a fatal error. `output` is written on a thread of its own. Every task has ended
/// when this returns; only that thread may still be blocked in a write nobody reads, and a
/// blocking thread in a credential plugin that hangs (`shutdown` is heeded while it runs).
pub async fn run<W>(
    config: Config,
    output: W,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    let stop = CancellationToken::new();
    tokio::pin!(shutdown);
    let (connection, simulation) = match &config.cluster {
        Cluster::Kubeconfig(choice) => {
            let connection = tokio::select! {
                connected = client::connect(choice, &config.client) => connected?,
                // A credential plugin may hang; a signal still ends the run.
                () = &mut shutdown => return Ok(()),
            };
            (connection, None)
        }
        Cluster::Simulated => {
            let simulation = demo::Simulation::start()
                .await
                .map_err(RunError::Simulation)?;
            let connection = simulation.connect(&config.client)?;
            (connection, Some(simulation))
        }
    };
    let identity = connection.identity.clone();
    let result = watch_and_print(config, connection, output, shutdown, stop).await;
    if let Some(simulation) = simulation {
        simulation.shutdown().await;
    }
    result.map_err(|err| err.with_identity(&identity))
}

/// What was resolved from the resource name.
struct Target {
    resource: ApiResource,
    namespaced: bool,
}

/// `pods` and its other names need no discovery; anything else is looked up like kubectl does.
async fn resolve_target(
    client: &kube::Client,
    endpoint: &Endpoint,
    name: &str,
) -> Result<Target, RunError> {
    if matches!(name, "pods" | "pod" | "po" | "Pod") {
        return Ok(Target {
            resource: ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
            namespaced: true,
        });
    }
    let discovery =
        resolve::discover(|path| async move { source::fetch(client, endpoint, &path).await })
            .await?;
    let found = discovery.resolve(name)?;
    for unreadable in &discovery.unreadable {
        tracing::warn!(error = %unreadable, "skipped a group whose discovery failed");
    }
    Ok(Target {
        resource: found.api_resource(),
        namespaced: found.namespaced,
    })
}

async fn watch_and_print<W>(
    config: Config,
    connection: Connection,
    output: W,
    shutdown: impl Future<Output = ()>,
    stop: CancellationToken,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    tokio::pin!(shutdown);
    let mut backoff = Backoff::new(config.reflector.backoff.clone());
    let endpoint = Endpoint::of(&connection);
    let target = loop {
        let attempt = tokio::select! {
            () = &mut shutdown => return Ok(()),
            target = resolve_target(&connection.client, &endpoint, &config.resource) => target,
        };
        match attempt {
            // Like list and watch: a server that is down or failing is waited for, unless --once.
            Err(RunError::Resolve(ResolveError::Discovery { path, source }))
                if !config.once && FailureClass::of(&source) == FailureClass::Transient =>
            {
                let delay = backoff.next_delay();
                tracing::warn!(path = %path, error = %source, retry_in_ms = delay.as_millis() as u64, "discovery failed; retrying");
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
            }
            other => break other?,
        }
    };
    let reach = Reach::of(
        target.namespaced,
        config.namespace.as_deref(),
        connection.context_namespace.as_deref(),
    );
    let namespace = if target.namespaced {
        config.namespace
    } else {
        if let Some(namespace) = &config.namespace {
            tracing::warn!(resource = %target.resource.plural, namespace = %namespace, "resource is cluster-scoped; ignoring the namespace");
        }
        None
    };
    let (mut writer, store) = store::new_store();
    let changes = (config.mode == Mode::Events).then(|| writer.changes());
    let metrics = Arc::new(Metrics::default());
    let metrics_server = match config.metrics_addr {
        Some(addr) => {
            let server = MetricsServer::bind(addr)
                .await
                .map_err(|source| RunError::Metrics { addr, source })?;
            let task = server.serve(Arc::clone(&metrics), store.clone(), stop.clone());
            Some(tokio::spawn(task))
        }
        None => None,
    };
    let reflector_config = ReflectorConfig {
        give_up_before_sync: config.reflector.give_up_before_sync || config.once,
        list_only: config.reflector.list_only || config.once,
        ..config.reflector
    };
    let plural = target.resource.plural.clone();
    let source = KubeSource::new(connection.client, &target.resource, namespace)
        .with_endpoint(endpoint)
        .with_selectors(config.selectors)
        .with_options(config.source);
    let mut reflector = Reflector::new(source, writer, reflector_config).with_metrics(metrics);
    if io::stderr().is_terminal() {
        reflector = reflector.with_progress(progress::reporter(plural.clone(), io::stderr()));
    }
    let mut reflector = tokio::spawn(reflector.run(stop.clone()));
    let printer: JoinHandle<io::Result<PrinterEnd>> = match changes {
        Some(changes) => {
            let json = config.format == OutputFormat::Json;
            tokio::spawn(print_events(changes, json, output, stop.clone()))
        }
        None => {
            let printer_config = PrinterConfig {
                interval: config.interval,
                once: config.once,
                format: config.format,
                diff: config.mode == Mode::Diff,
                pods: plural == "pods",
                namespaced: target.namespaced,
            };
            tokio::spawn(print_listings(store, printer_config, output, stop.clone()))
        }
    };

    let reflector_ended = tokio::select! {
        result = &mut reflector => Some(result),
        () = &mut shutdown => None,
        () = stop.cancelled() => None,
    };
    if !matches!(reflector_ended, None | Some(Ok(Ok(())))) {
        // No final listing from a cache that can no longer be kept true: abort the printer
        // before `stop` tells it to write one.
        printer.abort();
    }
    stop.cancel();
    let reflector_result = match reflector_ended {
        Some(result) => result,
        None => reflector.await,
    }
    .map_err(|err| RunError::Task(err.to_string()))?;
    if reflector_result.is_err() {
        printer.abort();
    }
    let printer_result = printer.await;
    if let Some(metrics_server) = metrics_server {
        let _ = metrics_server.await;
    }
    reflector_result.map_err(|err| RunError::from_reflector(err, reach, &connection.identity))?;
    match printer_result {
        Ok(printed) => printed.map(|_| ()).map_err(RunError::Output),
        Err(err) if err.is_cancelled() => Ok(()),
        Err(err) => Err(RunError::Task(err.to_string())),
    }
}
