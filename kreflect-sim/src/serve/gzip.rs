//! Response compression as the real kube-apiserver does it (`responsewriters.SerializeObject`;
//! transcripts 22 and 23): a client whose `Accept-Encoding` names `gzip` gets a response body
//! larger than 128 KiB gzipped at level 1, with `Content-Encoding: gzip`, `Vary:
//! Accept-Encoding` and chunked transfer; smaller bodies go as they are. Watch streams are never
//! compressed (the real server writes them through its own per-event writer). Also the bodies of
//! [`Fault::ListCorruptGzip`](crate::Fault::ListCorruptGzip): labelled gzip, but broken.

use std::io::{self, Write};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::Response;
use http::header::{CONTENT_ENCODING, HeaderValue, VARY};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use super::faults::GzipCorruption;
use crate::body::Body;
use crate::wire::negotiate::Encoding;
use crate::wire::status::{json_response, set_content_type, with_api_headers};

/// The real server's `defaultGzipThresholdBytes`: only bodies larger than this are compressed.
pub(crate) const THRESHOLD_BYTES: usize = 128 * 1024;
/// The real server's `defaultGzipContentEncodingLevel`: 1, the least CPU for nearly the same
/// ratio (kubernetes#112296).
const LEVEL: u32 = 1;
/// What [`GzipCorruption::NotGzip`] sends, repeated: neither gzip nor JSON.
const NOT_GZIP: &[u8] = b"\x00\xffnot a gzip stream\x00\xfe";
/// A compressed body is sent in chunks of this size, so a client decodes it incrementally as
/// it does from the real server.
const CHUNK_BYTES: usize = 16 * 1024;

/// Whether the real server compresses for this `Accept-Encoding` value: one of its
/// comma-separated members, trimmed, is exactly `gzip` (`negotiateContentEncoding`). The real
/// server reads no parameters and no wildcard: `gzip;q=0` and `identity` get no gzip, and so do
/// `gzip;q=1`, `GZIP` and `*`, which HTTP would allow it to compress.
pub(crate) fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding
        .split(',')
        .any(|coding| coding.trim() == "gzip")
}

/// A complete response in `encoding` (JSON or protobuf alike, as the real server): gzipped
/// when the client `accepts_gzip` and `body` is larger than the threshold, as it is otherwise.
pub(crate) fn respond(
    code: u16,
    body: Bytes,
    accepts_gzip: bool,
    encoding: Encoding,
) -> Response<Body> {
    let mut response = if !accepts_gzip || body.len() <= THRESHOLD_BYTES {
        json_response(code, body)
    } else {
        match compress(&body) {
            Ok(compressed) => gzip_response(code, compressed),
            Err(error) => {
                tracing::error!(%error, "gzip failed; sending the body uncompressed");
                json_response(code, body)
            }
        }
    };
    set_content_type(&mut response, encoding);
    response
}

/// A 200 response labelled `Content-Encoding: gzip` whose body is not a valid gzip stream of
/// `body`, broken as `corruption` says.
pub(crate) fn corrupted(body: &[u8], corruption: GzipCorruption) -> Response<Body> {
    let broken = match corruption {
        GzipCorruption::NotGzip => Ok(Bytes::from(NOT_GZIP.repeat(1024))),
        GzipCorruption::Truncated => compress(body).map(|full| full.slice(..full.len() / 2)),
        GzipCorruption::BadChecksum => compress(body).map(|full| {
            // The trailer is CRC-32 then length (RFC 1952); invert the CRC.
            let mut bad = full.to_vec();
            let crc = bad.len().saturating_sub(8);
            for byte in bad.iter_mut().skip(crc).take(4) {
                *byte = !*byte;
            }
            Bytes::from(bad)
        }),
    }
    .unwrap_or_else(|error| {
        tracing::error!(%error, "gzip failed; sending garbage instead");
        Bytes::from_static(NOT_GZIP)
    });
    gzip_response(200, broken)
}

/// `body` gzipped at the real server's level.
fn compress(body: &[u8]) -> io::Result<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::new(LEVEL));
    encoder.write_all(body)?;
    encoder.finish().map(Bytes::from)
}

/// A chunked response carrying `compressed` with the real server's gzip headers.
fn gzip_response(code: u16, compressed: Bytes) -> Response<Body> {
    let frames: Vec<Result<Frame<Bytes>, io::Error>> = (0..compressed.len())
        .step_by(CHUNK_BYTES)
        .map(|start| {
            let end = (start + CHUNK_BYTES).min(compressed.len());
            Ok(Frame::data(compressed.slice(start..end)))
        })
        .collect();
    // A stream has no exact size, so hyper sends it chunked, as the real server does.
    let body = StreamBody::new(futures::stream::iter(frames)).boxed_unsync();
    let mut response = with_api_headers(code, body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    #[test]
    fn gzip_is_negotiated_as_the_real_server_does() {
        for yes in [
            "gzip",
            "gzip, deflate, br",
            "br,gzip",
            " gzip ",
            "deflate,\tgzip",
        ] {
            assert!(accepts_gzip(yes), "{yes:?}");
        }
        for no in [
            "", "identity", "deflate", "gzip;q=0", "gzip;q=1", "GZIP", "*", "x-gzip", "gzipx",
        ] {
            assert!(!accepts_gzip(no), "{no:?}");
        }
    }

    async fn collect(response: Response<Body>) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec()
    }

    fn gunzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).map(|_| out)
    }

    #[tokio::test]
    async fn only_bodies_above_the_threshold_are_compressed_and_only_when_asked() {
        let at = Bytes::from(vec![b'x'; THRESHOLD_BYTES]);
        let above = Bytes::from(vec![b'x'; THRESHOLD_BYTES + 1]);
        let plain = respond(200, at.clone(), true, Encoding::Json);
        assert_eq!(plain.headers().get(CONTENT_ENCODING), None);
        assert_eq!(plain.headers().get(VARY), None);
        assert_eq!(collect(plain).await, at);
        let unasked = respond(200, above.clone(), false, Encoding::Json);
        assert_eq!(unasked.headers().get(CONTENT_ENCODING), None);
        assert_eq!(collect(unasked).await, above);

        let gzipped = respond(200, above.clone(), true, Encoding::Json);
        assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(gzipped.headers()[VARY], "Accept-Encoding");
        assert_eq!(gzipped.headers()["content-type"], "application/json");
        let wire = collect(gzipped).await;
        assert!(wire.len() < above.len() / 100, "{} bytes", wire.len());
        assert_eq!(gunzip(&wire).expect("valid gzip"), above);
    }

    #[tokio::test]
    async fn each_corruption_fails_to_decode_and_says_it_is_gzip() {
        let page = Bytes::from(vec![b'y'; 4 * THRESHOLD_BYTES]);
        for corruption in [
            GzipCorruption::NotGzip,
            GzipCorruption::Truncated,
            GzipCorruption::BadChecksum,
        ] {
            let response = corrupted(&page, corruption);
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
            let wire = collect(response).await;
            assert!(gunzip(&wire).is_err(), "{corruption:?} decoded");
        }
    }
}
