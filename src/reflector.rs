//! The reflector: LIST (in pages), replace the store, WATCH from the list's resourceVersion,
//! apply events, and recover from every failure, as client-go's `Reflector.ListAndWatch` does.
//!
//! The whole transition table is [`Reflector::step`]: one network operation per step, from one
//! [`State`] to the next [`Step`].
//!
//! Failed requests are classified once, by [`FailureClass`]; "no progress" means no object event
//! (ADDED, MODIFIED, DELETED; bookmarks do not count) that moved the resourceVersion applied
//! since the count was last reset (an event replayed at the current resourceVersion, or one
//! without any, is no progress).
//!
//! | state | outcome | next |
//! |---|---|---|
//! | `Listing` | all pages listed | store replaced, `Watching { list rv }` |
//! | `Listing` | continue token expired (410) | list again without pages |
//! | `Listing` | a continue token seen twice, or an object listed twice, in one list | backoff (warning), `Listing` |
//! | any | 401 | stop with [`ReflectorError::Unauthenticated`] |
//! | any | 403 | stop with [`ReflectorError::Forbidden`] |
//! | any | 400, 405, 406, 415, 422 (invalid) | stop with [`ReflectorError::Invalid`] |
//! | any | 404 before the first sync | stop with [`ReflectorError::NotFound`] |
//! | any | untrusted TLS certificate | stop with [`ReflectorError::Failed`] |
//! | any | failure before the first sync with `give_up_before_sync` | stop with [`ReflectorError::Failed`] |
//! | any | other failure (transient, 404 after the sync) | backoff (honouring `Retry-After` up to `max_retry_after`), same state |
//! | `Watching` | with `list_only` | wait for stop (never watch) |
//! | `Watching` | 410 at start or ERROR event with 410, the first without progress | `Listing` (relist) |
//! | `Watching` | the same, again without progress | backoff (warning), `Listing` |
//! | `Watching` | the same within 10 s of the list, after such an immediate relist | backoff (warning), `Listing` |
//! | `Watching` | stream ended by the server after half its timeout, or with an object event | `Watching { last rv }` |
//! | `Watching` | stream ended by the server sooner, without an object event | backoff (warning from the second), `Watching { last rv }` |
//! | `Watching` | stream broken (reset, cut line) | backoff, `Watching { last rv }` |
//! | `Watching` | nothing received by `timeoutSeconds` + `stall_grace` after the watch started (a half-open connection) | `Watching { last rv }` |
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

use std::collections::{HashMap, HashSet};
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
use crate::failure::FailureClass;
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
    /// in step. Keep it below the HTTP client's read timeout. It also bounds how long a watch
    /// over a half-open connection (a frozen NAT, load balancer or proxy) goes unnoticed: the
    /// default, 40–50 s, plus `stall_grace` keeps that under a minute.
    pub watch_timeout_seconds: RangeInclusive<u32>,
    /// A watch still open this long after its `timeoutSeconds` (counted from the watch start,
    /// not from the last event) is dead, unless it received something within the last
    /// `stall_grace`: a stream still delivering is given another `stall_grace` each time.
    pub stall_grace: Duration,
    /// Backoff between failed attempts.
    pub backoff: BackoffConfig,
    /// The longest `Retry-After` honoured: a server asking for more is retried after this long
    /// (a warning says so), so one answer cannot leave the cache stale for an hour.
    pub max_retry_after: Duration,
    /// Stop with an error at the first failure before the store is synced (`--once`).
    pub give_up_before_sync: bool,
    /// List once and never watch (`--once`): after the first sync the reflector only waits to
    /// be stopped, so a user allowed to `list` but not to `watch` gets the listing.
    pub list_only: bool,
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
            watch_timeout_seconds: 40..=50,
            stall_grace: Duration::from_secs(5),
            backoff: BackoffConfig::default(),
            max_retry_after: Duration::from_secs(60),
            give_up_before_sync: false,
            list_only: false,
            streaming_list: false,
            initial_events_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the reflector stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum ReflectorError {
    /// The server did not accept the credentials (401): logging in again may help, retrying
    /// will not.
    #[error(
        "the server rejected the credentials ({code} {reason}) when trying to {verb} {scope}; \
         log in again or refresh the token",
        code = .status.code,
        reason = .status.reason
    )]
    Unauthenticated {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was asked for.
        scope: Scope,
        /// The server's answer.
        status: crate::decode::ApiStatus,
    },
    /// The server refused us (403): retrying will not help. What to do about it depends on
    /// the kubeconfig and the command line, which the caller knows
    /// ([`crate::failure::ForbiddenAdvice`]).
    #[error("not allowed to {verb} {scope}: {message}", message = .status.message)]
    Forbidden {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was refused.
        scope: Scope,
        /// The server's answer.
        status: crate::decode::ApiStatus,
    },
    /// The server says the request itself is wrong (400, 422, ...): a bad label or field
    /// selector, say. The user's input must change.
    #[error(
        "the server refused to {verb} {scope} ({code} {reason}): {message}; check the \
         selectors (-l, --field-selector) and flags",
        code = .status.code,
        reason = .status.reason,
        message = .status.message
    )]
    Invalid {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was asked for.
        scope: Scope,
        /// The server's answer.
        status: crate::decode::ApiStatus,
    },
    /// The server does not serve the resource (404) before the first sync: a custom resource
    /// that is not installed, say.
    #[error(
        "the server does not serve {plural} ({code} {reason}): {message}; is the resource \
         installed (kubectl api-resources)?",
        plural = .scope.plural,
        code = .status.code,
        reason = .status.reason,
        message = .status.message
    )]
    NotFound {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was asked for.
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

impl ReflectorError {
    /// Whether the user's input is what must change (a usage error, exit 2): an invalid request,
    /// or a resource the server does not serve.
    pub fn is_usage_error(&self) -> bool {
        matches!(
            self,
            ReflectorError::Invalid { .. } | ReflectorError::NotFound { .. }
        )
    }
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
    streaming_list: bool,
    /// Attempts in a row that applied no object event; see [`NoProgress`].
    no_progress: NoProgress,
    /// When the store was last replaced by a list.
    synced_at: Option<Instant>,
    /// Relists done at once after an expiry that came within [`HASTY_EXPIRY`] of the list
    /// before it, since the last expiry that did not; see [`Reflector::expired`].
    hasty_relists: u32,
}

/// An expiry this soon after the list the watch started from means the server's watch history
/// is shorter than our list-and-watch cycle (a watch cache overrun by churn, say): relisting at
/// once again and again would put a full read from etcd in a loop, so only the first such
/// relist is immediate, as client-go backs off every relist cycle.
const HASTY_EXPIRY: Duration = Duration::from_secs(10);

/// Counts of attempts in a row that ended without applying an object event (ADDED, MODIFIED or
/// DELETED; bookmarks do not count). Both are reset by the next applied object event. A loop
/// that makes no progress is what hurts an API server (every relist is a full read from etcd),
/// so these decide when such a loop waits the backoff.
#[derive(Debug, Default)]
struct NoProgress {
    /// Expiries (410) since the last applied event: the first relists at once, any further one
    /// waits the backoff.
    expiries: u32,
    /// Watches since the last applied event that the server ended early with no object event.
    empty_watches: u32,
}

impl<S: ListWatch> Reflector<S> {
    /// A reflector filling `writer` from `source`.
    pub fn new(source: S, writer: Writer, config: ReflectorConfig) -> Self {
        let backoff = Backoff::new(config.backoff.clone());
        // A streaming list is a watch: with `list_only`, list in pages (only `list` is needed).
        let streaming_list = config.streaming_list && !config.list_only;
        Reflector {
            source,
            writer,
            config,
            backoff,
            synced: false,
            metrics: Arc::default(),
            progress: None,
            streaming_list,
            no_progress: NoProgress::default(),
            synced_at: None,
            hasty_relists: 0,
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

    /// Lists and watches until `stop` is cancelled (then `Ok`) or a fatal error. With
    /// [`ReflectorConfig::list_only`], lists until the first sync, then only waits for `stop`.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), ReflectorError> {
        let mut state = State::Listing;
        loop {
            if self.config.list_only && matches!(state, State::Watching { .. }) {
                stop.cancelled().await;
                return Ok(());
            }
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
            State::Listing if self.streaming_list => self.stream_list().await,
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
                self.synced_at = Some(Instant::now());
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
    /// A continue token the server hands out twice, or an object listed twice, fails the list
    /// (it would never end).
    async fn list_all_pages(&mut self) -> Result<(Vec<RawObject>, String, u32), SourceError> {
        let started = Instant::now();
        let mut objects = Vec::new();
        let mut request = ListRequest {
            limit: Some(self.config.page_size).filter(|&limit| limit > 0),
            continue_token: None,
        };
        let mut tokens_seen = HashSet::new();
        let mut keys_seen: HashSet<ObjectKey> = HashSet::new();
        let mut pages = 0;
        loop {
            match self.source.list(request.clone()).await {
                Ok(page) => {
                    pages += 1;
                    for rejected in &page.rejected {
                        warn!(scope = %self.source.scope(), error = %rejected, "skipped a listed object");
                    }
                    if pages > 1 || page.continue_token.is_some() {
                        for object in &page.items {
                            if !keys_seen.insert(object.key().clone()) {
                                let key = crate::quote::quote(&object.key().to_string()).into();
                                return Err(DecodeError::ListedTwice { key, pages }.into());
                            }
                        }
                    }
                    objects.extend(page.items);
                    self.report(ListProgress {
                        objects: objects.len(),
                        pages,
                        elapsed: started.elapsed(),
                        done: false,
                    });
                    let Some(token) = page.continue_token else {
                        return Ok((objects, page.resource_version, pages));
                    };
                    if !tokens_seen.insert(token.clone()) {
                        return Err(DecodeError::RepeatedContinueToken { pages }.into());
                    }
                    request.continue_token = Some(token);
                }
                Err(err)
                    if request.continue_token.is_some()
                        && FailureClass::of(&err) == FailureClass::Expired =>
                {
                    info!(scope = %self.source.scope(), pages, "continue token expired; listing again without pages");
                    objects.clear();
                    tokens_seen.clear();
                    keys_seen.clear();
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
                if matches!(
                    FailureClass::of_status(&status),
                    FailureClass::Invalid | FailureClass::NotFound
                ) =>
            {
                // v1.25 answers 422 (transcript 09). A request that is wrong for another reason
                // (a bad selector) fails the same way as a paged list, with the server's message.
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
                    self.synced_at = Some(Instant::now());
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
                        .consume(stream, resource_version, started, timeout_seconds)
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
                    warn!(scope = %self.source.scope(), error = %err, "streaming list broken; listing again after a backoff");
                    return Step::Backoff(State::Listing, self.backoff.next_delay());
                }
            }
        }
    }

    /// Gives up streaming lists for the rest of the run and lists in pages now.
    fn fall_back_to_paged_list(&mut self, reason: &str) -> Step {
        info!(scope = %self.source.scope(), reason, "the server cannot stream lists; listing in pages");
        self.streaming_list = false;
        Step::Next(State::Listing)
    }

    fn watch_timeout_seconds(&self) -> u32 {
        rand::rng().random_range(self.config.watch_timeout_seconds.clone())
    }

    async fn watch(&mut self, resource_version: String) -> Step {
        let started = Instant::now();
        let timeout_seconds = self.watch_timeout_seconds();
        let request = WatchRequest {
            resource_version: resource_version.clone(),
            timeout_seconds,
            send_initial_events: false,
        };
        let stream = match self.source.watch(request).await {
            Ok(stream) => stream,
            Err(err) if FailureClass::of(&err) == FailureClass::Expired => {
                return self.expired(&resource_version, &err.to_string());
            }
            Err(err) => {
                let state = State::Watching { resource_version };
                return self.failed("watch", state, err);
            }
        };
        debug!(scope = %self.source.scope(), resource_version = %resource_version, timeout_seconds, "watch started");
        self.metrics.observe(Observed::WatchStart);
        self.consume(stream, resource_version, started, timeout_seconds)
            .await
    }

    /// Applies the events of an open watch, requested at `started`, until it ends or fails, or
    /// until its [`WatchDeadline`] declares it dead.
    async fn consume(
        &mut self,
        mut stream: WatchStream,
        mut resource_version: String,
        started: Instant,
        timeout_seconds: u32,
    ) -> Step {
        let requested = Duration::from_secs(timeout_seconds.into());
        let mut deadline = WatchDeadline::new(started, timeout_seconds, self.config.stall_grace);
        // Object events that moved the watch position: a replayed event (the resourceVersion
        // we are at, or none) is no progress, or a server could end every watch after one.
        let mut object_events: u64 = 0;
        loop {
            let next = match tokio::time::timeout_at(deadline.at(), stream.next()).await {
                Ok(next) => {
                    deadline.received(Instant::now());
                    next
                }
                Err(_) if deadline.extend_if_alive() => continue,
                Err(_) => {
                    warn!(scope = %self.source.scope(), resource_version = %resource_version, timeout_seconds, open_seconds = started.elapsed().as_secs(), silent_seconds = deadline.silent_for().as_secs(), "watch is dead: still open past its timeout and silent (a half-open connection); reopening");
                    return Step::Next(State::Watching { resource_version });
                }
            };
            let event = match next {
                None => {
                    let state = State::Watching { resource_version };
                    return self.watch_ended(state, object_events, started.elapsed(), requested);
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
            match event {
                WatchEvent::Added(object) => {
                    self.metrics.observe(Observed::Added);
                    if !self.apply("ADDED", &mut resource_version, object).await {
                        continue;
                    }
                }
                WatchEvent::Modified(object) => {
                    self.metrics.observe(Observed::Modified);
                    if !self.apply("MODIFIED", &mut resource_version, object).await {
                        continue;
                    }
                }
                WatchEvent::Deleted(object) => {
                    debug!(event = "DELETED", key = %object.key(), resource_version = %object.resource_version(), "got event");
                    self.writer.remove(&object).await;
                    self.metrics.observe(Observed::Deleted);
                    if !self.progressed(&mut resource_version, object.resource_version()) {
                        continue;
                    }
                }
                WatchEvent::Bookmark(bookmark) | WatchEvent::InitialEventsEnd(bookmark) => {
                    trace!(event = "BOOKMARK", resource_version = %bookmark, "got event");
                    self.writer.set_resource_version(&bookmark);
                    resource_version = bookmark;
                    continue;
                }
                WatchEvent::Error(status)
                    if FailureClass::of_status(&status) == FailureClass::Expired =>
                {
                    return self.expired(&resource_version, &status.message);
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
            object_events += 1;
        }
    }

    /// What follows a watch the server ended: reopen it from `state` at once, unless it ended
    /// early (before half its timeout) without one object event, which is a failure. Bookmarks
    /// do not count: a server that closes every watch after a bookmark must not be hammered.
    fn watch_ended(
        &mut self,
        state: State,
        object_events: u64,
        elapsed: Duration,
        requested: Duration,
    ) -> Step {
        debug!(scope = %self.source.scope(), state = ?state, object_events, elapsed_ms = elapsed.as_millis() as u64, "watch ended");
        if object_events > 0 || elapsed * 2 >= requested {
            return Step::Next(state);
        }
        self.no_progress.empty_watches += 1;
        let delay = self.backoff.next_delay();
        let empty_watches = self.no_progress.empty_watches;
        if empty_watches > 1 {
            warn!(scope = %self.source.scope(), empty_watches, elapsed_ms = elapsed.as_millis() as u64, retry_in_ms = delay.as_millis() as u64, "the server keeps ending watches early without any event; backing off");
        } else {
            info!(scope = %self.source.scope(), elapsed_ms = elapsed.as_millis() as u64, retry_in_ms = delay.as_millis() as u64, "watch ended early without any event; reopening after a backoff");
        }
        Step::Backoff(state, delay)
    }

    /// What follows a 410 at watch start or in an ERROR event: relist. Only the first expiry
    /// since an object event was applied relists at once; a server that expires every watch
    /// gets a backoff before each further relist (each one is a full read from etcd). So does
    /// one that expires every watch soon after its list, events or not: of the expiries within
    /// [`HASTY_EXPIRY`] of their list, only the first in a row relists at once.
    fn expired(&mut self, resource_version: &str, message: &str) -> Step {
        self.no_progress.expiries += 1;
        let expiries = self.no_progress.expiries;
        let hasty = self
            .synced_at
            .is_some_and(|synced| synced.elapsed() < HASTY_EXPIRY);
        if !hasty {
            self.hasty_relists = 0;
        }
        if expiries == 1 && self.hasty_relists == 0 {
            if hasty {
                self.hasty_relists += 1;
            }
            info!(scope = %self.source.scope(), resource_version, status_message = message, "resourceVersion expired; relisting");
            return Step::Next(State::Listing);
        }
        let delay = self.backoff.next_delay();
        if expiries > 1 {
            warn!(scope = %self.source.scope(), resource_version, status_message = message, expiries, retry_in_ms = delay.as_millis() as u64, "the watch expired again before any event was applied; relisting after a backoff");
        } else {
            let synced_ms = self
                .synced_at
                .map_or(0, |synced| synced.elapsed().as_millis() as u64);
            warn!(scope = %self.source.scope(), resource_version, status_message = message, synced_ms, retry_in_ms = delay.as_millis() as u64, "the watch expired again soon after the list it started from; relisting after a backoff");
        }
        Step::Backoff(State::Listing, delay)
    }

    /// Applies an ADDED or MODIFIED object; returns whether it was progress (see
    /// [`Reflector::progressed`]).
    async fn apply(
        &mut self,
        event: &'static str,
        resource_version: &mut String,
        object: RawObject,
    ) -> bool {
        debug!(event, key = %object.key(), resource_version = %object.resource_version(), "got event");
        let progressed = self.progressed(resource_version, object.resource_version());
        self.writer.upsert(object).await;
        progressed
    }

    /// Moves the watch position to an applied object event's resourceVersion. Only an event
    /// that moves it is progress (and resets [`NoProgress`]): one at the position we are at, or
    /// without a resourceVersion, is a replay, and a server ending every watch after a replay
    /// must be backed off like one ending it after a bookmark.
    fn progressed(&mut self, resource_version: &mut String, event_version: &str) -> bool {
        if event_version.is_empty() || event_version == resource_version.as_str() {
            return false;
        }
        event_version.clone_into(resource_version);
        self.no_progress = NoProgress::default();
        true
    }

    /// Decides what a failed request leads to, from its [`FailureClass`].
    fn failed(&mut self, verb: &'static str, retry: State, err: SourceError) -> Step {
        let scope = self.source.scope().clone();
        let class = FailureClass::of(&err);
        let fatal = match (class, err) {
            (FailureClass::Unauthenticated, SourceError::Status { status, .. }) => {
                ReflectorError::Unauthenticated {
                    verb,
                    scope,
                    status,
                }
            }
            (FailureClass::Forbidden, SourceError::Status { status, .. }) => {
                ReflectorError::Forbidden {
                    verb,
                    scope,
                    status,
                }
            }
            (FailureClass::Invalid, SourceError::Status { status, .. }) => {
                ReflectorError::Invalid {
                    verb,
                    scope,
                    status,
                }
            }
            (FailureClass::NotFound, SourceError::Status { status, .. }) if !self.synced => {
                ReflectorError::NotFound {
                    verb,
                    scope,
                    status,
                }
            }
            (FailureClass::Untrusted, source) => ReflectorError::Failed {
                verb,
                scope,
                source,
            },
            (_, source) if self.config.give_up_before_sync && !self.synced => {
                ReflectorError::Failed {
                    verb,
                    scope,
                    source,
                }
            }
            (_, err) => {
                let retry_after = match &err {
                    SourceError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let delay = self.retry_delay(retry_after);
                warn!(verb, scope = %scope, error = %err, retry_in_ms = delay.as_millis() as u64, "request failed; retrying");
                return Step::Backoff(retry, delay);
            }
        };
        Step::Fatal(fatal)
    }

    /// The next backoff delay, or the server's `Retry-After` when that is longer, up to
    /// [`ReflectorConfig::max_retry_after`].
    fn retry_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let delay = self.backoff.next_delay();
        let Some(asked) = retry_after else {
            return delay;
        };
        let cap = self.config.max_retry_after;
        if asked > cap {
            warn!(scope = %self.source.scope(), retry_after_seconds = asked.as_secs(), cap_seconds = cap.as_secs(), "the server asked to wait longer than the cap; retrying after the cap");
        }
        delay.max(asked.min(cap))
    }
}

/// When an open watch is declared dead. The server ends a watch at its `timeoutSeconds`, so one
/// still open `stall_grace` after that, counted from the watch start, is on a half-open
/// connection; counting from the start rather than from the last event also catches a stream
/// that delivered events and then froze. A stream that is still delivering at the deadline (a
/// server behind on a burst) is given another `stall_grace` instead of being cut.
#[derive(Debug)]
struct WatchDeadline {
    at: Instant,
    grace: Duration,
    last_received: Instant,
}

impl WatchDeadline {
    fn new(started: Instant, timeout_seconds: u32, grace: Duration) -> Self {
        WatchDeadline {
            at: started + Duration::from_secs(timeout_seconds.into()) + grace,
            grace,
            last_received: started,
        }
    }

    /// The instant the watch is dead unless extended.
    fn at(&self) -> Instant {
        self.at
    }

    /// The stream delivered something at `now`.
    fn received(&mut self, now: Instant) {
        self.last_received = now;
    }

    /// At the deadline: moves it `grace` later and returns `true` if the stream delivered
    /// something within the last `grace`; `false` means the watch is dead.
    fn extend_if_alive(&mut self) -> bool {
        let alive = self.last_received + self.grace > self.at;
        if alive {
            self.at += self.grace;
        }
        alive
    }

    /// How long the stream has delivered nothing.
    fn silent_for(&self) -> Duration {
        self.last_received.elapsed()
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
