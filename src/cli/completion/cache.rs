//! The discovery cache of completion, one file per API server:
//! `$XDG_CACHE_HOME/kreflect/discovery/HOST_PORT/resources.json` (`~/.cache/kreflect/...` when
//! `XDG_CACHE_HOME` is unset or relative). kubectl keeps its own in
//! `~/.kube/cache/discovery/HOST_PORT/`, in client-go's format; kreflect keeps only the
//! watchable resources, with what completion needs of them (names, categories, and group,
//! version and scope to list their objects), in a directory of its own, so neither tool reads
//! the other's files.
//!
//! A file is fresh for [`TTL`] after it was written (its modification time, as client-go's
//! disk cache judges it). A file that is missing, stale, unreadable, for another server or not
//! what we wrote is treated as absent; a cache that cannot be written is done without.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::api::resolve::Discovered;

/// How long cached discovery is used: 10 minutes, kubectl's TTL for years (it keeps 6 hours
/// now). Short, so a CRD installed a moment ago completes soon; a completion past it costs
/// one discovery round.
pub const TTL: Duration = Duration::from_secs(10 * 60);

/// The cache file of one API server.
pub struct DiscoveryCache {
    file: PathBuf,
    server: String,
}

/// The file's contents.
#[derive(Serialize, Deserialize)]
struct Cached {
    /// The server URL it was fetched from (two URLs may share a directory name).
    server: String,
    resources: Vec<Discovered>,
}

impl DiscoveryCache {
    /// The cache of `server` (its URL) under the user's cache directory; `None` without a
    /// home directory.
    pub fn for_server(server: &str) -> Option<DiscoveryCache> {
        let root = match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            _ => PathBuf::from(std::env::var_os("HOME").filter(|home| !home.is_empty())?)
                .join(".cache"),
        };
        Some(DiscoveryCache::under(&root.join("kreflect"), server))
    }

    /// The cache of `server` under `root`.
    fn under(root: &Path, server: &str) -> DiscoveryCache {
        DiscoveryCache {
            file: root
                .join("discovery")
                .join(directory_name(server))
                .join("resources.json"),
            server: server.to_owned(),
        }
    }

    /// The cached resources if they were written less than [`TTL`] before `now`.
    pub fn read_fresh(&self, now: SystemTime) -> Option<Vec<Discovered>> {
        let written = std::fs::metadata(&self.file).ok()?.modified().ok()?;
        // A time in the future (a clock set back) is not trusted either.
        if now.duration_since(written).ok()? >= TTL {
            return None;
        }
        let cached: Cached = serde_json::from_slice(&std::fs::read(&self.file).ok()?).ok()?;
        (cached.server == self.server).then_some(cached.resources)
    }

    /// Replaces the cached resources: written to a temporary file, then renamed over the old
    /// one, so a reader never sees half a file.
    pub fn write(&self, resources: &[Discovered]) -> std::io::Result<()> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let cached = Cached {
            server: self.server.clone(),
            resources: resources.to_vec(),
        };
        let temporary = dir.join(format!("resources.json.{}.tmp", std::process::id()));
        let written = std::fs::File::create(&temporary)
            .and_then(|mut file| file.write_all(&serde_json::to_vec(&cached)?))
            .and_then(|()| std::fs::rename(&temporary, &self.file));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }
}

/// `127.0.0.1_6443` for `https://127.0.0.1:6443/`, as kubectl names its cache directories:
/// the URL without its scheme, every character but letters, digits, `.`, `-` and `_` replaced
/// by `_` (so a path in the URL cannot leave the directory).
fn directory_name(server: &str) -> String {
    let without_scheme = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let name: String = without_scheme
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // `.` and `..` would name the directory itself or its parent.
    if name.chars().all(|c| c == '.') {
        format!("_{name}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<Discovered> {
        vec![Discovered {
            group: String::new(),
            version: "v1".to_owned(),
            plural: "pods".to_owned(),
            singular: "pod".to_owned(),
            kind: "Pod".to_owned(),
            short_names: vec!["po".to_owned()],
            namespaced: true,
            watchable: true,
            categories: vec!["all".to_owned()],
        }]
    }

    #[test]
    fn directories_are_named_as_kubectl_names_them() {
        assert_eq!(directory_name("https://127.0.0.1:6443/"), "127.0.0.1_6443");
        assert_eq!(
            directory_name("https://rancher.example/k8s/clusters/c-1"),
            "rancher.example_k8s_clusters_c-1"
        );
        assert_eq!(directory_name("http://.."), "_..");
    }

    #[test]
    fn what_was_written_is_read_back_until_the_ttl() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = DiscoveryCache::under(dir.path(), "https://h:6443/");
        assert_eq!(
            cache.read_fresh(SystemTime::now()),
            None,
            "nothing written yet"
        );
        cache.write(&names()).expect("write");
        // After the write: a `now` from before it would find the file written in the future.
        let now = SystemTime::now();
        assert_eq!(cache.read_fresh(now), Some(names()));
        assert_eq!(cache.read_fresh(now + TTL), None, "stale");
        assert_eq!(
            cache.read_fresh(now - Duration::from_secs(60)),
            None,
            "written in the future"
        );
        let other = DiscoveryCache::under(dir.path(), "http://h:6443");
        assert_eq!(
            other.read_fresh(now),
            None,
            "same directory, another server"
        );
    }

    #[test]
    fn a_corrupt_file_is_absent_and_an_unwritable_directory_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = DiscoveryCache::under(dir.path(), "https://h:6443/");
        cache.write(&names()).expect("write");
        std::fs::write(&cache.file, "{\"server\":").expect("corrupt");
        assert_eq!(cache.read_fresh(SystemTime::now()), None);

        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").expect("a file where a directory would be");
        assert!(
            DiscoveryCache::under(&blocked, "https://h:6443/")
                .write(&names())
                .is_err()
        );
    }
}
