//! Exec credential plugins (a kubeconfig user's `exec:` — aws, gke-gcloud-auth-plugin,
//! kubelogin, ...), run as client-go runs them, and **once**: [`run`] is called when the client
//! is built, and [`ExecAuth`] reuses the token it printed until its `expirationTimestamp`
//! (less [`REFRESH_MARGIN`]), then runs the plugin again for the next request. A plugin that
//! prints no `expirationTimestamp` runs once per process, unless the server refuses its token
//! (401): then, as in client-go, it runs again ([`WithExecAuth`]).
//!
//! As client-go does, the plugin gets the environment plus the kubeconfig's `env`, and
//! `KUBERNETES_EXEC_INFO` (an `ExecCredential` with `spec.interactive`, and `spec.cluster`
//! when `provideClusterInfo` is set); stdin is passed on only when it is a terminal and
//! `interactiveMode` is not `Never`. The plugin's stderr is shown as it runs when our stderr is
//! a terminal (a login prompt must be seen), and is kept for the error line when it fails.
//! Shell completion withholds the terminal ([`PluginTerminal::Withheld`]): it is the shell's.
//!
//! A plugin that prints a client certificate instead of a token: the certificate is used for
//! the life of the process (rotating it would mean new TLS connections; not done).

use std::io::{IsTerminal, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::client::Body;
use kube::config::{ExecConfig, ExecInteractiveMode};
use serde::Deserialize;
use tower::ServiceExt as _;

/// A token is refreshed this long before it expires, so that no request carries a token that
/// expires on its way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(10);

/// How long a request waits for the plugin to refresh an expired token before it fails. The run
/// goes on (see [`ExecAuth`]); the wait is shorter than a watch's response-headers timeout
/// ([`crate::api::kube_source::WATCH_HEADERS_TIMEOUT`]), so that the failure names the plugin rather than
/// the connection.
pub const REFRESH_WAIT: Duration = Duration::from_secs(15);

/// The most of a plugin's stdout read (a credential is a few KiB).
const MAX_OUTPUT: u64 = 1024 * 1024;

/// The most of a plugin's stderr kept for the error line.
const MAX_STDERR_KEPT: usize = 2048;

/// What a plugin printed.
#[derive(Clone)]
pub struct Credential {
    /// A bearer token.
    pub token: Option<String>,
    /// A client certificate and its key, PEM.
    pub certificate: Option<(String, String)>,
    /// When the credential stops being valid, if the plugin said.
    pub expires: Option<SystemTime>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("token", &self.token.as_ref().map(|_| "(redacted)"))
            .field(
                "certificate",
                &self.certificate.as_ref().map(|_| "(redacted)"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

/// Why a plugin gave no credential.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The kubeconfig's `exec` has no `command`.
    #[error("the kubeconfig user's exec credential plugin has no command")]
    NoCommand,
    /// The command could not be started (not installed, not executable).
    #[error("cannot run the credential plugin {command}: {error}{}", hint_suffix(.hint))]
    Start {
        /// The command.
        command: String,
        /// Why it could not start.
        error: std::io::Error,
        /// The kubeconfig's `installHint`.
        hint: Option<String>,
    },
    /// `interactiveMode: Always` and no terminal to interact on.
    #[error(
        "the credential plugin {command} needs a terminal (interactiveMode: Always) and stdin \
         is not one; run kreflect from a terminal, or log in first"
    )]
    NeedsTerminal {
        /// The command.
        command: String,
    },
    /// The plugin exited unsuccessfully.
    #[error("the credential plugin {command} failed ({status}){}", stderr_suffix(.stderr))]
    Failed {
        /// The command.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// A refresh has run longer than a request waits for it (a login prompt, a hung plugin).
    #[error(
        "the credential plugin {command} has not printed a new token after {} s; requests wait \
         for it to finish",
        .waited.as_secs()
    )]
    StillRunning {
        /// The command.
        command: String,
        /// How long the request waited.
        waited: Duration,
    },
    /// The plugin succeeded but printed no usable credential.
    #[error("the credential plugin {command} printed no usable credential: {reason}")]
    Output {
        /// The command.
        command: String,
        /// What is wrong with its output.
        reason: String,
    },
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref()
        .map(str::trim)
        .filter(|hint| !hint.is_empty())
        .map(|hint| format!("; {hint}"))
        .unwrap_or_default()
}

/// `: ` and the plugin's stderr, trimmed and on one line: its control characters escaped, as
/// the server's words are, since the error goes into logs that do not escape it again.
fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::quote::escape_controls(stderr))
    }
}

/// The `ExecCredential` a plugin prints.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential {
    api_version: Option<String>,
    status: Option<ExecCredentialStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialStatus {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
    expiration_timestamp: Option<Time>,
}

/// Whether a credential plugin may use this process's terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PluginTerminal {
    /// As client-go: stdin is passed on when it is a terminal (and `interactiveMode` allows),
    /// and stderr is shown as the plugin runs when it is one.
    #[default]
    Shared,
    /// Never: stdin closed, `spec.interactive` false, stderr only kept for the error line.
    /// For shell completion, where the terminal is the shell's: a prompt would land in the
    /// line being edited, and a plugin still reading after the completion gave up would take
    /// the user's keys.
    Withheld,
}

/// Runs the plugin once and reads the credential it prints. Blocks until it exits.
pub fn run(plugin: &ExecConfig, terminal: PluginTerminal) -> Result<Credential, ExecError> {
    let shared = terminal == PluginTerminal::Shared;
    run_on(
        plugin,
        shared && std::io::stdin().is_terminal(),
        shared && std::io::stderr().is_terminal(),
    )
}

/// [`run`], told whether stdin is a terminal the plugin may ask on, and whether to show its
/// stderr as it runs.
fn run_on(
    plugin: &ExecConfig,
    stdin_is_terminal: bool,
    echo_stderr: bool,
) -> Result<Credential, ExecError> {
    let command = plugin
        .command
        .clone()
        .filter(|command| !command.is_empty())
        .ok_or(ExecError::NoCommand)?;
    let interactive = match plugin.interactive_mode {
        Some(ExecInteractiveMode::Never) => false,
        Some(ExecInteractiveMode::Always) => {
            if !stdin_is_terminal {
                return Err(ExecError::NeedsTerminal { command });
            }
            true
        }
        _ => stdin_is_terminal,
    };
    let mut child =
        Command::new(&command)
            .args(plugin.args.iter().flatten())
            .envs(
                plugin.env.iter().flatten().filter_map(|pair| {
                    Some((pair.get("name")?.as_str(), pair.get("value")?.as_str()))
                }),
            )
            .env("KUBERNETES_EXEC_INFO", exec_info(plugin, interactive))
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| ExecError::Start {
                command: command.clone(),
                error,
                hint: plugin.install_hint.clone(),
            })?;
    let stderr = child
        .stderr
        .take()
        .map(|stderr| std::thread::spawn(move || keep_stderr(stderr, echo_stderr)));
    let mut stdout = Vec::new();
    let read = match child.stdout.take() {
        // One byte more than allowed tells too much from just enough. Our end of the pipe is
        // closed here, so a plugin still printing gets EPIPE (SIGPIPE) and exits.
        Some(out) => out
            .take(MAX_OUTPUT + 1)
            .read_to_end(&mut stdout)
            .map(|_| ()),
        None => Ok(()),
    };
    let status = child.wait();
    let stderr = stderr
        .and_then(|thread| thread.join().ok())
        .unwrap_or_default();
    let status = status.map_err(|error| ExecError::Start {
        command: command.clone(),
        error,
        hint: None,
    })?;
    // Before the exit status: a plugin cut off this way fails because we stopped reading.
    if stdout.len() as u64 > MAX_OUTPUT {
        return Err(ExecError::Output {
            command,
            reason: format!(
                "it printed more than {} MiB (a credential is a few KiB)",
                MAX_OUTPUT / (1024 * 1024)
            ),
        });
    }
    if !status.success() {
        return Err(ExecError::Failed {
            command,
            status,
            stderr,
        });
    }
    read.map_err(|err| ExecError::Output {
        command: command.clone(),
        reason: format!("cannot read its output: {err}"),
    })?;
    parse(plugin, &stdout).map_err(|reason| ExecError::Output { command, reason })
}

/// `KUBERNETES_EXEC_INFO`: what client-go tells a plugin.
fn exec_info(plugin: &ExecConfig, interactive: bool) -> String {
    let mut spec = serde_json::json!({ "interactive": interactive });
    if plugin.provide_cluster_info
        && let Some(cluster) = &plugin.cluster
        && let Ok(cluster) = serde_json::to_value(cluster)
    {
        spec["cluster"] = cluster;
    }
    serde_json::json!({
        "apiVersion": plugin.api_version,
        "kind": "ExecCredential",
        "spec": spec,
    })
    .to_string()
}

/// Reads the plugin's stderr to its end, echoing it when `echo`, and keeps its last
/// [`MAX_STDERR_KEPT`] bytes.
fn keep_stderr(mut stderr: impl Read, echo: bool) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(read) = stderr.read(&mut buffer) {
        if read == 0 {
            break;
        }
        if echo {
            let _ = std::io::stderr().write_all(&buffer[..read]);
        }
        kept.extend_from_slice(&buffer[..read]);
        if kept.len() > MAX_STDERR_KEPT {
            kept.drain(..kept.len() - MAX_STDERR_KEPT);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The credential in a plugin's output, as client-go validates it.
fn parse(plugin: &ExecConfig, stdout: &[u8]) -> Result<Credential, String> {
    let credential: ExecCredential =
        serde_json::from_slice(stdout).map_err(|err| format!("not an ExecCredential: {err}"))?;
    if let (Some(expected), Some(printed)) = (&plugin.api_version, &credential.api_version)
        && expected != printed
    {
        return Err(format!(
            "the kubeconfig asks for apiVersion {expected} and the plugin printed {printed}"
        ));
    }
    let status = credential
        .status
        .ok_or_else(|| "it has no status".to_owned())?;
    let certificate = match (status.client_certificate_data, status.client_key_data) {
        (Some(certificate), Some(key)) => Some((certificate, key)),
        (None, None) => None,
        _ => return Err("it has a client certificate without its key, or a key alone".to_owned()),
    };
    let token = status.token.filter(|token| !token.is_empty());
    if token.is_none() && certificate.is_none() {
        return Err("it has neither a token nor a client certificate".to_owned());
    }
    Ok(Credential {
        token,
        certificate,
        expires: status
            .expiration_timestamp
            .map(|Time(expires)| SystemTime::from(expires)),
    })
}

/// The exec plugin's token on every request, refreshed by running the plugin again when it is
/// about to expire. Clones share the token.
///
/// A refresh holds the token's lock until the plugin exits, even after the request that started
/// it has stopped waiting ([`REFRESH_WAIT`], or the request's own timeout): the requests after
/// it wait for that run and take its token, so a slow plugin (a login that opens a browser) is
/// never run twice at once.
#[derive(Clone)]
pub struct ExecAuth {
    plugin: Arc<ExecConfig>,
    /// Whether its runs may use the terminal.
    terminal: PluginTerminal,
    current: Arc<tokio::sync::Mutex<Token>>,
    /// How long a request waits for a refresh: [`REFRESH_WAIT`].
    wait: Duration,
}

/// A token and when it must be refreshed.
struct Token {
    header: HeaderValue,
    refresh_at: Option<SystemTime>,
}

impl ExecAuth {
    /// Reuses `credential`, which `plugin` printed, until it expires, then runs `plugin` again
    /// with `terminal`. `None` when it has no token (a client certificate goes into the TLS
    /// configuration instead).
    pub fn new(
        plugin: ExecConfig,
        credential: &Credential,
        terminal: PluginTerminal,
    ) -> Option<Result<ExecAuth, ExecError>> {
        let token = credential.token.as_ref()?;
        let command = plugin.command.clone().unwrap_or_default();
        Some(
            token_of(token, credential.expires, &command).map(|token| ExecAuth {
                plugin: Arc::new(plugin),
                terminal,
                current: Arc::new(tokio::sync::Mutex::new(token)),
                wait: REFRESH_WAIT,
            }),
        )
    }

    /// The `Authorization` header for the next request; runs the plugin again (on a blocking
    /// thread, one run at a time) when the token is about to expire, waiting at most
    /// [`REFRESH_WAIT`] for it.
    async fn header(&self) -> Result<HeaderValue, ExecError> {
        tokio::time::timeout(self.wait, self.current_header())
            .await
            .unwrap_or_else(|_| {
                Err(ExecError::StillRunning {
                    command: self.plugin.command.clone().unwrap_or_default(),
                    waited: self.wait,
                })
            })
    }

    async fn current_header(&self) -> Result<HeaderValue, ExecError> {
        let current = Arc::clone(&self.current).lock_owned().await;
        if current
            .refresh_at
            .is_none_or(|refresh_at| SystemTime::now() < refresh_at)
        {
            return Ok(current.header.clone());
        }
        let plugin = Arc::clone(&self.plugin);
        let terminal = self.terminal;
        let command = plugin.command.clone().unwrap_or_default();
        tracing::debug!(command = %command, "the exec credential expires; running the plugin again");
        // The run takes the lock with it: see the type's doc.
        tokio::task::spawn_blocking(move || refresh(&plugin, terminal, current))
            .await
            .map_err(|err| ExecError::Output {
                command,
                reason: format!("running it panicked: {err}"),
            })?
    }
}

/// Runs the plugin again and puts its token in `current`; blocks until the plugin exits.
fn refresh(
    plugin: &ExecConfig,
    terminal: PluginTerminal,
    mut current: tokio::sync::OwnedMutexGuard<Token>,
) -> Result<HeaderValue, ExecError> {
    let command = plugin.command.clone().unwrap_or_default();
    let credential = run(plugin, terminal)?;
    let token = credential.token.as_ref().ok_or_else(|| ExecError::Output {
        command: command.clone(),
        reason: "it printed a client certificate where it printed a token before".to_owned(),
    })?;
    *current = token_of(token, credential.expires, &command)?;
    Ok(current.header.clone())
}

/// A token's header, and when to refresh it.
fn token_of(token: &str, expires: Option<SystemTime>, command: &str) -> Result<Token, ExecError> {
    let mut header =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ExecError::Output {
            command: command.to_owned(),
            reason: "its token is not a valid HTTP header value".to_owned(),
        })?;
    header.set_sensitive(true);
    Ok(Token {
        header,
        refresh_at: expires.map(|expires| expires - REFRESH_MARGIN),
    })
}

impl<S> tower::Layer<S> for ExecAuth {
    type Service = WithExecAuth<S>;

    fn layer(&self, inner: S) -> WithExecAuth<S> {
        WithExecAuth {
            auth: self.clone(),
            inner,
        }
    }
}

/// `inner` with the exec plugin's token on every request. A request the server answers 401
/// is sent once more, with a token from a new run of the plugin, as client-go runs the plugin
/// again on a 401 (its reflector then retries): the server stopped taking the token before its
/// `expirationTimestamp` (revoked, or a clock behind the server's). When the plugin prints the
/// same token again, the 401 stands.
#[derive(Clone)]
pub struct WithExecAuth<S> {
    auth: ExecAuth,
    inner: S,
}

impl<S, B> tower::Service<Request<Body>> for WithExecAuth<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tower::BoxError>,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = tower::BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, tower::BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), tower::BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The service that was polled ready takes the request (tower's rule); a clone is left.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(self.auth.clone().send(ready, request))
    }
}

impl ExecAuth {
    /// Sends `request` through `inner` with the token, and once more with a new one on a 401.
    async fn send<S, B>(
        self,
        mut inner: S,
        mut request: Request<Body>,
    ) -> Result<Response<B>, tower::BoxError>
    where
        S: tower::Service<Request<Body>, Response = Response<B>>,
        S::Error: Into<tower::BoxError>,
    {
        let again = copy(&request);
        let used = self.header().await?;
        request.headers_mut().insert(AUTHORIZATION, used.clone());
        let response = inner.call(request).await.map_err(Into::into)?;
        let Some(mut again) = again.filter(|_| response.status() == StatusCode::UNAUTHORIZED)
        else {
            return Ok(response);
        };
        self.expire(&used);
        let fresh = self.header().await?;
        if fresh == used {
            return Ok(response);
        }
        tracing::debug!(command = %self.plugin.command.as_deref().unwrap_or_default(), "the server refused the exec credential; sending the request again with a new one");
        again.headers_mut().insert(AUTHORIZATION, fresh);
        inner
            .ready()
            .await
            .map_err(Into::into)?
            .call(again)
            .await
            .map_err(Into::into)
    }

    /// Makes `used` due for a refresh, if it is still the current token (no refresh is running
    /// and none has replaced it).
    fn expire(&self, used: &HeaderValue) {
        if let Ok(mut current) = self.current.try_lock()
            && current.header == *used
        {
            current.refresh_at = Some(SystemTime::UNIX_EPOCH);
        }
    }
}

/// A copy of `request` to send again, when its body can be copied (every kreflect request is a
/// GET without one).
fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let mut copy = Request::new(request.body().try_clone()?);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(api_version: Option<&str>) -> ExecConfig {
        serde_json::from_value(serde_json::json!({
            "command": "plugin",
            "apiVersion": api_version,
        }))
        .expect("exec config")
    }

    #[test]
    fn a_token_and_its_expiry_are_read() {
        let printed = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
            "status":{"token":"t0k","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#;
        let credential =
            parse(&plugin(Some("client.authentication.k8s.io/v1")), printed).expect("credential");
        assert_eq!(credential.token.as_deref(), Some("t0k"));
        let expires = credential.expires.expect("expiry");
        let since_epoch = expires
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after the epoch");
        assert_eq!(since_epoch.as_secs(), 1_893_553_445);
    }

    #[test]
    fn output_without_a_credential_is_refused() {
        for (printed, expected) in [
            (&b"not json"[..], "not an ExecCredential"),
            (br#"{"kind":"ExecCredential"}"#, "no status"),
            (br#"{"status":{"token":""}}"#, "neither a token"),
            (br#"{"status":{"clientKeyData":"k"}}"#, "without its key"),
            (
                br#"{"apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}"#,
                "asks for apiVersion client.authentication.k8s.io/v1 and the plugin printed",
            ),
        ] {
            let err = parse(&plugin(Some("client.authentication.k8s.io/v1")), printed)
                .err()
                .unwrap_or_else(|| panic!("{printed:?} accepted"));
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
    }

    #[test]
    fn a_failed_plugin_is_named_with_its_stderr() {
        let config: ExecConfig = serde_json::from_value(serde_json::json!({
            "command": "sh",
            "args": ["-c", "echo 'token expired; run login' >&2; exit 3"],
        }))
        .expect("exec config");
        let err = run_on(&config, false, false).expect_err("the plugin fails");
        assert_eq!(
            err.to_string(),
            "the credential plugin sh failed (exit status: 3): token expired; run login"
        );
    }

    #[test]
    fn a_plugin_that_prints_megabytes_is_told_so_not_reported_as_failing() {
        let config: ExecConfig = serde_json::from_value(serde_json::json!({
            "command": "sh",
            "args": ["-c", "head -c 3000000 /dev/zero | tr '\\0' x"],
        }))
        .expect("exec config");
        let err = run_on(&config, false, false).expect_err("no credential");
        assert_eq!(
            err.to_string(),
            "the credential plugin sh printed no usable credential: it printed more than 1 MiB \
             (a credential is a few KiB)"
        );
    }

    #[test]
    fn a_failed_plugins_stderr_is_one_line_without_raw_control_characters() {
        // Logs carry the error as a field; with -v, or in a log file, nothing escapes it later.
        let config: ExecConfig = serde_json::from_value(serde_json::json!({
            "command": "sh",
            "args": ["-c", "printf 'line one\\n\\033]0;pwned\\007\\033[31mred\\n' >&2; exit 1"],
        }))
        .expect("exec config");
        let err = run_on(&config, false, false).expect_err("the plugin fails");
        assert_eq!(
            err.to_string(),
            "the credential plugin sh failed (exit status: 1): line one\\n\\x1b]0;pwned\\x07\\x1b[31mred"
        );
    }

    #[test]
    fn a_missing_plugin_says_how_to_install_it() {
        let config: ExecConfig = serde_json::from_value(serde_json::json!({
            "command": "/nonexistent/kreflect-test-plugin",
            "installHint": "install it with brew",
        }))
        .expect("exec config");
        let message = run_on(&config, false, false)
            .expect_err("no such plugin")
            .to_string();
        assert!(
            message.starts_with(
                "cannot run the credential plugin /nonexistent/kreflect-test-plugin: "
            ) && message.ends_with("; install it with brew"),
            "{message}"
        );
    }

    /// A plugin that counts its runs in `runs` and then takes `seconds` to print a token.
    fn slow_plugin(runs: &std::path::Path, seconds: u32) -> ExecConfig {
        serde_json::from_value(serde_json::json!({
            "command": "sh",
            "args": ["-c", format!(
                "echo run >> '{}'; sleep {seconds}; echo '{{\"status\":{{\"token\":\"new\"}}}}'",
                runs.display()
            )],
        }))
        .expect("exec config")
    }

    fn expired_token() -> Credential {
        Credential {
            token: Some("old".to_owned()),
            certificate: None,
            expires: Some(SystemTime::now() - Duration::from_secs(1)),
        }
    }

    fn lines_in(path: &std::path::Path) -> usize {
        std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
    }

    #[tokio::test]
    async fn requests_that_give_up_on_a_slow_refresh_never_start_a_second_run() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let runs = dir.path().join("runs");
        let auth = ExecAuth::new(
            slow_plugin(&runs, 2),
            &expired_token(),
            PluginTerminal::Withheld,
        )
        .expect("a token")
        .expect("a valid token");
        // Three requests, each giving up before the plugin prints its token (as a request
        // whose response headers are late does).
        for _ in 0..3 {
            let waited = tokio::time::timeout(Duration::from_millis(300), auth.header()).await;
            assert!(waited.is_err(), "a token before the plugin printed one");
        }
        assert_eq!(lines_in(&runs), 1, "one plugin run at a time");
        // The run goes on without them, and the next request takes its token.
        let header = auth.header().await.expect("the refreshed token");
        assert_eq!(header, "Bearer new");
        assert_eq!(lines_in(&runs), 1, "the token of that run is used");
    }

    #[tokio::test]
    async fn a_request_that_waits_too_long_for_a_refresh_names_the_plugin() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let runs = dir.path().join("runs");
        let mut auth = ExecAuth::new(
            slow_plugin(&runs, 2),
            &expired_token(),
            PluginTerminal::Withheld,
        )
        .expect("a token")
        .expect("a valid token");
        auth.wait = Duration::from_secs(1);
        let err = auth
            .header()
            .await
            .expect_err("the plugin is still running");
        assert_eq!(
            err.to_string(),
            "the credential plugin sh has not printed a new token after 1 s; requests wait for \
             it to finish"
        );
    }

    #[test]
    fn the_plugin_is_told_it_is_not_interactive() {
        let config: ExecConfig = serde_json::from_value(serde_json::json!({
            "command": "sh",
            "apiVersion": "client.authentication.k8s.io/v1",
            "args": ["-c", "printf '{\"status\":{\"token\":\"%s\"}}' \"$(echo \"$KUBERNETES_EXEC_INFO\" | tr -d '\"{}: ,')\""],
        }))
        .expect("exec config");
        let credential = run_on(&config, false, false).expect("credential");
        assert_eq!(
            credential.token.as_deref(),
            Some("apiVersionclient.authentication.k8s.io/v1kindExecCredentialspecinteractivefalse")
        );
    }
}
