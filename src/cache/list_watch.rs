//! The list/watch seam: the [`ListWatch`] trait the reflector drives (client-go's
//! `ListerWatcher`), what it is asked ([`ListRequest`], [`WatchRequest`]) and how it fails
//! ([`SourceError`], [`StreamError`]). Its implementation over HTTP is
//! [`KubeSource`](crate::api::kube_source::KubeSource); tests drive the reflector through
//! scripted ones.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;

use crate::connect::endpoint::Endpoint;
use crate::wire::decode::{ApiStatus, DecodeError, ListPage, WatchEvent};
use crate::wire::lines::LineTooLong;
use crate::wire::object::{ObjectKey, TableColumns};
use crate::wire::protobuf::FrameTooLong;

/// What is listed and watched, for requests and for messages: `pods at cluster scope`. It is
/// also what the answers must stay within ([`Scope::admits`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The resource's plural name, e.g. `pods`.
    pub plural: String,
    /// The namespace, or `None` for all namespaces / cluster-scoped resources.
    pub namespace: Option<String>,
    /// Whether the resource's objects live in namespaces (pods), or not (nodes).
    pub namespaced: bool,
}

impl Scope {
    /// Whether an object keyed `key` belongs to what was asked for: in the namespace asked for;
    /// across all namespaces of a namespaced resource, in some namespace; for a cluster-scoped
    /// resource, in none. The server only ever answers with such objects; one outside is from a
    /// broken or hostile server (or a proxy answering for another request).
    pub fn admits(&self, key: &ObjectKey) -> bool {
        match (&self.namespace, key.namespace()) {
            (Some(asked), found) => found == Some(asked.as_str()),
            (None, found) => found.is_some() == self.namespaced,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} in namespace {namespace}", self.plural),
            None => write!(f, "{} at cluster scope", self.plural),
        }
    }
}

/// One list request: a page of at most `limit` objects, continuing from `continue_token`, of
/// the state `from` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Page size; `None` asks for everything in one response.
    pub limit: Option<u32>,
    /// The previous page's `continue` token (its pages are of the first page's state: `from`
    /// is then [`ListFrom::Latest`], as the server refuses a resourceVersion with a token).
    pub continue_token: Option<String>,
    /// Which state of the collection may answer.
    pub from: ListFrom,
}

/// Which state of the collection a list may be answered from: the API's `resourceVersion` and
/// `resourceVersionMatch` parameters. A kube-apiserver answers [`ListFrom::Any`] and
/// [`ListFrom::NotOlderThan`] (without a `limit`) from its watch cache, in memory, in one
/// response whatever the `limit` (transcript 27); [`ListFrom::Latest`] is read from etcd, page
/// by page (transcripts 01, 02).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ListFrom {
    /// The latest state, a consistent read from etcd: no `resourceVersion`.
    #[default]
    Latest,
    /// Whatever state the server has at hand, however old: `resourceVersion=0`, as client-go's
    /// reflector starts.
    Any,
    /// A state at least as new as this resourceVersion: `resourceVersion=N&
    /// resourceVersionMatch=NotOlderThan`. A server whose watch cache has not reached it waits
    /// 3 s, then answers 504 "Too large resource version" (checked on v1.26).
    NotOlderThan(String),
}

/// One watch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchRequest {
    /// Watch changes after this resourceVersion.
    pub resource_version: String,
    /// Asks the server to end the watch after this many seconds.
    pub timeout_seconds: u32,
    /// A streaming list (`sendInitialEvents=true&resourceVersionMatch=NotOlderThan`): the
    /// server first sends the current state as ADDED events, then a BOOKMARK annotated
    /// `k8s.io/initial-events-end`.
    pub send_initial_events: bool,
}

/// A failed list or watch request.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server answered with an error status.
    #[error("the server answered {}: {}", status_line(.status), .status.message)]
    Status {
        /// The `Status` the server sent (or one made up from the HTTP status).
        status: ApiStatus,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The request did not get an answer: connection refused, reset, timed out.
    #[error("cannot reach {endpoint}: {reason}")]
    Transport {
        /// The server asked.
        endpoint: Endpoint,
        /// Why there was no answer, e.g. `connection refused`.
        reason: String,
    },
    /// The server's TLS certificate is not trusted: retrying cannot help.
    #[error(
        "the TLS certificate of {endpoint} is not trusted ({reason}); check \
         certificate-authority or certificate-authority-data for this cluster in the kubeconfig"
    )]
    Untrusted {
        /// The server whose certificate it is.
        endpoint: Endpoint,
        /// What is wrong with the certificate.
        reason: String,
    },
    /// The answer came too slowly for the request's [`RequestDeadline`](crate::api::deadline::RequestDeadline) (a list page or a
    /// discovery document trickling in): given up, as a failure to answer.
    #[error(
        "{endpoint} sent its answer too slowly: {slowness}; check the network to the server \
         (a slow VPN, proxy or link?)"
    )]
    TooSlow {
        /// The server asked.
        endpoint: Endpoint,
        /// How slow.
        slowness: Slowness,
    },
    /// The answer was not what the API promises.
    #[error("cannot decode the server's answer: {0}")]
    Decode(DecodeError),
    /// The exec credential plugin gave no token for the request, which was not sent.
    #[error("{0}")]
    Credential(String),
}

impl From<DecodeError> for SourceError {
    fn from(err: DecodeError) -> Self {
        SourceError::Decode(err)
    }
}

fn status_line(status: &ApiStatus) -> String {
    if status.reason.is_empty() {
        status.code.to_string()
    } else {
        format!("{} {}", status.code, status.reason)
    }
}

/// Why an open watch stream ended abnormally or delivered a line that is not an event.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading the stream failed (connection reset, cut mid-line).
    #[error("watch stream broken: {0}")]
    Transport(String),
    /// A line that is not a watch event the reflector can apply.
    #[error("bad watch line at byte offset {offset}: {error}")]
    BadLine {
        /// Stream offset of the line.
        offset: u64,
        /// What is wrong with it.
        error: DecodeError,
    },
    /// A line too long to be an object.
    #[error(transparent)]
    LineTooLong(#[from] LineTooLong),
    /// A protobuf frame too long to be an object.
    #[error(transparent)]
    FrameTooLong(#[from] FrameTooLong),
}

/// A stream of decoded watch events; it ends when the server ends the watch.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StreamError>>;

/// The list/watch seam the reflector drives (client-go's `ListerWatcher`).
pub trait ListWatch: Send + Sync + 'static {
    /// What this source lists and watches.
    fn scope(&self) -> &Scope;

    /// Lists one page.
    fn list(
        &self,
        request: ListRequest,
    ) -> impl Future<Output = Result<ListPage, SourceError>> + Send;

    /// Opens a watch.
    fn watch(
        &self,
        request: WatchRequest,
    ) -> impl Future<Output = Result<WatchStream, SourceError>> + Send;

    /// The columns of the server-side Table this source received last (`-o wide`): a list
    /// defines them even with no rows, a streaming list with its first event. `None` when it
    /// asks for no Table, or the server makes none for this resource.
    fn table_columns(&self) -> Option<Arc<TableColumns>> {
        None
    }
}

/// Why an answer was given up as too slow (the text after `sent its answer too slowly: `).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slowness {
    /// A window of [`RequestDeadline::MinRate`](crate::api::deadline::RequestDeadline::MinRate) brought too little.
    BelowRate {
        /// Bytes received in the window.
        received: u64,
        /// The window.
        window: Duration,
        /// The least average rate.
        bytes_per_second: u32,
    },
    /// [`RequestDeadline::Total`](crate::api::deadline::RequestDeadline::Total) passed before the answer was complete.
    PastTotal(Duration),
}

impl fmt::Display for Slowness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slowness::BelowRate {
                received,
                window,
                bytes_per_second,
            } => write!(
                f,
                "{received} bytes in {}, less than the {} KiB/s kreflect waits for",
                humantime::format_duration(*window),
                bytes_per_second / 1024
            ),
            Slowness::PastTotal(limit) => write!(
                f,
                "not complete within the request timeout of {}",
                humantime::format_duration(*limit)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_answer_names_its_code_its_reason_when_it_has_one_and_its_message() {
        let answered = |code: u16, reason: &str| SourceError::Status {
            status: ApiStatus {
                code,
                reason: reason.into(),
                message: "pods is forbidden".into(),
                ..ApiStatus::default()
            },
            retry_after: None,
        };
        assert_eq!(
            answered(403, "Forbidden").to_string(),
            "the server answered 403 Forbidden: pods is forbidden"
        );
        assert_eq!(
            answered(500, "").to_string(),
            "the server answered 500: pods is forbidden"
        );
    }

    #[test]
    fn scope_names_namespace_or_cluster_scope() {
        let cluster = Scope {
            plural: "pods".into(),
            namespace: None,
            namespaced: true,
        };
        assert_eq!(cluster.to_string(), "pods at cluster scope");
        let namespaced = Scope {
            plural: "pods".into(),
            namespace: Some("shop".into()),
            namespaced: true,
        };
        assert_eq!(namespaced.to_string(), "pods in namespace shop");
    }

    #[test]
    fn a_scope_admits_only_the_objects_its_request_can_answer_with() {
        let scope = |namespace: Option<&str>, namespaced| Scope {
            plural: "things".into(),
            namespace: namespace.map(Into::into),
            namespaced,
        };
        let key = |namespace: Option<&str>| ObjectKey::new(namespace, "x");
        let shop = scope(Some("shop"), true);
        assert!(shop.admits(&key(Some("shop"))));
        assert!(!shop.admits(&key(Some("shop2"))));
        assert!(!shop.admits(&key(None)), "no namespace is not shop");
        let all = scope(None, true);
        assert!(all.admits(&key(Some("a"))) && all.admits(&key(Some("b"))));
        assert!(!all.admits(&key(None)), "a namespaced object without one");
        let cluster = scope(None, false);
        assert!(cluster.admits(&key(None)));
        assert!(
            !cluster.admits(&key(Some("a"))),
            "a cluster-scoped object with one"
        );
    }
}
