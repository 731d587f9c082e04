//! kubectl's templates through the binary: `kreflect pods -n golden --once -o TEMPLATE` against
//! the fake server serving the four pods of `tests/fixtures/kubectl-goldens` (what a real v1.26
//! server listed), printing what kubectl v1.32 printed for them (`cases.json`), then the
//! listing's empty line.
//!
//! A listing applies a template as `kubectl get pods -o T` does when the template addresses
//! `.items` (and for custom columns and names): the golden `list` output; any other JSONPath
//! template applies to each object in key order, as `kubectl get -w` applies it per event: the
//! golden `per_object` outputs one after the other.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{Running, TestCluster, run_to_end};

/// The goldens' directory.
fn goldens() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubectl-goldens")
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(goldens().join(name)).expect("a golden file");
    serde_json::from_str(&text).expect("golden JSON")
}

/// A fake server holding the goldens' pods, as the real server listed them.
async fn golden_cluster() -> TestCluster {
    let cluster = TestCluster::start(Default::default()).await;
    let list = read_json("pods.list.json");
    for pod in list["items"].as_array().expect("items") {
        cluster.server.cluster().create_pod_with(pod.clone());
    }
    cluster
}

/// What a listing adds after the template's output: a newline unless it ended with one, then
/// the listing's empty line.
fn as_listing(printed: &str) -> String {
    let mut listing = printed.to_owned();
    if !listing.is_empty() && !listing.ends_with('\n') {
        listing.push('\n');
    }
    listing.push('\n');
    listing
}

/// The golden's per-object outputs, in key order (`golden/db-0`, `golden/job-x`, ...).
fn per_object_in_key_order(case: &Value) -> String {
    let per_object = case["per_object"].as_object().expect("per_object");
    let mut names: Vec<&String> = per_object.keys().collect();
    names.sort();
    names
        .iter()
        .map(|name| per_object[*name]["stdout"].as_str().expect("stdout"))
        .collect()
}

/// Whether kreflect prints this JSONPath template's listing whole (it addresses `.items`).
fn addresses_items(template: &str) -> bool {
    template.contains("{.items") || template.contains("{range .items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_golden_template_prints_what_kubectl_printed_for_the_same_pods() {
    let cluster = golden_cluster().await;
    let cases = read_json("cases.json");
    let mut checked = 0;
    for case in cases["cases"].as_array().expect("cases") {
        let template = case["template"].as_str().expect("template");
        let is_template = ["jsonpath=", "custom-columns="]
            .iter()
            .any(|prefix| template.starts_with(prefix))
            || template == "name";
        if !is_template {
            // The (default) table cases (their AGE depends on the time of the run) and the two
            // error cases, checked below.
            continue;
        }
        let mut runs = vec![(Vec::new(), "list")];
        if case.get("list_no_headers").is_some() {
            runs.push((vec!["--no-headers"], "list_no_headers"));
        }
        for (extra, golden) in runs {
            let mut args = vec!["-n", "golden", "--once", "-o", template];
            args.extend(extra);
            let (status, stdout, stderr) = run_to_end(cluster.kreflect(&args)).await;
            assert!(status.success(), "{template}: {stderr}");
            let per_object = template.starts_with("jsonpath=") && !addresses_items(template);
            let printed = if per_object && case.get("per_object").is_none() {
                // A list-only golden of a template that does not address `.items`: kubectl
                // printed the List's kind; a listing applies it to each pod.
                assert_eq!(template, "jsonpath={.kind}");
                "Pod".repeat(4)
            } else if per_object {
                per_object_in_key_order(case)
            } else {
                case[golden]["stdout"].as_str().expect("stdout").to_owned()
            };
            let expected = as_listing(&printed);
            if template == "jsonpath={..image}" {
                // kubectl walks a map's keys in Go's random order (its output for web-0 varies
                // from run to run), kreflect in key order: each object prints kubectl's words,
                // and the listing is the objects' outputs in key order.
                let mut objects = String::new();
                let per_object = case["per_object"].as_object().expect("per_object");
                let mut in_key_order: Vec<_> = per_object.iter().collect();
                in_key_order.sort_by_key(|(name, _)| name.as_str());
                for (name, golden) in in_key_order {
                    let args = ["-n", "golden", "--once", "-o", template, name.as_str()];
                    let (status, printed, stderr) = run_to_end(cluster.kreflect(&args)).await;
                    assert!(status.success(), "{template} {name}: {stderr}");
                    let printed = printed.strip_suffix("\n\n").expect("a listing");
                    let words = |text: &str| {
                        let mut words: Vec<String> = text.split(' ').map(str::to_owned).collect();
                        words.sort_unstable();
                        words
                    };
                    let expected = golden["stdout"].as_str().expect("stdout");
                    assert_eq!(words(printed), words(expected), "{template} {name}");
                    objects.push_str(printed);
                }
                assert_eq!(stdout, as_listing(&objects), "{template}");
            } else {
                assert_eq!(stdout, expected, "{template} ({golden})");
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} golden runs checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_fails_the_run_with_kubectls_message_when_keys_may_not_be_missing() {
    let cluster = golden_cluster().await;
    let args = [
        "-n",
        "golden",
        "--once",
        "-o",
        "jsonpath={.status.missing}",
        "--allow-missing-template-keys=false",
    ];
    let (status, stdout, stderr) = run_to_end(cluster.kreflect(&args)).await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    // kubectl: `error: error executing jsonpath "{.status.missing}": Error executing template:
    // missing is not found. ...`, then the object; kreflect's error line, one line.
    assert!(
        stderr.starts_with(
            "kreflect: error executing jsonpath \"{.status.missing}\": Error executing template: \
             missing is not found. Printing more information for debugging the template:\\n"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // The object whole, as kubectl shows it, though the template reads only `.status`.
    assert!(
        stderr.contains(r#""name":"db-0""#)
            && stderr.contains(r#""spec":map[string]interface {}{"#),
        "{stderr}"
    );
    let (status, stdout, _) = run_to_end(cluster.kreflect(&args[..5])).await;
    assert!(status.success());
    assert_eq!(stdout, "\n", "a missing key prints nothing by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_does_not_parse_is_a_usage_error_in_kubectls_words() {
    let cluster = golden_cluster().await;
    let (status, stdout, stderr) =
        run_to_end(cluster.kreflect(&["--once", "-o", "jsonpath={.metadata.name"])).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("error parsing jsonpath {.metadata.name, unclosed action"),
        "{stderr}"
    );
    let (status, _, stderr) = run_to_end(cluster.kreflect(&["--once", "-o", "yaml"])).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("allowed formats are: custom-columns,json,jsonpath,keys,name,wide"),
        "{stderr}"
    );
}

/// The changes the goldens' watch recordings saw, made on the fake server: `web-1` relabelled,
/// `db-0` marked for deletion (a MODIFIED with `deletionTimestamp`, as the real server sends),
/// then deleted.
fn change_as_recorded(cluster: &TestCluster) {
    let pods = cluster.server.cluster();
    pods.update_pod("golden", "web-1");
    let list = read_json("pods.list.json");
    let mut db = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|pod| pod["metadata"]["name"] == "db-0"))
        .expect("db-0")
        .clone();
    db["metadata"]["deletionTimestamp"] = "2026-12-07T03:12:40Z".into();
    pods.create_pod_with(db);
    pods.delete_pod("golden", "db-0");
}

/// The words of each line: what a template printed, whatever the alignment (kubectl aligns
/// its initial list as one batch; kreflect the changes applied together, which may be fewer).
fn fields(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_with_a_template_print_a_line_per_change_as_kubectl_get_w_printed() {
    for (template, recording, lines) in [
        (
            r#"jsonpath={.metadata.name}{"\t"}{.status.phase}{"\n"}"#,
            "watch/watch-jsonpath.txt",
            7,
        ),
        (
            "custom-columns=NAME:.metadata.name,IP:.status.podIP",
            "watch/watch-cc.txt",
            8,
        ),
    ] {
        let cluster = golden_cluster().await;
        // kubectl prints every MODIFIED; kreflect leaves out those printing the same line
        // unless asked (the next test).
        let args = [
            "-n",
            "golden",
            "--events",
            "--print-unchanged",
            "-o",
            template,
        ];
        let mut kreflect = Running::spawn(cluster.kreflect(&args));
        let mut printed = Vec::new();
        for _ in 0..lines - 3 {
            printed.push(kreflect.next_line().await);
        }
        change_as_recorded(&cluster);
        for _ in 0..3 {
            printed.push(kreflect.next_line().await);
        }
        let expected = std::fs::read_to_string(goldens().join(recording)).expect("recording");
        assert_eq!(fields(&printed.join("\n")), fields(&expected), "{template}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_watch_events_gives_each_object_its_type_as_kubectl_does() {
    let cluster = golden_cluster().await;
    let args = [
        "-n",
        "golden",
        "--events",
        "-o",
        "json",
        "--output-watch-events",
    ];
    let mut kreflect = Running::spawn(cluster.kreflect(&args));
    let mut events = Vec::new();
    for _ in 0..4 {
        events.push(kreflect.next_line().await);
    }
    change_as_recorded(&cluster);
    for _ in 0..3 {
        events.push(kreflect.next_line().await);
    }
    let recorded =
        std::fs::read_to_string(goldens().join("watch/watch-events.json")).expect("recording");
    let shape = |line: &str| {
        let event: Value = serde_json::from_str(line).expect("one JSON document a line");
        let object = &event["object"];
        (
            event["type"].as_str().expect("type").to_owned(),
            object["kind"].as_str().expect("kind").to_owned(),
            object["apiVersion"]
                .as_str()
                .expect("apiVersion")
                .to_owned(),
            object["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_owned(),
            object["status"]["phase"].clone(),
        )
    };
    // The initial list's end is marked, in kreflect's shape (kubectl has no such line).
    assert!(
        events[4].starts_with(r#"{"type":"SYNCED","#),
        "{}",
        events[4]
    );
    events.remove(4);
    events.push(kreflect.next_line().await);
    let got: Vec<_> = events.iter().map(|line| shape(line)).collect();
    let want: Vec<_> = recorded.lines().map(shape).collect();
    assert_eq!(got, want);
    assert!(events[0].starts_with(r#"{"type":"ADDED","object":{"apiVersion":"v1","#));

    // A template sees the same document: `.type` and `.object`.
    let template = r#"jsonpath={.type} {.object.metadata.name}{"\n"}"#;
    let cluster = golden_cluster().await;
    let args = [
        "-n",
        "golden",
        "--events",
        "--output-watch-events",
        "-o",
        template,
    ];
    let mut kreflect = Running::spawn(cluster.kreflect(&args));
    assert_eq!(kreflect.next_line().await, "ADDED db-0");

    // `-o name` prints the object's name, as kubectl's does with `--output-watch-events`.
    let args = [
        "-n",
        "golden",
        "--events",
        "--output-watch-events",
        "-o",
        "name",
    ];
    let mut kreflect = Running::spawn(cluster.kreflect(&args));
    assert_eq!(kreflect.next_line().await, "pod/db-0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_in_an_event_fails_the_run_when_keys_may_not_be_missing() {
    let cluster = golden_cluster().await;
    let args = [
        "-n",
        "golden",
        "--events",
        "-o",
        "jsonpath={.status.podIP}",
        "--allow-missing-template-keys=false",
    ];
    let (status, _, stderr) = run_to_end(cluster.kreflect(&args)).await;
    assert_eq!(status.code(), Some(1), "db-0 has no podIP: {stderr}");
    assert!(stderr.contains("podIP is not found"), "{stderr}");
    assert!(
        stderr.contains(r#""spec":map[string]interface {}{"#),
        "the object whole: {stderr}"
    );
}

/// A MODIFIED printing the line its object printed last (a status-only update, with a template
/// of other fields) is left out; `--print-unchanged` prints it; `--event-types` keeps only the
/// changes asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_leave_out_lines_that_did_not_change_and_types_not_asked_for() {
    let template = r#"jsonpath={.type} {.object.metadata.name} {.object.spec.nodeName}{"\n"}"#;
    let added = "ADDED x node-a";
    let modified = "MODIFIED x node-a";
    let deleted = "DELETED x node-a";
    for (extra, expected) in [
        (&[][..], vec![added, deleted, added]),
        (
            &["--print-unchanged"][..],
            vec![added, modified, modified, deleted, added],
        ),
        (
            &["--print-unchanged", "--event-types", "deleted,Modified"][..],
            vec![modified, modified, deleted],
        ),
    ] {
        let cluster = TestCluster::start(Default::default()).await;
        let pods = cluster.server.cluster();
        let pod = |node: &str| {
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "x", "namespace": "a"},
                "spec": {"nodeName": node, "containers": []},
            })
        };
        pods.create_pod_with(pod("node-a"));
        let mut args = vec!["--events", "--output-watch-events", "-o", template];
        args.extend(extra);
        let mut kreflect = Running::spawn(cluster.kreflect(&args));
        cluster
            .wait_for_request("the watch after the list", |request| {
                request.is_plain_watch()
            })
            .await;
        // Annotations only: each MODIFIED prints the ADDED line again, its type aside.
        pods.update_pod("a", "x");
        pods.update_pod("a", "x");
        pods.delete_pod("a", "x");
        pods.create_pod_with(pod("node-a"));
        // Its deletion ends every run's lines.
        pods.create_pod("a", "last");
        pods.delete_pod("a", "last");
        let mut printed = Vec::new();
        loop {
            let line = kreflect.next_line().await;
            if line.starts_with("DELETED last") {
                break;
            }
            if !line.contains(" last ") {
                printed.push(line);
            }
        }
        if !extra.contains(&"--event-types") {
            assert_eq!(printed.last().map(String::as_str), Some(added));
        }
        let expected: Vec<String> = expected.iter().map(|line| (*line).to_owned()).collect();
        assert_eq!(printed, expected, "{extra:?}");
    }
}

/// The initial state's end and every relist are marked in JSON events (`{"type":"SYNCED",...}`),
/// never in `TYPE key` lines; `--watch-only` prints nothing for the objects of the initial
/// list, as kubectl's flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_events_mark_when_a_list_replaced_the_state_and_watch_only_skips_the_initial_one() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect = Running::spawn(cluster.kreflect(&["--events", "-o", "json"]));
    let first: Value = serde_json::from_str(&kreflect.next_line().await).expect("json");
    assert_eq!(
        (first["type"].as_str(), first["key"].as_str()),
        (Some("ADDED"), Some("a/x"))
    );
    let marker: Value = serde_json::from_str(&kreflect.next_line().await).expect("json");
    assert_eq!(marker["type"], "SYNCED", "{marker}");
    assert_eq!(marker["key"], "");
    let listed_at = cluster.server.cluster().resource_version().to_string();
    assert_eq!(marker["resourceVersion"], listed_at.as_str());

    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut lines = Running::spawn(cluster.kreflect(&["--events", "--watch-only"]));
    cluster
        .wait_for_request("the watch after the list", |request| {
            request.is_plain_watch()
        })
        .await;
    cluster.server.cluster().create_pod("a", "later");
    assert_eq!(
        lines.next_line().await,
        "ADDED a/later",
        "not a/x, listed at the start"
    );
}
