//! The Kubernetes API over HTTP: the [`ListWatch`](crate::cache::list_watch::ListWatch)
//! implementation and discovery.
//!
//! - [`kube_source`]: [`kube_source::KubeSource`], lists and watches as HTTP requests, with
//!   the media types asked for ([`kube_source::SourceOptions`]).
//! - `framing`: a watch response body split into events (lines, Table rows, protobuf frames).
//! - `request_errors`: why a request got no answer, from kube's and hyper's errors.
//! - `deadline`: how long an answer with an end (a list page, a discovery document) may take.
//! - `resolve`: resource names (`po`, `deploy`, `deployments.apps`) and categories (`all`)
//!   through discovery.
//!
//! May import: `cache` (the seam it implements), `wire`, `connect` and the leaves.

pub mod deadline;
pub(crate) mod framing;
pub mod kube_source;
pub(crate) mod request_errors;
pub(crate) mod resolve;
