//! Building the `kube::Client`: from a kubeconfig (`--kubeconfig`, else `KUBECONFIG`, else
//! `~/.kube/config`), or from the in-cluster service account when there is no kubeconfig, with
//! errors that say where we looked and what to do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::source::error_chain;

/// The HTTP client's read timeout; every watch asks the server to end sooner than this.
pub const READ_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the cluster connection comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeconfigChoice {
    /// `--kubeconfig PATH`; otherwise `KUBECONFIG`, then `~/.kube/config`.
    pub path: Option<PathBuf>,
    /// `--context NAME`; otherwise the kubeconfig's current context.
    pub context: Option<String>,
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No kubeconfig anywhere and not inside a cluster.
    #[error(
        "no kubeconfig found (looked at {looked}) and not running inside a cluster \
         (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig PATH or set KUBECONFIG, \
         or try --sim for a simulated cluster"
    )]
    NoConfig {
        /// The places searched, for the message.
        looked: String,
    },
    /// A kubeconfig was found but cannot be used.
    #[error("cannot use kubeconfig {path}: {message}")]
    BadKubeconfig {
        /// Which kubeconfig.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The in-cluster service account cannot be used.
    #[error("cannot use the in-cluster service account: {0}")]
    InCluster(String),
    /// The configuration is valid but no HTTP client could be made from it (TLS setup, say).
    #[error("cannot create the Kubernetes client: {0}")]
    Build(String),
}

/// Whose credentials a client presents, for messages about them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A kubeconfig user, through a context.
    Kubeconfig {
        /// The kubeconfig user's name, when the context names one.
        user: Option<String>,
        /// The context used.
        context: Option<String>,
    },
    /// The pod's service account token (in-cluster).
    InCluster,
    /// No credentials (the simulated cluster).
    Anonymous,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Kubeconfig { user, context } => {
                write!(f, "user {}", user.as_deref().unwrap_or("(none)"))?;
                match context {
                    Some(context) => write!(f, " (context {context})"),
                    None => Ok(()),
                }
            }
            Identity::InCluster => f.write_str("the in-cluster service account"),
            Identity::Anonymous => f.write_str("an anonymous client"),
        }
    }
}

/// Builds a client from the kubeconfig choice, or the in-cluster configuration, and says whose
/// credentials it presents.
pub async fn connect(choice: &KubeconfigChoice) -> Result<(kube::Client, Identity), ClientError> {
    let (config, identity) = load_config(choice).await?;
    Ok((build(config)?, identity))
}

/// Builds a client for an API server at `url` with no credentials (the simulated cluster).
pub fn connect_insecure_local(url: &str) -> Result<kube::Client, ClientError> {
    let uri = url
        .parse()
        .map_err(|err: http::uri::InvalidUri| ClientError::Build(err.to_string()))?;
    build(kube::Config::new(uri))
}

fn build(mut config: kube::Config) -> Result<kube::Client, ClientError> {
    // The reflector owns retries and backoff; a hidden retry layer would hide failures from it.
    config.default_retry = false;
    config.read_timeout = Some(READ_TIMEOUT);
    config.reset_reader_on_write = true;
    kube::Client::try_from(config).map_err(|err| ClientError::Build(error_chain(&err)))
}

async fn load_config(choice: &KubeconfigChoice) -> Result<(kube::Config, Identity), ClientError> {
    let options = KubeConfigOptions {
        context: choice.context.clone(),
        ..KubeConfigOptions::default()
    };
    let (described, kubeconfig) = match find_kubeconfig(choice)? {
        Some(found) => found,
        None => {
            if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
                return kube::Config::incluster()
                    .map(|config| (config, Identity::InCluster))
                    .map_err(|err| ClientError::InCluster(error_chain(&err)));
            }
            return Err(ClientError::NoConfig {
                looked: places_searched(),
            });
        }
    };
    let identity = identity_of(&kubeconfig, choice.context.as_deref());
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map(|config| (config, identity))
        .map_err(|err| ClientError::BadKubeconfig {
            path: described,
            message: error_chain(&err),
        })
}

/// The context used (`--context`, else the current one) and the user it names.
fn identity_of(kubeconfig: &Kubeconfig, context: Option<&str>) -> Identity {
    let context = context
        .map(str::to_owned)
        .or_else(|| kubeconfig.current_context.clone());
    let user = context.as_deref().and_then(|name| {
        kubeconfig
            .contexts
            .iter()
            .find(|named| named.name == name)
            .and_then(|named| named.context.as_ref())
            .and_then(|context| context.user.clone())
    });
    Identity::Kubeconfig { user, context }
}

/// The kubeconfig to use and how to name it in messages, or `None` when there is none.
fn find_kubeconfig(choice: &KubeconfigChoice) -> Result<Option<(String, Kubeconfig)>, ClientError> {
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|err| ClientError::BadKubeconfig {
            path: path.display().to_string(),
            message: error_chain(&err),
        })
    };
    if let Some(path) = &choice.path {
        if !path.exists() {
            return Err(ClientError::BadKubeconfig {
                path: path.display().to_string(),
                message: "no such file; check the --kubeconfig path".to_owned(),
            });
        }
        return Ok(Some((path.display().to_string(), read(path)?)));
    }
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|value| !value.is_empty()) {
        let described = format!("KUBECONFIG={}", paths.to_string_lossy());
        let kubeconfig = Kubeconfig::from_env().map_err(|err| ClientError::BadKubeconfig {
            path: described.clone(),
            message: error_chain(&err),
        })?;
        return Ok(kubeconfig.map(|kubeconfig| (described, kubeconfig)));
    }
    match default_kubeconfig_path() {
        Some(path) if path.exists() => Ok(Some((path.display().to_string(), read(&path)?))),
        _ => Ok(None),
    }
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".kube").join("config"))
}

fn places_searched() -> String {
    let home = default_kubeconfig_path().map_or_else(
        || "~/.kube/config".to_owned(),
        |path| path.display().to_string(),
    );
    format!("--kubeconfig (not given), KUBECONFIG (unset), {home} (missing)")
}
