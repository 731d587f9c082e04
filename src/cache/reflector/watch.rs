//! An open watch stream, from its request to the step it leads to. What the stream's events
//! mean depends on its [`Phase`] (a streaming list's initial events, or the watch), which holds
//! that phase's data, as kube-runtime's `watcher::State` does; [`Reflector::apply_event`] is
//! the table of what each thing received in each phase leads to.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

use super::{ListProgress, ListShape, Reflector, State, Step};
use crate::cache::failure::FailureClass;
use crate::cache::list_watch::{ListWatch, SourceError, StreamError, WatchRequest, WatchStream};
use crate::cache::metrics::Observed;
use crate::wire::decode::{ApiStatus, DecodeError, WatchEvent};
use crate::wire::object::{ObjectError, ObjectKey, RawObject};

/// A streaming list's progress is reported at most this often (the line is redrawn every
/// 200 ms).
const STREAMED_REPORT_EVERY: Duration = Duration::from_millis(100);

/// What an open stream's events are for, with the data of that phase.
pub(super) enum Phase {
    /// A streaming list: events fill a fresh buffer until the initial-events-end BOOKMARK;
    /// then the store is replaced, and the same stream goes on as the watch.
    StreamingList(InitialEvents),
    /// A watch: events change the store and move its resourceVersion.
    Watching(OpenWatch),
}

/// A streaming list's initial state, as received so far.
pub(super) struct InitialEvents {
    objects: HashMap<ObjectKey, RawObject>,
    /// When the stream was requested: the watch it turns into is dead counted from then.
    started: Instant,
    /// The `timeoutSeconds` asked for.
    timeout_seconds: u32,
    /// The initial events must have ended by then (the watch's timeout and the stall grace,
    /// as a watch is dead then): a server streaming ADDED events for ever without the
    /// initial-events-end bookmark is not waited for for ever.
    ends_by: Instant,
    /// When progress was last reported.
    reported_at: Option<Instant>,
}

/// An open watch: where it is, and when it is dead.
pub(super) struct OpenWatch {
    /// The last resourceVersion seen (list, event or bookmark).
    resource_version: String,
    /// When the watch was requested.
    started: Instant,
    /// The `timeoutSeconds` asked for.
    timeout_seconds: u32,
    deadline: WatchDeadline,
    /// Object events that moved the watch position: a replayed event (the resourceVersion we
    /// are at, or none) is no progress, or a server could end every watch after one.
    object_events: u64,
    /// Whether any event or bookmark was applied: a watch that heard nothing may be from a
    /// resourceVersion the server has not reached (see [`super::restore`]).
    heard: bool,
}

impl OpenWatch {
    fn new(
        resource_version: String,
        started: Instant,
        timeout_seconds: u32,
        grace: Duration,
    ) -> Self {
        OpenWatch {
            resource_version,
            started,
            timeout_seconds,
            deadline: WatchDeadline::new(started, timeout_seconds, grace),
            object_events: 0,
            heard: false,
        }
    }

    /// Where to resume this watch.
    fn resume(self) -> State {
        State::Watching {
            resource_version: self.resource_version,
        }
    }
}

/// One thing read from an open stream.
enum Received {
    /// A decoded event.
    Event(WatchEvent),
    /// A line that could not be decoded, or a broken connection.
    Failed(StreamError),
    /// The server ended the stream.
    Ended,
    /// Nothing came in time: no event of a streaming list for `initial_events_timeout`, or a
    /// watch past its [`WatchDeadline`].
    Silent,
}

impl From<Option<Result<WatchEvent, StreamError>>> for Received {
    fn from(next: Option<Result<WatchEvent, StreamError>>) -> Self {
        match next {
            Some(Ok(event)) => Received::Event(event),
            Some(Err(err)) => Received::Failed(err),
            None => Received::Ended,
        }
    }
}

impl Phase {
    /// The next thing on `stream`, or [`Received::Silent`] when it comes too late for this
    /// phase.
    async fn receive(
        &mut self,
        stream: &mut WatchStream,
        initial_events_timeout: Duration,
    ) -> Received {
        match self {
            Phase::StreamingList(list) => {
                let silent_at = Instant::now() + initial_events_timeout;
                tokio::time::timeout_at(silent_at.min(list.ends_by), stream.next())
                    .await
                    .map_or(Received::Silent, Received::from)
            }
            Phase::Watching(watch) => loop {
                match tokio::time::timeout_at(watch.deadline.at(), stream.next()).await {
                    Ok(next) => {
                        watch.deadline.received(Instant::now());
                        return Received::from(next);
                    }
                    Err(_) if watch.deadline.extend_if_alive() => {}
                    Err(_) => return Received::Silent,
                }
            },
        }
    }
}

impl<S: ListWatch> Reflector<S> {
    /// Opens a streaming list: a watch whose server first sends the current state. A server
    /// that refuses it as invalid or unknown cannot stream lists.
    pub(super) async fn open_streaming_list(&mut self) -> ControlFlow<Step, (WatchStream, Phase)> {
        let started = Instant::now();
        let timeout_seconds = self.watch_timeout_seconds();
        let request = WatchRequest {
            resource_version: String::new(),
            timeout_seconds,
            send_initial_events: true,
        };
        match self.source.watch(request).await {
            Ok(stream) => {
                let grace = self.config.stall_grace;
                let list = InitialEvents {
                    objects: HashMap::new(),
                    started,
                    timeout_seconds,
                    ends_by: started + Duration::from_secs(timeout_seconds.into()) + grace,
                    reported_at: None,
                };
                ControlFlow::Continue((stream, Phase::StreamingList(list)))
            }
            Err(err) => ControlFlow::Break(self.streaming_list_failed(err)),
        }
    }

    /// Opens a watch from `resource_version`; a 410 relists ([`Reflector::expired`]).
    pub(super) async fn open_watch(
        &mut self,
        resource_version: String,
    ) -> ControlFlow<Step, (WatchStream, Phase)> {
        let started = Instant::now();
        let mut timeout_seconds = self.watch_timeout_seconds();
        if self.resuming {
            // Resumed from a seeded store: a short watch, so it is known soon to be up to date.
            timeout_seconds = timeout_seconds.min(super::RESUME_WATCH_TIMEOUT_SECONDS);
        }
        let request = WatchRequest {
            resource_version: resource_version.clone(),
            timeout_seconds,
            send_initial_events: false,
        };
        let stream = match self.source.watch(request).await {
            Ok(stream) => stream,
            Err(err) if FailureClass::of(&err) == FailureClass::Expired => {
                return ControlFlow::Break(self.expired(&resource_version, &err.to_string()));
            }
            Err(err) => {
                let state = State::Watching { resource_version };
                return ControlFlow::Break(self.failed("watch", state, err));
            }
        };
        debug!(scope = %self.source.scope(), resource_version = %resource_version, timeout_seconds, "watch started");
        self.metrics.observe(Observed::WatchStarted);
        if self.watched_since_list {
            self.metrics.observe(Observed::WatchRestart);
        }
        self.watched_since_list = true;
        let grace = self.config.stall_grace;
        let watch = OpenWatch::new(resource_version, started, timeout_seconds, grace);
        ControlFlow::Continue((stream, Phase::Watching(watch)))
    }

    /// Reads an open stream, one [`Reflector::apply_event`] at a time, until it leads to the
    /// next step.
    pub(super) async fn consume(&mut self, mut stream: WatchStream, mut phase: Phase) -> Step {
        let initial_events_timeout = self.config.initial_events_timeout;
        loop {
            let received = phase.receive(&mut stream, initial_events_timeout).await;
            if let Received::Event(event) = &received
                && self.is_out_of_scope(event)
            {
                continue;
            }
            match self.apply_event(phase, received).await {
                ControlFlow::Continue(next) => phase = next,
                ControlFlow::Break(step) => return step,
            }
        }
    }

    /// The event table: what `received` on a stream in `phase` leads to, reading on in the
    /// phase it leads to ([`ControlFlow::Continue`]), or the next step ([`ControlFlow::Break`]).
    async fn apply_event(&mut self, phase: Phase, received: Received) -> ControlFlow<Step, Phase> {
        use ControlFlow::{Break, Continue};
        use WatchEvent::{Added, Bookmark, Deleted, Error, InitialEventsEnd, Modified};
        match (phase, received) {
            (phase, Received::Failed(StreamError::BadLine { offset, error }))
                if is_skippable(&error) =>
            {
                self.log_skipped_line(offset, &error);
                Continue(phase)
            }
            (phase, Received::Event(Error(status))) => Break(self.error_event(phase, status)),

            (Phase::StreamingList(mut list), Received::Event(Added(object))) => {
                list.objects.insert(object.key().clone(), object);
                self.report_streamed(&mut list);
                Continue(Phase::StreamingList(list))
            }
            (Phase::StreamingList(_), Received::Event(Modified(_) | Deleted(_))) => {
                // A streaming list's initial events are all ADDED (the watch cache's current
                // objects); a change before the bookmark is a plain watch going on.
                Break(self.fall_back_to_paged_list(
                    "a change before the initial-events-end bookmark (a plain watch)",
                ))
            }
            (Phase::StreamingList(list), Received::Event(InitialEventsEnd(resource_version))) => {
                Continue(self.commit_streamed_list(list, resource_version).await)
            }
            (Phase::StreamingList(_), Received::Event(Bookmark(_))) => {
                Break(self.fall_back_to_paged_list(
                    "a bookmark without the initial-events-end annotation (a plain watch)",
                ))
            }
            (Phase::StreamingList(_), Received::Ended) => {
                Break(self.fall_back_to_paged_list(
                    "the watch ended before the initial-events-end bookmark",
                ))
            }
            (Phase::StreamingList(list), Received::Silent) => {
                let silent = self.config.initial_events_timeout.as_secs();
                let reason = if Instant::now() >= list.ends_by {
                    format!(
                        "no initial-events-end bookmark within the watch's {} s",
                        list.timeout_seconds
                    )
                } else {
                    format!("no initial-events-end bookmark after {silent} s without events")
                };
                Break(self.fall_back_to_paged_list(&reason))
            }
            (Phase::StreamingList(_), Received::Failed(err)) => {
                // A stream broken or garbled before its initial state came: list instead, as
                // client-go does (progress is better than a loop of streaming lists).
                self.log_streaming_list_broken(&err);
                self.streaming_list = false;
                Break(Step::Backoff(State::Listing, self.backoff.next_delay()))
            }

            (Phase::Watching(mut watch), Received::Event(Added(object))) => {
                self.metrics.observe(Observed::Added);
                self.upsert(&mut watch, "ADDED", object).await;
                Continue(Phase::Watching(watch))
            }
            (Phase::Watching(mut watch), Received::Event(Modified(object))) => {
                self.metrics.observe(Observed::Modified);
                self.upsert(&mut watch, "MODIFIED", object).await;
                Continue(Phase::Watching(watch))
            }
            (Phase::Watching(mut watch), Received::Event(Deleted(object))) => {
                self.delete(&mut watch, object).await;
                Continue(Phase::Watching(watch))
            }
            (
                Phase::Watching(mut watch),
                Received::Event(Bookmark(resource_version) | InitialEventsEnd(resource_version)),
            ) => {
                self.bookmark(&mut watch, resource_version).await;
                if self.resuming && watch.heard {
                    // A bookmark: every change before it has been sent.
                    self.caught_up(&watch.resource_version).await;
                }
                Continue(Phase::Watching(watch))
            }
            (Phase::Watching(watch), Received::Ended) if self.resuming => {
                Break(self.resumed_watch_ended(watch).await)
            }
            (Phase::Watching(watch), Received::Ended) => Break(self.watch_ended(watch)),
            (Phase::Watching(watch), Received::Silent) => Break(self.watch_dead(watch)),
            (Phase::Watching(watch), Received::Failed(err @ StreamError::Transport(_))) => {
                self.log_watch_broken(&watch, &err);
                Break(Step::Backoff(watch.resume(), self.backoff.next_delay()))
            }
            (Phase::Watching(watch), Received::Failed(err)) => {
                self.log_undecodable_line(&err);
                self.relist_from(&watch.resource_version);
                Break(Step::Backoff(State::Listing, self.backoff.next_delay()))
            }
        }
    }

    /// The one place an ERROR event becomes a failure. While watching, a 410 relists
    /// ([`Reflector::expired`]); anything else is a failed `watch` request
    /// ([`Reflector::failed`]), retried from the watch's position. In a streaming list's
    /// initial events, it is a failed streaming list ([`Reflector::streaming_list_failed`]).
    fn error_event(&mut self, phase: Phase, status: ApiStatus) -> Step {
        if let Phase::Watching(watch) = &phase
            && FailureClass::of_status(&status) == FailureClass::Expired
        {
            return self.expired(&watch.resource_version, &status.message);
        }
        let err = SourceError::Status {
            status,
            retry_after: None,
        };
        match phase {
            Phase::Watching(watch) => self.failed("watch", watch.resume(), err),
            Phase::StreamingList(_) => self.streaming_list_failed(err),
        }
    }

    /// A streaming list failed before its initial state came (at its start, or with an ERROR
    /// event): the run lists instead from now on, as client-go falls back to a list on any
    /// failure of one ("making progress is better than deadlocking"). At once when the server
    /// cannot or will not serve it (4xx, 410); after the backoff (honouring `Retry-After`) when
    /// it is failing or overloaded; credentials it refuses and an untrusted certificate stay
    /// fatal, as for a list.
    fn streaming_list_failed(&mut self, err: SourceError) -> Step {
        match FailureClass::of(&err) {
            FailureClass::Unauthenticated | FailureClass::Untrusted => {
                self.failed("list", State::Listing, err)
            }
            FailureClass::Transient => {
                self.streaming_list = false;
                info!(scope = %self.source.scope(), error = %err, "the streaming list failed; listing instead from now on");
                // A streaming list is the run's list: its failures are said as a list's.
                self.failed("list", State::Listing, err)
            }
            FailureClass::Expired
            | FailureClass::Invalid
            | FailureClass::NotFound
            | FailureClass::Forbidden => {
                // v1.25 and v1.26 answer 422 (transcript 09). A request that is wrong for
                // another reason (a bad selector), or refused (no `watch`, or no `list`
                // either), fails the same way as a list, whose answer names what is missing.
                let reason = match &err {
                    SourceError::Status { status, .. } => {
                        format!("the server answered {} {}", status.code, status.reason)
                    }
                    other => other.to_string(),
                };
                self.fall_back_to_paged_list(&reason)
            }
        }
    }

    /// Reports a streaming list's progress: at its first object, then at most every
    /// [`STREAMED_REPORT_EVERY`].
    fn report_streamed(&self, list: &mut InitialEvents) {
        let now = Instant::now();
        if list
            .reported_at
            .is_some_and(|at| now < at + STREAMED_REPORT_EVERY)
        {
            return;
        }
        list.reported_at = Some(now);
        self.report(ListProgress {
            objects: list.objects.len(),
            pages: 0,
            elapsed: list.started.elapsed(),
            done: false,
            shape: ListShape::Streamed,
        });
    }

    /// The initial-events-end BOOKMARK: the initial state replaces the store, and the same
    /// stream goes on as the first watch after this list.
    async fn commit_streamed_list(
        &mut self,
        list: InitialEvents,
        resource_version: String,
    ) -> Phase {
        let objects = list.objects.into_values().collect();
        self.commit_list(objects, &resource_version, 0, list.started)
            .await;
        self.watched_since_list = true;
        let grace = self.config.stall_grace;
        Phase::Watching(OpenWatch::new(
            resource_version,
            list.started,
            list.timeout_seconds,
            grace,
        ))
    }

    /// Applies an ADDED or MODIFIED object.
    async fn upsert(&mut self, watch: &mut OpenWatch, event: &'static str, object: RawObject) {
        debug!(event, key = %object.key(), resource_version = %object.resource_version(), "got event");
        self.progressed(watch, object.resource_version());
        self.writer.upsert(object).await;
    }

    /// The watch heard an event or bookmark that may follow its resume point: the server
    /// accepted it. One that goes back, or is not an integer, is no such sign (a server whose
    /// state went back sends its own, lower, values): it leaves the restore check due.
    fn heard(&mut self, watch: &mut OpenWatch) {
        watch.heard = true;
        self.refused_resumes = 0;
    }

    /// Applies a BOOKMARK: the collection is at `resource_version`, no object changed.
    async fn bookmark(&mut self, watch: &mut OpenWatch, resource_version: String) {
        trace!(event = "BOOKMARK", resource_version = %resource_version, "got event");
        if !super::restore::may_follow(&watch.resource_version, &resource_version) {
            warn!(scope = %self.source.scope(), resource_version = %watch.resource_version, bookmark_resource_version = %resource_version, "ignored a bookmark whose resourceVersion is not an integer or goes back; resuming from the last good one");
            return;
        }
        self.heard(watch);
        self.writer.set_resource_version(&resource_version).await;
        watch.resource_version = resource_version;
    }

    /// Applies a DELETED object.
    async fn delete(&mut self, watch: &mut OpenWatch, object: RawObject) {
        debug!(event = "DELETED", key = %object.key(), resource_version = %object.resource_version(), "got event");
        self.writer.remove(&object).await;
        self.metrics.observe(Observed::Deleted);
        self.progressed(watch, object.resource_version());
    }

    /// Moves the watch position to an applied object event's resourceVersion. Only an event
    /// that moves it is progress (counted in the watch's object events, and resetting
    /// [`super::NoProgress`]): one at the position we are at, or without a resourceVersion, is
    /// a replay, and a server ending every watch after a replay must be backed off like one
    /// ending it after a bookmark.
    /// The event is [`Reflector::heard`] unless its resourceVersion goes back.
    fn progressed(&mut self, watch: &mut OpenWatch, event_version: &str) {
        if event_version.is_empty() || event_version == watch.resource_version {
            self.heard(watch);
            return;
        }
        if !super::restore::may_follow(&watch.resource_version, event_version) {
            warn!(scope = %self.source.scope(), resource_version = %watch.resource_version, event_resource_version = %event_version, "an event's resourceVersion is not an integer or goes back; applied, but not resumed from");
            return;
        }
        self.heard(watch);
        event_version.clone_into(&mut watch.resource_version);
        watch.object_events += 1;
        self.no_progress = super::NoProgress::default();
    }

    /// What follows a watch the server ended: reopen it at once, unless it ended early (before
    /// half its timeout) without one object event, which is a failure. Bookmarks do not count:
    /// a server that closes every watch after a bookmark must not be hammered.
    fn watch_ended(&mut self, watch: OpenWatch) -> Step {
        let elapsed = watch.started.elapsed();
        let requested = Duration::from_secs(watch.timeout_seconds.into());
        let object_events = watch.object_events;
        let OpenWatch {
            resource_version,
            heard,
            ..
        } = watch;
        debug!(scope = %self.source.scope(), resource_version, object_events, elapsed_ms = elapsed.as_millis() as u64, "watch ended");
        if object_events > 0 || elapsed * 2 >= requested {
            return Step::Next(self.after_watch(resource_version, heard));
        }
        let state = self.after_watch(resource_version, heard);
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

    /// The end of a watch resumed from a seeded store before anything said it is up to date.
    /// The server replays what changed since the resume point at the start of a watch, so a
    /// watch that ran to its end has brought the store up to date, unless it heard nothing
    /// at all: then the server may have gone back in time (an etcd restore, which a resumed
    /// run cannot tell from a quiet collection), and a restore check decides.
    async fn resumed_watch_ended(&mut self, watch: OpenWatch) -> Step {
        if !watch.heard {
            return Step::Next(State::CheckingRestore {
                resource_version: watch.resource_version,
            });
        }
        self.caught_up(&watch.resource_version).await;
        self.watch_ended(watch)
    }

    /// A watch past its [`WatchDeadline`]: reopen it at once.
    fn watch_dead(&self, watch: OpenWatch) -> Step {
        warn!(scope = %self.source.scope(), resource_version = %watch.resource_version, timeout_seconds = watch.timeout_seconds, open_seconds = watch.started.elapsed().as_secs(), silent_seconds = watch.deadline.silent_for().as_secs(), "watch is dead: still open past its timeout and silent (a half-open connection); reopening");
        Step::Next(self.after_watch(watch.resource_version, watch.heard))
    }
}

/// The log lines of [`Reflector::apply_event`]'s transitions, out of the table.
impl<S: ListWatch> Reflector<S> {
    fn log_skipped_line(&self, offset: u64, error: &DecodeError) {
        warn!(scope = %self.source.scope(), offset, error = %error, "skipped a watch event that cannot be applied");
    }

    fn log_streaming_list_broken(&self, err: &StreamError) {
        warn!(scope = %self.source.scope(), error = %err, "streaming list broken; listing again after a backoff");
    }

    fn log_watch_broken(&self, watch: &OpenWatch, err: &StreamError) {
        info!(scope = %self.source.scope(), resource_version = %watch.resource_version, error = %err, "watch broken; resuming");
    }

    fn log_undecodable_line(&self, err: &StreamError) {
        warn!(scope = %self.source.scope(), error = %err, "undecodable watch line; relisting to stay correct");
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
