//! Several namespaces in one run (`-n a,b`, issue 20): one list and one watch per namespace,
//! never one across the cluster, and one merged listing, as if the namespaces were one
//! collection. Each output that speaks of collections names them: `-o json`'s
//! `resourceVersions`, the `--events` SYNCED markers, the metrics' `namespace` label.

use std::collections::HashSet;

use kreflect_sim::ServerOptions;
use serde_json::Value;

use crate::harness::{ANY_PORT, Running, TestCluster, http_get, listening_addr, run_to_end};

/// Pods in three namespaces, of which a run names two.
const PODS: [&str; 5] = ["a/x", "a/y", "b/x", "c/z", "web/w"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_namespaces_are_one_listing_in_key_order_from_one_list_and_watch_each() {
    let cluster = TestCluster::with_pods(&PODS).await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["-n", "web,a", "--once"])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "a/x\na/y\nweb/w\n\n");
    let mut paths: Vec<String> = cluster
        .list_requests()
        .iter()
        .map(|request| request.path.clone())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/api/v1/namespaces/a/pods", "/api/v1/namespaces/web/pods"],
        "a list per namespace, none across the cluster"
    );

    let mut kreflect = Running::spawn(cluster.kreflect(&["-n", "a,web", "--interval", "100ms"]));
    assert_eq!(kreflect.next_listing().await, ["a/x", "a/y", "web/w"]);
    cluster.server.cluster().create_pod("web", "new");
    cluster.server.cluster().create_pod("b", "not-watched");
    cluster.server.cluster().delete_pod("a", "x");
    kreflect
        .wait_for_listing(&crate::harness::strings(&["a/y", "web/new", "web/w"]))
        .await;
    let watched: HashSet<String> = cluster
        .watch_requests()
        .iter()
        .map(|request| request.path.clone())
        .collect();
    assert_eq!(
        watched,
        HashSet::from([
            "/api/v1/namespaces/a/pods".to_owned(),
            "/api/v1/namespaces/web/pods".to_owned()
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_is_one_table_with_namespaces_and_json_has_each_namespaces_resource_version() {
    let cluster = TestCluster::with_pods(&PODS).await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["-n", "a,b", "-o", "wide", "--once"])).await;
    assert!(status.success(), "{stderr}");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAMESPACE", "NAME"],
            vec!["a", "x"],
            vec!["a", "y"],
            vec!["b", "x"],
            vec![],
        ],
        "one table, one header: {stdout}"
    );

    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["-n", "a,b", "-o", "json", "--once"])).await;
    assert!(status.success(), "{stderr}");
    let listing: Value =
        serde_json::from_str(stdout.lines().next().expect("a line")).expect("json");
    assert_eq!(listing["keys"], serde_json::json!(["a/x", "a/y", "b/x"]));
    assert_eq!(listing["count"], 3);
    let versions = listing["resourceVersions"]
        .as_object()
        .expect("by namespace");
    let named: Vec<&String> = versions.keys().collect();
    assert_eq!(named, ["a", "b"], "{listing}");
    let now = cluster.server.cluster().resource_version().to_string();
    assert!(
        versions.values().all(|version| version == now.as_str()),
        "{listing}"
    );
    assert!(listing.get("resourceVersion").is_none(), "{listing}");

    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect_any(&["pods,deploy", "-n", "a,b", "-o", "json", "--once"]))
            .await;
    assert!(status.success(), "{stderr}");
    let listing: Value =
        serde_json::from_str(stdout.lines().next().expect("a line")).expect("json");
    let named: Vec<&String> = listing["resourceVersions"]
        .as_object()
        .expect("by collection")
        .keys()
        .collect();
    assert_eq!(
        named,
        ["deployment.apps/a", "deployment.apps/b", "pod/a", "pod/b"]
    );
    assert_eq!(
        listing["keys"],
        serde_json::json!(["pod/a/x", "pod/a/y", "pod/b/x"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_mark_each_namespaces_initial_state_and_merge_their_changes() {
    let cluster = TestCluster::with_pods(&PODS).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["-n", "a,b", "--events", "-o", "json"]));
    let mut initial = Vec::new();
    let mut markers = Vec::new();
    while markers.len() < 2 {
        let event: Value = serde_json::from_str(&kreflect.next_line().await).expect("json");
        let key = event["key"].as_str().expect("key").to_owned();
        match event["type"].as_str() {
            Some("SYNCED") => markers.push(key),
            Some("ADDED") => initial.push(key),
            other => panic!("{other:?} before the markers: {event}"),
        }
    }
    markers.sort();
    initial.sort();
    assert_eq!(markers, ["a", "b"], "a marker per namespace, named by it");
    assert_eq!(initial, ["a/x", "a/y", "b/x"]);
    cluster
        .wait_for_request("the second watch", |request| {
            request.is_plain_watch() && request.path == "/api/v1/namespaces/b/pods"
        })
        .await;
    cluster
        .wait_for_request("the first watch", |request| {
            request.is_plain_watch() && request.path == "/api/v1/namespaces/a/pods"
        })
        .await;
    cluster.server.cluster().create_pod("c", "elsewhere");
    cluster.server.cluster().delete_pod("b", "x");
    let event: Value = serde_json::from_str(&kreflect.next_line().await).expect("json");
    assert_eq!(
        (event["type"].as_str(), event["key"].as_str()),
        (Some("DELETED"), Some("b/x")),
        "not c/elsewhere: {event}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_namespace_among_others_is_said_and_a_name_is_found_in_any_of_them() {
    let cluster = TestCluster::with_pods(&PODS).await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["-n", "a,typo", "--once"])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "a/x\na/y\n\n");
    assert!(
        stderr.contains("No resources found in typo namespace."),
        "{stderr}"
    );
    assert!(!stderr.contains("in a namespace"), "{stderr}");

    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["x", "z", "-n", "a,c", "--once"])).await;
    assert!(status.success(), "x in a, z in c: {stderr}");
    assert_eq!(stdout, "a/x\nc/z\n\n");
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["x", "w", "-n", "a,c", "--once"])).await;
    assert_eq!(status.code(), Some(1), "w is in neither: {stderr}");
    assert_eq!(stdout, "a/x\n\n");
    assert_eq!(stderr, "kreflect: pods \"w\" not found\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_a_user_may_read_work_where_the_cluster_scope_is_forbidden() {
    let options = ServerOptions {
        deny_cluster_scope: true,
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start_with_pods(options, &PODS).await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["-n", "a,c", "--once"])).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "a/x\na/y\nc/z\n\n");

    let options = ServerOptions {
        role_namespace: Some("a".to_owned()),
        ..ServerOptions::default()
    };
    let cluster = TestCluster::start_with_pods(options, &PODS).await;
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["-n", "a,c", "--once"])).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "", "no listing without namespace c");
    let line = stderr.lines().last().expect("an error line");
    assert!(
        line.starts_with("kreflect: not allowed to list pods in namespace c: "),
        "the namespace refused is named: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_namespaces_metrics_are_their_own_series() {
    let cluster = TestCluster::with_pods(&PODS).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&[
        "-n",
        "a,b",
        "--metrics-addr",
        ANY_PORT,
        "--interval",
        "100ms",
    ]));
    let addr = listening_addr(kreflect.child.id()).await;
    assert_eq!(kreflect.next_listing().await, ["a/x", "a/y", "b/x"]);
    let text = http_get(&addr, "/metrics").await;
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let samples: Vec<&str> = body
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series))
        .collect();
    let unique: HashSet<&&str> = samples.iter().collect();
    assert_eq!(unique.len(), samples.len(), "a series repeated:\n{body}");
    for line in [
        "kreflect_store_objects{resource=\"pods\",namespace=\"a\"} 2",
        "kreflect_store_objects{resource=\"pods\",namespace=\"b\"} 1",
        "kreflect_synced{resource=\"pods\",namespace=\"a\"} 1",
        "kreflect_synced{resource=\"pods\",namespace=\"b\"} 1",
    ] {
        assert!(
            body.lines().any(|sample| sample == line),
            "{line} in\n{body}"
        );
    }
    let helps = body
        .lines()
        .filter(|line| line.starts_with("# HELP kreflect_synced "))
        .count();
    assert_eq!(helps, 1, "each family once:\n{body}");
}

/// More namespaces than the open-file limit leaves connections for: refused at once, naming the
/// limit, rather than retried for ever as if the server could not be reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_namespaces_than_open_files_allow_are_refused_naming_the_limit() {
    let cluster = TestCluster::with_pods(&PODS).await;
    let limited = |limits: &str, namespaces: usize| {
        let list: Vec<String> = (0..namespaces).map(|n| format!("ns{n:02}")).collect();
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(format!(r#"{limits} && exec "$0" "$@""#))
            .arg(env!("CARGO_BIN_EXE_kreflect"))
            .args(["pods", "--once", "--kubeconfig"])
            .arg(cluster.kubeconfig_path())
            .args(["-n", &list.join(",")])
            .env_clear()
            .env("HOME", "/nonexistent")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        command
    };
    let under_limit = |namespaces| limited("ulimit -n 100", namespaces);
    let (status, stdout, stderr) = run_to_end(under_limit(40)).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("watching 40 collections (kinds, namespaces, contexts) takes a connection")
            && stderr.contains("may open only 100 files (ulimit -n)"),
        "{stderr}"
    );
    let (status, stdout, stderr) = run_to_end(under_limit(10)).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "\n", "ten empty namespaces");
    // A soft limit below the hard one is raised to it, as Go programs raise theirs.
    let raised = limited("ulimit -Sn 50 && ulimit -Hn 200", 40);
    let (status, stdout, stderr) = run_to_end(raised).await;
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "\n");
}
