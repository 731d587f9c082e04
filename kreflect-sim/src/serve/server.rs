//! The server's lifecycle: bind, accept, serve connections with hyper, restart, shut down; and
//! the public handle tests and the CLI hold.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Request;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::faults::{Fault, FaultQueue};
use super::handler::{ServerState, handle};
use super::request::{RecordedRequest, parse_query};
use super::tls::TlsIdentity;
use crate::options::ServerOptions;
use crate::wire::resources::RESOURCES;
use crate::world::state::World;

/// How long `shutdown` lets connections finish their current response.
const GRACE: Duration = Duration::from_secs(1);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// One run of the accept loop, from start or restart to stop.
#[derive(Debug)]
struct Incarnation {
    /// The listening socket, kept from the start to the shutdown: a restart that closed it
    /// could lose the port to any socket bound meanwhile (another test's server, under load).
    listener: Arc<TcpListener>,
    /// Cancelled to drop every connection at once (and, through its child, stop everything).
    hard: CancellationToken,
    /// Cancelled to stop accepting and end watches, letting responses finish.
    graceful: CancellationToken,
    task: JoinHandle<()>,
}

/// A fake kube-apiserver on `127.0.0.1`, serving pods and the other [`RESOURCES`]
/// over HTTP/1.1 (plain, or over TLS).
#[derive(Debug)]
pub struct FakeApiServer {
    shared: Arc<ServerState>,
    /// The certificate served when `ServerOptions::tls` is set (kept across restarts).
    tls: Option<TlsIdentity>,
    running: tokio::sync::Mutex<Option<Incarnation>>,
    /// Stops whatever is running when the handle is dropped without `shutdown`.
    root: CancellationToken,
    _stop_on_drop: DropGuard,
}

impl FakeApiServer {
    /// Binds `127.0.0.1:0` (a random port) and serves until `shutdown`.
    pub async fn start(options: ServerOptions) -> io::Result<FakeApiServer> {
        let tls = options.tls.then(TlsIdentity::generate).transpose()?;
        let listener = bind("127.0.0.1:0".parse().map_err(io::Error::other)?)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(ServerState {
            worlds: RESOURCES
                .iter()
                .map(|resource| World::of(resource, options.history_limit))
                .collect(),
            options,
            requests: Mutex::new(Vec::new()),
            faults: FaultQueue::default(),
            addr,
            body_bytes_sent: Arc::default(),
        });
        let root = CancellationToken::new();
        let incarnation = spawn(Arc::new(listener), Arc::clone(&shared), tls.as_ref(), &root);
        tracing::info!(%addr, tls = tls.is_some(), "fake API server listening");
        Ok(FakeApiServer {
            shared,
            tls,
            running: tokio::sync::Mutex::new(Some(incarnation)),
            _stop_on_drop: root.clone().drop_guard(),
            root,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.shared.addr)
    }

    /// The PEM of the CA that signed the server's certificate, when serving TLS: what a client
    /// must trust to talk to it.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(TlsIdentity::ca_pem)
    }

    /// A handle to the pods the server serves.
    pub fn cluster(&self) -> World {
        self.shared.pods().clone()
    }

    /// A handle to the objects of another served resource, by plural name (`nodes`,
    /// `deployments`, `widgets`; see [`crate::wire::resources::RESOURCES`]).
    pub fn resource(&self, plural: &str) -> Option<World> {
        self.shared
            .worlds
            .iter()
            .find(|world| world.resource().plural == plural)
            .cloned()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Response body bytes sent so far, all requests together, as on the wire: compressed when
    /// gzipped, without headers and chunk framing (what a client reads, for comparing
    /// compression against none).
    pub fn body_bytes_sent(&self) -> u64 {
        self.shared.body_bytes_sent.load(Ordering::Relaxed)
    }

    /// Queues `fault` for the next request it applies to.
    pub fn inject(&self, fault: Fault) {
        tracing::debug!(?fault, "fault injected");
        self.shared.faults.push(fault);
    }

    /// Applies `fault` to every request it applies to (after any queued fault), until
    /// [`clear_faults`](Self::clear_faults): a server that fails the same way every time.
    pub fn inject_always(&self, fault: Fault) {
        tracing::debug!(?fault, "permanent fault injected");
        self.shared.faults.push_always(fault);
    }

    /// Forgets every injected fault, queued or permanent.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Kubeconfig text (JSON, which is valid YAML) with one cluster (`server` = `url()`, and
    /// `certificate-authority-data` = [`ca_pem`](Self::ca_pem) when serving TLS), one user
    /// (with `token` = the bearer token, if any) and one context `sim`, current, whose
    /// namespace is `default`.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine as _;
        let user = match &self.shared.options.bearer_token {
            Some(token) => json!({ "token": token }),
            None => json!({}),
        };
        let mut cluster = json!({ "server": self.url() });
        if let Some(ca_pem) = self.ca_pem() {
            cluster["certificate-authority-data"] = base64::engine::general_purpose::STANDARD
                .encode(ca_pem)
                .into();
        }
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{ "name": "sim", "cluster": cluster }],
            "users": [{ "name": "sim", "user": user }],
            "contexts": [{
                "name": "sim",
                "context": { "cluster": "sim", "user": "sim", "namespace": "default" }
            }],
            "current-context": "sim",
            "preferences": {},
        });
        format!("{config:#}\n")
    }

    /// Simulates an API server restart: every open connection and watch is dropped, watch
    /// history is forgotten (older resourceVersions are now too old), list snapshots and
    /// continue tokens are invalidated; then it serves again with the same pods. The listening
    /// socket is kept throughout, so no other socket can take the port: a connection made
    /// during the restart waits in the backlog and is served by the restarted server (a real
    /// server's port refuses connections until it is back).
    pub async fn restart(&self) {
        let mut running = self.running.lock().await;
        let Some(Incarnation {
            listener,
            hard,
            task,
            ..
        }) = running.take()
        else {
            return;
        };
        hard.cancel();
        if let Err(error) = task.await {
            tracing::warn!(%error, "accept loop ended abnormally");
        }
        for world in &self.shared.worlds {
            world.compact();
        }
        *running = Some(spawn(
            listener,
            Arc::clone(&self.shared),
            self.tls.as_ref(),
            &self.root,
        ));
        tracing::info!(addr = %self.shared.addr, "fake API server restarted");
    }

    /// Stops accepting, ends open watches cleanly and closes connections (those still busy
    /// after a short grace period are dropped).
    pub async fn shutdown(self) {
        let Some(mut incarnation) = self.running.lock().await.take() else {
            return;
        };
        incarnation.graceful.cancel();
        // The accept loop drops its handle when it stops: the port then refuses connections.
        drop(incarnation.listener);
        if tokio::time::timeout(GRACE, &mut incarnation.task)
            .await
            .is_err()
        {
            incarnation.hard.cancel();
            if let Err(error) = incarnation.task.await {
                tracing::warn!(%error, "accept loop ended abnormally");
            }
        }
        tracing::info!(addr = %self.shared.addr, "fake API server stopped");
    }
}

/// A listener on `addr` with `SO_REUSEADDR`, so a restart can rebind the port at once.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn spawn(
    listener: Arc<TcpListener>,
    shared: Arc<ServerState>,
    tls: Option<&TlsIdentity>,
    root: &CancellationToken,
) -> Incarnation {
    let hard = root.child_token();
    let graceful = hard.child_token();
    let task = tokio::spawn(accept_loop(
        Arc::clone(&listener),
        shared,
        tls.map(|identity| identity.acceptor().clone()),
        hard.clone(),
        graceful.clone(),
    ));
    Incarnation {
        listener,
        hard,
        graceful,
        task,
    }
}

async fn accept_loop(
    listener: Arc<TcpListener>,
    shared: Arc<ServerState>,
    tls: Option<TlsAcceptor>,
    hard: CancellationToken,
    graceful: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = graceful.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    connections.spawn(connection(
                        stream,
                        peer,
                        tls.clone(),
                        Arc::clone(&shared),
                        hard.clone(),
                        graceful.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One accepted connection: the TLS handshake first when serving TLS (a client that refuses
/// the certificate ends here, before any request), then HTTP.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    shared: Arc<ServerState>,
    hard: CancellationToken,
    graceful: CancellationToken,
) {
    let Some(acceptor) = tls else {
        return serve_connection(stream, shared, hard, graceful).await;
    };
    let handshake = tokio::select! {
        _ = hard.cancelled() => return,
        handshake = acceptor.accept(stream) => handshake,
    };
    match handshake {
        Ok(stream) => serve_connection(stream, shared, hard, graceful).await,
        Err(error) => tracing::debug!(%peer, %error, "TLS handshake failed"),
    }
}

/// Whether `request` asks for a watch (`watch=1` or `watch=true`).
fn is_watch<B>(request: &Request<B>) -> bool {
    let query = request.uri().query().unwrap_or("");
    parse_query(query)
        .iter()
        .any(|(name, value)| name == "watch" && matches!(value.as_str(), "1" | "true"))
}

async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    shared: Arc<ServerState>,
    hard: CancellationToken,
    graceful: CancellationToken,
) {
    // Watches end cleanly on `graceful`; `hard` drops the connection.
    let stop = graceful.clone();
    let service = service_fn(move |request| {
        let response = handle(&shared, &request, &stop);
        let delay = Some(shared.options.response_delay)
            .filter(|delay| !delay.is_zero() && !is_watch(&request));
        async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, Infallible>(response)
        }
    });
    let mut connection = pin!(
        http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
    );
    tokio::select! {
        biased;
        _ = hard.cancelled() => {}
        result = connection.as_mut() => log_end(result),
        _ = graceful.cancelled() => {
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                _ = hard.cancelled() => {}
                result = connection.as_mut() => log_end(result),
            }
        }
    }
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
