//! The list/watch seam: the [`ListWatch`] trait the reflector drives, and [`KubeSource`], its
//! implementation over `kube::Client` HTTP requests. The only module that talks to the server.
//! How long an answer with an end may take: [`RequestDeadline`] ([`deadline`]).

pub mod deadline;

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http_body_util::{BodyDataStream, BodyExt};
use kube::client::Body;
use kube::core::{ApiResource, DynamicObject, Resource};

use crate::client::{Connection, Identity};
use crate::decode::table::{decode_list_or_table, decode_table_watch_line};
use crate::decode::{
    ApiStatus, DecodeError, LineSplitter, LineTooLong, ListPage, WatchEvent, decode_list,
    decode_protobuf_event, decode_protobuf_list, decode_watch_line,
};
use crate::error_chain::{causes, flatten};
use crate::exec_credential::ExecError;
use crate::object::{ObjectKey, TableColumns};
use crate::protobuf::{FrameSplitter, FrameTooLong};
use crate::transport::inflation::Inflated;
pub use deadline::{LIST_MIN_BYTES_PER_SECOND, LIST_RATE_WINDOW, RequestDeadline, Slowness};

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

/// What is listed and watched, for requests and for messages: `pods at cluster scope`. It is
/// also what the answers must stay within ([`Scope::admits`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The resource's plural name, e.g. `pods`.
    pub plural: String,
    /// The namespace, or `None` for all namespaces / cluster-scoped resources.
    pub namespace: Option<String>,
    /// Whether the resource's objects live in namespaces (pods), or not (nodes).
    pub namespaced: bool,
}

impl Scope {
    /// Whether an object keyed `key` belongs to what was asked for: in the namespace asked for;
    /// across all namespaces of a namespaced resource, in some namespace; for a cluster-scoped
    /// resource, in none. The server only ever answers with such objects; one outside is from a
    /// broken or hostile server (or a proxy answering for another request).
    pub fn admits(&self, key: &ObjectKey) -> bool {
        match (&self.namespace, key.namespace()) {
            (Some(asked), found) => found == Some(asked.as_str()),
            (None, found) => found.is_some() == self.namespaced,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} in namespace {namespace}", self.plural),
            None => write!(f, "{} at cluster scope", self.plural),
        }
    }
}

/// The API server requests go to, for messages: `https://10.0.0.1:6443 (context prod)`, or
/// `the API server` when the caller did not say ([`Endpoint::default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// The server a connection points at: `(context prod)`, `(in-cluster)` or `(simulated
    /// cluster)` after its URL; nothing after it for a kubeconfig without a current context.
    /// Then `through proxy URL` (password redacted) when a proxy carries the requests.
    pub fn of(connection: &Connection) -> Endpoint {
        let origin = match &connection.identity {
            Identity::Kubeconfig { context, .. } => {
                context.as_ref().map(|context| format!("context {context}"))
            }
            Identity::InCluster => Some("in-cluster".to_owned()),
            Identity::Anonymous => Some("simulated cluster".to_owned()),
        };
        let endpoint = Endpoint::new(&connection.server, origin.as_deref());
        match &connection.proxy {
            Some(proxy) => Endpoint(format!("{endpoint} through proxy {proxy}")),
            None => endpoint,
        }
    }

    /// The server at `url`, reached through `origin` (`context prod`, `in-cluster`), if any.
    pub fn new(url: &str, origin: Option<&str>) -> Endpoint {
        // `https://host:6443/` as `Uri` prints it, without the bare root path.
        let url = url.strip_suffix('/').unwrap_or(url);
        Endpoint(match origin {
            Some(origin) => format!("{url} ({origin})"),
            None => url.to_owned(),
        })
    }
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint("the API server".to_owned())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One list request: a page of at most `limit` objects, continuing from `continue_token`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Page size; `None` asks for everything in one response.
    pub limit: Option<u32>,
    /// The previous page's `continue` token.
    pub continue_token: Option<String>,
}

/// One watch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchRequest {
    /// Watch changes after this resourceVersion.
    pub resource_version: String,
    /// Asks the server to end the watch after this many seconds.
    pub timeout_seconds: u32,
    /// A streaming list (`sendInitialEvents=true&resourceVersionMatch=NotOlderThan`): the
    /// server first sends the current state as ADDED events, then a BOOKMARK annotated
    /// `k8s.io/initial-events-end`.
    pub send_initial_events: bool,
}

/// A failed list or watch request.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server answered with an error status.
    #[error("the server answered {}: {}", status_line(.status), .status.message)]
    Status {
        /// The `Status` the server sent (or one made up from the HTTP status).
        status: ApiStatus,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The request did not get an answer: connection refused, reset, timed out.
    #[error("cannot reach {endpoint}: {reason}")]
    Transport {
        /// The server asked.
        endpoint: Endpoint,
        /// Why there was no answer, e.g. `connection refused`.
        reason: String,
    },
    /// The server's TLS certificate is not trusted: retrying cannot help.
    #[error(
        "the TLS certificate of {endpoint} is not trusted ({reason}); check \
         certificate-authority or certificate-authority-data for this cluster in the kubeconfig"
    )]
    Untrusted {
        /// The server whose certificate it is.
        endpoint: Endpoint,
        /// What is wrong with the certificate.
        reason: String,
    },
    /// The answer came too slowly for the request's [`RequestDeadline`] (a list page or a
    /// discovery document trickling in): given up, as a failure to answer.
    #[error(
        "{endpoint} sent its answer too slowly: {slowness}; check the network to the server \
         (a slow VPN, proxy or link?)"
    )]
    TooSlow {
        /// The server asked.
        endpoint: Endpoint,
        /// How slow.
        slowness: Slowness,
    },
    /// The answer was not what the API promises.
    #[error("cannot decode the server's answer: {0}")]
    Decode(DecodeError),
    /// The exec credential plugin gave no token for the request, which was not sent.
    #[error("{0}")]
    Credential(String),
}

impl From<DecodeError> for SourceError {
    fn from(err: DecodeError) -> Self {
        SourceError::Decode(err)
    }
}

fn status_line(status: &ApiStatus) -> String {
    if status.reason.is_empty() {
        status.code.to_string()
    } else {
        format!("{} {}", status.code, status.reason)
    }
}

/// Why an open watch stream ended abnormally or delivered a line that is not an event.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading the stream failed (connection reset, cut mid-line).
    #[error("watch stream broken: {0}")]
    Transport(String),
    /// A line that is not a watch event the reflector can apply.
    #[error("bad watch line at byte offset {offset}: {error}")]
    BadLine {
        /// Stream offset of the line.
        offset: u64,
        /// What is wrong with it.
        error: DecodeError,
    },
    /// A line too long to be an object.
    #[error(transparent)]
    LineTooLong(#[from] LineTooLong),
    /// A protobuf frame too long to be an object.
    #[error(transparent)]
    FrameTooLong(#[from] FrameTooLong),
}

/// A stream of decoded watch events; it ends when the server ends the watch.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StreamError>>;

/// The list/watch seam the reflector drives (client-go's `ListerWatcher`).
pub trait ListWatch: Send + Sync + 'static {
    /// What this source lists and watches.
    fn scope(&self) -> &Scope;

    /// Lists one page.
    fn list(
        &self,
        request: ListRequest,
    ) -> impl Future<Output = Result<ListPage, SourceError>> + Send;

    /// Opens a watch.
    fn watch(
        &self,
        request: WatchRequest,
    ) -> impl Future<Output = Result<WatchStream, SourceError>> + Send;
}

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

/// What a source asking for Tables has learnt: whether the server makes them for this
/// resource, and the columns it sent last (a watch's later events carry none).
#[derive(Debug, Default)]
struct TableState {
    /// The server answered a Table request with a 406 or a plain list.
    refused: bool,
    /// The columns of the last Table received.
    columns: Option<Arc<TableColumns>>,
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
    fn decode_plain_list(
        &self,
        (body, format): (Bytes, BodyFormat),
    ) -> Result<ListPage, SourceError> {
        Ok(match format {
            BodyFormat::Json => decode_list(&body, self.object_kind())?,
            BodyFormat::Protobuf => decode_protobuf_list(&body, self.object_kind())?,
        })
    }

    /// GETs one list page accepting `accept`, and reads its body, within the source's
    /// [`RequestDeadline`].
    async fn list_body(
        &self,
        query: &[(&str, &str)],
        accept: &str,
    ) -> Result<(Bytes, BodyFormat), SourceError> {
        let http_request = get_request(&self.endpoint, &self.path, query, accept)?;
        let deadline = &self.options.deadline;
        within(deadline, &self.endpoint, async {
            let (body, format) = send(
                &self.client,
                &self.endpoint,
                http_request,
                (LIST_HEADERS_TIMEOUT, deadline),
            )
            .await?;
            let body = collect_body(body, &self.endpoint, None, deadline).await?;
            Ok((body, format))
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
                return Ok(decode_list(&body, self.object_kind())?);
            }
            other => other?.0,
        };
        let known = self.table_state().columns.clone();
        let (page, columns) = decode_list_or_table(&body, &self.kind, known.as_ref())?;
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

/// Sends a request; a non-2xx answer becomes [`SourceError::Status`] (its body read under
/// `deadline`), no response headers within `headers_within` a [`SourceError::Transport`] (the
/// connection is given up).
async fn send(
    client: &kube::Client,
    endpoint: &Endpoint,
    request: http::Request<Vec<u8>>,
    (headers_within, deadline): (Duration, &RequestDeadline),
) -> Result<(Body, BodyFormat), SourceError> {
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
        return Ok((response.into_body(), format));
    }
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = collect_body(
        response.into_body(),
        endpoint,
        Some(MAX_ERROR_BODY_BYTES),
        deadline,
    )
    .await
    .unwrap_or_default();
    let status = ApiStatus::from_body(&body).unwrap_or_else(|| ApiStatus {
        code: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        message: unread_body(&body),
    });
    Err(SourceError::Status {
        status,
        retry_after,
    })
}

/// What an error answer that is no readable `Status` says: its first 200 bytes as text, or,
/// for protobuf (whose bytes mean nothing to a person), what it was.
fn unread_body(body: &[u8]) -> String {
    if body.starts_with(crate::protobuf::MAGIC) {
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
        let (body, _) = send(client, endpoint, request, (LIST_HEADERS_TIMEOUT, deadline)).await?;
        let body = collect_body(body, endpoint, None, deadline).await?;
        Ok(body.to_vec())
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

/// Reads a whole (non-watch) response body, at most `limit` bytes when given (the rest is cut
/// off); gives the connection up once it has delivered nothing for [`BODY_SILENCE_TIMEOUT`],
/// or (with [`RequestDeadline::MinRate`]) as soon as a window has brought too little.
async fn collect_body(
    mut body: Body,
    endpoint: &Endpoint,
    limit: Option<usize>,
    deadline: &RequestDeadline,
) -> Result<Bytes, SourceError> {
    let mut last_frame_at = tokio::time::Instant::now();
    let mut pace = deadline.pace(last_frame_at);
    let mut collected = Vec::new();
    loop {
        let now = tokio::time::Instant::now();
        let silent_at = last_frame_at + BODY_SILENCE_TIMEOUT;
        let mut wake_at = silent_at;
        if let Some(pace) = &mut pace {
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
            Err(_) => return Err(silent_body(endpoint, collected.len())),
        };
        last_frame_at = tokio::time::Instant::now();
        let Some(frame) = frame else {
            return Ok(collected.into());
        };
        let frame = frame.map_err(|err| body_failed(endpoint, &err))?;
        if let Ok(data) = frame.into_data() {
            if let Some(pace) = &mut pace {
                pace.received(data.len());
            }
            collected.extend_from_slice(&data);
        }
        if let Some(limit) = limit
            && collected.len() >= limit
        {
            collected.truncate(limit);
            return Ok(collected.into());
        }
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
        if self.asks_for_tables() {
            return self.list_table(&query).await;
        }
        let answer = self.list_body(&query, self.plain_list_accept()).await?;
        self.decode_plain_list(answer)
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
                    let (body, _) = other?;
                    return Ok(watch_events(body, self.kind.clone(), Framing::Table(table)));
                }
            }
        }
        let (body, format) = open(self.plain_watch_accept()).await?;
        let framing = match format {
            BodyFormat::Json => Framing::Lines,
            BodyFormat::Protobuf => Framing::Protobuf(FrameSplitter::default()),
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

/// State of one watch stream being split into events and decoded.
struct EventReader {
    chunks: BodyDataStream<Body>,
    /// JSON lines are split here; protobuf frames by their [`Framing`].
    splitter: LineSplitter,
    object_kind: String,
    framing: Framing,
    finished: bool,
}

/// How a watch stream's events are framed and decoded.
enum Framing {
    /// Newline-delimited JSON `WatchEvent`s.
    Lines,
    /// Newline-delimited JSON `WatchEvent`s whose objects are one-row Tables: the columns its
    /// rows belong to.
    Table(TableDecoding),
    /// Length-prefixed protobuf `WatchEvent`s.
    Protobuf(FrameSplitter),
}

/// The columns of a Table watch: those seen last, starting from the source's, and the
/// source's state to tell of new ones.
struct TableDecoding {
    shared: Arc<Mutex<TableState>>,
    columns: Option<Arc<TableColumns>>,
}

/// Turns a watch response body into decoded events: one per non-empty line (each object a
/// one-row Table with [`Framing::Table`]), or one per protobuf frame.
fn watch_events(body: Body, object_kind: String, framing: Framing) -> WatchStream {
    let reader = EventReader {
        chunks: BodyDataStream::new(body),
        splitter: LineSplitter::default(),
        object_kind,
        framing,
        finished: false,
    };
    stream::unfold(reader, |mut reader| async move {
        let item = reader.next_event().await?;
        Some((item, reader))
    })
    .boxed()
}

impl EventReader {
    async fn next_event(&mut self) -> Option<Result<WatchEvent, StreamError>> {
        loop {
            if self.finished {
                return None;
            }
            if let Framing::Protobuf(frames) = &mut self.framing {
                match frames.next_frame() {
                    Ok(Some((offset, frame))) => {
                        return Some(
                            decode_protobuf_event(&frame, &self.object_kind)
                                .map_err(|error| StreamError::BadLine { offset, error }),
                        );
                    }
                    Ok(None) => {}
                    Err(too_long) => {
                        self.finished = true;
                        return Some(Err(too_long.into()));
                    }
                }
            } else {
                match self.splitter.next_line() {
                    Ok(Some((_, line))) if line.iter().all(u8::is_ascii_whitespace) => continue,
                    Ok(Some((offset, line))) => return Some(self.decode(offset, &line)),
                    Ok(None) => {}
                    Err(too_long) => {
                        self.finished = true;
                        return Some(Err(too_long.into()));
                    }
                }
            }
            match self.chunks.next().await {
                Some(Ok(chunk)) => match &mut self.framing {
                    Framing::Protobuf(frames) => frames.push(&chunk),
                    Framing::Lines | Framing::Table(_) => self.splitter.push(&chunk),
                },
                Some(Err(err)) => {
                    self.finished = true;
                    return Some(Err(StreamError::Transport(transport_error(&err))));
                }
                None => {
                    self.finished = true;
                    let (cut, what) = match &self.framing {
                        Framing::Protobuf(frames) => (frames.remainder(), "frame"),
                        Framing::Lines | Framing::Table(_) => (self.splitter.remainder(), "line"),
                    };
                    return (cut > 0).then(|| {
                        Err(StreamError::Transport(format!(
                            "stream ended in the middle of a {what} ({cut} bytes)"
                        )))
                    });
                }
            }
        }
    }

    fn decode(&mut self, offset: u64, line: &Bytes) -> Result<WatchEvent, StreamError> {
        let decoded = match &mut self.framing {
            Framing::Lines | Framing::Protobuf(_) => decode_watch_line(line, &self.object_kind),
            Framing::Table(table) => {
                let before = table.columns.clone();
                let decoded = decode_table_watch_line(line, &self.object_kind, &mut table.columns);
                if let Some(columns) = &table.columns
                    && !before.is_some_and(|before| Arc::ptr_eq(&before, columns))
                {
                    let mut shared = table.shared.lock().unwrap_or_else(PoisonError::into_inner);
                    shared.columns = Some(Arc::clone(columns));
                }
                decoded
            }
        };
        decoded.map_err(|error| StreamError::BadLine { offset, error })
    }
}

/// Why a request to `endpoint` got no answer: the exec credential plugin gave no token (the
/// request was never sent), an untrusted certificate (rustls's `InvalidCertificate`, found by
/// type along the chain), or a transport failure.
fn request_failed(endpoint: &Endpoint, err: &kube::Error) -> SourceError {
    use tokio_rustls::rustls::Error as TlsError;
    if let Some(plugin_failed) = causes(err).find_map(|err| err.downcast_ref::<ExecError>()) {
        return SourceError::Credential(plugin_failed.to_string());
    }
    let untrusted = causes(err).find(|cause| {
        matches!(
            cause.downcast_ref::<TlsError>(),
            Some(TlsError::InvalidCertificate(_))
        )
    });
    let endpoint = endpoint.clone();
    match untrusted {
        Some(certificate) => SourceError::Untrusted {
            endpoint,
            reason: flatten(certificate),
        },
        None => SourceError::Transport {
            endpoint,
            reason: unanswered(err),
        },
    }
}

/// Why reading a response body failed. The connection's own failures are `hyper::Error`s;
/// an [`Inflated`] body is a gzip bomb; any other error comes from the decompression layer
/// (tower-http reports its decoder's `io::Error`, or a message for bytes after the gzip stream):
/// the server answered, but its gzip body does not decompress.
fn body_failed(endpoint: &Endpoint, err: &kube::Error) -> SourceError {
    match err {
        kube::Error::Service(inner) if inner.is::<Inflated>() => {
            SourceError::Decode(DecodeError::Inflated(inner.to_string()))
        }
        kube::Error::Service(inner) if !inner.is::<hyper::Error>() => {
            SourceError::Decode(DecodeError::Gzip(inner.to_string()))
        }
        _ => SourceError::Transport {
            endpoint: endpoint.clone(),
            reason: unanswered(err),
        },
    }
}

/// Why there was no answer, for people: the socket error's kind when the chain holds one that
/// says it all (`connection refused`), else the whole chain.
fn unanswered(err: &(dyn std::error::Error + 'static)) -> String {
    let kind = std::iter::successors(Some(err), |err| err.source())
        .find_map(|err| err.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    let reason = match kind {
        Some(io::ErrorKind::ConnectionRefused) => "connection refused",
        Some(io::ErrorKind::ConnectionReset) => "connection reset",
        Some(io::ErrorKind::ConnectionAborted) => "connection aborted",
        Some(io::ErrorKind::TimedOut) => "connection timed out",
        Some(io::ErrorKind::HostUnreachable) => "host unreachable",
        Some(io::ErrorKind::NetworkUnreachable) => "network unreachable",
        _ => return transport_error(err),
    };
    reason.to_owned()
}

/// An error chain without kube's `ServiceError:` wrapper (a [`kube::Error::Service`] is told
/// by its inner error).
fn transport_error(err: &(dyn std::error::Error + 'static)) -> String {
    match err.downcast_ref::<kube::Error>() {
        Some(kube::Error::Service(inner)) => flatten(inner.as_ref()),
        _ => flatten(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_names_the_url_and_where_it_came_from() {
        let endpoint = Endpoint::new("https://10.0.0.1:6443/", Some("context prod"));
        assert_eq!(endpoint.to_string(), "https://10.0.0.1:6443 (context prod)");
        let endpoint = Endpoint::new("https://rancher.example/k8s/clusters/c-1", None);
        assert_eq!(
            endpoint.to_string(),
            "https://rancher.example/k8s/clusters/c-1"
        );
        assert_eq!(Endpoint::default().to_string(), "the API server");
    }

    #[tokio::test]
    async fn a_connection_without_a_kubeconfig_context_names_no_empty_origin() {
        let url = "https://10.96.0.1:443/";
        let client =
            crate::client::connect_insecure_local(url, &crate::client::ClientOptions::default())
                .expect("client");
        let named = |identity: Identity| {
            Endpoint::of(&Connection {
                client: client.clone(),
                identity,
                server: url.to_owned(),
                context_namespace: None,
                proxy: None,
            })
            .to_string()
        };
        assert_eq!(
            named(Identity::InCluster),
            "https://10.96.0.1:443 (in-cluster)"
        );
        assert_eq!(
            named(Identity::Anonymous),
            "https://10.96.0.1:443 (simulated cluster)"
        );
        let context = |context: Option<&str>| Identity::Kubeconfig {
            user: None,
            context: context.map(str::to_owned),
        };
        assert_eq!(
            named(context(Some("prod"))),
            "https://10.96.0.1:443 (context prod)"
        );
        assert_eq!(named(context(None)), "https://10.96.0.1:443");
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_server_and_says_so_in_two_words() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        drop(listener);
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let endpoint = Endpoint::new(&url, Some("context prod"));
        let err = fetch(&client, &endpoint, "/api/v1", &RequestDeadline::default())
            .await
            .expect_err("nothing listens");
        assert_eq!(
            err.to_string(),
            format!("cannot reach {url} (context prod): connection refused")
        );
    }

    #[test]
    fn scope_names_namespace_or_cluster_scope() {
        let cluster = Scope {
            plural: "pods".into(),
            namespace: None,
            namespaced: true,
        };
        assert_eq!(cluster.to_string(), "pods at cluster scope");
        let namespaced = Scope {
            plural: "pods".into(),
            namespace: Some("shop".into()),
            namespaced: true,
        };
        assert_eq!(namespaced.to_string(), "pods in namespace shop");
    }

    #[test]
    fn a_scope_admits_only_the_objects_its_request_can_answer_with() {
        let scope = |namespace: Option<&str>, namespaced| Scope {
            plural: "things".into(),
            namespace: namespace.map(Into::into),
            namespaced,
        };
        let key = |namespace: Option<&str>| ObjectKey::new(namespace, "x");
        let shop = scope(Some("shop"), true);
        assert!(shop.admits(&key(Some("shop"))));
        assert!(!shop.admits(&key(Some("shop2"))));
        assert!(!shop.admits(&key(None)), "no namespace is not shop");
        let all = scope(None, true);
        assert!(all.admits(&key(Some("a"))) && all.admits(&key(Some("b"))));
        assert!(!all.admits(&key(None)), "a namespaced object without one");
        let cluster = scope(None, false);
        assert!(cluster.admits(&key(None)));
        assert!(
            !cluster.admits(&key(Some("a"))),
            "a cluster-scoped object with one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_without_response_headers_gives_up_its_connection_after_20_s() {
        let (url, server) = stalling_server("").await;
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let source = KubeSource::pods(client, None);
        let started = tokio::time::Instant::now();
        let request = WatchRequest {
            resource_version: "1".into(),
            timeout_seconds: 45,
            send_initial_events: false,
        };
        match source.watch(request).await {
            Err(SourceError::Transport { reason, .. }) => {
                assert!(
                    reason.contains("no response headers within 20 s"),
                    "{reason}"
                );
            }
            Err(other) => panic!("expected a transport error, got {other}"),
            Ok(_) => panic!("expected a transport error, got a stream"),
        }
        assert_eq!(started.elapsed(), WATCH_HEADERS_TIMEOUT);
        server.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_list_without_response_headers_gives_up_at_the_servers_own_request_timeout() {
        let (url, server) = stalling_server("").await;
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let source = KubeSource::pods(client, None);
        let started = tokio::time::Instant::now();
        let err = source
            .list(ListRequest::default())
            .await
            .expect_err("no answer");
        assert!(
            matches!(&err, SourceError::Transport { reason, .. } if reason.contains("within 60 s")),
            "{err}"
        );
        assert_eq!(started.elapsed(), LIST_HEADERS_TIMEOUT);
        server.abort();
    }

    /// A server that answers each request with `head` (status line, headers and the start of a
    /// body; nothing at all when empty), then sends nothing more: a connection frozen before or
    /// in the middle of a response.
    async fn stalling_server(head: &'static str) -> (String, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(head.as_bytes()).await;
                held.push(socket);
            }
        });
        (url, task)
    }

    #[tokio::test(start_paused = true)]
    async fn a_list_whose_body_stops_gives_up_its_connection_after_60_s_of_silence() {
        let (url, server) = stalling_server(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"kind\":\"PodList\",",
        )
        .await;
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let source = KubeSource::pods(client, None);
        let started = tokio::time::Instant::now();
        let err = source
            .list(ListRequest::default())
            .await
            .expect_err("no answer");
        assert!(
            matches!(&err, SourceError::Transport { reason, .. } if reason.contains("60 s")),
            "{err}"
        );
        assert_eq!(started.elapsed(), LIST_HEADERS_TIMEOUT);
        server.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_answer_whose_body_stops_gives_up_after_60_s_of_silence() {
        let (url, server) = stalling_server(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"kind\":",
        )
        .await;
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let started = tokio::time::Instant::now();
        let err = fetch(
            &client,
            &Endpoint::default(),
            "/apis",
            &RequestDeadline::default(),
        )
        .await
        .expect_err("no answer");
        assert!(
            matches!(&err, SourceError::Status { status, .. } if status.code == 503),
            "{err}"
        );
        assert_eq!(started.elapsed(), LIST_HEADERS_TIMEOUT);
        server.abort();
    }

    /// A server that answers each request with a 200 JSON response of `body`, its headers at
    /// once, then its body `piece` bytes at a time, one piece every `every`: a link, proxy or
    /// server that trickles.
    async fn trickling_server(
        body: Vec<u8>,
        piece: usize,
        every: Duration,
    ) -> (String, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let body = Arc::new(body);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = Arc::clone(&body);
                tokio::spawn(async move {
                    let mut request = [0; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    for chunk in body.chunks(piece) {
                        if socket.write_all(chunk).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(every).await;
                    }
                });
            }
        });
        (url, task)
    }

    /// A pod list of `pods` pods of about `each` bytes.
    fn big_pod_list(pods: usize, each: usize) -> Vec<u8> {
        let items: Vec<String> = (0..pods)
            .map(|i| {
                format!(
                    r#"{{"metadata":{{"name":"p-{i}","namespace":"n","resourceVersion":"1","annotations":{{"a":"{}"}}}}}}"#,
                    "x".repeat(each)
                )
            })
            .collect();
        format!(
            r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"1"}},"items":[{}]}}"#,
            items.join(",")
        )
        .into_bytes()
    }

    #[tokio::test(start_paused = true)]
    async fn a_list_trickling_a_byte_a_second_gives_up_after_a_minute_naming_the_server() {
        let (url, server) =
            trickling_server(big_pod_list(500, 5000), 1, Duration::from_secs(1)).await;
        let endpoint = Endpoint::new(&url, Some("context slow"));
        let source = KubeSource::pods(local_client(&url), None).with_endpoint(endpoint.clone());
        let started = tokio::time::Instant::now();
        let listed = tokio::time::timeout(
            Duration::from_secs(180),
            source.list(ListRequest::default()),
        )
        .await;
        let Ok(answer) = listed else {
            panic!("still reading a 1 byte/s list after 180 s");
        };
        let err = answer.expect_err("too slow");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{endpoint} sent its answer too slowly: ")),
            "{message}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        server.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_2_5_mb_page_over_a_256_kbit_s_link_is_read_whole() {
        // 500 pods of 5 KB: 2.5 MB, 32 KB/s in pieces of 3.2 KB every 100 ms: 78 s.
        let body = big_pod_list(500, 5000);
        assert!(body.len() > 2_500_000, "{} bytes", body.len());
        let (url, server) = trickling_server(body, 3200, Duration::from_millis(100)).await;
        let started = tokio::time::Instant::now();
        let page = KubeSource::pods(local_client(&url), None)
            .list(ListRequest::default())
            .await
            .expect("a slow link is no failure");
        assert_eq!(page.items.len(), 500);
        assert!(
            started.elapsed() > Duration::from_secs(75),
            "{:?}",
            started.elapsed()
        );
        server.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_discovery_document_trickling_a_byte_a_second_gives_up_after_a_minute() {
        let (url, server) = trickling_server(vec![b' '; 100_000], 1, Duration::from_secs(1)).await;
        let endpoint = Endpoint::new(&url, None);
        let started = tokio::time::Instant::now();
        let fetched = tokio::time::timeout(
            Duration::from_secs(180),
            fetch(
                &local_client(&url),
                &endpoint,
                "/apis",
                &RequestDeadline::default(),
            ),
        )
        .await;
        let Ok(answer) = fetched else {
            panic!("still reading a 1 byte/s discovery document after 180 s");
        };
        let err = answer.expect_err("too slow");
        assert!(
            err.to_string().contains("sent its answer too slowly"),
            "{err}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        server.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_after_a_fast_first_window_is_given_up_at_60_s_of_silence() {
        // 300 KiB at once, more than a window asks, then nothing: the window's check at 60 s
        // passes and must not restart the silence, which began when the last byte came.
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{}",
            " ".repeat(300 * 1024)
        );
        let (url, server) = stalling_server(Box::leak(head.into_boxed_str())).await;
        let started = tokio::time::Instant::now();
        let err = KubeSource::pods(local_client(&url), None)
            .list(ListRequest::default())
            .await
            .expect_err("no answer");
        assert!(
            matches!(&err, SourceError::Transport { reason, .. }
                if reason.starts_with("the response stopped for 60 s after 307200 bytes")),
            "{err}"
        );
        assert_eq!(started.elapsed(), BODY_SILENCE_TIMEOUT);
        server.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_total_deadline_like_kubectls_request_timeout_gives_up_a_slow_page_at_it() {
        let (url, server) =
            trickling_server(big_pod_list(500, 5000), 3200, Duration::from_millis(100)).await;
        let options = SourceOptions {
            deadline: RequestDeadline::Total(Duration::from_secs(30)),
            ..SourceOptions::default()
        };
        let endpoint = Endpoint::new(&url, None);
        let started = tokio::time::Instant::now();
        let err = KubeSource::pods(local_client(&url), None)
            .with_endpoint(endpoint.clone())
            .with_options(options)
            .list(ListRequest::default())
            .await
            .expect_err("78 s of body against a 30 s deadline");
        assert_eq!(
            err.to_string(),
            format!(
                "{endpoint} sent its answer too slowly: not complete within the request timeout \
                 of 30s; check the network to the server (a slow VPN, proxy or link?)"
            )
        );
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        server.abort();
    }

    /// A gzip member whose content is `prefix`, then `run` bytes `A`, then `suffix`, built by
    /// hand as one fixed-Huffman deflate block: the run is a literal `A` then matches of 258
    /// bytes at distance 1, 13 bits each (a ratio of about 160,000 to 1 for the run).
    fn gzip_bomb(prefix: &[u8], run: usize, suffix: &[u8]) -> Vec<u8> {
        struct Bits {
            out: Vec<u8>,
            bit: u32,
        }
        impl Bits {
            fn push(&mut self, value: u32, len: u32, msb_first: bool) {
                for i in 0..len {
                    let shift = if msb_first { len - 1 - i } else { i };
                    if self.bit == 0 {
                        self.out.push(0);
                    }
                    if let Some(last) = self.out.last_mut() {
                        *last |= (((value >> shift) & 1) as u8) << self.bit;
                    }
                    self.bit = (self.bit + 1) % 8;
                }
            }
            fn literal(&mut self, byte: u8) {
                assert!(byte < 144, "8-bit fixed codes only");
                self.push(0x30 + u32::from(byte), 8, true);
            }
        }
        assert_eq!((run - 1) % 258, 0, "a literal then whole matches");
        let mut bits = Bits {
            out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
            bit: 0,
        };
        bits.push(1, 1, false); // BFINAL
        bits.push(1, 2, false); // BTYPE 01: fixed Huffman codes
        let mut crc = flate2::Crc::new();
        for &byte in prefix {
            bits.literal(byte);
        }
        crc.update(prefix);
        bits.literal(b'A');
        for _ in 0..(run - 1) / 258 {
            bits.push(0xc5, 8, true); // length 258 (code 285)
            bits.push(0, 5, true); // distance 1 (code 0)
        }
        let chunk = vec![b'A'; 1 << 20];
        for start in (0..run).step_by(chunk.len()) {
            crc.update(&chunk[..chunk.len().min(run - start)]);
        }
        for &byte in suffix {
            bits.literal(byte);
        }
        crc.update(suffix);
        bits.push(0, 7, true); // end of block (code 256)
        let mut gzip = bits.out;
        gzip.extend_from_slice(&crc.sum().to_le_bytes());
        gzip.extend_from_slice(&(crc.amount()).to_le_bytes());
        gzip
    }

    #[test]
    fn the_hand_made_gzip_bomb_is_valid_gzip() {
        use std::io::Read as _;
        let bomb = gzip_bomb(b"{\"x\":\"", 1 + 258 * 4, b"\"}");
        let mut inflated = String::new();
        flate2::read::GzDecoder::new(&bomb[..])
            .read_to_string(&mut inflated)
            .expect("valid gzip");
        assert_eq!(
            inflated,
            format!("{{\"x\":\"{}\"}}", "A".repeat(1 + 258 * 4))
        );
    }

    /// A server that answers every request with `response`, then closes the connection.
    async fn answering_server(response: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(&response).await;
            }
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_gzip_bomb_list_is_refused_before_it_inflates_in_memory() {
        // 200 MiB of JSON in a little over 1 MB.
        let run = 1 + 258 * (200 * 1024 * 1024 / 258);
        let bomb = gzip_bomb(
            br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[],"x":""#,
            run,
            br#""}"#,
        );
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            bomb.len()
        )
        .into_bytes();
        response.extend_from_slice(&bomb);
        let (url, server) = answering_server(response).await;
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let source = KubeSource::pods(client, None);
        let err = source
            .list(ListRequest::default())
            .await
            .expect_err("a 200 MiB body from 1 MB is refused");
        let message = err.to_string();
        assert!(
            message
                .starts_with("cannot decode the server's answer: the gzip body inflated to over ")
                && message.ends_with(" KiB sent, more than 128 times; refused as a gzip bomb"),
            "{message}"
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_body_in_an_encoding_not_asked_for_is_named_not_called_malformed_json() {
        let body = b"\x1b\x0b\x00\xf8\x25\x14\x82\x03";
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: br\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        let (url, server) = answering_server(response).await;
        let client =
            crate::client::connect_insecure_local(&url, &crate::client::ClientOptions::default())
                .expect("client");
        let err = KubeSource::pods(client, None)
            .list(ListRequest::default())
            .await
            .expect_err("not JSON");
        assert_eq!(
            err.to_string(),
            "cannot decode the server's answer: it is encoded as \"br\", which kreflect did not \
             ask for (it asks for gzip, or nothing with --disable-compression)"
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_protobuf_status_cut_at_the_error_body_cap_is_not_shown_as_its_bytes() {
        use k8s_pb::apimachinery::pkg::apis::meta::v1::Status;
        use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
        use prost::Message;
        let status = Status {
            status: Some("Failure".into()),
            message: Some("denied: ".to_owned() + &"x".repeat(100 * 1024)),
            reason: Some("Forbidden".into()),
            code: Some(403),
            ..Status::default()
        };
        let envelope = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some("v1".into()),
                kind: Some("Status".into()),
            }),
            raw: Some(status.encode_to_vec()),
            ..Unknown::default()
        };
        let mut body = crate::protobuf::MAGIC.to_vec();
        body.extend(envelope.encode_to_vec());
        let mut response = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/vnd.kubernetes.protobuf\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        let (url, server) = answering_server(response).await;
        let err = KubeSource::pods(local_client(&url), None)
            .list(ListRequest::default())
            .await
            .expect_err("403");
        let SourceError::Status { status, .. } = err else {
            panic!("not a Status error: {err}");
        };
        assert_eq!(status.code, 403);
        assert_eq!(
            status.message,
            "a protobuf Status over 64 KiB (not read; the HTTP status says what happened)"
        );
        server.abort();
    }

    /// A server that answers every request with `response` and records each request's
    /// `Accept` header.
    async fn recording_server(
        response: Vec<u8>,
    ) -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let accepts = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&accepts);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = vec![0; 8192];
                let read = socket.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..read]).to_lowercase();
                let accept = head
                    .lines()
                    .find_map(|line| line.strip_prefix("accept: "))
                    .unwrap_or("")
                    .to_owned();
                recorded.lock().expect("accepts").push(accept);
                let _ = socket.write_all(&response).await;
            }
        });
        (url, accepts, task)
    }

    /// An HTTP/1.1 200 response with this content type and body, closing the connection.
    fn ok_response(content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        response
    }

    const PROTOBUF_LIST: &[u8] = include_bytes!("../tests/fixtures/19-list-protobuf.bin");
    const PROTOBUF_WATCH: &[u8] = include_bytes!("../tests/fixtures/20-watch-protobuf.bin");

    fn watch_from(resource_version: &str) -> WatchRequest {
        WatchRequest {
            resource_version: resource_version.to_owned(),
            timeout_seconds: 5,
            send_initial_events: false,
        }
    }

    fn local_client(url: &str) -> kube::Client {
        crate::client::connect_insecure_local(url, &crate::client::ClientOptions::default())
            .expect("client")
    }

    #[tokio::test]
    async fn pods_are_asked_for_as_protobuf_and_a_protobuf_list_is_decoded() {
        let response = ok_response("application/vnd.kubernetes.protobuf", PROTOBUF_LIST);
        let (url, accepts, server) = recording_server(response).await;
        let page = KubeSource::pods(local_client(&url), None)
            .list(ListRequest::default())
            .await
            .expect("a protobuf page");
        let keys: Vec<&str> = page.items.iter().map(|o| o.key().as_str()).collect();
        assert_eq!(keys, ["bar-w/crash", "bar-w/done"]);
        assert_eq!(page.items[0].encoding(), crate::object::Encoding::Protobuf);
        assert_eq!(
            *accepts.lock().expect("accepts"),
            ["application/vnd.kubernetes.protobuf, application/json"]
        );
        server.abort();
    }

    /// Every event of a pods watch whose answer is `stream`, served as a protobuf watch.
    async fn protobuf_watch_of(stream: &[u8]) -> Vec<Result<WatchEvent, StreamError>> {
        let response = ok_response("application/vnd.kubernetes.protobuf;stream=watch", stream);
        let (url, _, server) = recording_server(response).await;
        let events = KubeSource::pods(local_client(&url), None)
            .watch(watch_from("157565"))
            .await
            .expect("a watch")
            // Each frame costs its 4-byte length, and a stream ends with at most one error: a
            // reader that never runs dry fails the test's count instead of filling memory.
            .take(stream.len() / 4 + 2)
            .collect()
            .await;
        server.abort();
        events
    }

    #[tokio::test]
    async fn a_protobuf_watch_is_read_frame_by_frame() {
        let events = protobuf_watch_of(PROTOBUF_WATCH).await;
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(
            matches!(&events[0], Ok(WatchEvent::Modified(pod)) if pod.key().as_str() == "bar-w/pend")
        );
        assert!(matches!(&events[3], Ok(WatchEvent::Bookmark(_))));

        // Cut in the middle of its last frame: the stream says so.
        let cut = &PROTOBUF_WATCH[..PROTOBUF_WATCH.len() - 10];
        let events = protobuf_watch_of(cut).await;
        assert!(
            matches!(events.last(), Some(Err(StreamError::Transport(reason))) if reason.contains("middle of a frame")),
            "{events:?}"
        );
        // A frame claiming 4 GiB: refused at once, nothing allocated for it.
        let events = protobuf_watch_of(&[0xff, 0xff, 0xff, 0xff, 0x0a]).await;
        assert!(
            matches!(events.as_slice(), [Err(StreamError::FrameTooLong(_))]),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn json_is_asked_for_custom_resources_and_with_wire_json_and_a_json_answer_is_read() {
        let json = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"a","namespace":"n"}}]}"#;
        let (url, accepts, server) = recording_server(ok_response("application/json", json)).await;
        let client = local_client(&url);
        let page = KubeSource::pods(client.clone(), None)
            .list(ListRequest::default())
            .await
            .expect("JSON in answer to protobuf-or-JSON");
        assert_eq!(page.items[0].encoding(), crate::object::Encoding::Json);
        let json_only = SourceOptions {
            wire: Wire::Json,
            ..SourceOptions::default()
        };
        KubeSource::pods(client.clone(), None)
            .with_options(json_only)
            .list(ListRequest::default())
            .await
            .expect("a page");
        let widgets = ApiResource {
            group: "example.dev".to_owned(),
            version: "v1".to_owned(),
            api_version: "example.dev/v1".to_owned(),
            kind: "Pod".to_owned(),
            plural: "widgets".to_owned(),
        };
        KubeSource::new(client.clone(), &widgets, None)
            .list(ListRequest::default())
            .await
            .expect("a page");
        let deployments = ApiResource {
            group: "apps".to_owned(),
            api_version: "apps/v1".to_owned(),
            ..widgets.clone()
        };
        let everything_protobuf = SourceOptions {
            wire: Wire::Protobuf,
            ..SourceOptions::default()
        };
        KubeSource::new(client.clone(), &deployments, None)
            .list(ListRequest::default())
            .await
            .expect("a page");
        KubeSource::new(client, &widgets, None)
            .with_options(everything_protobuf)
            .list(ListRequest::default())
            .await
            .expect("a page");
        let protobuf = "application/vnd.kubernetes.protobuf, application/json";
        assert_eq!(
            *accepts.lock().expect("accepts"),
            [
                protobuf,
                "application/json",
                "application/json",
                protobuf,
                protobuf
            ]
        );
        server.abort();
    }

    #[test]
    fn query_strings_are_encoded_without_a_stray_separator() {
        assert_eq!(url_with_query("/api/v1/pods", &[]), "/api/v1/pods");
        assert_eq!(
            url_with_query("/api/v1/pods", &[("limit", "500")]),
            "/api/v1/pods?limit=500"
        );
        assert_eq!(
            url_with_query(
                "/api/v1/pods",
                &[("labelSelector", "app in (a,b)"), ("continue", "x=/&y")]
            ),
            "/api/v1/pods?labelSelector=app+in+%28a%2Cb%29&continue=x%3D%2F%26y"
        );
    }

    #[test]
    fn an_invalid_certificate_is_untrusted_found_by_type() {
        use tokio_rustls::rustls::{CertificateError, Error as TlsError};
        // As the TLS handshake fails: rustls's error in tokio-rustls's io::Error, whose
        // `source()` skips it.
        let tls = TlsError::InvalidCertificate(CertificateError::UnknownIssuer);
        let err = kube::Error::Service(Box::new(io::Error::new(io::ErrorKind::InvalidData, tls)));
        let failed = request_failed(&Endpoint::default(), &err);
        assert!(
            matches!(&failed, SourceError::Untrusted { reason, .. }
                if reason == "invalid peer certificate: UnknownIssuer"),
            "{failed:?}"
        );
    }

    #[test]
    fn a_transport_error_that_only_mentions_a_certificate_is_not_untrusted() {
        let said = "proxy: upstream said invalid peer certificate: UnknownIssuer";
        let err = kube::Error::Service(Box::new(io::Error::other(said)));
        let failed = request_failed(&Endpoint::default(), &err);
        assert!(
            matches!(&failed, SourceError::Transport { reason, .. } if reason == said),
            "{failed:?}"
        );
    }
}
