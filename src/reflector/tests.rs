//! State-transition tests: the reflector driven step by step against a scripted source.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};

use super::*;
use crate::decode::{ApiStatus, ListPage, WatchEvent};
use crate::object::ObjectError;
use crate::source::{StreamError, WatchRequest, WatchStream};
use crate::store::{Store, new_store};
use crate::test_support::{Captured, pod};

/// How a scripted watch stream ends after its events.
enum Ending {
    Close,
    /// The server ends the stream after this long.
    CloseAfter(Duration),
    Stall,
    /// `bookmarks` BOOKMARKs (resourceVersions 100, 101, ...), one every `every`, then a stall.
    Paced {
        every: Duration,
        bookmarks: u32,
    },
}

enum Reply {
    List(Result<ListPage, SourceError>),
    Watch(Result<(Vec<Result<WatchEvent, StreamError>>, Ending), SourceError>),
}

#[derive(Debug, PartialEq)]
enum Request {
    List(ListRequest),
    Watch(WatchRequest),
}

/// A source that answers from a script and records what it was asked.
struct ScriptedSource {
    scope: Scope,
    replies: Mutex<VecDeque<Reply>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl ScriptedSource {
    fn next_reply(&self, request: Request) -> Option<Reply> {
        self.requests.lock().expect("requests").push(request);
        self.replies.lock().expect("replies").pop_front()
    }
}

impl ListWatch for ScriptedSource {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn list(&self, request: ListRequest) -> Result<ListPage, SourceError> {
        match self.next_reply(Request::List(request)) {
            Some(Reply::List(reply)) => reply,
            Some(Reply::Watch(_)) => panic!("script expected a watch, reflector listed"),
            None => std::future::pending().await,
        }
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream, SourceError> {
        match self.next_reply(Request::Watch(request)) {
            Some(Reply::Watch(reply)) => reply.map(|(events, ending)| {
                let events = stream::iter(events);
                match ending {
                    Ending::Close => events.boxed(),
                    Ending::CloseAfter(after) => events
                        .chain(
                            stream::once(tokio::time::sleep(after)).filter_map(|()| async { None }),
                        )
                        .boxed(),
                    Ending::Stall => events.chain(stream::pending()).boxed(),
                    Ending::Paced { every, bookmarks } => {
                        let paced = stream::iter(0..bookmarks).then(move |i| async move {
                            tokio::time::sleep(every).await;
                            Ok(WatchEvent::Bookmark((100 + i).to_string()))
                        });
                        events.chain(paced).chain(stream::pending()).boxed()
                    }
                }
            }),
            Some(Reply::List(_)) => panic!("script expected a list, reflector watched"),
            None => std::future::pending().await,
        }
    }
}

struct Harness {
    reflector: Reflector<ScriptedSource>,
    store: Store,
    requests: Arc<Mutex<Vec<Request>>>,
}

fn harness(replies: Vec<Reply>, config: ReflectorConfig) -> Harness {
    let every_namespace = Scope {
        plural: "pods".into(),
        namespace: None,
        namespaced: true,
    };
    harness_in(every_namespace, replies, config)
}

/// [`harness`] for a source that lists and watches `scope`.
fn harness_in(scope: Scope, replies: Vec<Reply>, config: ReflectorConfig) -> Harness {
    let (writer, store) = new_store();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let source = ScriptedSource {
        scope,
        replies: Mutex::new(replies.into()),
        requests: Arc::clone(&requests),
    };
    Harness {
        reflector: Reflector::new(source, writer, config),
        store,
        requests,
    }
}

impl Harness {
    fn keys(&self) -> Vec<String> {
        self.store
            .sorted_keys()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn requests(&self) -> Vec<Request> {
        std::mem::take(&mut *self.requests.lock().expect("requests"))
    }
}

fn page(rv: &str, keys: &[&str], continue_token: Option<&str>) -> Reply {
    Reply::List(Ok(ListPage {
        items: keys.iter().map(|key| pod(key, 1)).collect(),
        rejected: Vec::new(),
        resource_version: rv.into(),
        continue_token: continue_token.map(Into::into),
    }))
}

fn status(code: u16, reason: &str, retry_after: Option<u64>) -> SourceError {
    SourceError::Status {
        status: ApiStatus {
            code,
            reason: reason.into(),
            message: format!("{reason} from the test server"),
        },
        retry_after: retry_after.map(Duration::from_secs),
    }
}

fn watch(events: Vec<Result<WatchEvent, StreamError>>, ending: Ending) -> Reply {
    Reply::Watch(Ok((events, ending)))
}

fn watching(rv: &str) -> State {
    State::Watching {
        resource_version: rv.into(),
    }
}

fn paged(continue_token: Option<&str>) -> Request {
    Request::List(ListRequest {
        limit: Some(500),
        continue_token: continue_token.map(Into::into),
    })
}

fn watched_from(request: &Request) -> &str {
    match request {
        Request::Watch(watch) => &watch.resource_version,
        Request::List(_) => panic!("expected a watch request, got {request:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn lists_every_page_then_watches_from_the_list_resource_version() {
    let mut h = harness(
        vec![
            page("10", &["a/1", "a/2"], Some("t1")),
            page("10", &["b/1"], None),
        ],
        ReflectorConfig::default(),
    );
    assert!(!h.store.is_synced());
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("10")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/1", "a/2", "b/1"]);
    assert!(h.store.is_synced());
    assert_eq!(h.requests(), [paged(None), paged(Some("t1"))]);
}

#[tokio::test(start_paused = true)]
async fn expired_continue_token_restarts_the_list_without_pages() {
    let mut h = harness(
        vec![
            page("10", &["a/stale"], Some("t1")),
            Reply::List(Err(status(410, "Expired", None))),
            page("12", &["a/fresh"], None),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("12")),
        "{step:?}"
    );
    assert_eq!(h.keys(), ["a/fresh"]);
    assert_eq!(
        h.requests(),
        [
            paged(None),
            paged(Some("t1")),
            Request::List(ListRequest::default())
        ]
    );
}

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
async fn one_expiry_relists_at_once_and_a_second_before_any_event_backs_off() {
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
}

#[tokio::test(start_paused = true)]
async fn watches_expiring_soon_after_their_list_relist_at_once_only_the_first_time() {
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
}

#[tokio::test(start_paused = true)]
async fn an_object_listed_twice_under_fresh_continue_tokens_fails_the_list_and_backs_off() {
    let mut h = harness(
        vec![
            page("10", &["a/1"], Some("t1")),
            page("10", &["a/2"], Some("t2")),
            page("10", &["a/2"], Some("t3")),
            page("10", &["a/3"], None),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(matches!(step, Step::Backoff(State::Listing, _)), "{step:?}");
    assert!(!h.store.is_synced());
    assert_eq!(
        h.requests(),
        [paged(None), paged(Some("t1")), paged(Some("t2"))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_continue_token_seen_twice_fails_the_list_and_backs_off() {
    let mut h = harness(
        vec![
            page("10", &["a/1"], Some("same")),
            page("10", &["a/2"], Some("same")),
            page("10", &["a/1"], None),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(matches!(step, Step::Backoff(State::Listing, _)), "{step:?}");
    assert!(
        !h.store.is_synced(),
        "a list that never ends replaces nothing"
    );
    assert_eq!(h.requests(), [paged(None), paged(Some("same"))]);
}

#[tokio::test(start_paused = true)]
async fn a_server_error_on_a_later_page_backs_off_then_lists_from_the_first_page() {
    let mut h = harness(
        vec![
            page("10", &["a/1"], Some("t1")),
            Reply::List(Err(status(500, "InternalError", None))),
            page("11", &["a/1", "a/2"], None),
        ],
        ReflectorConfig::default(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(matches!(step, Step::Backoff(State::Listing, _)), "{step:?}");
    assert_eq!(h.requests(), [paged(None), paged(Some("t1"))]);
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("11")),
        "{step:?}"
    );
    assert_eq!(
        h.requests(),
        [paged(None)],
        "paged again, not one unpaged full list"
    );
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
}

#[tokio::test(start_paused = true)]
async fn a_stalled_watch_is_reopened_after_its_timeout() {
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
        longest + config.stall_grace < crate::client::READ_TIMEOUT,
        "a healthy idle watch must end before the read timeout cuts it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_malformed_line_relists_and_an_unkeyable_event_is_skipped() {
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
    let metrics = Arc::new(crate::metrics::Metrics::default());
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
        // The first watch after a list is no restart (issue 10).
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

/// The `kreflect_watch_restarts_total` value `metrics` renders.
fn watch_restarts(metrics: &crate::metrics::Metrics, store: &Store) -> u64 {
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
    let metrics = Arc::new(crate::metrics::Metrics::default());
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
        streaming(),
    );
    let metrics = Arc::new(crate::metrics::Metrics::default());
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

fn streaming() -> ReflectorConfig {
    ReflectorConfig {
        streaming_list: true,
        initial_events_timeout: Duration::from_secs(10),
        ..ReflectorConfig::default()
    }
}

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
        streaming(),
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
        streaming(),
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
        streaming(),
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
        streaming(),
    );
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Fatal(ReflectorError::Forbidden { .. })),
        "{step:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_streaming_list_skips_unkeyable_events_and_restarts_on_a_malformed_line() {
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
            ..streaming()
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
}

#[tokio::test(start_paused = true)]
async fn a_page_size_of_zero_lists_everything_in_one_unpaged_request() {
    let config = ReflectorConfig {
        page_size: 0,
        ..ReflectorConfig::default()
    };
    let mut h = harness(vec![page("10", &["a/1", "a/2"], None)], config);
    let step = h.reflector.step(State::Listing).await;
    assert!(
        matches!(step, Step::Next(ref s) if *s == watching("10")),
        "{step:?}"
    );
    assert_eq!(
        h.requests(),
        [Request::List(ListRequest {
            limit: None,
            continue_token: None,
        })],
        "no limit=0 parameter"
    );
}

/// Log lines written while the returned guard lives (this thread only), for checking levels.
fn captured_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

fn warnings(logs: &Captured) -> Vec<String> {
    logs.text()
        .lines()
        .filter(|line| line.contains("WARN"))
        .map(str::to_owned)
        .collect()
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

/// A pod, or with a key without `/` an object in no namespace, at resourceVersion `rv`.
fn object(key: &str, rv: u32) -> RawObject {
    if key.contains('/') {
        return pod(key, rv);
    }
    let json = format!(r#"{{"metadata":{{"name":"{key}","resourceVersion":"{rv}"}}}}"#);
    RawObject::from_json(json.as_bytes(), "Pod").expect("test object")
}

/// `plural` in `namespace`, or across all namespaces; a cluster-scoped resource unless
/// `namespaced`.
fn scope(plural: &str, namespace: Option<&str>, namespaced: bool) -> Scope {
    Scope {
        plural: plural.into(),
        namespace: namespace.map(Into::into),
        namespaced,
    }
}

/// `kreflect_out_of_scope_objects_total` as rendered.
fn out_of_scope_total(metrics: &crate::metrics::Metrics, store: &Store) -> Option<u64> {
    let text = metrics.render(store);
    text.lines()
        .find_map(|line| {
            line.strip_prefix("kreflect_out_of_scope_objects_total{resource=\"pods\"} ")
        })
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn objects_outside_the_requested_scope_are_dropped_from_lists_and_watches_with_a_warning() {
    // (scope, keys listed then watched that belong, keys that do not)
    let cases = [
        (scope("pods", Some("a"), true), ["a/1", "a/2"], ["b/1", "x"]),
        (scope("pods", None, true), ["a/1", "b/2"], ["x", "y"]),
        (scope("nodes", None, false), ["n1", "n2"], ["a/n3", "b/n4"]),
    ];
    for (scope, inside, outside) in cases {
        let (logs, _guard) = captured_logs();
        let metrics = Arc::new(crate::metrics::Metrics::for_resource("pods"));
        let listed = ListPage {
            items: vec![object(inside[0], 1), object(outside[0], 2)],
            rejected: Vec::new(),
            resource_version: "10".into(),
            continue_token: None,
        };
        let events = vec![
            Ok(WatchEvent::Added(object(outside[1], 11))),
            Ok(WatchEvent::Added(object(inside[1], 12))),
            Ok(WatchEvent::Modified(object(outside[0], 13))),
            Ok(WatchEvent::Deleted(object(outside[0], 14))),
        ];
        let mut h = harness_in(
            scope.clone(),
            vec![Reply::List(Ok(listed)), watch(events, Ending::Close)],
            ReflectorConfig::default(),
        );
        h.reflector = h.reflector.with_metrics(Arc::clone(&metrics));
        h.reflector.step(State::Listing).await;
        assert_eq!(h.keys(), [inside[0]], "{scope}: the list");
        let step = h.reflector.step(watching("10")).await;
        assert_eq!(h.keys(), inside, "{scope}: the watch");
        assert!(
            matches!(step, Step::Next(ref s) if *s == watching("12")),
            "{scope}: an object outside moves no resourceVersion: {step:?}"
        );
        assert_eq!(out_of_scope_total(&metrics, &h.store), Some(4), "{scope}");
        let warned = warnings(&logs);
        assert_eq!(warned.len(), 4, "{scope}: one warning each: {warned:?}");
        for (line, key) in warned
            .iter()
            .zip([outside[0], outside[1], outside[0], outside[0]])
        {
            assert!(
                line.contains(&format!("key={key}")) && line.contains(&format!("scope={scope}")),
                "{scope}: names the key and the scope: {line}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_streaming_lists_initial_events_outside_the_requested_scope_are_dropped() {
    let metrics = Arc::new(crate::metrics::Metrics::for_resource("pods"));
    let mut h = harness_in(
        scope("pods", Some("a"), true),
        vec![watch(
            vec![
                Ok(WatchEvent::Added(pod("a/1", 5))),
                Ok(WatchEvent::Added(pod("b/1", 6))),
                Ok(WatchEvent::InitialEventsEnd("7".into())),
            ],
            Ending::Close,
        )],
        streaming(),
    );
    h.reflector = h.reflector.with_metrics(Arc::clone(&metrics));
    h.reflector.step(State::Listing).await;
    assert!(h.store.is_synced());
    assert_eq!(h.keys(), ["a/1"]);
    assert_eq!(out_of_scope_total(&metrics, &h.store), Some(1));
}
