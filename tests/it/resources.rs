//! `kreflect RESOURCE` beyond pods, selectors, output formats, events, diffs, metrics and
//! completions: the real binary against the fake API server over HTTP.

use kreflect_sim::ServerOptions;
use nix::sys::signal::Signal;
use serde_json::json;

use crate::harness::{
    ANY_PORT, DEADLINE, Running, TestCluster, assert_one_line, http_get, kreflect_command,
    listening_addr, once, poll_until, run_to_end, strings,
};

fn pod(namespace: &str, name: &str, labels: serde_json::Value, phase: &str) -> serde_json::Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                     "creationTimestamp": "2026-11-27T10:00:00Z"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": phase},
    })
}

async fn cluster_with_kinds() -> TestCluster {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let server = &cluster.server;
    for name in ["node-b", "node-a"] {
        server
            .resource("nodes")
            .expect("nodes")
            .create_object(json!({"metadata": {"name": name}}));
    }
    let deployments = server.resource("deployments").expect("deployments");
    deployments.create_object(json!({"metadata": {"name": "web", "namespace": "shop"}}));
    deployments.create_object(json!({"metadata": {"name": "db", "namespace": "data"}}));
    server.resource("widgets").expect("widgets").create_object(
        json!({"metadata": {"name": "w1", "namespace": "shop"}, "spec": {"size": 3}}),
    );
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_resolve_like_kubectl_and_cluster_scoped_ones_key_by_name() {
    let cluster = cluster_with_kinds().await;
    for name in ["nodes", "node", "no", "Node"] {
        assert_eq!(
            once(&cluster, &[name, "--once"]).await,
            "node-a\nnode-b\n\n",
            "{name}"
        );
    }
    for name in [
        "deployments",
        "deploy",
        "deployment",
        "deployments.apps",
        "deployments.v1.apps",
    ] {
        assert_eq!(
            once(&cluster, &[name, "--once"]).await,
            "data/db\nshop/web\n\n",
            "{name}"
        );
    }
    assert_eq!(
        once(&cluster, &["deploy", "-n", "shop", "--once"]).await,
        "shop/web\n\n"
    );
    for name in ["widgets", "widget", "wd", "widgets.example.dev"] {
        assert_eq!(
            once(&cluster, &[name, "--once"]).await,
            "shop/w1\n\n",
            "{name}"
        );
    }
    let lists: Vec<String> = cluster
        .requests()
        .iter()
        .filter(|r| !r.is_watch() && r.param("limit").is_some())
        .map(|r| r.path.clone())
        .collect();
    assert!(lists.contains(&"/api/v1/nodes".to_owned()), "{lists:?}");
    assert!(
        lists.contains(&"/apis/apps/v1/namespaces/shop/deployments".to_owned()),
        "{lists:?}"
    );
    assert!(
        lists.contains(&"/apis/example.dev/v1/widgets".to_owned()),
        "{lists:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_resource_names_the_closest_ones_and_exits_2() {
    let cluster = cluster_with_kinds().await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect_any(&["podz", "--once"])).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "unknown resource podz");
    assert!(
        stderr.starts_with(
            "kreflect: the server doesn't have a resource type \"podz\"; did you mean pods"
        ),
        "{stderr}"
    );
    let (status, _, stderr) = run_to_end(cluster.kreflect_any(&["deploymnts", "--once"])).await;
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("did you mean deployments.apps"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_go_to_the_server_and_objects_leaving_them_leave_the_cache() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let pods = cluster.server.cluster();
    pods.create_pod_with(pod("shop", "web-1", json!({"app": "web"}), "Running"));
    pods.create_pod_with(pod("shop", "web-2", json!({"app": "web"}), "Pending"));
    pods.create_pod_with(pod("shop", "db-1", json!({"app": "db"}), "Running"));
    pods.create_pod_with(pod(
        "shop",
        "canary",
        json!({"app": "web", "canary": "yes"}),
        "Running",
    ));

    let stdout = once(&cluster, &["pods", "-l", "app in (web),!canary", "--once"]).await;
    assert_eq!(stdout, "shop/web-1\nshop/web-2\n\n");
    let stdout = once(
        &cluster,
        &["pods", "--field-selector", "status.phase=Running", "--once"],
    )
    .await;
    assert_eq!(stdout, "shop/canary\nshop/db-1\nshop/web-1\n\n");
    let stdout = once(
        &cluster,
        &[
            "pods",
            "-l",
            "app=web",
            "--field-selector",
            "status.phase!=Running",
            "--once",
        ],
    )
    .await;
    assert_eq!(stdout, "shop/web-2\n\n");

    let mut kreflect = Running::spawn(cluster.kreflect(&["-l", "app=web", "--interval", "100ms"]));
    assert_eq!(
        kreflect.next_listing().await,
        strings(&["shop/canary", "shop/web-1", "shop/web-2"])
    );
    // Relabelled out of the selector, into it, and a new match.
    pods.create_pod_with(pod("shop", "web-1", json!({"app": "api"}), "Running"));
    pods.create_pod_with(pod("shop", "db-1", json!({"app": "web"}), "Running"));
    pods.create_pod_with(pod("shop", "web-3", json!({"app": "web"}), "Running"));
    kreflect
        .wait_for_listing(&strings(&[
            "shop/canary",
            "shop/db-1",
            "shop/web-2",
            "shop/web-3",
        ]))
        .await;
    let selected: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.param("labelSelector") == Some("app=web"))
        .collect();
    assert!(
        selected.iter().any(|r| !r.is_watch()),
        "list carried the selector"
    );
    assert!(
        selected.iter().any(|r| r.is_plain_watch()),
        "watch carried the selector"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_one_document_per_listing() {
    let cluster = TestCluster::with_pods(&["a/x", "b/y"]).await;
    let stdout = once(&cluster, &["pods", "-o", "json", "--once"]).await;
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let listing: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(listing["count"], 2);
    assert_eq!(listing["keys"], json!(["a/x", "b/y"]));
    assert_eq!(
        listing["resourceVersion"],
        cluster.server.cluster().resource_version().to_string()
    );
    let time = listing["time"].as_str().expect("time");
    assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_output_is_an_aligned_table() {
    // kreflect's own columns, as when the server makes no Table (`wide.rs` has the server's).
    let cluster = TestCluster::start(ServerOptions {
        without_tables: vec![("pods".to_owned(), kreflect_sim::NoTable::Plain)],
        ..ServerOptions::default()
    })
    .await;
    let pods = cluster.server.cluster();
    pods.create_pod_with(pod("shop", "web-1", json!({}), "Running"));
    pods.create_pod_with(pod("default", "job", json!({}), "Succeeded"));
    let stdout = once(&cluster, &["pods", "-o", "wide", "--once"]).await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAMESPACE", "NAME", "STATUS", "NODE", "AGE"]
    );
    assert_eq!(
        lines[1].split_whitespace().take(4).collect::<Vec<_>>(),
        ["default", "job", "Succeeded", "node-a"]
    );
    assert_eq!(
        lines[2].split_whitespace().take(4).collect::<Vec<_>>(),
        ["shop", "web-1", "Running", "node-a"]
    );
    let status_column = lines[0].find("STATUS").expect("STATUS");
    assert_eq!(lines[1].find("Succeeded"), Some(status_column));
    assert_eq!(lines[2].find("Running"), Some(status_column));
    assert_eq!(lines[3], "");

    let cluster = cluster_with_kinds().await;
    let stdout = once(&cluster, &["nodes", "-o", "wide", "--once"]).await;
    let header: Vec<&str> = stdout
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ],
        "the server's columns for nodes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_print_each_change_and_a_relist_prints_its_differences() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--events"]));
    let mut lines = Vec::new();
    let mut expect = async |kreflect: &mut Running, count: usize| {
        while lines.len() < count {
            lines.push(kreflect.next_line().await);
        }
        lines.clone()
    };
    assert_eq!(expect(&mut kreflect, 2).await, ["ADDED a/x", "ADDED a/y"]);
    let pods = cluster.server.cluster();
    pods.update_pod("a", "x").expect("x");
    pods.delete_pod("a", "y").expect("y");
    pods.create_pod("a", "z");
    assert_eq!(
        expect(&mut kreflect, 5).await[2..],
        ["MODIFIED a/x", "DELETED a/y", "ADDED a/z"]
    );
    // Changes the watch cannot see: only the relist after the 410 finds them.
    cluster.server.inject(kreflect_sim::Fault::WatchStatus {
        code: 503,
        reason: "ServiceUnavailable".into(),
        retry_after: Some(1),
    });
    cluster.server.restart().await;
    pods.delete_pod("a", "z").expect("z");
    pods.create_pod("b", "new");
    pods.compact();
    let all = expect(&mut kreflect, 7).await;
    assert_eq!(
        all[5..],
        ["DELETED a/z", "ADDED b/new"],
        "in key order: {all:?}"
    );

    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_as_json_lines() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--events", "-o", "json"]));
    let line = kreflect.next_line().await;
    let event: serde_json::Value = serde_json::from_str(&line).expect("JSON event");
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["key"], "a/x");
    assert!(
        event["resourceVersion"]
            .as_str()
            .is_some_and(|rv| !rv.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_prints_plus_and_minus_lines_only_for_changes() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--diff", "--interval", "200ms"]));
    assert_eq!(kreflect.next_line().await, "+a/x");
    assert_eq!(kreflect.next_line().await, "+a/y");
    let pods = cluster.server.cluster();
    pods.delete_pod("a", "x").expect("x");
    pods.create_pod("b", "z");
    let mut changes = vec![kreflect.next_line().await];
    if changes == ["-a/x"] {
        // The two changes may land in different intervals.
        changes.push(kreflect.next_line().await);
    }
    assert_eq!(changes, ["-a/x", "+b/z"]);
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
    assert_eq!(
        kreflect.rest_of_stdout().await,
        "",
        "nothing changed, nothing printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_healthz_are_served_when_asked() {
    let cluster = TestCluster::with_pods(&["a/x", "a/y"]).await;
    let mut kreflect =
        Running::spawn(cluster.kreflect(&["--metrics-addr", ANY_PORT, "--interval", "100ms"]));
    let addr = listening_addr(kreflect.child.id()).await;
    assert_eq!(kreflect.next_listing().await, strings(&["a/x", "a/y"]));
    cluster.server.cluster().create_pod("a", "z");
    kreflect
        .wait_for_listing(&strings(&["a/x", "a/y", "a/z"]))
        .await;
    let healthz = http_get(&addr, "/healthz").await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    let metrics = http_get(&addr, "/metrics").await;
    for line in [
        "kreflect_store_objects{resource=\"pods\"} 3",
        "kreflect_synced{resource=\"pods\"} 1",
        "kreflect_relists_total{resource=\"pods\"} 1",
        "kreflect_events_applied_total{resource=\"pods\",type=\"ADDED\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in {metrics}"
        );
    }
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_until_synced() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    cluster.server.inject(kreflect_sim::Fault::ListStatus {
        code: 503,
        reason: "ServiceUnavailable".into(),
        retry_after: Some(30),
    });
    let mut kreflect = Running::spawn(cluster.kreflect(&["--metrics-addr", ANY_PORT]));
    let addr = listening_addr(kreflect.child.id()).await;
    cluster
        .wait_for_request("the failing list", |r| !r.is_watch())
        .await;
    let healthz = poll_until(DEADLINE, async || {
        let answer = http_get(&addr, "/healthz").await;
        (!answer.is_empty()).then_some(answer)
    })
    .await
    .unwrap_or_default();
    assert!(healthz.starts_with("HTTP/1.1 503"), "{healthz}");
    kreflect.signal(Signal::SIGTERM);
    assert!(kreflect.wait().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_documented_exit_codes() {
    let home = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish"] {
        let (status, stdout, _) =
            run_to_end(kreflect_command(&["completions", shell], home.path())).await;
        assert!(status.success(), "{shell}");
        // The dynamic engine's registration: it calls kreflect back with COMPLETE set.
        assert!(
            stdout.contains("kreflect") && stdout.contains("COMPLETE"),
            "{shell}"
        );
    }
    let (status, stdout, _) = run_to_end(kreflect_command(&["--help"], home.path())).await;
    assert!(status.success());
    assert!(stdout.contains("Exit status:"), "{stdout}");
    assert!(stdout.contains("2  usage error"), "{stdout}");
}

/// Discovery waits for a server that is down, as list and watch do, unless `--once`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_is_retried_while_the_server_is_down_and_fatal_with_once() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let home = tempfile::tempdir().expect("temp dir");
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.server.kubeconfig()).expect("kubeconfig");
    cluster.server.shutdown().await;
    let path = kubeconfig.to_str().expect("utf-8");

    let (status, stdout, stderr) = run_to_end(kreflect_command(
        &["--kubeconfig", path, "nodes", "--once"],
        home.path(),
    ))
    .await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_one_line(&stderr, "unreachable server during discovery");
    assert!(
        stderr.starts_with(
            "kreflect: discovering the server's resources at /api/v1: cannot reach http://127.0.0.1:"
        ),
        "{stderr}"
    );

    let mut kreflect = Running::spawn(kreflect_command(
        &["--kubeconfig", path, "nodes"],
        home.path(),
    ));
    kreflect
        .wait_for_stderr_lines("two discovery retries", 2, |line| {
            line.contains("WARN") && line.contains("discovery failed; retrying")
        })
        .await;
    kreflect.signal(Signal::SIGTERM);
    assert!(
        kreflect.wait().await.success(),
        "a stop during discovery exits 0"
    );
}
