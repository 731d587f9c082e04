//! What a failed request means: the one place that turns a server's answer (or the lack of one)
//! into a [`FailureClass`]. Discovery, list, watch and the streaming list all decide from it, so
//! a status cannot mean "fatal" in one place and "retry for ever" in another.
//!
//! | answer | class | what callers do |
//! |---|---|---|
//! | 410, or reason `Expired` / `Gone` | [`FailureClass::Expired`] | relist (a continue token: list again without pages) |
//! | 401 | [`FailureClass::Unauthenticated`] | stop, exit 1: log in again or refresh the token |
//! | 403 | [`FailureClass::Forbidden`] | stop, exit 1: RBAC advice, and `-n` only where it can help ([`ForbiddenAdvice`]) |
//! | 400, 405, 406, 415, 422, other 4xx | [`FailureClass::Invalid`] | stop, exit 2 with the server's message (the streaming-list probe falls back instead) |
//! | 404 | [`FailureClass::NotFound`] | before the first sync: stop, exit 2; after it: retry with a warning |
//! | 408, 425, 429, 5xx, no answer, an answer too slow for its deadline, an undecodable answer, an exec plugin that gave no token | [`FailureClass::Transient`] | back off (honouring `Retry-After`) and retry |
//! | an untrusted TLS certificate | [`FailureClass::Untrusted`] | stop, exit 1 |

use std::fmt;

use crate::cache::list_watch::SourceError;
use crate::connect::client::Identity;
use crate::wire::decode::ApiStatus;

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
            SourceError::Untrusted { .. } => FailureClass::Untrusted,
            // No answer, one too slow to wait for (a link that trickles may recover, as one that
            // drops does), or an answer that is not what the API promises (a proxy's error page
            // cut short, say): another attempt may get a real one. A credential plugin that
            // failed to refresh the token may succeed once the person has logged in again (a
            // client-go informer retries it too).
            SourceError::Transport { .. }
            | SourceError::TooSlow { .. }
            | SourceError::Decode(_)
            | SourceError::Credential(_) => FailureClass::Transient,
        }
    }
}

/// What a person can do about a 403 on a list or watch. kreflect watches all namespaces unless
/// given `-n` (as client-go's reflector does), so a user who may only read their own namespace
/// is refused at once: the advice names the namespace of their kubeconfig context. `-n` is
/// suggested only where it can help: never for a cluster-scoped kind, nor when `-n` was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForbiddenAdvice {
    /// Whose credentials were refused.
    pub identity: Identity,
    /// The refused resource's plural name, e.g. `pods`.
    pub plural: String,
    /// Where the run looked.
    pub reach: Reach,
    /// Whether `watch` was refused (then `--once`, which only lists, may be enough).
    pub watch_refused: bool,
}

/// Where a run looks, as far as a 403 is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// A cluster-scoped kind (nodes, namespaces): only a cluster-wide grant helps.
    ClusterScopedKind,
    /// The one namespace given with `-n`.
    Namespace(String),
    /// Every namespace (no `-n`), with the kubeconfig context's namespace, if it names one.
    AllNamespaces {
        /// The namespace of the kubeconfig context used.
        context_namespace: Option<String>,
    },
}

impl Reach {
    /// Where a run looks: a kind `namespaced` or not, in `namespace` (`-n`) or all of them.
    pub fn of(namespaced: bool, namespace: Option<&str>, context_namespace: Option<&str>) -> Reach {
        match (namespaced, namespace) {
            (false, _) => Reach::ClusterScopedKind,
            (true, Some(namespace)) => Reach::Namespace(namespace.to_owned()),
            (true, None) => Reach::AllNamespaces {
                context_namespace: context_namespace.map(str::to_owned),
            },
        }
    }
}

impl fmt::Display for ForbiddenAdvice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ForbiddenAdvice {
            identity, plural, ..
        } = self;
        let grant = format!("that grants {identity} list and watch on {plural}");
        match &self.reach {
            Reach::ClusterScopedKind => {
                write!(
                    f,
                    "{plural} are cluster-scoped: ask for a ClusterRoleBinding {grant}"
                )?;
            }
            Reach::Namespace(namespace) => {
                write!(f, "ask for a RoleBinding in namespace {namespace} {grant}")?;
            }
            Reach::AllNamespaces { context_namespace } => {
                f.write_str("kreflect watches all namespaces unless given -n: ")?;
                match context_namespace {
                    Some(namespace) => write!(
                        f,
                        "try -n {namespace} (the namespace of your kubeconfig context)"
                    )?,
                    None => f.write_str("pick a namespace you may read with -n NAMESPACE")?,
                }
                write!(f, ", or ask for a ClusterRoleBinding {grant}")?;
            }
        }
        if self.watch_refused {
            f.write_str(", or list once without watching with --once")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::endpoint::Endpoint;

    fn status(code: u16, reason: &str) -> ApiStatus {
        ApiStatus {
            code,
            reason: reason.to_owned(),
            message: String::new(),
            ..ApiStatus::default()
        }
    }

    fn advice(reach: Reach, watch_refused: bool) -> String {
        ForbiddenAdvice {
            identity: Identity::Kubeconfig {
                user: Some("dev".into()),
                context: Some("prod".into()),
            },
            plural: "pods".into(),
            reach,
            watch_refused,
        }
        .to_string()
    }

    #[test]
    fn a_refusal_across_all_namespaces_suggests_the_kubeconfig_contexts_namespace() {
        let reach = Reach::of(true, None, Some("shop"));
        assert_eq!(
            advice(reach, false),
            "kreflect watches all namespaces unless given -n: try -n shop (the namespace of \
             your kubeconfig context), or ask for a ClusterRoleBinding that grants user dev \
             (context prod) list and watch on pods"
        );
        let without = advice(Reach::of(true, None, None), false);
        assert!(without.contains("with -n NAMESPACE"), "{without}");
    }

    #[test]
    fn a_refusal_never_suggests_n_for_a_cluster_scoped_kind_or_when_n_was_given() {
        for reach in [
            Reach::of(false, None, Some("shop")),
            Reach::of(false, Some("shop"), Some("shop")),
            Reach::of(true, Some("other"), Some("shop")),
        ] {
            let text = advice(reach.clone(), true);
            assert!(!text.contains("-n"), "{reach:?}: {text}");
            assert!(text.contains("user dev (context prod)"), "{text}");
            assert!(
                text.ends_with("or list once without watching with --once"),
                "{text}"
            );
        }
        assert!(advice(Reach::ClusterScopedKind, false).starts_with("pods are cluster-scoped: "),);
        assert!(
            advice(Reach::Namespace("other".into()), false)
                .starts_with("ask for a RoleBinding in namespace other ")
        );
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
    fn no_answer_or_a_too_slow_one_is_transient_and_an_untrusted_certificate_is_not() {
        let refused = SourceError::Transport {
            endpoint: Endpoint::default(),
            reason: "connection refused".into(),
        };
        assert_eq!(FailureClass::of(&refused), FailureClass::Transient);
        let untrusted = SourceError::Untrusted {
            endpoint: Endpoint::default(),
            reason: "UnknownIssuer".into(),
        };
        assert_eq!(FailureClass::of(&untrusted), FailureClass::Untrusted);
        let bad_body = SourceError::Decode(crate::wire::decode::DecodeError::Malformed("x".into()));
        assert_eq!(FailureClass::of(&bad_body), FailureClass::Transient);
        let trickle = SourceError::TooSlow {
            endpoint: Endpoint::default(),
            slowness: crate::cache::list_watch::Slowness::PastTotal(
                std::time::Duration::from_secs(1),
            ),
        };
        assert_eq!(FailureClass::of(&trickle), FailureClass::Transient);
    }
}
