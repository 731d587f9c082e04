//! kubectl's global flags that make sense for a watcher, with kubectl's names and meaning:
//! where to connect and as whom (`--server`, `--token`, `--user`, `--as`, ...), and
//! `--request-timeout`. Scripts pass them as they pass them to kubectl.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::api::deadline::RequestDeadline;
use crate::connect::overrides::{self, Impersonation, Overrides};

/// The heading they are listed under in `--help`.
const HEADING: &str = "Connection (kubectl's global flags, over the kubeconfig)";

/// kubectl's global flags, as given.
#[derive(Debug, Default, Args)]
pub struct KubectlFlags {
    /// The kubeconfig cluster to use instead of the context's.
    #[arg(long, value_name = "NAME", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    cluster: Option<String>,
    /// The kubeconfig user to use instead of the context's.
    #[arg(long, value_name = "NAME", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    user: Option<String>,
    /// The API server's address and port (https:// when no scheme is given).
    #[arg(short = 's', long, value_name = "URL", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    server: Option<String>,
    /// Bearer token for authentication to the API server, instead of the user's credentials.
    #[arg(long, value_name = "TOKEN", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    token: Option<String>,
    /// A certificate authority file (PEM) to check the server's certificate with.
    #[arg(long, value_name = "FILE", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    certificate_authority: Option<PathBuf>,
    /// A client certificate file (PEM) for TLS.
    #[arg(long, value_name = "FILE", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    client_certificate: Option<PathBuf>,
    /// A client key file (PEM) for TLS.
    #[arg(long, value_name = "FILE", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    client_key: Option<PathBuf>,
    /// Do not check the server's certificate (insecure).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, default_value_t = false, action = ArgAction::Set, conflicts_with = "sim",
          help_heading = HEADING, hide_short_help = true)]
    insecure_skip_tls_verify: bool,
    /// The name to check the server's certificate against, if not the server's host name.
    #[arg(long, value_name = "NAME", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    tls_server_name: Option<String>,
    /// The user to impersonate (Impersonate-User): the requests run with its permissions.
    #[arg(long = "as", value_name = "USER", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    as_user: Option<String>,
    /// A group to impersonate (Impersonate-Group), repeatable; needs --as.
    #[arg(long = "as-group", value_name = "GROUP", action = ArgAction::Append,
          conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    as_group: Vec<String>,
    /// The UID to impersonate (Impersonate-Uid); needs --as.
    #[arg(long = "as-uid", value_name = "UID", conflicts_with = "sim", help_heading = HEADING, hide_short_help = true)]
    as_uid: Option<String>,
    /// How long a list page or discovery request may take (1s, 2m, 3h; a bare number is
    /// seconds; 0, the default, for kreflect's minimum rate of 4 KiB/s); watches are streams
    /// and keep their own rules.
    #[arg(long, value_name = "D", value_parser = parse_request_timeout,
          help_heading = HEADING, hide_short_help = true)]
    request_timeout: Option<Duration>,
}

impl KubectlFlags {
    /// The flags that override the kubeconfig; a usage error for an empty value (a script's
    /// unset variable: kubectl would take it as "not given" and connect elsewhere) or a
    /// `--server` that is no URL.
    pub fn overrides(&self) -> Result<Overrides, String> {
        let given = [
            ("--cluster", &self.cluster),
            ("--user", &self.user),
            ("--server", &self.server),
            ("--token", &self.token),
            ("--tls-server-name", &self.tls_server_name),
            ("--as", &self.as_user),
            ("--as-uid", &self.as_uid),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, value)| value.as_deref() == Some("")) {
            return Err(format!("{flag} is empty; give a value, or omit {flag}"));
        }
        if self.as_group.iter().any(String::is_empty) {
            return Err("--as-group is empty; give a group, or omit --as-group".to_owned());
        }
        if self.insecure_skip_tls_verify && self.certificate_authority.is_some() {
            // kubectl's refusal: the two say opposite things.
            return Err("--insecure-skip-tls-verify cannot be used with \
                        --certificate-authority: the one says not to check the server's \
                        certificate, the other what to check it with"
                .to_owned());
        }
        if let Some(server) = &self.server {
            overrides::server_url(server).map_err(|err| err.to_string())?;
        }
        Ok(Overrides {
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            server: self.server.clone(),
            tls_server_name: self.tls_server_name.clone(),
            certificate_authority: self.certificate_authority.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            token: self.token.clone(),
            client_certificate: self.client_certificate.clone(),
            client_key: self.client_key.clone(),
            impersonation: Impersonation {
                user: self.as_user.clone(),
                groups: self.as_group.clone(),
                uid: self.as_uid.clone(),
            },
        })
    }

    /// `--request-timeout`'s deadline, when given and not 0.
    pub fn request_deadline(&self) -> Option<RequestDeadline> {
        self.request_timeout
            .filter(|timeout| !timeout.is_zero())
            .map(RequestDeadline::Total)
    }
}

/// `--request-timeout` as kubectl takes it: a duration with a unit (`500ms`, `1s`, `2m`,
/// `1h30m`) or a bare number of seconds; `0` for none.
fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "{text:?} is not a duration: give one with a unit (1s, 2m, 3h) or a whole number \
             of seconds, 0 for none"
        )
    };
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeout_takes_kubectls_forms_and_zero_is_none() {
        assert_eq!(parse_request_timeout("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_request_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            parse_request_timeout("250ms"),
            Ok(Duration::from_millis(250))
        );
        assert!(parse_request_timeout("-1").is_err());
        assert!(parse_request_timeout("soon").is_err());
        let none = KubectlFlags {
            request_timeout: Some(Duration::ZERO),
            ..KubectlFlags::default()
        };
        assert_eq!(none.request_deadline(), None);
        let some = KubectlFlags {
            request_timeout: Some(Duration::from_secs(3)),
            ..KubectlFlags::default()
        };
        assert_eq!(
            some.request_deadline(),
            Some(RequestDeadline::Total(Duration::from_secs(3)))
        );
    }

    #[test]
    fn empty_values_and_a_server_that_is_no_url_are_usage_errors() {
        let empty_user = KubectlFlags {
            as_user: Some(String::new()),
            ..KubectlFlags::default()
        };
        assert_eq!(
            empty_user.overrides(),
            Err("--as is empty; give a value, or omit --as".to_owned())
        );
        let bad_server = KubectlFlags {
            server: Some("ftp://x".into()),
            ..KubectlFlags::default()
        };
        let err = bad_server.overrides().expect_err("no URL");
        assert!(err.contains("--server \"ftp://x\""), "{err}");
    }
}
