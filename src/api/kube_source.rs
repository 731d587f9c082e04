//! [`KubeSource`]: the [`ListWatch`] seam implemented as HTTP requests over a `kube::Client`,
//! the only code that asks the server for objects. It chooses what to accept (protobuf, JSON,
//! Tables, `PartialObjectMetadata`: [`SourceOptions`]), bounds how long an answer may take
//! (`RequestDeadline`) and decodes what comes back; watch bodies are split by
//! `framing`, failures classified by
//! `request_errors`.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::BodyExt;
use kube::client::Body;
use kube::core::{ApiResource, DynamicObject, Resource};

use crate::api::deadline::{RequestDeadline, Slowness};
use crate::api::framing::{Framing, TableDecoding, TableState, watch_events};
use crate::api::request_errors::{body_failed, request_failed};
use crate::cache::list_watch::{
    ListFrom, ListRequest, ListWatch, Scope, SourceError, WatchRequest, WatchStream,
};
use crate::connect::endpoint::Endpoint;
use crate::connect::transport::inflation::WireBytes;
use crate::wire::decode::protobuf_list::ProtobufListReader;
use crate::wire::decode::table::decode_list_or_table;
use crate::wire::decode::{ApiStatus, DecodeError, ListPage, decode_list};
use crate::wire::object::TableColumns;
use page_buffer::{MAX_RESERVED_BYTES, PageBody, PageBuffers};

mod page_buffer;

/// Error bodies longer than this are cut before parsing.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// A watch request whose response headers have not arrived by then was sent on a dead
/// connection (the client reuses idle pooled connections, which a frozen NAT or proxy leaves
/// open but silent): the server sends a watch's headers at once, or, when its priority and
/// fairness queues are full, a 429 within 15 s (a quarter of its request timeout).
pub const WATCH_HEADERS_TIMEOUT: Duration = Duration::from_secs(20);

/// The same for lists and discovery: the server answers them, or gives up with a 504, within
/// its request timeout of 60 s.
pub const LIST_HEADERS_TIMEOUT: Duration = Duration::from_secs(60);

/// The kind of the objects a metadata-only list or watch returns.
pub const METADATA_KIND: &str = "PartialObjectMetadata";

/// How a [`KubeSource`] asks for objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceOptions {
    /// Ask for `PartialObjectMetadata` (`Accept: application/json;as=PartialObjectMetadataList;
    /// g=meta.k8s.io;v=v1` for lists, `as=PartialObjectMetadata` for watches), as kubectl and
    /// client-go's metadata informers do: the server sends only each object's `metadata`.
    pub metadata_only: bool,
    /// Ask for server-side Tables (`-o wide`), as `kubectl get` does: each row's cells as the
    /// server derives them, keyed by the row's object metadata. A resource the server makes no
    /// Table for (a 406, or its plain list in answer) is asked plainly from then on.
    pub table: bool,
    /// Which encoding to ask for (`--wire`).
    pub wire: Wire,
    /// How long a list page may take (and a discovery document, by the caller of [`fetch`]).
    pub deadline: RequestDeadline,
}

/// The encoding asked of the server for lists and watches (`--wire`). Whatever is asked, the
/// answer's `Content-Type` says what came, and that is decoded: a server may answer JSON to a
/// protobuf request (custom resources always do, transcript 21).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Wire {
    /// Protobuf for the built-in kinds (groups without a dot, or ending in `.k8s.io`), JSON
    /// for custom resources, as client-go's typed clients ask.
    #[default]
    Auto,
    /// Protobuf, with JSON as the fallback, for every kind.
    Protobuf,
    /// JSON only.
    Json,
}

impl Wire {
    /// Whether to ask for protobuf for resources of `group`.
    fn asks_protobuf_for(self, group: &str) -> bool {
        match self {
            Wire::Json => false,
            Wire::Protobuf => true,
            Wire::Auto => !group.contains('.') || group.ends_with(".k8s.io"),
        }
    }
}

/// The encoding of a response body, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyFormat {
    /// `application/json` (or anything but protobuf: a proxy's page is decoded, and refused,
    /// as JSON).
    Json,
    /// `application/vnd.kubernetes.protobuf` (`;stream=watch` for watches).
    Protobuf,
}

impl BodyFormat {
    fn of(headers: &http::HeaderMap) -> Self {
        let protobuf = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE));
        if protobuf {
            BodyFormat::Protobuf
        } else {
            BodyFormat::Json
        }
    }
}

/// Lists and watches one resource (in one namespace or all) over a `kube::Client`.
#[derive(Clone)]
pub struct KubeSource {
    client: kube::Client,
    /// The server the client talks to, for messages.
    endpoint: Endpoint,
    /// The collection's URL path, e.g. `/api/v1/namespaces/shop/pods`.
    path: String,
    scope: Scope,
    /// The resource's `kind`.
    kind: String,
    /// The resource's API group (`""` for the core group).
    group: String,
    selectors: Selectors,
    options: SourceOptions,
    /// With [`SourceOptions::table`]: what the server said about Tables, shared by this
    /// source's requests and watch streams.
    tables: Arc<Mutex<TableState>>,
    /// The buffer list pages are read into, kept from one page of a list to the next.
    page_buffers: PageBuffers,
}

/// Label and field selectors passed to the server on every list and watch (`-l`,
/// `--field-selector`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    /// `labelSelector`, e.g. `app=web,tier in (front,back)`.
    pub label: Option<String>,
    /// `fieldSelector`, e.g. `status.phase=Running`.
    pub field: Option<String>,
}

impl KubeSource {
    /// A source for `resource`, a namespaced resource (pods), in `namespace` or across all
    /// namespaces. A cluster-scoped resource's source is [`KubeSource::cluster_scoped`]: the
    /// scope decides which objects are in it ([`Scope::admits`]).
    pub fn new(client: kube::Client, resource: &ApiResource, namespace: Option<String>) -> Self {
        Self::with_scope(client, resource, namespace, true)
    }

    /// A source for `resource`, a cluster-scoped resource (nodes, namespaces).
    pub fn cluster_scoped(client: kube::Client, resource: &ApiResource) -> Self {
        Self::with_scope(client, resource, None, false)
    }

    /// A source for `resource` in `namespace` (or across all of them), `namespaced` or not.
    fn with_scope(
        client: kube::Client,
        resource: &ApiResource,
        namespace: Option<String>,
        namespaced: bool,
    ) -> Self {
        let path = DynamicObject::url_path(resource, namespace.as_deref());
        KubeSource {
            client,
            endpoint: Endpoint::default(),
            path,
            scope: Scope {
                plural: resource.plural.clone(),
                namespace,
                namespaced,
            },
            kind: resource.kind.clone(),
            group: resource.group.clone(),
            selectors: Selectors::default(),
            options: SourceOptions::default(),
            tables: Arc::default(),
            page_buffers: PageBuffers::default(),
        }
    }

    /// Lists and watches only the objects these selectors match.
    pub fn with_selectors(mut self, selectors: Selectors) -> Self {
        self.selectors = selectors;
        self
    }

    /// This source, naming `endpoint` when the server cannot be reached.
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// This source, asking for objects as `options` say.
    pub fn with_options(mut self, options: SourceOptions) -> Self {
        self.options = options;
        self
    }

    /// The `kind` the served objects carry: the resource's, or [`METADATA_KIND`].
    fn object_kind(&self) -> &str {
        if self.options.metadata_only {
            METADATA_KIND
        } else {
            &self.kind
        }
    }

    /// What the server said about Tables so far.
    fn table_state(&self) -> MutexGuard<'_, TableState> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether to ask for a Table: `-o wide`, and the server has not refused one yet.
    fn asks_for_tables(&self) -> bool {
        self.options.table && !self.table_state().refused
    }

    /// Remembers that the server makes no Table for this resource: from now on it is asked
    /// plainly, and listings show kreflect's own columns.
    fn refuse_tables(&self, answer: &'static str) {
        let mut state = self.table_state();
        if !state.refused {
            state.refused = true;
            state.columns = None;
            tracing::info!(resource = %self.scope.plural, answer, "the server makes no Table for this resource; -o wide shows kreflect's own columns");
        }
    }

    /// `Accept` for a list when no Table is asked for.
    fn plain_list_accept(&self) -> &'static str {
        if self.options.metadata_only {
            METADATA_LIST_MEDIA_TYPE
        } else {
            self.object_accept()
        }
    }

    /// `Accept` for a watch when no Table is asked for.
    fn plain_watch_accept(&self) -> &'static str {
        if self.options.metadata_only {
            METADATA_MEDIA_TYPE
        } else {
            self.object_accept()
        }
    }

    /// `Accept` for whole objects: protobuf first when `--wire` asks for it for this group
    /// (JSON as the fallback, as client-go sends it), JSON otherwise. With `-o wide`, JSON
    /// always: kreflect's own columns (when the server makes no Table) read the object's JSON.
    fn object_accept(&self) -> &'static str {
        if !self.options.table && self.options.wire.asks_protobuf_for(&self.group) {
            PROTOBUF_OR_JSON_MEDIA_TYPE
        } else {
            JSON_MEDIA_TYPE
        }
    }

    /// Decodes a plain list page in the format it came in.
    fn decode_json_list(&self, body: PageBody) -> Result<ListPage, SourceError> {
        let page = decode_list(&body, self.object_kind())?;
        release_if_last(body, &page);
        Ok(page)
    }

    /// GETs one plain list page (no Table) and decodes it in the format it comes in: protobuf
    /// as it arrives ([`ProtobufListReader`]: a watch cache's one response of every object is
    /// never held whole), JSON once read into the page buffer.
    async fn list_plain(&self, query: &[(&str, &str)]) -> Result<ListPage, SourceError> {
        let deadline = &self.options.deadline;
        within(deadline, &self.endpoint, async {
            let (response, format) = self.get_list(query, self.plain_list_accept()).await?;
            match format {
                BodyFormat::Protobuf => {
                    let mut reader = ProtobufListReader::new(self.object_kind());
                    collect_body(response, &self.endpoint, deadline, &mut reader).await?;
                    Ok(reader.finish()?)
                }
                BodyFormat::Json => {
                    let mut body = Collected::whole(self.page_buffers.take());
                    collect_body(response, &self.endpoint, deadline, &mut body).await?;
                    self.decode_json_list(self.page_buffers.page(body.bytes))
                }
            }
        })
        .await
    }

    /// Sends the GET of a list page accepting `accept`: the response, its body unread, and the
    /// format it says it is in.
    async fn get_list(
        &self,
        query: &[(&str, &str)],
        accept: &str,
    ) -> Result<(http::Response<Body>, BodyFormat), SourceError> {
        let http_request = get_request(&self.endpoint, &self.path, query, accept)?;
        let headers_within = (LIST_HEADERS_TIMEOUT, &self.options.deadline);
        send(&self.client, &self.endpoint, http_request, headers_within).await
    }

    /// GETs one list page accepting `accept`, and reads its body, within the source's
    /// [`RequestDeadline`].
    async fn list_body(
        &self,
        query: &[(&str, &str)],
        accept: &str,
    ) -> Result<(PageBody, BodyFormat), SourceError> {
        let deadline = &self.options.deadline;
        within(deadline, &self.endpoint, async {
            let (response, format) = self.get_list(query, accept).await?;
            let mut body = Collected::whole(self.page_buffers.take());
            collect_body(response, &self.endpoint, deadline, &mut body).await?;
            Ok((self.page_buffers.page(body.bytes), format))
        })
        .await
    }

    /// Lists one page as a Table: a 406 is asked again plainly, a plain list is decoded as
    /// one, and either is remembered.
    async fn list_table(&self, query: &[(&str, &str)]) -> Result<ListPage, SourceError> {
        let body = match self.list_body(query, TABLE_MEDIA_TYPE).await {
            Err(SourceError::Status { status, .. }) if status.code == NOT_ACCEPTABLE => {
                self.refuse_tables("406 Not Acceptable");
                let (body, _) = self.list_body(query, self.plain_list_accept()).await?;
                let page = decode_list(&body, self.object_kind())?;
                release_if_last(body, &page);
                return Ok(page);
            }
            other => other?.0,
        };
        let known = self.table_state().columns.clone();
        let (page, columns) = decode_list_or_table(&body, &self.kind, known.as_ref())?;
        release_if_last(body, &page);
        match columns {
            Some(columns) => self.table_state().columns = Some(columns),
            None => self.refuse_tables("a plain list"),
        }
        Ok(page)
    }

    /// A source for Pods.
    pub fn pods(client: kube::Client, namespace: Option<String>) -> Self {
        let resource = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        KubeSource::new(client, &resource, namespace)
    }
}

/// Sends a request: a 2xx response, its body unread, and the format it says it is in; a
/// non-2xx answer becomes [`SourceError::Status`] (its body read under `deadline`), no response
/// headers within `headers_within` a [`SourceError::Transport`] (the connection is given up).
async fn send(
    client: &kube::Client,
    endpoint: &Endpoint,
    request: http::Request<Vec<u8>>,
    (headers_within, deadline): (Duration, &RequestDeadline),
) -> Result<(http::Response<Body>, BodyFormat), SourceError> {
    let response = tokio::time::timeout(headers_within, client.send(request.map(Body::from)))
        .await
        .map_err(|_| SourceError::Transport {
            endpoint: endpoint.clone(),
            reason: format!(
                "no response headers within {} s; giving up on the connection (half-open: a \
                 frozen NAT, load balancer or proxy?)",
                headers_within.as_secs()
            ),
        })?
        .map_err(|err| request_failed(endpoint, &err))?;
    let status = response.status();
    if status.is_success() {
        // The decompression layer removes the `Content-Encoding` it decodes: one left is an
        // encoding never asked for (a proxy's brotli, gzip despite --disable-compression).
        if let Some(encoding) = response
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .filter(|encoding| !encoding.as_bytes().eq_ignore_ascii_case(b"identity"))
        {
            let encoding = String::from_utf8_lossy(encoding.as_bytes()).into_owned();
            return Err(SourceError::Decode(DecodeError::Encoding(encoding)));
        }
        let format = BodyFormat::of(response.headers());
        return Ok((response, format));
    }
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut cut = Collected {
        bytes: Vec::new(),
        limit: Some(MAX_ERROR_BODY_BYTES),
    };
    let body = match collect_body(response, endpoint, deadline, &mut cut).await {
        Ok(()) => cut.bytes,
        Err(_) => Vec::new(),
    };
    let status = ApiStatus::from_body(&body).unwrap_or_else(|| ApiStatus {
        code: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        message: unread_body(&body),
        ..ApiStatus::default()
    });
    Err(SourceError::Status {
        status,
        retry_after,
    })
}

/// What an error answer that is no readable `Status` says: its first 200 bytes as text, or,
/// for protobuf (whose bytes mean nothing to a person), what it was.
fn unread_body(body: &[u8]) -> String {
    if body.starts_with(crate::wire::protobuf::MAGIC) {
        return if body.len() >= MAX_ERROR_BODY_BYTES {
            format!(
                "a protobuf Status over {} KiB (not read; the HTTP status says what happened)",
                MAX_ERROR_BODY_BYTES / 1024
            )
        } else {
            "a protobuf body that is not a readable Status".to_owned()
        };
    }
    crate::quote::escape_controls(String::from_utf8_lossy(&body[..body.len().min(200)]).trim())
        .into_owned()
}

/// GETs `path` (discovery documents) from `endpoint` within `deadline` and returns the body.
pub async fn fetch(
    client: &kube::Client,
    endpoint: &Endpoint,
    path: &str,
    deadline: &RequestDeadline,
) -> Result<Vec<u8>, SourceError> {
    let request =
        http::Request::get(path)
            .body(Vec::new())
            .map_err(|err| SourceError::Transport {
                endpoint: endpoint.clone(),
                reason: err.to_string(),
            })?;
    within(deadline, endpoint, async {
        let (response, _) =
            send(client, endpoint, request, (LIST_HEADERS_TIMEOUT, deadline)).await?;
        let mut body = Collected::whole(Vec::new());
        collect_body(response, endpoint, deadline, &mut body).await?;
        Ok(body.bytes)
    })
    .await
}

/// Runs `request` (headers and body) within `deadline`'s total, when it has one
/// ([`RequestDeadline::Total`]); a rate ([`RequestDeadline::MinRate`]) is kept by
/// [`collect_body`].
async fn within<T>(
    deadline: &RequestDeadline,
    endpoint: &Endpoint,
    request: impl Future<Output = Result<T, SourceError>>,
) -> Result<T, SourceError> {
    let Some(limit) = deadline.total() else {
        return request.await;
    };
    tokio::time::timeout(limit, request)
        .await
        .map_err(|_| SourceError::TooSlow {
            endpoint: endpoint.clone(),
            slowness: Slowness::PastTotal(limit),
        })?
}

/// A response body that delivers nothing for this long is on a dead connection (the server
/// writes a list as it encodes it); without this, the client's 300 s read timeout would leave
/// a relist, and so the cache, stuck for five minutes.
pub const BODY_SILENCE_TIMEOUT: Duration = LIST_HEADERS_TIMEOUT;

/// Reads a whole (non-watch) response body into `collected` (emptied: a list's page buffer, or a
/// new `Vec`), at most `limit` bytes when given (the rest is cut off); reserves room for the
/// length the response announces, up to [`MAX_RESERVED_BYTES`]; gives the connection up once it has delivered nothing for [`BODY_SILENCE_TIMEOUT`],
/// or (with [`RequestDeadline::MinRate`]) as soon as a window has brought too little. The
/// rate is the link's: bytes as received, before gzip inflates them (a gzipped trickle
/// inflating 200-fold is still a trickle), when the transport counted them.
async fn collect_body(
    response: http::Response<Body>,
    endpoint: &Endpoint,
    deadline: &RequestDeadline,
    collected: &mut impl BodySink,
) -> Result<(), SourceError> {
    let mut arrived = Arrived {
        wire: WireBytes::of(&response),
        counted: 0,
    };
    collected.expect(announced_length(&response));
    let mut body = response.into_body();
    let mut last_frame_at = tokio::time::Instant::now();
    let mut pace = deadline.pace(last_frame_at);
    loop {
        let now = tokio::time::Instant::now();
        let silent_at = last_frame_at + BODY_SILENCE_TIMEOUT;
        let mut wake_at = silent_at;
        if let Some(pace) = &mut pace {
            pace.received(arrived.since_last(0));
            pace.check(now).map_err(|slowness| SourceError::TooSlow {
                endpoint: endpoint.clone(),
                slowness,
            })?;
            wake_at = wake_at.min(pace.window_ends());
        }
        let frame = match tokio::time::timeout_at(wake_at, body.frame()).await {
            Ok(frame) => frame,
            // The window ended first: checked at the top of the loop.
            Err(_) if wake_at < silent_at => continue,
            Err(_) => return Err(silent_body(endpoint, collected.taken())),
        };
        last_frame_at = tokio::time::Instant::now();
        let Some(frame) = frame else {
            return Ok(());
        };
        let frame = frame.map_err(|err| body_failed(endpoint, &err))?;
        if let Ok(data) = frame.into_data() {
            if let Some(pace) = &mut pace {
                pace.received(arrived.since_last(data.len()));
            }
            if collected.take(&data)? {
                return Ok(());
            }
        }
    }
}

/// Where [`collect_body`] puts a body's bytes as they arrive.
trait BodySink {
    /// The body says it will be `announced` bytes long (at most [`MAX_RESERVED_BYTES`]).
    fn expect(&mut self, announced: usize);
    /// Takes the next piece: `Ok(true)` when no more is wanted.
    fn take(&mut self, piece: &[u8]) -> Result<bool, SourceError>;
    /// The bytes taken so far, for messages.
    fn taken(&self) -> usize;
}

/// A body read whole, or its first `limit` bytes.
struct Collected {
    bytes: Vec<u8>,
    limit: Option<usize>,
}

impl Collected {
    /// The whole body, read into `buffer`.
    fn whole(buffer: Vec<u8>) -> Self {
        Collected {
            bytes: buffer,
            limit: None,
        }
    }
}

impl BodySink for Collected {
    fn expect(&mut self, announced: usize) {
        self.bytes
            .reserve(announced.min(self.limit.unwrap_or(usize::MAX)));
    }

    fn take(&mut self, piece: &[u8]) -> Result<bool, SourceError> {
        self.bytes.extend_from_slice(piece);
        let Some(limit) = self.limit.filter(|&limit| self.bytes.len() >= limit) else {
            return Ok(false);
        };
        self.bytes.truncate(limit);
        Ok(true)
    }

    fn taken(&self) -> usize {
        self.bytes.len()
    }
}

/// A protobuf list decoded as it arrives.
impl BodySink for ProtobufListReader {
    fn expect(&mut self, _announced: usize) {}

    fn take(&mut self, piece: &[u8]) -> Result<bool, SourceError> {
        self.push(piece)?;
        Ok(false)
    }

    fn taken(&self) -> usize {
        self.received()
    }
}

/// The length `response`'s body will have as far as it says, at most [`MAX_RESERVED_BYTES`]:
/// its `Content-Length` (which the decompression layer removes when it inflates the body) or
/// its body's size hint, 0 when neither says.
fn announced_length(response: &http::Response<Body>) -> usize {
    let header = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let hint = hyper::body::Body::size_hint(response.body()).lower();
    usize::try_from(header.max(hint))
        .unwrap_or(usize::MAX)
        .min(MAX_RESERVED_BYTES)
}

/// Frees a page's buffer when `page` ends its list, rather than keep it for a next page.
fn release_if_last(body: PageBody, page: &ListPage) {
    if page.continue_token.is_none() {
        body.last_page();
    }
}

/// What a body brought for its pace: the wire bytes counted below the decompression layer, or
/// (when nothing counted them) the bytes read.
struct Arrived {
    wire: Option<WireBytes>,
    /// The wire count already passed on.
    counted: u64,
}

impl Arrived {
    /// The bytes that arrived since the last call, `read` being those just read above gzip.
    fn since_last(&mut self, read: usize) -> u64 {
        let Some(wire) = &self.wire else {
            return read as u64;
        };
        let total = wire.received();
        let new = total.saturating_sub(self.counted);
        self.counted = total;
        new
    }
}

/// A body that delivered nothing for [`BODY_SILENCE_TIMEOUT`] after `received` bytes.
fn silent_body(endpoint: &Endpoint, received: usize) -> SourceError {
    SourceError::Transport {
        endpoint: endpoint.clone(),
        reason: format!(
            "the response stopped for {} s after {received} bytes; giving up on the connection \
             (half-open: a frozen NAT, load balancer or proxy?)",
            BODY_SILENCE_TIMEOUT.as_secs(),
        ),
    }
}

impl ListWatch for KubeSource {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    fn table_columns(&self) -> Option<Arc<TableColumns>> {
        self.table_state().columns.clone()
    }

    async fn list(&self, request: ListRequest) -> Result<ListPage, SourceError> {
        let limit = request.limit.map(|limit| limit.to_string());
        let mut query = self.selector_pairs();
        query.extend(limit.as_deref().map(|limit| ("limit", limit)));
        query.extend(
            request
                .continue_token
                .as_deref()
                .map(|token| ("continue", token)),
        );
        match &request.from {
            ListFrom::Latest => {}
            ListFrom::Any => query.push(("resourceVersion", "0")),
            ListFrom::NotOlderThan(resource_version) => {
                query.push(("resourceVersion", resource_version));
                query.push(("resourceVersionMatch", "NotOlderThan"));
            }
        }
        if self.asks_for_tables() {
            return self.list_table(&query).await;
        }
        self.list_plain(&query).await
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream, SourceError> {
        let timeout = request.timeout_seconds.to_string();
        let mut query = vec![
            ("watch", "true"),
            ("resourceVersion", request.resource_version.as_str()),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout.as_str()),
        ];
        if request.send_initial_events {
            query.push(("sendInitialEvents", "true"));
            query.push(("resourceVersionMatch", "NotOlderThan"));
        }
        query.extend(self.selector_pairs());
        let query = query.as_slice();
        let open = |accept| async move {
            let http_request = get_request(&self.endpoint, &self.path, query, accept)?;
            let headers_within = (WATCH_HEADERS_TIMEOUT, &self.options.deadline);
            send(&self.client, &self.endpoint, http_request, headers_within).await
        };
        if self.asks_for_tables() {
            match open(TABLE_MEDIA_TYPE).await {
                Err(SourceError::Status { status, .. }) if status.code == NOT_ACCEPTABLE => {
                    self.refuse_tables("406 Not Acceptable");
                }
                other => {
                    let columns = self.table_state().columns.clone();
                    let table = TableDecoding {
                        shared: Arc::clone(&self.tables),
                        columns,
                    };
                    let (response, _) = other?;
                    let body = response.into_body();
                    return Ok(watch_events(body, self.kind.clone(), Framing::Table(table)));
                }
            }
        }
        let (response, format) = open(self.plain_watch_accept()).await?;
        let body = response.into_body();
        let framing = match format {
            BodyFormat::Json => Framing::Lines,
            BodyFormat::Protobuf => Framing::Protobuf,
        };
        Ok(watch_events(body, self.object_kind().to_owned(), framing))
    }
}

impl KubeSource {
    /// `labelSelector` and `fieldSelector`, when set.
    fn selector_pairs(&self) -> Vec<(&'static str, &str)> {
        let label = self
            .selectors
            .label
            .as_deref()
            .map(|s| ("labelSelector", s));
        let field = self
            .selectors
            .field
            .as_deref()
            .map(|s| ("fieldSelector", s));
        label.into_iter().chain(field).collect()
    }
}

/// `Accept` for ordinary lists and watches.
const JSON_MEDIA_TYPE: &str = "application/json";
/// Kubernetes protobuf (`;stream=watch` is added for watches).
const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// `Accept` for protobuf with JSON as the fallback, as client-go sends it (transcripts 19-21).
const PROTOBUF_OR_JSON_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf, application/json";
/// `Accept` for a server-side Table, exactly as `kubectl get` sends it: `meta.k8s.io/v1`, then
/// `v1beta1`, then the plain list or watch for a resource that has no Table (transcripts 15-18).
const TABLE_MEDIA_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,\
                                application/json;as=Table;v=v1beta1;g=meta.k8s.io,\
                                application/json";
/// The status of an answer in none of the media types asked for.
const NOT_ACCEPTABLE: u16 = 406;
/// `Accept` for a metadata-only list (transcript 07).
const METADATA_LIST_MEDIA_TYPE: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
/// `Accept` for a metadata-only watch (transcript 08).
const METADATA_MEDIA_TYPE: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/// A GET of `path?query` (percent-encoded, pairs in order) accepting `accept`.
fn get_request(
    endpoint: &Endpoint,
    path: &str,
    query: &[(&str, &str)],
    accept: &str,
) -> Result<http::Request<Vec<u8>>, SourceError> {
    http::Request::get(url_with_query(path, query))
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())
        .map_err(|err| SourceError::Transport {
            endpoint: endpoint.clone(),
            reason: err.to_string(),
        })
}

/// `path?k=v&k=v`, form-encoded as the API server expects; just `path` without pairs.
fn url_with_query(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut url = form_urlencoded::Serializer::for_suffix(format!("{path}?"), path.len() + 1);
    url.extend_pairs(query);
    url.finish()
}

#[cfg(test)]
mod tests;
