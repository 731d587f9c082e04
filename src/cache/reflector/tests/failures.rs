//! What each failure does: fatal before the sync or after it, back off (honouring Retry-After), relist after expiry, a malformed line, the request rate through a failing minute, and the logs of a loop without progress.

use super::*;

#[tokio::test(start_paused = true)]
async fn gone_at_watch_start_or_in_an_error_event_relists() {
    let expired_event = WatchEvent::Error(ApiStatus {
        code: 410,
        reason: "Expired".into(),
        message: "too old resource version: 1 (31542)".into(),
    });
    let mut h = harness(
        vec![
            Reply::Watch(Err(status(410, "Gone", None))),
            watch(
                vec![Ok(WatchEvent::Added(pod("a/x", 11))), Ok(expired_event)],
                Ending::Close,
            ),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("1")).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
    let step = h.reflector.step(watching("1")).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
}

#[tokio::test(start_paused = true)]
async fn relist_after_expiry_drops_pods_deleted_while_disconnected() {
    let mut h = harness(
        vec![
            page("10", &["a/kept", "a/deleted-meanwhile"], None),
            Reply::Watch(Err(status(410, "Expired", None))),
            page("20", &["a/kept", "a/created-meanwhile"], None),
        ],
        ReflectorConfig::default(),
    );
    let mut state = State::Listing;
    for _ in 0..3 {
        state = match h.reflector.step(state).await {
            Step::Next(next) => next,
            other => panic!("unexpected {other:?}"),
        };
    }
    assert_eq!(state, watching("20"));
    assert_eq!(h.keys(), ["a/created-meanwhile", "a/kept"]);
}

#[tokio::test(start_paused = true)]
async fn forbidden_is_fatal_and_names_the_scope() {
    let mut h = harness(
        vec![Reply::List(Err(status(403, "Forbidden", None)))],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    let Step::Fatal(err) = step else {
        panic!("expected fatal, got {step:?}");
    };
    // What to do about it depends on the kubeconfig and the flags: the caller's advice
    // (`failure::ForbiddenAdvice`) follows.
    assert_eq!(
        err.to_string(),
        "not allowed to list pods at cluster scope: Forbidden from the test server"
    );
}

#[tokio::test(start_paused = true)]
async fn unauthorized_is_fatal_with_authentication_advice_not_rbac_advice() {
    let mut h = harness(
        vec![Reply::Watch(Err(status(401, "Unauthorized", None)))],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    let Step::Fatal(err) = step else {
        panic!("expected fatal, got {step:?}");
    };
    assert!(
        matches!(err, ReflectorError::Unauthenticated { verb: "watch", .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("log in again"), "{message}");
    assert!(!message.contains("RBAC"), "{message}");
    assert!(!err.is_usage_error());
}

#[tokio::test(start_paused = true)]
async fn an_invalid_request_is_fatal_as_a_usage_error_with_the_server_message() {
    for code in [400, 405, 406, 415, 422] {
        let mut h = harness(
            vec![Reply::List(Err(status(code, "BadRequest", None)))],
            ReflectorConfig::default(),
        );
        let step = h.reflector.step(State::Listing).await;
        let Step::Fatal(err) = step else {
            panic!("{code}: expected fatal, got {step:?}");
        };
        assert!(matches!(err, ReflectorError::Invalid { .. }), "{err:?}");
        assert!(err.is_usage_error());
        assert!(
            err.to_string().contains("BadRequest from the test server"),
            "{err}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn not_found_is_fatal_before_the_first_sync_and_retried_after_it() {
    let mut h = harness(
        vec![
            Reply::List(Err(status(404, "NotFound", None))),
            page("10", &["a/x"], None),
            Reply::Watch(Err(status(404, "NotFound", None))),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    let Step::Fatal(err) = step else {
        panic!("expected fatal, got {step:?}");
    };
    assert!(matches!(err, ReflectorError::NotFound { .. }), "{err:?}");
    assert!(err.is_usage_error());
    assert!(matches!(
        h.reflector.step(State::Listing).await,
        Step::Next(_)
    ));
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Backoff(ref s, _) if *s == watching("10")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/x"], "the cache is kept while the CRD is away");
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_and_honour_retry_after() {
    let mut h = harness(
        vec![
            Reply::List(Err(status(503, "ServiceUnavailable", None))),
            Reply::List(Err(status(429, "TooManyRequests", Some(20)))),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    let Step::Backoff(State::Listing, delay) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert!(delay >= Duration::from_millis(800) && delay <= Duration::from_millis(1600));
    let step = h.reflector.step(State::Listing).await;
    let Step::Backoff(State::Listing, delay) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert!(delay >= Duration::from_secs(20), "{delay:?}");
}

#[tokio::test(start_paused = true)]
async fn give_up_before_sync_turns_the_first_failure_fatal() {
    let config = ReflectorConfig {
        give_up_before_sync: true,
        ..ReflectorConfig::default()
    };
    let mut h = harness(
        vec![Reply::List(Err(status(500, "InternalError", None)))],
        config,
    );
    let step = h.reflector.step(State::Listing).await;
    let Step::Fatal(err) = step else {
        panic!("expected fatal, got {step:?}");
    };
    assert!(
        err.to_string()
            .starts_with("cannot list pods at cluster scope"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn one_expiry_relists_at_once_and_a_second_before_any_event_backs_off() {
    let (logs, _guard) = captured_logs();
    let expired = || {
        Ok(WatchEvent::Error(ApiStatus {
            code: 410,
            reason: "Expired".into(),
            message: "too old resource version".into(),
        }))
    };
    let mut h = harness(
        vec![
            Reply::Watch(Err(status(410, "Gone", None))),
            page("20", &["a/x"], None),
            watch(
                vec![Ok(WatchEvent::Bookmark("21".into())), expired()],
                Ending::Close,
            ),
            page("30", &["a/x"], None),
            Reply::Watch(Err(status(410, "Expired", None))),
            page("40", &["a/x"], None),
            watch(
                vec![Ok(WatchEvent::Modified(pod("a/x", 41))), expired()],
                Ending::Close,
            ),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("20")).await;
    let Step::Backoff(State::Listing, first) = step else {
        panic!("a second expiry with only a bookmark between must back off: {step:?}");
    };
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("30")).await;
    let Step::Backoff(State::Listing, second) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert!(second > first, "{first:?} then {second:?}");
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("40")).await;
    assert!(
        matches!(step, Step::Next(State::Listing)),
        "an applied event makes the next expiry a first one again: {step:?}"
    );
    let said = |what: &str| {
        warnings(&logs)
            .iter()
            .filter(|line| line.contains(what))
            .count()
    };
    // Each backoff says why: an expiry again before any event was applied.
    assert_eq!(said("expired again before any event was applied"), 2);
    assert_eq!(said("expired again soon after the list"), 0);
}

#[tokio::test(start_paused = true)]
async fn watches_expiring_soon_after_their_list_relist_at_once_only_the_first_time() {
    let (logs, _guard) = captured_logs();
    let expired = || {
        Ok(WatchEvent::Error(ApiStatus {
            code: 410,
            reason: "Expired".into(),
            message: "too old resource version".into(),
        }))
    };
    let mut replies = Vec::new();
    for rv in [20, 30, 40, 50] {
        replies.push(page(&rv.to_string(), &["a/x"], None));
        replies.push(watch(
            vec![Ok(WatchEvent::Modified(pod("a/x", rv + 1))), expired()],
            Ending::Close,
        ));
    }
    let mut h = harness(replies, ReflectorConfig::default());
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("20")).await;
    assert!(matches!(step, Step::Next(State::Listing)), "{step:?}");
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("30")).await;
    assert!(
        matches!(step, Step::Backoff(State::Listing, _)),
        "an event between does not make a relist loop right: {step:?}"
    );
    h.reflector.step(State::Listing).await;
    tokio::time::advance(HASTY_EXPIRY).await;
    let step = h.reflector.step(watching("40")).await;
    assert!(
        matches!(step, Step::Next(State::Listing)),
        "an expiry long after its list relists at once: {step:?}"
    );
    h.reflector.step(State::Listing).await;
    let step = h.reflector.step(watching("50")).await;
    assert!(
        matches!(step, Step::Next(State::Listing)),
        "the first hasty one after it too: {step:?}"
    );
    let said = |what: &str| {
        warnings(&logs)
            .iter()
            .filter(|line| line.contains(what))
            .count()
    };
    // The one backoff says why: an expiry soon after the list the watch started from.
    assert_eq!(said("expired again soon after the list"), 1);
    assert_eq!(said("expired again before any event was applied"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_watch_error_event_other_than_expiry_backs_off_and_resumes_or_stops() {
    let error = |code: u16, reason: &str| {
        Ok(WatchEvent::Error(ApiStatus {
            code,
            reason: reason.into(),
            message: "from the test server".into(),
        }))
    };
    let mut h = harness(
        vec![
            watch(
                vec![
                    Ok(WatchEvent::Added(pod("a/x", 11))),
                    error(500, "InternalError"),
                ],
                Ending::Close,
            ),
            watch(vec![error(429, "TooManyRequests")], Ending::Close),
            watch(vec![error(403, "Forbidden")], Ending::Close),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Backoff(ref s, _) if *s == watching("11")),
        "500: resume from the last event after a backoff, no relist: {step:?}"
    );
    let step = h.reflector.step(watching("11")).await;
    assert!(
        matches!(step, Step::Backoff(ref s, _) if *s == watching("11")),
        "{step:?}"
    );
    let step = h.reflector.step(watching("11")).await;
    assert!(
        matches!(
            step,
            Step::Fatal(ReflectorError::Forbidden { verb: "watch", .. })
        ),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_up_to_the_cap() {
    let (logs, _guard) = captured_logs();
    let mut h = harness(
        vec![
            Reply::List(Err(status(429, "TooManyRequests", Some(3600)))),
            Reply::List(Err(status(429, "TooManyRequests", Some(45)))),
            Reply::List(Err(status(429, "TooManyRequests", Some(60)))),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    let Step::Backoff(_, delay) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert_eq!(delay, Duration::from_secs(60));
    let capped = |logs: &Captured| {
        warnings(logs)
            .iter()
            .filter(|line| line.contains("longer than the cap"))
            .count()
    };
    assert_eq!(capped(&logs), 1, "the cap is logged at warn level");
    let step = h.reflector.step(State::Listing).await;
    let Step::Backoff(_, delay) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert_eq!(delay, Duration::from_secs(45));
    assert_eq!(capped(&logs), 1, "a Retry-After within the cap is not");
    let step = h.reflector.step(State::Listing).await;
    let Step::Backoff(_, delay) = step else {
        panic!("expected backoff, got {step:?}");
    };
    assert_eq!(delay, Duration::from_secs(60));
    assert_eq!(capped(&logs), 1, "nor one of exactly the cap");
}

#[tokio::test(start_paused = true)]
async fn a_malformed_line_relists_and_an_unkeyable_event_is_skipped() {
    let (logs, _guard) = captured_logs();
    let bad_line = |error| StreamError::BadLine { offset: 42, error };
    let mut h = harness(
        vec![
            watch(
                vec![
                    Err(bad_line(DecodeError::UnknownType("FROB".into()))),
                    Err(bad_line(DecodeError::Object(ObjectError::MissingName))),
                    Ok(WatchEvent::Added(pod("a/x", 11))),
                ],
                Ending::Close,
            ),
            watch(
                vec![Err(bad_line(DecodeError::Malformed("eof".into())))],
                Ending::Close,
            ),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("11")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/x"]);
    let step = h.reflector.step(watching("11")).await;
    assert!(matches!(step, Step::Backoff(State::Listing, _)), "{step:?}");
    // Each skipped line and the relist are said on stderr, with the line's offset.
    let warned = warnings(&logs);
    let skipped = warned
        .iter()
        .filter(|line| line.contains("skipped a watch event that cannot be applied"))
        .filter(|line| line.contains("offset=42"))
        .count();
    assert_eq!(skipped, 2, "{warned:?}");
    assert!(
        warned
            .iter()
            .any(|line| line.contains("undecodable watch line; relisting") && line.contains("eof")),
        "{warned:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn run_returns_when_stopped_and_reports_fatal_errors() {
    let h = harness(vec![page("10", &["a/x"], None)], ReflectorConfig::default());
    let stop = CancellationToken::new();
    let store = h.store.clone();
    let task = tokio::spawn(h.reflector.run(stop.clone()));
    store.wait_synced().await;
    stop.cancel();
    assert!(task.await.expect("joined").is_ok());

    let h = harness(
        vec![Reply::List(Err(status(403, "Forbidden", None)))],
        ReflectorConfig::default(),
    );
    let result = h.reflector.run(CancellationToken::new()).await;
    assert!(matches!(
        result,
        Err(ReflectorError::Forbidden { verb: "list", .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn request_rate_stays_bounded_through_a_failing_minute() {
    let failures = (0..100)
        .map(|_| Reply::List(Err(status(503, "ServiceUnavailable", None))))
        .collect();
    let h = harness(failures, ReflectorConfig::default());
    let requests = Arc::clone(&h.requests);
    let stop = CancellationToken::new();
    let task = tokio::spawn(h.reflector.run(stop.clone()));
    tokio::time::sleep(Duration::from_secs(60)).await;
    stop.cancel();
    assert!(task.await.expect("joined").is_ok());
    // Attempts at 0 s, then after 0.8-1.6, 1.6-3.2, 3.2-6.4, 6.4-12.8, 12.8-25.6, 30 s...:
    // six or seven in the first minute, never a hot loop.
    let count = requests.lock().expect("requests").len();
    assert!(
        (6..=7).contains(&count),
        "{count} requests in a failing minute"
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_starts_over_after_two_healthy_minutes() {
    let mut replies: Vec<Reply> = (0..5)
        .map(|_| Reply::List(Err(status(500, "InternalError", None))))
        .collect();
    replies.push(page("10", &["a/x"], None));
    replies.push(watch(vec![], Ending::Stall));
    replies.push(Reply::Watch(Err(status(500, "InternalError", None))));
    let config = ReflectorConfig {
        watch_timeout_seconds: 150..=150,
        // The silent 155 s watch would be followed by a restore check; not what is tested here.
        restore_check_interval: Duration::from_secs(3600),
        ..ReflectorConfig::default()
    };
    let mut h = harness(replies, config);
    let mut last_delay = Duration::ZERO;
    for _ in 0..5 {
        match h.reflector.step(State::Listing).await {
            Step::Backoff(State::Listing, delay) => last_delay = delay,
            other => panic!("expected backoff, got {other:?}"),
        }
    }
    assert!(
        last_delay >= Duration::from_millis(12_800),
        "{last_delay:?}"
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("10")),
        "{step:?}"
    );
    // A quiet but healthy watch for 155 s (ended by stall detection, not a failure).
    let step = h.reflector.step(watching("10")).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("10")),
        "{step:?}"
    );
    match h.reflector.step(watching("10")).await {
        Step::Backoff(_, delay) => assert!(delay <= Duration::from_millis(1600), "{delay:?}"),
        other => panic!("expected backoff, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn reports_list_progress_and_counts_into_metrics() {
    let h = harness(
        vec![
            page("10", &["a/1", "a/2"], Some("t1")),
            page("10", &["b/1"], None),
            watch(
                vec![
                    Ok(WatchEvent::Added(pod("a/x", 11))),
                    Ok(WatchEvent::Modified(pod("a/x", 12))),
                    Ok(WatchEvent::Deleted(pod("a/1", 13))),
                ],
                Ending::Close,
            ),
        ],
        ReflectorConfig::default(),
    );
    let reports = Arc::new(Mutex::new(Vec::new()));
    let metrics = Arc::new(crate::cache::metrics::Metrics::default());
    let mut reflector = h
        .reflector
        .with_metrics(Arc::clone(&metrics))
        .with_progress({
            let reports = Arc::clone(&reports);
            move |progress: ListProgress| {
                let line = (progress.objects, progress.pages, progress.done);
                reports.lock().expect("reports").push(line);
            }
        });
    reflector.step(State::Listing).await;
    reflector.step(watching("10")).await;
    assert_eq!(
        *reports.lock().expect("reports"),
        [(0, 0, false), (2, 1, false), (3, 2, false), (3, 2, true)]
    );
    let text = metrics.render(&h.store);
    for line in [
        "kreflect_relists_total 1",
        // The first watch after a list is no restart.
        "kreflect_watch_restarts_total 0",
        "kreflect_events_applied_total{type=\"ADDED\"} 1",
        "kreflect_events_applied_total{type=\"MODIFIED\"} 1",
        "kreflect_events_applied_total{type=\"DELETED\"} 1",
        "kreflect_store_objects 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert_eq!(h.store.resource_version(), "13");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_loop_without_progress_is_logged_at_warn_level_from_its_second_round() {
    let (logs, _guard) = captured_logs();
    let expired = || {
        Ok(WatchEvent::Error(ApiStatus {
            code: 410,
            reason: "Expired".into(),
            message: "too old resource version".into(),
        }))
    };
    let mut h = harness(
        vec![
            watch(vec![], Ending::Close),
            watch(vec![], Ending::Close),
            watch(vec![expired()], Ending::Close),
            page("20", &["a/x"], None),
            watch(vec![expired()], Ending::Close),
        ],
        ReflectorConfig::default(),
    );
    h.reflector.step(watching("10")).await;
    assert_eq!(
        warnings(&logs),
        Vec::<String>::new(),
        "the first round is info"
    );
    h.reflector.step(watching("10")).await;
    let warned = warnings(&logs);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("ending watches early"), "{warned:?}");
    h.reflector.step(watching("10")).await;
    h.reflector.step(State::Listing).await;
    assert_eq!(warnings(&logs).len(), 1, "the first expiry is info");
    h.reflector.step(watching("20")).await;
    let warned = warnings(&logs);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[1].contains("expired again"), "{warned:?}");
}
