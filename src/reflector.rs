//! The reflector: LIST (in pages), replace the store, WATCH from the list's resourceVersion,
//! apply events, and recover from every failure, as client-go's `Reflector.ListAndWatch` does.
//!
//! The whole transition table is [`Reflector::step`]: one network operation per step, from one
//! [`State`] to the next [`Step`].
//!
//! | state | outcome | next |
//! |---|---|---|
//! | `Listing` | all pages listed | store replaced, `Watching { list rv }` |
//! | `Listing` | continue token expired (410) | list again without pages |
//! | any | 401 / 403 | stop with [`ReflectorError::Forbidden`] |
//! | any | other failure | backoff (honouring `Retry-After`), same state |
//! | any | untrusted TLS certificate | stop with [`ReflectorError::Failed`] |
//! | any | failure before the first sync with `give_up_before_sync` | stop with [`ReflectorError::Failed`] |
//! | `Watching` | 410 at start or ERROR event with 410 | `Listing` (relist) |
//! | `Watching` | stream ended by the server | `Watching { last rv }` (backoff if it ended at once, empty) |
//! | `Watching` | stream broken (reset, cut line) | backoff, `Watching { last rv }` |
//! | `Watching` | nothing received for longer than the watch timeout | `Watching { last rv }` |
//! | `Watching` | a line that is not JSON | backoff, `Listing` (the change it carried is unknown) |
//! | `Watching` | an event that cannot be keyed or has an unknown type | skipped with a warning |
//!
//! With [`ReflectorConfig::streaming_list`], `Listing` first tries a streaming list: a watch with
//! `sendInitialEvents=true`, whose ADDED events fill a fresh buffer until the BOOKMARK annotated
//! `k8s.io/initial-events-end`; then the store is replaced in one step and the same stream goes on
//! as the watch. A server that cannot do it is detected and the reflector falls back to the paged
//! list for the rest of the run: a 4xx answer (v1.25 says 422, transcript 09), a plain watch (an
//! ordinary BOOKMARK before the end marker, or the stream ending without it), or nothing at all
//! for `initial_events_timeout`.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace, warn};

use crate::backoff::{Backoff, BackoffConfig};
use crate::decode::{DecodeError, WatchEvent};
use crate::metrics::{Metrics, Observed};
use crate::object::{ObjectError, ObjectKey, RawObject};
use crate::source::{
    ListRequest, ListWatch, Scope, SourceError, StreamError, WatchRequest, WatchStream,
};
use crate::store::Writer;

/// How the reflector lists, watches and backs off.
#[derive(Clone, Debug)]
pub struct ReflectorConfig {
    /// Objects per list page (`limit`).
    pub page_size: u32,
    /// `timeoutSeconds` of each watch is drawn from this range, so many clients do not reconnect
    /// in step. Keep it below the HTTP client's read timeout.
    pub watch_timeout_seconds: RangeInclusive<u32>,
    /// A watch that received nothing for its timeout plus this grace is dead.
    pub stall_grace: Duration,
    /// A watch that ends with no event sooner than this counts as a failure (no hot loop against
    /// a server that closes every watch at once).
    pub min_watch_duration: Duration,
    /// Backoff between failed attempts.
    pub backoff: BackoffConfig,
    /// Stop with an error at the first failure before the store is synced (`--once`).
    pub give_up_before_sync: bool,
    /// Get the initial state with a streaming list (`--streaming-list`), falling back to the
    /// paged list when the server does not answer that way.
    pub streaming_list: bool,
    /// A streaming list that delivers no event for this long before its initial-events-end
    /// BOOKMARK is given up for the paged list.
    pub initial_events_timeout: Duration,
}

impl Default for ReflectorConfig {
    fn default() -> Self {
        ReflectorConfig {
            page_size: 500,
            watch_timeout_seconds: 240..=290,
            stall_grace: Duration::from_secs(5),
            min_watch_duration: Duration::from_secs(1),
            backoff: BackoffConfig::default(),
            give_up_before_sync: false,
            streaming_list: false,
            initial_events_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the reflector stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum ReflectorError {
    /// The server refused us (401/403): retrying will not help.
    #[error(
        "not allowed to {verb} {scope}: {message}; grant this user list and watch on {plural} \
         (RBAC), or pick a namespace you may read with -n NAMESPACE",
        message = .status.message,
        plural = .scope.plural
    )]
    Forbidden {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was refused.
        scope: Scope,
        /// The server's answer.
        status: crate::decode::ApiStatus,
    },
    /// A failure retrying cannot fix (an untrusted certificate), or the first failure before
    /// the first sync when the caller asked not to retry.
    #[error("cannot {verb} {scope}: {source}")]
    Failed {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was being listed.
        scope: Scope,
        /// The failure.
        #[source]
        source: SourceError,
    },
}

/// Where the reflector is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// A full list is needed (start, or the watch history is gone).
    Listing,
    /// The store is synced up to `resource_version`; watch from there.
    Watching {
        /// The last resourceVersion seen (list, event or bookmark).
        resource_version: String,
    },
}

/// What one step decided.
#[derive(Debug)]
pub enum Step {
    /// Go on to this state now.
    Next(State),
    /// Wait this long, then go on to this state.
    Backoff(State, Duration),
    /// Stop with this error.
    Fatal(ReflectorError),
}

/// How far a list has got, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListProgress {
    /// Objects received so far.
    pub objects: usize,
    /// Pages received so far.
    pub pages: u32,
    /// Time since the list started.
    pub elapsed: Duration,
    /// Whether the list is complete (the store has just been replaced).
    pub done: bool,
}

type ProgressReporter = Box<dyn Fn(ListProgress) + Send + Sync>;

/// Keeps a [`Writer`] in step with what a [`ListWatch`] source serves.
pub struct Reflector<S> {
    source: S,
    writer: Writer,
    config: ReflectorConfig,
    backoff: Backoff,
    synced: bool,
    metrics: Arc<Metrics>,
    progress: Option<ProgressReporter>,
    /// Try a streaming list when listing; cleared once the server shows it cannot do it.
    stream_lists: bool,
}

impl<S: ListWatch> Reflector<S> {
    /// A reflector filling `writer` from `source`.
    pub fn new(source: S, writer: Writer, config: ReflectorConfig) -> Self {
        let backoff = Backoff::new(config.backoff.clone());
        let stream_lists = config.streaming_list;
        Reflector {
            source,
            writer,
            config,
            backoff,
            synced: false,
            metrics: Arc::default(),
            progress: None,
            stream_lists,
        }
    }

    /// Counts lists, watches, backoffs and applied events into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Calls `report` after each page of every full list, and once when it is complete.
    pub fn with_progress(mut self, report: impl Fn(ListProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(report));
        self
    }

    fn report(&self, progress: ListProgress) {
        if let Some(report) = &self.progress {
            report(progress);
        }
    }

    /// Lists and watches until `stop` is cancelled (then `Ok`) or a fatal error.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), ReflectorError> {
        let mut state = State::Listing;
        loop {
            let step = tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                step = self.step(state) => step,
            };
            state = match step {
                Step::Next(next) => next,
                Step::Backoff(next, delay) => {
                    self.metrics.observe(Observed::Backoff);
                    debug!(delay_ms = delay.as_millis() as u64, next = ?next, "backing off");
                    tokio::select! {
                        _ = stop.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(delay) => next,
                    }
                }
                Step::Fatal(err) => return Err(err),
            };
        }
    }

    /// Performs one transition from `state`.
    pub async fn step(&mut self, state: State) -> Step {
        match state {
            State::Listing if self.stream_lists => self.stream_list().await,
            State::Listing => self.list().await,
            State::Watching { resource_version } => self.watch(resource_version).await,
        }
    }

    async fn list(&mut self) -> Step {
        let started = Instant::now();
        match self.list_all_pages().await {
            Ok((objects, resource_version, pages)) => {
                let count = objects.len();
                self.writer.replace(objects, &resource_version).await;
                self.synced = true;
                self.metrics.observe(Observed::Relist);
                self.report(ListProgress {
                    objects: count,
                    pages,
                    elapsed: started.elapsed(),
                    done: true,
                });
                debug!(
                    scope = %self.source.scope(),
                    objects = count,
                    pages,
                    resource_version = %resource_version,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "listed"
                );
                Step::Next(State::Watching { resource_version })
            }
            Err(err) => self.failed("list", State::Listing, err),
        }
    }

    /// Lists every page of one consistent list; restarts unpaged if a continue token expires.
    async fn list_all_pages(&mut self) -> Result<(Vec<RawObject>, String, u32), SourceError> {
        let started = Instant::now();
        let mut objects = Vec::new();
        let mut request = ListRequest {
            limit: Some(self.config.page_size).filter(|&limit| limit > 0),
            continue_token: None,
        };
        let mut pages = 0;
        loop {
            match self.source.list(request.clone()).await {
                Ok(page) => {
                    pages += 1;
                    for rejected in &page.rejected {
                        warn!(scope = %self.source.scope(), error = %rejected, "skipped a listed object");
                    }
                    objects.extend(page.items);
                    self.report(ListProgress {
                        objects: objects.len(),
                        pages,
                        elapsed: started.elapsed(),
                        done: false,
                    });
                    match page.continue_token {
                        Some(token) => request.continue_token = Some(token),
                        None => return Ok((objects, page.resource_version, pages)),
                    }
                }
                Err(SourceError::Status { status, .. })
                    if status.is_expired() && request.continue_token.is_some() =>
                {
                    info!(scope = %self.source.scope(), pages, "continue token expired; listing again without pages");
                    objects.clear();
                    request = ListRequest::default();
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// A streaming list: the initial state as watch events up to the initial-events-end
    /// BOOKMARK, then the same stream as the watch. Falls back to the paged list for good when
    /// the server shows it cannot stream lists.
    async fn stream_list(&mut self) -> Step {
        let started = Instant::now();
        let timeout_seconds = self.watch_timeout_seconds();
        let request = WatchRequest {
            resource_version: String::new(),
            timeout_seconds,
            send_initial_events: true,
        };
        let mut stream = match self.source.watch(request).await {
            Ok(stream) => stream,
            Err(SourceError::Status { status, .. })
                if (400..500).contains(&status.code) && !matches!(status.code, 401 | 403 | 429) =>
            {
                let reason = format!("the server answered {} {}", status.code, status.reason);
                return self.fall_back_to_paged_list(&reason);
            }
            Err(err) => return self.failed("watch", State::Listing, err),
        };
        let mut objects: HashMap<ObjectKey, RawObject> = HashMap::new();
        loop {
            let next = match tokio::time::timeout(self.config.initial_events_timeout, stream.next())
                .await
            {
                Ok(next) => next,
                Err(_) => {
                    let reason = format!(
                        "no initial-events-end bookmark after {} s without events",
                        self.config.initial_events_timeout.as_secs()
                    );
                    return self.fall_back_to_paged_list(&reason);
                }
            };
            match next {
                None => {
                    return self.fall_back_to_paged_list(
                        "the watch ended before the initial-events-end bookmark",
                    );
                }
                Some(Ok(WatchEvent::Added(object) | WatchEvent::Modified(object))) => {
                    objects.insert(object.key().clone(), object);
                }
                Some(Ok(WatchEvent::Deleted(object))) => {
                    objects.remove(object.key());
                }
                Some(Ok(WatchEvent::Bookmark(_))) => {
                    return self.fall_back_to_paged_list(
                        "a bookmark without the initial-events-end annotation (a plain watch)",
                    );
                }
                Some(Ok(WatchEvent::InitialEventsEnd(resource_version))) => {
                    let count = objects.len();
                    self.writer
                        .replace(objects.into_values().collect(), &resource_version)
                        .await;
                    self.synced = true;
                    self.metrics.observe(Observed::Relist);
                    self.metrics.observe(Observed::WatchStart);
                    self.report(ListProgress {
                        objects: count,
                        pages: 0,
                        elapsed: started.elapsed(),
                        done: true,
                    });
                    debug!(
                        scope = %self.source.scope(),
                        objects = count,
                        resource_version = %resource_version,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "streamed the initial list"
                    );
                    return self
                        .consume(stream, resource_version, timeout_seconds)
                        .await;
                }
                Some(Ok(WatchEvent::Error(status))) => {
                    let err = SourceError::Status {
                        status,
                        retry_after: None,
                    };
                    return self.failed("watch", State::Listing, err);
                }
                Some(Err(StreamError::BadLine { offset, error })) if is_skippable(&error) => {
                    warn!(scope = %self.source.scope(), offset, error = %error, "skipped a watch event that cannot be applied");
                }
                Some(Err(err)) => {
                    info!(scope = %self.source.scope(), error = %err, "streaming list broken; starting again");
                    return Step::Backoff(State::Listing, self.backoff.next_delay());
                }
            }
        }
    }

    /// Gives up streaming lists for the rest of the run and lists in pages now.
    fn fall_back_to_paged_list(&mut self, reason: &str) -> Step {
        info!(scope = %self.source.scope(), reason, "the server cannot stream lists; listing in pages");
        self.stream_lists = false;
        Step::Next(State::Listing)
    }

    fn watch_timeout_seconds(&self) -> u32 {
        rand::rng().random_range(self.config.watch_timeout_seconds.clone())
    }

    async fn watch(&mut self, resource_version: String) -> Step {
        let timeout_seconds = self.watch_timeout_seconds();
        let request = WatchRequest {
            resource_version: resource_version.clone(),
            timeout_seconds,
            send_initial_events: false,
        };
        let stream = match self.source.watch(request).await {
            Ok(stream) => stream,
            Err(SourceError::Status { status, .. }) if status.is_expired() => {
                info!(scope = %self.source.scope(), resource_version = %resource_version, "resourceVersion expired; relisting");
                return Step::Next(State::Listing);
            }
            Err(err) => {
                let state = State::Watching { resource_version };
                return self.failed("watch", state, err);
            }
        };
        debug!(scope = %self.source.scope(), resource_version = %resource_version, timeout_seconds, "watch started");
        self.metrics.observe(Observed::WatchStart);
        self.consume(stream, resource_version, timeout_seconds)
            .await
    }

    /// Applies the events of an open watch until it ends or fails.
    async fn consume(
        &mut self,
        mut stream: WatchStream,
        mut resource_version: String,
        timeout_seconds: u32,
    ) -> Step {
        let started = Instant::now();
        let idle_limit = Duration::from_secs(timeout_seconds.into()) + self.config.stall_grace;
        let mut events: u64 = 0;
        loop {
            let next = match tokio::time::timeout(idle_limit, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    warn!(scope = %self.source.scope(), resource_version = %resource_version, idle_seconds = idle_limit.as_secs(), "watch delivered nothing for longer than its timeout; reopening");
                    return Step::Next(State::Watching { resource_version });
                }
            };
            let event = match next {
                None => {
                    debug!(scope = %self.source.scope(), resource_version = %resource_version, events, "watch ended");
                    let state = State::Watching { resource_version };
                    if events == 0 && started.elapsed() < self.config.min_watch_duration {
                        return Step::Backoff(state, self.backoff.next_delay());
                    }
                    return Step::Next(state);
                }
                Some(Ok(event)) => event,
                Some(Err(StreamError::BadLine { offset, error })) if is_skippable(&error) => {
                    warn!(scope = %self.source.scope(), offset, error = %error, "skipped a watch event that cannot be applied");
                    continue;
                }
                Some(Err(err @ (StreamError::BadLine { .. } | StreamError::LineTooLong(_)))) => {
                    warn!(scope = %self.source.scope(), error = %err, "undecodable watch line; relisting to stay correct");
                    return Step::Backoff(State::Listing, self.backoff.next_delay());
                }
                Some(Err(err @ StreamError::Transport(_))) => {
                    info!(scope = %self.source.scope(), resource_version = %resource_version, error = %err, "watch broken; resuming");
                    let state = State::Watching { resource_version };
                    return Step::Backoff(state, self.backoff.next_delay());
                }
            };
            events += 1;
            match event {
                WatchEvent::Added(object) => {
                    self.metrics.observe(Observed::Added);
                    self.apply("ADDED", &mut resource_version, object).await;
                }
                WatchEvent::Modified(object) => {
                    self.metrics.observe(Observed::Modified);
                    self.apply("MODIFIED", &mut resource_version, object).await;
                }
                WatchEvent::Deleted(object) => {
                    debug!(event = "DELETED", key = %object.key(), resource_version = %object.resource_version(), "got event");
                    self.writer.remove(&object).await;
                    self.metrics.observe(Observed::Deleted);
                    advance(&mut resource_version, object.resource_version());
                }
                WatchEvent::Bookmark(bookmark) | WatchEvent::InitialEventsEnd(bookmark) => {
                    trace!(event = "BOOKMARK", resource_version = %bookmark, "got event");
                    self.writer.set_resource_version(&bookmark);
                    resource_version = bookmark;
                }
                WatchEvent::Error(status) if status.is_expired() => {
                    info!(scope = %self.source.scope(), resource_version = %resource_version, message = %status.message, "watch expired; relisting");
                    return Step::Next(State::Listing);
                }
                WatchEvent::Error(status) => {
                    let state = State::Watching { resource_version };
                    let err = SourceError::Status {
                        status,
                        retry_after: None,
                    };
                    return self.failed("watch", state, err);
                }
            }
        }
    }

    async fn apply(
        &mut self,
        event: &'static str,
        resource_version: &mut String,
        object: RawObject,
    ) {
        debug!(event, key = %object.key(), resource_version = %object.resource_version(), "got event");
        advance(resource_version, object.resource_version());
        self.writer.upsert(object).await;
    }

    /// Decides what a failed request leads to.
    fn failed(&mut self, verb: &'static str, retry: State, err: SourceError) -> Step {
        let scope = self.source.scope().clone();
        match err {
            SourceError::Status { status, .. } if matches!(status.code, 401 | 403) => {
                Step::Fatal(ReflectorError::Forbidden {
                    verb,
                    scope,
                    status,
                })
            }
            err @ SourceError::Untrusted(_) => Step::Fatal(ReflectorError::Failed {
                verb,
                scope,
                source: err,
            }),
            err if self.config.give_up_before_sync && !self.synced => {
                Step::Fatal(ReflectorError::Failed {
                    verb,
                    scope,
                    source: err,
                })
            }
            err => {
                let retry_after = match &err {
                    SourceError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let delay = self
                    .backoff
                    .next_delay()
                    .max(retry_after.unwrap_or_default());
                warn!(verb, scope = %scope, error = %err, retry_in_ms = delay.as_millis() as u64, "request failed; retrying");
                Step::Backoff(retry, delay)
            }
        }
    }
}

/// Moves the watch position to an event's resourceVersion, if it carries one.
fn advance(resource_version: &mut String, event_version: &str) {
    if !event_version.is_empty() {
        event_version.clone_into(resource_version);
    }
}

/// Lines that name no change we could apply: skip them, the store stays correct.
fn is_skippable(error: &DecodeError) -> bool {
    matches!(
        error,
        DecodeError::UnknownType(_)
            | DecodeError::Object(
                ObjectError::MissingName
                    | ObjectError::InvalidName(_)
                    | ObjectError::WrongKind { .. }
            )
    )
}

#[cfg(test)]
mod tests;
