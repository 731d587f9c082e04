//! kreflect: mirror a Kubernetes cluster's objects into a local cache and print the cache's
//! keys, with a reflector written by hand (what client-go's `cache.NewReflector` +
//! `cache.NewStore(MetaNamespaceKeyFunc)` do in Go).
//!
//! # Layout
//! Data flows one way: server bytes → [`source`] (HTTP, decode) → [`reflector`] (state) →
//! [`store`] → [`printer`] → stdout.
//!
//! - [`cli`]: the clap command line and its conversion into a validated [`Config`].
//! - [`client`]: the `kube::Client` from a kubeconfig or the in-cluster service account.
//! - [`source`]: the [`source::ListWatch`] seam and its implementation over kube's HTTP client.
//! - [`decode`]: the wire formats: list bodies, watch lines, `Status` errors.
//! - [`object`]: the cached form of an object ([`object::RawObject`]) and its key.
//! - [`reflector`]: the list → watch state machine, relists, backoff ([`backoff`]).
//! - [`store`]: the HashMap-backed cache, one writer and cheap read handles.
//! - [`printer`]: key listings on stdout.
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
pub mod object;
pub mod printer;
pub mod reflector;
pub mod sim;
pub mod source;
pub mod store;

use std::future::Future;
use std::io::{self, Write};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, KubeconfigChoice};
use crate::printer::{PrinterConfig, print_listings};
use crate::reflector::{Reflector, ReflectorConfig, ReflectorError};
use crate::source::{KubeSource, SourceOptions};

/// Which cluster to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cluster {
    /// A real cluster, from a kubeconfig or the in-cluster service account.
    Kubeconfig(KubeconfigChoice),
    /// The embedded simulated cluster (`--sim`).
    Simulated,
}

/// A validated run configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Which cluster to watch.
    pub cluster: Cluster,
    /// One namespace, or `None` for all.
    pub namespace: Option<String>,
    /// Time between listings.
    pub interval: Duration,
    /// One listing after the initial sync, then stop; the first failure is fatal.
    pub once: bool,
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
    /// Writing a listing failed (other than the reader going away).
    #[error("cannot write to stdout: {0}")]
    Output(#[source] io::Error),
    /// The simulated cluster could not start.
    #[error("cannot start the simulated cluster: {0}")]
    Simulation(#[source] io::Error),
    /// A task panicked: a bug.
    #[error("internal error: {0}")]
    Task(String),
}

/// Watches the configured cluster's Pods and prints listings of their keys to `output` until
/// `shutdown` completes (then a final listing), the output is closed, `--once` is done, or a
/// fatal error. Every task has ended when this returns.
pub async fn run<W>(
    config: Config,
    output: W,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    let stop = CancellationToken::new();
    let (client, simulation) = match &config.cluster {
        Cluster::Kubeconfig(choice) => (client::connect(choice).await?, None),
        Cluster::Simulated => {
            let simulation = demo::Simulation::start()
                .await
                .map_err(RunError::Simulation)?;
            (simulation.client()?, Some(simulation))
        }
    };
    let result = watch_and_print(config, client, output, shutdown, stop).await;
    if let Some(simulation) = simulation {
        simulation.shutdown().await;
    }
    result
}

async fn watch_and_print<W>(
    config: Config,
    client: kube::Client,
    output: W,
    shutdown: impl Future<Output = ()>,
    stop: CancellationToken,
) -> Result<(), RunError>
where
    W: Write + Send + 'static,
{
    let (writer, store) = store::new_store();
    let reflector_config = ReflectorConfig {
        give_up_before_sync: config.reflector.give_up_before_sync || config.once,
        ..config.reflector
    };
    let source = KubeSource::pods(client, config.namespace).with_options(config.source);
    let reflector = Reflector::new(source, writer, reflector_config);
    let mut reflector = tokio::spawn(reflector.run(stop.clone()));
    let printer_config = PrinterConfig {
        interval: config.interval,
        once: config.once,
    };
    let printer = tokio::spawn(print_listings(store, printer_config, output, stop.clone()));

    let reflector_ended = tokio::select! {
        result = &mut reflector => Some(result),
        () = shutdown => None,
        () = stop.cancelled() => None,
    };
    stop.cancel();
    let reflector_result = match reflector_ended {
        Some(result) => result,
        None => reflector.await,
    }
    .map_err(|err| RunError::Task(err.to_string()))?;
    if reflector_result.is_err() {
        // No final listing from a cache that can no longer be kept true.
        printer.abort();
    }
    let printer_result = printer.await;
    reflector_result?;
    match printer_result {
        Ok(printed) => printed.map(|_| ()).map_err(RunError::Output),
        Err(err) => Err(RunError::Task(err.to_string())),
    }
}
