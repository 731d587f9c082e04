//! Streaming lists (`sendInitialEvents`): the store filled at the initial-events-end bookmark, and the fallbacks to paging.

use super::*;

#[tokio::test(start_paused = true)]
async fn streaming_list_fills_the_store_at_the_initial_events_end_then_goes_on_watching() {
    let streamed = vec![
        added("a/1", 5),
        added("a/2", 6),
        initial_events_end("7"),
        added("a/3", 8),
    ];
    let mut h = harness_with(streaming_config(), vec![watch(streamed, Ending::Close)]);
    assert_next(h.step(State::Listing).await, watching("8"));
    assert_eq!(h.keys(), ["a/1", "a/2", "a/3"]);
    assert!(h.store.is_synced());
    let requests = h.requests();
    assert!(
        matches!(&requests[..], [Request::Watch(w)] if w.send_initial_events && w.resource_version.is_empty()),
        "{requests:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_that_never_ends_its_initial_events_falls_back_to_paging_for_good() {
    let mut h = harness_with(
        streaming_config(),
        vec![
            watch(vec![added("a/1", 5)], Ending::Stall),
            page("10", &["a/1"], None),
        ],
    );
    let started = Instant::now();
    assert_next(h.step(State::Listing).await, State::Listing);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert!(
        !h.store.is_synced(),
        "a partial initial state is never stored"
    );
    assert_next(h.step(State::Listing).await, watching("10"));
    let requests = h.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1], paged(None));
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_refused_with_422_or_403_falls_back_and_the_paged_lists_answer_decides() {
    let refused = vec![watch_fails(422, "Invalid"), page("10", &["a/1"], None)];
    let mut h = harness_with(streaming_config(), refused);
    assert_next(h.step(State::Listing).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("10"));

    // Allowed to list, not to watch: the list works, and the watch's 403 will say so.
    let forbidden = vec![watch_fails(403, "Forbidden"), page("10", &["a/1"], None)];
    let mut h = harness_with(streaming_config(), forbidden);
    assert_next(h.step(State::Listing).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("10"));

    // Allowed neither: the list's 403 is fatal, naming `list`.
    let forbidden = vec![watch_fails(403, "Forbidden"), list_fails(403, "Forbidden")];
    let mut h = harness_with(streaming_config(), forbidden);
    assert_next(h.step(State::Listing).await, State::Listing);
    let err = assert_fatal(h.step(State::Listing).await);
    assert!(
        matches!(err, ReflectorError::Forbidden { verb: "list", .. }),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_that_cannot_reach_the_server_is_retried_as_a_list() {
    let unreachable = SourceError::Transport {
        endpoint: crate::connect::endpoint::Endpoint::default(),
        reason: "connection refused".into(),
    };
    let mut h = harness_with(streaming_config(), vec![Reply::Watch(Err(unreachable))]);
    let (logs, _guard) = captured_logs();
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(logs.text().contains("verb=\"list\""), "{}", logs.text());
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_skips_unkeyable_events_and_restarts_on_a_malformed_line() {
    let (logs, _guard) = captured_logs();
    let skipped = vec![
        added("a/1", 5),
        bad_line(7, DecodeError::Object(ObjectError::MissingName)),
        bad_line(7, DecodeError::UnknownType("FROB".into())),
        added("a/2", 6),
        initial_events_end("7"),
    ];
    let malformed = vec![
        added("b/1", 9),
        bad_line(7, DecodeError::Malformed("eof".into())),
        initial_events_end("10"),
    ];
    let mut h = harness_with(
        five_second_watches(streaming_config()),
        vec![
            watch(skipped, Ending::Stall),
            watch(malformed, Ending::Stall),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("7"));
    assert_eq!(
        h.keys(),
        ["a/1", "a/2"],
        "events after a skipped line are kept"
    );
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert_eq!(
        h.keys(),
        ["a/1", "a/2"],
        "an initial state with a hole in it is never stored"
    );
    let warned = warnings(&logs);
    assert!(
        warned
            .iter()
            .any(|line| line.contains("streaming list broken") && line.contains("eof")),
        "{warned:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_before_the_initial_events_end_is_a_plain_watch_and_falls_back_to_paging() {
    for change in [modified("a/1", 7), deleted("a/2", 7)] {
        let plain_watch = vec![added("a/1", 5), added("a/2", 6), change];
        let mut h = harness_with(
            streaming_config(),
            vec![
                watch(plain_watch, Ending::Stall),
                page("10", &["a/1"], None),
            ],
        );
        let started = Instant::now();
        assert_next(h.step(State::Listing).await, State::Listing);
        assert_eq!(started.elapsed(), Duration::ZERO, "no wait for silence");
        assert!(!h.store.is_synced());
        assert_next(h.step(State::Listing).await, watching("10"));
        assert_eq!(h.requests()[1], paged(None));
    }
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_failing_in_any_way_falls_back_to_listing_for_the_rest_of_the_run() {
    let failures: Vec<(Reply, bool)> = vec![
        (watch_fails(410, "Expired"), false),
        (watch_fails(500, "InternalError"), true),
        (
            watch(vec![error_event(410, "Expired")], Ending::Stall),
            false,
        ),
        (
            watch(vec![error_event(403, "Forbidden")], Ending::Stall),
            false,
        ),
        (
            watch(vec![error_event(500, "InternalError")], Ending::Stall),
            true,
        ),
        (
            watch(
                vec![bad_line(9, DecodeError::Malformed("eof".into()))],
                Ending::Stall,
            ),
            true,
        ),
    ];
    for (failure, backs_off) in failures {
        let mut h = harness_with(
            streaming_config(),
            vec![failure, page("10", &["a/1"], None)],
        );
        let step = h.step(State::Listing).await;
        if backs_off {
            assert_backoff(step, State::Listing);
        } else {
            assert_next(step, State::Listing);
        }
        assert_next(h.step(State::Listing).await, watching("10"));
        assert_eq!(h.requests()[1], paged(None), "listed, not streamed again");
    }
    let mut h = harness_with(streaming_config(), vec![watch_fails(401, "Unauthorized")]);
    let err = assert_fatal(h.step(State::Listing).await);
    assert!(
        matches!(err, ReflectorError::Unauthenticated { .. }),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_adding_for_ever_without_its_end_is_given_up_at_the_watchs_timeout() {
    let config = ReflectorConfig {
        watch_timeout_seconds: 40..=40,
        ..streaming_config()
    };
    let added_forever = watch(vec![], Ending::AddedEvery(Duration::from_secs(2)));
    let mut h = harness_with(config, vec![added_forever, page("10", &["a/1"], None)]);
    let started = Instant::now();
    assert_next(h.step(State::Listing).await, State::Listing);
    assert!(!h.store.is_synced());
    // 40 s of timeout, 5 s of stall grace.
    assert_eq!(started.elapsed(), Duration::from_secs(45));
    assert_next(h.step(State::Listing).await, watching("10"));
}
