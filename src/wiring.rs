//! The steps of [`crate::run`] on a connection: [`resolve_target`] (what to watch, waiting
//! out a failing server as list and watch do), [`Tasks::spawn`] (the reflector, the printer and
//! the metrics server) and [`Tasks::join`] (how they end together).

use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;

use kube::core::ApiResource;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::failure::FailureClass;
use crate::metrics::{Metrics, MetricsServer};
use crate::printer::{PrinterConfig, PrinterEnd, print_events, print_listings};
use crate::reflector::{Reflector, ReflectorConfig, ReflectorError};
use crate::render::OutputFormat;
use crate::resolve::ResolveError;
use crate::source::{self, Endpoint, KubeSource};
use crate::{Config, Mode, RunError, progress, resolve, store};

/// What was resolved from the resource name.
pub struct Target {
    /// The resource's group, version and plural.
    pub resource: ApiResource,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
}

/// Resolves the configured resource name. A server that is down or failing is waited for with
/// backoff, as list and watch do, unless `--once`; anything else ends the run.
pub async fn resolve_target(
    config: &Config,
    client: &kube::Client,
    endpoint: &Endpoint,
) -> Result<Target, RunError> {
    let mut backoff = Backoff::new(config.reflector.backoff.clone());
    loop {
        match resolve_once(client, endpoint, &config.resource).await {
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

/// `pods` and its other names need no discovery; anything else is looked up like kubectl does.
async fn resolve_once(
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

/// The tasks of a run.
pub struct Tasks {
    reflector: JoinHandle<Result<(), ReflectorError>>,
    printer: JoinHandle<io::Result<PrinterEnd>>,
    metrics_server: Option<JoinHandle<()>>,
}

/// How the tasks of a run ended.
pub struct Ended {
    /// The reflector's end: an error retrying cannot fix, or none.
    pub reflector: Result<(), ReflectorError>,
    /// The printer's end: a failed write, or none (a reader going away is no error).
    pub printer: Result<(), RunError>,
}

impl Tasks {
    /// Spawns the reflector over `client` for `target`, the printer of the configured mode,
    /// and the metrics server if configured; all of them stop when `stop` is cancelled.
    pub async fn spawn<W>(
        config: Config,
        client: kube::Client,
        endpoint: Endpoint,
        target: &Target,
        output: W,
        stop: &CancellationToken,
    ) -> Result<Tasks, RunError>
    where
        W: Write + Send + 'static,
    {
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
        let resource = &target.resource;
        let metrics = Arc::new(Metrics::for_resource(&if resource.group.is_empty() {
            resource.plural.clone()
        } else {
            format!("{}.{}", resource.plural, resource.group)
        }));
        let metrics_server = match config.metrics_addr {
            Some(addr) => {
                let server = MetricsServer::bind(addr)
                    .await
                    .map_err(|error| RunError::Metrics { addr, error })?;
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
        let across_namespaces = target.namespaced && namespace.is_none();
        let source = KubeSource::new(client, &target.resource, namespace)
            .with_endpoint(endpoint)
            .with_selectors(config.selectors)
            .with_options(config.source);
        let mut reflector = Reflector::new(source, writer, reflector_config).with_metrics(metrics);
        if io::stderr().is_terminal() {
            reflector = reflector
                .with_progress(progress::reporter(plural.clone(), progress::stderr_line()));
        }
        let reflector = tokio::spawn(reflector.run(stop.clone()));
        let printer = match changes {
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
                    namespaced: across_namespaces,
                };
                tokio::spawn(print_listings(store, printer_config, output, stop.clone()))
            }
        };
        Ok(Tasks {
            reflector,
            printer,
            metrics_server,
        })
    }

    /// Waits for the reflector to end, `shutdown`, or `stop` (the printer is done: `--once`, or
    /// stdout closed), then stops every task and waits for them. A reflector that failed gets
    /// no final listing: the printer is aborted before `stop` would ask it for one.
    pub async fn join(
        self,
        shutdown: impl Future<Output = ()>,
        stop: CancellationToken,
    ) -> Result<Ended, RunError> {
        let Tasks {
            mut reflector,
            printer,
            metrics_server,
        } = self;
        let reflector_ended = tokio::select! {
            result = &mut reflector => Some(result),
            () = shutdown => None,
            () = stop.cancelled() => None,
        };
        if !matches!(reflector_ended, None | Some(Ok(Ok(())))) {
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
        let printer = match printer_result {
            Ok(printed) => printed.map(|_| ()).map_err(RunError::Output),
            Err(err) if err.is_cancelled() => Ok(()),
            Err(err) => Err(RunError::Task(err.to_string())),
        };
        Ok(Ended {
            reflector: reflector_result,
            printer,
        })
    }
}
