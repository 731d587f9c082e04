//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), read the way the JSON
//! path reads JSON: only the envelope, the list's metadata and each object's `metadata` fields
//! the reflector needs, found by walking field numbers; `spec` and `status` are skipped as
//! length-delimited bytes, never decoded.
//!
//! The format (transcripts 19 and 20; apimachinery's `runtime/serializer/protobuf`):
//! - A body is the magic `k8s\0`, then a `runtime.Unknown`: 1 `typeMeta` (1 `apiVersion`,
//!   2 `kind`), 2 `raw` (the encoded message: a `PodList`, a `Pod`, a `Status`),
//!   3 `contentEncoding`, 4 `contentType`.
//! - A list message: 1 `metadata` (`ListMeta`: 2 `resourceVersion`, 3 `continue`), 2 `items`
//!   (repeated, each an object message).
//! - An object message: 1 `metadata` (`ObjectMeta`: 1 `name`, 3 `namespace`,
//!   6 `resourceVersion`, 9 `deletionTimestamp`, 12 `annotations` (map entries: 1 key,
//!   2 value), 17 `managedFields` (repeated)), then the kind's own fields.
//! - A watch stream is frames: a 4-byte big-endian length, then a `meta.k8s.io/v1.WatchEvent`:
//!   1 `type`, 2 `object` (a `RawExtension`: 1 `raw`, which is again the `k8s\0` envelope).
//! - A `Status`: 2 `status`, 3 `message`, 4 `reason`, 5 `details` (5 `retryAfterSeconds`),
//!   6 `code`.
//!
//! Everything here borrows from the input and allocates only for the object copy without
//! `managedFields`. Malformed input is an error, never a panic, and no length read from the input
//! is trusted before it is checked against the bytes that are there.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use crate::wire::lines::MAX_LINE_BYTES;

/// The annotation on the BOOKMARK that ends a streaming list's initial events, read here as an
/// object's metadata is.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// The four bytes every protobuf-encoded Kubernetes body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why protobuf bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The bytes end inside a field.
    #[error("protobuf truncated at byte {0}")]
    Truncated(usize),
    /// A varint longer than ten bytes, or whose value overflows 64 bits.
    #[error("protobuf varint too long at byte {0}")]
    VarintTooLong(usize),
    /// A wire type protobuf 3 does not write (groups, or 6 and 7).
    #[error("protobuf wire type {wire_type} at byte {at} is not supported")]
    WireType {
        /// The wire type found.
        wire_type: u8,
        /// Where.
        at: usize,
    },
    /// Field number 0, which no message has.
    #[error("protobuf field number 0 at byte {0}")]
    FieldZero(usize),
    /// A field of the wrong wire type (a string where a varint belongs, say).
    #[error("protobuf field {field} of {message} has the wrong wire type")]
    FieldType {
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u32,
    },
    /// A string field that is not UTF-8.
    #[error("protobuf field {field} of {message} is not UTF-8")]
    NotUtf8 {
        /// The message being read.
        message: &'static str,
        /// The field number.
        field: u32,
    },
    /// A body without the `k8s\0` magic.
    #[error("not a Kubernetes protobuf body (no k8s\\0 magic)")]
    NoMagic,
    /// An envelope or event without the field that carries its payload.
    #[error("protobuf {0} has no payload")]
    NoPayload(&'static str),
}

/// A field's value as the wire holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire types 1 and 5: fixed-width numbers, which no field read here uses.
    Fixed,
    /// Wire type 2: strings, bytes, embedded messages, packed repeated fields.
    Bytes(&'a [u8]),
}

/// One field of a message: its number, value, and the byte range of the whole field (tag
/// included) within the message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Field<'a> {
    number: u32,
    value: Value<'a>,
    span: Range<usize>,
}

/// The fields of one message, in wire order.
struct Fields<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    fn of(message: &'a [u8]) -> Self {
        Fields { message, at: 0 }
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let start = self.at;
        let mut value = 0_u64;
        for shift in (0..70).step_by(7) {
            let byte = *self
                .message
                .get(self.at)
                .ok_or(ProtobufError::Truncated(self.at))?;
            self.at += 1;
            if shift == 63 && byte > 1 {
                // Bits past the 64th: prost refuses the varint, and so does this reader.
                return Err(ProtobufError::VarintTooLong(start));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::VarintTooLong(start))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], ProtobufError> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.message.len())
            .ok_or(ProtobufError::Truncated(self.message.len()))?;
        let bytes = &self.message[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// The next field's number and wire type, and, for wire type 2, its length: the reader is
    /// then at the field's value.
    fn read_tag(&mut self) -> Result<(u32, u64, Option<u64>), ProtobufError> {
        let start = self.at;
        let tag = self.varint()?;
        let number = u32::try_from(tag >> 3).map_err(|_| ProtobufError::VarintTooLong(start))?;
        if number == 0 {
            return Err(ProtobufError::FieldZero(start));
        }
        match tag & 7 {
            2 => Ok((number, 2, Some(self.varint()?))),
            wire_type @ (0 | 1 | 5) => Ok((number, wire_type, None)),
            wire_type => Err(ProtobufError::WireType {
                wire_type: wire_type as u8,
                at: start,
            }),
        }
    }

    fn read_field(&mut self) -> Result<Field<'a>, ProtobufError> {
        let start = self.at;
        let (number, wire_type, len) = self.read_tag()?;
        let value = match (wire_type, len) {
            (_, Some(len)) => Value::Bytes(self.take(len)?),
            (0, _) => Value::Varint(self.varint()?),
            (1, _) => {
                self.take(8)?;
                Value::Fixed
            }
            _ => {
                self.take(4)?;
                Value::Fixed
            }
        };
        Ok(Field {
            number,
            value,
            span: start..self.at,
        })
    }
}

/// Where the field at the front of a message's bytes lies, its value unread: what a reader of a
/// message that arrives piece by piece needs to know how much more to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldHeader {
    /// The field's number.
    pub number: u32,
    /// Whether its value is length-delimited (wire type 2: strings, bytes, messages).
    pub delimited: bool,
    /// The bytes of its tag (and length, when delimited).
    pub header_len: usize,
    /// The bytes of its value.
    pub value_len: usize,
}

/// The header of the field `bytes` begin with: `Ok(None)` when they end before the header (and,
/// for a varint or fixed-width value, before the value) does, an error when they can never
/// begin a field.
pub fn read_field_header(bytes: &[u8]) -> Result<Option<FieldHeader>, ProtobufError> {
    let mut fields = Fields::of(bytes);
    let tag = match fields.read_tag() {
        Err(ProtobufError::Truncated(_)) => return Ok(None),
        other => other?,
    };
    let header_len = fields.at;
    let value_len = match tag {
        (_, _, Some(len)) => {
            usize::try_from(len).map_err(|_| ProtobufError::Truncated(bytes.len()))?
        }
        (_, 0, _) => match fields.varint() {
            Err(ProtobufError::Truncated(_)) => return Ok(None),
            other => {
                other?;
                fields.at - header_len
            }
        },
        (_, 1, _) => 8,
        _ => 4,
    };
    Ok(Some(FieldHeader {
        number: tag.0,
        delimited: tag.2.is_some(),
        header_len,
        value_len,
    }))
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, ProtobufError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.message.len() {
            return None;
        }
        let field = self.read_field();
        if field.is_err() {
            // Stop after the first error: the rest cannot be framed.
            self.at = self.message.len();
        }
        Some(field)
    }
}

impl<'a> Field<'a> {
    fn bytes(&self, message: &'static str) -> Result<&'a [u8], ProtobufError> {
        match self.value {
            Value::Bytes(bytes) => Ok(bytes),
            _ => Err(ProtobufError::FieldType {
                message,
                field: self.number,
            }),
        }
    }

    fn string(&self, message: &'static str) -> Result<&'a str, ProtobufError> {
        std::str::from_utf8(self.bytes(message)?).map_err(|_| ProtobufError::NotUtf8 {
            message,
            field: self.number,
        })
    }

    fn varint(&self, message: &'static str) -> Result<u64, ProtobufError> {
        match self.value {
            Value::Varint(value) => Ok(value),
            _ => Err(ProtobufError::FieldType {
                message,
                field: self.number,
            }),
        }
    }
}

/// A `runtime.Unknown`: what a protobuf body holds after the magic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `typeMeta.apiVersion`.
    pub api_version: &'a str,
    /// `typeMeta.kind`: `PodList`, `Pod`, `Status`...
    pub kind: &'a str,
    /// The encoded message.
    pub raw: &'a [u8],
}

/// Reads a protobuf body: the magic, then the `runtime.Unknown` around the message.
pub fn read_envelope(body: &[u8]) -> Result<Envelope<'_>, ProtobufError> {
    let unknown = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
    let mut envelope = Envelope::default();
    let mut has_raw = false;
    for field in Fields::of(unknown) {
        let field = field?;
        match field.number {
            1 => (envelope.api_version, envelope.kind) = read_type_meta(field.bytes("Unknown")?)?,
            2 => {
                envelope.raw = field.bytes("Unknown")?;
                has_raw = true;
            }
            _ => {}
        }
    }
    if !has_raw {
        return Err(ProtobufError::NoPayload("runtime.Unknown"));
    }
    Ok(envelope)
}

/// What a list message holds: its `ListMeta` fields and its items, each an object message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListParts<'a> {
    /// `metadata.resourceVersion`.
    pub resource_version: &'a str,
    /// `metadata.continue`: empty on the last page.
    pub continue_token: &'a str,
    /// The items, in order.
    pub items: Vec<&'a [u8]>,
}

/// Reads a list message (the `raw` of a list body's envelope).
pub fn read_list(message: &[u8]) -> Result<ListParts<'_>, ProtobufError> {
    let mut list = ListParts::default();
    for field in Fields::of(message) {
        let field = field?;
        match field.number {
            1 => {
                let meta = read_list_meta(field.bytes("List")?)?;
                list.resource_version = meta.resource_version;
                list.continue_token = meta.continue_token;
            }
            2 => list.items.push(field.bytes("List")?),
            _ => {}
        }
    }
    Ok(list)
}

/// Reads a `ListMeta` message: its resourceVersion and continue token (no items).
pub fn read_list_meta(message: &[u8]) -> Result<ListParts<'_>, ProtobufError> {
    let mut meta = ListParts::default();
    for meta_field in Fields::of(message) {
        let meta_field = meta_field?;
        match meta_field.number {
            2 => meta.resource_version = meta_field.string("ListMeta")?,
            3 => meta.continue_token = meta_field.string("ListMeta")?,
            _ => {}
        }
    }
    Ok(meta)
}

/// Reads a `TypeMeta` message (an envelope's field 1): its `apiVersion` and `kind`.
pub fn read_type_meta(message: &[u8]) -> Result<(&str, &str), ProtobufError> {
    let (mut api_version, mut kind) = ("", "");
    for type_field in Fields::of(message) {
        let type_field = type_field?;
        match type_field.number {
            1 => api_version = type_field.string("TypeMeta")?,
            2 => kind = type_field.string("TypeMeta")?,
            _ => {}
        }
    }
    Ok((api_version, kind))
}

/// The `metadata` fields of one object message the reflector reads, and where
/// `managedFields` lies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectHead<'a> {
    /// `metadata.name` (empty when absent).
    pub name: &'a str,
    /// `metadata.namespace` (empty for cluster-scoped objects).
    pub namespace: &'a str,
    /// `metadata.resourceVersion`.
    pub resource_version: &'a str,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// Whether `metadata.annotations` holds `key` [`INITIAL_EVENTS_END_ANNOTATION`]
    /// with the value `"true"`.
    pub initial_events_end: bool,
    /// The `metadata` fields of the object message, in order: one from any encoder, but
    /// protobuf merges a field sent twice, and each may hold `managedFields`.
    metadata: Vec<MetadataField>,
}

/// Where one `metadata` field lies within an object message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct MetadataField {
    /// The whole field: tag, length and message.
    span: Range<usize>,
    /// The `managedFields` entries within the metadata message, in order.
    managed_fields: Vec<Range<usize>>,
}

/// Reads the `metadata` of an object message; the rest is skipped unread. A `metadata` field
/// sent twice is merged as prost merges it: the last value of each field wins, and the
/// `managedFields` of both are the object's.
pub fn read_object(message: &[u8]) -> Result<ObjectHead<'_>, ProtobufError> {
    let mut head = ObjectHead::default();
    for field in Fields::of(message) {
        let field = field?;
        if field.number != 1 {
            continue;
        }
        let metadata = field.bytes("object")?;
        let mut managed_fields = Vec::new();
        for meta_field in Fields::of(metadata) {
            let meta_field = meta_field?;
            match meta_field.number {
                1 => head.name = meta_field.string("ObjectMeta")?,
                3 => head.namespace = meta_field.string("ObjectMeta")?,
                6 => head.resource_version = meta_field.string("ObjectMeta")?,
                9 => head.deleting = true,
                12 => {
                    let (key, value) = map_entry(meta_field.bytes("ObjectMeta")?)?;
                    // A map key sent twice: the last value wins.
                    if key == INITIAL_EVENTS_END_ANNOTATION {
                        head.initial_events_end = value == "true";
                    }
                }
                17 => {
                    meta_field.bytes("ObjectMeta")?;
                    managed_fields.push(meta_field.span);
                }
                _ => {}
            }
        }
        head.metadata.push(MetadataField {
            span: field.span,
            managed_fields,
        });
    }
    Ok(head)
}

/// A `map<string, string>` entry: 1 key, 2 value.
fn map_entry(entry: &[u8]) -> Result<(&str, &str), ProtobufError> {
    let (mut key, mut value) = ("", "");
    for field in Fields::of(entry) {
        let field = field?;
        match field.number {
            1 => key = field.string("map entry")?,
            2 => value = field.string("map entry")?,
            _ => {}
        }
    }
    Ok((key, value))
}

/// The object message without `metadata.managedFields`: the entries are cut out of each
/// metadata message and its length prefix is rewritten; every other byte is kept as it arrived.
/// The vector's capacity is its length, so boxing it does not reallocate.
pub fn without_managed_fields(message: &[u8], head: &ObjectHead<'_>) -> Vec<u8> {
    // First the length: each metadata field with entries, where its body starts and how much of
    // it goes.
    let mut cuts = Vec::with_capacity(head.metadata.len());
    let mut len = message.len();
    for metadata in head
        .metadata
        .iter()
        .filter(|m| !m.managed_fields.is_empty())
    {
        let field = &message[metadata.span.clone()];
        let mut fields = Fields::of(field);
        // The metadata field was read whole by `read_object`: tag and length read again here.
        let (Ok(_tag), Ok(_len)) = (fields.varint(), fields.varint()) else {
            return message.to_vec();
        };
        let cut: usize = metadata
            .managed_fields
            .iter()
            .map(ExactSizeIterator::len)
            .sum();
        let kept_body = field.len() - fields.at - cut;
        len = len - field.len() + 1 + varint_len(kept_body as u64) + kept_body;
        cuts.push((metadata, fields.at, kept_body));
    }
    if cuts.is_empty() {
        return message.to_vec();
    }
    let mut kept = Vec::with_capacity(len);
    let mut at = 0;
    for (metadata, body_start, kept_body) in cuts {
        kept.extend_from_slice(&message[at..metadata.span.start]);
        at = metadata.span.end;
        let body = &message[metadata.span.start + body_start..metadata.span.end];
        kept.push(0x0a); // field 1, wire type 2
        put_varint(&mut kept, kept_body as u64);
        let mut body_at = 0;
        for entry in &metadata.managed_fields {
            kept.extend_from_slice(&body[body_at..entry.start]);
            body_at = entry.end;
        }
        kept.extend_from_slice(&body[body_at..]);
    }
    kept.extend_from_slice(&message[at..]);
    debug_assert_eq!(kept.len(), kept.capacity());
    kept
}

/// How many bytes `value` takes as a varint.
fn varint_len(value: u64) -> usize {
    (64 - value.max(1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One watch event: its type and its object's body (the `k8s\0` envelope).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventParts<'a> {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    pub event_type: &'a str,
    /// The `RawExtension`'s raw bytes.
    pub object: &'a [u8],
}

/// Reads a `WatchEvent` message (one frame of a protobuf watch, without its length).
pub fn read_event(frame: &[u8]) -> Result<EventParts<'_>, ProtobufError> {
    let mut event_type = "";
    let mut object = None;
    for field in Fields::of(frame) {
        let field = field?;
        match field.number {
            1 => event_type = field.string("WatchEvent")?,
            2 => {
                for raw_field in Fields::of(field.bytes("WatchEvent")?) {
                    let raw_field = raw_field?;
                    if raw_field.number == 1 {
                        object = Some(raw_field.bytes("RawExtension")?);
                    }
                }
            }
            _ => {}
        }
    }
    let object = object.ok_or(ProtobufError::NoPayload("WatchEvent"))?;
    Ok(EventParts { event_type, object })
}

/// The fields of a `Status` message a client acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusParts<'a> {
    /// `Success` or `Failure`.
    pub status: &'a str,
    /// A description for people.
    pub message: &'a str,
    /// `Expired`, `Forbidden`, `TooManyRequests`...
    pub reason: &'a str,
    /// The HTTP status code it stands for.
    pub code: i32,
    /// `details.retryAfterSeconds`.
    pub retry_after_seconds: Option<i32>,
    /// `details.kind`: the resource the failure is about (`pods`; `users` for a refused
    /// impersonation).
    pub details_kind: &'a str,
    /// `details.name`: the object it is about, if one.
    pub details_name: &'a str,
}

/// Reads a `Status` message (the `raw` of an envelope whose kind is `Status`).
pub fn read_status(message: &[u8]) -> Result<StatusParts<'_>, ProtobufError> {
    let mut status = StatusParts::default();
    for field in Fields::of(message) {
        let field = field?;
        match field.number {
            2 => status.status = field.string("Status")?,
            3 => status.message = field.string("Status")?,
            4 => status.reason = field.string("Status")?,
            5 => {
                for detail in Fields::of(field.bytes("Status")?) {
                    let detail = detail?;
                    match detail.number {
                        1 => status.details_name = detail.string("StatusDetails")?,
                        3 => status.details_kind = detail.string("StatusDetails")?,
                        5 => {
                            let seconds = detail.varint("StatusDetails")?;
                            status.retry_after_seconds = Some(int32(seconds));
                        }
                        _ => {}
                    }
                }
            }
            6 => status.code = int32(field.varint("Status")?),
            _ => {}
        }
    }
    Ok(status)
}

/// An `int32` field's value: protobuf writes a negative one as a ten-byte varint of its
/// sign-extended 64 bits, so the low 32 bits are the value.
fn int32(value: u64) -> i32 {
    value as u32 as i32
}

/// Splits a protobuf watch stream into its frames (a 4-byte big-endian length, then that many
/// bytes), reusing one buffer. A frame may be as long as a JSON watch line
/// ([`MAX_LINE_BYTES`]); a longer length is refused as soon as it is read, before any of it is
/// buffered.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buffer: BytesMut,
    /// Stream offset of the first byte of `buffer`, for error messages.
    offset: u64,
}

/// A watch frame longer than any Kubernetes object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("watch frame at byte offset {offset} is {len} bytes long, over {MAX_LINE_BYTES}")]
pub struct FrameTooLong {
    /// Stream offset of the frame's length.
    pub offset: u64,
    /// The length it claims.
    pub len: u64,
}

impl FrameSplitter {
    /// Appends a chunk read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete frame (length removed) and its stream offset, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<(u64, Bytes)>, FrameTooLong> {
        let Some(len) = self
            .buffer
            .first_chunk::<4>()
            .map(|len| u32::from_be_bytes(*len))
        else {
            return Ok(None);
        };
        let len = len as usize;
        if len > MAX_LINE_BYTES {
            return Err(FrameTooLong {
                offset: self.offset,
                len: len as u64,
            });
        }
        if self.buffer.len() - 4 < len {
            return Ok(None);
        }
        let offset = self.offset;
        self.buffer.advance(4);
        self.offset += 4 + len as u64;
        Ok(Some((offset, self.buffer.split_to(len).freeze())))
    }

    /// Bytes received after the last complete frame: a frame cut short when the stream ended.
    pub fn remainder(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests;
