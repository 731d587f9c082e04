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

#[tokio::test]
async fn the_watch_cache_answers_resource_version_0_in_one_response_whatever_the_limit() {
    let server = server().await;
    let cluster = server.cluster();
    for name in ["a", "b", "c"] {
        cluster.create_pod("shop", name);
    }
    cluster.hold_watch_cache();
    let held_at = cluster.resource_version();
    cluster.create_pod("shop", "d");
    cluster.delete_pod("shop", "a");

    // Transcript 27: every object, no continue, the cache's resourceVersion.
    let cached = get(&server, "/api/v1/pods?resourceVersion=0&limit=2")
        .await
        .json()
        .await;
    assert_eq!(names(&cached), ["shop/a", "shop/b", "shop/c"]);
    assert_eq!(cached["metadata"]["resourceVersion"], held_at.to_string());
    assert!(cached["metadata"].get("continue").is_none());
    // A consistent read sees etcd's present, in pages.
    let latest = get(&server, "/api/v1/pods?limit=2").await.json().await;
    assert_eq!(names(&latest), ["shop/b", "shop/c"]);
    assert!(latest["metadata"]["continue"].is_string());
    // Transcript 30: NotOlderThan with a limit is a paged read from etcd; without, the cache.
    let paged = get(
        &server,
        &format!(
            "/api/v1/pods?resourceVersion={held_at}&resourceVersionMatch=NotOlderThan&limit=2"
        ),
    )
    .await
    .json()
    .await;
    assert_eq!(names(&paged), ["shop/b", "shop/c"]);
    let unpaged = get(
        &server,
        &format!("/api/v1/pods?resourceVersion={held_at}&resourceVersionMatch=NotOlderThan"),
    )
    .await
    .json()
    .await;
    assert_eq!(names(&unpaged), ["shop/a", "shop/b", "shop/c"]);

    cluster.release_watch_cache();
    let caught_up = get(&server, "/api/v1/pods?resourceVersion=0")
        .await
        .json()
        .await;
    assert_eq!(names(&caught_up), ["shop/b", "shop/c", "shop/d"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_list_from_a_resource_version_the_cache_has_not_reached_is_504_too_large() {
    let server = server().await;
    let cluster = server.cluster();
    cluster.create_pod("shop", "a");
    let current = cluster.resource_version();
    let ahead = current + 5;
    let mut reply = get(
        &server,
        &format!("/api/v1/pods?resourceVersion={ahead}&resourceVersionMatch=NotOlderThan"),
    )
    .await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.header("retry-after"), Some("1"));
    let status = reply.json().await;
    assert_eq!(
        status["message"],
        format!("Timeout: Too large resource version: {ahead}, current: {current}")
    );
    assert_eq!(status["reason"], "Timeout");
    assert_eq!(
        status["details"],
        serde_json::json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1
        })
    );
    server.shutdown().await;
}

#[tokio::test]
async fn list_resource_version_parameters_are_checked_as_v1_26_checks_them() {
    let server = server().await;
    server.cluster().create_pod("shop", "a");
    server.cluster().create_pod("shop", "b");
    let mut no_version = get(&server, "/api/v1/pods?resourceVersionMatch=NotOlderThan").await;
    assert_eq!(no_version.status, 422);
    assert_eq!(
        no_version.json().await["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: \
         resourceVersionMatch is forbidden unless resourceVersion is provided"
    );
    let first = get(&server, "/api/v1/pods?limit=1").await.json().await;
    let token = first["metadata"]["continue"]
        .as_str()
        .expect("a continue token");
    let mut with_version = get(
        &server,
        &format!("/api/v1/pods?limit=1&continue={token}&resourceVersion=5"),
    )
    .await;
    assert_eq!(with_version.status, 400);
    assert_eq!(
        with_version.json().await["message"],
        "specifying resource version is not allowed when using continue"
    );
    let mut garbage = get(&server, "/api/v1/pods?resourceVersion=abc").await;
    assert_eq!(garbage.status, 500);
    assert_eq!(
        garbage.json().await["message"],
        "resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_watch_cache_every_list_is_paged_from_etcd() {
    let server = server_with(ServerOptions {
        watch_cache: false,
        ..ServerOptions::default()
    })
    .await;
    let cluster = server.cluster();
    for name in ["a", "b", "c"] {
        cluster.create_pod("shop", name);
    }
    let page = get(&server, "/api/v1/pods?resourceVersion=0&limit=2")
        .await
        .json()
        .await;
    assert_eq!(names(&page), ["shop/a", "shop/b"]);
    assert!(page["metadata"]["continue"].is_string());
    server.shutdown().await;
}
