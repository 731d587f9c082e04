//! The steps of [`crate::run`] on a connection: [`resolve_targets`] (the kinds to watch,
//! waiting out a failing server as list and watch do), [`Tasks::spawn`] (a reflector per kind,
//! the printer and the metrics server) and [`Tasks::join`] (how they end together).

use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;

use kube::core::ApiResource;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc::Receiver;

use crate::api::deadline::RequestDeadline;
use crate::api::kube_source;
use crate::api::kube_source::{KubeSource, Selectors};
use crate::api::resolve;
use crate::api::resolve::ResolveError;
use crate::cache::backoff::Backoff;
use crate::cache::failure::FailureClass;
use crate::cache::list_watch::{Scope, SourceError};
use crate::cache::metrics::commands::CommandMetrics;
use crate::cache::metrics::{Metrics, MetricsServer};
use crate::cache::names::NameFilter;
use crate::cache::reflector::{Reflector, ReflectorConfig, ReflectorError};
use crate::cache::state::{CollectionId, Identity, Known, StateFile};
use crate::cache::store;
use crate::cache::store::{Change, ChangeType, Store};
use crate::cli::config::{Config, Mode};
use crate::cli::selection::{self, Selection};
use crate::connect::client::{ClientError, Connection};
use crate::connect::endpoint::Endpoint;
use crate::output::kinds::{self, Columns, Expected, KindStore, ObjectType, Stores};
use crate::output::printer::remember::{self, Keeper};
use crate::output::printer::{
    PrinterConfig, PrinterEnd, exec_changes, exec_listings, print_events, print_listings,
    print_waits, report_absent,
};
use crate::output::progress;
use crate::output::render::{EventFormat, EventSource, EventTypes, ListingFormat, OutputFormat};
use crate::wire::object::{ObjectKey, RawObject};
use crate::{RunError, Signal};

/// One kind to watch, resolved from the command line.
pub struct Target {
    /// The resource's group, version and plural.
    pub resource: ApiResource,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// The object names asked for; empty for every object.
    pub names: Vec<String>,
}

/// One cluster the run watches: a kubeconfig context's connection.
pub struct Cluster {
    /// The context's name, when the run watches several (`--context a,b`): its keys' prefix,
    /// its metrics' `context` label, the name its failures are logged under.
    pub context: Option<Arc<str>>,
    /// Its connection, made or being made (a credential plugin running): with several
    /// contexts, one context's connection does not hold the others back. Its collections'
    /// reflectors start once it is made, and fail with its error if it cannot be.
    pub connection: Connecting,
}

/// A connection made or being made, awaited by each collection of its cluster.
pub type Connecting = futures::future::Shared<
    futures::future::BoxFuture<'static, Result<Connection, Arc<ClientError>>>,
>;

impl Cluster {
    /// A cluster already connected.
    pub fn ready(context: Option<Arc<str>>, connection: Connection) -> Cluster {
        let connected = futures::future::ready(Ok(connection));
        Cluster {
            context,
            connection: futures::FutureExt::shared(futures::FutureExt::boxed(connected)),
        }
    }
}

/// Resolves the configured resources (and categories, such as `all`) into the kinds to watch,
/// each once. A server that is down or failing is waited for with backoff, as list and watch
/// do, unless `--once`; anything else ends the run.
pub async fn resolve_targets(
    config: &Config,
    client: &kube::Client,
    endpoint: &Endpoint,
) -> Result<Vec<Target>, RunError> {
    let mut backoff = Backoff::new(config.reflector.backoff.clone());
    loop {
        match resolve_once(client, endpoint, &config.selection, &config.source.deadline).await {
            Err(RunError::Resolve(ResolveError::Discovery { path, error }))
                if !config.once && FailureClass::of(&error) == FailureClass::Transient =>
            {
                let delay = backoff.next_delay();
                tracing::warn!(path = %path, error = %error, retry_in_ms = delay.as_millis() as u64, "discovery failed; retrying");
                tokio::time::sleep(delay).await;
            }
            resolved => return resolved,
        }
    }
}

/// [`resolve_targets`] in the first of `clusters` that answers: with several contexts, a
/// context that is down or forbidden does not hold the others back (kinds are the same
/// everywhere; one a context does not serve fails there as its list does). Fails as the
/// last to fail when none answers.
pub async fn resolve_targets_in_any(
    config: &Config,
    clusters: &[Cluster],
) -> Result<Vec<Target>, RunError> {
    // Every context, those still connecting once they are: the first to resolve wins, and one
    // that is down, refuses or fails (logged with its name) holds nothing back.
    let resolving = clusters.iter().map(|cluster| {
        Box::pin(async move {
            let context = cluster.context.as_deref();
            // A connection that failed was logged, with its context, when it did.
            let connection = cluster
                .connection
                .clone()
                .await
                .map_err(|error| RunError::Connect {
                    context: context.unwrap_or_default().to_owned(),
                    error,
                })?;
            let endpoint = Endpoint::of(&connection);
            let resolved = resolve_targets(config, &connection.client, &endpoint).await;
            match (resolved, context) {
                (Err(err), Some(context)) => {
                    tracing::warn!(context = %context, error = %err, "cannot resolve the resources in this context; trying the others");
                    Err(RunError::InContext {
                        context: context.to_owned(),
                        error: Box::new(err),
                    })
                }
                (resolved, _) => resolved,
            }
        })
    });
    futures::future::select_ok(resolving)
        .await
        .map(|(targets, _)| targets)
}

/// `pods` and its other names alone need no discovery; anything else is looked up like kubectl
/// does: a category (`all`) expands to its members, any other name is a resource.
async fn resolve_once(
    client: &kube::Client,
    endpoint: &Endpoint,
    selection: &Selection,
    deadline: &RequestDeadline,
) -> Result<Vec<Target>, RunError> {
    if let [wanted] = selection.wanted.as_slice()
        && matches!(wanted.resource.as_str(), "pods" | "pod" | "po" | "Pod")
    {
        return Ok(vec![Target {
            resource: ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
            namespaced: true,
            names: wanted.names.clone(),
        }]);
    }
    let discovery = resolve::discover(|path| async move {
        kube_source::fetch(client, endpoint, &path, deadline).await
    })
    .await?;
    for unreadable in &discovery.unreadable {
        tracing::warn!(error = %unreadable, "skipped a group whose discovery failed");
    }
    let mut targets: Vec<Target> = Vec::new();
    for wanted in &selection.wanted {
        let found = match discovery.category(&wanted.resource) {
            Some(members) => members,
            None => vec![discovery.resolve(&wanted.resource)?],
        };
        for discovered in found {
            let resource = discovered.api_resource();
            let same = |target: &&mut Target| {
                target.resource.group == resource.group && target.resource.plural == resource.plural
            };
            match targets.iter_mut().find(same) {
                Some(target) => {
                    let new: Vec<String> = wanted
                        .names
                        .iter()
                        .filter(|name| !target.names.contains(name))
                        .cloned()
                        .collect();
                    target.names.extend(new);
                }
                None => targets.push(Target {
                    resource,
                    namespaced: discovered.namespaced,
                    names: wanted.names.clone(),
                }),
            }
        }
    }
    Ok(targets)
}

/// The tasks of a run.
pub struct Tasks {
    /// One reflector per collection, with its cluster's context when the run watches
    /// several.
    reflectors: Vec<(Option<Arc<str>>, ReflectorTask)>,
    /// With `--events`, the tasks that prefix each collection's changes into the one queue the
    /// printer reads, and the one that says what the initial state lacks.
    forwarders: Vec<JoinHandle<()>>,
    printer: JoinHandle<io::Result<PrinterEnd>>,
    /// Whether the printer runs `--exec` commands: after a reflector's failure it is stopped
    /// (its command gets SIGTERM, then SIGKILL after the grace), not aborted (SIGKILL at once).
    printer_runs_commands: bool,
    metrics_server: Option<JoinHandle<()>>,
}

/// A reflector's task.
type ReflectorTask = JoinHandle<Result<(), ReflectorError>>;

/// A collection's reflector, run until `stop` (once its cluster is connected).
type RunReflector = Box<
    dyn FnOnce(CancellationToken) -> futures::future::BoxFuture<'static, Result<(), ReflectorError>>
        + Send,
>;

/// How the tasks of a run ended.
pub struct Ended {
    /// The reflectors' end: the first error retrying cannot fix (its kind named in it), or none.
    pub reflector: Result<(), ReflectorError>,
    /// The printer's end: how it stopped (a reader going away is no error), or a failed write.
    pub printer: Result<PrinterEnd, RunError>,
    /// The signal that stopped the run, when it came before anything else ended it.
    pub signal: Option<Signal>,
    /// With several contexts, those whose reflectors failed (each logged as it failed), sorted.
    pub failed_contexts: Vec<String>,
}

/// One collection's reflector, before it is spawned.
struct Kind {
    context: Option<Arc<str>>,
    run: RunReflector,
    listed: KindStore,
    changes: Option<CollectionChanges>,
    metrics: (Arc<Metrics>, Store),
}

/// One collection's changes, for `--events`, with what the merged queue calls them.
struct CollectionChanges {
    changes: Receiver<Change>,
    /// The kind's prefix for the keys, with several kinds.
    prefix: Option<Arc<str>>,
    /// The collection's name ([`kinds::collection_of`]): the SYNCED marker's key.
    collection: Arc<str>,
}

/// What one reflector lists and watches: a kind, in one namespace or all (or none, for a
/// cluster-scoped kind).
struct Collection<'a> {
    cluster: &'a Cluster,
    target: &'a Target,
    namespace: Option<String>,
}

/// Whether the run has several of each: kinds (keys prefixed), namespaces (a NAMESPACE column,
/// a namespace label).
#[derive(Clone, Copy)]
struct Several {
    kinds: bool,
    namespaces: bool,
}

/// The open files a run of `collections` may hold at once: a connection each (its list, then
/// its watch; two while a relist overlaps a watch closing), and a margin for the rest
/// (stdio, the runtime, the metrics server and its scrapes, a credential plugin).
fn connections_needed(collections: usize) -> u64 {
    u64::try_from(collections)
        .unwrap_or(u64::MAX)
        .saturating_mul(2)
        .saturating_add(64)
}

/// The collections the run watches: each target in each namespace of `-n` (in order), or in
/// all namespaces without `-n`; a cluster-scoped kind once, whatever `-n` says.
///
/// Several namespaces are watched one by one rather than by one watch across all namespaces
/// filtered here: a user whose grants are Roles in those namespaces may not list at the cluster
/// scope, and the server reads and sends only what was asked for (measured in
/// `docs/performance.md`).
fn collections<'a>(
    config: &Config,
    clusters: &'a [Cluster],
    targets: &'a [Target],
) -> Vec<Collection<'a>> {
    let mut collections = Vec::new();
    for (cluster, target) in clusters
        .iter()
        .flat_map(|cluster| targets.iter().map(move |target| (cluster, target)))
    {
        if !target.namespaced || config.namespaces.is_empty() {
            if !target.namespaced && !config.namespaces.is_empty() {
                let plural = &target.resource.plural;
                let namespaces = config.namespaces.join(",");
                if std::ptr::eq(cluster, &clusters[0]) {
                    tracing::warn!(resource = %plural, namespace = %namespaces, "resource is cluster-scoped; ignoring the namespace");
                }
            }
            collections.push(Collection {
                cluster,
                target,
                namespace: None,
            });
            continue;
        }
        for namespace in &config.namespaces {
            collections.push(Collection {
                cluster,
                target,
                namespace: Some(namespace.clone()),
            });
        }
    }
    collections
}

impl Tasks {
    /// Spawns a reflector over `client` for each of `targets`, the printer of the configured
    /// mode over all of them, and the metrics server if configured; all of them stop when
    /// `stop` is cancelled.
    pub async fn spawn<W>(
        config: Config,
        (clusters, server): (&[Cluster], &str),
        targets: &[Target],
        output: W,
        stop: &CancellationToken,
    ) -> Result<Tasks, RunError>
    where
        W: Write + Send + 'static,
    {
        let collections = collections(&config, clusters, targets);
        let (state, saved) = match &config.state {
            Some(options) => {
                let identity = identity_of(&config, server, &collections);
                let (file, saved) =
                    StateFile::open(&options.path, identity, options.digests_of.clone())?;
                (Some(file), saved)
            }
            None => (None, None),
        };
        if let Some(limit) = crate::runtime::open_file_limit()
            && connections_needed(collections.len()) > limit
        {
            return Err(RunError::TooManyConnections {
                collections: collections.len(),
                limit,
            });
        }
        let several = Several {
            kinds: targets.len() > 1,
            namespaces: config.namespaces.len() > 1,
        };
        let kinds: Vec<Kind> = collections
            .into_iter()
            .enumerate()
            .map(|(index, collection)| {
                let known = saved
                    .as_ref()
                    .and_then(|saved| saved.collections.get(index));
                kind(&config, (collection, known), several)
            })
            .collect();
        let commands = config
            .exec
            .as_ref()
            .map(|_| Arc::new(CommandMetrics::default()));
        let metrics_server = match config.metrics_addr {
            Some(addr) => {
                let mut server = MetricsServer::bind(addr)
                    .await
                    .map_err(|error| RunError::Metrics { addr, error })?;
                if let Some(commands) = &commands {
                    server = server.with_commands(Arc::clone(commands));
                }
                let served = kinds.iter().map(|kind| kind.metrics.clone()).collect();
                Some(tokio::spawn(server.serve(served, stop.clone())))
            }
            None => None,
        };
        let mut reflectors = Vec::new();
        let mut listed = Vec::new();
        let mut changes = Vec::new();
        for kind in kinds {
            let running = tokio::spawn((kind.run)(stop.clone()));
            reflectors.push((kind.context, running));
            listed.push(kind.listed);
            changes.extend(kind.changes);
        }
        let keeper = state.map(|file| {
            let collections = listed
                .iter()
                .map(|kind| remember::Collection {
                    name: Arc::clone(&kind.collection),
                    prefix: kind.prefix.clone(),
                })
                .collect();
            Keeper::new(file, saved.as_ref(), collections, config.interval)
        });
        let mut forwarders = Vec::new();
        let exec = config.exec.clone().zip(commands);
        let printer = if let (Mode::Wait, Some(plan)) = (config.mode, config.wait.clone()) {
            let changes = merge_changes(changes, &mut forwarders);
            tokio::spawn(print_waits(
                changes,
                Stores::new(listed),
                plan,
                output,
                stop.clone(),
            ))
        } else if let (Mode::Events, Some((plan, commands))) = (config.mode, exec.clone()) {
            let types = event_types(&listed);
            let changes = merge_changes(changes, &mut forwarders);
            forwarders.push(tokio::spawn(report_absent_when_synced(
                Stores::new(listed),
                stop.clone(),
            )));
            let filters = (types, config.event_filter.clone());
            let running = (stop.clone(), keeper);
            tokio::spawn(exec_changes(changes, filters, plan, commands, running))
        } else if config.mode == Mode::Events {
            let types = event_types(&listed);
            let changes = merge_changes(changes, &mut forwarders);
            forwarders.push(tokio::spawn(report_absent_when_synced(
                Stores::new(listed),
                stop.clone(),
            )));
            let format = (event_format(&config), types, config.event_filter.clone());
            tokio::spawn(print_events(
                changes,
                format,
                output,
                (stop.clone(), keeper),
            ))
        } else {
            let printer_config = PrinterConfig {
                interval: config.interval,
                once: config.once,
                format: config.format.clone(),
                diff: config.mode == Mode::Diff,
            };
            let stores = Stores::new(listed);
            match exec {
                Some((plan, commands)) => tokio::spawn(exec_listings(
                    stores,
                    printer_config,
                    plan,
                    commands,
                    (stop.clone(), keeper),
                )),
                None => {
                    let printing = (stop.clone(), keeper);
                    tokio::spawn(print_listings(stores, printer_config, output, printing))
                }
            }
        };
        Ok(Tasks {
            reflectors,
            forwarders,
            printer,
            printer_runs_commands: config.exec.is_some(),
            metrics_server,
        })
    }

    /// Waits for a reflector to end, `shutdown` (a signal), or `stop` (the printer is done:
    /// `--once`, or stdout closed), then stops every task and waits for them. A reflector that
    /// failed gets no final listing: the printer is aborted before `stop` would ask it for one.
    ///
    /// With several contexts, a reflector's failure is its context's, not the run's: it is
    /// logged with the context, the collection is left out of listings (its store abandoned),
    /// and the run goes on while any other collection can; only when every one has failed does
    /// the first failure end the run.
    pub async fn join(
        self,
        shutdown: impl Future<Output = Signal>,
        stop: CancellationToken,
    ) -> Result<Ended, RunError> {
        let Tasks {
            reflectors,
            forwarders,
            printer,
            printer_runs_commands,
            metrics_server,
        } = self;
        tokio::pin!(shutdown);
        // A failure ends the printer at once, but for a command's grace.
        let abort = || {
            if !printer_runs_commands {
                printer.abort();
            }
        };
        let several_contexts = reflectors.iter().any(|(context, _)| context.is_some());
        let total = reflectors.len();
        let mut reflectors: FuturesUnordered<_> = reflectors
            .into_iter()
            .map(|(context, running)| async move { (context, running.await) })
            .collect();
        let mut signal = None;
        let mut failures = Failures::default();
        loop {
            let ended = tokio::select! {
                Some(ended) = reflectors.next() => ended,
                received = &mut shutdown => {
                    signal = Some(received);
                    break;
                }
                () = stop.cancelled() => break,
            };
            let (context, result) = ended;
            let result = result.map_err(|err| RunError::Task(err.to_string()))?;
            failures.record(context, result);
            // One cluster: any end is the run's. Several: only every collection failing.
            if !several_contexts || failures.count == total {
                break;
            }
        }
        let ended_the_run =
            failures.first.is_some() && (!several_contexts || failures.count == total);
        if ended_the_run {
            abort();
        }
        stop.cancel();
        while let Some((context, result)) = reflectors.next().await {
            let result = result.map_err(|err| RunError::Task(err.to_string()))?;
            failures.record(context, result);
        }
        let reflector_result = match failures.first.take() {
            Some(err) if !several_contexts || failures.count == total => Err(err),
            _ => Ok(()),
        };
        if reflector_result.is_err() {
            abort();
        }
        let printer_result = printer.await;
        for forwarder in forwarders {
            let _ = forwarder.await;
        }
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        let printer = match printer_result {
            Ok(printed) => printed.map_err(RunError::Output),
            // Aborted: only after a reflector failed, whose error is the run's.
            Err(err) if err.is_cancelled() => Ok(PrinterEnd::Finished),
            Err(err) => Err(RunError::Task(err.to_string())),
        };
        let mut failed_contexts: Vec<String> = failures.contexts.into_iter().collect();
        failed_contexts.sort_unstable();
        Ok(Ended {
            reflector: reflector_result,
            printer,
            signal,
            failed_contexts,
        })
    }
}

/// The reflectors that failed, as [`Tasks::join`] collects them.
#[derive(Default)]
struct Failures {
    /// The first failure: the run's, when it ends the run.
    first: Option<ReflectorError>,
    /// How many failed.
    count: usize,
    /// The contexts they were of, with several.
    contexts: std::collections::BTreeSet<String>,
}

impl Failures {
    /// Records how a reflector of `context` ended; a failure with a context is logged as its
    /// context's, and what its collection had is left out of listings from now on.
    fn record(&mut self, context: Option<Arc<str>>, result: Result<(), ReflectorError>) {
        let Err(err) = result else { return };
        self.count += 1;
        if let Some(context) = context {
            tracing::error!(context = %context, error = %err, "context failed; its objects are left out of the listings");
            self.contexts.insert(context.to_string());
        }
        if self.first.is_none() {
            self.first = Some(err);
        }
    }
}

/// One collection's store, reflector and metrics; its keys prefixed when its kind is one of
/// several.
fn kind(
    config: &Config,
    (collection, known): (Collection<'_>, Option<&Known>),
    several: Several,
) -> Kind {
    let Collection {
        cluster,
        target,
        namespace,
    } = collection;
    let Cluster {
        context,
        connection,
    } = cluster;
    let plural = target.resource.plural.clone();
    // kubectl shows NAMESPACE only when listing across namespaces.
    let across_namespaces = target.namespaced && (namespace.is_none() || several.namespaces);
    let (mut writer, store) = store::new_store();
    let kind_prefix = several.kinds.then(|| kinds::prefix_of(&target.resource));
    // With several contexts, the context comes first: `prod/pod/shop/web-1`.
    let prefix: Option<Arc<str>> = match (context, kind_prefix) {
        (Some(context), Some(kind)) => Some(format!("{context}/{kind}").into()),
        (Some(context), None) => Some(Arc::clone(context)),
        (None, kind) => kind.map(Into::into),
    };
    let collection_name = kinds::collection_of(
        prefix.as_deref(),
        namespace.as_deref().filter(|_| several.namespaces),
    );
    if config.state.is_some() && config.mode == Mode::Events {
        // `--state` saves where each collection is, bookmarks included.
        writer.publish_bookmarks();
    }
    let changes = matches!(config.mode, Mode::Events | Mode::Wait).then(|| {
        // A condition, a template, an event's whole object or the --exec command's stdin
        // reads the objects.
        let reads_objects = config.mode == Mode::Wait
            || event_format(config).reads_objects()
            || config.exec.is_some();
        let changes = if reads_objects {
            writer.changes_with_objects()
        } else {
            writer.changes()
        };
        CollectionChanges {
            changes,
            prefix: prefix.clone(),
            collection: Arc::clone(&collection_name),
        }
    });
    let resource = &target.resource;
    let label = label_of(resource);
    let resume_from = known.and_then(|known| seed(config, &mut writer, known));
    let mut metrics = match namespace.as_deref() {
        Some(namespace) if several.namespaces => {
            Metrics::for_resource(&label).in_namespace(namespace)
        }
        _ => Metrics::for_resource(&label),
    };
    if let Some(context) = context {
        metrics = metrics.in_context(context);
    }
    let metrics = Arc::new(metrics);
    let progress_label = io::stderr().is_terminal().then(|| {
        let label = match namespace.as_deref().filter(|_| several.namespaces) {
            Some(namespace) => format!("{plural} in {namespace}"),
            None => plural.clone(),
        };
        match context {
            Some(context) => format!("{context}: {label}"),
            None => label,
        }
    });
    let plan = ReflectorPlan {
        config: ReflectorConfig {
            give_up_before_sync: config.reflector.give_up_before_sync || config.once,
            list_only: config.reflector.list_only || config.once,
            ..config.reflector.clone()
        },
        target: (
            target.resource.clone(),
            target.namespaced,
            target.names.clone(),
        ),
        namespace: namespace.clone(),
        selectors: Selectors {
            label: config.selectors.label.clone(),
            field: selection::field_selector(config.selectors.field.as_deref(), &target.names),
        },
        source: config.source.clone(),
        metrics: Arc::clone(&metrics),
        resume_from,
        progress_label,
    };
    let scope = Scope {
        plural: plural.clone(),
        namespace: namespace.clone(),
        namespaced: target.namespaced,
    };
    let connection = connection.clone();
    let run: RunReflector =
        Box::new(move |stop| Box::pin(plan.run_once_connected(connection, writer, scope, stop)));
    let listed = KindStore {
        prefix,
        collection: collection_name,
        store: store.clone(),
        columns: Columns {
            namespace: across_namespaces,
            pod_status: plural == "pods",
        },
        object_type: ObjectType::of(resource),
        expected: Expected {
            resource: label.as_str().into(),
            namespace: namespace.as_deref().map(Into::into),
            names: target.names.clone().into(),
        },
        context: context.clone(),
    };
    Kind {
        context: context.clone(),
        run,
        listed,
        changes,
        metrics: (metrics, store),
    }
}

/// What a collection's reflector is made of, but its cluster's client.
struct ReflectorPlan {
    config: ReflectorConfig,
    /// The resource, whether it is namespaced, the names asked for.
    target: (ApiResource, bool, Vec<String>),
    namespace: Option<String>,
    selectors: Selectors,
    source: crate::api::kube_source::SourceOptions,
    metrics: Arc<Metrics>,
    resume_from: Option<String>,
    /// The progress line's label, on a terminal.
    progress_label: Option<String>,
}

impl ReflectorPlan {
    /// The reflector over `client`, filling `writer`.
    fn build(
        self,
        client: kube::Client,
        endpoint: Endpoint,
        writer: store::Writer,
    ) -> Reflector<NameFilter<KubeSource>> {
        let (resource, namespaced, names) = &self.target;
        let source = if *namespaced {
            KubeSource::new(client, resource, self.namespace.clone())
        } else {
            KubeSource::cluster_scoped(client, resource)
        };
        let source = source
            .with_endpoint(endpoint)
            .with_selectors(self.selectors)
            .with_options(self.source);
        let source = NameFilter::new(source, names);
        let mut reflector = Reflector::new(source, writer, self.config).with_metrics(self.metrics);
        if let Some(resource_version) = self.resume_from {
            reflector = reflector.resuming_from(resource_version);
        }
        if let Some(label) = self.progress_label {
            reflector = reflector.with_progress(progress::reporter(label, progress::stderr_line()));
        }
        reflector
    }

    /// Waits for the cluster's connection, then runs the reflector until `stop`; a connection
    /// that could not be made fails the collection (its store abandoned) with its message.
    async fn run_once_connected(
        self,
        connection: Connecting,
        mut writer: store::Writer,
        scope: Scope,
        stop: CancellationToken,
    ) -> Result<(), ReflectorError> {
        let connected = tokio::select! {
            connected = connection => connected,
            () = stop.cancelled() => return Ok(()),
        };
        match connected {
            Ok(connection) => {
                let endpoint = Endpoint::of(&connection);
                self.build(connection.client, endpoint, writer)
                    .run(stop)
                    .await
            }
            Err(error) => {
                writer.abandon();
                Err(ReflectorError::Failed {
                    verb: "connect to list",
                    scope,
                    error: SourceError::Credential(error.to_string()),
                })
            }
        }
    }
}

/// A resource as metrics and the state file name it: `pods`, `deployments.apps`.
fn label_of(resource: &ApiResource) -> String {
    if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

/// What a `--state` file is for: the server, the selectors and the collections of this run.
fn identity_of(config: &Config, server: &str, collections: &[Collection<'_>]) -> Identity {
    Identity {
        server: server.strip_suffix('/').unwrap_or(server).to_owned(),
        label_selector: config.selectors.label.clone().unwrap_or_default(),
        field_selector: config.selectors.field.clone().unwrap_or_default(),
        collections: collections
            .iter()
            .map(|collection| CollectionId {
                resource: label_of(&collection.target.resource),
                namespace: collection.namespace.clone().unwrap_or_default(),
                names: collection.target.names.clone(),
            })
            .collect(),
    }
}

/// Seeds a collection's store with what the previous run knew of it (`--state`), where that
/// helps, and returns the resourceVersion to resume its watch from, where the run may:
/// - a run that watches, whose output reads no object it did not receive (keys, `-o json`'s
///   keys, or `--events`, which prints only changes) resumes: the watch brings the seeded
///   store up to date, with no list while the server still has that resourceVersion;
/// - `--events` also seeds when it lists (`--once` never resumes): the list's differences
///   from what the previous run knew are its first changes;
/// - a listing that prints objects' fields (`-o wide`, a template) lists, and a `--diff`
///   compares with the file itself.
fn seed(config: &Config, writer: &mut store::Writer, known: &Known) -> Option<String> {
    let reads_no_fields = matches!(
        config.format,
        ListingFormat::Own(OutputFormat::Keys | OutputFormat::Json)
    );
    let resumes = !config.once
        && (config.mode == Mode::Events || reads_no_fields)
        && known.resource_version.is_some();
    if !resumes && config.mode != Mode::Events {
        return None;
    }
    let remembered = known
        .objects
        .iter()
        .map(|entry| RawObject::remembered(entry.key.clone(), &entry.resource_version))
        .collect();
    let resource_version = known.resource_version.clone().unwrap_or_default();
    writer.seed(remembered, &resource_version);
    resumes.then_some(resource_version)
}

/// The collections `--events` speaks of: each one's name, key prefix and object type.
fn event_types(listed: &[KindStore]) -> EventTypes {
    let sources = listed
        .iter()
        .map(|kind| EventSource {
            collection: Arc::clone(&kind.collection),
            prefix: kind.prefix.clone(),
            object_type: kind.object_type.clone(),
            context: kind.context.clone(),
        })
        .collect();
    EventTypes(sources)
}

/// `--events` has no listing for the absent objects to be said after: they are said once every
/// collection's initial state is complete (a namespace with nothing, a name not there), and the
/// run goes on, for what is not there yet may come.
async fn report_absent_when_synced(stores: Stores, stop: CancellationToken) {
    tokio::select! {
        () = stores.wait_synced() => {
            report_absent(&stores, false);
        }
        () = stop.cancelled() => {}
    }
}

/// How `--events` prints, from `-o` and `--output-watch-events`: `TYPE key` lines (which name
/// the type already), `{"type","key","resourceVersion"}` or, with `--output-watch-events`,
/// kubectl's `{"type","object"}`; or a template, applied to `{"type","object"}` with
/// `--output-watch-events`.
fn event_format(config: &Config) -> EventFormat {
    match (&config.format, config.output_watch_events) {
        (ListingFormat::Own(OutputFormat::Json), false) => EventFormat::Json,
        (ListingFormat::Own(OutputFormat::Json), true) => EventFormat::JsonObjects,
        // kubectl's `-o name` prints the object's name whatever `--output-watch-events` says.
        (ListingFormat::Template(listing), with_type) => EventFormat::Template {
            listing: listing.clone(),
            with_type: with_type && !listing.template.prints_names(),
        },
        (ListingFormat::Own(_), _) => EventFormat::Lines,
    }
}

/// One queue of every collection's changes, each key prefixed by its kind, fed by a task per
/// collection (pushed onto `forwarders`). A task ends when its collection's reflector has gone
/// (its queue closes) or the printer has (nobody reads). A run's only collection's queue is
/// used as it is.
fn merge_changes(
    mut collections: Vec<CollectionChanges>,
    forwarders: &mut Vec<JoinHandle<()>>,
) -> Receiver<Change> {
    if let [only] = collections.as_slice()
        && only.prefix.is_none()
        && only.collection.is_empty()
        && let Some(only) = collections.pop()
    {
        return only.changes;
    }
    let (sender, merged) = tokio::sync::mpsc::channel(store::CHANGES_CAPACITY);
    for collection in collections {
        let CollectionChanges {
            mut changes,
            prefix,
            collection,
        } = collection;
        let sender = sender.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(mut change) = changes.recv().await {
                change.key = if matches!(
                    change.change_type,
                    ChangeType::Synced | ChangeType::Bookmark
                ) {
                    // A marker's key names its collection.
                    ObjectKey::new(None, &collection)
                } else {
                    kinds::prefixed(prefix.as_deref(), &change.key)
                };
                if sender.send(change).await.is_err() {
                    break;
                }
            }
        }));
    }
    merged
}
