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
    })
}

/// A reflector synced at resourceVersion 100 (pods a/1 and a/2), checking for restores every
/// 60 s, with watches of 50 s; `replies` follow the list.
async fn synced_at_100(replies: Vec<Reply>) -> Harness {
    let mut script = vec![page("100", &["a/1", "a/2"], None)];
    script.extend(replies);
    let config = ReflectorConfig {
        watch_timeout_seconds: 50..=50,
        restore_check_interval: Duration::from_secs(60),
        ..ReflectorConfig::default()
    };
    let mut h = harness(script, config);
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    h.requests();
    h
}

#[tokio::test(start_paused = true)]
async fn a_silent_watch_checks_for_a_restore_only_once_the_interval_has_passed() {
    let mut h = synced_at_100(vec![
        watch(vec![], Ending::CloseAfter(Duration::from_secs(50))),
        watch(vec![], Ending::CloseAfter(Duration::from_secs(50))),
    ])
    .await;
    // 50 s after the list: the list itself was the last check.
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    // 100 s after it, and the watch heard nothing: check.
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == checking_restore("100")),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_watch_that_heard_a_bookmark_or_an_event_is_not_followed_by_a_check() {
    let quiet = || watch(vec![], Ending::CloseAfter(Duration::from_secs(50)));
    let mut h = synced_at_100(vec![
        quiet(),
        watch(
            vec![Ok(WatchEvent::Bookmark("100".into()))],
            Ending::CloseAfter(Duration::from_secs(50)),
        ),
        watch(
            vec![Ok(WatchEvent::Modified(pod("a/1", 101)))],
            Ending::CloseAfter(Duration::from_secs(50)),
        ),
        quiet(),
    ])
    .await;
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    // Past the interval, but each watch heard something: the server is not behind us.
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("101")),
        "{step:?}"
    );
    // The next silent one is checked.
    let step = h.reflector.step(watching("101")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == checking_restore("101")),
        "{step:?}"
    );
}

/// A server whose state went back sends, if anything, bookmarks and events at its own (lower)
/// resourceVersion: ignored as resume points, they are no sign the server accepted ours, and
/// must not keep the restore check away for ever.
#[tokio::test(start_paused = true)]
async fn bookmarks_or_events_that_go_back_do_not_keep_the_restore_check_away() {
    let going_back = |event| watch(vec![Ok(event)], Ending::CloseAfter(Duration::from_secs(50)));
    let mut h = synced_at_100(vec![
        going_back(WatchEvent::Bookmark("50".into())),
        going_back(WatchEvent::Bookmark("zzz".into())),
        going_back(WatchEvent::Modified(pod("a/1", 51))),
    ])
    .await;
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    // 100 s after the list, and what the watch heard went back: check.
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == checking_restore("100")),
        "{step:?}"
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == checking_restore("100")),
        "an event going back is no sign either: {step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dead_silent_watch_checks_for_a_restore_too() {
    let mut h = synced_at_100(vec![watch(vec![], Ending::Stall)]).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == checking_restore("100")),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_behind_the_cache_is_relisted_and_the_relist_drops_what_it_no_longer_has() {
    let mut h = synced_at_100(vec![
        page("40", &["a/1"], Some("more")),
        page("40", &["a/1", "b/new"], None),
    ])
    .await;
    let step = h.reflector.step(checking_restore("100")).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
    assert_eq!(h.requests(), [restore_check()]);
    assert_eq!(h.keys(), ["a/1", "a/2"], "the check alone changes nothing");
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("40")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/1", "b/new"]);
    assert_eq!(
        h.reflector
            .metrics
            .render(&h.store)
            .lines()
            .filter(|l| l.starts_with("kreflect_server_went_back_total "))
            .collect::<Vec<_>>(),
        ["kreflect_server_went_back_total 1"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_at_or_past_the_cache_resumes_the_watch_where_it_was() {
    for theirs in ["100", "250"] {
        let mut h = synced_at_100(vec![page(theirs, &["a/1"], Some("more"))]).await;
        let step = h.reflector.step(checking_restore("100")).await;
        assert!(
            matches!(step, Step::Next(ref s) if *s == watching("100")),
            "{theirs}: {step:?}"
        );
        assert_eq!(h.requests(), [restore_check()]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_changed_resource_version_that_is_not_an_integer_relists_and_an_equal_one_does_not() {
    let mut h = synced_at_100(vec![page("abc", &[], None)]).await;
    let step = h.reflector.step(checking_restore("100")).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
    let mut h = synced_at_100(vec![page("opaque-1", &[], None)]).await;
    let step = h.reflector.step(checking_restore("opaque-1")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("opaque-1")),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_restore_check_backs_off_and_watches_from_where_the_cache_is() {
    let mut h = synced_at_100(vec![Reply::List(Err(status(
        503,
        "ServiceUnavailable",
        None,
    )))])
    .await;
    let step = h.reflector.step(checking_restore("100")).await;
    assert!(
        matches!(step, Step::Backoff(ref s, _) if *s == watching("100")),
        "{step:?}"
    );
}

/// A restore check (a list) answered 500 says nothing about the watch's resume point: three
/// of them are not "the server keeps refusing to watch from this resourceVersion", and do not
/// relist.
#[tokio::test(start_paused = true)]
async fn restore_checks_answered_500_are_not_counted_as_refusals_of_the_resume_point() {
    let refused = || Reply::List(Err(status(500, "InternalError", None)));
    let mut h = synced_at_100(vec![refused(), refused(), refused()]).await;
    for attempt in 1..=3 {
        let step = h.reflector.step(checking_restore("100")).await;
        assert!(
            matches!(step, Step::Backoff(ref s, _) if *s == watching("100")),
            "check {attempt}: {step:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_resync_is_due_after_its_interval_and_counts_what_the_cache_had_wrong() {
    let quiet = || watch(vec![], Ending::CloseAfter(Duration::from_secs(50)));
    let mut script = vec![page("100", &["a/1", "a/2"], None), quiet(), quiet()];
    script.push(page("100", &["a/1", "a/3"], None));
    let config = ReflectorConfig {
        watch_timeout_seconds: 50..=50,
        resync_every: Some(Duration::from_secs(90)),
        ..ReflectorConfig::default()
    };
    let mut h = harness(script, config);
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    let step = h.reflector.step(watching("100")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    let step = h.reflector.step(watching("100")).await;
    let resyncing = State::Resyncing {
        resource_version: "100".into(),
    };
    assert!(
        matches!(step, Step::Next(ref s) if *s == resyncing),
        "{step:?}"
    );
    let step = h.reflector.step(resyncing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("100")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/1", "a/3"]);
    let metrics = h.reflector.metrics.render(&h.store);
    assert!(
        metrics.contains("\nkreflect_resyncs_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nkreflect_resync_differences_total 2\n"),
        "a/2 extra and a/3 missing at the same resourceVersion: {metrics}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resume_point_the_server_keeps_refusing_ends_in_a_relist_naming_it() {
    let (logs, _guard) = captured_logs();
    let refused = || Reply::Watch(Err(status(500, "", None)));
    let mut h = harness(
        vec![refused(), refused(), refused()],
        ReflectorConfig::default(),
    );
    for attempt in 1..=2 {
        let step = h.reflector.step(watching("zzz")).await;
        assert!(
            matches!(step, Step::Backoff(ref s, _) if *s == watching("zzz")),
            "attempt {attempt}: retried from the same point: {step:?}"
        );
    }
    let step = h.reflector.step(watching("zzz")).await;
    assert!(
        matches!(step, Step::Backoff(State::Listing, _)),
        "the third refusal relists after a backoff: {step:?}"
    );
    let logs = logs.text();
    assert!(
        logs.contains("WARN") && logs.contains("zzz") && logs.contains("relisting"),
        "{logs}"
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_of_other_kinds_or_with_progress_between_them_do_not_relist() {
    let error = |code: u16| {
        Ok(WatchEvent::Error(ApiStatus {
            code,
            reason: String::new(),
            message: "from the test server".into(),
        }))
    };
    let mut h = harness(
        vec![
            Reply::Watch(Err(status(503, "ServiceUnavailable", None))),
            Reply::Watch(Err(status(429, "TooManyRequests", None))),
            Reply::Watch(Err(status(503, "ServiceUnavailable", None))),
            Reply::Watch(Err(status(500, "", None))),
            Reply::Watch(Err(status(500, "", None))),
            watch(
                vec![Ok(WatchEvent::Bookmark("10".into())), error(500)],
                Ending::Close,
            ),
            Reply::Watch(Err(status(500, "", None))),
        ],
        ReflectorConfig::default(),
    );
    for attempt in 1..=7 {
        let step = h.reflector.step(watching("10")).await;
        assert!(
            matches!(step, Step::Backoff(ref s, _) if *s == watching("10")),
            "attempt {attempt}: overload is no refusal, and a watch that heard something resets \
             the count (its ERROR 500 is the first of two since): {step:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_bookmark_that_is_not_an_integer_or_goes_back_does_not_move_the_resume_point() {
    let mut h = harness(
        vec![watch(
            vec![
                Ok(WatchEvent::Bookmark("zzz".into())),
                Ok(WatchEvent::Bookmark("5".into())),
                Ok(WatchEvent::Modified(pod("a/1", 12))),
                Ok(WatchEvent::Bookmark("13".into())),
                Ok(WatchEvent::Bookmark("12".into())),
            ],
            Ending::Close,
        )],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("13")),
        "{step:?}"
    );
    assert_eq!(h.store.resource_version(), "13");
}
