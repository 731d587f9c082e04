//! The library's reflector run in-process against a fake API server over HTTP, and the check
//! that its cache equals the server's truth object by object.

use std::time::Duration;

use kreflect::api::kube_source::{KubeSource, SourceOptions};
use kreflect::cache::backoff::BackoffConfig;
use kreflect::cache::reflector::{Reflector, ReflectorConfig, ReflectorError};
use kreflect::cache::store::{Store, new_store};
use kreflect::connect::client::{ClientOptions, connect_insecure_local};
use kreflect::wire::object::RawObject;
use kreflect_sim::{FakeApiServer, World};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{DEADLINE, poll_until};

/// Short timeouts and backoffs, so fault scenarios run in moments; the protocol is unchanged.
pub fn fast_config() -> ReflectorConfig {
    ReflectorConfig {
        page_size: 500,
        watch_timeout_seconds: 2..=2,
        stall_grace: Duration::from_millis(300),
        backoff: BackoffConfig {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(50),
            reset_after: Duration::from_secs(120),
        },
        give_up_before_sync: false,
        ..ReflectorConfig::default()
    }
}

/// A reflector task mirroring the fake server's pods.
pub struct Mirror {
    pub store: Store,
    namespace: Option<String>,
    stop: CancellationToken,
    task: JoinHandle<Result<(), ReflectorError>>,
}

impl Mirror {
    pub fn start(server: &FakeApiServer, namespace: Option<&str>, config: ReflectorConfig) -> Self {
        Mirror::start_with(server, namespace, config, SourceOptions::default())
    }

    /// [`Mirror::start`], asking for objects as `options` say (`--wire`, `--metadata-only`).
    pub fn start_with(
        server: &FakeApiServer,
        namespace: Option<&str>,
        config: ReflectorConfig,
        options: SourceOptions,
    ) -> Self {
        let client = connect_insecure_local(&server.url(), &ClientOptions::default())
            .expect("client for the fake server");
        let namespace = namespace.map(str::to_owned);
        let source = KubeSource::pods(client, namespace.clone()).with_options(options);
        let (writer, store) = new_store();
        let stop = CancellationToken::new();
        let reflector = Reflector::new(source, writer, config).run(stop.clone());
        let task = tokio::spawn(reflector.in_current_span());
        Mirror {
            store,
            namespace,
            stop,
            task,
        }
    }

    pub async fn synced(&self) {
        tokio::time::timeout(DEADLINE, self.store.wait_synced())
            .await
            .expect("initial sync");
    }

    /// The cache as `(key, resourceVersion)`, sorted.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut objects: Vec<(String, String)> = self
            .store
            .objects()
            .iter()
            .map(|o| (o.key().to_string(), o.resource_version().to_owned()))
            .collect();
        objects.sort();
        objects
    }

    /// The server's pods in this mirror's scope as `(key, resourceVersion)`, sorted.
    pub fn truth(&self, cluster: &World) -> Vec<(String, String)> {
        cluster
            .items()
            .into_iter()
            .filter(|(key, _)| {
                self.namespace
                    .as_deref()
                    .is_none_or(|ns| key.split_once('/').is_some_and(|(k, _)| k == ns))
            })
            .map(|(key, item)| {
                let object = RawObject::from_json(&item, "Pod").expect("server item");
                (key, object.resource_version().to_owned())
            })
            .collect()
    }

    /// Waits until the cache equals the server's truth, key by key and resourceVersion by
    /// resourceVersion; `Err` describes the difference at the deadline.
    pub async fn converged(&self, cluster: &World, deadline: Duration) -> Result<(), String> {
        let ended = poll_until(deadline, async || {
            if self.snapshot() == self.truth(cluster) {
                Some(Ok(()))
            } else if self.task.is_finished() {
                Some(Err("the reflector stopped".to_owned()))
            } else {
                None
            }
        })
        .await;
        if let Some(ended) = ended {
            return ended;
        }
        let (cached, truth) = (self.snapshot(), self.truth(cluster));
        if cached == truth {
            return Ok(());
        }
        let stale: Vec<_> = cached.iter().filter(|o| !truth.contains(o)).collect();
        let missing: Vec<_> = truth.iter().filter(|o| !cached.contains(o)).collect();
        Err(format!(
            "cache differs from the server after {deadline:?}: stale or extra {stale:?}, missing {missing:?}"
        ))
    }

    /// Stops the reflector and returns how it ended.
    pub async fn stop(self) -> Result<(), ReflectorError> {
        self.stop.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("reflector stops")
            .expect("reflector task")
    }
}
