//! How the fake API server behaves: the options it starts with. A leaf: it imports nothing from
//! this crate.

use std::time::Duration;

/// How the fake API server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// When set, requests without `Authorization: Bearer <token>` get 401 Unauthorized.
    pub bearer_token: Option<String>,
    /// Watch events kept for resuming; a watch from an older resourceVersion is "too old".
    pub history_limit: usize,
    /// Interval of BOOKMARKs on watches with `allowWatchBookmarks=true` (the real server sends
    /// them about once a minute; the fake defaults to 1 s).
    pub bookmark_interval: Duration,
    /// Answer list/watch at the cluster scope (`/api/v1/pods`) with 403 Forbidden, as RBAC does
    /// for a user who may only read some namespaces.
    pub deny_cluster_scope: bool,
    /// Answer every watch with 403 Forbidden, as RBAC does for a user granted `list` but not
    /// `watch`.
    pub deny_watch: bool,
    /// Authorize as RBAC does a user whose only grant is a Role bound in this namespace: lists
    /// and watches anywhere else (at the cluster scope, in another namespace, of a
    /// cluster-scoped kind such as nodes) answer 403 Forbidden. Discovery stays open, as the
    /// `system:discovery` ClusterRole opens it to every user.
    pub role_namespace: Option<String>,
    /// Serve HTTPS with a certificate for `127.0.0.1`/`localhost` (and, for proxy tests,
    /// [`crate::PROXY_ONLY_HOST`] and `0.0.0.0`) signed by a CA generated at start
    /// ([`FakeApiServer::ca_pem`](crate::FakeApiServer::ca_pem)), instead of plain HTTP.
    pub tls: bool,
    /// Serve lists from a watch cache where v1.26 would (`resourceVersion=0`, `NotOlderThan`
    /// without a `limit`): on by default, as the real server's. Off, as a server run with
    /// `--watch-cache=false` (or a resource it keeps no cache for): every list is read from
    /// "etcd", in the pages its `limit` asks for.
    pub watch_cache: bool,
    /// How watches with `sendInitialEvents=true` (the streaming list) are answered: refused
    /// by default, as v1.26 (the server of `api-transcripts/`) and every server without the
    /// WatchList feature (before v1.32) refuse them.
    pub watch_list: WatchListSupport,
    /// `group/version`s listed by `/apis` whose discovery document answers 503
    /// ServiceUnavailable, as an aggregated API whose backend is down does (`metrics.k8s.io/
    /// v1beta1` without a running metrics-server is the common case).
    pub unavailable_groups: Vec<String>,
    /// How long every response but a watch's waits before it is sent (a slow API server, or a
    /// congested link): zero by default.
    pub response_delay: Duration,
    /// Resources (by plural) that cannot produce a server-side Table, and how they answer an
    /// `Accept` asking for one: as an aggregated API without Table support does.
    pub without_tables: Vec<(String, NoTable)>,
    /// End every watch after at most this many seconds, whatever `timeoutSeconds` asks (a real
    /// server ends a watch at its `timeoutSeconds`, or, without one, after
    /// `--min-request-timeout` randomized): lets a test of the binary, whose watches ask for
    /// 40-50 s, see watches end in moments. `None` by default.
    pub max_watch_seconds: Option<u32>,
    /// Refuse every request that impersonates a user (`Impersonate-User`) with 403 Forbidden,
    /// as the real server refuses a user without the `impersonate` verb (transcript 31). By
    /// default the fake server serves impersonated requests as any other (it checks no
    /// permissions of the user impersonated).
    pub refuse_impersonation: bool,
    /// Write every watch event to the socket on its own, one HTTP chunk and one write per
    /// event, as a server that flushes after each event does. By default the events ready at
    /// once go out together (hyper gathers the chunks it is given before it writes), so a client
    /// reads many events per read; this makes a client that keeps up read one event at a time.
    pub flush_each_watch_event: bool,
}

/// How a resource without Table support answers `Accept: …;as=Table;…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTable {
    /// `406 NotAcceptable`, as for an `Accept` that names no media type it can produce.
    NotAcceptable,
    /// The ordinary list or watch, as when the `Accept` names `application/json` as a fallback.
    Plain,
}

/// How the server answers a streaming list (`watch=true&sendInitialEvents=true&
/// resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchListSupport {
    /// As a server with the WatchList feature (v1.32+): a synthetic ADDED for every current
    /// pod, then a BOOKMARK annotated `k8s.io/initial-events-end: "true"`, then live events.
    Supported,
    /// As v1.25 and v1.26 (transcript 09): `422 Invalid`, `resourceVersionMatch` is forbidden
    /// for watch. The default.
    Refused,
    /// As a server that ignores the unknown parameters: a plain watch without resourceVersion
    /// (synthetic ADDEDs, then live events and ordinary bookmarks; no initial-events-end).
    Ignored,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            bearer_token: None,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(1),
            deny_cluster_scope: false,
            deny_watch: false,
            role_namespace: None,
            tls: false,
            watch_cache: true,
            watch_list: WatchListSupport::Refused,
            unavailable_groups: Vec::new(),
            response_delay: Duration::ZERO,
            without_tables: Vec::new(),
            max_watch_seconds: None,
            refuse_impersonation: false,
            flush_each_watch_event: false,
        }
    }
}
