//! What each list asks for: the server's watch cache for a watching run's first list and its
//! relists, a consistent read where the cache cannot be trusted or does not answer.

use super::*;

/// The defaults of a watching run, without the streaming list (`streaming.rs` tests it).
fn cache_config() -> ReflectorConfig {
    ReflectorConfig {
        streaming_list: false,
        ..ReflectorConfig::default()
    }
}

/// The first list of a watching run: whatever the watch cache has, in pages of 500 (a server
/// without a watch cache pages it from etcd).
fn from_any() -> Request {
    Request::List(ListRequest {
        limit: Some(500),
        continue_token: None,
        from: ListFrom::Any,
    })
}

/// A relist from the watch cache, not older than `rv`: no `limit`, which would make a v1.26
/// server page from etcd (transcript 30).
fn not_older_than(rv: &str) -> Request {
    Request::List(ListRequest {
        limit: None,
        continue_token: None,
        from: ListFrom::NotOlderThan(rv.into()),
    })
}

/// The watch request of a watch from `rv` (whatever its timeout).
fn is_watch_from(request: &Request, rv: &str) -> bool {
    matches!(request, Request::Watch(watch) if watch.resource_version == rv)
}

/// A watch whose first line is not JSON: the change it carried is unknown, relist.
fn garbled_watch() -> Reply {
    watch(
        vec![bad_line(7, DecodeError::Malformed("eof".into()))],
        Ending::Close,
    )
}

/// The 504 a v1.26 server answers after 3 s to a list from a resourceVersion its watch cache
/// has not reached.
fn too_large(asked: &str, current: &str) -> Reply {
    Reply::List(Err(SourceError::Status {
        status: ApiStatus {
            code: 504,
            reason: "Timeout".into(),
            message: format!("Timeout: Too large resource version: {asked}, current: {current}"),
            ..ApiStatus::default()
        },
        retry_after: Some(Duration::from_secs(1)),
    }))
}

#[tokio::test(start_paused = true)]
async fn the_first_list_takes_the_watch_cache_and_a_relist_a_state_not_older_than_the_last_seen() {
    let mut h = harness_with(
        cache_config(),
        vec![
            page("10", &["a/1"], None),
            watch(vec![added("a/2", 12), bookmark("15")], Ending::Close),
            garbled_watch(),
            page("16", &["a/1", "a/2", "a/3"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_next(h.step(watching("10")).await, watching("15"));
    assert_backoff(h.step(watching("15")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("16"));
    assert_eq!(h.keys(), ["a/1", "a/2", "a/3"]);
    let requests = h.requests();
    assert_eq!(requests[0], from_any());
    assert!(is_watch_from(&requests[1], "10") && is_watch_from(&requests[2], "15"));
    assert_eq!(
        requests[3],
        not_older_than("15"),
        "the last bookmark's resourceVersion"
    );
}

#[tokio::test(start_paused = true)]
async fn a_relist_after_a_410_is_a_consistent_read_and_the_one_after_it_uses_the_cache_again() {
    let mut h = harness_with(
        cache_config(),
        vec![
            page("10", &["a/1"], None),
            watch(vec![expired()], Ending::Close),
            page("20", &["a/1"], None),
            garbled_watch(),
            page("21", &["a/1"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_next(h.step(watching("10")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("20"));
    assert_backoff(h.step(watching("20")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("21"));
    let requests = h.requests();
    assert_eq!(requests[2], paged(None), "after a 410: etcd, in pages");
    assert_eq!(requests[4], not_older_than("20"));
}

#[tokio::test(start_paused = true)]
async fn a_resource_version_the_cache_has_not_reached_is_listed_again_at_once_consistently() {
    let (logs, _guard) = captured_logs();
    let mut h = harness_with(
        cache_config(),
        vec![
            page("10", &["a/1"], None),
            garbled_watch(),
            too_large("10", "9"),
            page("11", &["a/1", "a/2"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_backoff(h.step(watching("10")).await, State::Listing);
    assert_next(h.step(State::Listing).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("11"));
    assert_eq!(h.keys(), ["a/1", "a/2"]);
    let requests = h.requests();
    assert_eq!(requests[2], not_older_than("10"));
    assert_eq!(requests[3], paged(None));
    let logged = logs.text();
    assert!(
        logged.contains("cannot list from its watch cache at that resourceVersion"),
        "{logged}"
    );
}

/// A list refused as invalid, naming the resourceVersion parameters.
fn refused_resource_version() -> Reply {
    Reply::List(Err(SourceError::Status {
        status: ApiStatus {
            code: 422,
            reason: "Invalid".into(),
            message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported \
                      value: \"NotOlderThan\""
                .into(),
            ..ApiStatus::default()
        },
        retry_after: None,
    }))
}

#[tokio::test(start_paused = true)]
async fn a_server_refusing_watch_cache_lists_gets_consistent_reads_for_the_rest_of_the_run() {
    let mut h = harness_with(
        cache_config(),
        vec![
            refused_resource_version(),
            page("10", &["a/1"], None),
            garbled_watch(),
            page("11", &["a/1"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_backoff(h.step(watching("10")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("11"));
    let requests = h.requests();
    assert_eq!(requests[0], from_any());
    assert_eq!(requests[1], paged(None));
    assert_eq!(requests[3], paged(None), "no watch-cache list once refused");
}

#[tokio::test(start_paused = true)]
async fn a_list_refused_for_another_reason_is_fatal_without_a_consistent_retry() {
    // A bad selector: a consistent read would be refused the same way.
    let mut h = harness_with(cache_config(), vec![list_fails(400, "BadRequest")]);
    let err = assert_fatal(h.step(State::Listing).await);
    assert!(matches!(err, ReflectorError::Invalid { .. }), "{err}");
    assert_eq!(h.requests(), [from_any()]);

    // A consistent read refused after the fallback is fatal too.
    let mut h = harness_with(
        cache_config(),
        vec![refused_resource_version(), refused_resource_version()],
    );
    assert_next(h.step(State::Listing).await, State::Listing);
    let err = assert_fatal(h.step(State::Listing).await);
    assert!(matches!(err, ReflectorError::Invalid { .. }), "{err}");
}

#[tokio::test(start_paused = true)]
async fn other_failures_of_a_watch_cache_list_are_retried_from_the_cache() {
    let mut h = harness_with(
        cache_config(),
        vec![list_fails(503, "ServiceUnavailable"), page("10", &[], None)],
    );
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_eq!(h.requests(), [from_any(), from_any()]);
}

#[tokio::test(start_paused = true)]
async fn a_server_paging_a_watch_cache_list_gets_paged_relists() {
    let mut h = harness_with(
        cache_config(),
        vec![
            page("10", &["a/1"], Some("t1")),
            page("10", &["a/2"], None),
            garbled_watch(),
            page("12", &["a/1", "a/2"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_backoff(h.step(watching("10")).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("12"));
    let requests = h.requests();
    assert_eq!(requests[0], from_any());
    assert_eq!(
        requests[1],
        paged(Some("t1")),
        "a continued page names no resourceVersion"
    );
    assert_eq!(
        requests[3],
        Request::List(ListRequest {
            limit: Some(500),
            continue_token: None,
            from: ListFrom::NotOlderThan("10".into()),
        })
    );
}

#[tokio::test(start_paused = true)]
async fn list_only_runs_read_consistently() {
    let config = ReflectorConfig {
        list_only: true,
        ..ReflectorConfig::default()
    };
    let mut h = harness_with(config, vec![page("10", &["a/1"], None)]);
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_eq!(
        h.requests(),
        [paged(None)],
        "no streaming list, no watch cache"
    );
}

#[tokio::test(start_paused = true)]
async fn a_relist_after_an_etcd_restore_is_a_consistent_read() {
    let config = ReflectorConfig {
        restore_check_interval: Duration::ZERO,
        watch_timeout_seconds: 50..=50,
        ..cache_config()
    };
    let mut h = harness_with(
        config,
        vec![
            page("100", &["a/1"], None),
            watch(vec![], Ending::CloseAfter(Duration::from_secs(50))),
            page("40", &[], None),
            page("41", &["a/9"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("100"));
    let checking = State::CheckingRestore {
        resource_version: "100".into(),
    };
    assert_next(h.step(watching("100")).await, checking.clone());
    assert_next(h.step(checking).await, State::Listing);
    assert_next(h.step(State::Listing).await, watching("41"));
    assert_eq!(h.keys(), ["a/9"]);
    let requests = h.requests();
    assert_eq!(
        requests[3],
        paged(None),
        "not a watch-cache list from 100, which the restored server has not reached"
    );
}

#[tokio::test(start_paused = true)]
async fn a_list_older_than_the_resource_version_asked_is_not_stored_and_etcd_decides() {
    let mut h = harness_with(
        cache_config(),
        vec![
            page("10", &["a/1"], None),
            watch(vec![deleted("a/1", 12), bookmark("15")], Ending::Close),
            garbled_watch(),
            page("8", &["a/1"], None),
            page("16", &["a/2"], None),
        ],
    );
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_next(h.step(watching("10")).await, watching("15"));
    assert_backoff(h.step(watching("15")).await, State::Listing);
    assert_next(h.step(State::Listing).await, State::Listing);
    assert!(
        h.keys().is_empty(),
        "a/1, deleted at 12, is not brought back by a list at 8"
    );
    assert_next(h.step(State::Listing).await, watching("16"));
    assert_eq!(h.keys(), ["a/2"]);
    let requests = h.requests();
    assert_eq!(requests[3], not_older_than("15"));
    assert_eq!(requests[4], paged(None));
}
