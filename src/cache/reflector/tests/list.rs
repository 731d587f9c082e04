//! Listing: every page, continue tokens expired or repeated, a page failing, one unpaged request.

use super::*;

#[tokio::test(start_paused = true)]
async fn lists_every_page_then_watches_from_the_list_resource_version() {
    let mut h = harness(vec![
        page("10", &["a/1", "a/2"], Some("t1")),
        page("10", &["b/1"], None),
    ]);
    assert!(!h.store.is_synced());
    assert_next(h.step(State::Listing).await, watching("10"));
    assert_eq!(h.keys(), ["a/1", "a/2", "b/1"]);
    assert!(h.store.is_synced());
    assert_eq!(h.requests(), [paged(None), paged(Some("t1"))]);
}

#[tokio::test(start_paused = true)]
async fn expired_continue_token_restarts_the_list_without_pages() {
    let mut h = harness(vec![
        page("10", &["a/stale"], Some("t1")),
        list_fails(410, "Expired"),
        page("12", &["a/fresh"], None),
    ]);
    assert_next(h.step(State::Listing).await, watching("12"));
    assert_eq!(h.keys(), ["a/fresh"]);
    let unpaged = Request::List(ListRequest::default());
    assert_eq!(h.requests(), [paged(None), paged(Some("t1")), unpaged]);
}

#[tokio::test(start_paused = true)]
async fn an_object_listed_twice_under_fresh_continue_tokens_fails_the_list_and_backs_off() {
    let mut h = harness(vec![
        page("10", &["a/1"], Some("t1")),
        page("10", &["a/2"], Some("t2")),
        page("10", &["a/2"], Some("t3")),
        page("10", &["a/3"], None),
    ]);
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(!h.store.is_synced());
    assert_eq!(
        h.requests(),
        [paged(None), paged(Some("t1")), paged(Some("t2"))]
    );
}

#[tokio::test(start_paused = true)]
async fn an_object_of_the_first_page_listed_again_on_the_last_fails_the_list() {
    // Both ends of a paged list count: the first page (it has a continue token) and the last
    // (it has none, but is not the first).
    let mut h = harness(vec![
        page("10", &["a/1", "a/2"], Some("t1")),
        page("10", &["a/3", "a/1"], None),
    ]);
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(!h.store.is_synced());
    assert_eq!(h.requests(), [paged(None), paged(Some("t1"))]);
}

#[tokio::test(start_paused = true)]
async fn an_unpaged_list_naming_an_object_twice_is_stored_not_refused() {
    // One answer cannot be a list that never ends: the object is stored once, as client-go's
    // Replace stores it, and the list is not failed.
    let mut h = harness(vec![page("10", &["a/1", "a/1", "a/2"], None)]);
    assert_next(h.step(State::Listing).await, watching("10"));
    assert!(h.store.is_synced());
    assert_eq!(h.keys(), ["a/1", "a/2"]);
}

#[tokio::test(start_paused = true)]
async fn a_continue_token_seen_twice_fails_the_list_and_backs_off() {
    let mut h = harness(vec![
        page("10", &["a/1"], Some("same")),
        page("10", &["a/2"], Some("same")),
        page("10", &["a/1"], None),
    ]);
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert!(
        !h.store.is_synced(),
        "a list that never ends replaces nothing"
    );
    assert_eq!(h.requests(), [paged(None), paged(Some("same"))]);
}

#[tokio::test(start_paused = true)]
async fn a_server_error_on_a_later_page_backs_off_then_lists_from_the_first_page() {
    let mut h = harness(vec![
        page("10", &["a/1"], Some("t1")),
        list_fails(500, "InternalError"),
        page("11", &["a/1", "a/2"], None),
    ]);
    assert_backoff(h.step(State::Listing).await, State::Listing);
    assert_eq!(h.requests(), [paged(None), paged(Some("t1"))]);
    assert_next(h.step(State::Listing).await, watching("11"));
    assert_eq!(
        h.requests(),
        [paged(None)],
        "paged again, not one unpaged full list"
    );
}

#[tokio::test(start_paused = true)]
async fn a_page_size_of_zero_lists_everything_in_one_unpaged_request() {
    let config = ReflectorConfig {
        page_size: 0,
        ..classic_config()
    };
    let mut h = harness_with(config, vec![page("10", &["a/1", "a/2"], None)]);
    assert_next(h.step(State::Listing).await, watching("10"));
    let unpaged = Request::List(ListRequest {
        limit: None,
        continue_token: None,
        from: ListFrom::Latest,
    });
    assert_eq!(h.requests(), [unpaged], "no limit=0 parameter");
}
