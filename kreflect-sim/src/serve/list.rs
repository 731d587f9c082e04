//! List responses: `PodList` pages cut from one consistent snapshot, and continue tokens.
//!
//! A continue token is what the real server sends: unpadded URL-safe base64 of
//! `{"v":"meta.k8s.io/v1","rv":<snapshot rv>,"start":"<next key>"}`, where the key here is
//! always `namespace/name` followed by a NUL. `rv: -1` (the token a 410 hands out) continues
//! from the current state, inconsistently, as the real server does.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{BufMut, Bytes, BytesMut};
use http::Response;
use k8s_pb::apimachinery::pkg::apis::meta::v1::ListMeta;
use serde::{Deserialize, Serialize};

use super::faults::GzipCorruption;
use super::gzip;
use super::selector::ObjectFilter;
use crate::body::Body;
use crate::wire::encode::metadata_item;
use crate::wire::negotiate::Encoding;
use crate::wire::protobuf;
use crate::wire::resources::ResourceType;
use crate::wire::status::{EXPIRED_CONTINUE_MESSAGE, StatusError};
use crate::wire::table::{IncludeObject, TableMeta, table_page};
use crate::world::state::{Snapshot, StoredObject, World};

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// The text form of continue tokens: URL-safe base64 (RFC 4648 §5) written without padding, as
/// the real server writes it; read with or without padding, and with non-zero trailing bits.
const TOKEN_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A decoded continue token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

impl ContinueToken {
    /// A token never handed out before that continues where this one does: one more NUL after
    /// the start key (no key holds a NUL, so the page is the same).
    /// [`Fault::FreshContinueToken`](super::faults::Fault::FreshContinueToken).
    pub(crate) fn same_page_again(&self) -> ContinueToken {
        ContinueToken::new(self.rv, format!("{}\u{0}", self.start))
    }

    fn new(rv: i64, start: String) -> ContinueToken {
        ContinueToken {
            v: TOKEN_VERSION.to_owned(),
            rv,
            start,
        }
    }

    /// The opaque text form.
    pub(crate) fn encode(&self) -> String {
        TOKEN_BASE64.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses the text form; the error is the reason it is invalid.
    pub(crate) fn decode(text: &str) -> Result<ContinueToken, String> {
        let json = TOKEN_BASE64.decode(text).map_err(|_| "not valid base64")?;
        let token: ContinueToken =
            serde_json::from_slice(&json).map_err(|e| format!("not a continue key: {e}"))?;
        if token.v != TOKEN_VERSION {
            return Err(format!("unsupported version {:?}", token.v));
        }
        Ok(token)
    }

    /// The 410 Expired answer for this token (transcript 14): a fresh `rv: -1` token.
    pub(crate) fn expired(&self) -> StatusError {
        StatusError::new(410, "Expired", EXPIRED_CONTINUE_MESSAGE)
            .with_continue(ContinueToken::new(-1, self.start.clone()).encode())
    }
}

/// A list request as the handler parsed it: its query parameters and headers, and the faults
/// that change this answer.
#[derive(Debug)]
pub(crate) struct ListQuery<'a> {
    /// `None` for all namespaces.
    pub namespace: Option<&'a str>,
    /// Page size; 0 means everything.
    pub limit: usize,
    /// The decoded `continue` parameter.
    pub continue_token: Option<ContinueToken>,
    /// `labelSelector` / `fieldSelector`, if any.
    pub filter: Option<ObjectFilter>,
    /// Serve a `PartialObjectMetadataList` (transcript 07).
    pub metadata_only: bool,
    /// Serve a `Table` with rows' objects as this says (transcripts 15-17).
    pub table: Option<IncludeObject>,
    /// Hand out this continue token instead of the next page's ([`Fault::RepeatContinueToken`]).
    ///
    /// [`Fault::RepeatContinueToken`]: super::faults::Fault::RepeatContinueToken
    pub repeat_token: Option<&'a str>,
    /// The client accepts gzip: a page larger than the threshold is compressed.
    pub accepts_gzip: bool,
    /// Answer with this broken gzip body instead ([`Fault::ListCorruptGzip`]).
    ///
    /// [`Fault::ListCorruptGzip`]: super::faults::Fault::ListCorruptGzip
    pub corrupt_gzip: Option<GzipCorruption>,
    /// Name this kind in the body instead of the list's own ([`Fault::ListAsKind`]).
    ///
    /// [`Fault::ListAsKind`]: super::faults::Fault::ListAsKind
    pub list_kind: Option<&'a str>,
    /// The negotiated encoding of the page (and of a 410 `Status`).
    pub encoding: Encoding,
    /// Serve the watch cache's state, all of it in one response whatever the `limit`.
    pub from_watch_cache: bool,
}

/// Answers a list query.
pub(crate) fn respond(world: &World, query: &ListQuery<'_>) -> Response<Body> {
    let (snapshot, start) = match &query.continue_token {
        None if query.from_watch_cache => (world.watch_cache(), String::new()),
        None => (world.snapshot(query.limit > 0), String::new()),
        Some(token) if token.rv < 0 => (world.snapshot(true), token.start.clone()),
        Some(token) => match u64::try_from(token.rv)
            .ok()
            .and_then(|rv| world.snapshot_at(rv))
        {
            Some(snapshot) => (snapshot, token.start.clone()),
            None => return token.expired().into_response_as(query.encoding),
        },
    };
    let body = page(&snapshot, query, &start, world.resource());
    match query.corrupt_gzip {
        Some(corruption) => gzip::corrupted(&body, corruption),
        None => gzip::respond(200, body, query.accepts_gzip, query.encoding),
    }
}

/// Renders one list page (`PodList`, `NodeList`...) of `snapshot` from key `start`.
fn page(
    snapshot: &Arc<Snapshot>,
    query: &ListQuery<'_>,
    start: &str,
    resource: &ResourceType,
) -> Bytes {
    let selected = select(&snapshot.pods, query.filter.as_ref());
    let limit = if query.from_watch_cache {
        0
    } else {
        query.limit
    };
    let (items, remaining) = cut(&selected, query.namespace, start, limit);
    let page = Page {
        items,
        resource_version: snapshot.resource_version,
        next: next_page(query, snapshot.resource_version, items, remaining),
    };
    if query.encoding == Encoding::Protobuf {
        return protobuf_page(resource, query, page);
    }
    if let Some(include) = query.table {
        return table_list(resource, page, include);
    }
    json_page(resource, query, page)
}

/// One page's items, and what its list metadata says.
struct Page<'a> {
    items: &'a [Arc<StoredObject>],
    /// The snapshot's resourceVersion.
    resource_version: u64,
    /// The continue token handed out and the `remainingItemCount` that goes with it.
    next: Option<(String, usize)>,
}

/// The objects the selectors let through, all of them without a filter.
fn select<'a>(
    objects: &'a [Arc<StoredObject>],
    filter: Option<&ObjectFilter>,
) -> Cow<'a, [Arc<StoredObject>]> {
    match filter {
        None => Cow::Borrowed(objects),
        Some(filter) => objects
            .iter()
            .filter(|object| filter.matches(&object.item))
            .cloned()
            .collect(),
    }
}

/// The page of `objects` (in key order) in `namespace` (all when `None`) from key `start`, at
/// most `limit` of them (all when 0), and how many there are after it.
fn cut<'a>(
    objects: &'a [Arc<StoredObject>],
    namespace: Option<&str>,
    start: &str,
    limit: usize,
) -> (&'a [Arc<StoredObject>], usize) {
    let (low, high) = match namespace {
        Some(namespace) => {
            let prefix = format!("{namespace}/");
            // '0' is the byte after '/': the end of the namespace's key range.
            let end = format!("{namespace}0");
            (
                objects.partition_point(|p| p.key < prefix),
                objects.partition_point(|p| p.key < end),
            )
        }
        None => (0, objects.len()),
    };
    let first = objects.partition_point(|p| p.key.as_str() < start).max(low);
    let available = high.saturating_sub(first);
    let count = if limit == 0 {
        available
    } else {
        available.min(limit)
    };
    (&objects[first..first + count], available - count)
}

/// The continue token to hand out after `items` and the `remainingItemCount` that goes with
/// it: none at the end of the list, or the token a fault repeats.
fn next_page(
    query: &ListQuery<'_>,
    resource_version: u64,
    items: &[Arc<StoredObject>],
    remaining: usize,
) -> Option<(String, usize)> {
    match query.repeat_token {
        Some(token) => Some((token.to_owned(), remaining.max(1))),
        None => items.last().filter(|_| remaining > 0).map(|last| {
            let rv = i64::try_from(resource_version).unwrap_or(i64::MAX);
            let token = ContinueToken::new(rv, format!("{}\u{0}", last.key)).encode();
            (token, remaining)
        }),
    }
}

/// The page as a protobuf list.
fn protobuf_page(resource: &ResourceType, query: &ListQuery<'_>, page: Page<'_>) -> Bytes {
    let list_meta = ListMeta {
        resource_version: Some(page.resource_version.to_string()),
        remaining_item_count: page
            .next
            .as_ref()
            .and_then(|(_, remaining)| i64::try_from(*remaining).ok()),
        r#continue: Some(page.next.map(|(token, _)| token).unwrap_or_default()),
        self_link: Some(String::new()),
    };
    let items: Vec<&[u8]> = page
        .items
        .iter()
        .filter_map(|p| p.protobuf(resource).map(|m| &m[..]))
        .collect();
    protobuf::list_body(resource, query.list_kind, &list_meta, &items)
}

/// The page as a Table (transcripts 15-17).
fn table_list(resource: &ResourceType, page: Page<'_>, include: IncludeObject) -> Bytes {
    let metadata = TableMeta {
        resource_version: page.resource_version.to_string(),
        remaining_item_count: page.next.as_ref().map(|(_, remaining)| *remaining),
        continue_token: page.next.map(|(token, _)| token),
    };
    let items: Vec<&[u8]> = page.items.iter().map(|p| &p.item[..]).collect();
    table_page(resource, metadata, &items, include)
}

/// The page as a JSON list, its items copied as they are stored (or their metadata only),
/// without parsing them.
fn json_page(resource: &ResourceType, query: &ListQuery<'_>, page: Page<'_>) -> Bytes {
    let size: usize = page.items.iter().map(|p| p.item.len() + 1).sum();
    let mut body = BytesMut::with_capacity(size + 256);
    put_kind(&mut body, resource, query);
    put_list_metadata(&mut body, page.resource_version, page.next);
    body.put_slice(b",\"items\":[");
    for (i, pod) in page.items.iter().enumerate() {
        if i > 0 {
            body.put_u8(b',');
        }
        if query.metadata_only {
            body.put_slice(&metadata_item(&pod.item));
        } else {
            body.put_slice(&pod.item);
        }
    }
    body.put_slice(b"]}");
    body.freeze()
}

/// Opens the list object with its `kind` and `apiVersion`.
fn put_kind(body: &mut BytesMut, resource: &ResourceType, query: &ListQuery<'_>) {
    if let Some(kind) = query.list_kind {
        body.put_slice(b"{\"kind\":\"");
        body.put_slice(kind.as_bytes());
        body.put_slice(b"\",\"apiVersion\":\"");
        body.put_slice(resource.api_version().as_bytes());
        body.put_u8(b'"');
    } else if query.metadata_only {
        body.put_slice(
            b"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\"",
        );
    } else {
        body.put_slice(b"{\"kind\":\"");
        body.put_slice(resource.kind.as_bytes());
        body.put_slice(b"List\",\"apiVersion\":\"");
        body.put_slice(resource.api_version().as_bytes());
        body.put_u8(b'"');
    }
}

/// The list's `metadata`: its resourceVersion, and the continue token with the
/// `remainingItemCount` when there is more.
fn put_list_metadata(body: &mut BytesMut, resource_version: u64, next: Option<(String, usize)>) {
    body.put_slice(b",\"metadata\":{\"resourceVersion\":\"");
    body.put_slice(resource_version.to_string().as_bytes());
    body.put_u8(b'"');
    if let Some((token, remaining)) = next {
        body.put_slice(b",\"continue\":\"");
        body.put_slice(token.as_bytes());
        body.put_slice(b"\",\"remainingItemCount\":");
        body.put_slice(remaining.to_string().as_bytes());
    }
    body.put_u8(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let token = ContinueToken::new(31548, "c1\u{0}".to_owned());
        assert_eq!(
            token.encode(),
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzE1NDgsInN0YXJ0IjoiYzFcdTAwMDAifQ"
        );
        assert_eq!(ContinueToken::decode(&token.encode()).unwrap(), token);
        assert!(ContinueToken::decode("garbage!").is_err());
        assert!(ContinueToken::decode(&TOKEN_BASE64.encode(b"{}")).is_err());
    }

    #[test]
    fn decodes_a_real_continue_token() {
        let token = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzE1NDgsInN0YXJ0IjoiYzFcdTAwMDAifQ";
        let decoded = TOKEN_BASE64.decode(token).unwrap();
        assert_eq!(
            std::str::from_utf8(&decoded).unwrap(),
            r#"{"v":"meta.k8s.io/v1","rv":31548,"start":"c1\u0000"}"#
        );
        assert_eq!(TOKEN_BASE64.encode(&decoded), token);
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..10 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(
                TOKEN_BASE64.decode(TOKEN_BASE64.encode(&data)).unwrap(),
                data
            );
        }
        assert!(TOKEN_BASE64.decode("a").is_err());
        assert!(TOKEN_BASE64.decode("ab!c").is_err());
    }

    #[test]
    fn reads_padded_tokens_and_tokens_with_trailing_bits() {
        assert_eq!(TOKEN_BASE64.decode("YQ==").unwrap(), b"a");
        assert_eq!(TOKEN_BASE64.decode("YR").unwrap(), b"a");
    }

    #[test]
    fn expired_hands_out_a_minus_one_token_like_transcript_14() {
        let token = ContinueToken::new(31553, "c1\u{0}".to_owned());
        let status = String::from_utf8(token.expired().to_bytes().to_vec()).unwrap();
        assert!(status.starts_with(
            r#"{"kind":"Status","apiVersion":"v1","metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiYzFcdTAwMDAifQ"},"status":"Failure","message":"The provided continue parameter is too old"#
        ));
        assert!(status.ends_with(r#""reason":"Expired","code":410}"#));
    }
}
