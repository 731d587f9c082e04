//! End-to-end tests of the fake server over real HTTP (a raw TCP client that dechunks): the
//! client and helpers here, the tests by subject in `tests/`.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::*;

mod access;
mod gzip;
mod list;
mod metadata;
mod protobuf;
mod server;
mod watch;

const LIMIT: Duration = Duration::from_secs(5);

/// A response whose body is read incrementally.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    stream: TcpStream,
    raw: Vec<u8>,
    chunked: bool,
    data: Vec<u8>,
    /// The body ended (terminal chunk, Content-Length reached, or EOF).
    done: bool,
    /// The body ended properly (not cut).
    complete: bool,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Moves decoded body bytes from `raw` to `data`.
    fn decode(&mut self) {
        if !self.chunked {
            self.data.append(&mut self.raw);
            if let Some(length) = self
                .header("content-length")
                .and_then(|l| l.parse::<usize>().ok())
                && self.data.len() >= length
            {
                self.done = true;
                self.complete = true;
            }
            return;
        }
        while let Some(end) = self.raw.windows(2).position(|w| w == b"\r\n") {
            let size_text = std::str::from_utf8(&self.raw[..end]).unwrap();
            let size = usize::from_str_radix(size_text.trim(), 16).unwrap();
            if self.raw.len() < end + 2 + size + 2 {
                return;
            }
            self.data
                .extend_from_slice(&self.raw[end + 2..end + 2 + size]);
            self.raw.drain(..end + 2 + size + 2);
            if size == 0 {
                self.done = true;
                self.complete = true;
                return;
            }
        }
    }

    async fn read_more(&mut self) {
        let mut buffer = vec![0; 64 * 1024];
        let n = timeout(LIMIT, self.stream.read(&mut buffer))
            .await
            .expect("response timed out")
            .unwrap_or(0);
        if n == 0 {
            self.done = true;
        }
        self.raw.extend_from_slice(&buffer[..n]);
        self.decode();
    }

    /// The next line of the body, without its newline; `None` at the end.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = self.data.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.data.drain(..=at).collect();
                return Some(String::from_utf8_lossy(&line[..at]).into_owned());
            }
            if self.done {
                return None;
            }
            self.read_more().await;
        }
    }

    /// The next line parsed as a watch event.
    async fn event(&mut self) -> Option<Value> {
        self.line().await.map(|l| serde_json::from_str(&l).unwrap())
    }

    async fn body(&mut self) -> Vec<u8> {
        while !self.done {
            self.read_more().await;
        }
        std::mem::take(&mut self.data)
    }

    async fn json(&mut self) -> Value {
        serde_json::from_slice(&self.body().await).unwrap()
    }
}

async fn get(server: &FakeApiServer, target: &str) -> Reply {
    request(server, "GET", target, &[]).await
}

async fn request(
    server: &FakeApiServer,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut buffer = [0; 4096];
        let n = timeout(LIMIT, stream.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before the response head");
        raw.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let mut reply = Reply {
        status,
        headers,
        stream,
        raw: raw[end + 4..].to_vec(),
        chunked,
        data: Vec::new(),
        done: false,
        complete: false,
    };
    reply.decode();
    reply
}

async fn server_with(options: ServerOptions) -> FakeApiServer {
    FakeApiServer::start(options).await.unwrap()
}

async fn server() -> FakeApiServer {
    server_with(ServerOptions {
        bookmark_interval: Duration::from_millis(100),
        ..ServerOptions::default()
    })
    .await
}

/// [`server`] with the WatchList feature (v1.32+): it streams lists.
async fn streaming_server() -> FakeApiServer {
    server_with(ServerOptions {
        bookmark_interval: Duration::from_millis(100),
        watch_list: crate::WatchListSupport::Supported,
        ..ServerOptions::default()
    })
    .await
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["metadata"]["namespace"].as_str().unwrap(),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn small_pod(namespace: &str, name: &str) -> Value {
    serde_json::json!({"metadata": {"name": name, "namespace": namespace}, "spec": {"containers": []}, "status": {}})
}

/// The query of a streaming list (`sendInitialEvents=true`).
const STREAMING: &str = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1";

/// `bytes` gunzipped.
fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map(|_| out)
}
