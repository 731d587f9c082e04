//! End-to-end tests of the fake server over real HTTP (a raw TCP client that dechunks).

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::*;

mod protobuf;

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

#[tokio::test]
async fn paged_list_serves_one_snapshot_with_every_item_once() {
    let server = server().await;
    let cluster = server.cluster();
    for name in ["e", "a", "d", "b", "c"] {
        cluster.create_pod("shop", name);
    }
    cluster.create_pod("other", "x");

    let mut reply = get(&server, "/api/v1/namespaces/shop/pods?limit=2").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-cache, private"));
    let first = reply.json().await;
    assert_eq!(first["kind"], "PodList");
    assert!(
        first["items"][0].get("kind").is_none(),
        "items carry no kind"
    );
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    let mut seen = names(&first);
    let mut token = first["metadata"]["continue"].as_str().unwrap().to_owned();

    // Changes between pages do not show up: the snapshot is consistent.
    cluster.create_pod("shop", "bb");
    cluster.delete_pod("shop", "e");
    loop {
        let page = get(
            &server,
            &format!("/api/v1/namespaces/shop/pods?limit=2&continue={token}"),
        )
        .await
        .json()
        .await;
        assert_eq!(page["metadata"]["resourceVersion"], rv.as_str());
        seen.extend(names(&page));
        match page["metadata"]["continue"].as_str() {
            Some(next) => token = next.to_owned(),
            None => {
                assert!(page["metadata"].get("remainingItemCount").is_none());
                break;
            }
        }
    }
    assert_eq!(seen, vec!["shop/a", "shop/b", "shop/c", "shop/d", "shop/e"]);

    let all = get(&server, "/api/v1/pods").await.json().await;
    assert_eq!(names(&all), cluster.keys());
    assert_eq!(
        all["metadata"]["resourceVersion"],
        cluster.resource_version().to_string()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn continue_after_compaction_is_410_expired_with_a_fresh_token() {
    let server = server().await;
    let cluster = server.cluster();
    for name in ["a", "b", "c"] {
        cluster.create_pod("shop", name);
    }
    let first = get(&server, "/api/v1/namespaces/shop/pods?limit=1")
        .await
        .json()
        .await;
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    cluster.compact();
    let mut reply = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?limit=1&continue={token}"),
    )
    .await;
    assert_eq!(reply.status, 410);
    let status = reply.json().await;
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    let fresh = status["metadata"]["continue"].as_str().unwrap();
    // The fresh token continues (inconsistently) from the current state.
    let rest = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?continue={fresh}"),
    )
    .await
    .json()
    .await;
    assert_eq!(names(&rest), vec!["shop/b", "shop/c"]);

    let mut garbage = get(
        &server,
        "/api/v1/namespaces/shop/pods?limit=1&continue=%21%21",
    )
    .await;
    assert_eq!(garbage.status, 400);
    assert_eq!(garbage.json().await["reason"], "BadRequest");
    server.shutdown().await;
}

#[tokio::test]
async fn watch_from_list_rv_sees_changes_in_order_then_times_out_with_a_bookmark() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod("shop", "old");
    let list = get(&server, "/api/v1/namespaces/shop/pods")
        .await
        .json()
        .await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = cluster.create_pod_with(small_pod("shop", "w1"));
    cluster.create_pod("elsewhere", "x");
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1"),
    )
    .await;
    assert_eq!(watch.status, 200);
    assert_eq!(watch.header("transfer-encoding"), Some("chunked"));
    let event = watch.event().await.unwrap();
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["kind"], "Pod");
    assert_eq!(event["object"]["apiVersion"], "v1");
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        added.to_string()
    );
    // Live changes.
    let modified = cluster.update_pod("shop", "w1").unwrap();
    let deleted = cluster.delete_pod("shop", "w1").unwrap();
    let mut types = Vec::new();
    while let Some(event) = watch.event().await {
        let rv = event["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_owned();
        types.push((event["type"].as_str().unwrap().to_owned(), rv));
    }
    assert!(
        watch.complete,
        "timeoutSeconds ends the chunked body cleanly"
    );
    let objects: Vec<_> = types
        .iter()
        .filter(|(t, _)| t != "BOOKMARK")
        .cloned()
        .collect();
    assert_eq!(
        objects,
        vec![
            ("MODIFIED".to_owned(), modified.to_string()),
            ("DELETED".to_owned(), deleted.to_string())
        ]
    );
    let last = types.last().unwrap();
    assert_eq!(
        last,
        &(
            "BOOKMARK".to_owned(),
            cluster.resource_version().to_string()
        )
    );
    server.shutdown().await;
}

#[tokio::test]
async fn bookmarks_carry_the_global_resource_version() {
    let server = server().await;
    let cluster = server.cluster();
    let mut watch = get(
        &server,
        "/api/v1/namespaces/quiet/pods?watch=true&allowWatchBookmarks=true",
    )
    .await;
    let rv = cluster.create_pod("busy", "x");
    let event = watch.event().await.unwrap();
    assert_eq!(event["type"], "BOOKMARK");
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        rv.to_string()
    );
    assert_eq!(
        event["object"]["metadata"]["creationTimestamp"],
        Value::Null
    );
    cluster.create_pod("busy", "y");
    cluster.bookmark_now();
    let event = watch.event().await.unwrap();
    assert_eq!(event["type"], "BOOKMARK");
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        (rv + 1).to_string()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn watch_without_rv_starts_with_synthetic_added() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod("shop", "b");
    cluster.create_pod("shop", "a");
    cluster.create_pod("other", "c");
    let mut watch = get(
        &server,
        "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=1",
    )
    .await;
    let mut names = Vec::new();
    while let Some(event) = watch.event().await {
        assert_eq!(event["type"], "ADDED");
        names.push(
            event["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(names, vec!["a", "b"]);
    server.shutdown().await;
}

#[tokio::test]
async fn watch_from_a_compacted_rv_is_200_and_one_error_410() {
    let server = server().await;
    let cluster = server.cluster();
    let old = cluster.create_pod("shop", "a");
    cluster.create_pod("shop", "b");
    cluster.compact();
    let current = cluster.resource_version();
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={old}"),
    )
    .await;
    assert_eq!(watch.status, 200);
    let line = watch.line().await.unwrap();
    assert_eq!(
        line,
        format!(
            r#"{{"type":"ERROR","object":{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"too old resource version: {old} ({current})","reason":"Expired","code":410}}}}"#
        )
    );
    assert!(watch.line().await.is_none());
    assert!(watch.complete);
    server.shutdown().await;
}

#[tokio::test]
async fn auth_forbidden_not_found_and_method_not_allowed_are_status_objects() {
    let server = server_with(ServerOptions {
        bearer_token: Some("s3cret".to_owned()),
        deny_cluster_scope: true,
        ..ServerOptions::default()
    })
    .await;
    let mut reply = get(&server, "/api/v1/namespaces/shop/pods").await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body().await,
        br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
    );
    let auth = [("Authorization", "Bearer s3cret")];
    let mut reply = request(&server, "GET", "/api/v1/pods?limit=1", &auth).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    let status = reply.json().await;
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"sim\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
    );
    assert_eq!(status["reason"], "Forbidden");
    let mut reply = request(&server, "GET", "/api/v1/pods?watch=1", &auth).await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.json().await["message"]
            .as_str()
            .unwrap()
            .contains("cannot watch")
    );
    assert_eq!(
        request(&server, "GET", "/api/v1/namespaces/shop/pods", &auth)
            .await
            .status,
        200
    );
    let mut reply = request(&server, "GET", "/api/v1/nosuchthings", &auth).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json().await["reason"], "NotFound");
    let mut reply = request(&server, "DELETE", "/api/v1/namespaces/shop/pods", &auth).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json().await["reason"], "MethodNotAllowed");
    assert!(server.kubeconfig().contains("\"token\": \"s3cret\""));
    server.shutdown().await;
}

#[tokio::test]
async fn a_role_in_one_namespace_forbids_everything_else_but_discovery() {
    let server = server_with(ServerOptions {
        role_namespace: Some("shop".to_owned()),
        ..ServerOptions::default()
    })
    .await;
    assert_eq!(
        get(&server, "/api/v1/namespaces/shop/pods").await.status,
        200
    );
    assert_eq!(
        get(
            &server,
            "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=1"
        )
        .await
        .status,
        200
    );
    assert_eq!(get(&server, "/api/v1").await.status, 200);
    assert_eq!(get(&server, "/apis").await.status, 200);
    let refused = [
        ("/api/v1/pods", "list", "pods", "at the cluster scope"),
        (
            "/api/v1/pods?watch=1",
            "watch",
            "pods",
            "at the cluster scope",
        ),
        (
            "/api/v1/namespaces/other/pods",
            "list",
            "pods",
            "in the namespace \"other\"",
        ),
        ("/api/v1/nodes", "list", "nodes", "at the cluster scope"),
    ];
    for (target, verb, plural, scope) in refused {
        let mut reply = get(&server, target).await;
        assert_eq!(reply.status, 403, "{target}");
        let status = reply.json().await;
        assert_eq!(status["reason"], "Forbidden");
        assert_eq!(
            status["message"],
            format!(
                "{plural} is forbidden: User \"sim\" cannot {verb} resource \"{plural}\" in API group \"\" {scope}"
            ),
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_endpoints_answer_like_the_real_server() {
    let server = server().await;
    let version = get(&server, "/version").await.json().await;
    assert_eq!(version["gitVersion"], "v1.25.0-alpha.2+89aaf7c02dd334");
    assert_eq!(get(&server, "/api").await.json().await["versions"][0], "v1");
    let v1 = get(&server, "/api/v1").await.json().await;
    assert!(
        v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pods")
    );
    assert_eq!(
        get(&server, "/apis").await.json().await["kind"],
        "APIGroupList"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn requests_are_recorded_with_decoded_query() {
    let server = server().await;
    request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?limit=5&labelSelector=app%3Dweb&watch=false",
        &[
            ("Accept", "application/json"),
            ("Authorization", "Bearer x"),
        ],
    )
    .await
    .body()
    .await;
    let recorded = server.requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/api/v1/namespaces/shop/pods");
    assert_eq!(r.param("labelSelector"), Some("app=web"));
    assert_eq!(r.param("limit"), Some("5"));
    assert!(!r.is_watch());
    assert_eq!(r.accept.as_deref(), Some("application/json"));
    assert_eq!(r.authorization.as_deref(), Some("Bearer x"));
    server.shutdown().await;
}

#[tokio::test]
async fn list_status_fault_answers_once_with_retry_after() {
    let server = server().await;
    server.inject(Fault::ListStatus {
        code: 503,
        reason: "ServiceUnavailable".to_owned(),
        retry_after: Some(3),
    });
    let mut reply = get(&server, "/api/v1/namespaces/shop/pods").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("3"));
    let status = reply.json().await;
    assert_eq!(status["reason"], "ServiceUnavailable");
    assert_eq!(status["details"]["retryAfterSeconds"], 3);
    assert_eq!(
        get(&server, "/api/v1/namespaces/shop/pods").await.status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn watch_close_after_ends_cleanly_and_reset_after_cuts_a_line() {
    let server = server().await;
    let cluster = server.cluster();
    let start = cluster.resource_version();
    for name in ["a", "b", "c"] {
        cluster.create_pod_with(small_pod("shop", name));
    }
    server.inject(Fault::WatchCloseAfter(2));
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={start}"),
    )
    .await;
    assert!(watch.event().await.is_some());
    assert!(watch.event().await.is_some());
    assert!(watch.event().await.is_none());
    assert!(watch.complete);

    server.inject(Fault::WatchResetAfter(1));
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={start}"),
    )
    .await;
    assert!(watch.event().await.is_some());
    let rest = watch.body().await;
    assert!(!watch.complete, "the chunked body must be cut");
    assert!(
        !rest.is_empty() && !rest.ends_with(b"\n"),
        "half a line: {:?}",
        String::from_utf8_lossy(&rest)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn watch_expired_after_and_trickle() {
    let server = server().await;
    let cluster = server.cluster();
    let start = cluster.resource_version();
    cluster.create_pod_with(small_pod("shop", "a"));
    cluster.create_pod_with(small_pod("shop", "b"));
    server.inject(Fault::WatchExpiredAfter(1));
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={start}"),
    )
    .await;
    assert_eq!(watch.event().await.unwrap()["type"], "ADDED");
    let error = watch.event().await.unwrap();
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["code"], 410);
    assert!(watch.event().await.is_none());

    server.inject(Fault::WatchTrickle);
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={start}&timeoutSeconds=1"),
    )
    .await;
    let first = watch.event().await.unwrap();
    assert_eq!(first["object"]["metadata"]["name"], "a");
    assert_eq!(
        watch.event().await.unwrap()["object"]["metadata"]["name"],
        "b"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn list_trickle_sends_one_page_at_its_pace_whole_and_the_next_at_once() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod_with(small_pod("shop", "a"));
    let fast = get(&server, "/api/v1/namespaces/shop/pods")
        .await
        .body()
        .await;

    server.inject(Fault::ListTrickle {
        bytes_per_second: 400,
    });
    let started = std::time::Instant::now();
    let mut slow = get(&server, "/api/v1/namespaces/shop/pods").await;
    assert_eq!(slow.status, 200);
    assert_eq!(slow.body().await, fast, "the same page, whole");
    assert!(slow.complete);
    // 4 bytes every 10 ms after the first piece.
    let least = Duration::from_secs_f64((fast.len() - 4) as f64 / 400.0);
    assert!(
        started.elapsed() >= least,
        "{} bytes in {:?}, less than {least:?}",
        fast.len(),
        started.elapsed()
    );

    server.inject(Fault::ListTrickle {
        bytes_per_second: 1,
    });
    let mut slowest = get(&server, "/api/v1/namespaces/shop/pods").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    slowest.read_more().await;
    assert!(
        (1..=4).contains(&slowest.data.len()),
        "a byte at once, then one a second: {:?}",
        String::from_utf8_lossy(&slowest.data)
    );
    let again = get(&server, "/api/v1/namespaces/shop/pods")
        .await
        .body()
        .await;
    assert_eq!(again, fast, "one list only");
    server.shutdown().await;
}

#[tokio::test]
async fn restart_drops_watches_and_forgets_history() {
    let server = server().await;
    let cluster = server.cluster();
    let before = cluster.create_pod("shop", "a");
    cluster.create_pod("shop", "b");
    let mut watch = get(
        &server,
        "/api/v1/namespaces/shop/pods?watch=1&resourceVersion=0",
    )
    .await;
    assert!(watch.event().await.is_some());
    assert!(watch.event().await.is_some());
    server.restart().await;
    assert!(watch.line().await.is_none());
    assert!(!watch.complete, "a restart cuts the connection");
    let mut again = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={before}"),
    )
    .await;
    assert_eq!(again.event().await.unwrap()["object"]["code"], 410);
    assert_eq!(cluster.len(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_open_watches() {
    let server = server().await;
    let mut watch = get(&server, "/api/v1/namespaces/shop/pods?watch=1").await;
    timeout(LIMIT, server.shutdown()).await.unwrap();
    assert!(watch.line().await.is_none());
}

#[tokio::test]
async fn kubeconfig_points_at_the_server() {
    let server = server().await;
    let config: Value = serde_json::from_str(&server.kubeconfig()).unwrap();
    assert_eq!(config["current-context"], "sim");
    assert_eq!(config["clusters"][0]["cluster"]["server"], server.url());
    assert_eq!(config["contexts"][0]["context"]["namespace"], "default");
    server.shutdown().await;
}

#[tokio::test]
async fn a_watcher_that_falls_behind_gets_410_instead_of_a_gap() {
    let server = server_with(ServerOptions {
        history_limit: 4,
        ..ServerOptions::default()
    })
    .await;
    let cluster = server.cluster();
    let mut watch = get(&server, "/api/v1/namespaces/shop/pods?watch=1").await;
    // No await between changes: the watcher cannot keep up with a 4-event fan-out.
    for i in 0..20 {
        cluster.create_pod_with(small_pod("shop", &format!("p{i}")));
    }
    let mut last = None;
    while let Some(event) = watch.event().await {
        last = Some(event);
    }
    let last = last.unwrap();
    assert_eq!(last["type"], "ERROR");
    assert_eq!(last["object"]["code"], 410);
    assert_eq!(last["object"]["reason"], "Expired");
    server.shutdown().await;
}

#[tokio::test]
async fn kube_client_lists_and_watches_realistic_pods() {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, WatchEvent, WatchParams};

    let server = server().await;
    let cluster = server.cluster();
    populate(&cluster, &["shop".to_owned()], 5);
    let config = kube::Config::new(server.url().parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    let page = pods.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(page.metadata.continue_.is_some());
    let rv = page.metadata.resource_version.unwrap();
    cluster.update_pod("shop", "pod-00001");
    let stream = pods
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .unwrap();
    let events: Vec<WatchEvent<Pod>> = stream.try_collect().await.unwrap();
    assert!(
        matches!(&events[0], WatchEvent::Modified(pod) if pod.metadata.name.as_deref() == Some("pod-00001"))
    );
    assert!(
        events
            .iter()
            .skip(1)
            .all(|e| matches!(e, WatchEvent::Bookmark(_)))
    );
    let first = pods
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap();
    assert_eq!(first.take(5).count().await, 5);
    server.shutdown().await;
}

const METADATA_LIST_ACCEPT: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA_ACCEPT: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const STREAMING: &str = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1";

#[tokio::test]
async fn metadata_only_lists_and_watches_serve_partial_object_metadata() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod("shop", "a");
    let list = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?limit=10",
        &[("Accept", METADATA_LIST_ACCEPT)],
    )
    .await
    .json()
    .await;
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(names(&list), vec!["shop/a"]);
    let item = &list["items"][0];
    assert_eq!(item["kind"], "PartialObjectMetadata");
    assert!(
        item.get("spec").is_none() && item.get("status").is_none(),
        "{item}"
    );
    assert!(item["metadata"]["labels"].is_object());

    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut watch = request(
        &server,
        "GET",
        &format!("/api/v1/namespaces/shop/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1"),
        &[("Accept", METADATA_ACCEPT)],
    )
    .await;
    cluster.update_pod("shop", "a").unwrap();
    let event = watch.event().await.expect("an event");
    assert_eq!(event["type"], "MODIFIED");
    assert_eq!(event["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(event["object"]["metadata"]["name"], "a");
    assert!(event["object"].get("spec").is_none());
    assert_eq!(
        server.requests()[1].accept.as_deref(),
        Some(METADATA_ACCEPT)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_list_sends_the_state_then_the_initial_events_end_bookmark() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod("shop", "b");
    cluster.create_pod("shop", "a");
    let at = cluster.resource_version();
    let mut watch = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?{STREAMING}"),
    )
    .await;
    assert_eq!(watch.status, 200);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = watch.event().await.expect("event");
        seen.push(format!(
            "{} {} {}",
            event["type"].as_str().unwrap(),
            event["object"]["metadata"]["name"].as_str().unwrap_or("-"),
            event["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"]
                .as_str()
                .unwrap_or("-"),
        ));
        if event["type"] == "BOOKMARK" {
            assert_eq!(
                event["object"]["metadata"]["resourceVersion"],
                at.to_string()
            );
        }
    }
    assert_eq!(seen, ["ADDED a -", "ADDED b -", "BOOKMARK - true"]);
    cluster.create_pod("shop", "c");
    let event = watch.event().await.expect("live event");
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["metadata"]["name"], "c");

    let incomplete = get(&server, "/api/v1/pods?watch=1&sendInitialEvents=true").await;
    assert_eq!(incomplete.status, 422);
    server.shutdown().await;
}

#[tokio::test]
async fn old_servers_refuse_or_ignore_the_streaming_list() {
    for (support, status) in [
        (WatchListSupport::Refused, 422),
        (WatchListSupport::Ignored, 200),
    ] {
        let server = server_with(ServerOptions {
            watch_list: support,
            bookmark_interval: Duration::from_millis(100),
            ..ServerOptions::default()
        })
        .await;
        server.cluster().create_pod("shop", "a");
        let mut watch = get(&server, &format!("/api/v1/pods?{STREAMING}")).await;
        assert_eq!(watch.status, status, "{support:?}");
        if status == 422 {
            let body = watch.json().await;
            assert_eq!(body["reason"], "Invalid");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("resourceVersionMatch")
            );
        } else {
            let mut events = Vec::new();
            while let Some(event) = watch.event().await {
                assert!(
                    event["object"]["metadata"]
                        .get("annotations")
                        .is_none_or(|a| a.get("k8s.io/initial-events-end").is_none())
                );
                events.push(event["type"].as_str().unwrap().to_owned());
            }
            assert_eq!(events.first().map(String::as_str), Some("ADDED"));
            assert!(events.iter().any(|e| e == "BOOKMARK"), "{events:?}");
        }
        server.shutdown().await;
    }
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map(|_| out)
}

#[tokio::test]
async fn a_large_list_is_gzipped_when_asked_like_transcript_22_and_a_small_one_is_not() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 200);
    let gzip = [("Accept-Encoding", "gzip")];
    let target = "/api/v1/namespaces/shop/pods?limit=100";

    let mut plain = get(&server, target).await;
    let plain_body = plain.body().await;
    assert!(plain_body.len() > 128 * 1024, "{} bytes", plain_body.len());
    let sent_before = server.body_bytes_sent();
    let mut large = request(&server, "GET", target, &gzip).await;
    assert_eq!(large.status, 200);
    assert_eq!(large.header("content-encoding"), Some("gzip"));
    assert_eq!(large.header("vary"), Some("Accept-Encoding"));
    assert_eq!(large.header("content-type"), Some("application/json"));
    assert!(large.chunked, "chunked like the real server");
    assert_eq!(large.header("content-length"), None);
    let wire = large.body().await;
    assert!(large.complete);
    assert_eq!(gunzip(&wire).expect("valid gzip"), plain_body);
    // The generator's pods differ more than the transcript's (uids, IPs, digests): about 8x.
    assert!(
        wire.len() * 5 < plain_body.len(),
        "{} of {} bytes",
        wire.len(),
        plain_body.len()
    );
    assert_eq!(server.body_bytes_sent() - sent_before, wire.len() as u64);

    let mut small = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?limit=1",
        &gzip,
    )
    .await;
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.header("vary"), None);
    let small_body = small.body().await;
    assert_eq!(
        small.header("content-length"),
        Some(small_body.len().to_string().as_str())
    );
    let small_list: Value = serde_json::from_slice(&small_body).unwrap();
    assert_eq!(small_list["items"].as_array().map(Vec::len), Some(1));

    let recorded = server.requests();
    assert!(!recorded[0].asks_for_gzip());
    assert_eq!(recorded[0].accept_encoding, None);
    assert!(recorded[1].asks_for_gzip());
    assert_eq!(recorded[1].accept_encoding.as_deref(), Some("gzip"));
    server.shutdown().await;
}

#[tokio::test]
async fn gzip_is_refused_as_the_real_server_refuses_it_and_never_applies_to_watches_or_errors() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 200);
    for refused in ["gzip;q=0", "identity", "GZIP", "*", "gzip;q=1"] {
        let mut reply = request(
            &server,
            "GET",
            "/api/v1/namespaces/shop/pods",
            &[("Accept-Encoding", refused)],
        )
        .await;
        assert_eq!(reply.header("content-encoding"), None, "{refused}");
        assert_eq!(
            reply.json().await["items"].as_array().map(Vec::len),
            Some(200)
        );
    }
    let mut listed = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods",
        &[("Accept-Encoding", "deflate, gzip")],
    )
    .await;
    assert_eq!(listed.header("content-encoding"), Some("gzip"));
    listed.body().await;

    // A watch replaying 200 pods (well over the threshold) is never compressed.
    let mut watch = request(
        &server,
        "GET",
        "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=1",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(watch.header("content-encoding"), None);
    let first = watch.event().await.expect("an event");
    assert_eq!(first["type"], "ADDED");

    let mut missing = request(
        &server,
        "GET",
        "/api/v1/nothing",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-encoding"), None);
    assert_eq!(missing.json().await["reason"], "NotFound");
    server.shutdown().await;
}

#[tokio::test]
async fn corrupt_gzip_fault_labels_one_list_gzip_and_breaks_it() {
    let server = server().await;
    populate(&server.cluster(), &["shop".to_owned()], 3);
    for corruption in [
        GzipCorruption::NotGzip,
        GzipCorruption::Truncated,
        GzipCorruption::BadChecksum,
    ] {
        server.inject(Fault::ListCorruptGzip {
            corruption,
            later_page: false,
        });
        // Not asked for gzip, and a page below the threshold: broken all the same.
        let mut broken = get(&server, "/api/v1/pods").await;
        assert_eq!(broken.status, 200);
        assert_eq!(broken.header("content-encoding"), Some("gzip"));
        let wire = broken.body().await;
        assert!(broken.complete, "the HTTP body itself ends cleanly");
        assert!(gunzip(&wire).is_err(), "{corruption:?}");
        let mut next = get(&server, "/api/v1/pods").await;
        assert_eq!(next.header("content-encoding"), None);
        assert_eq!(next.json().await["items"].as_array().map(Vec::len), Some(3));
    }
    server.shutdown().await;
}
