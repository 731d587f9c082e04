//! What each failure does: fatal before the sync or after it, back off (honouring Retry-After), relist after expiry, a malformed line, the request rate through a failing minute, and the logs of a loop without progress.

use super::*;

#[tokio::test(start_paused = true)]
async fn gone_at_watch_start_or_in_an_error_event_relists() {
    let mut h = harness(vec![
        watch_fails(410, "Gone"),
        watch(vec![added("a/x", 11), expired()], Ending::Close),
    ]);
    assert_next(h.step(watching("1")).await, State::Listing);
    assert_next(h.step(watching("1")).await, State::Listing);
}

#[tokio::test(start_paused = true)]
async fn relist_after_expiry_drops_pods_deleted_while_disconnected() {
    let mut h = harness(vec![
        page("10", &["a/kept", "a/deleted-meanwhile"], None),
        watch_fails(410, "Expired"),
        page("20", &["a/kept", "a/created-meanwhile"], None),
    ]);
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_next(h.step(watching("10")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("20"));
    assert_eq!(h.keys(), ["a/created-meanwhile", "a/kept"]);
}

#[tokio::test(start_paused = true)]
async fn forbidden_is_fatal_and_names_the_scope() {
    let mut h = harness(vec![list_fails(403, "Forbidden")]);
    let err = assert_fatal(h.step(State::Listing).await);
    // What to do about it depends on the kubeconfig and the flags: the caller's advice
    // (`failure::ForbiddenAdvice`) follows.
    assert_eq!(
        err.to_string(),
        "not allowed to list pods at cluster scope: Forbidden from the test server"
    );
}

#[tokio::test(start_paused = true)]
async fn unauthorized_is_fatal_with_authentication_advice_not_rbac_advice() {
    let mut h = harness(vec![watch_fails(401, "Unauthorized")]);
    let err = assert_fatal(h.step(watching("10")).await);
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
        let mut h = harness(vec![list_fails(code, "BadRequest")]);
        let step = h.step(State::Listing).await;
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
    let mut h = harness(vec![
        list_fails(404, "NotFound"),
        page("10", &["a/x"], None),
        watch_fails(404, "NotFound"),
    ]);
    let err = assert_fatal(h.step(State::Listing).await);
    assert!(matches!(err, ReflectorError::NotFound { .. }), "{err:?}");
    assert!(err.is_usage_error());
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_backoff(h.step(watching("10")).await, watching("10"));
    assert_eq!(h.keys(), ["a/x"], "the cache is kept while the CRD is away");
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_and_honour_retry_after() {
    let mut h = harness(vec![
        list_fails(503, "ServiceUnavailable"),
        list_throttled(20),
    ]);
    let delay = assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(
        delay >= Duration::from_millis(800) && delay <= Duration::from_millis(1600),
        "{delay:?}"
    );
    let delay = assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(delay >= Duration::from_secs(20), "{delay:?}");
}

#[tokio::test(start_paused = true)]
async fn give_up_before_sync_turns_the_first_failure_fatal() {
    let config = ReflectorConfig {
        give_up_before_sync: true,
        ..classic_config()
    };
    let mut h = harness_with(config, vec![list_fails(500, "InternalError")]);
    let err = assert_fatal(h.step(State::Listing).await);
    assert!(
        err.to_string()
            .starts_with("cannot list pods at cluster scope"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn one_expiry_relists_at_once_and_a_second_before_any_event_backs_off() {
    let (logs, _guard) = captured_logs();
    let mut h = harness(vec![
        watch_fails(410, "Gone"),
        page("20", &["a/x"], None),
        watch(vec![bookmark("21"), expired()], Ending::Close),
        page("30", &["a/x"], None),
        watch_fails(410, "Expired"),
        page("40", &["a/x"], None),
        watch(vec![modified("a/x", 41), expired()], Ending::Close),
    ]);
    assert_next(h.step(watching("10")).await, State::Listing);
    h.step(State::Listing).await;
    // A second expiry with only a bookmark between must back off.
    let first = assert_backoff(h.step(watching("20")).await, State::Listing);
    h.step(State::Listing).await;
    let second = assert_backoff(h.step(watching("30")).await, State::Listing);
    assert!(second > first, "{first:?} then {second:?}");
    h.step(State::Listing).await;
    // An applied event makes the next expiry a first one again.
    assert_next(h.step(watching("40")).await, State::Listing);
    // Each backoff says why: an expiry again before any event was applied.
    let said = |what| warnings_saying(&logs, what);
    assert_eq!(said("expired again before any event was applied"), 2);
    assert_eq!(said("expired again soon after the list"), 0);
}

#[tokio::test(start_paused = true)]
async fn watches_expiring_soon_after_their_list_relist_at_once_only_the_first_time() {
    let (logs, _guard) = captured_logs();
    let mut replies = Vec::new();
    for rv in [20, 30, 40, 50] {
        replies.push(page(&rv.to_string(), &["a/x"], None));
        replies.push(watch(
            vec![modified("a/x", rv + 1), expired()],
            Ending::Close,
        ));
    }
    let mut h = harness(replies);
    h.step(State::Listing).await;
    assert_next(h.step(watching("20")).await, State::Listing);
    h.step(State::Listing).await;
    // An event between does not make a relist loop right.
    assert_backoff(h.step(watching("30")).await, State::Listing);
    h.step(State::Listing).await;
    tokio::time::advance(HASTY_EXPIRY).await;
    // An expiry long after its list relists at once, and so does the first hasty one after it.
    assert_next(h.step(watching("40")).await, State::Listing);
    h.step(State::Listing).await;
    assert_next(h.step(watching("50")).await, State::Listing);
    // The one backoff says why: an expiry soon after the list the watch started from.
    let said = |what| warnings_saying(&logs, what);
    assert_eq!(said("expired again soon after the list"), 1);
    assert_eq!(said("expired again before any event was applied"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_watch_error_event_other_than_expiry_backs_off_and_resumes_or_stops() {
    let mut h = harness(vec![
        watch(
            vec![added("a/x", 11), error_event(500, "InternalError")],
            Ending::Close,
        ),
        watch(vec![error_event(429, "TooManyRequests")], Ending::Close),
        watch(vec![error_event(403, "Forbidden")], Ending::Close),
    ]);
    // 500: resume from the last event after a backoff, no relist.
    assert_backoff(h.step(watching("10")).await, watching("11"));
    assert_backoff(h.step(watching("11")).await, watching("11"));
    let err = assert_fatal(h.step(watching("11")).await);
    assert!(
        matches!(err, ReflectorError::Forbidden { verb: "watch", .. }),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_up_to_the_cap() {
    let (logs, _guard) = captured_logs();
    let capped = || warnings_saying(&logs, "longer than the cap");
    let mut h = harness(vec![
        list_throttled(3600),
        list_throttled(45),
        list_throttled(60),
    ]);
    let delay = assert_backoff(h.step(State::Listing).await, State::Listing);
    assert_eq!(delay, Duration::from_secs(60));
    assert_eq!(capped(), 1, "the cap is logged at warn level");
    let delay = assert_backoff(h.step(State::Listing).await, State::Listing);
    assert_eq!(delay, Duration::from_secs(45));
    assert_eq!(capped(), 1, "a Retry-After within the cap is not");
    let delay = assert_backoff(h.step(State::Listing).await, State::Listing);
    assert_eq!(delay, Duration::from_secs(60));
    assert_eq!(capped(), 1, "nor one of exactly the cap");
}

#[tokio::test(start_paused = true)]
async fn a_malformed_line_relists_and_an_unkeyable_event_is_skipped() {
    let (logs, _guard) = captured_logs();
    let mut h = harness(vec![
        watch(
            vec![
                bad_line(42, DecodeError::UnknownType("FROB".into())),
                bad_line(42, DecodeError::Object(ObjectError::MissingName)),
                added("a/x", 11),
            ],
            Ending::Close,
        ),
        watch(
            vec![bad_line(42, DecodeError::Malformed("eof".into()))],
            Ending::Close,
        ),
    ]);
    assert_next(h.step(watching("10")).await, watching("11"));
    assert_eq!(h.keys(), ["a/x"]);
    assert_backoff(h.step(watching("11")).await, State::Listing);
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
    let h = harness(vec![page("10", &["a/x"], None)]);
    let stop = CancellationToken::new();
    let store = h.store.clone();
    let task = tokio::spawn(h.reflector.run(stop.clone()));
    store.wait_synced().await;
    stop.cancel();
    assert!(task.await.expect("joined").is_ok());

    let h = harness(vec![list_fails(403, "Forbidden")]);
    let result = h.reflector.run(CancellationToken::new()).await;
    assert!(matches!(
        result,
        Err(ReflectorError::Forbidden { verb: "list", .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn request_rate_stays_bounded_through_a_failing_minute() {
    let failures = (0..100)
        .map(|_| list_fails(503, "ServiceUnavailable"))
        .collect();
    let h = harness(failures);
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
    let mut replies: Vec<Reply> = (0..5).map(|_| list_fails(500, "InternalError")).collect();
    replies.push(page("10", &["a/x"], None));
    replies.push(watch(vec![], Ending::Stall));
    replies.push(watch_fails(500, "InternalError"));
    let config = ReflectorConfig {
        watch_timeout_seconds: 150..=150,
        // The silent 155 s watch would be followed by a restore check; not what is tested here.
        restore_check_interval: Duration::from_secs(3600),
        ..classic_config()
    };
    let mut h = harness_with(config, replies);
    for _ in 0..4 {
        assert_backoff(h.step(State::Listing).await, State::Listing);
    }
    let delay = assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(delay >= Duration::from_millis(12_800), "{delay:?}");
    assert_next(h.step(State::Listing).await, watching("10"));
    // A quiet but healthy watch for 155 s (ended by stall detection, not a failure).
    assert_next(h.step(watching("10")).await, watching("10"));
    let delay = assert_backoff(h.step(watching("10")).await, watching("10"));
    assert!(delay <= Duration::from_millis(1600), "{delay:?}");
}

#[tokio::test(start_paused = true)]
async fn reports_list_progress_and_counts_into_metrics() {
    let mut h = harness(vec![
        page("10", &["a/1", "a/2"], Some("t1")),
        page("10", &["b/1"], None),
        watch(
            vec![added("a/x", 11), modified("a/x", 12), deleted("a/1", 13)],
            Ending::Close,
        ),
    ]);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let metrics = Arc::new(Metrics::default());
    h.reflector = h
        .reflector
        .with_metrics(Arc::clone(&metrics))
        .with_progress({
            let reports = Arc::clone(&reports);
            move |progress: ListProgress| {
                let line = (progress.objects, progress.pages, progress.done);
                reports.lock().expect("reports").push(line);
            }
        });
    h.step(State::Listing).await;
    h.step(watching("10")).await;
    assert_eq!(
        *reports.lock().expect("reports"),
        [(0, 0, false), (2, 1, false), (3, 2, true)],
        "the last page is reported once, complete"
    );
    for (series, value) in [
        ("kreflect_relists_total", 1),
        // The first watch after a list is no restart.
        ("kreflect_watch_restarts_total", 0),
        ("kreflect_events_applied_total{type=\"ADDED\"}", 1),
        ("kreflect_events_applied_total{type=\"MODIFIED\"}", 1),
        ("kreflect_events_applied_total{type=\"DELETED\"}", 1),
        ("kreflect_store_objects", 3),
    ] {
        assert_eq!(metric(&metrics, &h.store, series), value, "{series}");
    }
    assert_eq!(h.store.resource_version(), "13");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_loop_without_progress_is_logged_at_warn_level_from_its_second_round() {
    let (logs, _guard) = captured_logs();
    let mut h = harness(vec![
        watch(vec![], Ending::Close),
        watch(vec![], Ending::Close),
        watch(vec![expired()], Ending::Close),
        page("20", &["a/x"], None),
        watch(vec![expired()], Ending::Close),
    ]);
    h.step(watching("10")).await;
    assert_eq!(
        warnings(&logs),
        Vec::<String>::new(),
        "the first round is info"
    );
    h.step(watching("10")).await;
    let warned = warnings(&logs);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("ending watches early"), "{warned:?}");
    h.step(watching("10")).await;
    h.step(State::Listing).await;
    assert_eq!(warnings(&logs).len(), 1, "the first expiry is info");
    h.step(watching("20")).await;
    let warned = warnings(&logs);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[1].contains("expired again"), "{warned:?}");
}
