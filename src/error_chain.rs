//! Foreign errors (kube, hyper, rustls, io, kubeconfig parsing) where they enter our error
//! types: [`causes`] walks one to classify it by type, [`flatten`] turns it into the text our
//! messages carry. Our own errors need neither: their `Display` is the whole message and they
//! expose no source (the crate docs, "Errors").

use std::error::Error;
use std::io;

/// An error and its causes, outermost first: its `source()` chain, except that an `io::Error`
/// wrapping another error (as tokio-rustls wraps rustls's) is followed by the wrapped error,
/// which `io::Error::source` skips. For classifying a foreign error by type (`downcast_ref`).
pub fn causes<'a>(
    err: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&err: &&'a (dyn Error + 'static)| {
        match err.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(wrapped) => Some(wrapped as &(dyn Error + 'static)),
            None => err.source(),
        }
    })
}

/// A foreign error flattened into one line: its messages joined with `: `, without repeating
/// a message a cause repeats (those crates often print a cause in their message *and* return
/// it from `source()`; the text comparison only avoids printing it twice, it classifies
/// nothing).
pub fn flatten(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    for cause in causes(err).skip(1) {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A foreign error in the common shape: its message quotes its cause, which it also
    /// returns from `source()`.
    #[derive(Debug, thiserror::Error)]
    #[error("request failed: {0}")]
    struct Quoting(#[source] io::Error);

    /// A foreign error that does not quote its cause.
    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Terse(#[source] io::Error);

    #[test]
    fn flatten_joins_causes_once() {
        let refused = || io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(flatten(&refused()), "refused");
        assert_eq!(flatten(&Quoting(refused())), "request failed: refused");
        assert_eq!(flatten(&Terse(refused())), "request failed: refused");
    }

    #[test]
    fn causes_follow_an_io_error_into_the_error_it_wraps() {
        let wrapped = Terse(io::Error::other("handshake"));
        let outer = io::Error::new(io::ErrorKind::InvalidData, wrapped);
        assert!(causes(&outer).any(|cause| cause.is::<Terse>()));
        assert_eq!(flatten(&outer), "request failed: handshake");
    }
}
