//! A server that went back in time (an etcd restore): the restore check after a silent watch, the relist it triggers, resyncs, and resume points the server keeps refusing.

use super::*;

fn checking_restore(rv: &str) -> State {
    State::CheckingRestore {
        resource_version: rv.into(),
    }
}

/// The one-object list a restore check sends.
fn restore_check() -> Request {
    Request::List(ListRequest {
        limit: Some(1),
        continue_token: None,
        from: ListFrom::Latest,
    })
}

/// A watch the server ends after 50 s, its timeout.
fn watch_50s(lines: Vec<Line>) -> Reply {
    watch(lines, Ending::CloseAfter(Duration::from_secs(50)))
}

/// A watch that hears nothing in its 50 s.
fn quiet() -> Reply {
    watch_50s(vec![])
}

/// A reflector synced at resourceVersion 100 (pods a/1 and a/2), with watches of 50 s and
/// otherwise `config`; `replies` follow the list.
async fn synced_at_100_with(config: ReflectorConfig, replies: Vec<Reply>) -> Harness {
    let mut script = vec![page("100", &["a/1", "a/2"], None)];
    script.extend(replies);
    let config = ReflectorConfig {
        watch_timeout_seconds: 50..=50,
        ..config
    };
    let mut h = harness_with(config, script);
    assert_next(h.step(State::Listing).await, watching("100"));
    h.requests();
    h
}

/// [`synced_at_100_with`], checking for restores every 60 s.
async fn synced_at_100(replies: Vec<Reply>) -> Harness {
    let config = ReflectorConfig {
        restore_check_interval: Duration::from_secs(60),
        ..classic_config()
    };
    synced_at_100_with(config, replies).await
}

#[tokio::test(start_paused = true)]
async fn a_silent_watch_checks_for_a_restore_only_once_the_interval_has_passed() {
    let mut h = synced_at_100(vec![quiet(), quiet()]).await;
    // 50 s after the list: the list itself was the last check.
    assert_next(h.step(watching("100")).await, watching("100"));
    // 100 s after it, and the watch heard nothing: check.
    assert_next(h.step(watching("100")).await, checking_restore("100"));
}

#[tokio::test(start_paused = true)]
async fn a_watch_that_heard_a_bookmark_or_an_event_is_not_followed_by_a_check() {
    let mut h = synced_at_100(vec![
        quiet(),
        watch_50s(vec![bookmark("100")]),
        watch_50s(vec![modified("a/1", 101)]),
        quiet(),
    ])
    .await;
    assert_next(h.step(watching("100")).await, watching("100"));
    // Past the interval, but each watch heard something: the server is not behind us.
    assert_next(h.step(watching("100")).await, watching("100"));
    assert_next(h.step(watching("100")).await, watching("101"));
    // The next silent one is checked.
    assert_next(h.step(watching("101")).await, checking_restore("101"));
}

/// A server whose state went back sends, if anything, bookmarks and events at its own (lower)
/// resourceVersion: ignored as resume points, they are no sign the server accepted ours, and
/// must not keep the restore check away for ever.
#[tokio::test(start_paused = true)]
async fn bookmarks_or_events_that_go_back_do_not_keep_the_restore_check_away() {
    let mut h = synced_at_100(vec![
        watch_50s(vec![bookmark("50")]),
        watch_50s(vec![bookmark("zzz")]),
        watch_50s(vec![modified("a/1", 51)]),
    ])
    .await;
    assert_next(h.step(watching("100")).await, watching("100"));
    // 100 s after the list, and what the watch heard went back: check.
    assert_next(h.step(watching("100")).await, checking_restore("100"));
    tokio::time::advance(Duration::from_secs(60)).await;
    // An event going back is no sign either.
    assert_next(h.step(watching("100")).await, checking_restore("100"));
}

#[tokio::test(start_paused = true)]
async fn a_dead_silent_watch_checks_for_a_restore_too() {
    let mut h = synced_at_100(vec![watch(vec![], Ending::Stall)]).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_next(h.step(watching("100")).await, checking_restore("100"));
}

#[tokio::test(start_paused = true)]
async fn a_server_behind_the_cache_is_relisted_and_the_relist_drops_what_it_no_longer_has() {
    let mut h = synced_at_100(vec![
        page("40", &["a/1"], Some("more")),
        page("40", &["a/1", "b/new"], None),
    ])
    .await;
    assert_next(h.step(checking_restore("100")).await, State::Listing);
    assert_eq!(h.requests(), [restore_check()]);
    assert_eq!(h.keys(), ["a/1", "a/2"], "the check alone changes nothing");
    assert_next(h.step(State::Listing).await, watching("40"));
    assert_eq!(h.keys(), ["a/1", "b/new"]);
    let went_back = metric(
        &h.reflector.metrics,
        &h.store,
        "kreflect_server_went_back_total",
    );
    assert_eq!(went_back, 1);
}

#[tokio::test(start_paused = true)]
async fn a_server_at_or_past_the_cache_resumes_the_watch_where_it_was() {
    let mut at = synced_at_100(vec![page("100", &["a/1"], Some("more"))]).await;
    assert_next(at.step(checking_restore("100")).await, watching("100"));
    assert_eq!(at.requests(), [restore_check()]);
    let mut past = synced_at_100(vec![page("250", &["a/1"], Some("more"))]).await;
    assert_next(past.step(checking_restore("100")).await, watching("100"));
    assert_eq!(past.requests(), [restore_check()]);
}

#[tokio::test(start_paused = true)]
async fn a_changed_resource_version_that_is_not_an_integer_relists_and_an_equal_one_does_not() {
    let mut h = synced_at_100(vec![page("abc", &[], None)]).await;
    assert_next(h.step(checking_restore("100")).await, State::Listing);
    let mut h = synced_at_100(vec![page("opaque-1", &[], None)]).await;
    assert_next(
        h.step(checking_restore("opaque-1")).await,
        watching("opaque-1"),
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_restore_check_backs_off_and_watches_from_where_the_cache_is() {
    let mut h = synced_at_100(vec![list_fails(503, "ServiceUnavailable")]).await;
    assert_backoff(h.step(checking_restore("100")).await, watching("100"));
}

/// A restore check (a list) answered 500 says nothing about the watch's resume point: three
/// of them are not "the server keeps refusing to watch from this resourceVersion", and do not
/// relist.
#[tokio::test(start_paused = true)]
async fn restore_checks_answered_500_are_not_counted_as_refusals_of_the_resume_point() {
    let refused = || list_fails(500, "InternalError");
    let mut h = synced_at_100(vec![refused(), refused(), refused()]).await;
    assert_backoff(h.step(checking_restore("100")).await, watching("100"));
    assert_backoff(h.step(checking_restore("100")).await, watching("100"));
    assert_backoff(h.step(checking_restore("100")).await, watching("100"));
}

#[tokio::test(start_paused = true)]
async fn a_resync_is_due_after_its_interval_and_counts_what_the_cache_had_wrong() {
    let config = ReflectorConfig {
        resync_every: Some(Duration::from_secs(90)),
        ..classic_config()
    };
    let relisted = page("100", &["a/1", "a/3"], None);
    let mut h = synced_at_100_with(config, vec![quiet(), quiet(), relisted]).await;
    assert_next(h.step(watching("100")).await, watching("100"));
    let resyncing = State::Resyncing {
        resource_version: "100".into(),
    };
    assert_next(h.step(watching("100")).await, resyncing.clone());
    assert_next(h.step(resyncing).await, watching("100"));
    assert_eq!(h.keys(), ["a/1", "a/3"]);
    let metrics = &h.reflector.metrics;
    assert_eq!(metric(metrics, &h.store, "kreflect_resyncs_total"), 1);
    assert_eq!(
        metric(metrics, &h.store, "kreflect_resync_differences_total"),
        2,
        "a/2 extra and a/3 missing at the same resourceVersion"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resume_point_the_server_keeps_refusing_ends_in_a_relist_naming_it() {
    let (logs, _guard) = captured_logs();
    let refused = || watch_fails(500, "InternalError");
    let mut h = harness(vec![refused(), refused(), refused()]);
    // Retried from the same point twice; the third refusal relists after a backoff.
    assert_backoff(h.step(watching("zzz")).await, watching("zzz"));
    assert_backoff(h.step(watching("zzz")).await, watching("zzz"));
    assert_backoff(h.step(watching("zzz")).await, State::Listing);
    let logs = logs.text();
    assert!(
        logs.contains("WARN") && logs.contains("zzz") && logs.contains("relisting"),
        "{logs}"
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_of_other_kinds_or_with_progress_between_them_do_not_relist() {
    let mut h = harness(vec![
        watch_fails(503, "ServiceUnavailable"),
        watch_fails(429, "TooManyRequests"),
        watch_fails(503, "ServiceUnavailable"),
        watch_fails(500, "InternalError"),
        watch_fails(500, "InternalError"),
        watch(
            vec![bookmark("10"), error_event(500, "InternalError")],
            Ending::Close,
        ),
        watch_fails(500, "InternalError"),
    ]);
    // Overload is no refusal, and a watch that heard something resets the count.
    assert_backoff(h.step(watching("10")).await, watching("10")); // 503
    assert_backoff(h.step(watching("10")).await, watching("10")); // 429
    assert_backoff(h.step(watching("10")).await, watching("10")); // 503
    assert_backoff(h.step(watching("10")).await, watching("10")); // 500, the first
    assert_backoff(h.step(watching("10")).await, watching("10")); // 500, the second
    assert_backoff(h.step(watching("10")).await, watching("10")); // heard, then ERROR 500: first
    assert_backoff(h.step(watching("10")).await, watching("10")); // 500, the second since
}

#[tokio::test(start_paused = true)]
async fn a_bookmark_that_is_not_an_integer_or_goes_back_does_not_move_the_resume_point() {
    let mut h = harness(vec![watch(
        vec![
            bookmark("zzz"),
            bookmark("5"),
            modified("a/1", 12),
            bookmark("13"),
            bookmark("12"),
        ],
        Ending::Close,
    )]);
    assert_next(h.step(watching("10")).await, watching("13"));
    assert_eq!(h.store.resource_version(), "13");
}
