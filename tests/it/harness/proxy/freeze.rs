//! A TCP proxy that can freeze its connections, as a frozen NAT, load balancer or proxy does:
//! after [`FreezeProxy::freeze`], the connections open at that moment pass no bytes either way
//! and are not closed (the proxy's own TCP stack keeps acknowledging what arrives, and answers
//! keep-alive probes), while connections opened later work normally.

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::{Listener, Log};

/// A proxy in front of one upstream address. Dropping it closes every connection.
pub struct FreezeProxy {
    listener: Listener,
    /// One token per connection opened since the last freeze: cancelled = frozen.
    live: Log<CancellationToken>,
}

impl FreezeProxy {
    /// A proxy on `127.0.0.1:0` forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FreezeProxy {
        let live = Log::default();
        let listener = Listener::start({
            let live = live.clone();
            move |client| {
                let live = live.clone();
                async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    // Registered before any byte passes, so a freeze cannot miss it.
                    let frozen = CancellationToken::new();
                    live.push(frozen.clone());
                    pump(client, server, frozen).await;
                }
            }
        })
        .await;
        FreezeProxy { listener, live }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr
    }

    /// Freezes every connection open now; new connections still pass bytes. Returns how many
    /// connections were opened since the last freeze (closed ones included).
    pub fn freeze(&self) -> usize {
        let frozen = self.live.take();
        for connection in &frozen {
            connection.cancel();
        }
        frozen.len()
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
