//! The periodic full relist (`--resync-every`): a safety net for every cause of drift not known
//! yet. It lists the whole collection as any relist does, and before the list replaces the
//! store, counts the cached objects that are wrong: a count that should be zero, so a non-zero
//! one is a bug in the reflector or an event the server never sent (a restore that was not
//! noticed, a broken watch cache).
//!
//! # What counts as a difference
//! The list is the server's state at its resourceVersion `theirs`; the cache is the state at
//! its own, `ours`. Churn between the two explains some differences, and only those that churn
//! cannot explain are counted ([`unexplained`]):
//! - `theirs == ours` (a quiet collection): every difference.
//! - `theirs` lower than `ours` (integers): every difference; the server went back in time.
//! - `theirs` higher (integers): an object listed with a resourceVersion at or below `ours` that
//!   the cache lacks or holds at another resourceVersion (it was the same at `ours`, so the
//!   cache should have it). A cached object the list lacks may have been deleted after `ours`,
//!   and one listed past `ours` may have changed after it: not counted.
//! - values that differ and are not both integers: nothing can be told; not counted.
//!
//! The order of the two resourceVersions is [`super::restore::compare`]'s, the one place they
//! are read as integers for that.

use std::collections::HashMap;
use std::sync::Arc;

use super::restore::Verdict;
use crate::wire::object::{ObjectKey, RawObject};

/// The cached objects a complete list shows to be wrong, in key order: those that churn between
/// the cache's resourceVersion `ours` and the list's `theirs` cannot explain (module docs).
pub fn unexplained(
    cached: &[Arc<RawObject>],
    listed: &[RawObject],
    ours: &str,
    theirs: &str,
) -> Vec<ObjectKey> {
    let ours_number = match super::restore::compare(ours, theirs) {
        _ if ours == theirs => return every_difference(cached, listed),
        Verdict::WentBack { .. } => return every_difference(cached, listed),
        Verdict::Incomparable => return Vec::new(),
        // Different values that compare as "current": both integers, the server's higher.
        Verdict::Current => match super::restore::as_integer(ours) {
            Some(number) => number,
            None => return Vec::new(),
        },
    };
    let cached: HashMap<&ObjectKey, &str> = cached
        .iter()
        .map(|object| (object.key(), object.resource_version()))
        .collect();
    let mut wrong: Vec<ObjectKey> = listed
        .iter()
        .filter(|object| {
            super::restore::as_integer(object.resource_version())
                .is_some_and(|version| version <= ours_number)
        })
        .filter(|object| cached.get(object.key()) != Some(&object.resource_version()))
        .map(|object| object.key().clone())
        .collect();
    wrong.sort();
    wrong
}

/// Every key on which the cache and the list disagree: missing, extra, or at another
/// resourceVersion.
fn every_difference(cached: &[Arc<RawObject>], listed: &[RawObject]) -> Vec<ObjectKey> {
    let listed_versions: HashMap<&ObjectKey, &str> = listed
        .iter()
        .map(|object| (object.key(), object.resource_version()))
        .collect();
    let cached_versions: HashMap<&ObjectKey, &str> = cached
        .iter()
        .map(|object| (object.key(), object.resource_version()))
        .collect();
    let mut wrong: Vec<ObjectKey> = listed_versions
        .iter()
        .filter(|(key, version)| cached_versions.get(*key) != Some(*version))
        .chain(
            cached_versions
                .iter()
                .filter(|(key, _)| !listed_versions.contains_key(*key)),
        )
        .map(|(key, _)| (*key).clone())
        .collect();
    wrong.sort();
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::pod;

    fn cached(objects: &[(&str, u32)]) -> Vec<Arc<RawObject>> {
        objects
            .iter()
            .map(|(key, rv)| Arc::new(pod(key, *rv)))
            .collect()
    }

    fn listed(objects: &[(&str, u32)]) -> Vec<RawObject> {
        objects.iter().map(|(key, rv)| pod(key, *rv)).collect()
    }

    fn keys(keys: Vec<ObjectKey>) -> Vec<String> {
        keys.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn at_the_same_resource_version_every_difference_counts() {
        let cache = cached(&[("a/same", 5), ("a/stale", 6), ("a/extra", 7)]);
        let list = listed(&[("a/same", 5), ("a/stale", 9), ("a/missing", 8)]);
        assert_eq!(
            keys(unexplained(&cache, &list, "10", "10")),
            ["a/extra", "a/missing", "a/stale"]
        );
        assert_eq!(
            keys(unexplained(&cache, &cache_as_list(&cache), "10", "10")),
            [] as [&str; 0]
        );
    }

    fn cache_as_list(cache: &[Arc<RawObject>]) -> Vec<RawObject> {
        cache.iter().map(|object| (**object).clone()).collect()
    }

    #[test]
    fn a_server_behind_the_cache_counts_every_difference() {
        let cache = cached(&[("a/deleted-back-then", 90), ("a/kept", 5)]);
        let list = listed(&[("a/kept", 5), ("a/new", 42)]);
        assert_eq!(
            keys(unexplained(&cache, &list, "100", "50")),
            ["a/deleted-back-then", "a/new"]
        );
    }

    #[test]
    fn a_server_ahead_counts_only_what_was_already_true_at_the_caches_version() {
        let cache = cached(&[
            ("a/ok", 5),
            ("a/changed-later", 6),
            ("a/deleted-later", 7),
            ("a/missed-change", 3),
        ]);
        let list = listed(&[
            ("a/ok", 5),
            ("a/changed-later", 15),
            ("a/created-later", 14),
            ("a/missed", 8),
            ("a/missed-change", 9),
        ]);
        assert_eq!(
            keys(unexplained(&cache, &list, "10", "20")),
            ["a/missed", "a/missed-change"],
            "listed at or below 10 but not so in the cache; later changes and possible later \
             deletes are churn"
        );
    }

    #[test]
    fn versions_that_differ_and_are_not_integers_tell_nothing() {
        let cache = cached(&[("a/x", 5)]);
        let list = listed(&[("a/y", 6)]);
        assert!(unexplained(&cache, &list, "abc", "abd").is_empty());
        assert!(unexplained(&cache, &list, "10", "zzz").is_empty());
        assert_eq!(
            keys(unexplained(&cache, &list, "abc", "abc")),
            ["a/x", "a/y"]
        );
    }
}
