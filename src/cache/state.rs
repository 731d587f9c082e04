//! `--state FILE`: what a run knew, kept for the next one: each collection's objects by key,
//! with their resourceVersion and a digest of what the output shows of them, and the
//! resourceVersion the collection was at. The next run seeds its stores with it, resumes its
//! watches from there (no list, while the server still has that resourceVersion), and prints
//! what changed meanwhile.
//!
//! # The file
//! One JSON document, written whole to a temporary file beside it, flushed to disk and renamed
//! over it (`file`): a crash or a full disk leaves the previous file as it was. It names what
//! it was written for ([`Identity`]: the server, the selectors, each collection's resource,
//! namespace and names); a run that watches something else does not use it.
//!
//! ```json
//! {"kreflect":"state","version":1,"written":"2026-12-07T18:00:00Z",
//!  "identity":{"server":"https://10.0.0.1:6443","labelSelector":"","fieldSelector":"",
//!              "collections":[{"resource":"pods","namespace":"shop","names":[]}]},
//!  "digestsOf":"jsonpath={.status.phase}",
//!  "collections":[{"resourceVersion":"1234","objects":[["shop/web-1","1200","9f1c0e5d2a7b4c38"]]}]}
//! ```
//!
//! A collection's `resourceVersion` is `null` when the run stopped in the middle of printing a
//! list's changes: then there is no point to resume from, and the next run lists.
//!
//! A file that is missing starts afresh quietly; one that is truncated, corrupt, from a newer
//! kreflect or written for other objects starts afresh with a warning, and is replaced at the
//! next save. A file that is not a kreflect state file at all is refused ([`StateError`]):
//! it is some other file the path names by mistake, and saving would destroy it. Two runs on
//! one file: the second is refused (a lock on `FILE.lock`).

mod file;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::wire::object::ObjectKey;
pub use file::StateError;

/// The version of the file's format this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// How every state file begins: what tells one from a file the path names by mistake.
const MAGIC: &[u8] = br#"{"kreflect":"state""#;

/// What a state file was written for: a run uses only a file written for what it watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The API server's URL.
    pub server: String,
    /// `-l`, empty for none.
    pub label_selector: String,
    /// `--field-selector`, empty for none.
    pub field_selector: String,
    /// The collections, in the run's order.
    pub collections: Vec<CollectionId>,
}

impl Identity {
    /// What differs between `self` (the file's) and `run`'s, in words, or `None`.
    fn differs_from(&self, run: &Identity) -> Option<String> {
        if self.server != run.server {
            return Some(format!(
                "it was written for the server {}, not {}",
                self.server, run.server
            ));
        }
        if self.label_selector != run.label_selector || self.field_selector != run.field_selector {
            return Some(format!(
                "it was written for other selectors (-l '{}' --field-selector '{}')",
                self.label_selector, self.field_selector
            ));
        }
        if self.collections != run.collections {
            let named: Vec<String> = self.collections.iter().map(ToString::to_string).collect();
            return Some(format!(
                "it was written for other objects ({})",
                named.join(", ")
            ));
        }
        None
    }
}

/// One collection a run watches: a resource, in a namespace or all, with the names asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionId {
    /// The resource as kreflect's metrics name it: `pods`, `deployments.apps`.
    pub resource: String,
    /// The namespace, empty for all (or a cluster-scoped resource).
    pub namespace: String,
    /// The object names asked for, empty for every object.
    pub names: Vec<String>,
}

impl std::fmt::Display for CollectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.resource)?;
        if !self.namespace.is_empty() {
            write!(f, " in {}", self.namespace)?;
        }
        if !self.names.is_empty() {
            write!(f, " named {}", self.names.join(","))?;
        }
        Ok(())
    }
}

/// One object as a run knew it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its key in its collection's store (`namespace/name`, never prefixed by kind).
    pub key: ObjectKey,
    /// Its resourceVersion.
    pub resource_version: String,
    /// A digest ([`digest`]) of what the output shows of it, where that is more than its key
    /// (a template's text); `None` otherwise.
    pub digest: Option<u64>,
}

/// What a run knew of one collection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// The resourceVersion the collection was at; `None` when there is no point to resume
    /// from (the run stopped while a list's changes were being printed).
    pub resource_version: Option<String>,
    /// Its objects, in key order.
    pub objects: Vec<Entry>,
}

/// A state file's contents, for a run of the same [`Identity`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// Each of the run's collections, in its order.
    pub collections: Vec<Known>,
}

/// The digest of what the output shows of an object: FNV-1a, 64 bits. Stable across builds
/// and platforms (the file outlives the binary), and far cheaper than a cryptographic hash:
/// it tells an object's text from its previous one, nobody is trying to collide it.
pub fn digest(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// The state file of a run: its path, held locked for the run, and what it is written for.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    identity: Identity,
    digests_of: String,
    /// The lock on `FILE.lock`, released when the run ends.
    _lock: file::Lock,
}

/// The state file's document, as serialized.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    /// Always `state`: with `version`, what [`MAGIC`] looks for.
    kreflect: Cow<'a, str>,
    version: u32,
    /// When it was written (RFC 3339, UTC), for people.
    written: String,
    identity: Cow<'a, Identity>,
    /// What the digests are of: the output format (`-o`), so a run printing otherwise does not
    /// compare its digests with them.
    digests_of: Cow<'a, str>,
    collections: Vec<SavedCollection>,
}

/// One collection in the document.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedCollection {
    resource_version: Option<String>,
    /// `[key, resourceVersion, digest]`, the digest as 16 hex digits or `null`.
    objects: Vec<(String, String, Option<String>)>,
}

impl StateFile {
    /// Locks `path` for this run and reads what it holds for `identity`, with digests of
    /// `digests_of` (the output format). `Ok(None)` starts afresh: no file yet, or one that
    /// cannot be used (a warning says why).
    pub fn open(
        path: &Path,
        identity: Identity,
        digests_of: String,
    ) -> Result<(StateFile, Option<Saved>), StateError> {
        // Checked before the lock file is made beside it: a path refused leaves nothing behind.
        let path = file::regular_file(path)?;
        if !file::begins_as_ours(&path, MAGIC)? {
            return Err(StateError::NotOurs {
                path: path.display().to_string(),
            });
        }
        let lock = file::Lock::take(&path)?;
        file::remove_stale_temporaries(&path);
        let state = StateFile {
            path,
            identity,
            digests_of,
            _lock: lock,
        };
        let saved = state.read();
        Ok((state, saved))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds for this run, if it can be used (a log line says why not).
    fn read(&self) -> Option<Saved> {
        let path = self.path.display().to_string();
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) if bytes.trim_ascii().is_empty() => {
                tracing::info!(state = %path, "the state file is empty; starting afresh");
                return None;
            }
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!(state = %path, "no saved state yet; starting afresh");
                return None;
            }
            Err(err) => {
                tracing::warn!(state = %path, error = %err, "cannot read the saved state; starting afresh");
                return None;
            }
        };
        let document: Document<'_> = match serde_json::from_slice(&bytes) {
            Ok(document) => document,
            Err(err) => {
                tracing::warn!(state = %path, error = %err, "the saved state is truncated or corrupt; starting afresh (it will be replaced)");
                return None;
            }
        };
        if document.version > FORMAT_VERSION {
            tracing::warn!(state = %path, version = document.version, understood = FORMAT_VERSION, "the saved state was written by a newer kreflect; starting afresh (it will be replaced)");
            return None;
        }
        if let Some(why) = document.identity.differs_from(&self.identity) {
            tracing::warn!(state = %path, reason = %why, "the saved state is for something else; starting afresh (it will be replaced)");
            return None;
        }
        if document.collections.len() != self.identity.collections.len() {
            tracing::warn!(state = %path, "the saved state is corrupt (its collections do not match its identity); starting afresh (it will be replaced)");
            return None;
        }
        let same_digests = document.digests_of == self.digests_of;
        let mut collections = Vec::with_capacity(document.collections.len());
        for (saved, id) in document
            .collections
            .into_iter()
            .zip(&self.identity.collections)
        {
            match known_of(saved, same_digests, id) {
                Ok(known) => collections.push(known),
                Err(why) => {
                    tracing::warn!(state = %path, reason = %why, "the saved state is corrupt; starting afresh (it will be replaced)");
                    return None;
                }
            }
        }
        Some(Saved { collections })
    }

    /// The document for `collections` (each of the run's, in its order), ready to be written.
    pub fn render(&self, collections: &[Known]) -> Vec<u8> {
        let written = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let document = Document {
            kreflect: Cow::Borrowed("state"),
            version: FORMAT_VERSION,
            written,
            identity: Cow::Borrowed(&self.identity),
            digests_of: Cow::Borrowed(&self.digests_of),
            collections: collections.iter().map(saved_collection).collect(),
        };
        let mut bytes = serde_json::to_vec(&document).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// A handle that writes this file, for a blocking thread.
    pub fn writer(&self) -> StateWriter {
        StateWriter(Arc::from(self.path.as_path()))
    }
}

/// Writes a state file's bytes atomically ([`StateFile::writer`]); cheap to clone.
#[derive(Clone, Debug)]
pub struct StateWriter(Arc<Path>);

impl StateWriter {
    /// Replaces the file with `bytes`: a temporary file beside it, flushed to disk, renamed
    /// over it, and the directory flushed. On failure (a full disk, say) the previous file is
    /// left as it was and the temporary one removed. Blocking.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        file::replace(&self.0, bytes)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// A collection as the document keeps it.
fn saved_collection(known: &Known) -> SavedCollection {
    SavedCollection {
        resource_version: known.resource_version.clone(),
        objects: known
            .objects
            .iter()
            .map(|entry| {
                (
                    entry.key.as_str().to_owned(),
                    entry.resource_version.clone(),
                    entry.digest.map(|digest| format!("{digest:016x}")),
                )
            })
            .collect(),
    }
}

/// A collection read from the document, for collection `id`; its digests dropped unless
/// `same_digests`. A key that cannot be of that collection (another namespace, a name with a
/// `/`) makes the file corrupt.
fn known_of(
    saved: SavedCollection,
    same_digests: bool,
    id: &CollectionId,
) -> Result<Known, String> {
    let mut objects = Vec::with_capacity(saved.objects.len());
    for (key, resource_version, digest) in saved.objects {
        let digest = match digest {
            Some(hex) if same_digests => Some(
                u64::from_str_radix(&hex, 16).map_err(|_| format!("a digest {hex:?} for {key}"))?,
            ),
            _ => None,
        };
        let (namespace, name) = match key.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, key.as_str()),
        };
        let elsewhere = !id.namespace.is_empty() && namespace != Some(id.namespace.as_str());
        if name.is_empty()
            || name.contains('/')
            || namespace.is_some_and(str::is_empty)
            || elsewhere
        {
            return Err(format!("a key {key:?} for {id}"));
        }
        objects.push(Entry {
            key: ObjectKey::new(namespace, name),
            resource_version,
            digest,
        });
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    objects.dedup_by(|a, b| a.key == b.key);
    Ok(Known {
        // `0` is no point in a collection's history: a watch from it starts with the whole
        // current state, as ADDED events.
        resource_version: saved
            .resource_version
            .filter(|rv| !rv.is_empty() && rv != "0"),
        objects,
    })
}

#[cfg(test)]
mod tests;
