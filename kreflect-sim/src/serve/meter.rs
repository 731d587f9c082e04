//! A response body that adds the bytes it yields to a shared counter
//! ([`FakeApiServer::body_bytes_sent`](crate::FakeApiServer::body_bytes_sent)).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};

use crate::body::Body;

/// `inner`, counting its data into `counter`; its size hint is `inner`'s, so complete
/// responses keep their `Content-Length` (`http_body_util`'s `map_frame` would drop it).
struct Metered {
    inner: Body,
    counter: Arc<AtomicU64>,
}

/// `body`, adding every data frame's length to `counter` as it is sent.
pub(crate) fn metered(body: Body, counter: Arc<AtomicU64>) -> Body {
    Metered {
        inner: body,
        counter,
    }
    .boxed_unsync()
}

impl hyper::body::Body for Metered {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
