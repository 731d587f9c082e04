//! The queue between the changes the stores publish and the `--exec` command: at most one entry
//! per key, in the order keys entered it, each holding what the command is still owed for its
//! key, folded as newer changes of that key arrive.
//!
//! The rules, for what the command has been told of a key (its *view*):
//! - A newer state replaces the one waiting: `ADDED` then `MODIFIED` is one `ADDED` with the
//!   newer object, `MODIFIED` then `MODIFIED` one `MODIFIED`. The command may miss intermediate
//!   states, never the last one.
//! - A deletion of an object the command was told of is never dropped: `MODIFIED` then
//!   `DELETED` is `DELETED` (the last state). `DELETED` then `ADDED` (a new object under the
//!   same name) is both, in that order, in the key's one place.
//! - An object added and deleted before the command ran for it is dropped whole: the command
//!   never heard of it, so it has nothing to undo. This is also what bounds the queue: without
//!   it, objects that come and go under new names (a Job's pods) would pile up deletions of
//!   keys no longer in the cache while a command runs long.
//!
//! So the queue holds one entry per key that is in the cache or was deleted after the command
//! was told of it: its memory is bounded by the cache's size, not by the rate of change, and the
//! objects it holds are the cache's own (shared), but for the last states of deleted ones.

use std::collections::{BTreeMap, HashMap};

use crate::cache::store::{Change, ChangeType};
use crate::wire::object::ObjectKey;

/// What the command is owed for one key: the deletion of the object it was told of, the key's
/// present state, or both (the deletion first). Never neither.
struct Owed {
    /// The key's place in the queue: the order it entered.
    place: u64,
    /// The `DELETED` of the object the command was told of.
    deleted: Option<Change>,
    /// The key's present state: `ADDED` (the command has not been told of this object) or
    /// `MODIFIED` (it has).
    present: Option<Change>,
}

impl Owed {
    /// Folds `change`, the key's newest, into what is owed; returns how many changes will not
    /// run on their own: the one replaced, or an `ADDED` and the `DELETED` that drops it.
    fn fold(&mut self, change: Change) -> u64 {
        if change.change_type == ChangeType::Deleted {
            return match self.present.take() {
                Some(present) if present.change_type == ChangeType::Added => 2,
                Some(_) | None => {
                    self.deleted = Some(change);
                    1
                }
            };
        }
        match &self.present {
            // The state waiting is replaced; it keeps its type (the command still needs an
            // ADDED, or already knows the object).
            Some(waiting) => {
                let change_type = waiting.change_type;
                self.present = Some(Change {
                    change_type,
                    ..change
                });
                1
            }
            // After a deletion the command is owed, the key holds a new object.
            None => {
                self.present = Some(Change {
                    change_type: ChangeType::Added,
                    ..change
                });
                0
            }
        }
    }
}

/// The changes the `--exec` command is still owed, one entry per key (see the module docs).
pub(crate) struct ChangeQueue {
    owed: HashMap<ObjectKey, Owed>,
    /// The keys waiting, by place.
    order: BTreeMap<u64, ObjectKey>,
    next_place: u64,
}

impl ChangeQueue {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        ChangeQueue {
            owed: HashMap::new(),
            order: BTreeMap::new(),
            next_place: 0,
        }
    }

    /// Queues `change` (`ADDED`, `MODIFIED` or `DELETED`; a SYNCED marker is no change of a key
    /// and is ignored): a key already waiting keeps its place and takes the newer state. Returns
    /// how many changes will not run on their own (folded into a newer state, or dropped).
    pub(crate) fn push(&mut self, change: Change) -> u64 {
        if change.change_type == ChangeType::Synced {
            return 0;
        }
        let Some(owed) = self.owed.get_mut(&change.key) else {
            let place = self.next_place;
            self.next_place += 1;
            let key = change.key.clone();
            self.order.insert(place, key.clone());
            let (deleted, present) = match change.change_type {
                ChangeType::Deleted => (Some(change), None),
                _ => (None, Some(change)),
            };
            let owed = Owed {
                place,
                deleted,
                present,
            };
            self.owed.insert(key, owed);
            return 0;
        };
        let key = change.key.clone();
        let spared = owed.fold(change);
        if owed.deleted.is_none() && owed.present.is_none() {
            let place = owed.place;
            self.order.remove(&place);
            self.owed.remove(&key);
        }
        spared
    }

    /// The next change to run the command for: of the key that entered first, its deletion
    /// before its present state.
    pub(crate) fn pop(&mut self) -> Option<Change> {
        loop {
            let (&place, key) = self.order.first_key_value()?;
            let key = key.clone();
            let Some(owed) = self.owed.get_mut(&key) else {
                // Never: a key in the order is owed something. Skipped rather than stuck on.
                self.order.remove(&place);
                continue;
            };
            if let Some(deleted) = owed.deleted.take() {
                if owed.present.is_none() {
                    self.order.remove(&place);
                    self.owed.remove(&key);
                }
                return Some(deleted);
            }
            self.order.remove(&place);
            if let Some(present) = self.owed.remove(&key).and_then(|owed| owed.present) {
                return Some(present);
            }
        }
    }

    /// How many keys are waiting.
    pub(crate) fn len(&self) -> usize {
        self.owed.len()
    }

    /// Whether nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.owed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn change(change_type: ChangeType, key: &str, rv: u32) -> Change {
        let (namespace, name) = key.split_once('/').expect("ns/name");
        Change {
            change_type,
            key: ObjectKey::new(Some(namespace), name),
            resource_version: rv.to_string(),
            object: None,
            listed: false,
        }
    }

    fn drain(queue: &mut ChangeQueue) -> Vec<String> {
        std::iter::from_fn(|| queue.pop())
            .map(|change| {
                let change_type = change.change_type.as_str();
                format!("{change_type} {} {}", change.key, change.resource_version)
            })
            .collect()
    }

    use ChangeType::{Added, Deleted, Modified};

    #[test]
    fn each_key_runs_once_in_the_order_it_entered_with_its_latest_state() {
        let mut queue = ChangeQueue::new();
        let mut spared = 0;
        for (change_type, key, rv) in [
            (Added, "a/x", 1),
            (Added, "a/y", 2),
            (Modified, "a/x", 3),
            (Modified, "a/x", 4),
            (Added, "a/z", 5),
            (Modified, "a/y", 6),
        ] {
            spared += queue.push(change(change_type, key, rv));
        }
        assert_eq!(queue.len(), 3);
        assert_eq!(spared, 3, "three changes folded into newer ones");
        assert_eq!(
            drain(&mut queue),
            ["ADDED a/x 4", "ADDED a/y 6", "ADDED a/z 5"],
            "an ADDED folds the MODIFIEDs after it, in its place"
        );
        assert!(queue.is_empty());
        queue.push(change(Modified, "a/x", 7));
        queue.push(change(Modified, "a/x", 8));
        assert_eq!(drain(&mut queue), ["MODIFIED a/x 8"]);
    }

    #[test]
    fn an_object_added_and_deleted_before_the_command_heard_of_it_is_dropped_whole() {
        let mut queue = ChangeQueue::new();
        queue.push(change(Added, "a/x", 1));
        queue.push(change(Added, "a/short-lived", 2));
        queue.push(change(Modified, "a/short-lived", 3));
        let spared = queue.push(change(Deleted, "a/short-lived", 4));
        assert_eq!(spared, 2, "its ADDED and its DELETED");
        assert_eq!(queue.len(), 1);
        assert_eq!(drain(&mut queue), ["ADDED a/x 1"]);
        // Back under the same name: a new entry, at the end.
        queue.push(change(Added, "a/short-lived", 5));
        queue.push(change(Added, "a/y", 6));
        assert_eq!(drain(&mut queue), ["ADDED a/short-lived 5", "ADDED a/y 6"]);
    }

    #[test]
    fn the_deletion_of_an_object_the_command_was_told_of_is_never_dropped() {
        let mut queue = ChangeQueue::new();
        queue.push(change(Modified, "a/x", 1));
        queue.push(change(Added, "a/y", 2));
        assert_eq!(queue.push(change(Deleted, "a/x", 3)), 1);
        assert_eq!(drain(&mut queue), ["DELETED a/x 3", "ADDED a/y 2"]);

        // Deleted, then a new object under the name: both, in the key's one place.
        queue.push(change(Deleted, "a/x", 4));
        queue.push(change(Added, "a/z", 5));
        assert_eq!(queue.push(change(Added, "a/x", 6)), 0);
        assert_eq!(queue.push(change(Modified, "a/x", 7)), 1);
        assert_eq!(queue.len(), 2);
        assert_eq!(
            drain(&mut queue),
            ["DELETED a/x 4", "ADDED a/x 7", "ADDED a/z 5"]
        );

        // The new object gone too before it ran: the deletion of the one the command knew.
        queue.push(change(Deleted, "a/x", 8));
        queue.push(change(Added, "a/x", 9));
        assert_eq!(queue.push(change(Deleted, "a/x", 10)), 2);
        assert_eq!(drain(&mut queue), ["DELETED a/x 8"]);
    }

    #[test]
    fn a_deletion_taken_leaves_the_new_object_in_the_keys_place() {
        let mut queue = ChangeQueue::new();
        queue.push(change(Deleted, "a/x", 1));
        queue.push(change(Added, "a/x", 2));
        queue.push(change(Added, "a/y", 3));
        assert_eq!(drain_one(&mut queue), "DELETED a/x 1");
        // Arriving while the DELETED runs, it folds into the ADDED still first in line.
        queue.push(change(Modified, "a/x", 4));
        assert_eq!(drain(&mut queue), ["ADDED a/x 4", "ADDED a/y 3"]);
    }

    fn drain_one(queue: &mut ChangeQueue) -> String {
        let change = queue.pop().expect("a change");
        let change_type = change.change_type.as_str();
        format!("{change_type} {} {}", change.key, change.resource_version)
    }

    #[test]
    fn synced_markers_are_no_change_of_a_key() {
        let mut queue = ChangeQueue::new();
        let marker = Change {
            change_type: ChangeType::Synced,
            key: ObjectKey::new(None, ""),
            resource_version: "9".to_owned(),
            object: None,
            listed: false,
        };
        assert_eq!(queue.push(marker), 0);
        assert!(queue.is_empty());
        assert!(queue.pop().is_none());
    }

    /// A tiny deterministic generator (xorshift64), so the churn is the same on every run.
    struct Churn(u64);

    impl Churn {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    /// A store of a few keys changing 100 000 times, as a reflector publishes it, while a
    /// command takes a change now and then: the queue never holds more than one entry per key,
    /// the command's view is always one the store could have had (no MODIFIED or DELETED of an
    /// object it was not told of, no ADDED of one it was), and once it has run everything, its
    /// view is the store's last state, key by key.
    #[test]
    fn heavy_churn_of_a_few_keys_holds_one_entry_per_key_and_ends_in_the_last_state() {
        const KEYS: [&str; 4] = ["a/w", "a/x", "a/y", "a/z"];
        let mut churn = Churn(0x2545_f491_4f6c_dd1d);
        let mut store: BTreeMap<&str, u32> = BTreeMap::new();
        let mut view: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = ChangeQueue::new();
        let (mut pushed, mut spared, mut runs) = (0u64, 0u64, 0u64);
        let run = |change: Change, view: &mut BTreeMap<String, String>| {
            let key = change.key.to_string();
            let known = view.contains_key(&key);
            match change.change_type {
                Added => assert!(!known, "ADDED of {key}, which the command knows"),
                _ => assert!(known, "{change:?} of a key the command does not know"),
            }
            if change.change_type == Deleted {
                view.remove(&key);
            } else {
                view.insert(key, change.resource_version);
            }
        };
        for rv in 1..=100_000u32 {
            let key = KEYS[churn.below(KEYS.len() as u64) as usize];
            let change_type = match (store.contains_key(key), churn.below(3)) {
                (false, _) => Added,
                (true, 0) => Deleted,
                (true, _) => Modified,
            };
            if change_type == Deleted {
                store.remove(key);
            } else {
                store.insert(key, rv);
            }
            spared += queue.push(change(change_type, key, rv));
            pushed += 1;
            assert!(queue.len() <= KEYS.len(), "{} entries", queue.len());
            // The command is slow: it takes a change one time in ten.
            if churn.below(10) == 0
                && let Some(next) = queue.pop()
            {
                runs += 1;
                run(next, &mut view);
            }
        }
        while let Some(next) = queue.pop() {
            runs += 1;
            run(next, &mut view);
        }
        let last: BTreeMap<String, String> = store
            .iter()
            .map(|(key, rv)| ((*key).to_owned(), rv.to_string()))
            .collect();
        assert_eq!(view, last, "the command's view ends as the store");
        assert_eq!(
            pushed,
            runs + spared,
            "every change ran or was spared, once"
        );
        assert!(runs < pushed / 5, "{runs} runs for {pushed} changes");
    }
}
