//! kubectl's own output, byte for byte: every JSONPath, custom-columns and name case of
//! `tests/fixtures/kubectl-goldens/` (its README says how they were recorded), each run of a
//! case (the list, each object, `--no-headers`) rendered here from the same objects and
//! compared with kubectl's stdout, stderr and exit code. Also the two watch recordings.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::{Headers, Template};

/// The fixture directory.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubectl-goldens")
}

/// A fixture file, parsed.
fn read_json(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pods every case was printed from, as kubectl holds them: a list's items with their
/// `apiVersion` and `kind` filled in.
fn pods() -> Vec<Value> {
    let list = read_json("pods.list.json");
    let items = list["items"].as_array().expect("items").clone();
    items
        .into_iter()
        .map(|mut pod| {
            let fields = pod.as_object_mut().expect("a pod is an object");
            fields.insert("apiVersion".into(), "v1".into());
            fields.insert("kind".into(), "Pod".into());
            pod
        })
        .collect()
}

/// The recorded cases.
fn cases() -> Vec<Value> {
    read_json("cases.json")["cases"]
        .as_array()
        .expect("cases")
        .clone()
}

/// Out of scope: the default table, whose AGE column depends on the time of the run.
const SKIPPED: &[&str] = &["(default) --show-labels", "(default) -L app,tier"];

/// Runs whose order Go leaves to chance (a map's values under `..` come in random order):
/// the template, the object, and what kreflect prints (keys in order), which has the same
/// words as kubectl's recording in another order.
const RANDOM_ORDER: &[(&str, &str, &str)] = &[(
    "jsonpath={..image}",
    "web-0",
    "nginx:1.25 envoyproxy/envoy:v1.29 busybox:1.36 nginx:1.25 envoyproxy/envoy:v1.29",
)];

/// Declares one test per recorded template, and the list of them.
macro_rules! goldens {
    ($($test:ident: $template:expr;)*) => {
        $(
            #[test]
            fn $test() {
                check_case($template);
            }
        )*
        /// Every template a test above checks.
        const CHECKED: &[&str] = &[$($template),*];
    };
}

goldens! {
    jsonpath_name: "jsonpath={.metadata.name}";
    jsonpath_text_and_quoted_tab_and_newline:
        r#"jsonpath={.metadata.namespace}/{.metadata.name}{"\t"}{.status.podIP}{"\n"}"#;
    jsonpath_label: "jsonpath={.metadata.labels.app}";
    jsonpath_map_prints_as_json: "jsonpath={.metadata.labels}";
    jsonpath_escaped_dot_in_key: r"jsonpath={.metadata.annotations.example\.com/owner}";
    jsonpath_wildcard_index: "jsonpath={.spec.containers[*].image}";
    jsonpath_index_then_wildcard: "jsonpath={.spec.containers[0].ports[*].containerPort}";
    jsonpath_negative_slice: "jsonpath={.spec.containers[-1:].name}";
    jsonpath_filter_equal: r#"jsonpath={.spec.containers[?(@.name=="web")].image}"#;
    jsonpath_filter_condition: r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
    jsonpath_range_end: "jsonpath={range .spec.containers[*]}{.name}={.image};{end}";
    jsonpath_recursive_descent: "jsonpath={..image}";
    jsonpath_numbers: "jsonpath={.status.containerStatuses[*].restartCount}";
    jsonpath_missing_key_prints_nothing: "jsonpath={.status.missing}";
    jsonpath_quoted_separator: r#"jsonpath={.spec.nodeName}{"|"}{.status.phase}"#;
    jsonpath_pod_ips: "jsonpath={.status.podIPs[*].ip}";
    jsonpath_index_past_the_end_of_nothing: "jsonpath={.metadata.ownerReferences[0].name}";
    jsonpath_filter_greater: "jsonpath={.status.containerStatuses[?(@.restartCount>1)].name}";
    jsonpath_lists_print_as_json: "jsonpath={.spec.containers[*].ports}";
    jsonpath_current_object: "jsonpath={@.kind}";
    jsonpath_list_range: r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}"#;
    jsonpath_list_items: "jsonpath={.items[*].metadata.name}";
    jsonpath_list_range_filter:
        r#"jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name}{" "}{end}"#;
    jsonpath_list_first_item: "jsonpath={.items[0].metadata.name}";
    jsonpath_list_kind: "jsonpath={.kind}";
    columns_missing_values: "custom-columns=NAME:.metadata.name,IP:.status.podIP,NODE:.spec.nodeName";
    columns_wildcard_joined_by_commas:
        "custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image";
    columns_filter:
        r#"custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status"#;
    columns_numbers: "custom-columns=KEY:.metadata.namespace,RESTARTS:.status.containerStatuses[*].restartCount,APP:.metadata.labels.app";
    columns_braced_paths: "custom-columns=NAME:{.metadata.name},PHASE:{.status.phase}";
    name: "name";
    jsonpath_missing_key_is_an_error_when_not_allowed:
        "jsonpath (allow-missing-template-keys=false) {.status.missing}";
    jsonpath_syntax_error: "jsonpath syntax error {.metadata.name";
}

#[test]
fn every_golden_case_is_checked_or_skipped_on_purpose() {
    let recorded: Vec<String> = cases()
        .iter()
        .map(|case| case["template"].as_str().expect("template").to_owned())
        .collect();
    for template in &recorded {
        let known = CHECKED.contains(&template.as_str()) || SKIPPED.contains(&template.as_str());
        assert!(known, "golden case {template:?} has no test");
    }
    for template in CHECKED {
        assert!(
            recorded.iter().any(|t| t == template),
            "no golden case {template:?}"
        );
    }
}

/// Checks every run of the case recorded for `template`.
fn check_case(template: &str) {
    let cases = cases();
    let case = cases
        .iter()
        .find(|case| case["template"] == template)
        .unwrap_or_else(|| panic!("no golden case {template:?}"));
    let pods = pods();
    let mut runs: Vec<&Value> = ["list", "list_no_headers"]
        .iter()
        .filter_map(|key| case.get(*key))
        .collect();
    if let Some(per_object) = case.get("per_object").and_then(Value::as_object) {
        runs.extend(per_object.values());
    }
    assert!(!runs.is_empty(), "{template}: no runs recorded");
    for run in runs {
        check_run(template, run, &pods);
    }
}

/// Renders one recorded kubectl run (read from its arguments) and compares.
fn check_run(case: &str, run: &Value, pods: &[Value]) {
    let args: Vec<&str> = run["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("an argument"))
        .collect();
    let spec = args
        .iter()
        .position(|arg| *arg == "-o")
        .and_then(|at| args.get(at + 1))
        .unwrap_or_else(|| panic!("{case}: no -o in {args:?}"));
    let allow_missing = !args.contains(&"--allow-missing-template-keys=false");
    let headers = if args.contains(&"--no-headers") {
        Headers::Omit
    } else {
        Headers::Print
    };
    let mut out = Vec::new();
    let (single, result) = match args.get(1..3) {
        Some(["pod", name]) => {
            let pod = pods
                .iter()
                .find(|pod| pod["metadata"]["name"] == *name)
                .unwrap_or_else(|| panic!("{case}: no pod {name}"));
            let result = Template::parse(spec).and_then(|template| {
                let template = template.allow_missing_keys(allow_missing);
                template.render_object(pod, headers, &mut out)
            });
            (Some(*name), result)
        }
        Some(["pods", _]) => {
            let result = Template::parse(spec).and_then(|template| {
                let template = template.allow_missing_keys(allow_missing);
                template.render_list(pods.to_vec(), headers, &mut out)
            });
            (None, result)
        }
        _ => panic!("{case}: unexpected arguments {args:?}"),
    };
    let stdout = String::from_utf8(out).expect("UTF-8 output");
    let expected = run["stdout"].as_str().expect("stdout");
    let context = format!("{case} ({})", args.join(" "));
    let random = RANDOM_ORDER
        .iter()
        .find(|(template, pod, _)| template == spec && Some(*pod) == single);
    match random {
        Some((_, _, ours)) => {
            assert_eq!(stdout, *ours, "{context}");
            let mut words: Vec<&str> = stdout.split(' ').collect();
            let mut kubectls: Vec<&str> = expected.split(' ').collect();
            words.sort_unstable();
            kubectls.sort_unstable();
            assert_eq!(words, kubectls, "{context}: not kubectl's values");
        }
        None => assert_eq!(stdout, expected, "{context}: stdout"),
    }
    let stderr = run["stderr"].as_str().expect("stderr");
    match (run["exit"].as_i64(), result) {
        (Some(0), Ok(())) => assert_eq!(stderr, "", "{context}"),
        (Some(0), Err(error)) => panic!("{context}: failed with {error}"),
        (Some(1), Ok(())) => panic!("{context}: succeeded, kubectl printed {stderr:?}"),
        (Some(1), Err(error)) => assert_eq!(format!("error: {error}"), stderr, "{context}"),
        (exit, _) => panic!("{context}: unexpected exit code {exit:?}"),
    }
}

/// The objects of `watch/watch-events.json`: the initial list's four, then one per event.
fn watch_objects() -> Vec<Value> {
    let path = fixtures().join("watch/watch-events.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|event| event.expect("an event")["object"].clone())
        .collect()
}

/// What a [`super::WatchPrinter`] prints for the recorded watch: the first four objects as
/// the initial list (one batch), then each event's object as a batch of its own.
fn watch_output(spec: &str) -> String {
    let objects = watch_objects();
    assert_eq!(objects.len(), 7, "the recording has 4 pods and 3 events");
    let template = Template::parse(spec).expect("template");
    let mut printer = template.watch(Headers::Print);
    let mut out = Vec::new();
    printer
        .print(&objects[..4], &mut out)
        .expect("initial list");
    for object in &objects[4..] {
        printer
            .print(std::slice::from_ref(object), &mut out)
            .expect("event");
    }
    String::from_utf8(out).expect("UTF-8 output")
}

/// A file of `watch/`.
fn watch_file(name: &str) -> String {
    let path = fixtures().join("watch").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn watch_jsonpath_is_aligned_by_the_watchs_tab_writer() {
    // The recording's template (its README describes the run): a name, a tab, the phase.
    let spec = r#"jsonpath={.metadata.name}{"\t"}{.status.phase}{"\n"}"#;
    assert_eq!(watch_output(spec), watch_file("watch-jsonpath.txt"));
}

#[test]
fn watch_custom_columns_print_one_header_and_keep_their_widths() {
    let spec = "custom-columns=NAME:.metadata.name,IP:.status.podIP";
    assert_eq!(watch_output(spec), watch_file("watch-cc.txt"));
}

#[test]
fn serde_json_maps_iterate_in_key_order_as_go_prints_them() {
    // Printing and `..` rely on it: serde_json's `preserve_order` feature would break them.
    let map: Value = serde_json::from_str(r#"{"b":1,"a":2,"B":3,"ä":4}"#).expect("json");
    let keys: Vec<&String> = map.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["B", "a", "b", "ä"]);
}

/// Templates beyond the recorded cases whose reads are harder to follow: unions, nested and
/// unclosed ranges, filters comparing two paths, wildcards, `..` under a path, literals
/// followed by paths, `@` and the root whole.
const MORE_TEMPLATES: &[&str] = &[
    "jsonpath={.spec['containers','initContainers'][*].name}",
    "jsonpath={range .spec.containers[*]}{range .ports[*]}{.containerPort}/{end}{.name};{end}",
    "jsonpath={range .spec.containers[*]}{.name}",
    "jsonpath={.status.containerStatuses[?(@.restartCount>=@.restartCount)].name}",
    "jsonpath={.status.conditions[?(@.status)].type}",
    "jsonpath={.metadata.*}",
    "jsonpath={.spec..name}",
    "jsonpath={\"x\"}{.metadata.name}",
    "jsonpath={@}",
    "jsonpath={.status.podIPs[-1:].ip}{.spec.containers[0:1].image}",
    "jsonpath={.}",
    "jsonpath={.metadata.labels.app}{.metadata.labels}",
    "jsonpath={range .items[*]}{.metadata.name}{range .spec.containers[*]}{.image}{end}{end}",
    "custom-columns=A:.metadata.name,B:.spec.containers[*].ports[*].containerPort,C:.status",
    "name",
];

/// A template prints the same from the part of an object [`super::Template::object_reads`]
/// (and, for a list, [`super::Template::item_reads`]) says it reads as from the whole object,
/// for every recorded template and more, over every pod.
#[test]
fn what_a_template_reads_of_an_object_is_all_it_needs() {
    let recorded = cases();
    let templates = recorded
        .iter()
        .filter_map(|case| case["template"].as_str())
        .filter(|template| template.starts_with("jsonpath=") || template.starts_with("custom-"))
        .chain(MORE_TEMPLATES.iter().copied());
    let whole = pods();
    let mut checked = 0;
    for text in templates {
        let Ok(template) = Template::parse(text) else {
            continue;
        };
        let parsed = |reads: &super::Reads| -> Vec<Value> {
            whole
                .iter()
                .map(|pod| {
                    let json = serde_json::to_vec(pod).expect("serializes");
                    super::parse_for(&json, reads).expect("parses")
                })
                .collect()
        };
        for object in whole.iter().zip(parsed(&template.object_reads())) {
            let (mut from_whole, mut from_part) = (Vec::new(), Vec::new());
            let whole_result = template.render_object(object.0, Headers::Print, &mut from_whole);
            let part_result = template.render_object(&object.1, Headers::Print, &mut from_part);
            assert_eq!(whole_result.is_ok(), part_result.is_ok(), "{text}");
            assert_eq!(
                from_whole, from_part,
                "{text} on {}",
                object.0["metadata"]["name"]
            );
            checked += 1;
        }
        let (mut from_whole, mut from_part) = (Vec::new(), Vec::new());
        let whole_result = template.render_list(whole.clone(), Headers::Print, &mut from_whole);
        let items = parsed(&template.item_reads());
        let part_result = template.render_list(items, Headers::Print, &mut from_part);
        assert_eq!(whole_result.is_ok(), part_result.is_ok(), "{text}");
        assert_eq!(from_whole, from_part, "{text} as a list");
    }
    assert!(checked > 4 * 40, "only {checked} checked");
}

/// The cases a fuzzer found where the part read printed otherwise than the whole, shrunk: a
/// literal after a path (one value per value of the path), a range whose body reads nothing of
/// its items, ranges not simply nested (left open, `range` or `end` inside an action), `.`
/// with no name (the key ""), and custom columns (whose paths take a leading dot): the template,
/// the object, whether keys may be missing.
const FOUND_BY_FUZZING: &[(&str, &str, bool)] = &[
    ("jsonpath={.a 5}", r#"{"a":null}"#, true),
    ("jsonpath={.a \"x\"}", r#"{"a":1}"#, false),
    (
        "jsonpath={.a[?(@.b==@.c 1)].d}",
        r#"{"a":[{"b":1,"c":1,"d":"D"}]}"#,
        true,
    ),
    ("custom-columns=A:a 5", r#"{"a":1}"#, true),
    ("jsonpath={range .a[*]}x{end}", r#"{"a":[1,2]}"#, true),
    ("jsonpath={range .a}{end}", r#"{"a":1}"#, false),
    (
        "jsonpath={range .a[*]}{.b}",
        r#"{"a":[{"b":1}],"b":2}"#,
        true,
    ),
    (
        "jsonpath={range .a[*]}{range .b[*]}{end}{.c}",
        r#"{"a":[],"c":"C"}"#,
        true,
    ),
    (
        "jsonpath={range .x[*]}{.a end}{.c}",
        r#"{"x":[{"a":1}],"c":"C"}"#,
        true,
    ),
    (
        "jsonpath={range .x[*]}{.y[?(@.z end)]}{.c}",
        r#"{"x":[{"y":[{"z":1}]}],"c":"C"}"#,
        true,
    ),
    (
        "jsonpath={range .x[*]}{.y['z end']}{.c}",
        r#"{"x":[{"y":{"z":1}}],"c":"C"}"#,
        true,
    ),
    (
        "jsonpath={range .x[*]}{.y range}{end}{.c}{end}",
        r#"{"x":[{"y":1,"c":"C"}]}"#,
        true,
    ),
    ("jsonpath={. .b}", r#"{"":{"b":1}}"#, true),
    ("jsonpath={.a. .b}", r#"{"a":{"":{"b":1}}}"#, true),
    ("custom-columns=A:['a']", r#"{"":{"a":1}}"#, true),
];

/// Each of [`FOUND_BY_FUZZING`] prints the same from what is read as from the whole (and fails
/// or succeeds alike), as an object and as a list's item.
#[test]
fn what_fuzzing_found_prints_the_same_from_what_is_read() {
    for (text, json, allow_missing) in FOUND_BY_FUZZING {
        let template = Template::parse(text)
            .expect("parses")
            .allow_missing_keys(*allow_missing);
        let whole: Value = serde_json::from_str(json).expect("json");
        let run = |reads: &super::Reads, list: bool| {
            let object = super::parse_for(json.as_bytes(), reads).expect("parses");
            let mut out = Vec::new();
            let result = if list {
                template.render_list(vec![object], Headers::Print, &mut out)
            } else {
                template.render_object(&object, Headers::Print, &mut out)
            };
            (result.is_ok(), out)
        };
        for list in [false, true] {
            let reads = if list {
                template.item_reads()
            } else {
                template.object_reads()
            };
            let mut out = Vec::new();
            let result = if list {
                template.render_list(vec![whole.clone()], Headers::Print, &mut out)
            } else {
                template.render_object(&whole, Headers::Print, &mut out)
            };
            assert_eq!(
                run(&reads, list),
                (result.is_ok(), out),
                "{text} on {json} (as a list: {list})"
            );
        }
    }
}
