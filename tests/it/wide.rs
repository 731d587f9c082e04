//! `-o wide` from the server's Table: the real binary against the fake API server over HTTP,
//! which answers `Accept: …;as=Table;…` as a kube-apiserver does (transcripts 15-18).

use std::time::{Duration, SystemTime};

use kreflect_sim::{NoTable, ServerOptions, WatchListSupport};
use serde_json::{Value, json};

use crate::harness::{DEADLINE, Running, TestCluster, once, poll_until, run_to_end, strings};

/// kubectl's Accept for `kubectl get`, which kreflect sends with `-o wide`.
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

const POD_HEADER: [&str; 10] = [
    "NAMESPACE",
    "NAME",
    "READY",
    "STATUS",
    "RESTARTS",
    "AGE",
    "IP",
    "NODE",
    "NOMINATED NODE",
    "READINESS GATES",
];

/// The table's lines, each split into its cells (columns are three or more spaces apart).
fn cells(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .take_while(|line| !line.is_empty())
        .map(|line| {
            line.split("   ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn ago(seconds: u64) -> String {
    rfc3339(SystemTime::now() - Duration::from_secs(seconds))
}

fn container_status(state: Value, ready: bool, restarts: u32, last: Value) -> Value {
    json!({"name": "c", "image": "i", "imageID": "", "ready": ready, "restartCount": restarts,
           "state": state, "lastState": last})
}

fn pod(namespace: &str, name: &str, status: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": ago(3 * 3600)},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "i"}]},
        "status": status,
    })
}

fn crash_looping(namespace: &str, name: &str) -> Value {
    let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(3 * 86_400 + 10)}});
    pod(
        namespace,
        name,
        json!({"phase": "Running", "podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}],
               "containerStatuses": [container_status(
                   json!({"waiting": {"reason": "CrashLoopBackOff"}}), false, 5, last)]}),
    )
}

/// Pods in every state kubectl names specially.
async fn cluster_with_pod_states(options: ServerOptions) -> TestCluster {
    let cluster = TestCluster::start(options).await;
    let pods = cluster.server.cluster();
    pods.create_pod_with(crash_looping("shop", "crash"));
    pods.create_pod_with(pod(
        "shop",
        "done",
        json!({"phase": "Succeeded", "containerStatuses": [container_status(
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}), false, 0, json!({}))]}),
    ));
    let mut terminating = pod("shop", "going", json!({"phase": "Running"}));
    terminating["metadata"]["deletionTimestamp"] = ago(5).into();
    pods.create_pod_with(terminating);
    pods.create_pod_with(pod(
        "batch",
        "evicted",
        json!({"phase": "Failed", "reason": "Evicted"}),
    ));
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_show_the_servers_columns_and_kubectls_statuses() {
    let cluster = cluster_with_pod_states(ServerOptions::default()).await;
    let stdout = once(&cluster, &["pods", "-o", "wide", "--once"]).await;
    let table = cells(&stdout);
    assert_eq!(table[0], POD_HEADER, "{stdout}");
    let rows: Vec<Vec<&str>> = table[1..]
        .iter()
        .map(|row| row.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "batch", "evicted", "0/1", "Evicted", "0", "3h", "<none>", "node-a", "<none>",
                "<none>"
            ],
            vec![
                "shop",
                "crash",
                "0/1",
                "CrashLoopBackOff",
                "5 (3d ago)",
                "3h",
                "10.0.0.7",
                "node-a",
                "<none>",
                "<none>"
            ],
            vec![
                "shop",
                "done",
                "0/1",
                "Completed",
                "0",
                "3h",
                "<none>",
                "node-a",
                "<none>",
                "<none>"
            ],
            vec![
                "shop",
                "going",
                "0/1",
                "Terminating",
                "0",
                "3h",
                "<none>",
                "node-a",
                "<none>",
                "<none>"
            ],
        ],
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\n\n"),
        "a listing ends with an empty line"
    );
    let header = stdout.lines().next().expect("header");
    let status_at = header.find("STATUS").expect("STATUS");
    for line in stdout.lines().skip(1).filter(|line| !line.is_empty()) {
        assert_ne!(line.as_bytes()[status_at], b' ', "aligned: {stdout}");
    }
    let lists = cluster.list_requests();
    assert_eq!(lists[0].accept.as_deref(), Some(TABLE_ACCEPT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespace_column_shows_only_across_namespaces() {
    let cluster = cluster_with_pod_states(ServerOptions::default()).await;
    let stdout = once(&cluster, &["pods", "-n", "shop", "-o", "wide", "--once"]).await;
    let table = cells(&stdout);
    assert_eq!(table[0], POD_HEADER[1..], "{stdout}");
    let names: Vec<&str> = table[1..].iter().map(|row| row[0].as_str()).collect();
    assert_eq!(names, ["crash", "done", "going"], "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_resource_gets_its_printer_columns_and_deployments_theirs() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let widgets = cluster.server.resource("widgets").expect("widgets");
    widgets.create_object(
        json!({"metadata": {"name": "w1", "namespace": "shop"}, "spec": {"color": "teal"}}),
    );
    widgets.create_object(json!({"metadata": {"name": "w2", "namespace": "shop"}, "spec": {}}));
    let stdout = once(&cluster, &["widgets", "-n", "shop", "-o", "wide", "--once"]).await;
    assert_eq!(stdout, "NAME   COLOR\nw1     teal\nw2     <none>\n\n");

    let deployments = cluster.server.resource("deployments").expect("deployments");
    deployments.create_object(json!({
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": ago(600)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}, {"name": "envoy", "image": "envoy:2"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }));
    let stdout = once(&cluster, &["deploy", "-n", "shop", "-o", "wide", "--once"]).await;
    assert_eq!(
        cells(&stdout),
        [
            [
                "NAME",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "CONTAINERS",
                "IMAGES",
                "SELECTOR"
            ],
            [
                "web",
                "2/3",
                "3",
                "2",
                "10m",
                "app,envoy",
                "web:1,envoy:2",
                "app=web"
            ],
        ],
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_event_changes_a_rows_cells() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let pods = cluster.server.cluster();
    pods.create_pod_with(pod("shop", "web", json!({"phase": "Pending"})));
    let mut running = Running::spawn(cluster.kreflect(&["-o", "wide", "--interval", "100ms"]));
    let first = running.next_listing().await;
    assert!(first[1].contains("Pending"), "{first:?}");
    pods.create_pod_with(crash_looping("shop", "web"));
    let changed = poll_until(DEADLINE, async || {
        let listing = running.next_listing().await;
        listing[1].contains("CrashLoopBackOff").then_some(listing)
    })
    .await;
    assert!(changed.is_some(), "{}", running.stderr_so_far());
    let watches = cluster.watch_requests();
    assert_eq!(watches[0].accept.as_deref(), Some(TABLE_ACCEPT));
}

/// A kind that cannot produce a Table gets today's columns, whether the server says 406 or
/// answers its plain list; either way kreflect asks once, then remembers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_server_tables_the_listing_falls_back_to_todays_columns() {
    for refusal in [NoTable::NotAcceptable, NoTable::Plain] {
        let options = ServerOptions {
            without_tables: vec![("pods".to_owned(), refusal)],
            ..ServerOptions::default()
        };
        let cluster = cluster_with_pod_states(options).await;
        let mut running = Running::spawn(cluster.kreflect(&["-o", "wide", "--interval", "1h"]));
        let listing = running.next_listing().await;
        let header: Vec<&str> = listing[0].split_whitespace().collect();
        assert_eq!(
            header,
            ["NAMESPACE", "NAME", "STATUS", "NODE", "AGE"],
            "{refusal:?}"
        );
        assert_eq!(listing.len(), 5, "{refusal:?}: {listing:?}");
        cluster
            .wait_for_request("a watch", |request| request.is_plain_watch())
            .await;
        let accepts: Vec<(&str, Option<String>)> = cluster
            .requests()
            .into_iter()
            .filter(|request| request.path.ends_with("/pods"))
            .map(|request| {
                let what = match (request.is_streaming_list(), request.is_watch()) {
                    (true, _) => "streaming list",
                    (false, true) => "watch",
                    (false, false) => "list",
                };
                (what, request.accept)
            })
            .collect();
        let table = Some(TABLE_ACCEPT.to_owned());
        let plain = Some("application/json".to_owned());
        // The streaming list asked first (refused: v1.26) learns the 406 for the list.
        let expected = match refusal {
            NoTable::NotAcceptable => vec![
                ("streaming list", table),
                ("streaming list", plain.clone()),
                ("list", plain.clone()),
                ("watch", plain),
            ],
            NoTable::Plain => vec![
                ("streaming list", table.clone()),
                ("list", table),
                ("watch", plain),
            ],
        };
        assert_eq!(accepts, expected, "{refusal:?}");
        let stderr = running.stderr_so_far();
        assert!(
            !stderr.contains("ERROR") && !stderr.contains("WARN"),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_formats_keep_the_plain_accept() {
    // Plain: the objects' own encoding, protobuf for pods (--wire auto), never a Table.
    let cluster = cluster_with_pod_states(ServerOptions::default()).await;
    for args in [&["--once"][..], &["--once", "-o", "json"]] {
        once(&cluster, &[&["pods"][..], args].concat()).await;
    }
    let accepts: Vec<Option<String>> = cluster
        .list_requests()
        .into_iter()
        .map(|request| request.accept)
        .collect();
    assert_eq!(
        accepts,
        [
            Some("application/vnd.kubernetes.protobuf, application/json".to_owned()),
            Some("application/vnd.kubernetes.protobuf, application/json".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_cell_cannot_break_a_row_or_reach_the_terminal() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    cluster
        .server
        .resource("widgets")
        .expect("widgets")
        .create_object(json!({"metadata": {"name": "w", "namespace": "a"},
                              "spec": {"color": "te\nal\x1b]0;pwned\x07"}}));
    let stdout = once(&cluster, &["widgets", "-o", "wide", "--once"]).await;
    assert_eq!(
        stdout,
        "NAMESPACE   NAME   COLOR\na           w      te\\nal\\x1b]0;pwned\\x07\n\n"
    );
}

/// A server that makes Tables for lists but answers a Table watch 406: the watch is opened
/// again plainly at once, and rows listed as Table rows show kreflect's columns alongside the
/// plain objects the watch brings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_406_on_the_watch_reopens_it_plainly_without_an_error() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let pods = cluster.server.cluster();
    pods.create_pod_with(crash_looping("shop", "crash"));
    cluster.server.inject(kreflect_sim::Fault::WatchStatus {
        code: 406,
        reason: "NotAcceptable".to_owned(),
        retry_after: None,
    });
    let mut running = Running::spawn(cluster.kreflect(&["-o", "wide", "--interval", "100ms"]));
    let first = running.next_listing().await;
    assert!(
        first[0].contains("READY") && first[1].contains("CrashLoopBackOff"),
        "{first:?}"
    );
    cluster
        .wait_for_request("a second watch", |request| {
            request.is_plain_watch() && request.accept.as_deref() == Some("application/json")
        })
        .await;
    pods.create_pod_with(pod("shop", "later", json!({"phase": "Running"})));
    let mixed = poll_until(DEADLINE, async || {
        let listing = running.next_listing().await;
        (listing.len() == 3).then_some(listing)
    })
    .await
    .expect("the new pod is listed");
    let header: Vec<&str> = mixed[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "STATUS", "NODE", "AGE"],
        "{mixed:?}"
    );
    assert!(
        mixed[1].contains("CrashLoopBackOff") && mixed[2].contains("Running"),
        "{mixed:?}"
    );
    let accepts: Vec<Option<String>> = cluster
        .watch_requests()
        .into_iter()
        .map(|request| request.accept)
        .collect();
    assert_eq!(
        accepts[..2],
        [
            Some(TABLE_ACCEPT.to_owned()),
            Some("application/json".to_owned())
        ]
    );
    let stderr = running.stderr_so_far();
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("WARN"),
        "{stderr}"
    );
}

/// A Table row with fewer or more cells than columns (a broken aggregated API, kubernetes#66379)
/// is shown as kubectl shows it: missing cells empty, extra cells dropped. Its object is not
/// dropped from the listing, and a watch event bringing one is no reason to relist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_with_too_few_or_too_many_cells_is_shown_not_dropped() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let object = |name: &str, version: &str| {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
               "metadata": {"name": name, "namespace": "a", "resourceVersion": version}})
    };
    let columns = json!([{"name": "Name", "type": "string", "priority": 0},
                         {"name": "Status", "type": "string", "priority": 0}]);
    let list = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                      "metadata": {"resourceVersion": "5"}, "columnDefinitions": columns,
                      "rows": [{"cells": ["short"], "object": object("short", "4")}]});
    let event = json!({"type": "ADDED", "object": {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "6"},
        "columnDefinitions": null,
        "rows": [{"cells": ["long", "Running", "extra"], "object": object("long", "6")}]}});
    cluster.server.inject(kreflect_sim::Fault::ListRawBody {
        code: 200,
        body: list.to_string(),
    });
    cluster
        .server
        .inject(kreflect_sim::Fault::WatchLinesThenClose(vec![
            event.to_string(),
        ]));
    let mut running = Running::spawn(cluster.kreflect(&["-o", "wide", "--interval", "100ms"]));
    let expected = [
        "NAMESPACE   NAME    STATUS",
        "a           long    Running",
        "a           short",
    ];
    running.wait_for_listing(&strings(&expected)).await;
    let stderr = running.stderr_so_far();
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert_eq!(
        cluster.list_requests().len(),
        1,
        "no relist; stderr: {stderr}"
    );
}

/// An empty Table that defines no columns (`columnDefinitions: null`, as Go writes a nil
/// slice) needs none: the listing is empty, not a decode error retried forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_table_without_column_definitions_is_an_empty_listing() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let empty = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                       "metadata": {"resourceVersion": "5"}, "columnDefinitions": null,
                       "rows": []});
    cluster.server.inject(kreflect_sim::Fault::ListRawBody {
        code: 200,
        body: empty.to_string(),
    });
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&["-o", "wide", "--once"])).await;
    assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    assert_eq!(stdout, "NAMESPACE   NAME   STATUS   NODE   AGE\n\n");
}

/// An empty listing still has the server's columns: a Table list carries its
/// `columnDefinitions` with zero rows, so the header is the one the first object will be listed
/// under, not kreflect's fallback header (`NAMESPACE NAME STATUS NODE AGE`) switching to the
/// server's when that object appears. The header line, then the listing's empty line; after a
/// streaming list too, whose columns come with its first watch event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_listing_has_the_servers_columns() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let stdout = once(&cluster, &["pods", "-o", "wide", "--once"]).await;
    assert_eq!(stdout, format!("{}\n\n", POD_HEADER.join("   ")));
    let stdout = once(&cluster, &["pods", "-n", "shop", "-o", "wide", "--once"]).await;
    assert_eq!(stdout, format!("{}\n\n", POD_HEADER[1..].join("   ")));
    let stdout = once(&cluster, &["widgets", "-n", "shop", "-o", "wide", "--once"]).await;
    assert_eq!(stdout, "NAME   COLOR\n\n");
    // A streaming list (never with --once) has no list body: the columns come with its first
    // watch event, here the bookmark that ends the initial events.
    let cluster = TestCluster::start(ServerOptions {
        watch_list: WatchListSupport::Supported,
        ..ServerOptions::default()
    })
    .await;
    let args = ["pods", "-o", "wide", "--interval", "1h"];
    let mut running = Running::spawn(cluster.kreflect_any(&args));
    assert_eq!(running.next_listing().await, [POD_HEADER.join("   ")]);
    assert_eq!(cluster.streaming_list_requests().len(), 1);
    let lists = cluster.list_requests();
    assert!(lists.is_empty(), "streamed, not listed: {lists:#?}");
}

/// RESTARTS' `(3m ago)` is the server's, said when it sent the row: like AGE, it is said again
/// at each listing, not shown frozen while the listing is printed every interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_restarts_ago_is_said_again_at_each_listing() {
    let cluster = TestCluster::start(ServerOptions::default()).await;
    let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(180)}});
    cluster.server.cluster().create_pod_with(pod(
        "shop",
        "crash",
        json!({"phase": "Running", "containerStatuses": [container_status(
            json!({"waiting": {"reason": "CrashLoopBackOff"}}), false, 5, last)]}),
    ));
    let mut running = Running::spawn(cluster.kreflect(&["-o", "wide", "--interval", "500ms"]));
    let restarts = |listing: &[String]| cells(&format!("{}\n", listing.join("\n")))[1][4].clone();
    let first = restarts(&running.next_listing().await);
    assert!(first == "5 (3m ago)" || first == "5 (3m1s ago)", "{first}");
    let later = poll_until(DEADLINE, async || {
        let now = restarts(&running.next_listing().await);
        (now != first).then_some(now)
    })
    .await;
    let later = later.unwrap_or_else(|| panic!("still {first:?}: frozen"));
    assert!(
        later.starts_with("5 (3m") && later.ends_with("s ago)"),
        "{first} then {later}"
    );
}
