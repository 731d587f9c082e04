//! A bound on how far a compressed response body may inflate: a defence against gzip bombs.
//!
//! Gzip turns a few megabytes into gigabytes (deflate reaches 1032:1 on a run of one byte), and
//! a list body is read whole before it is decoded: without a bound, a hostile server or proxy
//! could make kreflect allocate a thousand times what it sent. The real API server compresses at
//! level 1, and pod lists shrink 25 to 75 times (transcripts 22 and 23). So a decompressed body
//! may grow past [`FLOOR_BYTES`] only while it stays within [`MAX_RATIO`] times the bytes that
//! came over the wire; beyond that, reading it fails with [`Inflated`]. A hostile server can
//! still make a body [`MAX_RATIO`] times larger than what it sends (as it can make it as large
//! as it likes by sending it); what it cannot do any more is a thousandfold.
//!
//! [`count_wire`] sits below the decompression layer and counts the bytes received;
//! [`guard`] sits above it and compares the decompressed bytes with that count. An uncompressed
//! body is its own wire count, so it is never refused.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A decompressed body this small is accepted whatever its ratio (a page of 500 pods is about
/// 2 MB of JSON).
pub const FLOOR_BYTES: u64 = 64 * 1024 * 1024;

/// Past [`FLOOR_BYTES`], a decompressed body may be at most this many times its wire bytes:
/// 1.75 times the highest ratio measured on a real server (73, a page of 500 pods), and below
/// the 159 of the simplest bomb (one fixed-Huffman block of 258-byte matches).
pub const MAX_RATIO: u64 = 128;

/// The wire byte count of a response, shared between its two layers through the response's
/// extensions; also what a reader above them paces a body by (the link's bytes, not what gzip
/// inflates them to).
#[derive(Clone, Debug, Default)]
pub struct WireBytes(Arc<AtomicU64>);

impl WireBytes {
    /// The count of `response`'s body, when [`count_wire`] counted it.
    pub fn of<B>(response: &Response<B>) -> Option<WireBytes> {
        response.extensions().get::<WireBytes>().cloned()
    }

    /// The body bytes received so far, as they came over the wire.
    pub fn received(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a decompressed body was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "inflated to over {} MiB from {} KiB sent, more than {MAX_RATIO} times; refused as a gzip \
     bomb",
    .decoded / (1024 * 1024),
    .wire / 1024
)]
pub struct Inflated {
    /// Decompressed bytes read so far.
    pub decoded: u64,
    /// Bytes received for them.
    pub wire: u64,
}

/// Counts the bytes of `response`'s body as they arrive, for [`guard`] above the
/// decompression layer.
pub fn count_wire<B>(response: Response<B>) -> Response<impl Body<Data = Bytes, Error = B::Error>>
where
    B: Body<Data = Bytes>,
{
    let wire = WireBytes::default();
    let counter = Arc::clone(&wire.0);
    let (mut parts, body) = response.into_parts();
    parts.extensions.insert(wire);
    let body = body.map_frame(move |frame: Frame<Bytes>| {
        if let Some(data) = frame.data_ref() {
            counter.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        frame
    });
    Response::from_parts(parts, body)
}

/// Fails `response`'s (decompressed) body with [`Inflated`] once it outgrows what
/// [`count_wire`] counted below the decompression layer by more than [`MAX_RATIO`], past
/// [`FLOOR_BYTES`].
pub fn guard<B>(response: Response<B>) -> Response<Guarded<B>>
where
    B: Body<Data = Bytes>,
{
    let wire = WireBytes::of(&response);
    response.map(|inner| Guarded {
        inner: Box::pin(inner),
        wire,
        decoded: 0,
    })
}

/// A response body that fails with [`Inflated`] when it inflates too far (see [`guard`]).
pub struct Guarded<B> {
    inner: Pin<Box<B>>,
    /// `None` when nothing counted the wire bytes: the body is passed through.
    wire: Option<WireBytes>,
    decoded: u64,
}

impl<B> Body for Guarded<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let frame = match ready!(self.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(err)) => return Poll::Ready(Some(Err(err.into()))),
            None => return Poll::Ready(None),
        };
        if let Some(data) = frame.data_ref() {
            self.decoded += data.len() as u64;
        }
        if let Some(wire) = &self.wire {
            let wire = wire.0.load(Ordering::Relaxed);
            let decoded = self.decoded;
            if decoded > FLOOR_BYTES && decoded > wire.saturating_mul(MAX_RATIO) {
                return Poll::Ready(Some(Err(Box::new(Inflated { decoded, wire }))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;

    const MIB: usize = 1024 * 1024;

    /// A body of `count` frames of `frame` (one buffer, shared).
    fn frames(
        frame: &Bytes,
        count: usize,
    ) -> impl Body<Data = Bytes, Error = std::convert::Infallible> + use<> {
        let frames: Vec<Result<_, std::convert::Infallible>> =
            (0..count).map(|_| Ok(Frame::data(frame.clone()))).collect();
        StreamBody::new(futures::stream::iter(frames))
    }

    /// Reads `body` to its end: the bytes read, and the error that ended it, if any.
    async fn read<B: Body<Data = Bytes, Error = BoxError>>(body: B) -> (usize, Option<BoxError>) {
        let mut body = std::pin::pin!(body);
        let mut read = 0;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => read += frame.data_ref().map_or(0, Bytes::len),
                Err(err) => return (read, Some(err)),
            }
        }
        (read, None)
    }

    #[tokio::test]
    async fn an_uncompressed_body_passes_however_large() {
        let mebibyte = Bytes::from(vec![b'x'; MIB]);
        let response = guard(count_wire(Response::new(frames(&mebibyte, 200))));
        let (read, err) = read(response.into_body()).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(read, 200 * MIB);
    }

    #[tokio::test]
    async fn a_body_that_outgrows_its_wire_bytes_past_the_floor_fails() {
        let mebibyte = Bytes::from(vec![b'x'; MIB]);
        // 1 MiB arrives; what reaches the guard is what it inflates to, 200 MiB.
        let (parts, wire) = count_wire(Response::new(frames(&mebibyte, 1))).into_parts();
        let _ = wire.collect().await;
        let inflated = Response::from_parts(parts, frames(&mebibyte, 200));
        let (read, err) = read(guard(inflated).into_body()).await;
        // 128 MiB is 128 times the 1 MiB counted: the next mebibyte is refused.
        assert_eq!(read, 128 * MIB);
        assert_eq!(
            err.map(|err| err.to_string()).as_deref(),
            Some(
                "inflated to over 129 MiB from 1024 KiB sent, more than 128 times; refused as a \
                 gzip bomb"
            )
        );
    }
}
