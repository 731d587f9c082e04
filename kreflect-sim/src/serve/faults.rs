//! Injected faults: what they are, and the queue that hands each to the first request it
//! applies to.

use std::collections::VecDeque;
use std::sync::Mutex;

/// A misbehaviour for the next request it applies to; each is consumed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next list request is answered with this HTTP code and a Status with `reason`
    /// (and a `Retry-After` header plus `details.retryAfterSeconds` when set).
    ListStatus {
        /// HTTP status code, e.g. 429, 500, 503.
        code: u16,
        /// Status reason, e.g. `TooManyRequests`, `InternalError`, `ServiceUnavailable`.
        reason: String,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
    /// The same as `ListStatus`, for the next watch request.
    WatchStatus {
        /// HTTP status code.
        code: u16,
        /// Status reason.
        reason: String,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
    /// The next watch is answered HTTP 410 Gone with a `Status` of reason `Expired` (what some
    /// proxies and old servers do instead of a 200 with an ERROR event).
    WatchGoneHttp,
    /// The next watch stream ends cleanly after this many object events.
    WatchCloseAfter(usize),
    /// The next watch stream is cut after this many object events: half of the next line is
    /// sent, then the connection is aborted (an incomplete chunked body).
    WatchResetAfter(usize),
    /// After this many object events, the next watch sends an ERROR event with a 410 Expired
    /// Status, then ends.
    WatchExpiredAfter(usize),
    /// The next watch sends its headers, then nothing (no events, no bookmarks) until the
    /// client disconnects or the server stops.
    WatchStall,
    /// The next watch writes every line one byte per chunk, pausing about 1 ms after every 128
    /// bytes.
    WatchTrickle,
    /// The next list request is answered at this many bytes a second (at least 1): headers at
    /// once, then the page (gzipped or not, as it would be) a byte at a time when slow, in
    /// pieces every 10 ms when faster. A link or proxy that trickles: no byte is late enough
    /// for a silence timeout, yet a real-sized page takes days at 1 byte/s.
    ListTrickle {
        /// The pace of the body.
        bytes_per_second: u32,
    },
    /// The next list request carrying a continue token gets 410 Expired as if its snapshot had
    /// been compacted (transcript 14).
    ExpireContinue,
    /// The next watch stream sends this bad line first, then continues normally.
    WatchBadPayload(BadPayload),
    /// The next watch sends one BOOKMARK at the current resourceVersion, then ends (a hostile
    /// or broken server: a client that reopens at once hammers it).
    WatchBookmarkThenClose,
    /// The next list request carrying a continue token is answered with a page whose continue
    /// token is the one it was given (a broken server: following tokens never ends the list).
    RepeatContinueToken,
    /// The next watch sends these lines (a newline is added to each), then ends. Every `{rv}`
    /// in a line is replaced by the resourceVersion the watch starts from, so a test can replay
    /// an event the client already has (a broken or hostile server: no progress, yet an object
    /// event). Each line counts as an object event for `WatchCloseAfter` and the like. On a
    /// Table watch, a line is made a Table row like any event, unless its object is a Table
    /// already (a test's hostile row).
    WatchLinesThenClose(Vec<String>),
    /// The next list request carrying a continue token is answered with the page it asked for
    /// again, under a continue token never handed out before (a broken server: the list never
    /// ends, and no token repeats).
    FreshContinueToken,
    /// The next list request is answered with this HTTP code and this body verbatim, not a
    /// `Status` (a proxy's error page, or a hostile server's text with control characters).
    ListRawBody {
        /// HTTP status code.
        code: u16,
        /// The body.
        body: String,
    },
    /// The next list request is answered with the page it asked for, but the body names this
    /// kind instead of the resource's list kind (`SecretList` for pods): the JSON `kind`, or the
    /// protobuf envelope's `typeMeta.kind` around the same `PodList` message. A server or proxy
    /// answering for another resource; a client must refuse the page, not take its items for
    /// its own kind. Not applied to a Table (`-o wide`), whose kind is `Table`. The kind is
    /// written as it is given, unescaped.
    ListAsKind(String),
    /// The next list request (or, with `later_page`, the next one carrying a continue token)
    /// is answered 200 with `Content-Encoding: gzip` and a body that is not a valid gzip stream
    /// of its page, whether or not the client asked for gzip (a broken proxy or server).
    ListCorruptGzip {
        /// How the body is broken.
        corruption: GzipCorruption,
        /// Only a page after the first: the client already holds the earlier pages.
        later_page: bool,
    },
}

/// How a body labelled `Content-Encoding: gzip` is broken ([`Fault::ListCorruptGzip`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipCorruption {
    /// Bytes that are not gzip at all.
    NotGzip,
    /// The page gzipped, then cut after half its bytes; the HTTP body itself ends cleanly, so
    /// only the gzip decoder can tell the page is incomplete.
    Truncated,
    /// The whole page gzipped, with a CRC-32 in the trailer that does not match the data.
    BadChecksum,
}

/// A malformed watch line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadPayload {
    /// A line that is not JSON.
    MalformedJson,
    /// `{"type":"SNAPSHOTTED",...}`.
    UnknownEventType,
    /// An ADDED event whose object is a `ConfigMap`.
    WrongKind,
    /// An ADDED Pod without `metadata.name`.
    MissingName,
    /// An ADDED Pod of about 10 MB (one huge annotation), `default/huge`. It is a line made up
    /// for the stream, not an object of the cluster, so a client caches a pod the server does
    /// not have until it relists; to test a real big object, create one with
    /// [`crate::World::create_pod_with`].
    Huge,
    /// An ADDED Pod whose name contains bytes that are not UTF-8.
    InvalidUtf8,
}

/// What a request is, for matching faults.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RequestKind {
    /// A list; `with_continue` when it carries a continue token.
    List {
        /// Whether a `continue` parameter was given.
        with_continue: bool,
    },
    /// A watch.
    Watch,
}

impl Fault {
    fn applies_to(&self, target: RequestKind) -> bool {
        match (self, target) {
            (
                Fault::ListStatus { .. }
                | Fault::ListRawBody { .. }
                | Fault::ListTrickle { .. }
                | Fault::ListAsKind(_),
                RequestKind::List { .. },
            ) => true,
            (Fault::ListCorruptGzip { later_page, .. }, RequestKind::List { with_continue }) => {
                with_continue || !later_page
            }
            (
                Fault::ExpireContinue | Fault::RepeatContinueToken | Fault::FreshContinueToken,
                RequestKind::List { with_continue },
            ) => with_continue,
            (
                Fault::ListStatus { .. }
                | Fault::ListRawBody { .. }
                | Fault::ListTrickle { .. }
                | Fault::ListAsKind(_)
                | Fault::ListCorruptGzip { .. }
                | Fault::ExpireContinue
                | Fault::RepeatContinueToken
                | Fault::FreshContinueToken,
                RequestKind::Watch,
            ) => false,
            (_, RequestKind::Watch) => true,
            (_, RequestKind::List { .. }) => false,
        }
    }
}

/// Faults waiting for their request, in injection order, and faults that apply to every request
/// they match.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queue: Mutex<VecDeque<Fault>>,
    always: Mutex<Vec<Fault>>,
}

impl FaultQueue {
    /// Queues `fault`.
    pub(crate) fn push(&self, fault: Fault) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(fault);
    }

    /// Applies `fault` to every request it matches, until [`FaultQueue::clear`].
    pub(crate) fn push_always(&self, fault: Fault) {
        self.always
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fault);
    }

    /// Forgets every fault, queued or permanent.
    pub(crate) fn clear(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.always
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Removes and returns the oldest queued fault that applies to `target`; else the first
    /// permanent one that does.
    pub(crate) fn take(&self, target: RequestKind) -> Option<Fault> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = queue.iter().position(|f| f.applies_to(target)) {
            return queue.remove(index);
        }
        drop(queue);
        let always = self.always.lock().unwrap_or_else(|e| e.into_inner());
        always.iter().find(|f| f.applies_to(target)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_goes_to_the_first_request_it_applies_to() {
        let faults = FaultQueue::default();
        faults.push(Fault::WatchStall);
        faults.push(Fault::ExpireContinue);
        faults.push(Fault::ListStatus {
            code: 503,
            reason: "ServiceUnavailable".into(),
            retry_after: None,
        });
        let plain = RequestKind::List {
            with_continue: false,
        };
        assert!(matches!(
            faults.take(plain),
            Some(Fault::ListStatus { code: 503, .. })
        ));
        assert!(faults.take(plain).is_none());
        assert_eq!(
            faults.take(RequestKind::List {
                with_continue: true
            }),
            Some(Fault::ExpireContinue)
        );
        assert_eq!(faults.take(RequestKind::Watch), Some(Fault::WatchStall));
        assert!(faults.take(RequestKind::Watch).is_none());
    }

    #[test]
    fn a_corrupt_gzip_fault_for_a_later_page_waits_for_a_continue_token() {
        let faults = FaultQueue::default();
        let later = Fault::ListCorruptGzip {
            corruption: GzipCorruption::Truncated,
            later_page: true,
        };
        let any = Fault::ListCorruptGzip {
            corruption: GzipCorruption::NotGzip,
            later_page: false,
        };
        faults.push(later.clone());
        faults.push(any.clone());
        let first = RequestKind::List {
            with_continue: false,
        };
        let continued = RequestKind::List {
            with_continue: true,
        };
        assert_eq!(faults.take(RequestKind::Watch), None);
        assert_eq!(faults.take(first), Some(any));
        assert_eq!(faults.take(first), None);
        assert_eq!(faults.take(continued), Some(later));
    }

    #[test]
    fn a_permanent_fault_applies_to_every_request_after_the_queued_ones_until_cleared() {
        let faults = FaultQueue::default();
        faults.push_always(Fault::WatchGoneHttp);
        faults.push(Fault::WatchStall);
        assert_eq!(faults.take(RequestKind::Watch), Some(Fault::WatchStall));
        for _ in 0..3 {
            assert_eq!(faults.take(RequestKind::Watch), Some(Fault::WatchGoneHttp));
        }
        let plain = RequestKind::List {
            with_continue: false,
        };
        assert!(faults.take(plain).is_none());
        faults.clear();
        assert!(faults.take(RequestKind::Watch).is_none());
    }
}
