//! The run's configuration: what the command line asked for, validated, in the terms the
//! layers below take.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::kube_source::{Selectors, SourceOptions};
use crate::cache::reflector::ReflectorConfig;
use crate::cli::selection::Selection;
use crate::connect::client::{ClientOptions, KubeconfigChoice};
use crate::output::exec::ExecPlan;
use crate::output::render::{EventFilter, ListingFormat};
use crate::output::wait::WaitPlan;

/// Which cluster to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterChoice {
    /// A real cluster, from a kubeconfig or the in-cluster service account.
    Kubeconfig(KubeconfigChoice),
    /// Several kubeconfig contexts in one run (`--context a,b`, `--all-contexts`): keys
    /// prefixed by context.
    Contexts(Contexts),
    /// The embedded simulated cluster (`--sim`).
    Sim,
}

/// `--context a,b` or `--all-contexts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contexts {
    /// The kubeconfig and the flags over it, for every context (its `context` unset).
    pub base: KubeconfigChoice,
    /// The contexts named, in order, each once; `None` for every context of the kubeconfig.
    pub names: Option<Vec<String>>,
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
    /// `--for`: wait for conditions, kubectl wait's lines.
    Wait,
}

/// A validated run configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// What to mirror, as the user named it: resources (`pods`, `no`, `deployments.apps`) or
    /// categories (`all`), each with the object names asked for.
    pub selection: Selection,
    /// Which cluster to watch.
    pub cluster: ClusterChoice,
    /// Transport settings from the command line (`--disable-compression`).
    pub client: ClientOptions,
    /// The namespaces to watch (`-n a,b`), sorted, each once; empty for all of them.
    pub namespaces: Vec<String>,
    /// Label and field selectors passed to the server.
    pub selectors: Selectors,
    /// Time between listings.
    pub interval: Duration,
    /// One listing after the initial sync, then stop; the first failure is fatal.
    pub once: bool,
    /// The listing format: kreflect's own, or a kubectl template.
    pub format: ListingFormat,
    /// Listings, diffs or events.
    pub mode: Mode,
    /// `--output-watch-events`: with `--events`, the event type goes with each object (`-o
    /// json`, templates).
    pub output_watch_events: bool,
    /// `--for` and `--timeout`: what a waiting run waits for.
    pub wait: Option<WaitPlan>,
    /// Which changes `--events` prints (`--event-types`, `--print-unchanged`).
    pub event_filter: EventFilter,
    /// `--exec` and `--exec-timeout`: a command run for each change or changed listing, in
    /// place of printing.
    pub exec: Option<ExecPlan>,
    /// Where to serve `/metrics` and `/healthz`, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// What to ask the server for (`--metadata-only`).
    pub source: SourceOptions,
    /// How the reflector lists, watches and backs off.
    pub reflector: ReflectorConfig,
    /// `--state FILE`: what the run knew, kept for the next one.
    pub state: Option<StateOptions>,
}

/// `--state FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateOptions {
    /// The file.
    pub path: PathBuf,
    /// What the digests of the objects' texts are of: the output format as given (`-o`, and
    /// `--output-watch-events`), so a run printing otherwise does not compare with them.
    pub digests_of: String,
}
