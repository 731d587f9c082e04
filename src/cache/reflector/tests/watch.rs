//! Watching: events and bookmarks applied, resumes from the last resourceVersion, watches that end early, stall or freeze, and what counts as a restart.

use super::*;

#[tokio::test(start_paused = true)]
async fn watch_applies_events_and_resumes_from_the_last_resource_version() {
    let events = vec![
        added("a/x", 11),
        modified("a/x", 12),
        added("a/y", 13),
        deleted("a/old", 14),
    ];
    let mut h = harness(vec![
        page("10", &["a/old"], None),
        watch(events, Ending::Close),
    ]);
    h.step(State::Listing).await;
    assert_next(h.step(watching("10")).await, watching("14"));
    assert_eq!(h.keys(), ["a/x", "a/y"]);
    let x = h
        .store
        .get(&pod("a/x", 0).key().clone())
        .expect("a/x cached");
    assert_eq!(x.resource_version(), "12");
    let requests = h.requests();
    let Request::Watch(watch) = &requests[1] else {
        panic!("expected a watch request, got {requests:?}");
    };
    assert_eq!(watch.resource_version, "10");
    assert!((40..=50).contains(&watch.timeout_seconds), "{watch:?}");
}

#[tokio::test(start_paused = true)]
async fn bookmark_advances_the_resource_version_without_touching_the_store() {
    let ending = Ending::CloseAfter(Duration::from_secs(30));
    let mut h = harness(vec![watch(vec![bookmark("99")], ending)]);
    assert_next(h.step(watching("10")).await, watching("99"));
    assert!(h.keys().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_watch_closed_early_without_object_events_backs_off_even_after_a_bookmark() {
    let mut h = harness(vec![
        watch(vec![], Ending::Close),
        watch(vec![bookmark("11")], Ending::Close),
        watch(vec![bookmark("12")], Ending::Close),
    ]);
    let first = assert_backoff(h.step(watching("10")).await, watching("10"));
    // The bookmark still moves the position.
    let second = assert_backoff(h.step(watching("10")).await, watching("11"));
    let third = assert_backoff(h.step(watching("11")).await, watching("12"));
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
    let mut h = harness(vec![
        watch(vec![modified("a/p", 10)], Ending::Close),
        watch(vec![Ok(WatchEvent::Modified(unversioned))], Ending::Close),
        watch(vec![deleted("a/p", 10)], Ending::Close),
        watch(vec![modified("a/p", 11)], Ending::Close),
    ]);
    assert_backoff(h.step(watching("10")).await, watching("10")); // same resourceVersion
    assert_backoff(h.step(watching("10")).await, watching("10")); // no resourceVersion
    assert_backoff(h.step(watching("10")).await, watching("10")); // same, deleted
    assert_next(h.step(watching("10")).await, watching("11"));
}

#[tokio::test(start_paused = true)]
async fn a_quiet_watch_that_runs_its_course_is_reopened_at_once() {
    let config = ReflectorConfig {
        watch_timeout_seconds: 10..=10,
        ..classic_config()
    };
    let ending = Ending::CloseAfter(Duration::from_secs(9));
    let mut h = harness_with(config, vec![watch(vec![bookmark("11")], ending)]);
    assert_next(h.step(watching("10")).await, watching("11"));
}

#[tokio::test(start_paused = true)]
async fn list_only_never_watches_and_waits_for_stop_after_the_sync() {
    let config = ReflectorConfig {
        list_only: true,
        streaming_list: true,
        ..classic_config()
    };
    let h = harness_with(config, vec![page("10", &["a/x"], None)]);
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
    let broken = vec![added("a/x", 11), connection_reset()];
    let mut h = harness(vec![watch(broken, Ending::Close)]);
    assert_backoff(h.step(watching("10")).await, watching("11"));
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
    let config = five_second_watches(classic_config());
    let mut h = harness_with(config, vec![watch(vec![added("a/x", 11)], Ending::Stall)]);
    let started = Instant::now();
    assert_next(h.step(watching("10")).await, watching("11"));
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
    let paced = Ending::Paced {
        every: Duration::from_secs(2),
        bookmarks: 2,
    };
    let config = five_second_watches(classic_config());
    let mut h = harness_with(config, vec![watch(vec![], paced)]);
    let started = Instant::now();
    assert_next(h.step(watching("10")).await, watching("101"));
    // Silent since 4 s: dead at 5 + 1 s from the start, not 4 + 6 s.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_watch_still_delivering_past_its_timeout_is_given_more_time_not_cut() {
    let paced = Ending::Paced {
        every: Duration::from_millis(500),
        bookmarks: 30,
    };
    let config = five_second_watches(classic_config());
    let mut h = harness_with(config, vec![watch(vec![], paced)]);
    let started = Instant::now();
    assert_next(h.step(watching("10")).await, watching("129"));
    // The last bookmark came at 15 s; dead at the first deadline extension after 16 s.
    assert_eq!(started.elapsed(), Duration::from_secs(16));
}

#[test]
fn default_watch_timeouts_notice_a_half_open_watch_within_a_minute() {
    let config = classic_config();
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

#[tokio::test(start_paused = true)]
async fn only_a_watch_reopened_where_the_last_one_ended_counts_as_a_restart() {
    const RESTARTS: &str = "kreflect_watch_restarts_total";
    let mut h = harness(vec![
        page("10", &["a/1"], None),
        watch(vec![added("a/x", 11)], Ending::Close),
        watch(vec![connection_reset()], Ending::Close),
        watch(vec![expired()], Ending::Close),
        page("20", &["a/1"], None),
        watch(Vec::new(), Ending::Close),
    ]);
    let metrics = Arc::new(Metrics::default());
    h.reflector = h.reflector.with_metrics(Arc::clone(&metrics));
    let mut state = State::Listing;
    let mut restarts = Vec::new();
    for _ in 0..6 {
        state = match h.step(state).await {
            Step::Next(next) | Step::Backoff(next, _) => next,
            Step::Fatal(err) => panic!("{err}"),
        };
        restarts.push(metric(&metrics, &h.store, RESTARTS));
    }
    assert_eq!(
        restarts,
        [0, 0, 1, 2, 2, 2],
        "list, its first watch (no restart), two watches reopened from the last \
         resourceVersion (restarts), a relist and its first watch (no restart)"
    );

    let streamed = watch(vec![initial_events_end("7")], Ending::Close);
    let reopened = watch(Vec::new(), Ending::Close);
    let mut h = harness_with(streaming_config(), vec![streamed, reopened]);
    let metrics = Arc::new(Metrics::default());
    h.reflector = h.reflector.with_metrics(Arc::clone(&metrics));
    assert_backoff(h.step(State::Listing).await, watching("7"));
    assert_eq!(
        metric(&metrics, &h.store, RESTARTS),
        0,
        "a streaming list is a list, and its stream the first watch"
    );
    h.step(watching("7")).await;
    assert_eq!(
        metric(&metrics, &h.store, RESTARTS),
        1,
        "the watch reopened after the streaming list's stream ended"
    );
}
