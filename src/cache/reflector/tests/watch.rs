//! Watching: events and bookmarks applied, resumes from the last resourceVersion, watches that end early, stall or freeze, and what counts as a restart.

use super::*;

#[tokio::test(start_paused = true)]
async fn watch_applies_events_and_resumes_from_the_last_resource_version() {
    let mut h = harness(
        vec![
            page("10", &["a/old"], None),
            watch(
                vec![
                    Ok(WatchEvent::Added(pod("a/x", 11))),
                    Ok(WatchEvent::Modified(pod("a/x", 12))),
                    Ok(WatchEvent::Added(pod("a/y", 13))),
                    Ok(WatchEvent::Deleted(pod("a/old", 14))),
                ],
                Ending::Close,
            ),
        ],
        ReflectorConfig::default(),
    );
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("14")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/x", "a/y"]);
    let x = h
        .store
        .get(&pod("a/x", 0).key().clone())
        .expect("a/x cached");
    assert_eq!(x.resource_version(), "12");
    let requests = h.requests();
    assert_eq!(watched_from(&requests[1]), "10");
    let Request::Watch(watch) = &requests[1] else {
        unreachable!()
    };
    assert!((40..=50).contains(&watch.timeout_seconds), "{watch:?}");
}

#[tokio::test(start_paused = true)]
async fn bookmark_advances_the_resource_version_without_touching_the_store() {
    let mut h = harness(
        vec![watch(
            vec![Ok(WatchEvent::Bookmark("99".into()))],
            Ending::CloseAfter(Duration::from_secs(30)),
        )],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("99")),
        "{step:?}"
    );
    assert!(h.keys().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_watch_closed_early_without_object_events_backs_off_even_after_a_bookmark() {
    let mut h = harness(
        vec![
            watch(vec![], Ending::Close),
            watch(vec![Ok(WatchEvent::Bookmark("11".into()))], Ending::Close),
            watch(vec![Ok(WatchEvent::Bookmark("12".into()))], Ending::Close),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    let Step::Backoff(ref state, first) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert_eq!(*state, watching("10"));
    let step = h.reflector.step(watching("10")).await;
    let Step::Backoff(ref state, second) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert_eq!(
        *state,
        watching("11"),
        "the bookmark still moves the position"
    );
    let step = h.reflector.step(watching("11")).await;
    let Step::Backoff(_, third) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert!(
        first <= Duration::from_millis(1600) && third >= Duration::from_millis(3200),
        "the backoff grows and is not reset by bookmarks: {first:?} {second:?} {third:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_watch_closed_early_after_only_replayed_events_backs_off_and_a_new_event_does_not() {
    let unversioned = RawObject::from_json(
        br#"{"kind":"Pod","metadata":{"name":"p","namespace":"a","resourceVersion":""}}"#,
        "Pod",
    )
    .expect("test pod");
    let mut h = harness(
        vec![
            watch(
                vec![Ok(WatchEvent::Modified(pod("a/p", 10)))],
                Ending::Close,
            ),
            watch(vec![Ok(WatchEvent::Modified(unversioned))], Ending::Close),
            watch(vec![Ok(WatchEvent::Deleted(pod("a/p", 10)))], Ending::Close),
            watch(
                vec![Ok(WatchEvent::Modified(pod("a/p", 11)))],
                Ending::Close,
            ),
        ],
        ReflectorConfig::default(),
    );
    for replay in [
        "same resourceVersion",
        "no resourceVersion",
        "same, deleted",
    ] {
        let step = h.reflector.step(watching("10")).await;
        assert!(
            matches!(step, Step::Backoff(ref s, _) if *s == watching("10")),
            "{replay}: {step:?}"
        );
    }
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("11")),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_quiet_watch_that_runs_its_course_is_reopened_at_once() {
    let config = ReflectorConfig {
        watch_timeout_seconds: 10..=10,
        ..ReflectorConfig::default()
    };
    let mut h = harness(
        vec![watch(
            vec![Ok(WatchEvent::Bookmark("11".into()))],
            Ending::CloseAfter(Duration::from_secs(9)),
        )],
        config,
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("11")),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn list_only_never_watches_and_waits_for_stop_after_the_sync() {
    let config = ReflectorConfig {
        list_only: true,
        streaming_list: true,
        ..ReflectorConfig::default()
    };
    let h = harness(vec![page("10", &["a/x"], None)], config);
    let requests = Arc::clone(&h.requests);
    let store = h.store.clone();
    let stop = CancellationToken::new();
    let task = tokio::spawn(h.reflector.run(stop.clone()));
    store.wait_synced().await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!task.is_finished(), "waits for stop");
    stop.cancel();
    assert!(task.await.expect("joined").is_ok());
    assert_eq!(
        *requests.lock().expect("requests"),
        [paged(None)],
        "one paged list (a streaming list would be a watch), and no watch"
    );
}

#[tokio::test(start_paused = true)]
async fn a_broken_stream_resumes_from_the_last_event_after_backoff() {
    let (logs, _guard) = captured_logs();
    let mut h = harness(
        vec![watch(
            vec![
                Ok(WatchEvent::Added(pod("a/x", 11))),
                Err(StreamError::Transport("connection reset".into())),
            ],
            Ending::Close,
        )],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Backoff(ref s, _) if *s == watching("11")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/x"]);
    let said = logs.text();
    assert!(
        said.lines().any(|line| line.contains("INFO")
            && line.contains("watch broken; resuming")
            && line.contains("connection reset")),
        "{said}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stalled_watch_is_reopened_after_its_timeout() {
    let (logs, _guard) = captured_logs();
    let config = ReflectorConfig {
        watch_timeout_seconds: 5..=5,
        stall_grace: Duration::from_secs(1),
        ..ReflectorConfig::default()
    };
    let mut h = harness(
        vec![watch(
            vec![Ok(WatchEvent::Added(pod("a/x", 11)))],
            Ending::Stall,
        )],
        config,
    );
    let started = Instant::now();
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("11")),
        "{step:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    // The warning says how long the watch was silent: since its one event, at its start.
    let warned = warnings(&logs);
    assert!(
        warned
            .iter()
            .any(|line| line.contains("watch is dead") && line.contains("silent_seconds=6")),
        "{warned:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_watch_that_delivered_events_then_froze_is_dead_at_its_timeout_counted_from_its_start() {
    let config = ReflectorConfig {
        watch_timeout_seconds: 5..=5,
        stall_grace: Duration::from_secs(1),
        ..ReflectorConfig::default()
    };
    let paced = Ending::Paced {
        every: Duration::from_secs(2),
        bookmarks: 2,
    };
    let mut h = harness(vec![watch(vec![], paced)], config);
    let started = Instant::now();
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("101")),
        "{step:?}"
    );
    // Silent since 4 s: dead at 5 + 1 s from the start, not 4 + 6 s.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_watch_still_delivering_past_its_timeout_is_given_more_time_not_cut() {
    let config = ReflectorConfig {
        watch_timeout_seconds: 5..=5,
        stall_grace: Duration::from_secs(1),
        ..ReflectorConfig::default()
    };
    let paced = Ending::Paced {
        every: Duration::from_millis(500),
        bookmarks: 30,
    };
    let mut h = harness(vec![watch(vec![], paced)], config);
    let started = Instant::now();
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("129")),
        "{step:?}"
    );
    // The last bookmark came at 15 s; dead at the first deadline extension after 16 s.
    assert_eq!(started.elapsed(), Duration::from_secs(16));
}

#[test]
fn default_watch_timeouts_notice_a_half_open_watch_within_a_minute() {
    let config = ReflectorConfig::default();
    let longest = Duration::from_secs((*config.watch_timeout_seconds.end()).into());
    assert!(
        longest + config.stall_grace < Duration::from_secs(60),
        "{config:?}"
    );
    assert!(
        longest + config.stall_grace < crate::connect::client::READ_TIMEOUT,
        "a healthy idle watch must end before the read timeout cuts it"
    );
}

/// The `kreflect_watch_restarts_total` value `metrics` renders.
fn watch_restarts(metrics: &crate::cache::metrics::Metrics, store: &Store) -> u64 {
    let text = metrics.render(store);
    text.lines()
        .find_map(|line| line.strip_prefix("kreflect_watch_restarts_total "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no watch restarts in\n{text}"))
}

#[tokio::test(start_paused = true)]
async fn only_a_watch_reopened_where_the_last_one_ended_counts_as_a_restart() {
    let expired = WatchEvent::Error(ApiStatus {
        code: 410,
        reason: "Expired".into(),
        message: "too old resource version: 11 (31542)".into(),
    });
    let h = harness(
        vec![
            page("10", &["a/1"], None),
            watch(vec![Ok(WatchEvent::Added(pod("a/x", 11)))], Ending::Close),
            watch(
                vec![Err(StreamError::Transport("connection reset".into()))],
                Ending::Close,
            ),
            watch(vec![Ok(expired)], Ending::Close),
            page("20", &["a/1"], None),
            watch(Vec::new(), Ending::Close),
        ],
        ReflectorConfig::default(),
    );
    let metrics = Arc::new(crate::cache::metrics::Metrics::default());
    let mut reflector = h.reflector.with_metrics(Arc::clone(&metrics));
    let mut state = State::Listing;
    let mut restarts = Vec::new();
    for _ in 0..6 {
        state = match reflector.step(state).await {
            Step::Next(next) | Step::Backoff(next, _) => next,
            Step::Fatal(err) => panic!("{err}"),
        };
        restarts.push(watch_restarts(&metrics, &h.store));
    }
    assert_eq!(
        restarts,
        [0, 0, 1, 2, 2, 2],
        "list, its first watch (no restart), two watches reopened from the last \
         resourceVersion (restarts), a relist and its first watch (no restart)"
    );

    let h = harness(
        vec![
            watch(
                vec![Ok(WatchEvent::InitialEventsEnd("7".into()))],
                Ending::Close,
            ),
            watch(Vec::new(), Ending::Close),
        ],
        streaming_config(),
    );
    let metrics = Arc::new(crate::cache::metrics::Metrics::default());
    let mut reflector = h.reflector.with_metrics(Arc::clone(&metrics));
    let step = reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Backoff(ref s, _) if *s == watching("7")),
        "{step:?}"
    );
    assert_eq!(
        watch_restarts(&metrics, &h.store),
        0,
        "a streaming list is a list, and its stream the first watch"
    );
    reflector.step(watching("7")).await;
    assert_eq!(
        watch_restarts(&metrics, &h.store),
        1,
        "the watch reopened after the streaming list's stream ended"
    );
}
