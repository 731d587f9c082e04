//! List pages over HTTP: one snapshot per paged list, continue tokens and their expiry, and
//! the faults that change a list's answer.

use super::*;

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
