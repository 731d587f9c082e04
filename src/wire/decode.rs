//! The API server's wire formats: list bodies, newline-delimited watch events and `Status`
//! errors. Pure functions over bytes, so they are unit-tested and fuzzed without a server.
//! Server-side Tables (`-o wide`) are decoded by [`table`].

pub mod protobuf_list;
pub mod table;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::wire::object::{Bookmark, ObjectError, RawObject, ScannedObject, bookmark_of};
use crate::wire::protobuf;

/// A Kubernetes `Status` object, as the server sends it for errors.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ApiStatus {
    /// HTTP-like status code, e.g. 410.
    #[serde(default)]
    pub code: u16,
    /// Machine-readable reason, e.g. `Expired`, `Forbidden` (control characters escaped).
    #[serde(default, deserialize_with = "escaped")]
    pub reason: String,
    /// Human-readable message, with control characters escaped: it is the server's text, and
    /// goes into one-line errors and logs.
    #[serde(default, deserialize_with = "escaped")]
    pub message: String,
    /// `details`: what the failure is about, when the server says.
    /// Boxed: most statuses are carried in errors, which stay small.
    #[serde(default)]
    pub details: Box<StatusDetails>,
}

/// A `Status`'s `details`: the resource and object a failure is about (`pods`, or `users` and
/// `alice` when impersonating `alice` was refused), control characters escaped.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct StatusDetails {
    /// The resource (plural), e.g. `pods`, `users`, `groups`.
    #[serde(default, deserialize_with = "escaped")]
    pub kind: String,
    /// The object's name, if one.
    #[serde(default, deserialize_with = "escaped")]
    pub name: String,
}

/// A string with its control characters escaped ([`crate::quote::escape_controls`]).
fn escaped<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(crate::quote::escape_controls(&text).into_owned())
}

impl ApiStatus {
    /// Parses a `Status` body, JSON or protobuf; `None` when the body is not one (a proxy's
    /// HTML page, say).
    pub fn from_body(body: &[u8]) -> Option<Self> {
        if body.starts_with(protobuf::MAGIC) {
            let envelope = protobuf::read_envelope(body).ok()?;
            return (envelope.kind == "Status")
                .then(|| Self::from_protobuf(envelope.raw).ok())
                .flatten();
        }
        #[derive(Deserialize)]
        struct Kind<'a> {
            kind: Option<&'a str>,
        }
        let kind: Kind<'_> = serde_json::from_slice(body).ok()?;
        if kind.kind != Some("Status") {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    /// Reads a protobuf `Status` message.
    fn from_protobuf(message: &[u8]) -> Result<Self, protobuf::ProtobufError> {
        let status = protobuf::read_status(message)?;
        let escaped = |text: &str| crate::quote::escape_controls(text).into_owned();
        Ok(ApiStatus {
            code: u16::try_from(status.code).unwrap_or(0),
            reason: escaped(status.reason),
            message: escaped(status.message),
            details: Box::new(StatusDetails {
                kind: escaped(status.details_kind),
                name: escaped(status.details_name),
            }),
        })
    }

    /// Whether this status says the requested resourceVersion or continue token is too old.
    pub fn is_expired(&self) -> bool {
        self.code == 410 || self.reason == "Expired" || self.reason == "Gone"
    }

    /// Whether this is the answer to a list or watch from a resourceVersion the server's watch
    /// cache has not reached within 3 s: `504 Timeout: Too large resource version: N, current:
    /// M` (checked on v1.26; its `details.causes` say `ResourceVersionTooLarge`).
    pub fn is_resource_version_too_large(&self) -> bool {
        self.code == 504 && self.message.contains("Too large resource version")
    }
}

/// One page of a list response.
#[derive(Debug)]
pub struct ListPage {
    /// The objects of this page that could be keyed.
    pub items: Vec<RawObject>,
    /// Items the page carried that could not be keyed, with the reason (logged by the caller).
    pub rejected: Vec<ObjectError>,
    /// `metadata.resourceVersion` of the list.
    pub resource_version: String,
    /// `metadata.continue`, when more pages follow.
    pub continue_token: Option<String>,
}

/// Why a list body or watch line could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid JSON of the expected shape.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// Not valid Kubernetes protobuf of the expected shape.
    #[error("malformed protobuf: {0}")]
    Protobuf(#[from] protobuf::ProtobufError),
    /// A watch event whose `type` is none of the known ones.
    #[error("unknown watch event type {0:?}")]
    UnknownType(String),
    /// The event's object cannot be cached.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A body sent with `Content-Encoding: gzip` that does not decompress (not gzip, cut
    /// short, or a bad checksum): broken by the server or a proxy.
    #[error("corrupt gzip body: {0}")]
    Gzip(String),
    /// A body in a `Content-Encoding` that was not asked for.
    #[error(
        "it is encoded as {0:?}, which kreflect did not ask for (it asks for gzip, or nothing \
         with --disable-compression)"
    )]
    Encoding(String),
    /// A gzip body that inflates too far for what was sent (see
    /// `crate::connect::transport::inflation`).
    #[error("the gzip body {0}")]
    Inflated(String),
    /// A list body of another kind than the list asked for (a `SecretList` for pods, a `Status`
    /// sent with 200, a protobuf envelope of another type): its items are not objects of the
    /// kind asked for, and an empty one is no empty collection.
    #[error("the body is a {found}, not the {expected} asked for")]
    WrongListKind {
        /// The list kind asked for, e.g. `PodList`.
        expected: String,
        /// What came: the body's kind (escaped); for a `Status`, with its code, reason and
        /// message.
        found: String,
    },
    /// A list without `metadata.resourceVersion`, from which no watch can start.
    #[error("list has no metadata.resourceVersion")]
    MissingResourceVersion,
    /// A list page handed out a continue token the same list had already been given: following
    /// it would never end.
    #[error("the server repeated a continue token after {pages} pages; the list would never end")]
    RepeatedContinueToken {
        /// Pages received in this list, the one repeating the token included.
        pages: u32,
    },
    /// A paged list named an object a previous page of the same list had named: the pages do
    /// not move forward (a server handing out ever new continue tokens for the same page), and
    /// following them would never end while memory grows.
    #[error(
        "the server listed {key} twice in one list, on page {pages}; its continue tokens do not \
         move forward"
    )]
    ListedTwice {
        /// The key listed twice (quoted as in listings).
        key: String,
        /// Pages received in this list, the one repeating the object included.
        pages: u32,
    },
}

/// The generic list kind (`v1.List`), read as a list of any kind in JSON; see [`check_list_kind`].
const GENERIC_LIST_KIND: &str = "List";

/// Checks that a list body of `kind` is the list of `item_kind`s asked for: `{item_kind}List`,
/// or, in JSON (`generic_allowed`), the generic `List`. A body naming no kind is taken for the
/// list asked for, as Go's typed decoding takes it (it defaults a missing kind to the type it
/// decodes into); client-go goes further and returns an empty list for a body of another kind,
/// which is what this refuses. `status` reads the body as a `Status`, for the message.
///
/// Why `List` passes in JSON: it is Kubernetes' kind-neutral list (kubectl writes one for
/// several resources, and client-go's unstructured decoding takes it for any collection). No
/// server is known to answer a collection with it, but its items name their own kind, and each
/// item that does is checked against `item_kind` ([`RawObject::from_json`]), so accepting it lets
/// no object of another kind in. In protobuf a `List`'s items are enveloped objects, not
/// `item_kind` messages, so only `{item_kind}List` is read there.
///
/// A custom resource whose CRD sets a `listKind` other than `{kind}List` (allowed, and not
/// known to be done) is refused: discovery does not say a resource's list kind.
fn check_list_kind(
    kind: &str,
    item_kind: &str,
    generic_allowed: bool,
    status: impl FnOnce() -> Option<ApiStatus>,
) -> Result<(), DecodeError> {
    let asked = kind.strip_suffix("List") == Some(item_kind);
    if kind.is_empty() || asked || (generic_allowed && kind == GENERIC_LIST_KIND) {
        return Ok(());
    }
    let status = if kind == "Status" { status() } else { None };
    let found = match status {
        Some(status) => status_in_words(&status),
        None => crate::quote::escape_controls(kind).into_owned(),
    };
    Err(DecodeError::WrongListKind {
        expected: format!("{item_kind}List"),
        found,
    })
}

/// A `Status` found where a list was expected, with what it says: `Status (500 InternalError:
/// etcdserver: leader changed)`, its empty fields left out (a bare `Status` says nothing more).
fn status_in_words(status: &ApiStatus) -> String {
    let code = (status.code != 0).then(|| status.code.to_string());
    let reason = Some(status.reason.clone()).filter(|reason| !reason.is_empty());
    let head = [code, reason].into_iter().flatten().collect::<Vec<_>>();
    let head = head.join(" ");
    match (head.is_empty(), status.message.is_empty()) {
        (true, true) => "Status".to_owned(),
        (false, true) => format!("Status ({head})"),
        (true, false) => format!("Status ({})", status.message),
        (false, false) => format!("Status ({head}: {})", status.message),
    }
}

/// A JSON list body: its kind, its `metadata`, and its items as `I`.
#[derive(Deserialize)]
struct JsonList<'a, I> {
    #[serde(borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default = "Option::default")]
    items: Option<Vec<I>>,
}

/// A list's `metadata`.
#[derive(Default, Deserialize)]
struct ListMeta {
    #[serde(default, rename = "resourceVersion")]
    resource_version: Option<String>,
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// Decodes a list response body (`PodList`, `PartialObjectMetadataList`, ...) of `item_kind`s;
/// a body of another kind is [`DecodeError::WrongListKind`].
///
/// Each item is read in the pass that cuts it out of the list ([`ScannedObject`]). A list
/// that pass cannot read (broken JSON, or an item of an unusual shape) is read again the
/// careful way, which gives it the answer and the messages it always had.
pub fn decode_list(body: &[u8], item_kind: &str) -> Result<ListPage, DecodeError> {
    match serde_json::from_slice::<JsonList<'_, ScannedObject<'_>>>(body) {
        Ok(list) => list_page(body, list, item_kind, |scanned, kind| {
            RawObject::from_scanned(scanned.bytes_in(body)?, scanned, kind)
        }),
        Err(_) => decode_list_carefully(body, item_kind),
    }
}

/// [`decode_list`] cutting each item out as a `RawValue`, then reading its head again.
fn decode_list_carefully(body: &[u8], item_kind: &str) -> Result<ListPage, DecodeError> {
    let list: JsonList<'_, &RawValue> =
        serde_json::from_slice(body).map_err(|err| DecodeError::Malformed(err.to_string()))?;
    list_page(body, list, item_kind, |raw, kind| {
        RawObject::from_valid_json(raw.get().as_bytes(), kind)
    })
}

/// The page of `list`, read from `body`, its items read by `read` (given the kind each must
/// be, if any).
fn list_page<I>(
    body: &[u8],
    list: JsonList<'_, I>,
    item_kind: &str,
    read: impl Fn(I, Option<&str>) -> Result<RawObject, ObjectError>,
) -> Result<ListPage, DecodeError> {
    let kind = list.kind.as_deref().unwrap_or_default();
    check_list_kind(kind, item_kind, true, || ApiStatus::from_body(body))?;
    let raw_items = list.items.unwrap_or_default();
    // A typed list's items are read whatever kind they name, as Go reads `items []Pod`; only a
    // generic `List` mixes kinds, and there each item's kind is checked.
    let items_kind = (kind == "List").then_some(item_kind);
    let mut items = Vec::with_capacity(raw_items.len());
    let mut rejected = Vec::new();
    for raw in raw_items {
        match read(raw, items_kind) {
            Ok(object) => items.push(object),
            // Its name is unknown, not missing: skipping it would list the rest as complete.
            Err(err @ ObjectError::MetadataTwice) => return Err(err.into()),
            Err(err) => rejected.push(err),
        }
    }
    Ok(ListPage {
        items,
        rejected,
        resource_version: list
            .metadata
            .resource_version
            .filter(|rv| !rv.is_empty())
            .ok_or(DecodeError::MissingResourceVersion)?,
        continue_token: list
            .metadata
            .continue_token
            .filter(|token| !token.is_empty()),
    })
}

/// Decodes a protobuf list response body (`k8s\0`, then the envelope around a `PodList` or
/// another built-in kind's list of `item_kind`s): each item read up to its `metadata`, as
/// [`decode_list`] reads JSON. An envelope of another type is [`DecodeError::WrongListKind`].
pub fn decode_protobuf_list(body: &[u8], item_kind: &str) -> Result<ListPage, DecodeError> {
    let envelope = protobuf::read_envelope(body)?;
    check_list_kind(envelope.kind, item_kind, false, || {
        ApiStatus::from_protobuf(envelope.raw).ok()
    })?;
    let list = protobuf::read_list(envelope.raw)?;
    let mut items = Vec::with_capacity(list.items.len());
    let mut rejected = Vec::new();
    for item in list.items {
        match RawObject::from_protobuf(item) {
            Ok(object) => items.push(object),
            Err(err) => rejected.push(err),
        }
    }
    if list.resource_version.is_empty() {
        return Err(DecodeError::MissingResourceVersion);
    }
    Ok(ListPage {
        items,
        rejected,
        resource_version: list.resource_version.to_owned(),
        continue_token: Some(list.continue_token)
            .filter(|token| !token.is_empty())
            .map(str::to_owned),
    })
}

/// Decodes one frame of a protobuf watch stream (without its length): a `WatchEvent` whose
/// object is a `k8s\0` envelope around an `object_kind` (or a `Status`, for ERROR).
pub fn decode_protobuf_event(frame: &[u8], object_kind: &str) -> Result<WatchEvent, DecodeError> {
    let event = protobuf::read_event(frame)?;
    let envelope = protobuf::read_envelope(event.object)?;
    watch_event(
        event.event_type,
        ProtobufEventObject {
            envelope,
            object_kind,
        },
    )
}

/// One decoded watch event.
#[derive(Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// An object was created (or first seen).
    Added(RawObject),
    /// An object changed.
    Modified(RawObject),
    /// An object was deleted; carries its last state.
    Deleted(RawObject),
    /// No object changed; the collection is at this resourceVersion.
    Bookmark(String),
    /// The BOOKMARK annotated `k8s.io/initial-events-end`: a streaming list has sent the whole
    /// initial state, which is at this resourceVersion.
    InitialEventsEnd(String),
    /// The server ends the watch with this status (410 Expired: relist).
    Error(ApiStatus),
}

/// A watch line: its event type and its object as `O`.
#[derive(Deserialize)]
struct Line<'a, O> {
    // Borrowed from the line unless escaped: no allocation per event.
    #[serde(borrow, rename = "type")]
    event_type: std::borrow::Cow<'a, str>,
    object: O,
}

/// Decodes one line of a watch stream (without its trailing newline).
///
/// The object is read in the pass that cuts it out of the line ([`ScannedObject`]); a line
/// that pass cannot read (broken JSON, an object of an unusual shape such as an ERROR's
/// `Status` with an empty `metadata`) is read again the careful way, for the answer and the
/// message it always had.
pub fn decode_watch_line(line: &[u8], object_kind: &str) -> Result<WatchEvent, DecodeError> {
    let Ok(parsed) = serde_json::from_slice::<Line<'_, ScannedObject<'_>>>(line) else {
        return decode_watch_line_carefully(line, object_kind);
    };
    let json = parsed.object.bytes_in(line)?;
    watch_event(
        &parsed.event_type,
        JsonEventObject {
            json,
            head: Some(parsed.object),
            object_kind,
        },
    )
}

/// [`decode_watch_line`] cutting the object out as a `RawValue`, then reading its head again.
fn decode_watch_line_carefully(line: &[u8], object_kind: &str) -> Result<WatchEvent, DecodeError> {
    let line: Line<'_, &RawValue> =
        serde_json::from_slice(line).map_err(|err| DecodeError::Malformed(err.to_string()))?;
    watch_event(
        &line.event_type,
        JsonEventObject {
            json: line.object.get().as_bytes(),
            head: None,
            object_kind,
        },
    )
}

/// The object of one watch event, read the way its encoding is.
trait EventObject {
    /// An ADDED, MODIFIED or DELETED event's object.
    fn object(self) -> Result<RawObject, DecodeError>;
    /// A BOOKMARK's resourceVersion and initial-events-end annotation.
    fn bookmark(self) -> Result<Bookmark, DecodeError>;
    /// An ERROR's `Status`.
    fn status(self) -> Result<ApiStatus, DecodeError>;
}

/// The event `event_type` says, around `object`: the one place the watch event types are told
/// apart, whatever the encoding.
fn watch_event(event_type: &str, object: impl EventObject) -> Result<WatchEvent, DecodeError> {
    Ok(match event_type {
        "ADDED" => WatchEvent::Added(object.object()?),
        "MODIFIED" => WatchEvent::Modified(object.object()?),
        "DELETED" => WatchEvent::Deleted(object.object()?),
        "BOOKMARK" => match object.bookmark()? {
            Bookmark {
                resource_version,
                initial_events_end: true,
            } => WatchEvent::InitialEventsEnd(resource_version),
            Bookmark {
                resource_version, ..
            } => WatchEvent::Bookmark(resource_version),
        },
        "ERROR" => WatchEvent::Error(object.status()?),
        other => return Err(DecodeError::UnknownType(other.to_owned())),
    })
}

/// A watch line's object: JSON the line's parse has already validated.
struct JsonEventObject<'a> {
    json: &'a [u8],
    /// The object as the line's pass read it, when it did.
    head: Option<ScannedObject<'a>>,
    object_kind: &'a str,
}

impl EventObject for JsonEventObject<'_> {
    fn object(self) -> Result<RawObject, DecodeError> {
        let kind = Some(self.object_kind);
        Ok(match self.head {
            Some(scanned) => RawObject::from_scanned(self.json, scanned, kind)?,
            None => RawObject::from_valid_json(self.json, kind)?,
        })
    }

    fn bookmark(self) -> Result<Bookmark, DecodeError> {
        Ok(bookmark_of(self.json)?)
    }

    fn status(self) -> Result<ApiStatus, DecodeError> {
        serde_json::from_slice(self.json)
            .map_err(|err| DecodeError::Malformed(format!("ERROR event without a Status: {err}")))
    }
}

/// A protobuf watch frame's object: the envelope around its message.
struct ProtobufEventObject<'a> {
    envelope: protobuf::Envelope<'a>,
    object_kind: &'a str,
}

impl EventObject for ProtobufEventObject<'_> {
    fn object(self) -> Result<RawObject, DecodeError> {
        let Self {
            envelope,
            object_kind,
        } = self;
        if !envelope.kind.is_empty() && envelope.kind != object_kind {
            return Err(ObjectError::WrongKind {
                expected: object_kind.to_owned(),
                found: envelope.kind.to_owned(),
            }
            .into());
        }
        Ok(RawObject::from_protobuf(envelope.raw)?)
    }

    fn bookmark(self) -> Result<Bookmark, DecodeError> {
        let head = protobuf::read_object(self.envelope.raw)?;
        if head.resource_version.is_empty() {
            let missing = "no metadata.resourceVersion".to_owned();
            return Err(ObjectError::Malformed(missing).into());
        }
        Ok(Bookmark {
            resource_version: head.resource_version.to_owned(),
            initial_events_end: head.initial_events_end,
        })
    }

    fn status(self) -> Result<ApiStatus, DecodeError> {
        match self.envelope.kind {
            "Status" => Ok(ApiStatus::from_protobuf(self.envelope.raw)?),
            other => Err(DecodeError::Malformed(format!(
                "ERROR event with a {other:?} where a Status belongs"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    const TRANSCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    pub(super) fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{TRANSCRIPTS}/{name}")).expect("fixture exists")
    }

    /// The body of a captured response: everything after the blank line ending the headers.
    pub(super) fn body_of(transcript: &str) -> &str {
        let (_, body) = transcript.split_once("\n\n").expect("header block");
        let (_, body) = body.split_once("\n\n").expect("body after headers");
        body.trim()
    }

    /// The lines of a captured watch stream, time prefixes removed.
    pub(super) fn watch_lines(transcript: &str) -> Vec<&str> {
        body_of(transcript)
            .lines()
            .filter_map(|line| line.split_once(' ').map(|(_, json)| json))
            .collect()
    }

    const PROTOBUF_LIST: &[u8] = include_bytes!("../../tests/fixtures/19-list-protobuf.bin");
    const PROTOBUF_WATCH: &[u8] = include_bytes!("../../tests/fixtures/20-watch-protobuf.bin");

    #[test]
    fn decodes_a_real_protobuf_list_page_keeping_each_pod_as_protobuf() {
        let page = decode_protobuf_list(PROTOBUF_LIST, "Pod").expect("list page");
        let keys: Vec<&str> = page.items.iter().map(|o| o.key().as_str()).collect();
        assert_eq!(keys, ["bar-w/crash", "bar-w/done"]);
        assert_eq!(page.resource_version, "157565");
        assert!(page.continue_token.is_some());
        let pod: k8s_pb::api::core::v1::Pod =
            page.items[0].decode_protobuf().expect("a k8s-pb Pod");
        let metadata = pod.metadata.expect("metadata");
        assert_eq!(metadata.name.as_deref(), Some("crash"));
        assert!(metadata.managed_fields.is_empty(), "dropped on the way in");
        assert!(pod.spec.is_some_and(|spec| !spec.containers.is_empty()));
        assert!(page.items[0].json().is_none());
        let refused = page.items[0]
            .decode::<serde_json::Value>()
            .expect_err("held as protobuf");
        assert!(matches!(
            refused,
            crate::wire::object::TypedDecodeError::OtherEncoding { .. }
        ));
        // The error says what to call instead, and how to get JSON.
        assert_eq!(
            refused.to_string(),
            "the object was received as protobuf: decode it with \
             RawObject::decode_protobuf::<M>() and a prost type such as \
             k8s_pb::api::core::v1::Pod, or ask for JSON (--wire json, SourceOptions::wire)"
        );
    }

    #[test]
    fn decodes_a_real_protobuf_watch_stream_with_bookmark() {
        let mut splitter = crate::wire::protobuf::FrameSplitter::default();
        splitter.push(PROTOBUF_WATCH);
        let mut events = Vec::new();
        while let Some((_, frame)) = splitter.next_frame().expect("frame") {
            events.push(decode_protobuf_event(&frame, "Pod").expect("event"));
        }
        assert_eq!(events.len(), 4);
        assert!(
            matches!(&events[0], WatchEvent::Modified(pod) if pod.key().as_str() == "bar-w/pend")
        );
        assert!(matches!(&events[2], WatchEvent::Bookmark(rv) if !rv.is_empty()));
        assert!(
            decode_protobuf_event(&splitter_frames(PROTOBUF_WATCH)[0], "Node").is_err(),
            "a Pod where a Node was expected"
        );
    }

    /// The frames of a protobuf watch stream.
    fn splitter_frames(stream: &[u8]) -> Vec<Bytes> {
        let mut splitter = crate::wire::protobuf::FrameSplitter::default();
        splitter.push(stream);
        std::iter::from_fn(|| splitter.next_frame().expect("frame").map(|(_, f)| f)).collect()
    }

    #[test]
    fn a_protobuf_status_is_read_like_a_json_one() {
        use prost::Message as _;
        let status = k8s_pb::apimachinery::pkg::apis::meta::v1::Status {
            status: Some("Failure".to_owned()),
            message: Some("too old resource version: 1 (157565)\x1b[2J".to_owned()),
            reason: Some("Expired".to_owned()),
            code: Some(410),
            ..Default::default()
        };
        let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown {
            type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
                api_version: Some("v1".to_owned()),
                kind: Some("Status".to_owned()),
            }),
            raw: Some(status.encode_to_vec()),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut body = crate::wire::protobuf::MAGIC.to_vec();
        body.extend(unknown.encode_to_vec());
        let parsed = ApiStatus::from_body(&body).expect("a Status");
        assert_eq!((parsed.code, parsed.reason.as_str()), (410, "Expired"));
        assert!(parsed.is_expired());
        assert!(
            parsed.message.ends_with("\\x1b[2J"),
            "escaped: {}",
            parsed.message
        );
        let event = k8s_pb::apimachinery::pkg::apis::meta::v1::WatchEvent {
            r#type: Some("ERROR".to_owned()),
            object: Some(k8s_pb::apimachinery::pkg::runtime::RawExtension { raw: Some(body) }),
        };
        assert_eq!(
            decode_protobuf_event(&event.encode_to_vec(), "Pod"),
            Ok(WatchEvent::Error(parsed))
        );
    }

    #[test]
    fn decodes_a_real_list_page_with_continue() {
        let page = decode_list(body_of(&fixture("01-list-page1.txt")).as_bytes(), "Pod")
            .expect("list page");
        let keys: Vec<&str> = page.items.iter().map(|o| o.key().as_str()).collect();
        assert_eq!(keys, ["cap/c0", "cap/c1"]);
        assert_eq!(page.resource_version, "31548");
        assert!(page.continue_token.is_some());
        assert_eq!(page.items[0].resource_version(), "31544");
    }

    #[test]
    fn decodes_a_real_watch_stream_with_bookmark() {
        let transcript = fixture("03-watch-from-list-rv.txt");
        let events: Vec<WatchEvent> = watch_lines(&transcript)
            .into_iter()
            .map(|line| decode_watch_line(line.as_bytes(), "Pod").expect("event"))
            .collect();
        let summary: Vec<String> = events
            .iter()
            .map(|event| match event {
                WatchEvent::Added(o) => format!("ADDED {} {}", o.key(), o.resource_version()),
                WatchEvent::Modified(o) => format!("MODIFIED {} {}", o.key(), o.resource_version()),
                WatchEvent::Deleted(o) => format!("DELETED {} {}", o.key(), o.resource_version()),
                WatchEvent::Bookmark(rv) => format!("BOOKMARK {rv}"),
                WatchEvent::InitialEventsEnd(rv) => format!("END {rv}"),
                WatchEvent::Error(status) => format!("ERROR {}", status.code),
            })
            .collect();
        assert_eq!(
            summary.first().map(String::as_str),
            Some("ADDED cap/w1 31549")
        );
        assert_eq!(summary.last().map(String::as_str), Some("BOOKMARK 31552"));
        assert!(summary.contains(&"DELETED cap/w1 31552".to_owned()));
    }

    #[test]
    fn decodes_real_metadata_only_pages_and_events() {
        let page = decode_list(
            body_of(&fixture("07-list-metadata-only.txt")).as_bytes(),
            "PartialObjectMetadata",
        )
        .expect("metadata list");
        assert_eq!(page.items[0].key().as_str(), "cap/c0");
        assert!(page.rejected.is_empty());
        let transcript = fixture("08-watch-metadata-only.txt");
        let line = watch_lines(&transcript)[0];
        let event = decode_watch_line(line.as_bytes(), "PartialObjectMetadata").expect("event");
        let WatchEvent::Added(object) = event else {
            panic!("expected ADDED, got {event:?}");
        };
        assert_eq!(object.key().as_str(), "cap/w1");
        let meta: kube::core::PartialObjectMeta<k8s_openapi::api::core::v1::Pod> =
            object.decode().expect("PartialObjectMetadata decodes");
        assert_eq!(meta.metadata.name.as_deref(), Some("w1"));
        assert!(matches!(
            decode_watch_line(line.as_bytes(), "Pod"),
            Err(DecodeError::Object(ObjectError::WrongKind { .. }))
        ));
    }

    #[test]
    fn the_initial_events_end_bookmark_is_its_own_event() {
        let line = br#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
        assert_eq!(
            decode_watch_line(line, "Pod"),
            Ok(WatchEvent::InitialEventsEnd("12".into()))
        );
    }

    #[test]
    fn decodes_the_real_too_old_error_event() {
        let transcript = fixture("04-watch-too-old-rv.txt");
        let lines = watch_lines(&transcript);
        let event = decode_watch_line(lines[0].as_bytes(), "Pod").expect("error event");
        let WatchEvent::Error(status) = event else {
            panic!("expected ERROR, got {event:?}");
        };
        assert!(status.is_expired());
        assert_eq!(status.reason, "Expired");
        assert!(status.message.contains("too old resource version"));
    }

    #[test]
    fn parses_real_status_bodies() {
        let forbidden =
            ApiStatus::from_body(body_of(&fixture("05-forbidden.txt")).as_bytes()).expect("status");
        assert_eq!(forbidden.code, 403);
        assert_eq!(forbidden.reason, "Forbidden");
        let expired =
            ApiStatus::from_body(body_of(&fixture("14-list-expired-continue.txt")).as_bytes())
                .expect("status");
        assert!(expired.is_expired());
        assert_eq!(ApiStatus::from_body(b"<html>bad gateway</html>"), None);
        assert_eq!(ApiStatus::from_body(br#"{"kind":"PodList"}"#), None);
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        assert!(matches!(
            decode_watch_line(b"{\"type\":\"ADDED\",\"object\":{", "Pod"),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            decode_watch_line(br#"{"type":"FROBNICATED","object":{}}"#, "Pod"),
            Err(DecodeError::UnknownType("FROBNICATED".into()))
        );
        assert!(matches!(
            decode_watch_line(
                br#"{"type":"ADDED","object":{"kind":"Secret","metadata":{"name":"s"}}}"#,
                "Pod"
            ),
            Err(DecodeError::Object(ObjectError::WrongKind { .. }))
        ));
        assert_eq!(
            decode_watch_line(
                br#"{"type":"ADDED","object":{"kind":"Pod","metadata":{}}}"#,
                "Pod"
            ),
            Err(DecodeError::Object(ObjectError::MissingName))
        );
        assert!(decode_watch_line(b"{\"type\":\"ADDED\",\"object\":\xff}", "Pod").is_err());
    }

    /// Objects whose head (`kind`, `metadata`) is fine and whose flaw lies after it, where
    /// only the scan that cuts the object out of its list or line can see it: each byte of an
    /// object is validated, once.
    const FLAWED_AFTER_METADATA: &[(&str, &[u8])] = &[
        (
            "a bad number deep in the spec",
            br#"{"spec":{"containers":[{"ports":[{"containerPort":01}]}]}}"#,
        ),
        (
            "a misspelt literal deep in the spec",
            br#"{"spec":{"containers":[{"stdin":tru}]}}"#,
        ),
        (
            "bad UTF-8 in a string",
            b"{\"spec\":{\"containers\":[{\"image\":\"nginx\xff\xfe\"}]}}",
        ),
        (
            "an invalid escape in a string",
            br#"{"spec":{"hostname":"a\qb"}}"#,
        ),
        (
            "a raw control character in a string",
            b"{\"spec\":{\"hostname\":\"a\tb\"}}",
        ),
        (
            "unbalanced brackets",
            br#"{"spec":{"containers":[{"name":"c"}}}}"#,
        ),
        (
            "a trailing comma in an object",
            br#"{"spec":{"nodeName":"n",}}"#,
        ),
        (
            "a trailing comma in an array",
            br#"{"spec":{"containers":[{"name":"c"},]}}"#,
        ),
        ("a member without a value", br#"{"spec":{"nodeName":}}"#),
    ];

    /// `{"kind":"Pod","metadata":{...},` followed by `rest` without its opening brace.
    fn pod_then(rest: &[u8]) -> Vec<u8> {
        let mut object = br#"{"kind":"Pod","metadata":{"name":"a","namespace":"n"},"#.to_vec();
        object.extend_from_slice(&rest[1..]);
        object
    }

    #[test]
    fn a_flaw_anywhere_after_an_objects_metadata_makes_its_list_and_line_malformed() {
        let good = pod_then(br#"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}],"stdin":true}]}}"#);
        let list_of = |object: &[u8]| {
            let mut body = br#"{"metadata":{"resourceVersion":"7"},"items":["#.to_vec();
            body.extend_from_slice(&good);
            body.push(b',');
            body.extend_from_slice(object);
            body.extend_from_slice(b"]}");
            body
        };
        let line_of = |object: &[u8]| {
            let mut line = br#"{"type":"ADDED","object":"#.to_vec();
            line.extend_from_slice(object);
            line.push(b'}');
            line
        };
        // The same shapes without the flaw decode: the cases below fail for the flaw alone.
        assert_eq!(
            decode_list(&list_of(&good), "Pod")
                .expect("page")
                .items
                .len(),
            2
        );
        assert!(decode_watch_line(&line_of(&good), "Pod").is_ok());
        for (flaw, rest) in FLAWED_AFTER_METADATA {
            let object = pod_then(rest);
            assert!(
                matches!(
                    decode_list(&list_of(&object), "Pod"),
                    Err(DecodeError::Malformed(_))
                ),
                "a list with {flaw} is malformed"
            );
            assert!(
                matches!(
                    decode_watch_line(&line_of(&object), "Pod"),
                    Err(DecodeError::Malformed(_))
                ),
                "a watch line with {flaw} is malformed"
            );
            assert!(
                matches!(
                    RawObject::from_json(&object, "Pod"),
                    Err(ObjectError::Malformed(_))
                ),
                "an object with {flaw} is malformed"
            );
        }
    }

    /// A JSON list body of `kind` (none when empty) at resourceVersion 7, holding `items`.
    fn list_of_kind(kind: &str, items: &str) -> Vec<u8> {
        let kind = if kind.is_empty() {
            String::new()
        } else {
            format!(r#""kind":"{kind}","apiVersion":"v1","#)
        };
        format!(r#"{{{kind}"metadata":{{"resourceVersion":"7"}},"items":[{items}]}}"#).into_bytes()
    }

    #[test]
    fn a_json_list_of_another_kind_is_refused_naming_what_was_asked_for_and_what_came() {
        let secret = r#"{"metadata":{"name":"s","namespace":"a"},"data":{"k":"dg=="}}"#;
        let refused = decode_list(&list_of_kind("SecretList", secret), "Pod")
            .expect_err("a SecretList is no PodList");
        assert_eq!(
            refused.to_string(),
            "the body is a SecretList, not the PodList asked for"
        );
        let status = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: leader changed\u001b[2J","reason":"InternalError","code":500}"#;
        let refused = decode_list(status, "Pod").expect_err("a Status is no PodList");
        assert_eq!(
            refused.to_string(),
            "the body is a Status (500 InternalError: etcdserver: leader changed\\x1b[2J), not \
             the PodList asked for"
        );
        // The attack on issue 18: a bare Status said `(0 : )`.
        for (body, says) in [
            (r#"{"kind":"Status","apiVersion":"v1"}"#, "Status"),
            (r#"{"kind":"Status","code":503}"#, "Status (503)"),
            (r#"{"kind":"Status","message":"no"}"#, "Status (no)"),
        ] {
            let refused = decode_list(body.as_bytes(), "Pod").expect_err(body);
            assert_eq!(
                refused.to_string(),
                format!("the body is a {says}, not the PodList asked for")
            );
        }
        let hostile = list_of_kind("Pod\\u001b]0;pwnedList", "");
        let refused = decode_list(&hostile, "Pod").expect_err("another kind");
        assert!(
            !refused.to_string().contains('\x1b'),
            "the server's kind is escaped: {refused}"
        );
        let metadata = decode_list(&list_of_kind("PodList", ""), "PartialObjectMetadata");
        assert_eq!(
            metadata.err().map(|err| err.to_string()),
            Some("the body is a PodList, not the PartialObjectMetadataList asked for".to_owned())
        );
    }

    use crate::wire::test_support::enveloped;

    #[test]
    fn a_protobuf_envelope_of_another_type_is_refused_as_a_list() {
        use prost::Message as _;
        let pods = crate::wire::protobuf::read_envelope(PROTOBUF_LIST)
            .expect("transcript 19")
            .raw
            .to_vec();
        for kind in ["PodList", ""] {
            let page = decode_protobuf_list(&enveloped(kind, pods.clone()), "Pod").expect(kind);
            assert_eq!(page.items.len(), 2, "{kind:?}");
        }
        for kind in ["SecretList", "List", "Pod"] {
            assert_eq!(
                decode_protobuf_list(&enveloped(kind, pods.clone()), "Pod")
                    .err()
                    .map(|err| err.to_string()),
                Some(format!("the body is a {kind}, not the PodList asked for")),
            );
        }
        let status = k8s_pb::apimachinery::pkg::apis::meta::v1::Status {
            status: Some("Failure".to_owned()),
            message: Some("etcdserver: request timed out".to_owned()),
            reason: Some("InternalError".to_owned()),
            code: Some(500),
            ..Default::default()
        };
        let status = enveloped("Status", status.encode_to_vec());
        assert_eq!(
            decode_protobuf_list(&status, "Pod")
                .err()
                .map(|err| err.to_string()),
            Some(
                "the body is a Status (500 InternalError: etcdserver: request timed out), not \
                 the PodList asked for"
                    .to_owned()
            ),
        );
    }

    #[test]
    fn a_json_list_of_the_kind_asked_for_or_a_generic_list_or_one_without_a_kind_is_read() {
        let pod = r#"{"metadata":{"name":"p","namespace":"a"}}"#;
        for kind in ["PodList", "List", ""] {
            let page = decode_list(&list_of_kind(kind, pod), "Pod").expect(kind);
            assert_eq!(page.items.len(), 1, "{kind}");
        }
        // A typed list's items are read without looking at their kind, as Go's decoder reads
        // `items []Pod`: an item naming another kind is not dropped from the listing.
        let secret = r#"{"kind":"Secret","metadata":{"name":"s","namespace":"a"}}"#;
        for kind in ["PodList", ""] {
            let page = decode_list(&list_of_kind(kind, secret), "Pod").expect(kind);
            assert_eq!(page.items.len(), 1, "{kind}: {:?}", page.rejected);
            assert!(page.rejected.is_empty(), "{kind}");
        }
        // A `List`'s items name their kind, and each is checked.
        let mixed = r#"{"kind":"Pod","metadata":{"name":"p","namespace":"a"}},{"kind":"Secret","metadata":{"name":"s","namespace":"a"}}"#;
        let page = decode_list(&list_of_kind("List", mixed), "Pod").expect("a List");
        assert_eq!(page.items.len(), 1);
        assert!(matches!(
            page.rejected.as_slice(),
            [ObjectError::WrongKind { .. }]
        ));
        let metadata =
            r#"{"kind":"PartialObjectMetadata","metadata":{"name":"p","namespace":"a"}}"#;
        let page = decode_list(
            &list_of_kind("PartialObjectMetadataList", metadata),
            "PartialObjectMetadata",
        )
        .expect("metadata only");
        assert_eq!(page.items.len(), 1);
    }

    #[test]
    fn an_object_whose_metadata_names_it_twice_is_the_last_name_in_lists_and_watch_lines() {
        let twice = r#"{"metadata":{"name":"first","namespace":"a","name":"second"}}"#;
        let page = decode_list(&list_of_kind("PodList", twice), "Pod").expect("page");
        assert!(page.rejected.is_empty(), "{:?}", page.rejected);
        let keys: Vec<&str> = page.items.iter().map(|o| o.key().as_str()).collect();
        assert_eq!(keys, ["a/second"]);
        let line = format!(r#"{{"type":"ADDED","object":{twice}}}"#);
        assert!(
            matches!(decode_watch_line(line.as_bytes(), "Pod"), Ok(WatchEvent::Added(o)) if o.key().as_str() == "a/second")
        );
    }

    /// Items of the usual shape, in the ways a server may write them.
    const USUAL_ITEMS: &[&str] = &[
        r#"{"metadata":{"name":"a","namespace":"n","managedFields":[{"m":1}]}}"#,
        r#" { "kind" : "Pod" , "metadata" : { "name" : "b" , "namespace":"n" } , "spec" : {"x":"\"}"} } "#,
        r#"{"k\"ey\\":1,"metadata":{"name":"c","namespace":"n"},"status":{}}"#,
        r#"{"metadata":{"managedFields":[],"name":"d","namespace":"n","resourceVersion":"5"}}"#,
        r#"{"metadata":{"name":"e","namespace":null},"kind":"Secret"}"#,
        r#"{"metadata":{"name":"f/g"}}"#,
        r#"{"metadata":{"namespace":"n"}}"#,
        r#"{"spec":{},"metadata":{"\u006eame":"h","namespace":"n\u0073"}}"#,
        "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"i\"},\r\n\t\"a\":[]\n}",
    ];

    #[test]
    fn the_one_pass_read_gives_what_cutting_out_then_reading_the_head_gives() {
        for kind in ["PodList", "List"] {
            let body = list_of_kind(kind, &USUAL_ITEMS.join(","));
            assert!(
                serde_json::from_slice::<JsonList<'_, ScannedObject<'_>>>(&body).is_ok(),
                "read in one pass"
            );
            let page = decode_list(&body, "Pod").expect("page");
            let careful = decode_list_carefully(&body, "Pod").expect("page");
            assert_eq!(format!("{page:?}"), format!("{careful:?}"), "{kind}");
            assert!(page.items.len() >= 5, "{kind}: {page:?}");
        }
        for item in USUAL_ITEMS {
            let line = format!(r#"{{"type":"MODIFIED","object":{item}}}"#);
            assert_eq!(
                decode_watch_line(line.as_bytes(), "Pod"),
                decode_watch_line_carefully(line.as_bytes(), "Pod"),
                "{line}"
            );
        }
    }

    #[test]
    fn an_unusual_item_is_read_the_careful_way_with_the_answer_it_always_had() {
        let unusual = [
            (r#"{"metadata":5}"#, "expected an object's metadata"),
            (r#"{"metadata":{"name":5}}"#, "expected a string"),
            (r#"{"kind":7,"metadata":{"name":"a"}}"#, "expected a string"),
            ("[1]", "expected a Kubernetes object"),
        ];
        for (item, says) in unusual {
            let page = decode_list(&list_of_kind("PodList", item), "Pod").expect(item);
            assert!(
                matches!(page.rejected.as_slice(), [ObjectError::Malformed(message)] if message.contains(says)),
                "{item}: {:?}",
                page.rejected
            );
        }
        let twice = r#"{"metadata":{"name":"a"},"metadata":{"name":"b"}}"#;
        assert_eq!(
            decode_list(&list_of_kind("PodList", twice), "Pod").err(),
            Some(DecodeError::Object(ObjectError::MetadataTwice))
        );
        let empty = decode_list(&list_of_kind("PodList", "{}"), "Pod").expect("page");
        assert_eq!(empty.rejected, [ObjectError::MissingName]);
    }

    #[test]
    fn list_items_that_cannot_be_keyed_are_reported_not_fatal() {
        let page = decode_list(
            br#"{"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a","namespace":"n"}},{"metadata":{}}]}"#,
            "Pod",
        )
        .expect("page");
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.rejected, vec![ObjectError::MissingName]);
        assert_eq!(
            decode_list(br#"{"metadata":{},"items":[]}"#, "Pod").err(),
            Some(DecodeError::MissingResourceVersion)
        );
    }
}
