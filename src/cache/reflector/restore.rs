//! Noticing that the server's state went back in time: an etcd snapshot restored under it.
//!
//! After a restore, lists answer an older resourceVersion with other objects, and a watch from
//! the cache's (newer) resourceVersion is answered `200` and then nothing at all, no event and no
//! bookmark, until the server's resourceVersion passes the cache's (transcript 33; the watch
//! cache drops every event at or below a watcher's resourceVersion). Nothing in that stream says
//! the cache is wrong, so the reflector asks: after a watch that ended having received nothing,
//! at most once per [`super::ReflectorConfig::restore_check_interval`], it lists one object
//! (`limit=1`: one object read, but the answer carries the collection's current
//! resourceVersion, transcript 28) and compares that resourceVersion with its own.
//!
//! # What is compared, and why
//! The API conventions call resourceVersions opaque: clients may only compare them for
//! equality. A restore is the one case where ordering is needed, because a value that went
//! *down* is the only trace it leaves. So [`compare`] reads both values as integers (what
//! kube-apiserver's etcd storage hands out: etcd's revision) only here, and only to ask whether
//! the server's is lower than the cache's. Where either value is not an integer (an aggregated
//! API server with its own scheme), ordering means nothing: a value that differs from the
//! cache's is taken as "cannot tell", and the reflector relists (a plain relist, at most once
//! per check interval and only after silent watches).
//!
//! The same reading decides which resourceVersions a watch may move to ([`may_follow`]): one
//! that is not an integer, or lower, after an integer is not resumed from.
//!
//! Equal values, or a server ahead of the cache, are what a healthy server answers: a watch
//! on a quiet collection is silent too (the list's resourceVersion is etcd's, often past the
//! last change of this kind), so the check costs one small list per interval there and
//! changes nothing.

use std::time::Duration;

/// The default [`super::ReflectorConfig::restore_check_interval`]: a restore is noticed at the
/// end of the first silent watch after this long, so within this plus a watch's timeout and
/// grace (2 min + 55 s by default).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(120);

/// Whether `next`, a resourceVersion an event or bookmark carries, may become the watch's resume
/// point after `current`. A watch never goes back, so where `current` is an integer, `next` must
/// be one too and not lower: a hostile or broken server's `zzz` (which a v1.26 server answers
/// with 500 when watched from) or `5` after `10` is not resumed from. An opaque `current` (an
/// aggregated API's own scheme) cannot be ordered: anything may follow it.
pub fn may_follow(current: &str, next: &str) -> bool {
    match as_integer(current) {
        Some(current) => as_integer(next).is_some_and(|next| next >= current),
        None => true,
    }
}

/// `value` as the API server reads a resourceVersion (Go's `strconv.ParseUint(value, 10, 64)`):
/// decimal digits only, leading zeros allowed; a sign (`+30`, which Rust's parser would take),
/// spaces or a value past `u64` are not integers, and a v1.26 server answers 500 to a watch
/// from one.
pub fn as_integer(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// What the server's current resourceVersion says about the cache's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The server is at the cache's resourceVersion or past it: nothing went back.
    Current,
    /// The server's resourceVersion is lower than the cache's: its state went back in time.
    WentBack {
        /// The cache's resourceVersion.
        ours: u64,
        /// The server's.
        theirs: u64,
    },
    /// The values differ and are not both integers: no order can be told.
    Incomparable,
}

/// Compares the cache's resourceVersion `ours` with the server's current one, `theirs`.
pub fn compare(ours: &str, theirs: &str) -> Verdict {
    if ours == theirs {
        return Verdict::Current;
    }
    match (as_integer(ours), as_integer(theirs)) {
        (Some(ours), Some(theirs)) if theirs < ours => Verdict::WentBack { ours, theirs },
        (Some(_), Some(_)) => Verdict::Current,
        _ => Verdict::Incomparable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_integer_not_lower_may_follow_an_integer_and_anything_an_opaque_value() {
        assert!(may_follow("10", "10"));
        assert!(may_follow("10", "11"));
        assert!(may_follow("9", "10"), "compared as numbers");
        assert!(!may_follow("10", "9"));
        assert!(!may_follow("10", "zzz"));
        assert!(!may_follow("10", ""));
        assert!(may_follow("opaque", "zzz"));
        assert!(may_follow("opaque", "1"));
    }

    #[test]
    fn resource_versions_are_read_as_the_api_server_reads_them() {
        assert_eq!(as_integer("15702"), Some(15_702));
        assert_eq!(
            as_integer("0500"),
            Some(500),
            "leading zeros, as Go's ParseUint"
        );
        assert_eq!(as_integer("18446744073709551615"), Some(u64::MAX));
        for not_one in ["+30", "-1", " 30", "30 ", "", "3e2", "18446744073709551616"] {
            assert_eq!(as_integer(not_one), None, "{not_one:?}");
        }
        // The attack on issue 18: a bookmark at `+30` became the resume point, and the server
        // refused three watches from it before the relist.
        assert!(!may_follow("10", "+30"));
        assert_eq!(compare("10", "+30"), Verdict::Incomparable);
    }

    #[test]
    fn a_server_at_or_past_the_caches_resource_version_is_current() {
        assert_eq!(compare("15702", "15702"), Verdict::Current);
        assert_eq!(compare("15702", "15703"), Verdict::Current);
        assert_eq!(compare("9", "10"), Verdict::Current, "compared as numbers");
        assert_eq!(
            compare("10", "010"),
            Verdict::Current,
            "the same number written otherwise has not gone back"
        );
    }

    #[test]
    fn a_lower_server_resource_version_went_back() {
        assert_eq!(
            compare("10015702", "15702"),
            Verdict::WentBack {
                ours: 10_015_702,
                theirs: 15_702
            }
        );
        assert_eq!(
            compare("10", "9"),
            Verdict::WentBack {
                ours: 10,
                theirs: 9
            },
            "compared as numbers, not as text"
        );
    }

    #[test]
    fn values_that_are_not_integers_are_equal_or_incomparable() {
        assert_eq!(compare("abc", "abc"), Verdict::Current);
        assert_eq!(compare("abc", "abd"), Verdict::Incomparable);
        assert_eq!(compare("100", "zzz"), Verdict::Incomparable);
        assert_eq!(compare("zzz", "100"), Verdict::Incomparable);
        assert_eq!(compare("", "5"), Verdict::Incomparable);
    }
}
