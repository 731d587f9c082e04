//! State-transition tests: the reflector driven step by step against a scripted source.
//!
//! Every file builds on what is here: a [`Harness`] over a [`ScriptedSource`], the replies of a
//! script ([`page`], [`watch`], [`list_fails`]...), the lines of a watch stream ([`added`],
//! [`bookmark`], [`expired`]...), and one assertion per kind of [`Step`] ([`assert_next`],
//! [`assert_backoff`], [`assert_fatal`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};

use super::*;
use crate::cache::list_watch::{StreamError, WatchRequest, WatchStream};
use crate::cache::store::{Store, new_store};
use crate::wire::decode::{ApiStatus, ListPage, WatchEvent};
use crate::wire::object::ObjectError;
use crate::wire::test_support::{Captured, pod};

mod cache;
mod failures;
mod list;
mod restore;
mod resume;
mod scope;
mod streaming;
mod watch;

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
    /// An ADDED event of a new pod `z/N` every `every`, for ever.
    AddedEvery(Duration),
}

/// One line of a scripted watch stream: an event, or a broken stream or line.
type Line = Result<WatchEvent, StreamError>;

enum Reply {
    List(Result<ListPage, SourceError>),
    Watch(Result<(Vec<Line>, Ending), SourceError>),
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
                    Ending::AddedEvery(every) => {
                        let added = stream::iter(0..).then(move |i: u32| async move {
                            tokio::time::sleep(every).await;
                            added(&format!("z/{i}"), 1000 + i)
                        });
                        events.chain(added).boxed()
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

/// A reflector with the default configuration, across all namespaces, answered by `replies`.
/// The reflector's defaults, but a paged consistent list where a run would start from a
/// streaming list or the watch cache: what most tests script. `streaming.rs` and `cache.rs`
/// test those starts.
fn classic_config() -> ReflectorConfig {
    ReflectorConfig {
        streaming_list: false,
        watch_cache_lists: false,
        ..ReflectorConfig::default()
    }
}

fn harness(replies: Vec<Reply>) -> Harness {
    harness_with(classic_config(), replies)
}

/// [`harness`] with `config`.
fn harness_with(config: ReflectorConfig, replies: Vec<Reply>) -> Harness {
    let every_namespace = Scope {
        plural: "pods".into(),
        namespace: None,
        namespaced: true,
    };
    harness_in(every_namespace, config, replies)
}

/// [`harness_with`] for a source that lists and watches `scope`.
fn harness_in(scope: Scope, config: ReflectorConfig, replies: Vec<Reply>) -> Harness {
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
    /// One step of the reflector from `state`.
    async fn step(&mut self, state: State) -> Step {
        self.reflector.step(state).await
    }

    fn keys(&self) -> Vec<String> {
        self.store
            .sorted_keys()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The requests received since the last call.
    fn requests(&self) -> Vec<Request> {
        std::mem::take(&mut *self.requests.lock().expect("requests"))
    }
}

/// Asserts that `step` goes on to `expected` at once.
#[track_caller]
fn assert_next(step: Step, expected: State) {
    match step {
        Step::Next(state) if state == expected => {}
        other => panic!("expected Next({expected:?}), got {other:?}"),
    }
}

/// Asserts that `step` goes on to `expected` after a backoff, and returns the backoff.
#[track_caller]
fn assert_backoff(step: Step, expected: State) -> Duration {
    match step {
        Step::Backoff(state, delay) if state == expected => delay,
        other => panic!("expected Backoff({expected:?}, _), got {other:?}"),
    }
}

/// Asserts that `step` stops the reflector, and returns the error.
#[track_caller]
fn assert_fatal(step: Step) -> ReflectorError {
    match step {
        Step::Fatal(err) => err,
        other => panic!("expected Fatal(_), got {other:?}"),
    }
}

fn watching(rv: &str) -> State {
    State::Watching {
        resource_version: rv.into(),
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

/// A list refused with `code` and `reason`.
fn list_fails(code: u16, reason: &str) -> Reply {
    Reply::List(Err(status(code, reason, None)))
}

/// A list refused with 429 and a `Retry-After` of `seconds`.
fn list_throttled(seconds: u64) -> Reply {
    Reply::List(Err(status(429, "TooManyRequests", Some(seconds))))
}

/// A watch refused at its start with `code` and `reason`.
fn watch_fails(code: u16, reason: &str) -> Reply {
    Reply::Watch(Err(status(code, reason, None)))
}

fn status(code: u16, reason: &str, retry_after: Option<u64>) -> SourceError {
    SourceError::Status {
        status: ApiStatus {
            code,
            reason: reason.into(),
            message: format!("{reason} from the test server"),
            ..ApiStatus::default()
        },
        retry_after: retry_after.map(Duration::from_secs),
    }
}

fn watch(lines: Vec<Line>, ending: Ending) -> Reply {
    Reply::Watch(Ok((lines, ending)))
}

fn added(key: &str, rv: u32) -> Line {
    Ok(WatchEvent::Added(pod(key, rv)))
}

fn modified(key: &str, rv: u32) -> Line {
    Ok(WatchEvent::Modified(pod(key, rv)))
}

fn deleted(key: &str, rv: u32) -> Line {
    Ok(WatchEvent::Deleted(pod(key, rv)))
}

fn bookmark(rv: &str) -> Line {
    Ok(WatchEvent::Bookmark(rv.into()))
}

/// The bookmark that ends a streaming list's initial events.
fn initial_events_end(rv: &str) -> Line {
    Ok(WatchEvent::InitialEventsEnd(rv.into()))
}

/// An ERROR event carrying `code` and `reason`.
fn error_event(code: u16, reason: &str) -> Line {
    Ok(WatchEvent::Error(ApiStatus {
        code,
        reason: reason.into(),
        message: format!("{reason} from the test server"),
        ..ApiStatus::default()
    }))
}

/// The ERROR event of a watch whose resourceVersion is too old: 410 Expired.
fn expired() -> Line {
    error_event(410, "Expired")
}

/// The connection under the stream broke.
fn connection_reset() -> Line {
    Err(StreamError::Transport("connection reset".into()))
}

/// A line at `offset` that cannot be applied.
fn bad_line(offset: u64, error: DecodeError) -> Line {
    Err(StreamError::BadLine { offset, error })
}

fn paged(continue_token: Option<&str>) -> Request {
    Request::List(ListRequest {
        limit: Some(500),
        continue_token: continue_token.map(Into::into),
        from: ListFrom::Latest,
    })
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

/// How many of the warnings in `logs` say `what`.
fn warnings_saying(logs: &Captured, what: &str) -> usize {
    warnings(logs)
        .iter()
        .filter(|line| line.contains(what))
        .count()
}

/// The value of `series` (a metric's name and labels, as rendered) in `metrics`; the test fails
/// unless it is rendered exactly once.
#[track_caller]
fn metric(metrics: &Metrics, store: &Store, series: &str) -> u64 {
    let text = metrics.render(store);
    let mut values = text
        .lines()
        .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '));
    match (values.next(), values.next()) {
        (Some(value), None) => value
            .parse()
            .unwrap_or_else(|_| panic!("{series} is {value:?} in\n{text}")),
        _ => panic!("expected one {series} line in\n{text}"),
    }
}

fn streaming_config() -> ReflectorConfig {
    ReflectorConfig {
        streaming_list: true,
        initial_events_timeout: Duration::from_secs(10),
        ..classic_config()
    }
}

/// `config` with watches the server ends after 5 s, dead 1 s after that when silent.
fn five_second_watches(config: ReflectorConfig) -> ReflectorConfig {
    ReflectorConfig {
        watch_timeout_seconds: 5..=5,
        stall_grace: Duration::from_secs(1),
        ..config
    }
}
