//! What the server remembers about each request, and query-string decoding.

use http::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION};

use super::gzip;

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path without the query, e.g. `/api/v1/namespaces/shop/pods`.
    pub path: String,
    /// Query parameters in order, percent-decoded (`+` as space).
    pub query: Vec<(String, String)>,
    /// The query exactly as sent, without the `?` (empty when there is none).
    pub raw_query: String,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `Accept-Encoding` header (the first, if several were sent, as the real server reads).
    pub accept_encoding: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Impersonate-User` header.
    pub impersonate_user: Option<String>,
    /// Every `Impersonate-Group` header, in order.
    pub impersonate_groups: Vec<String>,
    /// The `Impersonate-Uid` header.
    pub impersonate_uid: Option<String>,
}

impl RecordedRequest {
    /// Records the request line and headers of `request`.
    pub(crate) fn from_request<B>(request: &http::Request<B>) -> RecordedRequest {
        let header = |name| {
            request
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        RecordedRequest {
            method: request.method().as_str().to_owned(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(parse_query).unwrap_or_default(),
            raw_query: request.uri().query().unwrap_or_default().to_owned(),
            accept: header(ACCEPT),
            accept_encoding: header(ACCEPT_ENCODING),
            authorization: header(AUTHORIZATION),
            user_agent: header(http::header::USER_AGENT),
            impersonate_user: header(http::HeaderName::from_static("impersonate-user")),
            impersonate_groups: request
                .headers()
                .get_all("impersonate-group")
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect(),
            impersonate_uid: header(http::HeaderName::from_static("impersonate-uid")),
        }
    }

    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the client asked for `PartialObjectMetadata` (`Accept: …;as=PartialObjectMetadata`
    /// or `as=PartialObjectMetadataList`).
    pub fn wants_metadata_only(&self) -> bool {
        self.accept
            .as_deref()
            .is_some_and(|accept| accept.contains("as=PartialObjectMetadata"))
    }

    /// Whether the client asked for a server-side Table (`Accept: …;as=Table;…;g=meta.k8s.io`).
    pub fn wants_table(&self) -> bool {
        self.accept
            .as_deref()
            .is_some_and(crate::wire::table::wants_table)
    }

    /// Whether the client asked for gzip in a way the real server honours: `Accept-Encoding`
    /// lists the bare coding `gzip` (see the crate doc for what else it ignores).
    pub fn asks_for_gzip(&self) -> bool {
        self.accept_encoding
            .as_deref()
            .is_some_and(gzip::accepts_gzip)
    }

    /// Whether this is a watch (`watch=1` or `watch=true`).
    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch"), Some("1" | "true"))
    }

    /// Whether this is a streaming list: a watch with `sendInitialEvents=true`.
    pub fn is_streaming_list(&self) -> bool {
        self.is_watch() && matches!(self.param("sendInitialEvents"), Some("1" | "true"))
    }

    /// Whether this is a watch that is not a streaming list.
    pub fn is_plain_watch(&self) -> bool {
        self.is_watch() && !self.is_streaming_list()
    }
}

/// Splits and percent-decodes a query string.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// Percent-decodes `text` (`+` is a space); invalid escapes are kept literally.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_split_and_decoded() {
        assert_eq!(
            parse_query("watch=1&fieldSelector=metadata.name%3Dx+y&continue=ab%3D%3D&flag&bad=%zz"),
            vec![
                ("watch".to_owned(), "1".to_owned()),
                ("fieldSelector".to_owned(), "metadata.name=x y".to_owned()),
                ("continue".to_owned(), "ab==".to_owned()),
                ("flag".to_owned(), String::new()),
                ("bad".to_owned(), "%zz".to_owned()),
            ]
        );
    }
}
