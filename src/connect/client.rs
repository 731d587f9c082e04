//! Building the `kube::Client`: from a kubeconfig (`--kubeconfig`, else the files listed in
//! `KUBECONFIG`, merged as kubectl does, else `~/.kube/config`), or from the in-cluster service
//! account when there is no kubeconfig, with errors that say where we looked and what to do.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use crate::connect::compression::{self, Compression, Decision, Route};
use crate::connect::exec_credential::ExecAuth;
use crate::connect::transport::Transport;
use crate::error_chain::{causes, flatten};

// The types this module's public items name, from modules that are otherwise the crate's own.
pub use crate::connect::exec_credential::{ExecError, PluginTerminal};
pub use crate::connect::overrides::{OverrideError, Overrides};
pub use crate::connect::proxy::{Proxy, ProxyError, ProxyKind, UrlProblem};

/// The `User-Agent` of every request: `kreflect/vVERSION (OS/ARCH)`, as client-go builds
/// kubectl's (`kubectl/v1.32.0 (linux/amd64) kubernetes/…`).
pub fn user_agent() -> String {
    format!(
        "kreflect/v{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The HTTP client's read timeout; every watch asks the server to end sooner than this.
pub const READ_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the cluster connection comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeconfigChoice {
    /// `--kubeconfig PATH`; otherwise `KUBECONFIG`, then `~/.kube/config`.
    pub path: Option<PathBuf>,
    /// `--context NAME`; otherwise the kubeconfig's current context.
    pub context: Option<String>,
    /// kubectl's global flags that override the kubeconfig (`--server`, `--token`, `--as`,
    /// `--user`, ...). Boxed: most runs give none.
    pub overrides: Box<Overrides>,
}

/// Transport settings that come from the command line rather than the kubeconfig.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// When to ask for gzip (`--compression`; `--disable-compression` is `never`): `auto`
    /// follows the kubeconfig's `disable-compression`, then [`compression`]'s rule; `always` and
    /// `never` win over the kubeconfig.
    pub compression: Compression,
    /// Whether an exec credential plugin may use the terminal (not during shell completion).
    pub plugin_terminal: PluginTerminal,
}

/// A client and what messages need to know about where it points.
#[derive(Clone)]
pub struct Connection {
    /// The client every request goes through.
    pub client: kube::Client,
    /// Whose credentials it presents.
    pub identity: Identity,
    /// The API server's URL, as configured.
    pub server: String,
    /// The namespace the kubeconfig context names, if any (kreflect still watches all
    /// namespaces unless `-n` is given, as client-go's reflector does).
    pub context_namespace: Option<String>,
    /// The proxy every request goes through, if any (for messages).
    pub proxy: Option<Proxy>,
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
    /// `--context` names a context the kubeconfig does not have.
    #[error(
        "kubeconfig {path} has no context {name:?}; its contexts are: {}; pick one with \
         --context NAME",
        list_or_none(.known)
    )]
    UnknownContext {
        /// Which kubeconfig.
        path: String,
        /// The context asked for.
        name: String,
        /// The contexts it has, sorted.
        known: Vec<String>,
    },
    /// `--context` names a context, and no kubeconfig was found (the connection would come from
    /// `--server` or the in-cluster service account, neither of which has contexts).
    #[error(
        "--context {name:?} names a kubeconfig context, and no kubeconfig was found (looked at \
         {looked}); pass --kubeconfig PATH, or drop --context"
    )]
    ContextWithoutKubeconfig {
        /// The context asked for.
        name: String,
        /// The places searched, for the message.
        looked: String,
    },
    /// With several contexts and `--once`, a context still connecting long after another did
    /// (its credential plugin waiting for a login, say).
    #[error("still connecting after {0} s (a credential plugin waiting for a login?)")]
    StillConnecting(u64),
    /// `--cluster` or `--user` names an entry the kubeconfig does not have.
    #[error(
        "kubeconfig {path} has no {entry} {name:?}; its {entry}s are: {}",
        list_or_none(.known)
    )]
    UnknownEntry {
        /// Which kubeconfig.
        path: String,
        /// `cluster` or `user`.
        entry: &'static str,
        /// The name asked for.
        name: String,
        /// The names it has, sorted.
        known: Vec<String>,
    },
    /// kubectl's global flags cannot be applied (`--server` no URL, a CA file unreadable).
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// The in-cluster service account cannot be used.
    #[error("cannot use the in-cluster service account: {0}")]
    InCluster(String),
    /// The kubeconfig's client certificate is X.509 v1, which rustls does not accept.
    #[error(
        "the client certificate in the kubeconfig is X.509 v1, which is not supported (only \
         X.509 v3 certificates are); reissue it as a v3 certificate, e.g. through a Kubernetes \
         CertificateSigningRequest, or with `openssl x509 -req ... -extfile` giving v3 extensions"
    )]
    ClientCertificateV1,
    /// The proxy setting (kubeconfig `proxy-url`, `HTTPS_PROXY`, ...) cannot be used.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The exec credential plugin gave no credential.
    #[error(transparent)]
    Exec(#[from] ExecError),
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
    /// A user impersonated (`--as`, or the kubeconfig user's `as`) with these credentials:
    /// what the server authorizes is the user's.
    Impersonated {
        /// The user acted as.
        user: String,
        /// Whose credentials act as it.
        by: Box<Identity>,
    },
}

impl Identity {
    /// Whose credentials these are: the impersonating identity's, when impersonating.
    pub fn credentials(&self) -> &Identity {
        match self {
            Identity::Impersonated { by, .. } => by.credentials(),
            other => other,
        }
    }
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
            Identity::Impersonated { user, by } => {
                write!(f, "user {user} (impersonated by {by})")
            }
        }
    }
}

/// Builds a client from the kubeconfig choice, or the in-cluster configuration, and says whose
/// credentials it presents and where it points.
pub async fn connect(
    choice: &KubeconfigChoice,
    options: &ClientOptions,
) -> Result<Connection, ClientError> {
    let Loaded {
        mut config,
        identity,
        context_namespace,
        proxy_url,
    } = load_off_the_runtime(choice).await?;
    choice.overrides.apply(&mut config)?;
    let identity = match config.auth_info.impersonate.clone() {
        Some(user) => Identity::Impersonated {
            user,
            by: Box::new(identity),
        },
        None => identity,
    };
    let server = config.cluster_url.to_string();
    // kube's loader took HTTPS_PROXY by its own rules: kreflect chooses by kubectl's.
    config.proxy_url = None;
    let proxy =
        crate::connect::proxy::proxy_for(&config.cluster_url, proxy_url.as_deref(), |name| {
            std::env::var(name).ok()
        })?;
    let route = Route {
        url: &config.cluster_url,
        in_cluster: *identity.credentials() == Identity::InCluster,
        proxied: proxy.is_some(),
    };
    let decision =
        compression::decide(options.compression, config.disable_compression, route).await;
    log_decision(&server, decision);
    let options = options.clone();
    let named_proxy = proxy.clone();
    // An `exec` credential plugin runs here, once, waited for without an await point: on a
    // thread of its own, so a plugin that hangs (a login waiting for a browser) cannot keep
    // the runtime from noticing a signal.
    let client = tokio::task::spawn_blocking(move || {
        let exec = match config.auth_info.exec.take() {
            Some(plugin) => with_exec_credential(&mut config, plugin, options.plugin_terminal)?,
            None => None,
        };
        build(config, decision, Transport { proxy, exec })
    })
    .await
    .map_err(|err| ClientError::Build(format!("building the client panicked: {err}")))??;
    Ok(Connection {
        client,
        identity,
        server,
        context_namespace,
        proxy: named_proxy,
    })
}

/// The API server URL the kubeconfig choice points at, without building a client or running a
/// credential plugin (shell completion keys its discovery cache by it).
pub async fn server_url(choice: &KubeconfigChoice) -> Result<String, ClientError> {
    if let Some(url) = choice.overrides.server_url()? {
        return Ok(url.to_string());
    }
    load_config(choice)
        .await
        .map(|loaded| loaded.config.cluster_url.to_string())
}

/// The context names of the kubeconfig `choice` reads (`--kubeconfig`, else `KUBECONFIG`'s
/// files merged, else `~/.kube/config`), sorted; none without a kubeconfig.
pub fn context_names(choice: &KubeconfigChoice) -> Result<Vec<String>, ClientError> {
    let mut names = match find_kubeconfig(choice)? {
        Found::Kubeconfig(_, kubeconfig) => kubeconfig
            .contexts
            .into_iter()
            .map(|named| named.name)
            .collect(),
        Found::Nothing { .. } => Vec::new(),
    };
    names.sort();
    names.dedup();
    Ok(names)
}

/// Runs the exec plugin and puts its credential where the stack takes it: a token into the
/// returned [`ExecAuth`] (refreshed when it expires), a client certificate into `config`.
fn with_exec_credential(
    config: &mut kube::Config,
    plugin: kube::config::ExecConfig,
    terminal: PluginTerminal,
) -> Result<Option<ExecAuth>, ClientError> {
    let credential = crate::connect::exec_credential::run(&plugin, terminal)?;
    if let Some((certificate, key)) = &credential.certificate {
        let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        config.auth_info.client_certificate_data = Some(encode(certificate));
        config.auth_info.client_key_data = Some(encode(key).into());
    }
    Ok(ExecAuth::new(plugin, &credential, terminal).transpose()?)
}

/// Builds a client for an API server at `url` with no credentials (the simulated cluster). A
/// host name in `url` is not looked up: with `auto`, only an address (`127.0.0.1`) can spare
/// the server gzip.
pub fn connect_insecure_local(
    url: &str,
    options: &ClientOptions,
) -> Result<kube::Client, ClientError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|err: http::uri::InvalidUri| ClientError::Build(err.to_string()))?;
    let route = Route {
        url: &uri,
        in_cluster: false,
        proxied: false,
    };
    let decision = compression::decide_without_lookup(options.compression, route);
    log_decision(url, decision);
    let transport = Transport {
        proxy: None,
        exec: None,
    };
    build(kube::Config::new(uri), decision, transport)
}

/// Says, with `-v`, whether requests to `server` ask for gzip and why.
fn log_decision(server: &str, decision: Decision) {
    tracing::debug!(server, compression = %decision, "decided whether to ask for gzip");
}

fn build(
    mut config: kube::Config,
    compression: Decision,
    transport: Transport,
) -> Result<kube::Client, ClientError> {
    config.disable_compression = !compression.gzip;
    // Who is asking, in the API server's audit log and metrics, as kubectl says it is kubectl.
    if let Ok(agent) = http::HeaderValue::from_str(&user_agent()) {
        config.headers.push((http::header::USER_AGENT, agent));
    }
    config.read_timeout = Some(READ_TIMEOUT);
    config.reset_reader_on_write = true;
    crate::connect::transport::client(&config, transport).map_err(|err| {
        if is_x509_v1_certificate(&err) {
            ClientError::ClientCertificateV1
        } else {
            ClientError::Build(flatten(&err))
        }
    })
}

/// Whether building the client failed because a certificate is X.509 v1. kube reports it as
/// "invalid private key" wrapping rustls's `InvalidCertificate(Other(..))`, whose inner error is
/// webpki's `UnsupportedCertVersion`: found by type along the source chain, not by text.
fn is_x509_v1_certificate(err: &kube::Error) -> bool {
    use tokio_rustls::rustls::{CertificateError, Error as TlsError};
    causes(err).any(|err| {
        matches!(
            err.downcast_ref::<TlsError>(),
            Some(TlsError::InvalidCertificate(CertificateError::Other(other)))
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::UnsupportedCertVersion)
                )
        )
    })
}

/// A loaded configuration, and what kube's [`kube::Config`] does not keep of the kubeconfig.
struct Loaded {
    config: kube::Config,
    /// Whose credentials it holds.
    identity: Identity,
    /// The context's namespace.
    context_namespace: Option<String>,
    /// The cluster's `proxy-url`.
    proxy_url: Option<String>,
}

/// [`load_config`] on tokio's blocking pool. Reading the kubeconfig and the files it names
/// blocks (a FIFO from `--kubeconfig <(sops -d ...)` whose writer waits for a passphrase, a
/// hung network mount): on the runtime's only thread, that would keep a signal from ending
/// the run.
async fn load_off_the_runtime(choice: &KubeconfigChoice) -> Result<Loaded, ClientError> {
    let choice = choice.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(load_config(&choice)))
        .await
        .map_err(|err| ClientError::Build(format!("reading the kubeconfig panicked: {err}")))?
}

async fn load_config(choice: &KubeconfigChoice) -> Result<Loaded, ClientError> {
    let options = KubeConfigOptions {
        context: choice.context.clone(),
        cluster: choice.overrides.cluster.clone(),
        user: choice.overrides.user.clone(),
    };
    let (described, kubeconfig) = match find_kubeconfig(choice)? {
        Found::Kubeconfig(described, kubeconfig) => (described, *kubeconfig),
        Found::Nothing { looked } => {
            // kubectl: `context "foo" does not exist`.
            if let Some(name) = &choice.context {
                return Err(ClientError::ContextWithoutKubeconfig {
                    name: name.clone(),
                    looked,
                });
            }
            // `--server` alone is a configuration, as it is for kubectl.
            if let Some(url) = choice.overrides.server_url()? {
                return Ok(Loaded {
                    config: kube::Config::new(url),
                    identity: Identity::Kubeconfig {
                        user: None,
                        context: None,
                    },
                    context_namespace: None,
                    proxy_url: None,
                });
            }
            if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
                return kube::Config::incluster()
                    .map(|config| Loaded {
                        config,
                        identity: Identity::InCluster,
                        context_namespace: None,
                        proxy_url: None,
                    })
                    .map_err(|err| ClientError::InCluster(flatten(&err)));
            }
            return Err(ClientError::NoConfig { looked });
        }
    };
    if let Some(name) = &choice.context
        && !kubeconfig.contexts.iter().any(|named| &named.name == name)
    {
        let mut known: Vec<String> = kubeconfig
            .contexts
            .iter()
            .map(|named| named.name.clone())
            .collect();
        known.sort();
        return Err(ClientError::UnknownContext {
            path: described,
            name: name.clone(),
            known,
        });
    }
    refuse_unknown_entries(&kubeconfig, &described, &choice.overrides)?;
    let mut identity = identity_of(&kubeconfig, choice.context.as_deref());
    if let (Some(user), Identity::Kubeconfig { user: used, .. }) =
        (&choice.overrides.user, &mut identity)
    {
        *used = Some(user.clone());
    }
    let context_namespace = context_namespace(&kubeconfig, choice.context.as_deref());
    let proxy_url = cluster_proxy_url(&kubeconfig, choice.context.as_deref());
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map(|config| Loaded {
            config,
            identity,
            context_namespace,
            proxy_url,
        })
        .map_err(|err| ClientError::BadKubeconfig {
            path: described,
            message: flatten(&err),
        })
}

/// Refuses a `--cluster` or `--user` the kubeconfig does not have, naming the ones it has.
fn refuse_unknown_entries(
    kubeconfig: &Kubeconfig,
    described: &str,
    overrides: &Overrides,
) -> Result<(), ClientError> {
    let clusters = kubeconfig.clusters.iter().map(|named| named.name.clone());
    let users = kubeconfig.auth_infos.iter().map(|named| named.name.clone());
    let entries: [(&'static str, Option<&String>, Vec<String>); 2] = [
        ("cluster", overrides.cluster.as_ref(), clusters.collect()),
        ("user", overrides.user.as_ref(), users.collect()),
    ];
    for (entry, wanted, mut known) in entries {
        if let Some(name) = wanted
            && !known.contains(name)
        {
            known.sort();
            return Err(ClientError::UnknownEntry {
                path: described.to_owned(),
                entry,
                name: name.clone(),
                known,
            });
        }
    }
    Ok(())
}

/// `a, b, c`, or `(none)`.
fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}

/// The context used (`--context`, else the current one) and the user it names.
fn identity_of(kubeconfig: &Kubeconfig, context: Option<&str>) -> Identity {
    let context = context
        .map(str::to_owned)
        .or_else(|| kubeconfig.current_context.clone());
    let user = context_used(kubeconfig, context.as_deref()).and_then(|used| used.user.clone());
    Identity::Kubeconfig { user, context }
}

/// The namespace the context used names, if any.
fn context_namespace(kubeconfig: &Kubeconfig, context: Option<&str>) -> Option<String> {
    context_used(kubeconfig, context)
        .and_then(|used| used.namespace.clone())
        .filter(|namespace| !namespace.is_empty())
}

/// The `proxy-url` of the cluster the context used names, if set.
fn cluster_proxy_url(kubeconfig: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let cluster = context_used(kubeconfig, context)?.cluster.as_str();
    kubeconfig
        .clusters
        .iter()
        .find(|named| named.name == cluster)
        .and_then(|named| named.cluster.as_ref())
        .and_then(|cluster| cluster.proxy_url.clone())
        .filter(|url| !url.is_empty())
}

/// The context used: `--context`, else the current one.
fn context_used<'a>(
    kubeconfig: &'a Kubeconfig,
    context: Option<&str>,
) -> Option<&'a kube::config::Context> {
    let name = context.or(kubeconfig.current_context.as_deref())?;
    kubeconfig
        .contexts
        .iter()
        .find(|named| named.name == name)
        .and_then(|named| named.context.as_ref())
}

/// What the kubeconfig search found.
enum Found {
    /// A kubeconfig, and how to name it in messages.
    Kubeconfig(String, Box<Kubeconfig>),
    /// None; `looked` says where we looked, for the message.
    Nothing {
        /// The places searched.
        looked: String,
    },
}

/// The kubeconfig to use: `--kubeconfig`, else the files in `KUBECONFIG`, else
/// `~/.kube/config`.
fn find_kubeconfig(choice: &KubeconfigChoice) -> Result<Found, ClientError> {
    if let Some(path) = &choice.path {
        if !path.exists() {
            return Err(ClientError::BadKubeconfig {
                path: path.display().to_string(),
                message: "no such file; check the --kubeconfig path".to_owned(),
            });
        }
        return Ok(Found::Kubeconfig(
            path.display().to_string(),
            Box::new(read(path)?),
        ));
    }
    let home = default_kubeconfig_path();
    let home_described = home.as_ref().map_or_else(
        || "~/.kube/config".to_owned(),
        |path| path.display().to_string(),
    );
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|value| !value.is_empty()) {
        let described = format!("KUBECONFIG={}", list.to_string_lossy());
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|path| !path.as_os_str().is_empty())
            .collect();
        return Ok(match merge_existing(&paths)? {
            Some(kubeconfig) => Found::Kubeconfig(described, Box::new(kubeconfig)),
            None => Found::Nothing {
                looked: format!(
                    "--kubeconfig (not given), {described} (none of these files exists)"
                ),
            },
        });
    }
    match home {
        Some(path) if path.exists() => {
            Ok(Found::Kubeconfig(home_described, Box::new(read(&path)?)))
        }
        _ => Ok(Found::Nothing {
            looked: format!(
                "--kubeconfig (not given), KUBECONFIG (unset), {home_described} (missing)"
            ),
        }),
    }
}

/// Reads one kubeconfig file.
fn read(path: &Path) -> Result<Kubeconfig, ClientError> {
    Kubeconfig::read_from(path).map_err(|err| ClientError::BadKubeconfig {
        path: path.display().to_string(),
        message: flatten(&err),
    })
}

/// The files of a `KUBECONFIG` list merged as client-go's loading rules do: files that do not
/// exist are skipped, the others merged in order, the first file to set `current-context` or a
/// named cluster, user or context winning. `None` when no file in the list exists. A file that
/// exists but cannot be read or parsed is an error, as with kubectl.
fn merge_existing(paths: &[PathBuf]) -> Result<Option<Kubeconfig>, ClientError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        let next = match Kubeconfig::read_from(path) {
            Ok(next) => next,
            Err(KubeconfigError::ReadConfig(err, _)) if err.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %path.display(), "skipped a KUBECONFIG entry that does not exist");
                continue;
            }
            Err(err) => {
                return Err(ClientError::BadKubeconfig {
                    path: path.display().to_string(),
                    message: flatten(&err),
                });
            }
        };
        merged = Some(match merged {
            None => next,
            Some(first) => first
                .merge(next)
                .map_err(|err| ClientError::BadKubeconfig {
                    path: path.display().to_string(),
                    message: format!(
                        "cannot be merged with the files before it: {}",
                        flatten(&err)
                    ),
                })?,
        });
    }
    Ok(merged)
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".kube").join("config"))
}
