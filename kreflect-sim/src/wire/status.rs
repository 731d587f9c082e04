//! `metav1.Status` failure bodies and the JSON responses that carry them.
//!
//! Field order follows the real kube-apiserver (`kind`, `apiVersion`, `metadata`, `status`,
//! `message`, `reason`, `details`, `code`) so bodies compare byte-for-byte with the transcripts.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::Serialize;

use super::negotiate::{Encoding, PROTOBUF};
use super::protobuf;
use crate::body::Body;

/// The message of a 410 on a list page whose continue token's snapshot is gone (transcript 14).
pub(crate) const EXPIRED_CONTINUE_MESSAGE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// A failure to answer with, as apimachinery's `StatusError` is one: a `metav1.Status` (always
/// `status: Failure`), the body of every error response and the object of a watch ERROR event.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusError {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: StatusMetadata,
    status: &'static str,
    message: String,
    /// Left out when empty, as the real server leaves out a Status's empty `reason` (a watch
    /// from a resourceVersion that is not an integer: 500 without one).
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    code: u16,
}

#[derive(Debug, Clone, Default, Serialize)]
struct StatusMetadata {
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_token: Option<String>,
}

/// `StatusDetails`, fields in the order the real server writes them.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// One `StatusCause`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cause {
    pub reason: &'static str,
    pub message: String,
    /// Left out when empty, as in the real server's causes that name no field.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub field: &'static str,
}

impl StatusError {
    /// A failure with `code`, `reason` and `message`, without details.
    pub(crate) fn new(code: u16, reason: &str, message: impl Into<String>) -> StatusError {
        StatusError {
            kind: "Status",
            api_version: "v1",
            metadata: StatusMetadata::default(),
            status: "Failure",
            message: message.into(),
            reason: reason.to_owned(),
            details: None,
            code,
        }
    }

    /// Adds `details`.
    pub(crate) fn with_details(mut self, details: Details) -> StatusError {
        self.details = Some(details);
        self
    }

    /// Sets `metadata.continue`.
    pub(crate) fn with_continue(mut self, token: String) -> StatusError {
        self.metadata.continue_token = Some(token);
        self
    }

    /// 401 as the real authenticator writes it.
    pub(crate) fn unauthorized() -> StatusError {
        StatusError::new(401, "Unauthorized", "Unauthorized")
    }

    /// 404 for a path the server does not serve (transcript 06).
    pub(crate) fn not_found() -> StatusError {
        StatusError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(Details::default())
    }

    /// 405 for a method other than GET on a served path.
    pub(crate) fn method_not_allowed() -> StatusError {
        StatusError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(Details::default())
    }

    /// 400 BadRequest.
    pub(crate) fn bad_request(message: impl Into<String>) -> StatusError {
        StatusError::new(400, "BadRequest", message)
    }

    /// 403 for `verb` on pods at the cluster scope (transcript 05), as user `sim`.
    pub(crate) fn forbidden_cluster_scope(verb: &str, plural: &str) -> StatusError {
        StatusError::forbidden(verb, plural, None)
    }

    /// 403 Forbidden for `verb` on `plural` in `namespace` (or at the cluster scope), worded
    /// as RBAC words it.
    pub(crate) fn forbidden(verb: &str, plural: &str, namespace: Option<&str>) -> StatusError {
        let scope = match namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_owned(),
        };
        let message = format!(
            "{plural} is forbidden: User \"sim\" cannot {verb} resource \"{plural}\" in API group \"\" {scope}"
        );
        StatusError::new(403, "Forbidden", message).with_details(Details {
            kind: Some(plural.to_owned()),
            ..Details::default()
        })
    }

    /// 403 Forbidden for a user who may not impersonate `user` (transcript 31), as the
    /// impersonation filter answers before the request is looked at.
    pub(crate) fn impersonation_refused(user: &str) -> StatusError {
        let message = format!(
            "users \"{user}\" is forbidden: User \"sim\" cannot impersonate resource \"users\" \
             in API group \"\" at the cluster scope"
        );
        StatusError::new(403, "Forbidden", message).with_details(Details {
            name: Some(user.to_owned()),
            kind: Some("users".to_owned()),
            ..Details::default()
        })
    }

    /// 410 Expired "too old resource version" (transcript 04).
    pub(crate) fn too_old(requested: u64, oldest: u64) -> StatusError {
        StatusError::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// A list from a resourceVersion the watch cache has not reached, as v1.26 answers it after
    /// waiting 3 s for its cache to catch up: 504 with `Retry-After: 1`.
    pub(crate) fn resource_version_too_large(requested: u64, current: u64) -> StatusError {
        StatusError::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
        )
        .with_details(Details {
            causes: vec![Cause {
                reason: "ResourceVersionTooLarge",
                message: "Too large resource version".to_owned(),
                field: "",
            }],
            retry_after_seconds: Some(1),
            ..Details::default()
        })
    }

    /// A fault-injected failure: `code`/`reason` with a message the real server would use.
    pub(crate) fn injected(code: u16, reason: &str, retry_after: Option<u64>) -> StatusError {
        let message = match reason {
            "TooManyRequests" => "Too many requests, please try again later.",
            "ServiceUnavailable" => "the server is currently unable to handle the request",
            "InternalError" => "Internal error occurred: injected by the fake API server",
            "Timeout" => "the server was unable to return a response in the time allotted",
            _ => "injected by the fake API server",
        };
        let status = StatusError::new(code, reason, message);
        match retry_after {
            Some(seconds) => status.with_details(Details {
                retry_after_seconds: Some(seconds),
                ..Details::default()
            }),
            None => status,
        }
    }

    /// The compact JSON text.
    pub(crate) fn to_bytes(&self) -> Bytes {
        json_bytes(self)
    }

    /// [`StatusError::into_response`] in `encoding`: a protobuf `Status` (in its `k8s\0`
    /// envelope) when protobuf was negotiated, as the real server writes errors.
    pub(crate) fn into_response_as(self, encoding: Encoding) -> Response<Body> {
        let encoded = match encoding {
            Encoding::Json => None,
            Encoding::Protobuf => protobuf::status_body(&self.to_bytes()),
        };
        let mut response = self.into_response();
        if let Some(body) = encoded {
            *response.body_mut() = Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync();
            set_content_type(&mut response, encoding);
        }
        response
    }

    /// A response with this Status as the body and its code as the HTTP status.
    pub(crate) fn into_response(self) -> Response<Body> {
        let retry_after = self.details.as_ref().and_then(|d| d.retry_after_seconds);
        let mut response = json_response(self.code, self.to_bytes());
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.code == 403 {
            response.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
        }
        response
    }
}

/// Labels `response` with `encoding`'s media type (every response starts as JSON).
pub(crate) fn set_content_type(response: &mut Response<Body>, encoding: Encoding) {
    if encoding == Encoding::Protobuf {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
    }
}

/// Serializes `value` compactly. Types here cannot fail to serialize; if one ever did, the
/// error is logged and `{}` is sent rather than tearing down the connection.
pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Bytes {
    match serde_json::to_vec(value) {
        Ok(bytes) => Bytes::from(bytes),
        Err(error) => {
            tracing::error!(%error, "serializing a response body");
            Bytes::from_static(b"{}")
        }
    }
}

/// A complete (Content-Length) JSON response with the real server's headers.
pub(crate) fn json_response(code: u16, body: Bytes) -> Response<Body> {
    let body = Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync();
    with_api_headers(code, body)
}

/// Wraps `body` with `code` and the headers every API response carries.
pub(crate) fn with_api_headers(code: u16, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_transcripts() {
        assert_eq!(
            StatusError::unauthorized().to_bytes(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
        assert_eq!(
            StatusError::not_found().to_bytes(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#
        );
        assert_eq!(
            StatusError::forbidden_cluster_scope("list", "pods").to_bytes(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"sim\" cannot list resource \"pods\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
        );
        assert_eq!(
            StatusError::too_old(1, 31542).to_bytes(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (31542)","reason":"Expired","code":410}"#
        );
    }
}
