//! State-transition tests: the reflector driven step by step against a scripted source.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, stream};

use super::*;
use crate::cache::list_watch::{StreamError, WatchRequest, WatchStream};
use crate::cache::store::{Store, new_store};
use crate::wire::decode::{ApiStatus, ListPage, WatchEvent};
use crate::wire::object::ObjectError;
use crate::wire::test_support::{Captured, pod};

mod failures;
mod list;
mod restore;
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

fn streaming_config() -> ReflectorConfig {
    ReflectorConfig {
        streaming_list: true,
        initial_events_timeout: Duration::from_secs(10),
        ..ReflectorConfig::default()
    }
}
