//! Reading a list item or a watch line's object in the same pass that cuts it out of its list or
//! line: its head (`kind`, `metadata`) parsed, every other member skipped and validated, and
//! its bytes found from where its first and last members lie. Cutting it out as a `RawValue`
//! first and then reading its head again ([`super::read_head`]) scans the head twice.
//!
//! Only the usual shape is read here: a JSON object with members, `kind` (if before `metadata`)
//! a string, one `metadata` with members, its `name`, `namespace`, `resourceVersion` and
//! `creationTimestamp` strings or null. Anything else is an error of the parse, and the caller
//! reads the body again the careful way (`RawValue`, then [`super::read_head`]), which gives
//! every unusual object the answer and the message it always had.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Error as _, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{BorrowedStr, Head, HeadKey, Metadata, MetadataKey, ObjectError};

/// An object read in one pass: its head, and where its first and last members' values lie in
/// the body, from which [`ScannedObject::bytes`] finds the object's own bytes.
pub(crate) struct ScannedObject<'de> {
    pub(super) head: Head<'de>,
    members: Members<'de>,
}

impl<'de> ScannedObject<'de> {
    /// The object's bytes, `{` to `}`, in `body`, the list or line it was read from.
    pub(crate) fn bytes_in(&self, body: &'de [u8]) -> Result<&'de [u8], ObjectError> {
        self.bytes(body).ok_or_else(|| {
            ObjectError::Malformed("the object's bytes are not in the body it came in".into())
        })
    }

    fn bytes(&self, body: &'de [u8]) -> Option<&'de [u8]> {
        let (first, last) = (self.members.first?, self.members.last?);
        let mut start = super::offset_in(body, first.value)?.start;
        for _ in 0..=first.depth {
            start = find_opening(body, start)?;
        }
        let mut end = super::offset_in(body, last.value)?.end;
        for _ in 0..=last.depth {
            end = find_closing(body, end)?;
        }
        body.get(start..end)
    }
}

impl<'de> Deserialize<'de> for ScannedObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Where the members of one JSON object lie: the first member's value and the last one's.
#[derive(Clone, Copy, Default)]
struct Members<'de> {
    first: Option<Edge<'de>>,
    last: Option<Edge<'de>>,
}

/// A value at an edge of an object: a slice of the body, `depth` objects below the member
/// (0: the member's value; 1: the first or last value of the object that is the member's
/// value, for `metadata`).
#[derive(Clone, Copy)]
struct Edge<'de> {
    value: &'de [u8],
    depth: usize,
}

impl<'de> Members<'de> {
    /// The next member's value, a slice of the body.
    fn saw(&mut self, value: &'de RawValue) {
        self.saw_edge(value.get().as_bytes(), 0);
    }

    /// The next member's value, an object whose members lie at `inner`; an error when it has
    /// none, for then nothing says where it lies.
    fn saw_object<E: serde::de::Error>(&mut self, inner: Members<'de>) -> Result<(), E> {
        let (Some(first), Some(last)) = (inner.first, inner.last) else {
            return Err(E::custom("an object without members"));
        };
        self.first.get_or_insert(Edge {
            depth: first.depth + 1,
            ..first
        });
        self.last = Some(Edge {
            depth: last.depth + 1,
            ..last
        });
        Ok(())
    }

    fn saw_edge(&mut self, value: &'de [u8], depth: usize) {
        let edge = Edge { value, depth };
        self.first.get_or_insert(edge);
        self.last = Some(edge);
    }
}

/// Reads an object: `kind` (before `metadata`), `metadata`, and where its members lie.
struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = ScannedObject<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut head = Head::default();
        let mut members = Members::default();
        while let Some(key) = map.next_key::<HeadKey>()? {
            match key {
                HeadKey::Metadata if head.metadata.is_some() => {
                    return Err(A::Error::custom("two metadata members"));
                }
                HeadKey::Metadata => {
                    let (metadata, inner) = map.next_value_seed(MetadataSeed)?;
                    members.saw_object(inner)?;
                    head.metadata = Some(metadata);
                }
                // As `read_head`, which stops at `metadata`: a `kind` after it is not read.
                HeadKey::Kind if head.metadata.is_none() => {
                    let value: &'de RawValue = map.next_value()?;
                    members.saw(value);
                    let kind = serde_json::from_str::<BorrowedStr<'de>>(value.get());
                    head.kind = Some(kind.map_err(A::Error::custom)?.0);
                }
                HeadKey::Kind | HeadKey::Other => members.saw(map.next_value()?),
            }
        }
        if members.first.is_none() {
            // Nothing says where `{}` lies: read the careful way.
            return Err(A::Error::custom("an object without members"));
        }
        Ok(ScannedObject { head, members })
    }
}

/// Reads a `metadata` object and where its members lie.
struct MetadataSeed;

impl<'de> DeserializeSeed<'de> for MetadataSeed {
    type Value = (Metadata<'de>, Members<'de>);

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed {
    type Value = (Metadata<'de>, Members<'de>);

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an object's metadata")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut metadata = Metadata::default();
        let mut members = Members::default();
        while let Some(key) = map.next_key::<MetadataKey>()? {
            // Every value cut out whole, which checks it (its UTF-8 too) as the object's scan
            // would; the few strings read are read again from their slice.
            let value: &'de RawValue = map.next_value()?;
            members.saw(value);
            let string = match key {
                MetadataKey::Name => &mut metadata.name,
                MetadataKey::Namespace => &mut metadata.namespace,
                MetadataKey::ResourceVersion => &mut metadata.resource_version,
                MetadataKey::ManagedFields => {
                    metadata.managed_fields.push(value);
                    continue;
                }
                MetadataKey::CreationTimestamp => {
                    metadata.creation_timestamp = string_or_null(value)?;
                    continue;
                }
                MetadataKey::Other => continue,
            };
            // A null leaves the string as it was, as Go reads it.
            if let Some(text) = string_or_null(value)? {
                *string = Some(text);
            }
        }
        Ok((metadata, members))
    }
}

/// A string member's value (`None` for null), borrowed from the body unless escaped.
fn string_or_null<'de, E: serde::de::Error>(
    value: &'de RawValue,
) -> Result<Option<Cow<'de, str>>, E> {
    serde_json::from_str::<Option<BorrowedStr<'de>>>(value.get())
        .map(|text| text.map(|text| text.0))
        .map_err(E::custom)
}

/// JSON's whitespace.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where the `{` of the object whose first value starts at `value` lies in `body`: back over
/// whitespace, `:`, the key and whitespace. `None` when the bytes there are not that.
fn find_opening(body: &[u8], value: usize) -> Option<usize> {
    let before = |at: usize| body.get(..at).map(|before| before.iter().rev());
    let skip_space =
        |at: usize| at - before(at).map_or(0, |b| b.take_while(|&&c| is_space(c)).count());
    let colon = skip_space(value).checked_sub(1)?;
    (body.get(colon)? == &b':').then_some(())?;
    let closing_quote = skip_space(colon).checked_sub(1)?;
    (body.get(closing_quote)? == &b'"').then_some(())?;
    // The key's opening quote: the first quote before its closing one that no backslash
    // escapes (an even number of backslashes before it). A key holds no unescaped quote.
    let mut at = closing_quote;
    let opening_quote = loop {
        at = memchr::memrchr(b'"', body.get(..at)?)?;
        let slashes = before(at)?.take_while(|&&c| c == b'\\').count();
        if slashes % 2 == 0 {
            break at;
        }
    };
    let brace = skip_space(opening_quote).checked_sub(1)?;
    (body.get(brace)? == &b'{').then_some(brace)
}

/// Where the object whose last value ends at `value_end` in `body` ends, its `}` included.
fn find_closing(body: &[u8], value_end: usize) -> Option<usize> {
    let spaces = body
        .get(value_end..)?
        .iter()
        .take_while(|&&c| is_space(c))
        .count();
    let brace = value_end + spaces;
    (body.get(brace)? == &b'}').then_some(brace + 1)
}
