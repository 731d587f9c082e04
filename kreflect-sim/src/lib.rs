//! A fake Kubernetes API server: the simulated cluster of `--sim`, the tests' server and the
//! benchmark's load.
//!
//! It serves pods, nodes, namespaces, services, `deployments.apps` and a custom resource
//! (`widgets.example.dev`) over HTTP/1.1 (plain or TLS) the way a kube-apiserver does (status codes,
//! headers, `Status` objects, continue tokens, watch streams and bookmarks as in the captured
//! transcripts in `shared/api-transcripts`), with a mutation API ([`World`]), request recording
//! ([`RecordedRequest`]) and injectable faults ([`Fault`]).
//!
//! # Layout
//! Three layers that import downwards only, over two leaves; the workspace's `tests/it/layers.rs`
//! fails on an import upwards or sideways, and on a circle between files. Bottom up:
//! - Leaves, importing nothing from this crate: `options` ([`ServerOptions`]) and `body` (the
//!   type of every response body).
//! - `wire/`: what the bytes look like, no state. `resources` (the served types, [`RESOURCES`]),
//!   `encode` (list items, watch lines, bookmarks, `PartialObjectMetadata`), `negotiate` (which
//!   encoding an `Accept` gets), `protobuf` (objects, lists, watch frames and `Status` in
//!   protobuf, converted from the stored JSON; transcripts 19/20), `table/` (server-side
//!   Tables, transcripts 15-18: the Table in `mod.rs`, kubectl's column definitions in
//!   `columns`, its printers' cells in `pod` and `printers`, with `cells` shared), `status`
//!   (`StatusError`: `Status` failure bodies, and the JSON responses that carry them),
//!   `discovery` (`/version`, `/api`, `/apis` and the resource lists).
//! - `world/`: the cluster's state, no HTTP. `state` ([`World`]: objects, resourceVersions,
//!   watch history, list snapshots, live fan-out), `pods` ([`realistic_pod`]), `churn`
//!   ([`populate`], [`run_churn`]). It imports `wire` because it keeps every object serialized.
//! - `serve/`: the HTTP server. `server` ([`FakeApiServer`]: bind, accept, restart, shutdown,
//!   kubeconfig), `handler` (one request: record, authenticate, route, apply faults), `request`
//!   ([`RecordedRequest`], query decoding), `list` (pages, continue tokens), `watch` (the event
//!   stream), `selector` (label and field selectors), `faults` ([`Fault`]), `gzip` (compressing
//!   large list pages), `meter` ([`FakeApiServer::body_bytes_sent`]), `tls` (the generated CA
//!   and server certificate).
//!
//! Above the layers, the crate root's end-to-end tests: `tests.rs` (a raw HTTP client and the
//! helpers) with one module per subject in `tests/`: `list`, `watch`, `metadata`, `protobuf`,
//! `gzip`, `access` (authentication and authorization) and `server` (discovery, recording,
//! restart, shutdown, kubeconfig).
//!
//! # Names
//! No type here, tests aside, is named like one of kreflect's, the client it serves, so a reader
//! of both never mistakes one for the other:
//! - [`World`]: the fake cluster's state (kreflect's `ClusterChoice` picks what it connects to).
//! - `Mutation`: one recorded change of the world (kreflect decodes a `WatchEvent`).
//! - `ListQuery`, `WatchQuery`: a request as the handler parsed it (kreflect sends a
//!   `ListRequest`, a `WatchRequest`).
//! - `StatusError`: an error to answer with, after apimachinery's (kreflect decodes an
//!   `ApiStatus`).
//! - `WatchBody`: a watch response's body (kreflect reads a `WatchStream`); `RequestKind`: what
//!   a fault applies to (kreflect resolves a `Target`); `Locked`: what the world's lock guards
//!   (kreflect's reflector steps through a `State`); `ServerState`: what every connection
//!   shares (kreflect's store shares its own `Shared`).
//!
//! # How it differs from a real kube-apiserver
//! - Discovery publishes `categories` as the real server does, for the kinds served: `all`
//!   holds pods, services and deployments (the real `all` also holds replicationcontrollers,
//!   daemonsets, replicasets, statefulsets, horizontalpodautoscalers, cronjobs and jobs).
//! - Plain HTTP, or HTTPS with a certificate from a CA generated at start (no client
//!   certificates); HTTP/1.1 only; JSON, and protobuf for the built-in kinds (below); the six
//!   kinds above only; only `GET`
//!   (anything else on a served path is 405 `MethodNotAllowed`; real servers accept writes).
//! - Authentication is a bearer token or none; impersonation headers (`Impersonate-User`,
//!   `-Group`, `-Uid`) are recorded and either served as any request (no permissions of the
//!   user impersonated are checked) or, with `ServerOptions::refuse_impersonation`, refused
//!   with transcript 31's 403 before anything else; the real server checks the `impersonate`
//!   verb per user, group and uid, and then the impersonated user's own permissions.
//! - Names are not validated: any string is served (JSON-escaped), so tests can create pods whose
//!   names hold newlines, tabs or `\x01`. A real server requires DNS-1123 names for pods and
//!   would reject those; it accepts such names for kinds with only path-segment rules (RBAC).
//! - Label selectors and the common field selectors (`metadata.name`, `metadata.namespace`, and
//!   for pods `spec.nodeName`, `status.phase`) are applied; any other field is refused with 400
//!   `field label not supported`, where a real server supports a few more per kind. Values are
//!   taken as written: the real server's `\,`, `\=` and `\\` escapes are not unescaped.
//! - `Accept: …;as=PartialObjectMetadataList` / `as=PartialObjectMetadata` (transcripts 07/08)
//!   serve `PartialObjectMetadata` shapes (only `kind`, `apiVersion`, `metadata`); the header is
//!   matched by substring, not content-negotiated (no 406 for unknown media types).
//! - `Accept: …;as=Table;…;g=meta.k8s.io` (v1 or v1beta1) serves a `meta.k8s.io/v1` Table
//!   (transcripts 15-18) for every kind, `includeObject` honoured, with cells derived by
//!   kubectl's printers for the fields the generated objects have (not every printer column of
//!   every kind: a node's Roles come only from `node-role.kubernetes.io/*` labels, say). A
//!   Table watch starts with the first event's `columnDefinitions`, even when that event is a
//!   BOOKMARK. `ServerOptions::without_tables` makes a kind answer 406, or its plain list or
//!   watch, as an aggregated API without Tables does; the real server answers 406 only when
//!   the `Accept` names no fallback.
//! - Protobuf (transcripts 19-21): an `Accept` is negotiated by its media ranges in order of `q`
//!   (`wire/negotiate.rs`); `application/vnd.kubernetes.protobuf` first gets protobuf lists,
//!   watches (`…;stream=watch`, length-prefixed `WatchEvent` frames, BOOKMARK and ERROR
//!   included) and `Status` errors for pods, nodes, namespaces, services and deployments; a
//!   custom resource answers JSON, or 406 when the `Accept` names nothing else. Differences:
//!   - Tables and `PartialObjectMetadata` are served as JSON only: a protobuf range carrying
//!     `as=…` is skipped (the real server can encode `PartialObjectMetadata` in protobuf, as
//!     client-go's metadata client asks for it). A 406 is answered only when the `Accept`
//!     names protobuf; other media types the sim does not know still get JSON.
//!   - Errors decided before routing (401, 404, 405, 503) are always JSON.
//!   - Objects are stored as JSON and converted field by field (k8s-pb has no serde). Encoded
//!     are: all of `metadata` (name, generateName, namespace, uid, resourceVersion,
//!     generation, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds, labels,
//!     annotations, ownerReferences, finalizers, managedFields with `fieldsV1` as its JSON
//!     text); pod `spec` (volumes with configMap/emptyDir/secret/projected sources and their
//!     serviceAccountToken/configMap/downwardAPI projections, initContainers and containers
//!     with name, image, command, args, workingDir, ports, env with `valueFrom.fieldRef`,
//!     resources, volumeMounts, liveness/readiness/startup probes (httpGet, tcpSocket, exec),
//!     terminationMessagePath/Policy, imagePullPolicy; restartPolicy,
//!     terminationGracePeriodSeconds, activeDeadlineSeconds, dnsPolicy, nodeSelector,
//!     serviceAccountName, serviceAccount, nodeName, hostNetwork, securityContext's runAsUser,
//!     runAsGroup, runAsNonRoot and fsGroup, hostname, subdomain, schedulerName, tolerations,
//!     priorityClassName, priority, enableServiceLinks, preemptionPolicy) and `status`
//!     (phase, conditions, message, reason, nominatedNodeName, hostIP(s), podIP(s),
//!     startTime, init and container statuses with their states, qosClass); node `spec`
//!     (podCIDR(s), providerID, unschedulable, taints) and `status` (capacity, allocatable,
//!     conditions, addresses, nodeInfo); namespace `spec.finalizers` and `status.phase`;
//!     service `spec` (ports, selector, clusterIP(s), type, externalIPs, sessionAffinity,
//!     externalName) and `status.loadBalancer.ingress`; deployment `spec` (replicas,
//!     selector, template, minReadySeconds, revisionHistoryLimit, paused,
//!     progressDeadlineSeconds) and `status` (observedGeneration and the replica counts).
//!     **Any other field is dropped in protobuf**, where the real server encodes every field.
//!     Go writes unset non-pointer strings as empty fields; here unset fields are absent
//!     (both decode the same), except `creationTimestamp`, written empty as Go does.
//!   - Each object's message is encoded once, when a protobuf list first serves it, and each
//!     change's watch frame once, when a protobuf watch first sends it; then they are kept,
//!     as the JSON is serialized once. The real server encodes list items per request (its
//!     watch cache keeps one encoding per event, as here), so the sim's CPU per protobuf list
//!     is below the real server's, as it is for JSON. Synthetic ADDED events (a watch without
//!     a resourceVersion, a streaming list) reuse the object's kept message; bookmarks,
//!     errors and changes a selector turns into another event type are converted from their
//!     JSON line per watch.
//!   - A fault's raw lines (bad payloads, `WatchLinesThenClose`) that do not convert are sent
//!     as they are inside the protobuf stream, which no client reads as a frame.
//!   - The generated pods are about 0.53x their JSON size in protobuf (their values are long:
//!     uids, digests, `fieldsV1`), where transcript 19's are about 0.32x.
//! - Lists are served from the watch cache or from "etcd" as v1.26 decides (transcripts 27,
//!   30): `resourceVersion=0`, and any other resourceVersion without a `limit` (unless
//!   `resourceVersionMatch=Exact`), get the watch cache's state in one response, whatever the
//!   `limit`; the rest are consistent reads of the latest state, in pages. The watch cache here
//!   follows every change at once, unless a test holds it at a past state
//!   ([`World::hold_watch_cache`]); the real one lags by moments, and on a collection where
//!   nothing changes its resourceVersion stays behind the one a consistent list returns (writes
//!   to other kinds move etcd's), which the sim, one counter per kind, does not imitate. A
//!   `NotOlderThan` list the cache has not reached is answered 504 "Too large resource
//!   version" at once, where the real server first waits 3 s for its cache to catch up. The
//!   resourceVersion of a paged read is ignored (it serves the latest state, as `NotOlderThan`
//!   allows; an `Exact` read of an old state is not imitated). Complete list responses carry
//!   `Content-Length` where the real server uses chunked encoding.
//! - Compression (transcripts 22/23) follows the real server's rule: with an `Accept-Encoding`
//!   the real server honours, a body over 128 KiB is gzipped at level 1, chunked, with
//!   `Content-Encoding: gzip` and `Vary: Accept-Encoding`; watches never are. Only list pages
//!   are compressed here: the real server would compress any other non-watch response over
//!   128 KiB too, but nothing else served here is that large. The header is read as the real
//!   server reads it, which is narrower than HTTP: only a bare `gzip` member counts, so
//!   `gzip;q=1`, `GZIP` and `*` get no compression from either. The page is compressed whole,
//!   then sent in 16 KiB chunks (the real server streams the encoder's output). The generated
//!   pods differ more from each other than transcript 22's, so they compress about 8x, where
//!   that transcript's pods compress about 70x.
//! - Continue tokens have the real format but their `start` key is always `namespace/name\0`;
//!   only the newest 16 list snapshots are kept, so a continue token can expire after 16 newer
//!   paged lists at other resourceVersions, not only after compaction. A token with `rv: -1`
//!   continues inconsistently from the current state, as the real server does.
//! - Each watch event is one HTTP chunk, and the chunks ready at once go out in one write (hyper
//!   gathers them), as the real server flushes only when no more events are queued (its
//!   `len(ch) == 0` check). `ServerOptions::flush_each_watch_event` writes every event on its
//!   own instead, as a server or proxy that flushes after each event does: a client that keeps
//!   up then reads one event per read (the benchmark's `--flush-each-event`).
//! - Watch history is a count (`history_limit` events), not a time window; after a restart or
//!   `World::compact` every older resourceVersion is too old. The "too old" message names
//!   the oldest resourceVersion still watchable, like the real watch cache does.
//! - A restart (`FakeApiServer::restart`) keeps the listening socket, so the port cannot be
//!   lost to another socket bound meanwhile: a connection made during the restart waits and is
//!   served once it is done, where a real server's port refuses connections until it is back.
//!   (Closing and binding again lost the port, under load, to a neighbouring test's server.)
//! - A watch from a resourceVersion newer than the current one (what a client holding a newer
//!   resourceVersion sees after an etcd restore, [`World::restore`]) is answered as v1.26 answers
//!   it (transcript 33): 200, then no event and no bookmark at or below that resourceVersion; it
//!   ends at `timeoutSeconds`. Newer servers may answer 504 "Too large resource version"
//!   instead; not imitated.
//! - A live watcher that falls more than `history_limit` events behind gets an ERROR 410 event
//!   and its stream ends (the real server closes a slow watcher without an error); the client
//!   must relist. Events are never silently skipped.
//! - Bookmarks every `bookmark_interval` (default 1 s; the real server: about a minute) and
//!   one at `max(timeout - 2 s, timeout / 2)`; a bookmark carries the global resourceVersion,
//!   which may be ahead of the last event in the watched namespace. As on the real server, a
//!   timed bookmark goes out only once something changed (in any namespace) after the watch
//!   opened: a watch on a world where nothing changed since gets none (checked on v1.26: a
//!   3 s watch with bookmarks on a quiet cluster ends with no line at all). This sim used to
//!   send them regardless, which hid that a resumed watch on a quiet collection hears nothing.
//! - A watch without `timeoutSeconds` lasts until the client leaves or the server stops (the
//!   real server picks a random 30–60 minutes).
//! - Streaming lists (`sendInitialEvents=true`) follow `ServerOptions::watch_list`: refused
//!   with 422 like v1.25 and v1.26 (transcript 09; the default), supported as v1.32+ serve them
//!   (the initial state is always the current one, whatever `resourceVersion` says), or
//!   ignored like a plain watch.
//! - `ServerOptions::unavailable_groups` lists group versions in `/apis` whose discovery
//!   document answers 503, like an aggregated API whose backend is down; they serve nothing.
//! - Authentication is a single static bearer token; authorization is only the
//!   `deny_cluster_scope` and `deny_watch` switches and `role_namespace` (a Role bound in one
//!   namespace, nothing else), answering as user `sim`; its 403 messages always say
//!   `in API group ""`, where the real server names the resource's group.
//! - Faults ([`Fault`], once with `inject` or on every matching request with `inject_always`)
//!   make it misbehave the way broken or hostile servers and proxies do, which a healthy
//!   kube-apiserver would not: an expiry on every watch, a bookmark then close, a continue token
//!   repeated or handed out fresh for the same page, stalls, cut lines, bad payloads, arbitrary
//!   lines then close (e.g. an event replayed at the watch's own resourceVersion), injected
//!   status codes, and error bodies that are not a `Status` (served, like every body here, as
//!   `application/json`, where a proxy's error page would say `text/html`).
//! - Label selector values are checked for the lexer's tokens and label-value syntax only; the
//!   messages match the real server's for the common cases (transcript 24), not all of them.
//! - `creationTimestamp`, `uid` etc. come from the pod generator (or the caller), not the
//!   server; `update_pod` only changes an annotation; deletes are immediate (no graceful
//!   deletion, no intermediate MODIFIED with `deletionTimestamp`).

mod body;
mod options;
mod serve;
mod wire;
mod world;

#[cfg(test)]
mod tests;

pub use options::{NoTable, ServerOptions, WatchListSupport};
pub use serve::faults::{BadPayload, Fault, GzipCorruption};
pub use serve::request::RecordedRequest;
pub use serve::server::FakeApiServer;
pub use serve::tls::PROXY_ONLY_HOST;
pub use wire::resources::{RESOURCES, ResourceType};
pub use world::churn::{ChurnOptions, populate, run_churn};
pub use world::pods::realistic_pod;
pub use world::state::{Backup, World};
