//! What a failed request means: the one place that turns a server's answer (or the lack of one)
//! into a [`FailureClass`]. Discovery, list, watch and the streaming list all decide from it, so
//! a status can no longer mean "fatal" in one place and "retry for ever" in another.
//!
//! | answer | class | what callers do |
//! |---|---|---|
//! | 410, or reason `Expired` / `Gone` | [`FailureClass::Expired`] | relist (a continue token: list again without pages) |
//! | 401 | [`FailureClass::Unauthenticated`] | stop, exit 1: log in again or refresh the token |
//! | 403 | [`FailureClass::Forbidden`] | stop, exit 1: RBAC advice |
//! | 400, 405, 406, 415, 422, other 4xx | [`FailureClass::Invalid`] | stop, exit 2 with the server's message (the streaming-list probe falls back instead) |
//! | 404 | [`FailureClass::NotFound`] | before the first sync: stop, exit 2; after it: retry with a warning |
//! | 408, 425, 429, 5xx, no answer, an undecodable answer | [`FailureClass::Transient`] | back off (honouring `Retry-After`) and retry |
//! | an untrusted TLS certificate | [`FailureClass::Untrusted`] | stop, exit 1 |

use crate::decode::ApiStatus;
use crate::source::SourceError;

/// The meaning of a failed request, for deciding what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// The resourceVersion or continue token is too old: the history is gone, relist.
    Expired,
    /// The server did not accept the credentials (401).
    Unauthenticated,
    /// The credentials are not allowed to do this (403).
    Forbidden,
    /// The request itself is wrong (a bad selector, an unsupported media type): retrying the same
    /// request cannot help.
    Invalid,
    /// The server does not serve this path (404), e.g. a custom resource that is not installed.
    NotFound,
    /// The server was unreachable, overloaded or failing: retrying later may help.
    Transient,
    /// The server's TLS certificate is not trusted: retrying cannot help.
    Untrusted,
}

impl FailureClass {
    /// Classifies a `Status` answer.
    pub fn of_status(status: &ApiStatus) -> FailureClass {
        if status.is_expired() {
            return FailureClass::Expired;
        }
        match status.code {
            401 => FailureClass::Unauthenticated,
            403 => FailureClass::Forbidden,
            404 => FailureClass::NotFound,
            408 | 425 | 429 => FailureClass::Transient,
            400..=499 => FailureClass::Invalid,
            // 5xx, and a watch ERROR event whose Status carries no code.
            _ => FailureClass::Transient,
        }
    }

    /// Classifies a failed request.
    pub fn of(error: &SourceError) -> FailureClass {
        match error {
            SourceError::Status { status, .. } => FailureClass::of_status(status),
            SourceError::Untrusted(_) => FailureClass::Untrusted,
            // No answer, or an answer that is not what the API promises (a proxy's error page
            // cut short, say): another attempt may get a real one.
            SourceError::Transport(_) | SourceError::Decode(_) => FailureClass::Transient,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str) -> ApiStatus {
        ApiStatus {
            code,
            reason: reason.to_owned(),
            message: String::new(),
        }
    }

    #[test]
    fn expiry_is_told_by_code_or_by_reason() {
        assert_eq!(
            FailureClass::of_status(&status(410, "")),
            FailureClass::Expired
        );
        assert_eq!(
            FailureClass::of_status(&status(500, "Expired")),
            FailureClass::Expired
        );
        assert_eq!(
            FailureClass::of_status(&status(0, "Gone")),
            FailureClass::Expired
        );
    }

    #[test]
    fn each_status_code_has_one_meaning() {
        let cases = [
            (400, FailureClass::Invalid),
            (401, FailureClass::Unauthenticated),
            (403, FailureClass::Forbidden),
            (404, FailureClass::NotFound),
            (405, FailureClass::Invalid),
            (406, FailureClass::Invalid),
            (408, FailureClass::Transient),
            (415, FailureClass::Invalid),
            (422, FailureClass::Invalid),
            (429, FailureClass::Transient),
            (500, FailureClass::Transient),
            (503, FailureClass::Transient),
            (504, FailureClass::Transient),
            (0, FailureClass::Transient),
        ];
        for (code, class) in cases {
            assert_eq!(
                FailureClass::of_status(&status(code, "")),
                class,
                "code {code}"
            );
        }
    }

    #[test]
    fn no_answer_is_transient_and_an_untrusted_certificate_is_not() {
        assert_eq!(
            FailureClass::of(&SourceError::Transport("connection refused".into())),
            FailureClass::Transient
        );
        assert_eq!(
            FailureClass::of(&SourceError::Untrusted("UnknownIssuer".into())),
            FailureClass::Untrusted
        );
        let bad_body = SourceError::Decode(crate::decode::DecodeError::Malformed("x".into()));
        assert_eq!(FailureClass::of(&bad_body), FailureClass::Transient);
    }
}
