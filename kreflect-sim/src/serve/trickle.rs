//! A response body sent slowly ([`Fault::ListTrickle`](super::faults::Fault::ListTrickle)): a
//! server, proxy or link that delivers an answer at a few bytes a second.

use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use crate::body::Body;

/// How many pieces a second a trickled body is cut into, at most: a fast trickle is sent in
/// pieces every 10 ms, a slow one a byte at a time.
const PIECES_PER_SECOND: u32 = 100;

/// What is left to trickle: the body being read, and the part of its last frame not sent yet.
struct Trickle {
    inner: Body,
    pending: Bytes,
    started: bool,
}

/// `body`, sent at `bytes_per_second` (at least 1): the first piece at once, then one piece per
/// pause. Trailers and errors of `body` pass through.
pub(crate) fn trickled(body: Body, bytes_per_second: u32) -> Body {
    let rate = bytes_per_second.max(1);
    let piece = (rate / PIECES_PER_SECOND).max(1);
    let pause = Duration::from_secs_f64(f64::from(piece) / f64::from(rate));
    let state = Trickle {
        inner: body,
        pending: Bytes::new(),
        started: false,
    };
    let frames = stream::unfold(state, move |mut state| async move {
        while state.pending.is_empty() {
            match state.inner.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => state.pending = data,
                    Err(frame) => return Some((Ok(frame), state)),
                },
                Err(error) => return Some((Err(error), state)),
            }
        }
        if state.started {
            tokio::time::sleep(pause).await;
        }
        state.started = true;
        let size = state.pending.len().min(piece as usize);
        let data = state.pending.split_to(size);
        Some((Ok(Frame::data(data)), state))
    });
    StreamBody::new(frames).boxed_unsync()
}
