//! The reflector: LIST (in pages), replace the store, WATCH from the list's resourceVersion,
//! apply events, and recover from every failure, as client-go's `Reflector.ListAndWatch` does.
//!
//! The transition table below is two `match`es, as in kube-runtime's `watcher.rs`:
//! [`Reflector::step`] makes one request from a [`State`]; when that request opens a stream,
//! `watch::apply_event` decides what each thing received on it leads to, from the stream's
//! phase (`StreamingList` or `Watching`, each holding its own data): read on, or the next
//! [`Step`]. A complete list, paged or streamed, replaces the store in `commit_list`; a failed
//! request is decided in `failed`; an ERROR event becomes a failure in `watch::error_event`.
//!
//! Failed requests are classified once, by `FailureClass`; "no progress" means no object event
//! (ADDED, MODIFIED, DELETED; bookmarks do not count) that moved the resourceVersion applied
//! since the count was last reset (an event replayed at the current resourceVersion, or one
//! without any, is no progress).
//!
//! | state, or phase of the open stream | outcome | next |
//! |---|---|---|
//! | `Listing` | all pages listed | store replaced, `Watching { list rv }` |
//! | `Listing` from the watch cache | 504 "too large resource version", or 410 | `Listing`, consistent, at once |
//! | `Listing` from the watch cache | refused as invalid (4xx) | `Listing`, consistent for the rest of the run, at once |
//! | `Listing` | continue token expired (410) | list again without pages |
//! | `Listing` | a continue token seen twice, or an object listed twice, in one list | backoff (warning), `Listing` |
//! | `Listing`, streaming lists | watch with `sendInitialEvents=true` opened | phase `StreamingList` |
//! | `Listing`, streaming lists | that watch refused (4xx: v1.25 and v1.26 say 422, transcript 09), or 410 | lists for the rest of the run, `Listing` |
//! | `Listing`, streaming lists | that watch failing (5xx, 429, no answer) | lists for the rest of the run, backoff, `Listing` |
//! | phase `StreamingList` | ADDED | into a fresh buffer |
//! | phase `StreamingList` | MODIFIED or DELETED (a plain watch: a streaming list's initial events are all ADDED) | paged lists for the rest of the run, `Listing` |
//! | phase `StreamingList` | the BOOKMARK annotated `k8s.io/initial-events-end` | store replaced from the buffer; the same stream goes on in phase `Watching` |
//! | phase `StreamingList` | an ordinary BOOKMARK (a plain watch), the stream ended, no event for `initial_events_timeout`, or no initial-events-end by the watch's `timeoutSeconds` + `stall_grace` | lists for the rest of the run, `Listing` |
//! | phase `StreamingList` | stream broken, or a line that is not JSON | lists for the rest of the run, backoff (warning), `Listing` |
//! | phase `StreamingList` | ERROR event | as the streaming-list watch failing with its status (rows above); 401 stops |
//! | `Listing` not older than RV | answered with an older resourceVersion (a server gone back, or broken) | not stored (warning), `Listing`, consistent, at once |
//! | any | 401 | stop with [`ReflectorError::Unauthenticated`] |
//! | any | 403 | stop with [`ReflectorError::Forbidden`] |
//! | any | 400, 405, 406, 415, 422 (invalid) | stop with [`ReflectorError::Invalid`] |
//! | any | 404 before the first sync | stop with [`ReflectorError::NotFound`] |
//! | any | untrusted TLS certificate | stop with [`ReflectorError::Failed`] |
//! | any | failure before the first sync with `give_up_before_sync` | stop with [`ReflectorError::Failed`] |
//! | any | other failure (transient, 404 after the sync) | backoff (honouring `Retry-After` up to `max_retry_after`), same state |
//! | `Watching` | with `list_only` | wait for stop (never watch) |
//! | `Watching` | watch opened | phase `Watching` |
//! | `Watching`, phase `Watching` | 410 at start or ERROR event with 410, the first without progress | `Listing` (relist) |
//! | `Watching`, phase `Watching` | the same, again without progress | backoff (warning), `Listing` |
//! | `Watching`, phase `Watching` | the same within 10 s of the list, after such an immediate relist | backoff (warning), `Listing` |
//! | phase `Watching` | ADDED, MODIFIED, DELETED or BOOKMARK | applied to the store, rv moved |
//! | phase `Watching` | stream ended by the server after half its timeout, or with an object event | `Watching { last rv }`, or `CheckingRestore` (below) |
//! | phase `Watching` | stream ended by the server sooner, without an object event | backoff (warning from the second), `Watching { last rv }` |
//! | phase `Watching` | stream broken (reset, cut line) | backoff, `Watching { last rv }` |
//! | phase `Watching` | nothing received by `timeoutSeconds` + `stall_grace` after the watch started (a half-open connection) | `Watching { last rv }`, or `CheckingRestore` (below) |
//! | phase `Watching`, ended or dead | no event and no bookmark heard (one whose resourceVersion goes back or is not an integer counts as none), the last list or check `restore_check_interval` ago | `CheckingRestore { last rv }` |
//! | `CheckingRestore` | the `limit=1` list's resourceVersion is the cache's or past it | `Watching { last rv }` |
//! | `CheckingRestore` | it is lower (an etcd restore), or differs and is not an integer ([`restore`]) | `Listing` (warning) |
//! | `CheckingRestore` | the list failed | as any failed request (rows above), retried as `Watching { last rv }` |
//! | phase `Watching`, ended or dead | `resync_every` since the last list (before any restore check) | `Resyncing { last rv }` |
//! | `Resyncing` | all pages listed | differences churn cannot explain counted and logged ([`resync`]); store replaced, `Watching { list rv }` |
//! | `Resyncing` | the list failed | as any failed request, retried as `Watching { last rv }` |
//! | phase `Watching` | a line that is not JSON | backoff, `Listing` (the change it carried is unknown) |
//! | either phase | an event that cannot be keyed or has an unknown type | skipped with a warning |
//! | any | an object outside the scope, listed or in an event (`out_of_scope`) | dropped with a warning, counted |
//!
//! What a `Listing` asks for ([`Reflector::list_from`], as client-go's reflector): the first
//! list takes whatever state the server's watch cache has (`resourceVersion=0`, one response
//! from memory, no etcd read), a relist a state not older than the last resourceVersion seen
//! (`resourceVersionMatch=NotOlderThan`, without a `limit`, which would make a v1.26 server
//! page from etcd). The watch that follows brings an older state up to the present. A relist
//! after a 410 or an etcd restore, after a resume point the server keeps refusing, a resync and
//! a restore check read etcd (`ListFrom::Latest`), and so does every list with
//! [`ReflectorConfig::list_only`].
//!
//! With [`ReflectorConfig::streaming_list`], `Listing` first tries a streaming list: a watch with
//! `sendInitialEvents=true`, whose ADDED events fill a fresh buffer until the BOOKMARK annotated
//! `k8s.io/initial-events-end`; then the store is replaced in one step and the same stream goes on
//! as the watch. A server that cannot do it (a 4xx answer, a plain watch, or silence; rows
//! above) is detected, and the reflector lists in pages for the rest of the run.

use std::collections::HashSet;
use std::ops::{ControlFlow, RangeInclusive};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::cache::backoff::{Backoff, BackoffConfig};
use crate::cache::failure::FailureClass;
use crate::cache::list_watch::{ListFrom, ListRequest, ListWatch, Scope, SourceError};
use crate::cache::metrics::{Metrics, Observed};
use crate::cache::store::Writer;
use crate::wire::decode::DecodeError;
use crate::wire::object::{ObjectKey, RawObject};

mod out_of_scope;
pub mod restore;
pub mod resync;
mod watch;

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
    /// Get the initial state with a streaming list, falling back to the paged list for the rest
    /// of the run when the server does not answer that way (a server before v1.32, or with the
    /// WatchList feature off, refuses it with 422: one small request).
    pub streaming_list: bool,
    /// Ask for lists the server can answer from its watch cache, in memory ([`ListFrom::Any`]
    /// first, [`ListFrom::NotOlderThan`] the last resourceVersion seen on a relist), as
    /// client-go's reflector does; a relist after a 410 or an etcd restore, a resync and a
    /// restore check stay consistent reads ([`ListFrom::Latest`]). Off, or with `list_only`
    /// (`--once`, which prints what it lists and exits: see the README), every list is a
    /// consistent read.
    pub watch_cache_lists: bool,
    /// A streaming list that delivers no event for this long before its initial-events-end
    /// BOOKMARK is given up for the paged list.
    pub initial_events_timeout: Duration,
    /// The least time between two checks that the server's state has not gone back in time
    /// (an etcd restore): see [`restore`].
    pub restore_check_interval: Duration,
    /// Relist in full this long after the last list (at the end of the watch then open),
    /// counting what the list shows the cache had wrong (`--resync-every`; see [`resync`]).
    pub resync_every: Option<Duration>,
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
            streaming_list: true,
            watch_cache_lists: true,
            initial_events_timeout: Duration::from_secs(10),
            restore_check_interval: restore::CHECK_INTERVAL,
            resync_every: None,
        }
    }
}

/// Whether a refusal is about the `resourceVersion` or `resourceVersionMatch` parameters.
fn names_resource_version(err: &SourceError) -> bool {
    matches!(err, SourceError::Status { status, .. } if status.message.to_ascii_lowercase().contains("resourceversion"))
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
        status: crate::wire::decode::ApiStatus,
    },
    /// The server refused us (403): retrying will not help. What to do about it depends on
    /// the kubeconfig and the command line, which the caller knows
    /// (`crate::cache::failure::ForbiddenAdvice`).
    #[error("not allowed to {verb} {scope}: {message}", message = .status.message)]
    Forbidden {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was refused.
        scope: Scope,
        /// The server's answer.
        status: crate::wire::decode::ApiStatus,
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
        status: crate::wire::decode::ApiStatus,
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
        status: crate::wire::decode::ApiStatus,
    },
    /// A failure retrying cannot fix (an untrusted certificate), or the first failure before
    /// the first sync when the caller asked not to retry.
    #[error("cannot {verb} {scope}: {error}")]
    Failed {
        /// `list` or `watch`.
        verb: &'static str,
        /// What was being listed.
        scope: Scope,
        /// The failure.
        error: SourceError,
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
    /// A watch from `resource_version` heard nothing: check, with a `limit=1` list, that the
    /// server's state has not gone back in time ([`restore`]); then watch from there, or relist.
    CheckingRestore {
        /// The cache's resourceVersion.
        resource_version: String,
    },
    /// `resync_every` has passed since the last list: list in full, count what the cache had
    /// wrong ([`resync`]), replace it, and watch from the list.
    Resyncing {
        /// The cache's resourceVersion.
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
    /// How the list arrives.
    pub shape: ListShape,
}

/// How a list arrives, for progress displays to say what they are waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListShape {
    /// In pages (a consistent read, or a server that pages even its watch cache's lists).
    Pages,
    /// Asked of the watch cache, which answers everything in one response: nothing can be
    /// counted before it is complete.
    OneResponse,
    /// A streaming list: objects one event at a time.
    Streamed,
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
    /// Whether a watch was open since the store was last replaced by a list: the next watch
    /// opened is then a restart (see [`Observed::WatchRestart`]).
    watched_since_list: bool,
    /// When the server's resourceVersion was last known not to have gone back: the last list,
    /// or the last restore check.
    restore_checked_at: Option<Instant>,
    /// Watches in a row refused with 500 or 504 since one last heard something; see
    /// [`Reflector::refused_resume`].
    refused_resumes: u32,
    /// Where to start watching instead of listing: the resourceVersion of a store seeded from
    /// an earlier run ([`Reflector::resuming_from`]).
    resume_from: Option<String>,
    /// Whether the watch is resumed from a seeded store not yet known to be up to date: its
    /// watches are short, and a bookmark, their end or a restore check syncs the store.
    resuming: bool,
    /// What the next list asks for; see [`Reflector::list_from`].
    relist: Relist,
}

/// What the reflector knows that decides which state its next list may be answered from
/// ([`ListFrom`]), as client-go's reflector keeps `lastSyncResourceVersion` and
/// `isLastSyncResourceVersionUnavailable`.
#[derive(Debug, Default)]
struct Relist {
    /// The resourceVersion the store was at when the reflector last left a watch or listed:
    /// a relist asks for a state not older than it. `None` before the first list.
    resource_version: Option<String>,
    /// The next list must be consistent: after a 410 (the history is gone, the cache may be
    /// too), an etcd restore (the server's resourceVersions went back), a resume point the
    /// server keeps refusing, or a watch-cache list answered "too large resource version".
    /// Cleared by the next complete list.
    consistent: bool,
    /// The server refused a watch-cache list as invalid: every list is consistent for the
    /// rest of the run.
    refused: bool,
    /// A watch-cache list came back in pages (the server has no watch cache for this resource,
    /// and pages from etcd): keep asking in pages, or a relist would be one response from etcd.
    paged_by_server: bool,
}

/// The `timeoutSeconds` of a watch resumed from a seeded store, until it is up to date: a
/// real kube-apiserver sends a bookmark 2 s before a watch's timeout when anything of the kind
/// changed since the watch started, and the end of a short watch says the server had nothing
/// more to replay; a watch of the usual 40-50 s would hold the first listing back that long.
pub const RESUME_WATCH_TIMEOUT_SECONDS: u32 = 3;

/// How many refusals in a row of the same resume point lead to a relist: a server answers
/// 500 to a watch from a resourceVersion it cannot parse and (from v1.27) 504 to one it has not
/// reached, and retrying the same value cannot change either answer; a 500 that was a passing
/// failure costs one relist after three tries.
const RESUME_REFUSALS: u32 = 3;

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
            watched_since_list: false,
            restore_checked_at: None,
            refused_resumes: 0,
            resume_from: None,
            resuming: false,
            relist: Relist::default(),
        }
    }

    /// Which state the next list may be answered from: the watch cache's, not older than the
    /// last resourceVersion seen when there is one, unless a consistent read is needed (see
    /// [`Relist`]) or [`ReflectorConfig::watch_cache_lists`] is off.
    fn list_from(&self) -> ListFrom {
        let consistent = !self.config.watch_cache_lists || self.config.list_only;
        if consistent || self.relist.consistent || self.relist.refused {
            return ListFrom::Latest;
        }
        match &self.relist.resource_version {
            Some(resource_version) => ListFrom::NotOlderThan(resource_version.clone()),
            None => ListFrom::Any,
        }
    }

    /// The first request of a list from `from`: in pages, except a list not older than a
    /// resourceVersion, which a v1.26 server answers from its watch cache only without a
    /// `limit` (with one, it pages from etcd: transcript 30), as client-go's reflector asks it;
    /// unless the server paged a watch-cache list before (it has no watch cache for this
    /// resource).
    fn first_list_request(&self, from: ListFrom) -> ListRequest {
        let paged = !matches!(from, ListFrom::NotOlderThan(_)) || self.relist.paged_by_server;
        ListRequest {
            limit: Some(self.config.page_size).filter(|&limit| limit > 0 && paged),
            continue_token: None,
            from,
        }
    }

    /// How the next list arrives: streamed, in one response from the watch cache, or in pages.
    fn list_shape(&self) -> ListShape {
        if self.streaming_list {
            return ListShape::Streamed;
        }
        let one_response = match self.list_from() {
            ListFrom::Latest => false,
            ListFrom::Any => true,
            ListFrom::NotOlderThan(_) => !self.relist.paged_by_server,
        };
        if one_response {
            ListShape::OneResponse
        } else {
            ListShape::Pages
        }
    }

    /// The next list is a consistent read.
    fn relist_consistently(&mut self) {
        self.relist.consistent = true;
    }

    /// The next list, when there is one, asks for a state not older than `resource_version`,
    /// where the watch left the store.
    fn relist_from(&mut self, resource_version: &str) {
        self.relist.resource_version = Some(resource_version.to_owned());
    }

    /// Starts by watching from `resource_version`, the store having been seeded with what an
    /// earlier run knew at that resourceVersion (`Writer::seed`), instead of listing: the
    /// watch replays what changed since, and the store is synced once it is up to date (see
    /// `caught_up`). A server that no longer has that resourceVersion answers 410, and the
    /// reflector lists as usual: the list's differences from the seeded store are published.
    /// Ignored with [`ReflectorConfig::list_only`], which never watches.
    pub fn resuming_from(mut self, resource_version: String) -> Self {
        self.resume_from = Some(resource_version).filter(|rv| !rv.is_empty());
        self.resuming = self.resume_from.is_some() && !self.config.list_only;
        self
    }

    /// Counts a watch refused with 500 or 504 (at its start, or as an ERROR event) while
    /// retrying `retry`; the [`RESUME_REFUSALS`]th in a row relists instead, with a warning
    /// naming the resume point. Overload (429, 503) and unanswered requests are not counted:
    /// they say nothing about the resume point, and relisting would add to the load.
    fn refused_resume(&mut self, retry: State, err: &SourceError) -> State {
        let (State::Watching { resource_version }, SourceError::Status { status, .. }) =
            (&retry, err)
        else {
            return retry;
        };
        if !matches!(status.code, 500 | 504) {
            return retry;
        }
        self.refused_resumes += 1;
        if self.refused_resumes < RESUME_REFUSALS {
            return retry;
        }
        warn!(scope = %self.source.scope(), resource_version, refusals = self.refused_resumes, "the server keeps refusing to watch from this resourceVersion; relisting");
        self.refused_resumes = 0;
        self.relist_consistently();
        State::Listing
    }

    /// Counts lists, watches, backoffs and applied events into `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
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
        let mut state = match self.resume_from.take() {
            Some(resource_version) if !self.config.list_only => {
                info!(scope = %self.source.scope(), resource_version, "resuming from the saved state: watching from its resourceVersion");
                State::Watching { resource_version }
            }
            _ => State::Listing,
        };
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
                Step::Fatal(err) => {
                    self.writer.abandon();
                    return Err(err);
                }
            };
        }
    }

    /// Performs one transition from `state`: one request, and, when it opens a stream, what the
    /// stream's events lead to.
    pub async fn step(&mut self, state: State) -> Step {
        if matches!(state, State::Listing) {
            self.report(ListProgress {
                objects: 0,
                pages: 0,
                elapsed: Duration::ZERO,
                done: false,
                shape: self.list_shape(),
            });
        }
        let opened = match state {
            State::Listing if self.streaming_list => self.open_streaming_list().await,
            State::Listing => return self.list().await,
            State::CheckingRestore { resource_version } => {
                return self.check_restore(resource_version).await;
            }
            State::Resyncing { resource_version } => return self.resync(resource_version).await,
            State::Watching { resource_version } => self.open_watch(resource_version).await,
        };
        match opened {
            ControlFlow::Continue((stream, phase)) => self.consume(stream, phase).await,
            ControlFlow::Break(step) => step,
        }
    }

    /// A list (from the watch cache, or paged from etcd: [`Reflector::list_from`]), then the
    /// store replaced in one step.
    async fn list(&mut self) -> Step {
        let started = Instant::now();
        let from = self.list_from();
        match self.list_all_pages(from.clone()).await {
            Ok((_, resource_version, _)) if self.older_than_asked(&from, &resource_version) => {
                self.relist_consistently();
                Step::Next(State::Listing)
            }
            Ok((objects, resource_version, pages)) => {
                self.commit_list(objects, &resource_version, pages, started)
                    .await;
                Step::Next(State::Watching { resource_version })
            }
            Err(err) if from != ListFrom::Latest => self.watch_cache_list_failed(&from, err),
            Err(err) => self.failed("list", State::Listing, err),
        }
    }

    /// Whether a list asked for a state not older than a resourceVersion came with an older one:
    /// a server that broke its promise (gone back in time, or broken). It is not stored (it
    /// could bring back objects deleted since, as a restore would); a consistent read decides.
    fn older_than_asked(&self, from: &ListFrom, listed: &str) -> bool {
        let ListFrom::NotOlderThan(asked) = from else {
            return false;
        };
        let restore::Verdict::WentBack { ours, theirs } = restore::compare(asked, listed) else {
            return false;
        };
        warn!(scope = %self.source.scope(), asked = ours, listed = theirs, "a list asked not older than a resourceVersion came older (the server went back in time?); not stored, listing consistently");
        true
    }

    /// A list from the watch cache failed: a resourceVersion the cache has not reached (504
    /// "too large resource version") or no longer has (410) is listed again at once as a
    /// consistent read, as client-go does; a server that refuses the parameters as invalid (its
    /// answer names `resourceVersion`: a bad selector is no reason to list again) gets
    /// consistent reads for the rest of the run. Any other failure is retried as it is.
    fn watch_cache_list_failed(&mut self, from: &ListFrom, err: SourceError) -> Step {
        let too_large = matches!(&err, SourceError::Status { status, .. } if status.is_resource_version_too_large());
        let class = FailureClass::of(&err);
        let scope = self.source.scope().clone();
        if too_large || class == FailureClass::Expired {
            info!(scope = %scope, from = ?from, error = %err, "the server cannot list from its watch cache at that resourceVersion; listing consistently");
            self.relist_consistently();
            return Step::Next(State::Listing);
        }
        if class == FailureClass::Invalid && names_resource_version(&err) {
            info!(scope = %scope, from = ?from, error = %err, "the server refuses lists from its watch cache; every list of this run is a consistent read");
            self.relist.refused = true;
            return Step::Next(State::Listing);
        }
        self.failed("list", State::Listing, err)
    }

    /// Replaces the store with a complete list, read since `started` in `pages` pages (0: a
    /// streaming list), and the Table columns the source received with it. The store is
    /// synced, and a new list-and-watch cycle begins.
    async fn commit_list(
        &mut self,
        objects: Vec<RawObject>,
        resource_version: &str,
        pages: u32,
        started: Instant,
    ) {
        let count = objects.len();
        // Before the replace, which marks the store synced: a listing printed then has them.
        self.writer.set_table_columns(self.source.table_columns());
        self.writer.replace(objects, resource_version).await;
        self.relist.consistent = false;
        self.relist_from(resource_version);
        self.resuming = false;
        self.synced = true;
        self.synced_at = Some(Instant::now());
        self.restore_checked_at = self.synced_at;
        self.watched_since_list = false;
        self.metrics.observe(Observed::Relist);
        let elapsed = started.elapsed();
        let shape = if pages == 0 {
            ListShape::Streamed
        } else {
            ListShape::Pages
        };
        self.report(ListProgress {
            objects: count,
            pages,
            elapsed,
            done: true,
            shape,
        });
        debug!(
            scope = %self.source.scope(),
            objects = count,
            pages,
            resource_version,
            elapsed_ms = elapsed.as_millis() as u64,
            "listed"
        );
    }

    /// Lists every page of one list of the state `from` says; restarts unpaged (and
    /// consistent) if a continue token expires. A continue token the server hands out twice, or
    /// an object listed twice, fails the list (it would never end).
    async fn list_all_pages(
        &mut self,
        from: ListFrom,
    ) -> Result<(Vec<RawObject>, String, u32), SourceError> {
        let started = Instant::now();
        let mut objects = Vec::new();
        let from_watch_cache = from != ListFrom::Latest;
        let mut request = self.first_list_request(from);
        let mut tokens_seen = HashSet::new();
        let mut keys_seen: HashSet<ObjectKey> = HashSet::new();
        let mut pages = 0;
        loop {
            match self.source.list(request.clone()).await {
                Ok(mut page) => {
                    pages += 1;
                    self.drop_out_of_scope(&mut page.items);
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
                    let Some(token) = page.continue_token else {
                        // The last page: the store is replaced next, and that is reported.
                        return Ok((objects, page.resource_version, pages));
                    };
                    self.report(ListProgress {
                        objects: objects.len(),
                        pages,
                        elapsed: started.elapsed(),
                        done: false,
                        shape: ListShape::Pages,
                    });
                    if !tokens_seen.insert(token.clone()) {
                        return Err(DecodeError::RepeatedContinueToken { pages }.into());
                    }
                    if from_watch_cache && !self.relist.paged_by_server {
                        debug!(scope = %self.source.scope(), "the server pages lists from its watch cache (it has none for this resource); relists stay in pages");
                        self.relist.paged_by_server = true;
                    }
                    // The token carries the first page's resourceVersion.
                    request.from = ListFrom::Latest;
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

    /// Where to go after a watch from `resource_version` ended or died: watch again from there;
    /// but when it `heard` nothing (no event, no bookmark) and the last check is
    /// [`ReflectorConfig::restore_check_interval`] old, check for a restore first.
    fn after_watch(&self, resource_version: String, heard: bool) -> State {
        let resync_due = self.config.resync_every.is_some_and(|every| {
            self.synced_at
                .is_some_and(|synced| synced.elapsed() >= every)
        });
        if resync_due {
            return State::Resyncing { resource_version };
        }
        let due = self
            .restore_checked_at
            .is_some_and(|checked| checked.elapsed() >= self.config.restore_check_interval);
        if heard || !due {
            return State::Watching { resource_version };
        }
        State::CheckingRestore { resource_version }
    }

    /// Lists one object to learn the server's current resourceVersion, and relists if it is
    /// behind the cache's (see [`restore`]). A failed check is a failed request, retried by
    /// watching from where the cache is.
    async fn check_restore(&mut self, resource_version: String) -> Step {
        self.restore_checked_at = Some(Instant::now());
        self.metrics.observe(Observed::RestoreCheck);
        let request = ListRequest {
            limit: Some(1),
            continue_token: None,
            from: ListFrom::Latest,
        };
        let theirs = match self.source.list(request).await {
            Ok(page) => page.resource_version,
            Err(err) => return self.failed("list", State::Watching { resource_version }, err),
        };
        let scope = self.source.scope().clone();
        match restore::compare(&resource_version, &theirs) {
            restore::Verdict::Current => {
                debug!(scope = %scope, resource_version, server_resource_version = %theirs, "restore check: the server has not gone back");
                if self.resuming {
                    // A resumed watch heard nothing, and the server has not gone back: there
                    // was nothing to replay.
                    self.caught_up(&resource_version).await;
                }
                Step::Next(State::Watching { resource_version })
            }
            restore::Verdict::WentBack { ours, theirs } => {
                warn!(scope = %scope, resource_version = ours, server_resource_version = theirs, "the server's resourceVersion went back in time (an etcd restore?); relisting");
                self.metrics.observe(Observed::WentBack);
                self.relist_consistently();
                Step::Next(State::Listing)
            }
            restore::Verdict::Incomparable => {
                info!(scope = %scope, resource_version, server_resource_version = %theirs, "the server's resourceVersion changed and cannot be ordered (not an integer); relisting to be sure");
                self.relist_consistently();
                Step::Next(State::Listing)
            }
        }
    }

    /// A full list compared with the cache at `resource_version` before it replaces it: the
    /// differences churn cannot explain are counted and logged ([`resync`]).
    async fn resync(&mut self, resource_version: String) -> Step {
        let started = Instant::now();
        let (objects, theirs, pages) = match self.list_all_pages(ListFrom::Latest).await {
            Ok(listed) => listed,
            Err(err) => return self.failed("list", State::Watching { resource_version }, err),
        };
        let wrong =
            resync::unexplained(&self.writer.objects(), &objects, &resource_version, &theirs);
        self.metrics.observe(Observed::Resync);
        self.metrics
            .observe(Observed::ResyncDifferences(wrong.len() as u64));
        let scope = self.source.scope();
        if wrong.is_empty() {
            debug!(scope = %scope, resource_version, list_resource_version = %theirs, "resync: the cache was right");
        } else {
            let first: Vec<String> = wrong
                .iter()
                .take(5)
                .map(|key| crate::quote::quote(key.as_str()).into_owned())
                .collect();
            warn!(scope = %scope, resource_version, list_resource_version = %theirs, differences = wrong.len(), first = %first.join(" "), "resync: the cache differed from the server; replaced by the list");
        }
        self.commit_list(objects, &theirs, pages, started).await;
        Step::Next(State::Watching {
            resource_version: theirs,
        })
    }

    /// A watch resumed from a seeded store has brought it up to date: it is synced (a
    /// [`crate::cache::store::ChangeType::Synced`] marker is published), as a list would have
    /// made it, and the server is known not to have gone back.
    pub(super) async fn caught_up(&mut self, resource_version: &str) {
        self.writer.mark_synced().await;
        self.resuming = false;
        self.synced = true;
        let now = Instant::now();
        self.synced_at = Some(now);
        self.restore_checked_at = Some(now);
        info!(scope = %self.source.scope(), resource_version, "resumed from the saved state: up to date without a list");
    }

    /// Gives up streaming lists for the rest of the run and lists now (from the watch cache, or
    /// in pages: [`Reflector::list_from`]).
    fn fall_back_to_paged_list(&mut self, reason: &str) -> Step {
        info!(scope = %self.source.scope(), reason, "the server cannot stream lists; listing instead");
        self.streaming_list = false;
        Step::Next(State::Listing)
    }

    fn watch_timeout_seconds(&self) -> u32 {
        rand::rng().random_range(self.config.watch_timeout_seconds.clone())
    }

    /// What follows a 410 at watch start or in an ERROR event: relist. Only the first expiry
    /// since an object event was applied relists at once; a server that expires every watch
    /// gets a backoff before each further relist (each one is a full read from etcd). So does
    /// one that expires every watch soon after its list, events or not: of the expiries within
    /// [`HASTY_EXPIRY`] of their list, only the first in a row relists at once.
    fn expired(&mut self, resource_version: &str, message: &str) -> Step {
        // The history is gone: the watch cache cannot be trusted to have what followed it.
        self.relist_consistently();
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
        self.log_expired_again(resource_version, message, delay);
        Step::Backoff(State::Listing, delay)
    }

    /// Why an expiry waits `delay` before its relist: another expiry before any event was
    /// applied, or one soon after the list the watch started from.
    fn log_expired_again(&self, resource_version: &str, message: &str, delay: Duration) {
        let expiries = self.no_progress.expiries;
        let retry_in_ms = delay.as_millis() as u64;
        if expiries > 1 {
            warn!(scope = %self.source.scope(), resource_version, status_message = message, expiries, retry_in_ms, "the watch expired again before any event was applied; relisting after a backoff");
        } else {
            let synced_ms = self
                .synced_at
                .map_or(0, |synced| synced.elapsed().as_millis() as u64);
            warn!(scope = %self.source.scope(), resource_version, status_message = message, synced_ms, retry_in_ms, "the watch expired again soon after the list it started from; relisting after a backoff");
        }
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
            (FailureClass::Untrusted, error) => ReflectorError::Failed { verb, scope, error },
            (_, error) if self.config.give_up_before_sync && !self.synced => {
                ReflectorError::Failed { verb, scope, error }
            }
            (_, err) => {
                let retry_after = match &err {
                    SourceError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let delay = self.retry_delay(retry_after);
                warn!(verb, scope = %scope, error = %err, retry_in_ms = delay.as_millis() as u64, "request failed; retrying");
                // A list that fails (a restore check, a resync) says nothing of the resume point.
                let retry = if verb == "watch" {
                    self.refused_resume(retry, &err)
                } else {
                    retry
                };
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

#[cfg(test)]
mod tests;
