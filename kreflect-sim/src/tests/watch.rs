//! Watches over HTTP: events in order, bookmarks, synthetic ADDED, 410s for old or slow
//! watchers, streaming lists, and the faults that cut or slow a watch.

use super::*;

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
async fn a_watch_where_nothing_changed_since_it_opened_gets_no_timed_bookmark() {
    let server = FakeApiServer::start(ServerOptions {
        bookmark_interval: Duration::from_millis(100),
        ..ServerOptions::default()
    })
    .await
    .expect("server");
    let cluster = server.cluster();
    let rv = cluster.create_pod("shop", "a");
    // As a v1.26 watch cache: a 3 s watch with bookmarks on a quiet cluster ends with no line.
    let mut quiet = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=1"),
    )
    .await;
    assert_eq!(quiet.event().await, None, "no bookmark, no event");
    let mut busy = get(
        &server,
        &format!("/api/v1/namespaces/shop/pods?watch=1&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=1"),
    )
    .await;
    let elsewhere = cluster.create_pod("other", "b");
    let event = busy
        .event()
        .await
        .expect("a bookmark once something changed");
    assert_eq!(event["type"], "BOOKMARK");
    assert_eq!(
        event["object"]["metadata"]["resourceVersion"],
        elsewhere.to_string()
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
async fn streaming_list_sends_the_state_then_the_initial_events_end_bookmark() {
    let server = streaming_server().await;
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
            // A timed bookmark comes once something changed after the watch opened.
            server.cluster().create_pod("shop", "b");
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
