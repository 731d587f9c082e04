//! `--state`: what the output has shown, kept for the next run ([`crate::cache::state`]).
//!
//! What is saved is what was written, not what the store holds: a change still queued for a
//! reader when the run stops was never shown, and the next run must show it. So the
//! [`Keeper`] follows the output: a listing's snapshot once the listing is written, or each
//! change of `--events` once its batch is written (a list's changes leave the collection
//! without a resume point until their SYNCED marker). Saves happen every `--interval` when
//! something new was shown, on a blocking thread (a slow disk never holds the output back),
//! and once more at the end of the run.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cache::state::{Entry, Known, Saved, StateFile, StateWriter};
use crate::cache::store::{Change, ChangeType};
use crate::output::render::{EventRenderer, EventTypes, Snapshot};
use crate::wire::object::ObjectKey;

/// One collection as the output knows it: its name (the SYNCED marker's key) and its kind's
/// key prefix.
#[derive(Clone, Debug)]
pub(crate) struct Collection {
    /// Its name ([`crate::output::kinds::collection_of`]).
    pub(crate) name: Arc<str>,
    /// Its kind's key prefix, with several kinds.
    pub(crate) prefix: Option<Arc<str>>,
}

/// What `--events` (or `--exec`) has shown of one collection.
#[derive(Debug, Default)]
struct Shown {
    /// Where the collection is, as far as the changes shown tell; `None` while a list's
    /// changes are being shown.
    resource_version: Option<String>,
    /// Where it is as far as the changes received tell: the resume point once every change
    /// received has been shown ([`Keeper::settled`]); `--exec` runs its commands for the
    /// changes of several keys out of the order they came in.
    received_version: Option<String>,
    /// Each object shown and not deleted since: its resourceVersion and digest.
    objects: HashMap<ObjectKey, (Box<str>, Option<u64>)>,
}

/// Keeps the state file in step with the output.
pub(crate) struct Keeper {
    file: StateFile,
    writer: StateWriter,
    collections: Vec<Collection>,
    by_name: HashMap<Arc<str>, usize>,
    /// `--events`: what each collection's changes have shown.
    shown: Vec<Shown>,
    /// Whether each collection starts from what the previous run showed.
    restored: Vec<bool>,
    /// Listings: the snapshot the last listing written was rendered from.
    listed: Option<Snapshot>,
    /// Whether something was shown since the last save.
    dirty: bool,
    period: Duration,
    last_saved: Instant,
    saving: Option<JoinHandle<io::Result<()>>>,
}

impl Keeper {
    /// A keeper of `file`, starting from what it held (`saved`: the previous run's, for
    /// `collections`, in the run's order), saving at most every `period`.
    pub(crate) fn new(
        file: StateFile,
        saved: Option<&Saved>,
        collections: Vec<Collection>,
        period: Duration,
    ) -> Self {
        let by_name = collections
            .iter()
            .enumerate()
            .map(|(index, collection)| (Arc::clone(&collection.name), index))
            .collect();
        let mut shown: Vec<Shown> = collections.iter().map(|_| Shown::default()).collect();
        let restored = collections.iter().map(|_| saved.is_some()).collect();
        if let Some(saved) = saved {
            for (shown, known) in shown.iter_mut().zip(&saved.collections) {
                shown.resource_version = known.resource_version.clone();
                shown.received_version = known.resource_version.clone();
                shown.objects = known
                    .objects
                    .iter()
                    .map(|entry| {
                        let version = entry.resource_version.as_str().into();
                        (entry.key.clone(), (version, entry.digest))
                    })
                    .collect();
            }
        }
        Keeper {
            writer: file.writer(),
            file,
            collections,
            by_name,
            shown,
            restored,
            listed: None,
            dirty: false,
            period,
            last_saved: Instant::now(),
            saving: None,
        }
    }

    /// The printed keys and resourceVersions the previous run showed, sorted: what the first
    /// `--diff` is against.
    pub(crate) fn remembered_versions(&self) -> Vec<(ObjectKey, Box<str>)> {
        let mut printed: Vec<(ObjectKey, Box<str>)> = self
            .printed_entries()
            .map(|(key, (version, _))| (key, version.clone()))
            .collect();
        printed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        printed
    }

    /// Teaches `renderer` what the previous run printed: the digests of its texts, by printed
    /// key, and which collections' changes are all changes since then (`--watch-only` prints
    /// them).
    pub(crate) fn teach(&self, renderer: &mut EventRenderer<'_>) {
        for collection in self.restored_collections() {
            renderer.restored(collection);
        }
        for (key, (_, digest)) in self.printed_entries() {
            if let Some(digest) = digest {
                renderer.remember_digest(key, *digest);
            }
        }
    }

    /// The collections that start from what the previous run showed: their changes are all
    /// changes since (`--watch-only` shows them).
    pub(crate) fn restored_collections(&self) -> impl Iterator<Item = &str> {
        self.collections
            .iter()
            .zip(&self.restored)
            .filter(|(_, restored)| **restored)
            .map(|(collection, _)| &*collection.name)
    }

    /// Every object the output knows, by printed key.
    fn printed_entries(&self) -> impl Iterator<Item = (ObjectKey, &(Box<str>, Option<u64>))> {
        self.collections
            .iter()
            .zip(&self.shown)
            .flat_map(|(collection, shown)| {
                shown.objects.iter().map(|(key, entry)| {
                    let printed = crate::output::kinds::prefixed(collection.prefix.as_deref(), key);
                    (printed, entry)
                })
            })
    }

    /// `changes` were written (`--events`), as `renderer` rendered them: received, shown, and
    /// everything received shown.
    pub(crate) fn shown_changes(
        &mut self,
        changes: &[Change],
        renderer: &EventRenderer<'_>,
        types: &EventTypes,
    ) {
        for change in changes {
            self.received(change, types);
            self.shown(change, renderer.digest_of(&change.key), types);
        }
        self.settled();
    }

    /// `change` came (`--exec` queues it): where its collection is, once everything received
    /// is shown. A list's changes leave no resume point until their SYNCED marker; a bookmark
    /// or a watch event moves it.
    pub(crate) fn received(&mut self, change: &Change, types: &EventTypes) {
        let Some(index) = self.index_of(change, types) else {
            return;
        };
        let shown = &mut self.shown[index];
        match change.change_type {
            ChangeType::Synced => shown.received_version = Some(change.resource_version.clone()),
            _ if change.listed => shown.received_version = None,
            _ if shown.received_version.is_some() => {
                shown.received_version = Some(change.resource_version.clone());
            }
            _ => {}
        }
    }

    /// `change` was shown (printed, or its command ran), its text's digest `digest`.
    pub(crate) fn shown(&mut self, change: &Change, digest: Option<u64>, types: &EventTypes) {
        let Some(index) = self.index_of(change, types) else {
            return;
        };
        let key = unprefixed(self.collections[index].prefix.as_deref(), &change.key);
        let shown = &mut self.shown[index];
        match change.change_type {
            ChangeType::Synced | ChangeType::Bookmark => return,
            ChangeType::Deleted => {
                shown.objects.remove(&key);
            }
            ChangeType::Added | ChangeType::Modified => {
                let version = change.resource_version.as_str().into();
                shown.objects.insert(key, (version, digest));
            }
        }
        self.dirty = true;
    }

    /// Every change received has been shown: each collection is where they took it.
    pub(crate) fn settled(&mut self) {
        for shown in &mut self.shown {
            if shown.resource_version != shown.received_version {
                shown.resource_version.clone_from(&shown.received_version);
                self.dirty = true;
            }
        }
    }

    /// Which of the run's collections `change` (a printed key, or a marker's) is of.
    fn index_of(&self, change: &Change, types: &EventTypes) -> Option<usize> {
        self.by_name.get(types.collection_of(&change.key)).copied()
    }

    /// A listing rendered from `snapshot` was written.
    pub(crate) fn shown_listing(&mut self, snapshot: Snapshot) {
        self.listed = Some(snapshot);
        self.dirty = true;
    }

    /// When the next save is due, if something is waiting to be saved.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.dirty.then_some(self.last_saved + self.period)
    }

    /// Starts a save on a blocking thread when one is due and none is in flight.
    pub(crate) fn save_if_due(&mut self) {
        if self.due().is_none_or(|due| due > Instant::now()) {
            return;
        }
        if self
            .saving
            .as_ref()
            .is_some_and(|saving| !saving.is_finished())
        {
            return;
        }
        let bytes = self.render();
        let writer = self.writer.clone();
        self.saving = Some(tokio::task::spawn_blocking(move || {
            let written = writer.write(&bytes);
            log_written(&writer, &written);
            written
        }));
    }

    /// Saves what was shown last, after any save in flight, and waits for it: the end of the
    /// run. A failure is logged, and returned (as `FILE: error`) for a run that must fail on
    /// it (`--once`: its next run would print the same changes again).
    pub(crate) async fn save_now(&mut self) -> Result<(), String> {
        if let Some(saving) = self.saving.take() {
            let _ = saving.await;
        }
        if !self.dirty {
            return Ok(());
        }
        let bytes = self.render();
        let writer = self.writer.clone();
        let path = writer.path().display().to_string();
        let saved = tokio::task::spawn_blocking(move || {
            let written = writer.write(&bytes);
            log_written(&writer, &written);
            written
        })
        .await;
        match saved {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(format!("{path}: {err}")),
            Err(err) => Err(format!("{path}: {err}")),
        }
    }

    /// The file's bytes for what was shown last; marks it saved.
    fn render(&mut self) -> Vec<u8> {
        self.dirty = false;
        self.last_saved = Instant::now();
        let known: Vec<Known> = match &self.listed {
            Some(snapshot) => snapshot
                .0
                .iter()
                .map(|(objects, resource_version)| Known {
                    resource_version: Some(resource_version.clone()).filter(|rv| !rv.is_empty()),
                    objects: objects
                        .iter()
                        .map(|object| Entry {
                            key: object.key().clone(),
                            resource_version: object.resource_version().to_owned(),
                            digest: None,
                        })
                        .collect(),
                })
                .collect(),
            None => self.shown.iter().map(known_of).collect(),
        };
        self.file.render(&known)
    }
}

/// A collection's [`Shown`] objects as the file keeps them, in key order.
fn known_of(shown: &Shown) -> Known {
    let mut objects: Vec<Entry> = shown
        .objects
        .iter()
        .map(|(key, (version, digest))| Entry {
            key: key.clone(),
            resource_version: version.to_string(),
            digest: *digest,
        })
        .collect();
    objects.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Known {
        resource_version: shown.resource_version.clone(),
        objects,
    }
}

/// A printed key without its kind's prefix: the key in its collection's store.
fn unprefixed(prefix: Option<&str>, printed: &ObjectKey) -> ObjectKey {
    let Some(prefix) = prefix else {
        return printed.clone();
    };
    match printed
        .as_str()
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(key) => match key.split_once('/') {
            Some((namespace, name)) => ObjectKey::new(Some(namespace), name),
            None => ObjectKey::new(None, key),
        },
        None => printed.clone(),
    }
}

/// Logs a save's failure: the run goes on, and the previous file stays as it was.
fn log_written(writer: &StateWriter, written: &io::Result<()>) {
    match written {
        Ok(()) => tracing::debug!(state = %writer.path().display(), "state saved"),
        Err(err) => {
            tracing::warn!(state = %writer.path().display(), error = %err, "cannot save the state; the previous one is kept");
        }
    }
}
