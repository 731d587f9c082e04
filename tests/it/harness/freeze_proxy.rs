//! A TCP proxy that can freeze its connections, as a frozen NAT, load balancer or proxy does:
//! after [`FreezeProxy::freeze`], the connections open at that moment pass no bytes either way
//! and are not closed (the proxy's own TCP stack keeps acknowledging what arrives, and answers
//! keep-alive probes), while connections opened later work normally.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A proxy in front of one upstream address. Dropping it closes every connection.
pub struct FreezeProxy {
    addr: SocketAddr,
    /// One token per live connection: cancelled = frozen.
    live: Arc<Mutex<Vec<CancellationToken>>>,
    /// Accepts connections; owns every connection task (aborted on drop).
    _tasks: JoinSet<()>,
}

impl FreezeProxy {
    /// A proxy on `127.0.0.1:0` forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FreezeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let live = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(listener, upstream, Arc::clone(&live)));
        FreezeProxy {
            addr,
            live,
            _tasks: tasks,
        }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Freezes every connection open now; new connections still pass bytes. Returns how many
    /// connections were opened since the last freeze (closed ones included).
    pub fn freeze(&self) -> usize {
        let frozen: Vec<_> = self
            .live
            .lock()
            .expect("live connections")
            .drain(..)
            .collect();
        for connection in &frozen {
            connection.cancel();
        }
        frozen.len()
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    live: Arc<Mutex<Vec<CancellationToken>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let Ok(server) = TcpStream::connect(upstream).await else {
            continue;
        };
        let frozen = CancellationToken::new();
        live.lock().expect("live connections").push(frozen.clone());
        connections.spawn(pump(client, server, frozen));
        // Forget finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// Copies bytes both ways until either side closes, or until frozen: then holds both sockets
/// open, reading and writing nothing, until the proxy is dropped.
/// The freeze is checked first on every wake-up: polled first, the copy could forward bytes
/// both ways in one poll after the freeze (a request out and its answer back).
async fn pump(mut client: TcpStream, mut server: TcpStream, frozen: CancellationToken) {
    tokio::select! {
        biased;
        () = frozen.cancelled() => std::future::pending::<()>().await,
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
    }
}
