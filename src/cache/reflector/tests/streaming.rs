//! Streaming lists (`sendInitialEvents`): the store filled at the initial-events-end bookmark, and the fallbacks to paging.

use super::*;

#[tokio::test(start_paused = true)]
async fn streaming_list_fills_the_store_at_the_initial_events_end_then_goes_on_watching() {
    let mut h = harness(
        vec![watch(
            vec![
                Ok(WatchEvent::Added(pod("a/1", 5))),
                Ok(WatchEvent::Added(pod("a/2", 6))),
                Ok(WatchEvent::InitialEventsEnd("7".into())),
                Ok(WatchEvent::Added(pod("a/3", 8))),
            ],
            Ending::Close,
        )],
        streaming_config(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("8")),
        "{step:?}"
    );
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
    let mut h = harness(
        vec![
            watch(vec![Ok(WatchEvent::Added(pod("a/1", 5)))], Ending::Stall),
            page("10", &["a/1"], None),
        ],
        streaming_config(),
    );
    let started = Instant::now();
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == State::Listing),
        "{step:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert!(
        !h.store.is_synced(),
        "a partial initial state is never stored"
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("10")),
        "{step:?}"
    );
    let requests = h.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1], paged(None));
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_refused_with_422_falls_back_and_403_stays_fatal() {
    let mut h = harness(
        vec![
            Reply::Watch(Err(status(422, "Invalid", None))),
            page("10", &["a/1"], None),
        ],
        streaming_config(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("10")),
        "{step:?}"
    );

    let mut h = harness(
        vec![Reply::Watch(Err(status(403, "Forbidden", None)))],
        streaming_config(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Fatal(ReflectorError::Forbidden { .. })),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_skips_unkeyable_events_and_restarts_on_a_malformed_line() {
    let (logs, _guard) = captured_logs();
    let bad_line = |error| StreamError::BadLine { offset: 7, error };
    let mut h = harness(
        vec![
            watch(
                vec![
                    Ok(WatchEvent::Added(pod("a/1", 5))),
                    Err(bad_line(DecodeError::Object(ObjectError::MissingName))),
                    Err(bad_line(DecodeError::UnknownType("FROB".into()))),
                    Ok(WatchEvent::Added(pod("a/2", 6))),
                    Ok(WatchEvent::InitialEventsEnd("7".into())),
                ],
                Ending::Stall,
            ),
            watch(
                vec![
                    Ok(WatchEvent::Added(pod("b/1", 9))),
                    Err(bad_line(DecodeError::Malformed("eof".into()))),
                    Ok(WatchEvent::InitialEventsEnd("10".into())),
                ],
                Ending::Stall,
            ),
        ],
        ReflectorConfig {
            watch_timeout_seconds: 5..=5,
            stall_grace: Duration::from_secs(1),
            ..streaming_config()
        },
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("7")),
        "{step:?}"
    );
    assert_eq!(
        h.keys(),
        ["a/1", "a/2"],
        "events after a skipped line are kept"
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(matches!(step, Step::Backoff(State::Listing, _)), "{step:?}");
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
