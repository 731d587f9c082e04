//! What the server's bytes mean, with no I/O: the cached object and the wire formats.
//!
//! - [`object`]: the cached form of an object ([`object::RawObject`]) and its key.
//! - [`decode`]: list bodies, watch lines, `Status` errors, server-side Tables (`-o wide`).
//! - [`protobuf`]: Kubernetes protobuf envelopes, lists and watch frames, read without a schema.
//!
//! May import: the leaves (`quote`). Not `connect`: decoding needs no connection.

pub mod decode;
pub mod lines;
pub mod object;
pub mod protobuf;
#[cfg(test)]
pub(crate) mod test_support;
