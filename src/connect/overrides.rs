//! kubectl's global flags that override the kubeconfig (`--server`, `--token`, `--as`,
//! `--certificate-authority`, ...), applied with client-go's precedence (clientcmd's
//! `ConfigOverrides`): a flag given wins over what the kubeconfig (or the in-cluster service
//! account) says, a flag not given changes nothing. `--cluster` and `--user` pick kubeconfig
//! entries and are applied where the kubeconfig is read ([`crate::connect::client`]).

use std::fmt;
use std::path::{Path, PathBuf};

use kube::config::AuthInfo;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// The flags given, each `None` (or empty, or false) when not given.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--cluster NAME`: the kubeconfig cluster to use instead of the context's.
    pub cluster: Option<String>,
    /// `--user NAME`: the kubeconfig user to use instead of the context's.
    pub user: Option<String>,
    /// `--server/-s URL`: the API server's address (`https://` assumed without a scheme).
    pub server: Option<String>,
    /// `--tls-server-name NAME`: the name the server's certificate is checked against.
    pub tls_server_name: Option<String>,
    /// `--certificate-authority FILE`: the CA bundle (PEM) the server's certificate is checked
    /// against, instead of the kubeconfig's.
    pub certificate_authority: Option<PathBuf>,
    /// `--insecure-skip-tls-verify`: do not check the server's certificate.
    pub insecure_skip_tls_verify: bool,
    /// `--token TOKEN`: a bearer token, instead of the user's credentials.
    pub token: Option<String>,
    /// `--client-certificate FILE`: a client certificate (PEM).
    pub client_certificate: Option<PathBuf>,
    /// `--client-key FILE`: its private key (PEM).
    pub client_key: Option<PathBuf>,
    /// `--as`, `--as-group`, `--as-uid`.
    pub impersonation: Impersonation,
}

/// Who to act as (`Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    /// `--as USER`.
    pub user: Option<String>,
    /// `--as-group GROUP`, repeatable.
    pub groups: Vec<String>,
    /// `--as-uid UID`.
    pub uid: Option<String>,
}

impl fmt::Debug for Overrides {
    /// As derived, but the token is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("cluster", &self.cluster)
            .field("user", &self.user)
            .field("server", &self.server)
            .field("tls_server_name", &self.tls_server_name)
            .field("certificate_authority", &self.certificate_authority)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .field("impersonation", &self.impersonation)
            .finish()
    }
}

/// Why the flags cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OverrideError {
    /// `--server` is no URL.
    #[error("--server {0:?} is not a URL of an API server, e.g. https://10.0.0.1:6443")]
    Server(String),
    /// `--certificate-authority` cannot be read, or holds no certificate.
    #[error("cannot use --certificate-authority {path}: {message}")]
    CertificateAuthority {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// `--client-certificate` or `--client-key` is no readable file.
    #[error("cannot use {flag} {path}: {message}")]
    ClientFile {
        /// The flag.
        flag: &'static str,
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Groups or a uid to impersonate, and no user: the server would refuse every request.
    #[error(
        "--as-group and --as-uid act as a user's groups or uid, and no user is impersonated: \
         add --as USER (or `as` in the kubeconfig user)"
    )]
    ImpersonationWithoutUser,
}

impl Overrides {
    /// The server URL `--server` gives, when given.
    pub fn server_url(&self) -> Result<Option<http::Uri>, OverrideError> {
        self.server.as_deref().map(server_url).transpose()
    }

    /// Applies the flags to a loaded configuration, as clientcmd merges its overrides:
    /// - `--server` replaces the URL, and the kubeconfig's `tls-server-name` with it (a name
    ///   for another server), unless `--tls-server-name` is given too;
    /// - `--certificate-authority` or `--insecure-skip-tls-verify` replaces the kubeconfig's CA
    ///   and its skip setting together (kubectl refuses both at once, as the command line
    ///   does);
    /// - `--token` replaces the user's other credentials (token file, exec plugin, auth
    ///   provider, basic auth); a client certificate stays, as kubectl sends both;
    /// - `--client-certificate` and `--client-key` replace the kubeconfig's, data or file;
    /// - `--as`, `--as-group` (all of them) and `--as-uid` replace the kubeconfig user's `as`,
    ///   `as-groups` and `as-uid`; groups or a uid without a user are refused.
    pub fn apply(&self, config: &mut kube::Config) -> Result<(), OverrideError> {
        if let Some(url) = self.server_url()? {
            config.cluster_url = url;
            config.tls_server_name = self.tls_server_name.clone();
        } else if let Some(name) = &self.tls_server_name {
            config.tls_server_name = Some(name.clone());
        }
        if self.insecure_skip_tls_verify || self.certificate_authority.is_some() {
            config.accept_invalid_certs = self.insecure_skip_tls_verify;
            config.root_cert = self
                .certificate_authority
                .as_deref()
                .map(read_certificate_authority)
                .transpose()?;
        }
        apply_credentials(self, &mut config.auth_info)
    }
}

/// The user's part of [`Overrides::apply`].
fn apply_credentials(overrides: &Overrides, auth: &mut AuthInfo) -> Result<(), OverrideError> {
    if let Some(token) = &overrides.token {
        auth.token = Some(token.clone().into());
        auth.token_file = None;
        auth.exec = None;
        auth.auth_provider = None;
        auth.username = None;
        auth.password = None;
    }
    for (flag, path) in [
        ("--client-certificate", &overrides.client_certificate),
        ("--client-key", &overrides.client_key),
    ] {
        if let Some(path) = path {
            readable_file(flag, path)?;
        }
    }
    if let Some(path) = &overrides.client_certificate {
        auth.client_certificate = Some(path.display().to_string());
        auth.client_certificate_data = None;
    }
    if let Some(path) = &overrides.client_key {
        auth.client_key = Some(path.display().to_string());
        auth.client_key_data = None;
    }
    let Impersonation { user, groups, uid } = &overrides.impersonation;
    if let Some(user) = user {
        auth.impersonate = Some(user.clone());
    }
    if !groups.is_empty() {
        auth.impersonate_groups = Some(groups.clone());
    }
    if let Some(uid) = uid {
        auth.impersonate_uid = Some(uid.clone());
    }
    let acts_as_someone = auth
        .impersonate_groups
        .as_ref()
        .is_some_and(|g| !g.is_empty())
        || auth.impersonate_uid.is_some();
    if auth.impersonate.is_none() && acts_as_someone {
        return Err(OverrideError::ImpersonationWithoutUser);
    }
    Ok(())
}

/// `--server`'s value as a URL: `https://` is assumed without a scheme, as kubectl assumes it
/// for a server it talks TLS to; only `http` and `https` with a host are taken.
pub fn server_url(text: &str) -> Result<http::Uri, OverrideError> {
    let refused = || OverrideError::Server(text.to_owned());
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url: http::Uri = with_scheme.parse().map_err(|_| refused())?;
    let scheme_ok = matches!(url.scheme_str(), Some("http" | "https"));
    let host_ok = url.host().is_some_and(|host| !host.is_empty());
    if !(scheme_ok && host_ok) {
        return Err(refused());
    }
    Ok(url)
}

/// The most a PEM file given on the command line may hold: a bundle of every public CA is
/// about 200 KiB; `/dev/zero` given by mistake must not fill the memory.
const MAX_PEM_BYTES: u64 = 16 * 1024 * 1024;

/// Fails unless `path` is there and no directory, looked at without opening it (a FIFO from
/// `<(vault read ...)` is read once, when the client is built).
fn readable_file(flag: &'static str, path: &Path) -> Result<(), OverrideError> {
    let refused = |message: String| OverrideError::ClientFile {
        flag,
        path: path.display().to_string(),
        message,
    };
    let metadata = std::fs::metadata(path).map_err(|err| refused(err.to_string()))?;
    if metadata.is_dir() {
        return Err(refused("it is a directory".to_owned()));
    }
    Ok(())
}

/// The DER certificates of a PEM bundle.
fn read_certificate_authority(path: &Path) -> Result<Vec<Vec<u8>>, OverrideError> {
    let refused = |message: String| OverrideError::CertificateAuthority {
        path: path.display().to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|err| refused(err.to_string()))?;
    let mut pem = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_PEM_BYTES + 1), &mut pem)
        .map_err(|err| refused(err.to_string()))?;
    if pem.len() as u64 > MAX_PEM_BYTES {
        return Err(refused(format!(
            "it is larger than {} MiB, more than any certificate bundle",
            MAX_PEM_BYTES / 1024 / 1024
        )));
    }
    let certificates: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .map(|certificate| certificate.map(|der| der.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|err| refused(format!("not a PEM certificate bundle ({err})")))?;
    if certificates.is_empty() {
        return Err(refused(
            "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> kube::Config {
        let mut config = kube::Config::new("https://kubeconfig.example:6443".parse().expect("url"));
        config.tls_server_name = Some("kubeconfig-name".into());
        config.root_cert = Some(vec![b"kubeconfig ca".to_vec()]);
        config.auth_info.token_file = Some("/token".into());
        config.auth_info.client_certificate_data = Some("ZGF0YQ==".into());
        config
    }

    #[test]
    fn no_flag_changes_nothing() {
        let mut config = loaded();
        Overrides::default().apply(&mut config).expect("applies");
        assert_eq!(config.cluster_url, loaded().cluster_url);
        assert_eq!(config.tls_server_name, loaded().tls_server_name);
        assert_eq!(config.root_cert, loaded().root_cert);
        let auth = &config.auth_info;
        assert_eq!(auth.token_file, loaded().auth_info.token_file);
        assert_eq!(
            auth.client_certificate_data,
            loaded().auth_info.client_certificate_data
        );
        assert!(auth.token.is_none() && auth.impersonate.is_none());
    }

    #[test]
    fn server_replaces_the_url_and_the_kubeconfigs_tls_server_name_unless_given_too() {
        let mut config = loaded();
        let overrides = Overrides {
            server: Some("10.0.0.1:6443".into()),
            ..Overrides::default()
        };
        overrides.apply(&mut config).expect("applies");
        assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
        assert_eq!(config.tls_server_name, None);
        let both = Overrides {
            server: Some("http://127.0.0.1:8080".into()),
            tls_server_name: Some("api.example".into()),
            ..Overrides::default()
        };
        let mut config = loaded();
        both.apply(&mut config).expect("applies");
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:8080/");
        assert_eq!(config.tls_server_name.as_deref(), Some("api.example"));
    }

    #[test]
    fn a_server_that_is_no_url_is_refused() {
        for bad in ["ftp://x", "https://", "http://a b", ""] {
            assert_eq!(
                server_url(bad),
                Err(OverrideError::Server(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn insecure_drops_the_kubeconfigs_ca_and_a_ca_file_replaces_it() {
        let mut config = loaded();
        let insecure = Overrides {
            insecure_skip_tls_verify: true,
            ..Overrides::default()
        };
        insecure.apply(&mut config).expect("applies");
        assert!(config.accept_invalid_certs);
        assert_eq!(config.root_cert, None);

        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let with_ca = Overrides {
            certificate_authority: Some(empty.clone()),
            ..Overrides::default()
        };
        let err = with_ca.apply(&mut loaded()).expect_err("no certificate");
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
        let missing = Overrides {
            certificate_authority: Some(dir.path().join("missing.pem")),
            ..Overrides::default()
        };
        let err = missing.apply(&mut loaded()).expect_err("no file");
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let endless = Overrides {
            certificate_authority: Some("/dev/zero".into()),
            ..Overrides::default()
        };
        let err = endless.apply(&mut loaded()).expect_err("too large");
        assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
        let not_a_file = Overrides {
            client_key: Some(dir.path().to_owned()),
            ..Overrides::default()
        };
        let err = not_a_file.apply(&mut loaded()).expect_err("a directory");
        assert!(
            err.to_string().starts_with("cannot use --client-key"),
            "{err}"
        );
    }

    #[test]
    fn token_replaces_the_users_other_credentials_but_not_its_certificate() {
        let mut config = loaded();
        let overrides = Overrides {
            token: Some("s3cret".into()),
            ..Overrides::default()
        };
        overrides.apply(&mut config).expect("applies");
        assert_eq!(config.auth_info.token_file, None);
        assert!(config.auth_info.token.is_some());
        assert!(config.auth_info.client_certificate_data.is_some());
        assert!(!format!("{overrides:?}").contains("s3cret"));
    }

    #[test]
    fn impersonation_flags_replace_the_kubeconfigs_and_need_a_user() {
        let mut config = loaded();
        let overrides = Overrides {
            impersonation: Impersonation {
                user: Some("alice".into()),
                groups: vec!["dev".into(), "ops".into()],
                uid: Some("42".into()),
            },
            ..Overrides::default()
        };
        overrides.apply(&mut config).expect("applies");
        let auth = &config.auth_info;
        assert_eq!(auth.impersonate.as_deref(), Some("alice"));
        assert_eq!(
            auth.impersonate_groups,
            Some(vec!["dev".to_owned(), "ops".to_owned()])
        );
        assert_eq!(auth.impersonate_uid.as_deref(), Some("42"));
        // The kubeconfig's groups, or --as-uid, and no user: refused before any request.
        let mut groups_only = loaded();
        groups_only.auth_info.impersonate_groups = Some(vec!["kubeconfig-group".into()]);
        let err = Overrides::default().apply(&mut groups_only).err();
        assert_eq!(err, Some(OverrideError::ImpersonationWithoutUser));
        let uid_only = Overrides {
            impersonation: Impersonation {
                uid: Some("42".into()),
                ..Impersonation::default()
            },
            ..Overrides::default()
        };
        let err = uid_only.apply(&mut loaded()).err();
        assert_eq!(err, Some(OverrideError::ImpersonationWithoutUser));
    }
}
