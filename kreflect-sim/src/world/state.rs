//! The world state of one resource type (pods, or nodes, deployments...): its objects, the
//! resourceVersion, watch history, list snapshots and the live event fan-out. One
//! `std::sync::Mutex`, never held across an `.await`.
//!
//! Every mutation assigns the next resourceVersion, serializes the pod once (the stored list
//! item and the pre-rendered watch line), appends to the history and broadcasts, all under the
//! lock, so a watcher that subscribes under the same lock sees a gap-free sequence.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::pods::realistic_pod_object;
use crate::wire::encode::{EventType, event_line, item_bytes, revise};
use crate::wire::protobuf;
use crate::wire::resources::{PODS, ResourceType};

/// How many list snapshots (for continue tokens) are kept.
const SNAPSHOTS_KEPT: usize = 16;

/// The annotation `update_pod` changes.
const REVISION_ANNOTATION: &str = "sim.kreflect.dev/revision";

/// A stored object: its key and serialized list-item form.
#[derive(Debug)]
pub(crate) struct StoredObject {
    /// `namespace/name`, or `name` for a cluster-scoped object.
    pub key: String,
    namespace_len: usize,
    /// The list-item JSON (no `kind`/`apiVersion`), resourceVersion already set.
    pub item: Bytes,
    /// The protobuf message, encoded from `item` by the first protobuf list that serves it.
    protobuf: OnceLock<Option<Bytes>>,
}

impl StoredObject {
    /// The object's namespace (empty for a cluster-scoped object).
    pub(crate) fn namespace(&self) -> &str {
        &self.key[..self.namespace_len]
    }

    /// The object as a protobuf message of `resource` (no envelope), encoded on first use and
    /// kept, as the JSON is serialized once; `None` for a kind without protobuf.
    pub(crate) fn protobuf(&self, resource: &ResourceType) -> Option<&Bytes> {
        self.protobuf
            .get_or_init(|| protobuf::message(resource, &self.item))
            .as_ref()
    }
}

/// One mutation of the world: the change that produced one resourceVersion, with its watch line
/// pre-rendered. The history keeps them and the live fan-out sends them; a watch turns each into
/// the event its watcher sees.
#[derive(Debug)]
pub(crate) struct Mutation {
    /// Namespace of the changed object.
    pub namespace: String,
    /// The resourceVersion this change produced.
    pub resource_version: u64,
    /// What happened.
    pub event_type: EventType,
    /// The object after the change (its last state for a deletion), as a list item.
    pub item: Bytes,
    /// The object before the change, for watchers with selectors (an object that stops
    /// matching is DELETED for them, one that starts matching is ADDED).
    pub previous: Option<Bytes>,
    /// The complete newline-terminated watch line.
    pub line: Bytes,
    /// The protobuf watch frame, encoded by the first protobuf watch that sends it.
    frame: OnceLock<Option<Bytes>>,
}

impl Mutation {
    /// This change as a protobuf watch frame of `resource` (transcript 20), encoded on first use
    /// and kept, as the JSON line is rendered once; `None` for a kind without protobuf.
    pub(crate) fn protobuf_frame(&self, resource: &ResourceType) -> Option<&Bytes> {
        self.frame
            .get_or_init(|| {
                let message = protobuf::message(resource, &self.item)?;
                let object = protobuf::envelope(&resource.api_version(), resource.kind, &message);
                Some(protobuf::watch_frame(self.event_type.as_str(), &object))
            })
            .as_ref()
    }
}

/// What the live fan-out carries.
#[derive(Debug, Clone)]
pub(crate) enum Broadcast {
    /// A mutation.
    Mutation(Arc<Mutation>),
    /// `World::bookmark_now` at this resourceVersion.
    Bookmark(u64),
    /// The world went back to a [`Backup`] (an etcd restore): open watches are past its
    /// resourceVersion and see nothing until it passes theirs.
    Restored,
}

/// The objects and resourceVersion of a world at one moment, to go back to with
/// [`World::restore`]: an etcd snapshot.
#[derive(Debug, Clone)]
pub struct Backup {
    pods: BTreeMap<String, Arc<StoredObject>>,
    resource_version: u64,
}

impl Backup {
    /// The resourceVersion the backup was taken at.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }
}

/// All pods at one resourceVersion, sorted by key.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The resourceVersion the snapshot was taken at.
    pub resource_version: u64,
    /// Objects in key order.
    pub pods: Vec<Arc<StoredObject>>,
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WatchStart {
    /// Synthetic ADDED for every current pod, then live events.
    Now,
    /// Every change after this resourceVersion.
    After(u64),
}

/// What a watch begins with, before live events.
#[derive(Debug)]
pub(crate) enum Initial {
    /// Current objects, to be sent as synthetic ADDED.
    Objects(Vec<Arc<StoredObject>>),
    /// The mutations after the requested resourceVersion, from the history, to replay.
    Mutations(Vec<Arc<Mutation>>),
}

/// An opened watch: its initial events and the live subscription that follows them.
#[derive(Debug)]
pub(crate) struct OpenedWatch {
    /// Sent first.
    pub initial: Initial,
    /// Live changes after `resource_version`.
    pub live: broadcast::Receiver<Broadcast>,
    /// The global resourceVersion when the watch was opened.
    pub resource_version: u64,
}

/// A watch from a resourceVersion the history no longer covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooOld {
    /// The resourceVersion asked for.
    pub requested: u64,
    /// The oldest resourceVersion a watch can still start from.
    pub oldest: u64,
}

/// What the world's lock guards.
#[derive(Debug)]
struct Locked {
    pods: BTreeMap<String, Arc<StoredObject>>,
    resource_version: u64,
    /// Watches from any resourceVersion >= `oldest` can be served from `history`.
    oldest: u64,
    history: VecDeque<Arc<Mutation>>,
    snapshots: VecDeque<Arc<Snapshot>>,
    /// The state the watch cache is held at ([`World::hold_watch_cache`]); `None` while it
    /// follows every change.
    held_cache: Option<Arc<Snapshot>>,
}

#[derive(Debug)]
struct Inner {
    resource: &'static ResourceType,
    state: Mutex<Locked>,
    live: broadcast::Sender<Broadcast>,
    history_limit: usize,
}

/// The fake cluster's world as one resource type sees it (pods unless made with [`World::of`];
/// the server keeps one per served type): a cheap `Clone` handle to its objects, resourceVersion
/// and watch history. Mutations are seen by lists and watches.
#[derive(Debug, Clone)]
pub struct World {
    inner: Arc<Inner>,
}

impl World {
    /// An empty world of pods keeping `history_limit` watch events for resumption. Live watchers that
    /// fall more than `history_limit` events behind are ended with a 410 (see the module docs).
    pub fn new(history_limit: usize) -> World {
        World::of(PODS, history_limit)
    }

    /// An empty store of `resource` objects, keeping `history_limit` watch events.
    pub fn of(resource: &'static ResourceType, history_limit: usize) -> World {
        let history_limit = history_limit.max(1);
        let (live, _) = broadcast::channel(history_limit);
        World {
            inner: Arc::new(Inner {
                resource,
                state: Mutex::new(Locked {
                    pods: BTreeMap::new(),
                    resource_version: 1,
                    oldest: 1,
                    history: VecDeque::new(),
                    snapshots: VecDeque::new(),
                    held_cache: None,
                }),
                live,
                history_limit,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource type this world stores.
    pub fn resource(&self) -> &'static ResourceType {
        self.inner.resource
    }

    /// The store key of `name` in `namespace` (`name` alone when cluster-scoped).
    fn key_of(&self, namespace: Option<&str>, name: &str) -> (String, usize) {
        match namespace.filter(|_| self.inner.resource.namespaced) {
            Some(namespace) => (format!("{namespace}/{name}"), namespace.len()),
            None => (name.to_owned(), 0),
        }
    }

    /// Stores a caller-provided object of this world's kind (ADDED, or MODIFIED if it
    /// exists) and returns the new resourceVersion. A namespaced object's
    /// `metadata.namespace` defaults to `default`; a cluster-scoped object's is removed.
    pub fn create_object(&self, object: Value) -> u64 {
        let mut object = match object {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        let mut namespace = None;
        if let Value::Object(metadata) = metadata {
            if self.inner.resource.namespaced {
                let value = metadata
                    .entry("namespace")
                    .or_insert_with(|| Value::from("default"));
                namespace = Some(value.as_str().unwrap_or("default").to_owned());
            } else {
                metadata.remove("namespace");
            }
        }
        let name = metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (key, namespace_len) = self.key_of(namespace.as_deref(), &name);
        let mut state = self.lock();
        let event_type = if state.pods.contains_key(&key) {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.put(&mut state, key, namespace_len, object, event_type)
    }

    /// Changes an object (its `sim.kreflect.dev/revision` annotation) and returns the new
    /// resourceVersion; `None` if it does not exist.
    pub fn update_object(&self, namespace: Option<&str>, name: &str) -> Option<u64> {
        let mut state = self.lock();
        self.modify(&mut state, &self.key_of(namespace, name).0)
    }

    /// Deletes an object; the DELETED event carries its last state with the new
    /// resourceVersion, which is returned. `None` if it does not exist.
    pub fn delete_object(&self, namespace: Option<&str>, name: &str) -> Option<u64> {
        let mut state = self.lock();
        let stored = state.pods.remove(&self.key_of(namespace, name).0)?;
        let rv = state.resource_version + 1;
        state.resource_version = rv;
        let item =
            revise(&stored.item, rv, None).unwrap_or_else(|| item_bytes(parse(&stored.item), rv));
        self.record(
            &mut state,
            Mutation {
                namespace: stored.namespace().to_owned(),
                resource_version: rv,
                event_type: EventType::Deleted,
                line: event_line(EventType::Deleted, &item, self.inner.resource),
                item,
                previous: Some(stored.item.clone()),
                frame: OnceLock::new(),
            },
        );
        Some(rv)
    }

    /// Creates a realistic pod (`realistic_pod(namespace, name, 0)`) and returns the new
    /// resourceVersion; if the pod exists, behaves as `update_pod` (a MODIFIED event).
    pub fn create_pod(&self, namespace: &str, name: &str) -> u64 {
        let mut state = self.lock();
        let key = format!("{namespace}/{name}");
        if let Some(rv) = self.modify(&mut state, &key) {
            return rv;
        }
        let pod = realistic_pod_object(namespace, name, 0);
        self.put(&mut state, key, namespace.len(), pod, EventType::Added)
    }

    /// Stores a caller-provided pod (ADDED, or MODIFIED if `namespace/name` exists) and returns
    /// the new resourceVersion: [`World::create_object`] for pods.
    pub fn create_pod_with(&self, pod: Value) -> u64 {
        self.create_object(pod)
    }

    /// Changes the pod (sets the `sim.kreflect.dev/revision` annotation to the new
    /// resourceVersion) and returns the new resourceVersion; `None` if it does not exist.
    pub fn update_pod(&self, namespace: &str, name: &str) -> Option<u64> {
        self.update_object(Some(namespace), name)
    }

    /// Deletes the pod; the DELETED event carries its last state with the new resourceVersion,
    /// which is returned. `None` if it does not exist.
    pub fn delete_pod(&self, namespace: &str, name: &str) -> Option<u64> {
        self.delete_object(Some(namespace), name)
    }

    /// All pod keys (`namespace/name`), sorted bytewise.
    pub fn keys(&self) -> Vec<String> {
        self.lock().pods.keys().cloned().collect()
    }

    /// The keys of the pods in `namespace`, sorted bytewise.
    pub fn keys_in(&self, namespace: &str) -> Vec<String> {
        let state = self.lock();
        let prefix = format!("{namespace}/");
        state
            .pods
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Every pod as `(key, list-item JSON)`, sorted by key: the server's truth, for comparing
    /// a client's cache object by object.
    pub fn items(&self) -> Vec<(String, Bytes)> {
        let state = self.lock();
        state
            .pods
            .iter()
            .map(|(key, pod)| (key.clone(), pod.item.clone()))
            .collect()
    }

    /// The number of pods.
    pub fn len(&self) -> usize {
        self.lock().pods.len()
    }

    /// Whether there are no pods.
    pub fn is_empty(&self) -> bool {
        self.lock().pods.is_empty()
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    /// Forgets all watch history and list snapshots: watches from any older resourceVersion are
    /// now answered "too old" and outstanding continue tokens expire. Open watches continue.
    pub fn compact(&self) {
        let mut state = self.lock();
        state.history.clear();
        state.snapshots.clear();
        state.oldest = state.resource_version;
        tracing::debug!(rv = state.resource_version, "compacted");
    }

    /// The objects and resourceVersion now, to [`World::restore`] later (an etcd snapshot).
    pub fn backup(&self) -> Backup {
        let state = self.lock();
        Backup {
            pods: state.pods.clone(),
            resource_version: state.resource_version,
        }
    }

    /// Goes back to `backup`, as an etcd snapshot restored under a running API server: the
    /// objects and the resourceVersion are the backup's (older than what clients hold), watch
    /// history and list snapshots are gone, and the next change gets the backup's
    /// resourceVersion + 1 again. Open watches stay open and, as the real server's do (its watch
    /// cache drops every event at or below a watcher's resourceVersion), see nothing, not even a
    /// bookmark, until the resourceVersion passes theirs; so does a new watch from a
    /// resourceVersion the world has not reached (transcript 33).
    pub fn restore(&self, backup: &Backup) {
        let mut state = self.lock();
        state.pods = backup.pods.clone();
        state.resource_version = backup.resource_version;
        state.oldest = backup.resource_version;
        state.history.clear();
        state.snapshots.clear();
        // No receivers is fine: nobody is watching.
        let _ = self.inner.live.send(Broadcast::Restored);
        tracing::debug!(rv = backup.resource_version, "restored a backup");
    }

    /// Sends a BOOKMARK at the current resourceVersion to every open watch that allowed them.
    pub fn bookmark_now(&self) {
        let state = self.lock();
        // No receivers is fine: nobody to tell.
        let _ = self
            .inner
            .live
            .send(Broadcast::Bookmark(state.resource_version));
    }

    /// The oldest resourceVersion a watch can still start from.
    pub(crate) fn oldest_resource_version(&self) -> u64 {
        self.lock().oldest
    }

    /// A snapshot at the current resourceVersion. With `keep`, it is remembered for continue
    /// tokens (the newest `SNAPSHOTS_KEPT` are).
    pub(crate) fn snapshot(&self, keep: bool) -> Arc<Snapshot> {
        let mut state = self.lock();
        if let Some(latest) = state.snapshots.back()
            && latest.resource_version == state.resource_version
        {
            return Arc::clone(latest);
        }
        let snapshot = Arc::new(Snapshot {
            resource_version: state.resource_version,
            pods: state.pods.values().cloned().collect(),
        });
        if keep {
            if state.snapshots.len() == SNAPSHOTS_KEPT {
                state.snapshots.pop_front();
            }
            state.snapshots.push_back(Arc::clone(&snapshot));
        }
        snapshot
    }

    /// Holds the watch cache at the current state: the lists it serves (`resourceVersion=0`,
    /// and `NotOlderThan` without a `limit`) answer this state, however the world changes, until
    /// [`World::release_watch_cache`], as a real watch cache that has fallen behind etcd does
    /// (it lags by moments; held, a test can see what a list from it misses). Watches are not
    /// affected: they replay the history, so a watch from the held state brings a client to the
    /// present.
    pub fn hold_watch_cache(&self) {
        let held = self.snapshot(false);
        self.lock().held_cache = Some(held);
    }

    /// Lets the watch cache follow every change again.
    pub fn release_watch_cache(&self) {
        self.lock().held_cache = None;
    }

    /// What the watch cache serves: the held state, or the current one.
    pub(crate) fn watch_cache(&self) -> Arc<Snapshot> {
        if let Some(held) = &self.lock().held_cache {
            return Arc::clone(held);
        }
        self.snapshot(false)
    }

    /// The remembered snapshot taken at `resource_version`, if still kept.
    pub(crate) fn snapshot_at(&self, resource_version: u64) -> Option<Arc<Snapshot>> {
        self.lock()
            .snapshots
            .iter()
            .find(|s| s.resource_version == resource_version)
            .cloned()
    }

    /// Opens a watch on `namespace` (all when `None`): its initial events and the live
    /// subscription, taken atomically.
    pub(crate) fn open_watch(
        &self,
        namespace: Option<&str>,
        start: WatchStart,
    ) -> Result<OpenedWatch, TooOld> {
        let state = self.lock();
        let in_scope = |ns: &str| namespace.is_none_or(|wanted| wanted == ns);
        let initial = match start {
            WatchStart::Now => Initial::Objects(
                state
                    .pods
                    .values()
                    .filter(|pod| in_scope(pod.namespace()))
                    .cloned()
                    .collect(),
            ),
            WatchStart::After(requested) => {
                if requested < state.oldest {
                    return Err(TooOld {
                        requested,
                        oldest: state.oldest,
                    });
                }
                let first = state
                    .history
                    .partition_point(|e| e.resource_version <= requested);
                Initial::Mutations(
                    state
                        .history
                        .range(first..)
                        .filter(|e| in_scope(&e.namespace))
                        .cloned()
                        .collect(),
                )
            }
        };
        Ok(OpenedWatch {
            initial,
            live: self.inner.live.subscribe(),
            resource_version: state.resource_version,
        })
    }

    /// MODIFIED for an existing pod; `None` if absent.
    fn modify(&self, state: &mut Locked, key: &str) -> Option<u64> {
        let stored = state.pods.get(key)?;
        let namespace_len = stored.namespace_len;
        let rv = state.resource_version + 1;
        let revision = rv.to_string();
        let item =
            revise(&stored.item, rv, Some((REVISION_ANNOTATION, &revision))).unwrap_or_else(|| {
                let mut pod = parse(&stored.item);
                if let Some(Value::Object(metadata)) = pod.get_mut("metadata") {
                    let annotations = metadata
                        .entry("annotations")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(annotations) = annotations {
                        annotations.insert(REVISION_ANNOTATION.to_owned(), Value::from(revision));
                    }
                }
                item_bytes(pod, rv)
            });
        Some(self.store(
            state,
            key.to_owned(),
            namespace_len,
            item,
            EventType::Modified,
        ))
    }

    /// Stores `pod` under `key` at the next resourceVersion and publishes the event.
    fn put(
        &self,
        state: &mut Locked,
        key: String,
        namespace_len: usize,
        pod: Map<String, Value>,
        event_type: EventType,
    ) -> u64 {
        let item = item_bytes(pod, state.resource_version + 1);
        self.store(state, key, namespace_len, item, event_type)
    }

    /// Stores `item` (serialized at the next resourceVersion) under `key`, advances the
    /// resourceVersion and publishes the event.
    fn store(
        &self,
        state: &mut Locked,
        key: String,
        namespace_len: usize,
        item: Bytes,
        event_type: EventType,
    ) -> u64 {
        let rv = state.resource_version + 1;
        state.resource_version = rv;
        let line = event_line(event_type, &item, self.inner.resource);
        let stored = Arc::new(StoredObject {
            key,
            namespace_len,
            item: item.clone(),
            protobuf: OnceLock::new(),
        });
        let namespace = stored.namespace().to_owned();
        let previous = state
            .pods
            .insert(stored.key.clone(), stored)
            .map(|previous| previous.item.clone());
        self.record(
            state,
            Mutation {
                namespace,
                resource_version: rv,
                event_type,
                item,
                previous,
                line,
                frame: OnceLock::new(),
            },
        );
        rv
    }

    /// Appends to the history (evicting the oldest) and broadcasts.
    fn record(&self, state: &mut Locked, mutation: Mutation) {
        let mutation = Arc::new(mutation);
        if state.history.len() == self.inner.history_limit
            && let Some(evicted) = state.history.pop_front()
        {
            state.oldest = evicted.resource_version;
        }
        state.history.push_back(Arc::clone(&mutation));
        // No receivers is fine: nobody is watching.
        let _ = self.inner.live.send(Broadcast::Mutation(mutation));
    }
}

/// Parses a stored item back into an object. Stored items are our own serialization of an
/// object, so this cannot fail; an empty object is the defensive fallback.
fn parse(item: &[u8]) -> Map<String, Value> {
    serde_json::from_slice(item).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_bump_the_resource_version_and_keep_keys_sorted() {
        let world = World::new(100);
        let start = world.resource_version();
        let a = world.create_pod("b", "x");
        let b = world.create_pod("a-z", "y");
        let c = world.create_pod("a", "z");
        assert_eq!((a, b, c), (start + 1, start + 2, start + 3));
        assert_eq!(world.keys(), vec!["a-z/y", "a/z", "b/x"]);
        assert_eq!(world.keys_in("a"), vec!["a/z"]);
        assert_eq!(world.update_pod("a", "z"), Some(start + 4));
        assert_eq!(world.update_pod("a", "nope"), None);
        assert_eq!(world.delete_pod("a", "z"), Some(start + 5));
        assert_eq!(world.delete_pod("a", "z"), None);
        assert_eq!(world.len(), 2);
        assert!(!world.is_empty());
    }

    #[test]
    fn history_beyond_the_limit_is_too_old() {
        let world = World::new(2);
        let before = world.resource_version();
        for i in 0..4 {
            world.create_pod("ns", &format!("p{i}"));
        }
        let err = world
            .open_watch(None, WatchStart::After(before))
            .unwrap_err();
        assert_eq!(err.oldest, before + 2);
        let ok = world
            .open_watch(None, WatchStart::After(before + 2))
            .unwrap();
        let Initial::Mutations(events) = ok.initial else {
            panic!("expected events")
        };
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn caller_provided_pods_default_their_namespace() {
        let world = World::new(10);
        let rv = world.create_pod_with(serde_json::json!({"metadata":{"name":"x"}}));
        assert_eq!(world.keys(), vec!["default/x"]);
        let snapshot = world.snapshot(false);
        let item: Value = serde_json::from_slice(&snapshot.pods[0].item).unwrap();
        assert_eq!(item["metadata"]["resourceVersion"], rv.to_string());
        assert_eq!(item["metadata"]["namespace"], "default");
    }

    #[test]
    fn revise_sets_the_version_and_annotation_and_keeps_the_rest() {
        let pod = realistic_pod_object("ns", "p", 1);
        let item = item_bytes(pod.clone(), 3);
        let revised = revise(&item, 9, Some(("x/y", "9"))).expect("revisable");
        let mut expected = pod;
        expected.remove("kind");
        expected.remove("apiVersion");
        expected["metadata"]["resourceVersion"] = "9".into();
        expected["metadata"]["annotations"]["x/y"] = "9".into();
        let revised: Value = serde_json::from_slice(&revised).expect("json");
        assert_eq!(revised, Value::Object(expected));
        let bare = revise(br#"{"metadata":{"name":"a"}}"#, 4, Some(("k", "v"))).expect("bare");
        assert_eq!(
            bare,
            r#"{"metadata":{"annotations":{"k":"v"},"name":"a","resourceVersion":"4"}}"#
        );
        assert_eq!(revise(br#"{"metadata":{"na\u006de":"a"}}"#, 4, None), None);
        assert_eq!(revise(b"[]", 4, None), None);
    }
}
