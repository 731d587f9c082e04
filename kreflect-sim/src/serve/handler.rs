//! One request: record it, authenticate, route, apply faults, answer.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response};
use tokio_util::sync::CancellationToken;

use super::faults::{Fault, FaultQueue, RequestKind};
use super::list::{self, ContinueToken, ListQuery};
use super::meter::metered;
use super::request::RecordedRequest;
use super::selector::ObjectFilter;
use super::trickle::trickled;
use super::watch::{self, WatchQuery};
use crate::body::Body;
use crate::options::{NoTable, ServerOptions, WatchListSupport};
use crate::wire::discovery;
use crate::wire::negotiate::{Encoding, NotAcceptable, negotiate};
use crate::wire::protobuf;
use crate::wire::resources::{self, RESOURCES, ResourceType};
use crate::wire::status::{Cause, Details, StatusError, json_response};
use crate::wire::table::IncludeObject;
use crate::world::state::{WatchStart, World};

/// State shared by every connection of every incarnation of the server.
#[derive(Debug)]
pub(crate) struct ServerState {
    /// How the server was configured.
    pub options: ServerOptions,
    /// One [`World`] per served resource type, in the order of `RESOURCES`.
    pub worlds: Vec<World>,
    /// Every request received, in order.
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Faults waiting for their request.
    pub faults: FaultQueue,
    /// Where the server listens (stable across restarts).
    pub addr: SocketAddr,
    /// Response body bytes sent so far, as on the wire (compressed when gzipped; without
    /// headers and chunk framing).
    pub body_bytes_sent: Arc<AtomicU64>,
}

impl ServerState {
    /// The pods.
    pub(crate) fn pods(&self) -> &World {
        &self.worlds[0]
    }
}

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Version,
    Api,
    Apis,
    /// An `APIResourceList`: `/api/v1` or `/apis/GROUP/VERSION`.
    ResourceList(String),
    /// Objects of `RESOURCES[index]` in a namespace, or in all of them.
    Objects(usize, Option<&'a str>),
}

fn route(path: &str) -> Option<Route<'_>> {
    match path {
        "/version" => return Some(Route::Version),
        "/api" => return Some(Route::Api),
        "/apis" => return Some(Route::Apis),
        _ => {}
    }
    let (group, version, rest) = if let Some(rest) = path.strip_prefix("/api/v1") {
        ("", "v1", rest)
    } else {
        let rest = path.strip_prefix("/apis/")?;
        let (group, rest) = rest.split_once('/')?;
        let (version, rest) = rest.split_once('/').map_or((rest, ""), |(v, r)| (v, r));
        (group, version, rest)
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    let (namespace, plural) = match segments[..] {
        [""] => {
            return resources::resource_list(group, version).map(Route::ResourceList);
        }
        [plural] => (None, plural),
        ["namespaces", namespace, plural] if !namespace.is_empty() => (Some(namespace), plural),
        _ => return None,
    };
    let index = resources::find(group, version, plural)?;
    if namespace.is_some() && !RESOURCES[index].namespaced {
        return None;
    }
    Some(Route::Objects(index, namespace))
}

/// Answers `request`; `stop` ends watch streams when this incarnation of the server stops.
pub(crate) fn handle<B>(
    shared: &ServerState,
    request: &Request<B>,
    stop: &CancellationToken,
) -> Response<Body> {
    let recorded = RecordedRequest::from_request(request);
    tracing::debug!(method = %recorded.method, path = %recorded.path, query = ?recorded.query, "request");
    shared
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(recorded.clone());
    answer(shared, &recorded, request.method(), stop)
        .map(|body| metered(body, Arc::clone(&shared.body_bytes_sent)))
}

fn answer(
    shared: &ServerState,
    recorded: &RecordedRequest,
    method: &Method,
    stop: &CancellationToken,
) -> Response<Body> {
    if let Some(token) = &shared.options.bearer_token
        && recorded.authorization.as_deref() != Some(format!("Bearer {token}").as_str())
    {
        return StatusError::unauthorized().into_response();
    }
    if shared.options.refuse_impersonation
        && let Some(user) = &recorded.impersonate_user
    {
        return StatusError::impersonation_refused(user).into_response();
    }
    if let Some(group_version) = recorded.path.strip_prefix("/apis/")
        && shared
            .options
            .unavailable_groups
            .iter()
            .any(|gv| gv == group_version)
    {
        let message = "the server is currently unable to handle the request";
        return StatusError::new(503, "ServiceUnavailable", message).into_response();
    }
    let Some(route) = route(&recorded.path) else {
        return StatusError::not_found().into_response();
    };
    if method != Method::GET {
        return StatusError::method_not_allowed().into_response();
    }
    match route {
        Route::Version => json_response(200, discovery::version()),
        Route::Api => json_response(200, discovery::api(shared.addr)),
        Route::Apis => json_response(
            200,
            resources::group_list(&shared.options.unavailable_groups).into(),
        ),
        Route::ResourceList(list) => json_response(200, list.into()),
        Route::Objects(index, namespace) => {
            objects(shared, &shared.worlds[index], recorded, namespace, stop)
        }
    }
}

fn objects(
    shared: &ServerState,
    world: &World,
    recorded: &RecordedRequest,
    namespace: Option<&str>,
    stop: &CancellationToken,
) -> Response<Body> {
    let watching = recorded.is_watch();
    let resource = world.resource();
    let encoding = match negotiate(recorded.accept.as_deref(), protobuf::has_protobuf(resource)) {
        Ok(encoding) => encoding,
        Err(NotAcceptable) => return not_acceptable(resource).into_response(),
    };
    if namespace.is_none() && resource.namespaced && shared.options.deny_cluster_scope {
        let verb = if watching { "watch" } else { "list" };
        return StatusError::forbidden_cluster_scope(verb, resource.plural)
            .into_response_as(encoding);
    }
    if watching && shared.options.deny_watch {
        return StatusError::forbidden("watch", resource.plural, namespace)
            .into_response_as(encoding);
    }
    if let Some(granted) = &shared.options.role_namespace
        && namespace != Some(granted.as_str())
    {
        let verb = if watching { "watch" } else { "list" };
        return StatusError::forbidden(verb, resource.plural, namespace).into_response_as(encoding);
    }
    let filter = match ObjectFilter::from_params(
        recorded.param("labelSelector"),
        recorded.param("fieldSelector"),
        resource.plural == "pods",
    ) {
        Ok(filter) => filter,
        Err(message) => return StatusError::bad_request(message).into_response_as(encoding),
    };
    let table = match table_request(shared, recorded, resource.plural) {
        Ok(table) => table,
        Err(status) => return status.into_response_as(encoding),
    };
    let result = if watching {
        watch_objects(
            shared,
            world,
            recorded,
            namespace,
            filter,
            (table, encoding),
            stop,
        )
    } else {
        list_objects(shared, world, recorded, namespace, filter, table, encoding)
    };
    result.unwrap_or_else(|status| status.into_response_as(encoding))
}

/// Whether to answer with a Table, and with which `includeObject`: `None` when the client did
/// not ask for one, or `plural` answers without (`ServerOptions::without_tables`).
fn table_request(
    shared: &ServerState,
    recorded: &RecordedRequest,
    plural: &str,
) -> Result<Option<IncludeObject>, Box<StatusError>> {
    if !recorded.wants_table() {
        return Ok(None);
    }
    let refusal = shared
        .options
        .without_tables
        .iter()
        .find(|(without, _)| without == plural)
        .map(|(_, how)| *how);
    match refusal {
        Some(NoTable::NotAcceptable) => Err(Box::new(StatusError::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, \
             application/yaml, application/vnd.kubernetes.protobuf",
        ))),
        Some(NoTable::Plain) => Ok(None),
        None => IncludeObject::parse(recorded.param("includeObject"))
            .map(Some)
            .map_err(|message| Box::new(StatusError::bad_request(message))),
    }
}

fn list_objects(
    shared: &ServerState,
    world: &World,
    recorded: &RecordedRequest,
    namespace: Option<&str>,
    filter: Option<ObjectFilter>,
    table: Option<IncludeObject>,
    encoding: Encoding,
) -> Result<Response<Body>, Box<StatusError>> {
    let limit = match recorded.param("limit") {
        None | Some("") => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| StatusError::bad_request(format!("invalid limit: {text:?}")))?,
    };
    let continue_token = match recorded.param("continue") {
        None | Some("") => None,
        Some(text) => Some(ContinueToken::decode(text).map_err(|reason| {
            StatusError::bad_request(format!("invalid continue token: {reason}"))
        })?),
    };
    let from_watch_cache = match served_from(recorded, limit, continue_token.is_some())? {
        ServedFrom::Etcd => false,
        ServedFrom::WatchCache { .. } if !shared.options.watch_cache => false,
        ServedFrom::WatchCache { not_older_than } => {
            let current = world.watch_cache().resource_version;
            if not_older_than > current {
                return Err(
                    StatusError::resource_version_too_large(not_older_than, current).into(),
                );
            }
            true
        }
    };
    let target = RequestKind::List {
        with_continue: continue_token.is_some(),
    };
    let mut repeat_token = None;
    let mut fresh_token = None;
    let mut corrupt_gzip = None;
    let mut trickle = None;
    let mut list_kind = None;
    match (shared.faults.take(target), &continue_token) {
        (
            Some(Fault::ListStatus {
                code,
                reason,
                retry_after,
            }),
            _,
        ) => {
            return Err(StatusError::injected(code, &reason, retry_after).into());
        }
        (Some(Fault::ListRawBody { code, body }), _) => {
            return Ok(json_response(code, body.into()));
        }
        (Some(Fault::ListCorruptGzip { corruption, .. }), _) => corrupt_gzip = Some(corruption),
        (Some(Fault::ListTrickle { bytes_per_second }), _) => trickle = Some(bytes_per_second),
        (Some(Fault::ListAsKind(kind)), _) => list_kind = Some(kind),
        (Some(Fault::ExpireContinue), Some(token)) => return Err(token.expired().into()),
        (Some(Fault::RepeatContinueToken), Some(_)) => repeat_token = recorded.param("continue"),
        (Some(Fault::FreshContinueToken), Some(token)) => {
            fresh_token = Some(token.same_page_again().encode());
        }
        _ => {}
    }
    let query = ListQuery {
        namespace,
        limit,
        continue_token,
        filter,
        metadata_only: recorded.wants_metadata_only(),
        table,
        repeat_token: repeat_token.or(fresh_token.as_deref()),
        accepts_gzip: recorded.asks_for_gzip(),
        corrupt_gzip,
        list_kind: list_kind.as_deref(),
        encoding,
        from_watch_cache,
    };
    let response = list::respond(world, &query);
    Ok(match trickle {
        Some(bytes_per_second) => response.map(|body| trickled(body, bytes_per_second)),
        None => response,
    })
}

/// Where the real server (v1.26's `shouldDelegateList`) serves a list from.
enum ServedFrom {
    /// A consistent read from etcd, in pages.
    Etcd,
    /// The watch cache, in one response, once it is at `not_older_than` or past it.
    WatchCache {
        /// The resourceVersion asked for (0: any).
        not_older_than: u64,
    },
}

/// Where a list is served from, from its `resourceVersion`, `resourceVersionMatch`, `limit`
/// and `continue`, as v1.26 decides: the watch cache for `resourceVersion=0` (its `limit`
/// ignored, transcript 27) and for any other resourceVersion without a `limit` (unless
/// `Exact`); etcd for the rest (transcript 30). The parameters are checked as the real server
/// checks them, with its messages.
fn served_from(
    recorded: &RecordedRequest,
    limit: usize,
    with_continue: bool,
) -> Result<ServedFrom, Box<StatusError>> {
    let resource_version = recorded
        .param("resourceVersion")
        .filter(|rv| !rv.is_empty());
    let version_match = recorded
        .param("resourceVersionMatch")
        .filter(|m| !m.is_empty());
    let Some(resource_version) = resource_version else {
        if version_match.is_some() {
            return Err(Box::new(list_resource_version_match_forbidden()));
        }
        return Ok(ServedFrom::Etcd);
    };
    if with_continue {
        if resource_version == "0" {
            return Ok(ServedFrom::Etcd);
        }
        return Err(Box::new(StatusError::bad_request(
            "specifying resource version is not allowed when using continue",
        )));
    }
    let not_older_than = resource_version.parse::<u64>().map_err(|_| {
        Box::new(StatusError::new(
            500,
            "",
            format!(
                "resourceVersion: Invalid value: \"{resource_version}\": strconv.ParseUint: \
                 parsing \"{resource_version}\": invalid syntax"
            ),
        ))
    })?;
    if not_older_than == 0 || (limit == 0 && version_match != Some("Exact")) {
        return Ok(ServedFrom::WatchCache { not_older_than });
    }
    Ok(ServedFrom::Etcd)
}

/// 422 for a list with `resourceVersionMatch` but no `resourceVersion` (checked on v1.26).
fn list_resource_version_match_forbidden() -> StatusError {
    let message = "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided";
    StatusError::new(
        422,
        "Invalid",
        format!("ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: {message}"),
    )
    .with_details(Details {
        group: Some("meta.k8s.io".to_owned()),
        kind: Some("ListOptions".to_owned()),
        causes: vec![Cause {
            reason: "FieldValueForbidden",
            message: message.to_owned(),
            field: "resourceVersionMatch",
        }],
        ..Details::default()
    })
}

fn watch_objects(
    shared: &ServerState,
    world: &World,
    recorded: &RecordedRequest,
    namespace: Option<&str>,
    filter: Option<ObjectFilter>,
    (table, encoding): (Option<IncludeObject>, Encoding),
    stop: &CancellationToken,
) -> Result<Response<Body>, Box<StatusError>> {
    let bookmarks = matches!(recorded.param("allowWatchBookmarks"), Some("true" | "1"));
    let send_initial_events = matches!(recorded.param("sendInitialEvents"), Some("true" | "1"));
    let streaming = send_initial_events || recorded.param("resourceVersionMatch").is_some();
    let initial_events_end = match shared.options.watch_list {
        _ if !streaming => false,
        WatchListSupport::Refused => {
            return Err(resource_version_match_forbidden(
                recorded
                    .param("resourceVersion")
                    .is_some_and(|rv| !rv.is_empty()),
            )
            .into());
        }
        WatchListSupport::Ignored => false,
        WatchListSupport::Supported => {
            if !send_initial_events
                || !bookmarks
                || recorded.param("resourceVersionMatch") != Some("NotOlderThan")
            {
                return Err(StatusError::new(
                    422,
                    "Invalid",
                    "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents requires \
                     allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan",
                )
                .into());
            }
            true
        }
    };
    let start = match recorded.param("resourceVersion") {
        _ if initial_events_end => WatchStart::Now,
        None | Some("" | "0") => WatchStart::Now,
        // v1.26 answers a watch from a resourceVersion that is not an integer with 500 and no
        // reason (a list with 400 BadRequest).
        Some(text) => WatchStart::After(text.parse().map_err(|_| {
            StatusError::new(
                500,
                "",
                format!(
                    "resourceVersion: Invalid value: {text:?}: strconv.ParseUint: parsing \
                     {text:?}: invalid syntax"
                ),
            )
        })?),
    };
    let timeout = match recorded.param("timeoutSeconds") {
        None | Some("") => None,
        Some(text) => Some(Duration::from_secs(text.parse().map_err(|_| {
            StatusError::bad_request(format!("invalid timeoutSeconds: {text:?}"))
        })?)),
    };
    let timeout = match (timeout, shared.options.max_watch_seconds) {
        (Some(asked), Some(most)) => Some(asked.min(Duration::from_secs(most.into()))),
        (None, Some(most)) => Some(Duration::from_secs(most.into())),
        (asked, None) => asked,
    };
    let fault = match shared.faults.take(RequestKind::Watch) {
        Some(Fault::WatchStatus {
            code,
            reason,
            retry_after,
        }) => {
            return Err(StatusError::injected(code, &reason, retry_after).into());
        }
        Some(Fault::WatchGoneHttp) => {
            let requested = match start {
                WatchStart::After(rv) => rv,
                WatchStart::Now => 0,
            };
            return Err(StatusError::too_old(requested, world.oldest_resource_version()).into());
        }
        other => other,
    };
    let query = WatchQuery {
        namespace: namespace.map(str::to_owned),
        start,
        bookmarks,
        timeout,
        filter,
        initial_events_end,
        metadata_only: recorded.wants_metadata_only(),
        table,
        encoding,
    };
    Ok(watch::respond(
        world,
        query,
        watch::Pacing {
            bookmark_interval: shared.options.bookmark_interval,
            flush_each_event: shared.options.flush_each_watch_event,
        },
        fault,
        stop.clone(),
    ))
}

/// 406 for an `Accept` naming protobuf for `resource` where nothing it names can be served (a
/// custom resource, or a Table or metadata in protobuf here).
fn not_acceptable(resource: &ResourceType) -> StatusError {
    let accepted = if protobuf::has_protobuf(resource) {
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    } else {
        "application/json, application/yaml"
    };
    StatusError::new(
        406,
        "NotAcceptable",
        format!("only the following media types are accepted: {accepted}"),
    )
}

/// 422 for `resourceVersionMatch` on a watch, as the v1.25 server answers a streaming-list
/// request (transcript 09).
fn resource_version_match_forbidden(has_resource_version: bool) -> StatusError {
    let mut causes = vec![Cause {
        reason: "FieldValueForbidden",
        message: "Forbidden: resourceVersionMatch is forbidden for watch".to_owned(),
        field: "resourceVersionMatch",
    }];
    if !has_resource_version {
        causes.push(Cause {
            reason: "FieldValueForbidden",
            message:
                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
                    .to_owned(),
            field: "resourceVersionMatch",
        });
    }
    let list = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect::<Vec<_>>()
        .join(", ");
    StatusError::new(
        422,
        "Invalid",
        format!("ListOptions.meta.k8s.io \"\" is invalid: [{list}]"),
    )
    .with_details(Details {
        group: Some("meta.k8s.io".to_owned()),
        kind: Some("ListOptions".to_owned()),
        causes,
        ..Details::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/api/v1/pods"), Some(Route::Objects(0, None)));
        assert_eq!(
            route("/api/v1/namespaces/shop/pods"),
            Some(Route::Objects(0, Some("shop")))
        );
        assert_eq!(route("/api/v1/namespaces//pods"), None);
        assert_eq!(route("/api/v1/namespaces/a/b/pods"), None);
        assert_eq!(route("/api/v1/nosuchthings"), None);
        assert_eq!(route("/version"), Some(Route::Version));
        assert_eq!(route("/api/v1/nodes"), Some(Route::Objects(1, None)));
        assert_eq!(route("/api/v1/namespaces"), Some(Route::Objects(2, None)));
        assert_eq!(
            route("/api/v1/namespaces/x/nodes"),
            None,
            "nodes are cluster-scoped"
        );
        assert_eq!(
            route("/apis/apps/v1/namespaces/shop/deployments"),
            Some(Route::Objects(4, Some("shop")))
        );
        assert_eq!(
            route("/apis/example.dev/v1/widgets"),
            Some(Route::Objects(5, None))
        );
        assert!(matches!(route("/api/v1"), Some(Route::ResourceList(_))));
        assert!(matches!(
            route("/apis/apps/v1"),
            Some(Route::ResourceList(_))
        ));
        assert_eq!(route("/apis/batch/v1"), None);
        assert_eq!(route("/apis/apps/v1/pods"), None);
    }

    #[test]
    fn streaming_list_is_refused_like_transcript_09() {
        assert_eq!(
            resource_version_match_forbidden(false).to_bytes(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch, resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided]","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"ListOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch is forbidden for watch","field":"resourceVersionMatch"},{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided","field":"resourceVersionMatch"}]},"code":422}"#
        );
    }
}
