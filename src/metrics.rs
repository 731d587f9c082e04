//! `--metrics-addr`: Prometheus text on `/metrics` and a readiness probe on `/healthz` (503 until
//! the store is synced). The reflector counts into [`Metrics`]; the store supplies the gauges.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// Counters the reflector updates; all relaxed atomics, cheap on the hot path.
#[derive(Debug, Default)]
pub struct Metrics {
    added: AtomicU64,
    modified: AtomicU64,
    deleted: AtomicU64,
    relists: AtomicU64,
    watch_restarts: AtomicU64,
    backoffs: AtomicU64,
    /// Milliseconds since the Unix epoch of the last applied event (0: none yet).
    last_event_millis: AtomicU64,
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
}

impl Metrics {
    /// Counts one occurrence.
    pub fn observe(&self, what: Observed) {
        let counter = match what {
            Observed::Added => &self.added,
            Observed::Modified => &self.modified,
            Observed::Deleted => &self.deleted,
            Observed::Relist => &self.relists,
            Observed::WatchRestart => &self.watch_restarts,
            Observed::Backoff => &self.backoffs,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if matches!(
            what,
            Observed::Added | Observed::Modified | Observed::Deleted
        ) {
            self.last_event_millis
                .store(unix_millis(SystemTime::now()), Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition of the counters and the store's gauges.
    pub fn render(&self, store: &Store, now: SystemTime) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut text = String::new();
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
                "kreflect_events_applied_total{{type=\"{event_type}\"}} {}",
                get(counter)
            );
        }
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = write!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
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
            "kreflect_store_objects",
            "gauge",
            "Objects in the store.",
            store.object_count().to_string(),
        );
        let last = get(&self.last_event_millis);
        let since = if last == 0 {
            "NaN".to_owned()
        } else {
            format!(
                "{:.3}",
                unix_millis(now).saturating_sub(last) as f64 / 1000.0
            )
        };
        metric(
            "kreflect_seconds_since_last_event",
            "gauge",
            "Seconds since the last applied event (NaN before the first).",
            since,
        );
        metric(
            "kreflect_synced",
            "gauge",
            "1 once the initial list is in the store.",
            u8::from(store.is_synced()).to_string(),
        );
        text
    }
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
}

impl MetricsServer {
    /// Binds `addr` (e.g. `127.0.0.1:9090`; port 0 picks one).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(MetricsServer {
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `/metrics` and `/healthz` until `stop` is cancelled; waits for open connections.
    pub async fn serve(self, metrics: Arc<Metrics>, store: Store, stop: CancellationToken) {
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
            let (metrics, store, stop) = (Arc::clone(&metrics), store.clone(), stop.clone());
            connections.spawn(async move {
                let service = service_fn(move |request| {
                    let response = respond(&request, &metrics, &store);
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

fn respond<B>(request: &Request<B>, metrics: &Metrics, store: &Store) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match request.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            metrics.render(store, SystemTime::now()),
        ),
        "/healthz" if store.is_synced() => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/healthz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not synced\n".to_owned(),
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
    use crate::object::RawObject;
    use crate::store::new_store;

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
        writer
            .replace(
                vec![
                    RawObject::from_json(br#"{"metadata":{"name":"a","namespace":"n"}}"#, "Pod")
                        .expect("pod"),
                ],
                "1",
            )
            .await;
        let text = metrics.render(&store, SystemTime::now());
        for line in [
            "kreflect_events_applied_total{type=\"ADDED\"} 2",
            "kreflect_events_applied_total{type=\"MODIFIED\"} 0",
            "kreflect_events_applied_total{type=\"DELETED\"} 1",
            "kreflect_relists_total 1",
            "kreflect_watch_restarts_total 1",
            "kreflect_backoffs_total 1",
            "kreflect_store_objects 1",
            "kreflect_synced 1",
            "# TYPE kreflect_store_objects gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let since = text
            .lines()
            .find_map(|l| l.strip_prefix("kreflect_seconds_since_last_event "))
            .and_then(|v| v.parse::<f64>().ok())
            .expect("seconds since last event");
        assert!((0.0..5.0).contains(&since), "{since}");
        let fresh = Metrics::default().render(&store, SystemTime::now());
        assert!(
            fresh.contains("kreflect_seconds_since_last_event NaN"),
            "{fresh}"
        );
    }

    #[tokio::test]
    async fn serves_metrics_and_a_healthz_that_waits_for_sync() {
        let (mut writer, store) = new_store();
        let server = MetricsServer::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let task = tokio::spawn(server.serve(Arc::new(Metrics::default()), store, stop.clone()));
        let before = get(addr, "/healthz").await;
        assert!(before.starts_with("HTTP/1.1 503"), "{before}");
        writer.replace(Vec::new(), "1").await;
        let after = get(addr, "/healthz").await;
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
        let metrics = get(addr, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("kreflect_synced 1"), "{metrics}");
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        stop.cancel();
        task.await.expect("server stops");
    }
}
