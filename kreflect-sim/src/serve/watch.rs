//! Watch responses: a chunked stream of newline-delimited events.
//!
//! A watch replays what it missed (history after `resourceVersion`, or synthetic ADDED for
//! every pod when no resourceVersion is given), then forwards live changes of its namespace,
//! BOOKMARKs (periodic, one shortly before `timeoutSeconds`, and `World::bookmark_now`), and
//! ends cleanly at the timeout or when the server stops. A watcher that falls so far behind that
//! the live fan-out dropped events for it gets an ERROR 410 and the stream ends, so the client
//! relists instead of silently missing changes.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use http::Response;
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

use super::faults::{BadPayload, Fault};
use super::selector::ObjectFilter;
use crate::body::Body;
use crate::wire::encode::{
    EventType, bookmark_line, error_line, event_line, initial_events_end_line, metadata_line,
};
use crate::wire::negotiate::{Encoding, PROTOBUF_WATCH};
use crate::wire::protobuf;
use crate::wire::resources::ResourceType;
use crate::wire::status::{StatusError, with_api_headers};
use crate::wire::table::{IncludeObject, table_line};
use crate::world::state::{Broadcast, Initial, Mutation, StoredObject, TooOld, WatchStart, World};

/// Bytes written between pauses of a trickled line.
const TRICKLE_BURST: usize = 128;
/// The pause between bursts of a trickled line.
const TRICKLE_PAUSE: Duration = Duration::from_millis(1);
/// How long before `timeoutSeconds` ends the last BOOKMARK is sent (as the real server does).
const FINAL_BOOKMARK_LEAD: Duration = Duration::from_secs(2);

/// A watch request as the handler parsed it: its query parameters and `Accept` header.
#[derive(Debug)]
pub(crate) struct WatchQuery {
    /// `None` for all namespaces.
    pub namespace: Option<String>,
    /// Where to start.
    pub start: WatchStart,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// `labelSelector` / `fieldSelector`, if any.
    pub filter: Option<ObjectFilter>,
    /// A streaming list: end the initial ADDED events with an initial-events-end BOOKMARK.
    pub initial_events_end: bool,
    /// Send `PartialObjectMetadata` objects (transcript 08).
    pub metadata_only: bool,
    /// Send each object as a one-row `Table` (transcript 18), rows' objects as this says.
    pub table: Option<IncludeObject>,
    /// The negotiated encoding: JSON lines, or protobuf frames (transcript 20).
    pub encoding: Encoding,
}

/// How a watch paces what it sends, from the server's options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    /// `ServerOptions::bookmark_interval`.
    pub bookmark_interval: Duration,
    /// `ServerOptions::flush_each_watch_event`.
    pub flush_each_event: bool,
}

/// Answers a watch query: 200 and the event stream (a too-old start is one ERROR event).
/// `fault` is the stream fault for this watch, if any.
pub(crate) fn respond(
    world: &World,
    query: WatchQuery,
    pacing: Pacing,
    fault: Option<Fault>,
    stop: CancellationToken,
) -> Response<Body> {
    let encoding = query.encoding;
    let watch = WatchBody::open(world, query, pacing, fault, stop);
    let frames = stream::unfold(watch, |mut watch| async move {
        watch.next_frame().await.map(|frame| (frame, watch))
    });
    let mut response = with_api_headers(200, StreamBody::new(frames).boxed_unsync());
    if encoding == Encoding::Protobuf {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF_WATCH));
    }
    response
}

/// A line waiting to be sent.
#[derive(Debug)]
enum Pending {
    /// An object event line (synthetic ADDED, or a change as this watcher sees it), with what
    /// its protobuf encoding is kept in.
    Object(Bytes, Kept),
    /// A pre-rendered line that is not an object event (bookmark, error, bad payload).
    Line(Bytes),
    /// End of stream.
    End,
}

/// Where an object event's protobuf encoding is kept, so a protobuf watch does not convert its
/// JSON line again.
#[derive(Debug, Clone)]
enum Kept {
    /// A change sent as it happened: its frame.
    Change(Arc<Mutation>),
    /// A synthetic ADDED of a stored object: its message.
    Added(Arc<StoredObject>),
    /// Nothing (a change seen through a selector as another type, a fault's line).
    Nothing,
}

/// The body of one watch response, produced frame by frame.
#[derive(Debug)]
struct WatchBody {
    world: World,
    namespace: Option<String>,
    filter: Option<ObjectFilter>,
    bookmarks: bool,
    metadata_only: bool,
    table: Option<IncludeObject>,
    encoding: Encoding,
    /// Whether a Table line (with the `columnDefinitions`) went out yet.
    columns_sent: bool,
    pending: VecDeque<Pending>,
    /// `None` when the watch was too old from the start.
    live: Option<broadcast::Receiver<Broadcast>>,
    /// The resourceVersion of the last change this watcher has accounted for.
    seen: u64,
    /// The world's resourceVersion when the watch opened (after what it replayed): the real
    /// watch cache sends a timed bookmark only past it (its `cacheWatcher.process` drops
    /// every event, bookmarks included, at or below where the watch started), so a watch on a
    /// collection where nothing changed since it opened gets none.
    opened_at: u64,
    /// While set, the watcher is ahead of the world (it asked for a resourceVersion the world
    /// has not reached, or the world was restored under it): changes and bookmarks at or below
    /// this are not sent, as the real watch cache drops them; the first change past it clears it.
    floor: Option<u64>,
    deadline: Option<Instant>,
    final_bookmark: Option<Instant>,
    periodic_bookmark: Option<(Instant, Duration)>,
    stop: CancellationToken,
    fault: Option<Fault>,
    events_sent: usize,
    /// A line being trickled and how much of it was sent.
    trickling: Option<(Bytes, usize)>,
    /// Abort the connection on the next poll (after a cut line).
    abort: bool,
    /// Hand hyper one event at a time ([`Pacing::flush_each_event`]).
    flush_each_event: bool,
}

impl WatchBody {
    fn open(
        world: &World,
        query: WatchQuery,
        pacing: Pacing,
        fault: Option<Fault>,
        stop: CancellationToken,
    ) -> WatchBody {
        let Pacing {
            bookmark_interval,
            flush_each_event,
        } = pacing;
        let now = Instant::now();
        let deadline = query.timeout.map(|t| now + t);
        let final_bookmark = query
            .timeout
            .filter(|_| query.bookmarks)
            .map(|t| now + t.saturating_sub(FINAL_BOOKMARK_LEAD).max(t / 2));
        let periodic_bookmark = (query.bookmarks && !bookmark_interval.is_zero())
            .then(|| (now + bookmark_interval, bookmark_interval));
        let mut pending = VecDeque::new();
        if let Some(Fault::WatchBadPayload(bad)) = &fault {
            pending.push_back(Pending::Line(bad_line(*bad)));
        }
        let filter = query.filter;
        let resource = world.resource();
        let requested = match query.start {
            WatchStart::After(requested) => Some(requested),
            WatchStart::Now => None,
        };
        let (live, seen, floor) = match world.open_watch(query.namespace.as_deref(), query.start) {
            Ok(opened) => {
                match opened.initial {
                    Initial::Objects(objects) => pending.extend(
                        objects
                            .into_iter()
                            .filter(|object| {
                                filter.as_ref().is_none_or(|f| f.matches(&object.item))
                            })
                            .map(|object| {
                                let line = event_line(EventType::Added, &object.item, resource);
                                Pending::Object(line, Kept::Added(object))
                            }),
                    ),
                    Initial::Mutations(events) => pending.extend(
                        events
                            .iter()
                            .filter_map(|event| as_seen_through(event, filter.as_ref(), resource)),
                    ),
                }
                if query.initial_events_end {
                    pending.push_back(Pending::Line(initial_events_end_line(
                        opened.resource_version,
                        resource,
                    )));
                }
                let ahead = requested.filter(|&requested| requested > opened.resource_version);
                (Some(opened.live), opened.resource_version, ahead)
            }
            Err(TooOld { requested, oldest }) => {
                tracing::debug!(requested, oldest, "watch from a too old resourceVersion");
                pending.clear();
                pending.push_back(Pending::Line(error_line(&StatusError::too_old(
                    requested, oldest,
                ))));
                pending.push_back(Pending::End);
                (None, oldest, None)
            }
        };
        if fault == Some(Fault::WatchBookmarkThenClose) && live.is_some() {
            pending.clear();
            pending.push_back(Pending::Line(bookmark_line(seen, resource)));
            pending.push_back(Pending::End);
        }
        if let Some(Fault::WatchLinesThenClose(lines)) = &fault
            && live.is_some()
        {
            pending.clear();
            pending.extend(lines.iter().map(|line| {
                let line = format!("{}\n", line.replace("{rv}", &seen.to_string()));
                Pending::Object(Bytes::from(line), Kept::Nothing)
            }));
            pending.push_back(Pending::End);
        }
        WatchBody {
            world: world.clone(),
            namespace: query.namespace,
            filter,
            bookmarks: query.bookmarks,
            metadata_only: query.metadata_only,
            table: query.table,
            encoding: query.encoding,
            columns_sent: false,
            pending,
            live,
            seen,
            opened_at: seen,
            floor,
            deadline,
            final_bookmark,
            periodic_bookmark,
            stop,
            fault,
            events_sent: 0,
            trickling: None,
            abort: false,
            flush_each_event,
        }
    }

    /// The next body frame; `None` ends the response cleanly, `Err` aborts the connection.
    async fn next_frame(&mut self) -> Option<Result<Frame<Bytes>, io::Error>> {
        if self.abort {
            // Let hyper flush the half line first (it flushes when the body is pending).
            tokio::task::yield_now().await;
            return Some(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "injected WatchResetAfter",
            )));
        }
        if let Some((line, sent)) = self.trickling.take() {
            return self.trickle(line, sent).await;
        }
        if self
            .deadline
            .is_some_and(|deadline| deadline <= Instant::now())
        {
            // Like the real server, end the watch at its timeout (between two lines) even when
            // more is queued; the client resumes from the last line it got.
            return None;
        }
        match self.fault {
            Some(Fault::WatchCloseAfter(n)) if self.events_sent >= n => return None,
            Some(Fault::WatchExpiredAfter(n)) if self.events_sent >= n => {
                self.fault = None;
                self.pending.clear();
                let status = StatusError::new(
                    410,
                    "Expired",
                    "The resourceVersion for the provided watch is too old.",
                );
                self.pending.push_back(Pending::Line(error_line(&status)));
                self.pending.push_back(Pending::End);
            }
            Some(Fault::WatchStall) => {
                self.stop.cancelled().await;
                return None;
            }
            _ => {}
        }
        if self.flush_each_event {
            // Pending once: hyper writes out what it holds before it asks for the next frame,
            // so each event goes out as its own chunk in its own write.
            tokio::task::yield_now().await;
        }
        let (mut line, is_object, kept) = self.next_line().await?;
        if let Some(include) = self.table {
            if let Some(table) =
                table_line(&line, self.world.resource(), include, !self.columns_sent)
            {
                line = table;
                self.columns_sent = true;
            }
        } else if self.metadata_only
            && let Some(metadata) = metadata_line(&line)
        {
            line = metadata;
        } else if self.encoding == Encoding::Protobuf {
            line = self.protobuf_frame(line, &kept);
        }
        if let Some(Fault::WatchResetAfter(n)) = self.fault
            && self.events_sent >= n
        {
            self.abort = true;
            return Some(Ok(Frame::data(line.slice(..line.len() / 2))));
        }
        if is_object {
            self.events_sent += 1;
        }
        if let Some(Fault::WatchTrickle) = self.fault {
            return self.trickle(line, 0).await;
        }
        Some(Ok(Frame::data(line)))
    }

    /// Sends the next byte of `line`, pausing between bursts.
    async fn trickle(
        &mut self,
        line: Bytes,
        sent: usize,
    ) -> Option<Result<Frame<Bytes>, io::Error>> {
        if sent > 0 && sent.is_multiple_of(TRICKLE_BURST) {
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                _ = sleep(TRICKLE_PAUSE) => {}
            }
        }
        let byte = line.slice(sent..sent + 1);
        if sent + 1 < line.len() {
            self.trickling = Some((line, sent + 1));
        }
        Some(Ok(Frame::data(byte)))
    }

    /// `line` as a protobuf frame: from its kept encoding, or the line converted; a line that
    /// does not convert (a bad payload) is sent as it is, which no client reads as a frame.
    fn protobuf_frame(&self, line: Bytes, kept: &Kept) -> Bytes {
        let resource = self.world.resource();
        let frame = match kept {
            Kept::Change(mutation) => mutation.protobuf_frame(resource).cloned(),
            Kept::Added(object) => object.protobuf(resource).map(|message| {
                let object = protobuf::envelope(&resource.api_version(), resource.kind, message);
                protobuf::watch_frame(EventType::Added.as_str(), &object)
            }),
            Kept::Nothing => None,
        };
        frame
            .or_else(|| protobuf::frame_from_line(&line, resource))
            .unwrap_or(line)
    }

    /// The next line, whether it is an object event, and the mutation it is when unchanged;
    /// `None` at the end of the stream.
    async fn next_line(&mut self) -> Option<(Bytes, bool, Kept)> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                return match next {
                    Pending::Object(line, kept) => Some((line, true, kept)),
                    Pending::Line(line) => Some((line, false, Kept::Nothing)),
                    Pending::End => {
                        self.pending.push_front(Pending::End);
                        None
                    }
                };
            }
            let bookmark_at = match (self.periodic_bookmark, self.final_bookmark) {
                (Some((periodic, _)), Some(last)) => Some(periodic.min(last)),
                (Some((periodic, _)), None) => Some(periodic),
                (None, last) => last,
            };
            let live = self.live.as_mut()?;
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => return None,
                _ = sleep_until_some(self.deadline) => return None,
                _ = sleep_until_some(bookmark_at) => self.bookmark(),
                message = live.recv() => self.accept(message),
            }
        }
    }

    /// Queues a BOOKMARK at the current resourceVersion, after every change already published
    /// (so the bookmark never runs ahead of an event this watcher has yet to send).
    fn bookmark(&mut self) {
        let now = Instant::now();
        if let Some((at, interval)) = &mut self.periodic_bookmark
            && *at <= now
        {
            *at = now + *interval;
        }
        if self.final_bookmark.is_some_and(|at| at <= now) {
            self.final_bookmark = None;
        }
        while let Some(message) = self.live.as_mut().map(|live| live.try_recv()) {
            match message {
                Ok(message) => self.accept(Ok(message)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return self.accept(Err(RecvError::Lagged(n)));
                }
                Err(_) => break,
            }
        }
        if !matches!(self.pending.back(), Some(Pending::End))
            && self.above_floor(self.seen)
            && self.seen > self.opened_at
        {
            self.pending.push_back(Pending::Line(bookmark_line(
                self.seen,
                self.world.resource(),
            )));
        }
    }

    /// Whether a change or bookmark at `resource_version` may be sent: the watcher is not
    /// ahead of the world, or `resource_version` is past it.
    fn above_floor(&self, resource_version: u64) -> bool {
        self.floor.is_none_or(|floor| resource_version > floor)
    }

    /// Takes one message from the live fan-out.
    fn accept(&mut self, message: Result<Broadcast, RecvError>) {
        match message {
            Ok(Broadcast::Mutation(event)) => {
                if event.resource_version <= self.seen || !self.above_floor(event.resource_version)
                {
                    return;
                }
                self.seen = event.resource_version;
                self.floor = None;
                if self
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| ns == event.namespace)
                    && let Some(line) =
                        as_seen_through(&event, self.filter.as_ref(), self.world.resource())
                {
                    self.pending.push_back(line);
                }
            }
            Ok(Broadcast::Bookmark(rv)) => {
                self.seen = self.seen.max(rv);
                if self.bookmarks && self.above_floor(rv) {
                    let line = bookmark_line(rv, self.world.resource());
                    self.pending.push_back(Pending::Line(line));
                }
            }
            Ok(Broadcast::Restored) => {
                self.floor = Some(self.floor.unwrap_or(0).max(self.seen));
            }
            Err(RecvError::Lagged(missed)) => {
                let oldest = self.world.oldest_resource_version();
                tracing::debug!(
                    missed,
                    seen = self.seen,
                    "watcher fell behind; ending it with 410"
                );
                self.live = None;
                self.pending
                    .push_back(Pending::Line(error_line(&StatusError::too_old(
                        self.seen, oldest,
                    ))));
                self.pending.push_back(Pending::End);
            }
            Err(RecvError::Closed) => {
                self.live = None;
                self.pending.push_back(Pending::End);
            }
        }
    }
}

/// A change as a watcher with `filter` sees it: unchanged without a filter; with one, an
/// object that starts matching is ADDED, one that stops matching is DELETED, and changes to
/// objects it never matched are not sent (as the real server's watch cache does).
fn as_seen_through(
    event: &Arc<Mutation>,
    filter: Option<&ObjectFilter>,
    resource: &ResourceType,
) -> Option<Pending> {
    let Some(filter) = filter else {
        return Some(Pending::Object(
            event.line.clone(),
            Kept::Change(Arc::clone(event)),
        ));
    };
    let now = filter.matches(&event.item);
    let before = event
        .previous
        .as_ref()
        .is_some_and(|previous| filter.matches(previous));
    let seen_as = match (event.event_type, before, now) {
        (EventType::Added, _, true) | (EventType::Modified, true, true) => event.event_type,
        (EventType::Modified, false, true) => EventType::Added,
        (EventType::Modified, true, false) | (EventType::Deleted, true, _) => EventType::Deleted,
        _ => return None,
    };
    if seen_as == event.event_type {
        return Some(Pending::Object(
            event.line.clone(),
            Kept::Change(Arc::clone(event)),
        ));
    }
    Some(Pending::Object(
        event_line(seen_as, &event.item, resource),
        Kept::Nothing,
    ))
}

/// Sleeps until `at`, or forever when `None`.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The line a `BadPayload` fault sends.
fn bad_line(bad: BadPayload) -> Bytes {
    let pod = |name: &str, extra: &str| {
        format!(
            "{{\"type\":\"ADDED\",\"object\":{{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{{{name}\"namespace\":\"default\",\"resourceVersion\":\"1\"{extra}}},\"spec\":{{\"containers\":[]}},\"status\":{{}}}}}}\n"
        )
    };
    match bad {
        BadPayload::MalformedJson => Bytes::from_static(b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\n"),
        BadPayload::UnknownEventType => Bytes::from(pod("\"name\":\"bad-type\",", "").replacen("ADDED", "SNAPSHOTTED", 1)),
        BadPayload::WrongKind => Bytes::from_static(
            b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"not-a-pod\",\"namespace\":\"default\",\"resourceVersion\":\"1\"},\"data\":{\"k\":\"v\"}}}\n",
        ),
        BadPayload::MissingName => Bytes::from(pod("", "")),
        BadPayload::Huge => {
            let filler = "x".repeat(10 * 1024 * 1024);
            Bytes::from(pod("\"name\":\"huge\",", &format!(",\"annotations\":{{\"filler\":\"{filler}\"}}")))
        }
        BadPayload::InvalidUtf8 => {
            let mut line = pod("\"name\":\"bad-\u{1}\",", "").into_bytes();
            if let Some(at) = line.iter().position(|&b| b == 1) {
                line.splice(at..=at, [0xff, 0xfe]);
            }
            Bytes::from(line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_payloads_are_bad_in_the_intended_way() {
        let parse = |bad| serde_json::from_slice::<serde_json::Value>(&bad_line(bad));
        assert!(parse(BadPayload::MalformedJson).is_err());
        assert_eq!(
            parse(BadPayload::UnknownEventType).unwrap()["type"],
            "SNAPSHOTTED"
        );
        assert_eq!(
            parse(BadPayload::WrongKind).unwrap()["object"]["kind"],
            "ConfigMap"
        );
        assert!(
            parse(BadPayload::MissingName).unwrap()["object"]["metadata"]
                .get("name")
                .is_none()
        );
        assert!(bad_line(BadPayload::Huge).len() > 10_000_000);
        assert!(parse(BadPayload::Huge).is_ok());
        assert!(std::str::from_utf8(&bad_line(BadPayload::InvalidUtf8)).is_err());
        assert!(bad_line(BadPayload::InvalidUtf8).ends_with(b"\n"));
    }
}
