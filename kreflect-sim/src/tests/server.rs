//! The server as a whole: discovery, request recording, restart and shutdown, the kubeconfig,
//! and kube's own client against it.

use super::*;

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

/// Another server of the same test binary binding a random port may be handed this one's port
/// while it restarts; the restarted server must still answer on it (it lost the port to one of
/// its neighbours under load, and its clients then saw a dead server for the rest of the test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_its_port_from_other_sockets() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let server = server().await;
    let addr = server.addr();
    let restarting = Arc::new(AtomicBool::new(true));
    let runtime = tokio::runtime::Handle::current();
    // What a neighbour's `FakeApiServer::start` does, tried as fast as a thread can.
    let neighbour = std::thread::spawn({
        let restarting = Arc::clone(&restarting);
        move || {
            let _runtime = runtime.enter();
            while restarting.load(Ordering::Relaxed) {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.set_reuseaddr(true).unwrap();
                if socket.bind(addr).is_ok()
                    && let Ok(listener) = socket.listen(16)
                {
                    return Some(listener);
                }
            }
            None
        }
    });
    for _ in 0..50 {
        let _watch = get(&server, "/api/v1/namespaces/shop/pods?watch=1").await;
        server.restart().await;
        if neighbour.is_finished() {
            break;
        }
    }
    restarting.store(false, Ordering::Relaxed);
    let taken = neighbour.join().unwrap();
    assert!(
        taken.is_none(),
        "another socket was bound to {addr} while the server restarted"
    );
    assert_eq!(get(&server, "/version").await.status, 200);
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
