//! A watch resumed from a store seeded with an earlier run's state (`--state`): short watches
//! until the store is known to be up to date, and a list only when the server no longer has
//! the resume point.

use super::*;
use crate::cache::store::Change;

/// A reflector whose store was seeded with `a/x` at 5 and `a/y` at 6, the collection at 10,
/// resuming from there; and the changes it publishes.
fn resumed(replies: Vec<Reply>) -> (Harness, tokio::sync::mpsc::Receiver<Change>) {
    let (mut writer, store) = new_store();
    let changes = writer.changes();
    writer.seed(
        vec![
            RawObject::remembered(pod("a/x", 0).key().clone(), "5"),
            RawObject::remembered(pod("a/y", 0).key().clone(), "6"),
        ],
        "10",
    );
    let requests = Arc::new(Mutex::new(Vec::new()));
    let source = ScriptedSource {
        scope: Scope {
            plural: "pods".into(),
            namespace: None,
            namespaced: true,
        },
        replies: Mutex::new(replies.into()),
        requests: Arc::clone(&requests),
    };
    let reflector = Reflector::new(source, writer, classic_config()).resuming_from("10".into());
    let harness = Harness {
        reflector,
        store,
        requests,
    };
    (harness, changes)
}

/// The changes published so far, as `TYPE key rv`.
fn published(changes: &mut tokio::sync::mpsc::Receiver<Change>) -> Vec<String> {
    std::iter::from_fn(|| changes.try_recv().ok())
        .map(|change| {
            format!(
                "{} {} {}",
                change.change_type.as_str(),
                change.key,
                change.resource_version
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_short_resumed_watch_replays_what_changed_and_its_bookmark_syncs_the_store() {
    let three_seconds = Ending::CloseAfter(Duration::from_secs(3));
    let (mut h, mut changes) = resumed(vec![watch(
        vec![modified("a/x", 11), deleted("a/y", 12), bookmark("13")],
        three_seconds,
    )]);
    assert!(!h.store.is_synced(), "a seeded store is not synced");
    assert_next(h.step(watching("10")).await, watching("13"));
    assert!(h.store.is_synced());
    assert_eq!(h.keys(), ["a/x"]);
    assert_eq!(
        published(&mut changes),
        ["MODIFIED a/x 11", "DELETED a/y 12", "SYNCED  13"],
        "the replay, then the marker a list would have sent"
    );
    let requests = h.requests();
    assert_eq!(requests.len(), 1, "no list: {requests:?}");
    let Request::Watch(resumed) = &requests[0] else {
        panic!("a watch: {requests:?}");
    };
    assert_eq!(resumed.resource_version, "10");
    assert_eq!(resumed.timeout_seconds, RESUME_WATCH_TIMEOUT_SECONDS);
}

#[tokio::test(start_paused = true)]
async fn a_resumed_watch_that_ran_to_its_end_having_heard_events_syncs_the_store() {
    let three_seconds = Ending::CloseAfter(Duration::from_secs(3));
    let (mut h, mut changes) = resumed(vec![
        watch(vec![added("a/z", 11)], three_seconds),
        watch(vec![], Ending::Stall),
    ]);
    assert_next(h.step(watching("10")).await, watching("11"));
    assert!(h.store.is_synced());
    assert_eq!(published(&mut changes), ["ADDED a/z 11", "SYNCED  11"]);
}

#[tokio::test(start_paused = true)]
async fn a_silent_resumed_watch_is_checked_with_one_object_then_the_store_is_synced() {
    let three_seconds = Ending::CloseAfter(Duration::from_secs(3));
    let (mut h, mut changes) = resumed(vec![watch(vec![], three_seconds), page("10", &[], None)]);
    let checking = State::CheckingRestore {
        resource_version: "10".into(),
    };
    assert_next(h.step(watching("10")).await, checking.clone());
    assert!(!h.store.is_synced(), "silence may be a restore");
    assert_next(h.step(checking).await, watching("10"));
    assert!(h.store.is_synced());
    assert_eq!(published(&mut changes), ["SYNCED  10"]);
    assert_eq!(h.keys(), ["a/x", "a/y"]);
}

#[tokio::test(start_paused = true)]
async fn a_resume_point_the_server_no_longer_has_relists_and_publishes_the_differences() {
    let (mut h, mut changes) = resumed(vec![
        watch(vec![expired()], Ending::Close),
        page("20", &["a/x", "a/z"], None),
    ]);
    assert_next(h.step(watching("10")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("20"));
    assert_eq!(
        published(&mut changes),
        [
            "MODIFIED a/x 1",
            "DELETED a/y 6",
            "ADDED a/z 1",
            "SYNCED  20"
        ],
        "what the list shows different from the seeded store, in key order"
    );
}
