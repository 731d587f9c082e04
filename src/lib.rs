//! kreflect: a hand-written Kubernetes reflector.
pub mod backoff;
pub mod decode;
pub mod object;
pub mod reflector;
pub mod source;
pub mod store;
