//! The test proxies: [`connect`] (HTTP CONNECT, as squid is to kubectl), [`socks5`] (RFC 1928)
//! and [`freeze`] (a TCP relay that freezes its connections, as a frozen NAT does), and what
//! they share: a listener on `127.0.0.1:0` serving each connection in a task of its own, the
//! log of the requests received, and dialing a target through the proxy's own host table.

pub mod connect;
pub mod freeze;
pub mod socks5;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A listener on `127.0.0.1:0` that serves each connection in a task of its own. Dropping it
/// closes the listener and every connection.
struct Listener {
    addr: SocketAddr,
    /// The accept loop, which owns every connection task (all aborted on drop).
    _tasks: JoinSet<()>,
}

impl Listener {
    async fn start<F, Fut>(serve: F) -> Listener
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(listener, serve));
        Listener {
            addr,
            _tasks: tasks,
        }
    }
}

async fn accept_loop<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        connections.spawn(serve(client));
        // Forget finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// What a proxy received, in order, shared by its connection tasks.
struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Log<T> {
    fn push(&self, entry: T) {
        self.0.lock().expect("proxy log").push(entry);
    }

    fn entries(&self) -> Vec<T> {
        self.0.lock().expect("proxy log").clone()
    }

    /// The entries so far, leaving the log empty.
    fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().expect("proxy log"))
    }
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::default())
    }
}

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(Arc::clone(&self.0))
    }
}

/// Host names a proxy resolves itself, to the IP given (other names go through the system
/// resolver).
pub type Hosts = HashMap<String, IpAddr>;

/// `host:port` or `[v6]:port`.
fn split_target(target: &str) -> Option<(&str, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host, port.parse().ok()?))
}

/// A TCP connection to `host:port`, `host` resolved through `hosts` first.
async fn dial(hosts: &Hosts, host: &str, port: u16) -> io::Result<TcpStream> {
    match hosts.get(host) {
        Some(ip) => TcpStream::connect((*ip, port)).await,
        None => TcpStream::connect((host, port)).await,
    }
}
