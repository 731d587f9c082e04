//! Why a request got no answer, classified by type where kube's and hyper's errors enter:
//! an exec plugin without a token, an untrusted certificate, a gzip body that does not
//! decompress, or a transport failure said in a few words.

use std::io;

use crate::cache::list_watch::SourceError;
use crate::connect::endpoint::Endpoint;
use crate::connect::exec_credential::ExecError;
use crate::connect::transport::inflation::Inflated;
use crate::error_chain::{causes, flatten};
use crate::wire::decode::DecodeError;

/// request was never sent), an untrusted certificate (rustls's `InvalidCertificate`, found by
/// type along the chain), or a transport failure.
pub(crate) fn request_failed(endpoint: &Endpoint, err: &kube::Error) -> SourceError {
    use tokio_rustls::rustls::Error as TlsError;
    if let Some(plugin_failed) = causes(err).find_map(|err| err.downcast_ref::<ExecError>()) {
        return SourceError::Credential(plugin_failed.to_string());
    }
    let untrusted = causes(err).find(|cause| {
        matches!(
            cause.downcast_ref::<TlsError>(),
            Some(TlsError::InvalidCertificate(_))
        )
    });
    let endpoint = endpoint.clone();
    match untrusted {
        Some(certificate) => SourceError::Untrusted {
            endpoint,
            reason: flatten(certificate),
        },
        None => SourceError::Transport {
            endpoint,
            reason: unanswered(err),
        },
    }
}

/// Why reading a response body failed. The connection's own failures are `hyper::Error`s;
/// an [`Inflated`] body is a gzip bomb; any other error comes from the decompression layer
/// (tower-http reports its decoder's `io::Error`, or a message for bytes after the gzip stream):
/// the server answered, but its gzip body does not decompress.
pub(crate) fn body_failed(endpoint: &Endpoint, err: &kube::Error) -> SourceError {
    match err {
        kube::Error::Service(inner) if inner.is::<Inflated>() => {
            SourceError::Decode(DecodeError::Inflated(inner.to_string()))
        }
        kube::Error::Service(inner) if !inner.is::<hyper::Error>() => {
            SourceError::Decode(DecodeError::Gzip(inner.to_string()))
        }
        _ => SourceError::Transport {
            endpoint: endpoint.clone(),
            reason: unanswered(err),
        },
    }
}

/// Why there was no answer, for people: the socket error's kind when the chain holds one that
/// says it all (`connection refused`), else the whole chain.
pub(crate) fn unanswered(err: &(dyn std::error::Error + 'static)) -> String {
    let kind = std::iter::successors(Some(err), |err| err.source())
        .find_map(|err| err.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    let reason = match kind {
        Some(io::ErrorKind::ConnectionRefused) => "connection refused",
        Some(io::ErrorKind::ConnectionReset) => "connection reset",
        Some(io::ErrorKind::ConnectionAborted) => "connection aborted",
        Some(io::ErrorKind::TimedOut) => "connection timed out",
        Some(io::ErrorKind::HostUnreachable) => "host unreachable",
        Some(io::ErrorKind::NetworkUnreachable) => "network unreachable",
        _ => return transport_error(err),
    };
    reason.to_owned()
}

/// An error chain without kube's `ServiceError:` wrapper (a [`kube::Error::Service`] is told
/// by its inner error).
pub(crate) fn transport_error(err: &(dyn std::error::Error + 'static)) -> String {
    match err.downcast_ref::<kube::Error>() {
        Some(kube::Error::Service(inner)) => flatten(inner.as_ref()),
        _ => flatten(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_error_in_the_chain_says_what_happened_in_a_few_words() {
        let said = [
            (io::ErrorKind::ConnectionRefused, "connection refused"),
            (io::ErrorKind::ConnectionReset, "connection reset"),
            (io::ErrorKind::ConnectionAborted, "connection aborted"),
            (io::ErrorKind::TimedOut, "connection timed out"),
            (io::ErrorKind::HostUnreachable, "host unreachable"),
            (io::ErrorKind::NetworkUnreachable, "network unreachable"),
        ];
        for (kind, words) in said {
            // As hyper's connector reports it: the OS's words, inside kube's service error.
            let err = kube::Error::Service(Box::new(io::Error::new(kind, "os error 111")));
            assert_eq!(unanswered(&err), words, "{kind:?}");
        }
        // Another kind says the whole chain, without kube's wrapper.
        let other = kube::Error::Service(Box::new(io::Error::other("tls: bad record")));
        assert_eq!(unanswered(&other), "tls: bad record");
    }

    #[test]
    fn an_invalid_certificate_is_untrusted_found_by_type() {
        use tokio_rustls::rustls::{CertificateError, Error as TlsError};
        // As the TLS handshake fails: rustls's error in tokio-rustls's io::Error, whose
        // `source()` skips it.
        let tls = TlsError::InvalidCertificate(CertificateError::UnknownIssuer);
        let err = kube::Error::Service(Box::new(io::Error::new(io::ErrorKind::InvalidData, tls)));
        let failed = request_failed(&Endpoint::default(), &err);
        assert!(
            matches!(&failed, SourceError::Untrusted { reason, .. }
                if reason == "invalid peer certificate: UnknownIssuer"),
            "{failed:?}"
        );
    }

    #[test]
    fn a_transport_error_that_only_mentions_a_certificate_is_not_untrusted() {
        let said = "proxy: upstream said invalid peer certificate: UnknownIssuer";
        let err = kube::Error::Service(Box::new(io::Error::other(said)));
        let failed = request_failed(&Endpoint::default(), &err);
        assert!(
            matches!(&failed, SourceError::Transport { reason, .. } if reason == said),
            "{failed:?}"
        );
    }
}
