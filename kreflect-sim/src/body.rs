//! The type of every response body, shared by everything that builds a response. A leaf: it
//! imports nothing from this crate.

use std::io;

use bytes::Bytes;

/// Every response body: complete or streamed; an `Err` frame aborts the connection.
pub(crate) type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, io::Error>;
