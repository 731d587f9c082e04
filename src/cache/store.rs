//! The cache: a HashMap of objects keyed `namespace/name`, with one [`Writer`] (the reflector)
//! and any number of cheap [`Store`] read handles.
//!
//! Readers take snapshots (the sorted keys, or one object) under a short read lock that is never
//! held across an `.await`. A relist replaces the whole map in one step, so an object deleted while
//! the watch was down cannot survive it, and no reader ever sees half a relist.
//!
//! A writer can also publish every change it makes ([`Writer::changes`]), for `--events`: a
//! relist publishes the differences it found, so a consumer's view stays right. The changes go
//! through a bounded queue ([`CHANGES_CAPACITY`]): when the consumer falls behind (a stdout
//! nobody reads), the changing methods wait for room, so the reflector stops reading its watch
//! and the server is held back by TCP flow control, as `kubectl get -w` is. Memory stays bounded
//! whatever the consumer does.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{mpsc, watch};

use crate::wire::object::{ObjectKey, RawObject, TableColumns};

type Objects = HashMap<ObjectKey, Arc<RawObject>>;

/// How many published changes may wait for their consumer before the writer waits too.
///
/// A change is a key and a resourceVersion (at most a few hundred bytes; with a template, also
/// its object, shared with the store but for a deletion), so a full queue is well under 1 MiB; 1024 is also more than a watch delivers between two writes of a healthy
/// stdout, so a reader that keeps up never makes the reflector wait.
pub const CHANGES_CAPACITY: usize = 1024;

/// The objects and the resourceVersion they are current at, changed together.
#[derive(Default)]
struct Contents {
    objects: Objects,
    resource_version: String,
    /// The columns of the server-side Table listed last (`-o wide`), which a list defines
    /// even when it has no rows: the header of an empty listing.
    table_columns: Option<Arc<TableColumns>>,
}

struct Shared {
    contents: RwLock<Contents>,
    synced: watch::Sender<bool>,
    /// Set when the reflector gave up for good ([`Writer::abandon`]).
    abandoned: watch::Sender<bool>,
}

/// What a change did to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The key appeared.
    Added,
    /// The key's object changed.
    Modified,
    /// The key disappeared.
    Deleted,
    /// Not a change of a key: a complete list replaced the store (the initial one, or a relist)
    /// and every change it made was published before this. `key` is empty, `resource_version`
    /// the list's.
    Synced,
    /// Not a change of a key: a BOOKMARK moved the collection to `resource_version`, every
    /// change before it having been published. Published only to a consumer that asked for it
    /// ([`Writer::publish_bookmarks`]: `--state` follows where the collection is). `key` is
    /// empty.
    Bookmark,
}

impl ChangeType {
    /// The watch event name: `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
            ChangeType::Synced => "SYNCED",
            ChangeType::Bookmark => "BOOKMARK",
        }
    }
}

/// One change applied to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What happened to the key.
    pub change_type: ChangeType,
    /// The key.
    pub key: ObjectKey,
    /// The object's resourceVersion (its last one, for a deletion).
    pub resource_version: String,
    /// The object (its last state, for a deletion), when the consumer asked for objects
    /// ([`Writer::changes_with_objects`]: a template prints from them).
    pub object: Option<Arc<RawObject>>,
    /// Whether a list published it, as one of its differences from what the store had
    /// ([`Writer::replace`]): its resourceVersion is its object's, not one the collection is
    /// known to be at, until the [`ChangeType::Synced`] marker that ends the list's changes.
    /// A watch event's resourceVersion is where the collection is once it is applied.
    pub listed: bool,
}

impl Change {
    /// The change of `object`, carrying `carried` (the object shared, when objects are asked
    /// for).
    fn of(change_type: ChangeType, object: &RawObject, carried: Option<Arc<RawObject>>) -> Change {
        Change {
            change_type,
            key: object.key().clone(),
            resource_version: object.resource_version().to_owned(),
            object: carried,
            listed: false,
        }
    }

    /// [`Change::of`], published by a list ([`Change::listed`]).
    fn listed(
        change_type: ChangeType,
        object: &RawObject,
        carried: Option<Arc<RawObject>>,
    ) -> Change {
        Change {
            listed: true,
            ..Change::of(change_type, object, carried)
        }
    }
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, Contents> {
        // A panic while holding the lock cannot leave the map half-written (every write is a
        // single insert, remove or swap), so a poisoned lock still guards consistent data.
        self.contents
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Contents> {
        self.contents
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Creates an empty cache: the writer for the reflector and a read handle for everyone else.
///
/// ```
/// use kreflect::cache::store::new_store;
/// use kreflect::wire::object::RawObject;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kreflect::wire::object::ObjectError> {
/// let (mut writer, store) = new_store();
/// let web = br#"{"metadata":{"namespace":"shop","name":"web-1","resourceVersion":"7"}}"#;
/// writer.replace(vec![RawObject::from_json(web, "Pod")?], "7").await;
/// assert!(store.is_synced());
/// let keys: Vec<String> = store.sorted_keys().iter().map(ToString::to_string).collect();
/// assert_eq!(keys, ["shop/web-1"]);
/// assert_eq!(store.resource_version(), "7");
/// # Ok(())
/// # }
/// ```
pub fn new_store() -> (Writer, Store) {
    let shared = Arc::new(Shared {
        contents: RwLock::new(Contents::default()),
        synced: watch::Sender::new(false),
        abandoned: watch::Sender::new(false),
    });
    (
        Writer {
            shared: Arc::clone(&shared),
            changes: None,
            changes_carry_objects: false,
            bookmarks_published: false,
        },
        Store { shared },
    )
}

/// The only handle that changes the cache. Not `Clone`: the reflector owns it.
pub struct Writer {
    shared: Arc<Shared>,
    changes: Option<mpsc::Sender<Change>>,
    /// Whether each published change carries its object.
    changes_carry_objects: bool,
    /// Whether bookmarks are published too ([`ChangeType::Bookmark`]).
    bookmarks_published: bool,
}

impl Writer {
    /// Says that nothing will keep this store true any more: its reflector stopped on an error
    /// retrying cannot fix (a 403, say). A run watching several clusters leaves it out of its
    /// listings from then on, and stops waiting for it to sync.
    pub fn abandon(&mut self) {
        self.shared.abandoned.send_replace(true);
    }

    /// From now on, every change is also sent to the returned receiver (for `--events`), which
    /// holds at most [`CHANGES_CAPACITY`] of them: the methods that change the store wait for
    /// room once it is full. Closing or dropping the receiver stops the publishing.
    pub fn changes(&mut self) -> mpsc::Receiver<Change> {
        let (sender, receiver) = mpsc::channel(CHANGES_CAPACITY);
        self.changes = Some(sender);
        self.changes_carry_objects = false;
        receiver
    }

    /// [`Writer::changes`], each change carrying its object ([`Change::object`]): what a
    /// template prints. A queued change keeps its object alive, a deleted one too, until it is
    /// printed.
    pub fn changes_with_objects(&mut self) -> mpsc::Receiver<Change> {
        let receiver = self.changes();
        self.changes_carry_objects = true;
        receiver
    }

    /// From now on, a bookmark that moves the store's resourceVersion
    /// ([`Writer::set_resource_version`]) is published too, as a [`ChangeType::Bookmark`]
    /// marker: a consumer that saves where the collection is (`--state`) learns how far it has
    /// got where nothing of its own changes.
    pub fn publish_bookmarks(&mut self) {
        self.bookmarks_published = true;
    }

    /// `object` to carry in a change, when changes carry objects.
    fn carried(&self, object: &Arc<RawObject>) -> Option<Arc<RawObject>> {
        self.changes_carry_objects.then(|| Arc::clone(object))
    }

    /// Sends one change, waiting for room in the queue. The store has already changed, so
    /// readers never wait for the consumer.
    async fn publish(&self, change_type: ChangeType, object: &Arc<RawObject>) {
        if let Some(changes) = &self.changes {
            let change = Change::of(change_type, object, self.carried(object));
            // A consumer that went away wants no more changes; the store goes on.
            let _ = changes.send(change).await;
        }
    }

    /// Inserts or replaces an object (watch ADDED / MODIFIED) and moves the store's
    /// resourceVersion to the object's; then publishes the change, waiting for room.
    pub async fn upsert(&mut self, object: RawObject) {
        let key = object.key().clone();
        let object = Arc::new(object);
        let previous = {
            let mut contents = self.shared.write();
            set_resource_version(&mut contents, object.resource_version());
            contents.objects.insert(key, Arc::clone(&object))
        };
        let change_type = match previous {
            Some(_) => ChangeType::Modified,
            None => ChangeType::Added,
        };
        self.publish(change_type, &object).await;
    }

    /// Fills the store with what an earlier run knew (`--state`: objects known by key and
    /// resourceVersion, [`RawObject::remembered`]) at `resource_version`, without marking it
    /// synced or publishing anything: they are the past a watch resumed from there brings up
    /// to date, or a list is compared with ([`Writer::replace`] publishes the differences).
    pub fn seed(&mut self, objects: Vec<RawObject>, resource_version: &str) {
        let mut contents = self.shared.write();
        contents.objects = objects
            .into_iter()
            .map(|object| (object.key().clone(), Arc::new(object)))
            .collect();
        set_resource_version(&mut contents, resource_version);
    }

    /// Marks the store synced without a list: a watch resumed from a seeded store
    /// ([`Writer::seed`]) has brought it up to date. Publishes a [`ChangeType::Synced`]
    /// marker at the store's resourceVersion, as a list does.
    pub async fn mark_synced(&mut self) {
        let resource_version = self.shared.read().resource_version.clone();
        self.shared.synced.send_replace(true);
        if let Some(changes) = &self.changes {
            let synced = Change {
                change_type: ChangeType::Synced,
                key: ObjectKey::new(None, ""),
                resource_version,
                object: None,
                listed: false,
            };
            // A consumer that went away wants no more changes; the store goes on.
            let _ = changes.send(synced).await;
        }
    }

    /// Removes an object (watch DELETED); returns whether it was cached. A removal is published
    /// like [`Writer::upsert`]'s change.
    pub async fn remove(&mut self, deleted: &RawObject) -> bool {
        let removed = {
            let mut contents = self.shared.write();
            set_resource_version(&mut contents, deleted.resource_version());
            contents.objects.remove(deleted.key())
        };
        let Some(removed) = removed else {
            return false;
        };
        // The event's object, the last state; the cached one when objects are not carried (only
        // its key and the event's resourceVersion go out then).
        let last = if self.changes_carry_objects {
            Arc::new(deleted.clone())
        } else {
            removed
        };
        if let Some(changes) = &self.changes {
            let mut change = Change::of(ChangeType::Deleted, deleted, self.carried(&last));
            change.resource_version = deleted.resource_version().to_owned();
            // A consumer that went away wants no more changes; the store goes on.
            let _ = changes.send(change).await;
        }
        true
    }

    /// A snapshot of all cached objects, in no particular order (what [`Store::objects`] gives
    /// a reader), for the reflector to compare with a list before it replaces them.
    pub fn objects(&self) -> Vec<Arc<RawObject>> {
        self.shared.read().objects.values().cloned().collect()
    }

    /// Records the columns of the server-side Table listed last (`None`: no Table), for
    /// [`Store::table_columns`]. Set before [`Writer::replace`], so a listing printed once the
    /// store is synced has them.
    pub fn set_table_columns(&mut self, columns: Option<Arc<TableColumns>>) {
        self.shared.write().table_columns = columns;
    }

    /// Records that the store is current at `resource_version` (a BOOKMARK); publishes it, when
    /// asked to ([`Writer::publish_bookmarks`]), waiting for room.
    pub async fn set_resource_version(&mut self, resource_version: &str) {
        set_resource_version(&mut self.shared.write(), resource_version);
        if let (true, Some(changes)) = (self.bookmarks_published, &self.changes) {
            let bookmark = Change {
                change_type: ChangeType::Bookmark,
                key: ObjectKey::new(None, ""),
                resource_version: resource_version.to_owned(),
                object: None,
                listed: false,
            };
            // A consumer that went away wants no more changes; the store goes on.
            let _ = changes.send(bookmark).await;
        }
    }

    /// Replaces the whole contents with the result of a list at `resource_version`, in one
    /// step, and marks the cache synced. The new map is built before the lock is taken; the old
    /// one is compared (when changes are published) and freed after. The differences are
    /// published after the swap (and after marking the cache synced), waiting for room, then a
    /// [`ChangeType::Synced`] marker.
    pub async fn replace(&mut self, objects: Vec<RawObject>, resource_version: &str) {
        let mut fresh: Objects = HashMap::with_capacity(objects.len());
        for object in objects {
            fresh.insert(object.key().clone(), Arc::new(object));
        }
        let stale = {
            let mut contents = self.shared.write();
            set_resource_version(&mut contents, resource_version);
            std::mem::replace(&mut contents.objects, fresh)
        };
        self.shared.synced.send_replace(true);
        let Some(changes) = &self.changes else {
            return;
        };
        let differences = self.differences(&stale);
        drop(stale);
        let synced = Change {
            change_type: ChangeType::Synced,
            key: ObjectKey::new(None, ""),
            resource_version: resource_version.to_owned(),
            object: None,
            listed: false,
        };
        for change in differences.into_iter().chain([synced]) {
            // A consumer that went away wants no more changes; the store goes on.
            if changes.send(change).await.is_err() {
                break;
            }
        }
    }

    /// What a relist changed relative to `stale`, in key order: keys and resourceVersions, so
    /// no stale object outlives the swap unless changes carry objects (then a deleted one lives
    /// until its change is printed). Taken under the read lock,
    /// which is released before anything is published.
    fn differences(&self, stale: &Objects) -> Vec<Change> {
        let contents = self.shared.read();
        let mut differences: Vec<Change> = Vec::new();
        for (key, object) in &contents.objects {
            match stale.get(key) {
                None => {
                    let carried = self.carried(object);
                    differences.push(Change::listed(ChangeType::Added, object, carried));
                }
                Some(old) if old.resource_version() != object.resource_version() => {
                    let carried = self.carried(object);
                    differences.push(Change::listed(ChangeType::Modified, object, carried));
                }
                Some(_) => {}
            }
        }
        for (key, object) in stale {
            if !contents.objects.contains_key(key) {
                let carried = self.carried(object);
                differences.push(Change::listed(ChangeType::Deleted, object, carried));
            }
        }
        drop(contents);
        differences.sort_by(|a, b| a.key.cmp(&b.key));
        differences
    }
}

/// The first 16 bytes of a key as a big-endian number, zero-padded: ordering by it agrees with
/// bytewise ordering of the keys wherever it decides (keys hold no NUL bytes).
fn sort_prefix(key: &ObjectKey) -> u128 {
    let mut prefix = [0u8; 16];
    let bytes = key.as_str().as_bytes();
    let len = bytes.len().min(16);
    prefix[..len].copy_from_slice(&bytes[..len]);
    u128::from_be_bytes(prefix)
}

fn set_resource_version(contents: &mut Contents, resource_version: &str) {
    if !resource_version.is_empty() {
        resource_version.clone_into(&mut contents.resource_version);
    }
}

/// A cheap, cloneable read handle on the cache.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl Store {
    /// The object cached under `key`.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<RawObject>> {
        self.shared.read().objects.get(key).cloned()
    }

    /// Number of cached objects.
    pub fn object_count(&self) -> usize {
        self.shared.read().objects.len()
    }

    /// A snapshot of all keys, sorted bytewise as printed.
    pub fn sorted_keys(&self) -> Vec<ObjectKey> {
        self.sorted_keys_and_version().0
    }

    /// A snapshot of all keys, sorted bytewise, and the resourceVersion they are current at.
    pub fn sorted_keys_and_version(&self) -> (Vec<ObjectKey>, String) {
        let (mut keyed, resource_version) = {
            let contents = self.shared.read();
            let keyed: Vec<(u128, ObjectKey)> = contents
                .objects
                .keys()
                .map(|key| (sort_prefix(key), key.clone()))
                .collect();
            (keyed, contents.resource_version.clone())
        };
        // Most comparisons are settled by the in-place prefix, without following the pointers.
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let keys = keyed.into_iter().map(|(_, key)| key).collect();
        (keys, resource_version)
    }

    /// A snapshot of every cached object, sorted by key, and the resourceVersion they are
    /// current at, taken together (what `--state` saves: each object's resourceVersion, and
    /// where a watch resumes from).
    pub fn sorted_objects_and_version(&self) -> (Vec<Arc<RawObject>>, String) {
        let (mut objects, resource_version) = {
            let contents = self.shared.read();
            let objects: Vec<Arc<RawObject>> = contents.objects.values().cloned().collect();
            (objects, contents.resource_version.clone())
        };
        objects.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        (objects, resource_version)
    }

    /// The resourceVersion the cache is current at (empty before the first list).
    pub fn resource_version(&self) -> String {
        self.shared.read().resource_version.clone()
    }

    /// A snapshot of all cached objects, in no particular order.
    pub fn objects(&self) -> Vec<Arc<RawObject>> {
        self.shared.read().objects.values().cloned().collect()
    }

    /// The columns of the server-side Table listed last (`-o wide`), which an empty listing is
    /// shown under; `None` when the source asks for no Table or the server makes none.
    pub fn table_columns(&self) -> Option<Arc<TableColumns>> {
        self.shared.read().table_columns.clone()
    }

    /// Whether the first complete list has been stored.
    pub fn is_synced(&self) -> bool {
        *self.shared.synced.borrow()
    }

    /// Waits until the first complete list has been stored.
    pub async fn wait_synced(&self) {
        let mut synced = self.shared.synced.subscribe();
        // The sender lives as long as `self`, so this only returns once synced.
        let _ = synced.wait_for(|synced| *synced).await;
    }

    /// Whether its reflector gave up for good ([`Writer::abandon`]): what it holds is no
    /// longer kept true.
    pub fn is_abandoned(&self) -> bool {
        *self.shared.abandoned.borrow()
    }

    /// Waits until the store is synced or abandoned: nothing more to wait for.
    pub async fn wait_settled(&self) {
        let mut abandoned = self.shared.abandoned.subscribe();
        tokio::select! {
            () = self.wait_synced() => {}
            _ = abandoned.wait_for(|abandoned| *abandoned) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::pod;

    fn printed(store: &Store) -> Vec<String> {
        store
            .sorted_keys()
            .iter()
            .map(|key| key.to_string())
            .collect()
    }

    #[tokio::test]
    async fn objects_is_a_snapshot_of_every_cached_object() {
        let (mut writer, store) = new_store();
        writer.upsert(pod("b/x", 1)).await;
        writer.upsert(pod("a/y", 2)).await;
        let snapshot = store.objects();
        writer.upsert(pod("c/z", 3)).await;
        let mut versions: Vec<(String, &str)> = snapshot
            .iter()
            .map(|object| (object.key().to_string(), object.resource_version()))
            .collect();
        versions.sort();
        assert_eq!(
            versions,
            [("a/y".to_owned(), "2"), ("b/x".to_owned(), "1")],
            "later changes do not reach a snapshot taken before them"
        );
        assert_eq!(store.objects().len(), 3);
    }

    #[tokio::test]
    async fn upsert_and_remove_are_seen_by_every_read_handle() {
        let (mut writer, store) = new_store();
        let other = store.clone();
        writer.upsert(pod("b/x", 1)).await;
        writer.upsert(pod("a/y", 2)).await;
        writer.upsert(pod("a/y", 3)).await;
        assert_eq!(printed(&other), ["a/y", "b/x"]);
        let key = ObjectKey::new(Some("a"), "y");
        assert_eq!(
            store.get(&key).map(|o| o.resource_version().to_owned()),
            Some("3".into())
        );
        assert_eq!(store.resource_version(), "3");
        assert!(writer.remove(&pod("a/y", 4)).await);
        assert!(!writer.remove(&pod("a/y", 5)).await);
        assert_eq!(printed(&store), ["b/x"]);
        assert_eq!(store.object_count(), 1);
        writer.set_resource_version("9").await;
        assert_eq!(store.sorted_keys_and_version().1, "9");
    }

    #[tokio::test]
    async fn relist_drops_pods_deleted_while_disconnected() {
        let (mut writer, store) = new_store();
        writer
            .replace(vec![pod("a/kept", 1), pod("a/deleted-meanwhile", 2)], "2")
            .await;
        writer
            .replace(vec![pod("a/kept", 3), pod("a/new", 4)], "5")
            .await;
        assert_eq!(printed(&store), ["a/kept", "a/new"]);
        assert_eq!(store.resource_version(), "5");
        let kept = store.get(&ObjectKey::new(Some("a"), "kept")).expect("kept");
        assert_eq!(kept.resource_version(), "3");
    }

    #[test]
    fn every_handle_reads_the_table_columns_listed_last_and_none_once_tables_stop() {
        let (mut writer, store) = new_store();
        assert!(store.table_columns().is_none(), "nothing listed yet");
        let listed = TableColumns::new(Vec::new());
        writer.set_table_columns(Some(Arc::clone(&listed)));
        let read = store.clone().table_columns().expect("the columns listed");
        assert!(Arc::ptr_eq(&read, &listed));
        // The server answered the next list plainly (a 406): kreflect's own header again.
        writer.set_table_columns(None);
        assert!(store.table_columns().is_none());
    }

    #[tokio::test]
    async fn synced_only_after_the_first_complete_list() {
        let (mut writer, store) = new_store();
        writer.upsert(pod("a/x", 1)).await;
        assert!(!store.is_synced());
        let waiter = tokio::spawn({
            let store = store.clone();
            async move {
                store.wait_synced().await;
                store.object_count()
            }
        });
        writer
            .replace(vec![pod("a/x", 1), pod("a/y", 2)], "2")
            .await;
        assert_eq!(waiter.await.expect("waiter"), 2);
        assert!(store.is_synced());
    }

    #[tokio::test]
    async fn changes_carry_their_objects_only_when_asked_and_a_deletion_its_last_state() {
        let (mut writer, _store) = new_store();
        let mut plain = writer.changes();
        writer.upsert(pod("a/x", 1)).await;
        assert_eq!(plain.recv().await.expect("a change").object, None);
        let mut changes = writer.changes_with_objects();
        writer.replace(vec![pod("a/y", 2)], "2").await;
        let mut relisted = Vec::new();
        for _ in 0..2 {
            relisted.push(changes.recv().await.expect("a difference"));
        }
        let carried: Vec<(ChangeType, String)> = relisted
            .iter()
            .map(|change| {
                let object = change.object.as_ref().expect("carried");
                (change.change_type, object.key().to_string())
            })
            .collect();
        assert_eq!(
            carried,
            [
                (ChangeType::Deleted, "a/x".to_owned()),
                (ChangeType::Added, "a/y".to_owned())
            ]
        );
        let marker = changes.recv().await.expect("the marker");
        assert_eq!(marker.change_type, ChangeType::Synced);
        assert_eq!(
            (marker.resource_version.as_str(), marker.object),
            ("2", None)
        );
        writer.remove(&pod("a/y", 3)).await;
        let deleted = changes.recv().await.expect("the deletion");
        let last = deleted.object.expect("carried");
        assert_eq!(
            last.resource_version(),
            "3",
            "the event's object, its last state"
        );
        assert_eq!(deleted.resource_version, "3");
    }

    #[tokio::test]
    async fn changes_are_published_and_a_relist_publishes_its_differences() {
        let (mut writer, _store) = new_store();
        let mut changes = writer.changes();
        writer
            .replace(vec![pod("a/x", 1), pod("a/y", 2)], "2")
            .await;
        writer.upsert(pod("a/z", 3)).await;
        writer.upsert(pod("a/z", 4)).await;
        writer.remove(&pod("a/x", 5)).await;
        writer.remove(&pod("a/never-cached", 6)).await;
        writer
            .replace(vec![pod("a/y", 2), pod("a/z", 7), pod("b/new", 8)], "8")
            .await;
        let mut seen = Vec::new();
        while let Ok(change) = changes.try_recv() {
            seen.push(format!(
                "{} {} {}",
                change.change_type.as_str(),
                change.key,
                change.resource_version
            ));
        }
        assert_eq!(
            seen,
            [
                "ADDED a/x 1",
                "ADDED a/y 2",
                "SYNCED  2",
                "ADDED a/z 3",
                "MODIFIED a/z 4",
                "DELETED a/x 5",
                "MODIFIED a/z 7",
                "ADDED b/new 8",
                "SYNCED  8",
            ]
        );
    }

    #[tokio::test]
    async fn a_full_changes_queue_makes_the_writer_wait_but_never_the_readers() {
        let (mut writer, store) = new_store();
        let mut changes = writer.changes();
        for i in 0..CHANGES_CAPACITY {
            writer.upsert(pod(&format!("a/p{i}"), 1)).await;
        }
        let waiting = writer.upsert(pod("b/one-too-many", 2));
        tokio::pin!(waiting);
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        assert_eq!(
            store.object_count(),
            CHANGES_CAPACITY + 1,
            "the store changed before the change is queued"
        );
        let first = changes.recv().await.expect("a change");
        assert_eq!(first.key.to_string(), "a/p0");
        waiting.await;
        let queued = std::iter::from_fn(|| changes.try_recv().ok()).count();
        assert_eq!(queued, CHANGES_CAPACITY);
    }

    #[tokio::test]
    async fn a_consumer_that_went_away_never_makes_the_writer_wait() {
        let (mut writer, store) = new_store();
        drop(writer.changes());
        for i in 0..CHANGES_CAPACITY + 1 {
            writer.upsert(pod(&format!("a/p{i}"), 1)).await;
        }
        writer.replace(vec![pod("a/x", 2)], "2").await;
        assert_eq!(printed(&store), ["a/x"]);
    }

    /// The prefix is what makes sorting cheap: it must settle every pair of keys that differ in
    /// their first 16 bytes, in bytewise order, and only tie keys that share them (a constant
    /// prefix would sort just as right, by following every pointer).
    #[test]
    fn the_sort_prefix_settles_keys_that_differ_in_their_first_16_bytes() {
        let prefix =
            |namespace: &str, name: &str| sort_prefix(&ObjectKey::new(Some(namespace), name));
        assert!(prefix("a", "z") < prefix("b", "a"));
        assert!(
            prefix("ns", "a") < prefix("ns", "a-b"),
            "a shorter key sorts first"
        );
        assert!(
            prefix("ns", "B") < prefix("ns", "a"),
            "bytewise, not by letter"
        );
        assert_eq!(
            prefix("ns", "a-very-long-name-0"),
            prefix("ns", "a-very-long-name-1"),
            "the same first 16 bytes: left to the whole keys"
        );
    }

    #[tokio::test]
    async fn keys_sort_bytewise_whatever_their_length() {
        let (mut writer, store) = new_store();
        for key in [
            "ns/a-very-long-name-1",
            "ns/a-very-long-name-0",
            "ns/a",
            "n/zz",
            "ns-2/x",
            "ns/a-very-long-name-10",
            "ns/B",
        ] {
            writer.upsert(pod(key, 1)).await;
        }
        let mut expected: Vec<String> = printed(&store);
        expected.sort();
        assert_eq!(printed(&store), expected);
        assert_eq!(
            printed(&store),
            [
                "n/zz",
                "ns-2/x",
                "ns/B",
                "ns/a",
                "ns/a-very-long-name-0",
                "ns/a-very-long-name-1",
                "ns/a-very-long-name-10",
            ]
        );
    }
}
