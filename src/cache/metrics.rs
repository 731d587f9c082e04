//! `--metrics-addr`: Prometheus text on `/metrics`, liveness on `/livez`, readiness on `/readyz`
//! (and `/healthz`, kept for compatibility). The reflector counts into [`Metrics`]; the store
//! supplies the gauges; `process` the standard `process_*` families; with `--exec`, the command's
//! runner counts into [`commands::CommandMetrics`].
//!
//! The text is written by hand rather than with the `prometheus-client` crate: a dozen fixed
//! families do not need a registry, and the conventions (HELP/TYPE per family, `_total` counters,
//! timestamps rather than ages, `build_info`) are checked by the tests here.
//!
//! Readiness: 503 until the store is synced, and 503 again while the last successful list or
//! watch start is older than [`READY_LIMIT`] (2 minutes). A healthy reflector starts a watch at
//! least every 50 s (the watch's 40-50 s `timeoutSeconds`), and the backoff is capped well below
//! a minute, so only an outage (the API server unreachable or failing) lets it age past the limit.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache::store::Store;

pub mod commands;
mod process;

use commands::CommandMetrics;

/// How old the last successful list or watch start may be before `/readyz` answers 503.
pub const READY_LIMIT: Duration = Duration::from_secs(120);

/// Counters the reflector updates; all relaxed atomics, cheap on the hot path.
#[derive(Debug, Default)]
pub struct Metrics {
    added: AtomicU64,
    modified: AtomicU64,
    deleted: AtomicU64,
    relists: AtomicU64,
    watch_restarts: AtomicU64,
    backoffs: AtomicU64,
    restore_checks: AtomicU64,
    went_back: AtomicU64,
    resyncs: AtomicU64,
    resync_differences: AtomicU64,
    out_of_scope: AtomicU64,
    /// Milliseconds since the Unix epoch of the last applied event (0: none yet).
    last_event_millis: AtomicU64,
    /// When the last list succeeded or the last watch started (None: neither yet).
    last_contact: Mutex<Option<Instant>>,
    /// The same, in milliseconds since the Unix epoch (0: neither yet), for the gauge an alert
    /// reads ("stale for N minutes").
    last_contact_millis: AtomicU64,
    /// The `resource` label value (`pods`, `deployments.apps`); empty: no label.
    resource: String,
    /// The `namespace` label value, for one namespace of several (`-n a,b`); empty: no label.
    namespace: String,
    /// The `context` label value, for one kubeconfig context of several (`--context a,b`);
    /// empty: no label.
    context: String,
}

/// A label value escaped as the Prometheus text format asks.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What the reflector reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// An ADDED event was applied.
    Added,
    /// A MODIFIED event was applied.
    Modified,
    /// A DELETED event was applied.
    Deleted,
    /// A full list replaced the store.
    Relist,
    /// A watch was reopened from the last resourceVersion seen, after the watch before it, since
    /// the last list, ended or failed. The first watch after a list (the run's first, or a
    /// relist's) is no restart: it is part of that list-and-watch cycle, which
    /// [`Observed::Relist`] counts, so an expired watch counts once, as a relist.
    WatchRestart,
    /// The reflector waited after a failure.
    Backoff,
    /// A watch was opened (any watch, restart or not); only refreshes readiness.
    WatchStarted,
    /// A `limit=1` list checked that the server's state has not gone back in time.
    RestoreCheck,
    /// The server's resourceVersion was found older than the cache's (an etcd restore): a relist
    /// follows.
    WentBack,
    /// A periodic full relist (`--resync-every`) compared the cache with the server.
    Resync,
    /// These many differences found by a periodic full relist that churn cannot explain.
    ResyncDifferences(u64),
    /// An object outside the requested scope (listed, or in a watch event) was dropped.
    OutOfScope,
}

impl Metrics {
    /// Metrics whose families, every one of its reflector and store (events, objects,
    /// relists, backoffs, synced...), carry `resource="<resource>"` (kubectl's spelling: `pods`,
    /// `deployments.apps`): the same label set whatever the invocation, one kind or several
    /// ([`render_kinds`]), so a dashboard or alert written for one works for all, and several
    /// kreflects' scrapes can be told apart and summed.
    pub fn for_resource(resource: &str) -> Self {
        Metrics {
            resource: resource.to_owned(),
            ..Metrics::default()
        }
    }

    /// These metrics with `namespace="<namespace>"` after `resource`: one namespace's of
    /// several (`-n a,b`), whose series would otherwise repeat each other's labels.
    pub fn in_namespace(self, namespace: &str) -> Self {
        Metrics {
            namespace: namespace.to_owned(),
            ..self
        }
    }

    /// These metrics with `context="<context>"` first: one kubeconfig context's of several
    /// (`--context a,b`, `--all-contexts`).
    pub fn in_context(self, context: &str) -> Self {
        Metrics {
            context: context.to_owned(),
            ..self
        }
    }

    /// Whose readiness `/readyz` names: the context and collection these metrics are of.
    fn readiness_name(&self) -> String {
        // One line each, whatever a kubeconfig names a context.
        let mut name = crate::quote::escape_controls(&self.context).into_owned();
        for part in [&self.resource, &self.namespace] {
            if !part.is_empty() {
                if !name.is_empty() {
                    name.push('/');
                }
                name.push_str(part);
            }
        }
        name
    }

    /// The `context="…"` (when set), `resource="…"` and `namespace="…"` (when set) labels,
    /// or nothing without a resource.
    fn resource_label(&self) -> String {
        if self.resource.is_empty() {
            return String::new();
        }
        let labels = [
            ("context", &self.context),
            ("resource", &self.resource),
            ("namespace", &self.namespace),
        ];
        labels
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}=\"{}\"", escape_label(value)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Counts one occurrence.
    pub fn observe(&self, what: Observed) {
        let mut amount = 1;
        let counter = match what {
            Observed::RestoreCheck => &self.restore_checks,
            Observed::WentBack => &self.went_back,
            Observed::Resync => &self.resyncs,
            Observed::ResyncDifferences(differences) => {
                amount = differences;
                &self.resync_differences
            }
            Observed::Added => &self.added,
            Observed::Modified => &self.modified,
            Observed::Deleted => &self.deleted,
            Observed::Relist => &self.relists,
            Observed::WatchRestart => &self.watch_restarts,
            Observed::Backoff => &self.backoffs,
            Observed::OutOfScope => &self.out_of_scope,
            Observed::WatchStarted => {
                self.contact();
                return;
            }
        };
        counter.fetch_add(amount, Ordering::Relaxed);
        if what == Observed::Relist {
            self.contact();
        }
        if matches!(
            what,
            Observed::Added | Observed::Modified | Observed::Deleted
        ) {
            self.last_event_millis
                .store(unix_millis(SystemTime::now()), Ordering::Relaxed);
        }
    }

    fn contact(&self) {
        *self
            .last_contact
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.last_contact_millis
            .store(unix_millis(SystemTime::now()), Ordering::Relaxed);
    }

    /// Whether `/readyz` answers 200: the store is synced and the last successful list or
    /// watch start is at most `limit` old.
    pub fn ready(&self, store: &Store, limit: Duration) -> bool {
        let last = *self
            .last_contact
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        store.is_synced() && !store.is_abandoned() && last.is_some_and(|at| at.elapsed() <= limit)
    }

    /// The Prometheus text exposition of the counters and the store's gauges.
    pub fn render(&self, store: &Store) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut text = String::new();
        let resource = self.resource_label();
        // `{resource="pods",type="ADDED"}` and `{resource="pods"}`; no braces without labels.
        let with_resource = |other: &str| match (resource.is_empty(), other.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("{{{other}}}"),
            (false, true) => format!("{{{resource}}}"),
            (false, false) => format!("{{{resource},{other}}}"),
        };
        text.push_str(
            "# HELP kreflect_events_applied_total Watch events applied to the store, by type.\n",
        );
        text.push_str("# TYPE kreflect_events_applied_total counter\n");
        for (event_type, counter) in [
            ("ADDED", &self.added),
            ("MODIFIED", &self.modified),
            ("DELETED", &self.deleted),
        ] {
            let _ = writeln!(
                text,
                "kreflect_events_applied_total{} {}",
                with_resource(&format!("type=\"{event_type}\"")),
                get(counter)
            );
        }
        let _ = write!(
            text,
            "# HELP kreflect_store_objects Objects in the store.\n\
             # TYPE kreflect_store_objects gauge\n\
             kreflect_store_objects{} {}\n",
            with_resource(""),
            store.object_count()
        );
        let _ = write!(
            text,
            "# HELP kreflect_out_of_scope_objects_total Objects dropped because they lie outside \
             the requested scope (another namespace than the one asked for, none across all \
             namespaces, or one for a cluster-scoped resource).\n\
             # TYPE kreflect_out_of_scope_objects_total counter\n\
             kreflect_out_of_scope_objects_total{} {}\n",
            with_resource(""),
            get(&self.out_of_scope)
        );
        let labels = with_resource("");
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = write!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{labels} {value}\n"
            );
        };
        metric(
            "kreflect_relists_total",
            "counter",
            "Full lists that replaced the store.",
            get(&self.relists).to_string(),
        );
        metric(
            "kreflect_watch_restarts_total",
            "counter",
            "Watches reopened from the last resourceVersion (not the first watch after a list).",
            get(&self.watch_restarts).to_string(),
        );
        metric(
            "kreflect_backoffs_total",
            "counter",
            "Waits after a failed request or broken watch.",
            get(&self.backoffs).to_string(),
        );
        metric(
            "kreflect_restore_checks_total",
            "counter",
            "limit=1 lists that checked the server's resourceVersion has not gone back in time.",
            get(&self.restore_checks).to_string(),
        );
        metric(
            "kreflect_server_went_back_total",
            "counter",
            "Times the server's resourceVersion was older than the cache's (an etcd restore), each followed by a relist.",
            get(&self.went_back).to_string(),
        );
        metric(
            "kreflect_resyncs_total",
            "counter",
            "Periodic full relists (--resync-every) that compared the cache with the server.",
            get(&self.resyncs).to_string(),
        );
        metric(
            "kreflect_resync_differences_total",
            "counter",
            "Objects a periodic full relist found wrong in the cache (0 expected: a bug, or a restore).",
            get(&self.resync_differences).to_string(),
        );
        // 0 before the first event, as Prometheus client libraries leave an unset gauge: the
        // family is always there, and `time() - kreflect_last_event_timestamp_seconds` is huge.
        let last = get(&self.last_event_millis);
        metric(
            "kreflect_last_event_timestamp_seconds",
            "gauge",
            "Unix time of the last applied watch event (0 before the first).",
            format!("{:.3}", last as f64 / 1000.0),
        );
        metric(
            "kreflect_last_contact_timestamp_seconds",
            "gauge",
            "Unix time of the last successful list or watch start (0 before the first): an alert on time() minus it says how long the mirror has been out of touch.",
            format!("{:.3}", get(&self.last_contact_millis) as f64 / 1000.0),
        );
        metric(
            "kreflect_synced",
            "gauge",
            "1 once the initial list is in the store; 0 again if its reflector gave up for good.",
            u8::from(store.is_synced() && !store.is_abandoned()).to_string(),
        );
        let _ = write!(
            text,
            "# HELP kreflect_build_info A metric with a constant '1' value labeled by the kreflect version.\n\
             # TYPE kreflect_build_info gauge\n\
             kreflect_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        process::render(&mut text);
        text
    }
}

/// The Prometheus text of several kinds' metrics: each family once (its `HELP` and `TYPE`
/// lines, then every kind's samples); the families that are not per kind (`build_info`,
/// `process_*`) from the first kind only. One kind's text is [`Metrics::render`]'s.
pub fn render_kinds(kinds: &[(Arc<Metrics>, Store)]) -> String {
    let mut families: Vec<(String, Vec<String>)> = Vec::new();
    for (index, (metrics, store)) in kinds.iter().enumerate() {
        let mut current = None;
        for line in metrics.render(store).lines() {
            if let Some(header) = line
                .strip_prefix("# HELP ")
                .or(line.strip_prefix("# TYPE "))
            {
                let name = header.split(' ').next().unwrap_or_default();
                let at = families.iter().position(|(family, _)| family == name);
                current = Some(at.unwrap_or_else(|| {
                    families.push((name.to_owned(), Vec::new()));
                    families.len() - 1
                }));
                if index > 0 {
                    continue;
                }
            } else if index > 0 && !line.contains("resource=\"") {
                continue;
            }
            if let Some((_, lines)) = current.and_then(|at| families.get_mut(at)) {
                lines.push(line.to_owned());
            }
        }
    }
    let mut text = String::new();
    for line in families.iter().flat_map(|(_, lines)| lines) {
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// How long the metrics server waits for a request's headers before closing the connection.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the metrics server waits after a failed `accept` before the next.
const ACCEPT_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// A bound metrics endpoint, serving until `stop`.
pub struct MetricsServer {
    listener: TcpListener,
    ready_limit: Duration,
    /// The `--exec` command's metrics, when it runs.
    commands: Option<Arc<CommandMetrics>>,
}

impl MetricsServer {
    /// Binds `addr` (e.g. `127.0.0.1:9090`; port 0 picks one).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(MetricsServer {
            listener: TcpListener::bind(addr).await?,
            ready_limit: READY_LIMIT,
            commands: None,
        })
    }

    /// Also serves the `--exec` command's families, from `commands`.
    pub fn with_commands(mut self, commands: Arc<CommandMetrics>) -> Self {
        self.commands = Some(commands);
        self
    }

    /// Replaces [`READY_LIMIT`], the age of the last list or watch start past which `/readyz`
    /// answers 503.
    #[cfg(test)]
    fn with_ready_limit(mut self, limit: Duration) -> Self {
        self.ready_limit = limit;
        self
    }

    /// The bound address.
    #[cfg(test)]
    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `/metrics`, `/livez`, `/readyz` and `/healthz` for these kinds (each kind's
    /// metrics and store; `/readyz` is ready when every kind is) until `stop` is cancelled;
    /// waits for open connections.
    pub async fn serve(self, kinds: Vec<(Arc<Metrics>, Store)>, stop: CancellationToken) {
        let served = Arc::new(Served {
            kinds,
            commands: self.commands.clone(),
        });
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            // A finished connection's task stays in the set until joined: reap them, or every
            // scrape would keep its task's memory for the rest of the run.
            while connections.try_join_next().is_some() {}
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors, say: accept fails at once until one is freed, so
                    // pause instead of spinning.
                    tracing::debug!(error = %err, "metrics: accept failed");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            };
            let (served, stop) = (Arc::clone(&served), stop.clone());
            let ready_limit = self.ready_limit;
            connections.spawn(async move {
                let service = service_fn(move |request| {
                    let response = respond(&request, &served, ready_limit);
                    async move { Ok::<_, Infallible>(response) }
                });
                // A client that connects and never sends its request is dropped, so idle
                // connections cannot pile up and take every file descriptor.
                let connection = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = stop.cancelled() => connection.as_mut().graceful_shutdown(),
                }
            });
        }
        connections.shutdown().await;
    }
}

/// What the metrics server serves: each kind's metrics and store, and the `--exec` command's.
struct Served {
    kinds: Vec<(Arc<Metrics>, Store)>,
    commands: Option<Arc<CommandMetrics>>,
}

fn respond<B>(
    request: &Request<B>,
    served: &Served,
    ready_limit: Duration,
) -> Response<Full<Bytes>> {
    let kinds = &served.kinds;
    let ready = kinds
        .iter()
        .all(|(metrics, store)| metrics.ready(store, ready_limit));
    let synced = kinds.iter().all(|(_, store)| store.is_synced());
    let (status, content_type, body) = match request.uri().path() {
        "/metrics" => {
            let mut text = render_kinds(kinds);
            if let Some(commands) = &served.commands {
                commands.render(&mut text);
            }
            (StatusCode::OK, "text/plain; version=0.0.4", text)
        }
        "/livez" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        // Several contexts: each collection's readiness, as kube-apiserver's verbose /readyz
        // lists its checks, so a probe's log says which cluster is behind.
        "/readyz" | "/healthz" if kinds.iter().any(|(metrics, _)| !metrics.context.is_empty()) => {
            let mut text = String::new();
            for (metrics, store) in kinds {
                let (mark, state) = if metrics.ready(store, ready_limit) {
                    ('+', "ready")
                } else if store.is_abandoned() {
                    ('-', "failed")
                } else if !store.is_synced() {
                    ('-', "not synced")
                } else {
                    ('-', "no successful list or watch start recently")
                };
                text.push_str(&format!("[{mark}]{} {state}\n", metrics.readiness_name()));
            }
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, "text/plain", text)
        }
        "/readyz" | "/healthz" if ready => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/readyz" | "/healthz" if !synced => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not synced\n".to_owned(),
        ),
        "/readyz" | "/healthz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "no successful list or watch start recently\n".to_owned(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::cache::store::new_store;
    use crate::wire::object::RawObject;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    }

    #[tokio::test]
    async fn renders_counters_and_gauges() {
        let metrics = Metrics::default();
        let (mut writer, store) = new_store();
        metrics.observe(Observed::Added);
        metrics.observe(Observed::Added);
        metrics.observe(Observed::Deleted);
        metrics.observe(Observed::Relist);
        metrics.observe(Observed::WatchRestart);
        metrics.observe(Observed::Backoff);
        metrics.observe(Observed::OutOfScope);
        writer
            .replace(
                vec![
                    RawObject::from_json(br#"{"metadata":{"name":"a","namespace":"n"}}"#, "Pod")
                        .expect("pod"),
                ],
                "1",
            )
            .await;
        let text = metrics.render(&store);
        for line in [
            "kreflect_events_applied_total{type=\"ADDED\"} 2",
            "kreflect_events_applied_total{type=\"MODIFIED\"} 0",
            "kreflect_events_applied_total{type=\"DELETED\"} 1",
            "kreflect_relists_total 1",
            "kreflect_watch_restarts_total 1",
            "kreflect_backoffs_total 1",
            "kreflect_out_of_scope_objects_total 1",
            "# TYPE kreflect_out_of_scope_objects_total counter",
            "kreflect_store_objects 1",
            "kreflect_synced 1",
            "# TYPE kreflect_store_objects gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let stamp = text
            .lines()
            .find_map(|l| l.strip_prefix("kreflect_last_event_timestamp_seconds "))
            .and_then(|v| v.parse::<f64>().ok())
            .expect("last event timestamp");
        assert!(
            (before - 5.0..=before).contains(&stamp),
            "{stamp} is not the Unix time of the last event (now {before})"
        );
        // A relist is contact with the server: its time is the gauge an alert reads.
        let contact = text
            .lines()
            .find_map(|l| l.strip_prefix("kreflect_last_contact_timestamp_seconds "))
            .and_then(|v| v.parse::<f64>().ok())
            .expect("last contact timestamp");
        assert!(
            (before - 5.0..=before).contains(&contact),
            "{contact} is not the Unix time of the last relist (now {before})"
        );
        assert!(!text.contains("seconds_since"), "{text}");
        let fresh = Metrics::default().render(&store);
        assert!(
            fresh.contains("\nkreflect_last_contact_timestamp_seconds 0.000\n"),
            "{fresh}"
        );
        assert!(
            fresh.contains(
                "# TYPE kreflect_last_event_timestamp_seconds gauge\nkreflect_last_event_timestamp_seconds 0.000\n"
            ),
            "{fresh}"
        );
    }

    #[tokio::test]
    async fn labels_the_per_resource_families_with_the_resource() {
        let (_writer, store) = new_store();
        let metrics = Metrics::for_resource("deployments.apps");
        metrics.observe(Observed::Modified);
        let text = metrics.render(&store);
        for line in [
            "kreflect_events_applied_total{resource=\"deployments.apps\",type=\"ADDED\"} 0",
            "kreflect_events_applied_total{resource=\"deployments.apps\",type=\"MODIFIED\"} 1",
            "kreflect_store_objects{resource=\"deployments.apps\"} 0",
            "kreflect_out_of_scope_objects_total{resource=\"deployments.apps\"} 0",
            "kreflect_relists_total{resource=\"deployments.apps\"} 0",
            "kreflect_backoffs_total{resource=\"deployments.apps\"} 0",
            "kreflect_synced{resource=\"deployments.apps\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let odd = Metrics::for_resource("a\"b\\c").render(&store);
        assert!(
            odd.contains("kreflect_store_objects{resource=\"a\\\"b\\\\c\"} 0"),
            "{odd}"
        );
    }

    #[tokio::test]
    async fn renders_build_info_and_one_help_and_type_per_family() {
        let (_writer, store) = new_store();
        let text = Metrics::default().render(&store);
        let info = format!(
            "kreflect_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(
            text.lines().any(|l| l == info),
            "missing {info:?} in\n{text}"
        );
        assert!(
            text.contains("# TYPE kreflect_build_info gauge\n"),
            "{text}"
        );
        let mut families = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).expect("name");
            assert!(!families.contains(&name), "{name} typed twice in\n{text}");
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP"
            );
            let counter = line.ends_with(" counter");
            assert_eq!(counter, name.ends_with("_total"), "{line}");
            families.push(name);
        }
        #[cfg(target_os = "linux")]
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "process_open_fds",
        ] {
            assert!(families.contains(&name), "missing {name} in\n{text}");
        }
    }

    #[tokio::test]
    async fn a_context_that_failed_after_its_sync_is_neither_ready_nor_synced() {
        let (mut writer, store) = new_store();
        let metrics = Arc::new(Metrics::for_resource("pods").in_context("prod"));
        let request = |path: &str| Request::get(path).body(()).expect("request");
        writer.replace(Vec::new(), "1").await;
        metrics.observe(Observed::Relist);
        let served = Served {
            kinds: vec![(Arc::clone(&metrics), store.clone())],
            commands: None,
        };
        let readyz = respond(&request("/readyz"), &served, READY_LIMIT);
        assert_eq!(readyz.status(), StatusCode::OK);
        writer.abandon();
        let readyz = respond(&request("/readyz"), &served, READY_LIMIT);
        assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
        let text = metrics.render(&store);
        assert!(
            text.contains("kreflect_synced{context=\"prod\",resource=\"pods\"} 0"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn readyz_goes_back_to_503_when_no_list_or_watch_started_within_the_limit() {
        let (mut writer, store) = new_store();
        let limit = Duration::from_millis(300);
        let server = MetricsServer::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind")
            .with_ready_limit(limit);
        let addr = server.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let task = tokio::spawn(server.serve(vec![(Arc::clone(&metrics), store)], stop.clone()));
        writer.replace(Vec::new(), "1").await;
        metrics.observe(Observed::Relist);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(limit * 2).await;
        let stale = get(addr, "/readyz").await;
        assert!(stale.starts_with("HTTP/1.1 503"), "{stale}");
        assert!(
            stale.ends_with("\r\n\r\nno successful list or watch start recently\n"),
            "{stale}"
        );
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 503"));
        assert!(get(addr, "/livez").await.starts_with("HTTP/1.1 200"));
        metrics.observe(Observed::WatchStarted);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        stop.cancel();
        task.await.expect("server stops");
    }

    #[tokio::test]
    async fn with_several_kinds_readyz_waits_for_every_kind_and_each_family_is_written_once() {
        let (mut pods_writer, pods_store) = new_store();
        let (_, deployments_store) = new_store();
        let pods = Arc::new(Metrics::for_resource("pods"));
        let deployments = Arc::new(Metrics::for_resource("deployments.apps"));
        let kinds = vec![
            (Arc::clone(&pods), pods_store),
            (Arc::clone(&deployments), deployments_store),
        ];
        pods_writer.replace(Vec::new(), "1").await;
        pods.observe(Observed::Relist);
        let request = |path: &str| Request::get(path).body(()).expect("request");
        let served = Served {
            kinds,
            commands: None,
        };
        let readyz = respond(&request("/readyz"), &served, READY_LIMIT);
        assert_eq!(
            readyz.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "deployments not synced"
        );
        let text = render_kinds(&served.kinds);
        for line in [
            "kreflect_relists_total{resource=\"pods\"} 1",
            "kreflect_relists_total{resource=\"deployments.apps\"} 0",
            "kreflect_synced{resource=\"deployments.apps\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // One family: its HELP and TYPE once, then every kind's sample, in the kinds' order.
        assert!(
            text.contains(
                "# HELP kreflect_relists_total Full lists that replaced the store.\n\
                 # TYPE kreflect_relists_total counter\n\
                 kreflect_relists_total{resource=\"pods\"} 1\n\
                 kreflect_relists_total{resource=\"deployments.apps\"} 0\n"
            ),
            "{text}"
        );
        for family in ["kreflect_relists_total", "kreflect_build_info"] {
            let help = format!("# HELP {family} ");
            let headers = text.lines().filter(|l| l.starts_with(&help)).count();
            assert_eq!(headers, 1, "{family} in\n{text}");
        }
        assert_eq!(text.matches("kreflect_build_info{").count(), 1, "{text}");
    }

    #[tokio::test]
    async fn serves_metrics_and_a_healthz_that_waits_for_sync() {
        let (mut writer, store) = new_store();
        let server = MetricsServer::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let task = tokio::spawn(server.serve(vec![(Arc::clone(&metrics), store)], stop.clone()));
        let before = get(addr, "/healthz").await;
        assert!(before.starts_with("HTTP/1.1 503"), "{before}");
        assert!(before.ends_with("\r\n\r\nnot synced\n"), "{before}");
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        assert!(get(addr, "/livez").await.starts_with("HTTP/1.1 200"));
        writer.replace(Vec::new(), "1").await;
        metrics.observe(Observed::Relist);
        let after = get(addr, "/healthz").await;
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        let metrics = get(addr, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        // A line of its own: the HELP line says "kreflect_synced 1 once ...".
        assert!(metrics.contains("\nkreflect_synced 1\n"), "{metrics}");
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        stop.cancel();
        task.await.expect("server stops");
    }
}
