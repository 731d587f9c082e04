//! Plain-HTTP requests through an HTTP proxy, as Go's `net/http` sends them: not in a `CONNECT`
//! tunnel (Go tunnels only to `https` servers) but to the proxy itself, each request line
//! carrying the absolute URL (`GET http://server:8080/api/v1/pods HTTP/1.1`) and the proxy's
//! credentials in `Proxy-Authorization`. Proxies that refuse `CONNECT` to ports other than 443
//! (squid's default configuration) forward these.
//!
//! [`Forward`] connects to the proxy whatever the server, and marks the connection proxied:
//! hyper then writes request lines in absolute form. The header is added by the stack
//! ([`super::client`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use hyper_util::client::legacy::connect::{Connected, Connection};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector that opens every connection to `proxy`, with `inner` (plain TCP, or TLS for an
/// `https://` proxy).
#[derive(Clone)]
pub struct Forward<C> {
    proxy: http::Uri,
    inner: C,
}

impl<C> Forward<C> {
    /// Connections to `proxy` through `inner`.
    pub fn new(proxy: http::Uri, inner: C) -> Forward<C> {
        Forward { proxy, inner }
    }
}

/// Why no connection to the proxy could be opened.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ForwardError(BoxError);

impl<C> tower::Service<http::Uri> for Forward<C>
where
    C: tower::Service<http::Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = Proxied<C::Response>;
    type Error = ForwardError;
    type Future = BoxFuture<'static, Result<Proxied<C::Response>, ForwardError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ForwardError>> {
        self.inner
            .poll_ready(cx)
            .map_err(|err| ForwardError(err.into()))
    }

    fn call(&mut self, _server: http::Uri) -> Self::Future {
        let connecting = self.inner.call(self.proxy.clone());
        Box::pin(async move {
            connecting
                .await
                .map(Proxied)
                .map_err(|err| ForwardError(err.into()))
        })
    }
}

/// A connection to the proxy, which hyper sends absolute-form requests on.
pub struct Proxied<T>(T);

impl<T: Connection> Connection for Proxied<T> {
    fn connected(&self) -> Connected {
        self.0.connected().proxy(true)
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Proxied<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Proxied<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}
