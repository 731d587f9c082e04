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

use crate::harness::{TestCluster, run_to_end};

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
                // kubectl walks a map's keys in Go's random order, kreflect in key order, and
                // the objects' outputs run together: the same characters, in another order.
                let characters = |text: &str| {
                    let mut characters: Vec<char> =
                        text.chars().filter(|c| !c.is_whitespace()).collect();
                    characters.sort_unstable();
                    characters
                };
                assert_eq!(characters(&stdout), characters(&expected), "{template}");
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
        stderr.contains("allowed formats are: custom-columns,jsonpath,name"),
        "{stderr}"
    );
}
