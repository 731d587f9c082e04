//! The cache: a HashMap of objects keyed `namespace/name`, with one [`Writer`] (the reflector)
//! and any number of cheap [`Store`] read handles.
//!
//! Readers take snapshots (the sorted keys, or one object) under a short read lock that is never
//! held across an `.await`. A relist replaces the whole map in one step, so an object deleted while
//! the watch was down cannot survive it, and no reader ever sees half a relist.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::watch;

use crate::object::{ObjectKey, RawObject};

type Objects = HashMap<ObjectKey, Arc<RawObject>>;

struct Shared {
    objects: RwLock<Objects>,
    synced: watch::Sender<bool>,
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, Objects> {
        // A panic while holding the lock cannot leave the map half-written (every write is a
        // single insert, remove or swap), so a poisoned lock still guards consistent data.
        self.objects
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Objects> {
        self.objects
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Creates an empty cache: the writer for the reflector and a read handle for everyone else.
pub fn new_store() -> (Writer, Store) {
    let shared = Arc::new(Shared {
        objects: RwLock::new(HashMap::new()),
        synced: watch::Sender::new(false),
    });
    (
        Writer {
            shared: Arc::clone(&shared),
        },
        Store { shared },
    )
}

/// The only handle that changes the cache. Not `Clone`: the reflector owns it.
pub struct Writer {
    shared: Arc<Shared>,
}

impl Writer {
    /// Inserts or replaces an object (watch ADDED / MODIFIED).
    pub fn upsert(&mut self, object: RawObject) {
        let key = object.key().clone();
        self.shared.write().insert(key, Arc::new(object));
    }

    /// Removes an object (watch DELETED); returns whether it was cached.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        self.shared.write().remove(key).is_some()
    }

    /// Replaces the whole contents with the result of a list, in one step, and marks the cache
    /// synced. The new map is built before the lock is taken; the old one is freed after.
    pub fn replace(&mut self, objects: Vec<RawObject>) {
        let mut fresh: Objects = HashMap::with_capacity(objects.len());
        for object in objects {
            fresh.insert(object.key().clone(), Arc::new(object));
        }
        let stale = std::mem::replace(&mut *self.shared.write(), fresh);
        drop(stale);
        self.shared.synced.send_replace(true);
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
        self.shared.read().get(key).cloned()
    }

    /// Number of cached objects.
    pub fn len(&self) -> usize {
        self.shared.read().len()
    }

    /// Whether the cache holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of all keys, sorted bytewise as printed.
    pub fn sorted_keys(&self) -> Vec<ObjectKey> {
        let mut keys: Vec<ObjectKey> = self.shared.read().keys().cloned().collect();
        keys.sort_unstable();
        keys
    }

    /// A snapshot of all cached objects, in no particular order.
    pub fn objects(&self) -> Vec<Arc<RawObject>> {
        self.shared.read().values().cloned().collect()
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(namespace: &str, name: &str, rv: u32) -> RawObject {
        let json = format!(
            r#"{{"metadata":{{"name":"{name}","namespace":"{namespace}","resourceVersion":"{rv}"}}}}"#
        );
        RawObject::from_json(json.as_bytes(), "Pod").expect("test pod")
    }

    fn printed(store: &Store) -> Vec<String> {
        store
            .sorted_keys()
            .iter()
            .map(|key| key.to_string())
            .collect()
    }

    #[test]
    fn upsert_and_remove_are_seen_by_every_read_handle() {
        let (mut writer, store) = new_store();
        let other = store.clone();
        writer.upsert(pod("b", "x", 1));
        writer.upsert(pod("a", "y", 2));
        writer.upsert(pod("a", "y", 3));
        assert_eq!(printed(&other), ["a/y", "b/x"]);
        let key = ObjectKey::new(Some("a"), "y");
        assert_eq!(
            store.get(&key).map(|o| o.resource_version().to_owned()),
            Some("3".into())
        );
        assert!(writer.remove(&key));
        assert!(!writer.remove(&key));
        assert_eq!(printed(&store), ["b/x"]);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn relist_drops_pods_deleted_while_disconnected() {
        let (mut writer, store) = new_store();
        writer.replace(vec![pod("a", "kept", 1), pod("a", "deleted-meanwhile", 2)]);
        writer.replace(vec![pod("a", "kept", 3), pod("a", "new", 4)]);
        assert_eq!(printed(&store), ["a/kept", "a/new"]);
        let kept = store.get(&ObjectKey::new(Some("a"), "kept")).expect("kept");
        assert_eq!(kept.resource_version(), "3");
    }

    #[tokio::test]
    async fn synced_only_after_the_first_complete_list() {
        let (mut writer, store) = new_store();
        writer.upsert(pod("a", "x", 1));
        assert!(!store.is_synced());
        let waiter = tokio::spawn({
            let store = store.clone();
            async move {
                store.wait_synced().await;
                store.len()
            }
        });
        writer.replace(vec![pod("a", "x", 1), pod("a", "y", 2)]);
        assert_eq!(waiter.await.expect("waiter"), 2);
        assert!(store.is_synced());
    }
}
