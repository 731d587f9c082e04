//! The JSONPath engine against kubectl's behaviour: each expectation below is what client-go's
//! jsonpath printed for the same template and object (run with map keys sorted, as here).

use serde_json::{Value, json};

use super::{ExecError, JsonPath};

/// What `template` prints for `object`, missing keys allowed.
fn prints(template: &str, object: Value) -> String {
    let path = JsonPath::parse(template).unwrap_or_else(|e| panic!("{template}: {e}"));
    let mut out = Vec::new();
    path.execute(&object, true, &mut out)
        .unwrap_or_else(|e| panic!("{template}: {e:?}"));
    String::from_utf8(out).expect("UTF-8")
}

/// kubectl's message when `template` fails on `object`.
fn fails(template: &str, object: Value, allow_missing_keys: bool) -> String {
    let path = JsonPath::parse(template).unwrap_or_else(|e| panic!("{template}: {e}"));
    let mut out = Vec::new();
    match path.execute(&object, allow_missing_keys, &mut out) {
        Err(ExecError::Go(message)) => {
            assert!(out.is_empty(), "{template}: printed before failing");
            message
        }
        other => panic!("{template}: {other:?}"),
    }
}

/// kubectl's message for a template that does not parse.
fn parse_error(template: &str) -> String {
    match JsonPath::parse(template) {
        Err(message) => message,
        Ok(_) => panic!("{template} parsed"),
    }
}

#[test]
fn a_missing_key_prints_nothing_or_fails_when_keys_must_exist() {
    assert_eq!(prints("{.a.b}", json!({})), "");
    assert_eq!(fails("{.a.b}", json!({}), false), "a is not found");
    assert_eq!(fails("{.a.b}", json!({"a": []}), false), "b is not found");
}

#[test]
fn maps_and_lists_print_as_go_json_and_everything_else_as_fmt_prints_it() {
    assert_eq!(prints("{.n}", json!({"n": null})), "<nil>");
    assert_eq!(prints("{.m}", json!({"m": {"n": null}})), r#"{"n":null}"#);
    let html = json!({"m": {"b": "<&>\u{2028}", "a": [1, 2.5]}});
    assert_eq!(
        prints("{.m}", html),
        r#"{"a":[1,2.5],"b":"\u003c\u0026\u003e\u2028"}"#
    );
    let floats = json!({"f": [1.0, 1e6, 1.5e-7, 123456.0, -0.0]});
    assert_eq!(
        prints("{.f[*]}", floats.clone()),
        "1 1e+06 1.5e-07 123456 -0"
    );
    assert_eq!(prints("{.f}", floats), "[1,1000000,1.5e-7,123456,-0]");
    let extremes = json!({"a": [1e21, 0.000001, 1e-7]});
    assert_eq!(prints("{.a[*]}", extremes.clone()), "1e+21 1e-06 1e-07");
    assert_eq!(prints("{.a}", extremes), "[1e+21,0.000001,1e-7]");
    let too_big_for_int64 = json!({"a": 18446744073709551615u64});
    assert_eq!(prints("{.a}", too_big_for_int64), "1.8446744073709552e+19");
    assert_eq!(
        prints("{@}", json!({"b": 1, "a": [true, null]})),
        r#"{"a":[true,null],"b":1}"#
    );
}

#[test]
fn indexes_and_slices_count_from_either_end() {
    let numbers = json!({"n": [1, 2, 3]});
    assert_eq!(
        prints("{.n[-1:]} {.n[1:]} {.n[::2]} {.n[-2]}", numbers.clone()),
        "3 2 3 1 3 2"
    );
    assert_eq!(prints("{.l[0,2]}", json!({"l": [1, 2, 3]})), "1 3");
    assert_eq!(
        fails("{.n[5]}", numbers.clone(), true),
        "array index out of bounds: index 5, length 3"
    );
    assert_eq!(
        fails("{.n[2:1]}", numbers.clone(), true),
        "starting index 2 is greater than ending index 1"
    );
    assert_eq!(fails("{.n[0:3:0]}", numbers, true), "step must be > 0");
    assert_eq!(
        fails("{.s[0]}", json!({"s": "abc"}), true),
        "string is not array or slice"
    );
}

#[test]
fn a_slice_that_selects_nothing_ends_the_step_for_every_list() {
    // [0:-1] of [1] is empty, and Go then returns at once: [1,2,3] is never sliced.
    assert_eq!(prints("{.l[*][0:-1]}", json!({"l": [[1], [1, 2, 3]]})), "");
}

#[test]
fn filters_compare_like_go_templates() {
    let items = json!({"c": [{"x": 1, "n": "a"}, {"x": 2, "n": "b"}]});
    assert_eq!(prints("{.c[?(@.x>1)].n}", items), "b");
    assert_eq!(
        fails("{.f[?(@>1)]}", json!({"f": [1.5]}), true),
        "incompatible types for comparison"
    );
    assert_eq!(
        fails("{.m[?(@.x)]}", json!({"m": {"x": 1}}), true),
        "map[x:1] is not array or slice and cannot be filtered"
    );
    assert_eq!(
        fails("{.n[?(@.x)]}", json!({"n": null}), true),
        "<nil> is not array or slice and cannot be filtered"
    );
    assert_eq!(
        fails("{.c[?(@.x==null)].n}", json!({"c": [{"x": null}]}), true),
        "unrecognized identifier null"
    );
}

#[test]
fn an_existence_filter_ignores_errors_and_keeps_items_whose_step_failed_with_values() {
    let partial = json!({"c": [{"x": 1, "n": "a"}, {"n": "b"}]});
    assert_eq!(prints("{.c[?(@.x)].n}", partial.clone()), "a");
    let path = JsonPath::parse("{.c[?(@.x)].n}").expect("parsed");
    let mut out = Vec::new();
    path.execute(&partial, false, &mut out).expect("no error");
    assert_eq!(out, b"a");
    assert_eq!(fails("{.c[?(@.x==1)].n}", partial, false), "x is not found");
    // `@.l[5]` fails on a's list, and Go's failing step returns its input: a is kept.
    let lists = json!({"c": [{"l": [1], "n": "a"}, {"n": "b"}]});
    assert_eq!(prints("{.c[?(@.l[5])].n}", lists), "a");
}

#[test]
fn range_repeats_up_to_end_and_without_end_runs_the_rest_once_more() {
    let list = json!({"l": [1, 2]});
    assert_eq!(prints("{range .l[*]}{@},{end}", list.clone()), "1,2,");
    assert_eq!(
        prints("{range .l[*]}{@},", list.clone()),
        r#"1,2,{"l":[1,2]},"#
    );
    assert_eq!(prints("{range .l[*]}{@}{end}|{.l}", list), "12|[1,2]");
    let nested = json!({"l": [[1, 2], [3]]});
    assert_eq!(
        prints("{range .l[*]}[{range @[*]}{@}{end}]{end}", nested),
        "[12][3]"
    );
    assert_eq!(
        prints("{range .l[*]}{@}{end}", json!({"l": [null, 1]})),
        "<no value>1"
    );
    assert_eq!(
        fails("{end}", json!({}), true),
        "not in range, nothing to end"
    );
    assert_eq!(
        fails("{foo}", json!({}), true),
        "unrecognized identifier foo"
    );
}

#[test]
fn recursive_descent_visits_maps_lists_and_strings_in_key_order() {
    let nested = json!({"a": 1, "b": {"a": 2, "c": [{"a": 3}]}, "s": "x"});
    assert_eq!(prints("{..a}", nested), "1 2 3");
    let with_empty = json!({"b": {"a": "x"}, "e": {}});
    assert_eq!(
        prints("{..}", with_empty),
        r#"{"b":{"a":"x"},"e":{}} {"a":"x"} x"#
    );
    assert_eq!(prints("{.s.*}", json!({"s": "ab"})), "97 98");
}

#[test]
fn literals_quotes_and_keys_read_as_kubectl_reads_them() {
    assert_eq!(prints(r#"{"\x41\u00e9\101\t"}"#, json!({})), "AéA\t");
    assert_eq!(prints(r"{'it\'s'}", json!({})), "it's");
    assert_eq!(prints(r"a\n{.x}", json!({"x": 1})), r"a\n1");
    assert_eq!(prints(r#"{$.a} {.a}{" "}{.a}"#, json!({"a": 1})), "1 1 1");
    assert_eq!(
        prints("{true} {1} {-2} {1.5} {.x 3}", json!({"x": 1})),
        "true 1 -2 1.5 3"
    );
    // ['a.b'] is .a.b: two keys, not one with a dot (that is a\.b).
    let dotted = json!({"a": {"b": 1}, "a.b": 2});
    assert_eq!(prints("{['a.b']}", dotted.clone()), "1");
    assert_eq!(prints(r"{.a\.b}", dotted), "2");
    assert_eq!(prints("{['a']['b']}", json!({"a": {"b": 1}})), "1");
}

#[test]
fn syntax_errors_are_kubectls_messages() {
    for (template, message) in [
        ("{.a", "unclosed action"),
        ("{\t.a}", "unrecognized character in action: U+0009"),
        (
            "{.c[?(@.x=~1)]}",
            "unrecognized character in action: U+007E '~'",
        ),
        ("{.a[", "unterminated array"),
        ("{.a[?(@.b}", "unterminated filter"),
        ("{.a[?(@.b)}", "unclosed array expect ]"),
        ("{....}", "invalid multiple recursive descent"),
        ("{.a[x]}", "invalid array index x"),
        ("{1.2.3}", "cannot parse number 1.2.3"),
        ("{-}", "cannot parse number -"),
        (r#"{"\q"}"#, r#"unquote string "\q" error invalid syntax"#),
        (r#"{"open}"#, "unterminated quoted string"),
    ] {
        assert_eq!(parse_error(template), message, "{template}");
    }
}

#[test]
fn nested_ranges_past_the_limit_fail_without_exhausting_the_stack() {
    let template = "{range @}".repeat(10_000);
    let path = JsonPath::parse(&template).expect("parsed");
    let mut out = Vec::new();
    let result = path.execute(&json!({}), true, &mut out);
    assert!(matches!(result, Err(ExecError::Limit(_))), "{result:?}");
}

#[test]
fn templates_that_multiply_the_object_hit_the_value_limit() {
    // Each union of a thousand members multiplies the values by a thousand.
    let union = format!("[{}]", vec!["0"; 1000].join(","));
    let path = JsonPath::parse(&format!("{{.l{union}{union}{union}}}")).expect("parsed");
    let object = json!({"l": [[[1]]]});
    let mut evaluator = super::eval::Evaluator::new(&path.nodes, true, 100_000);
    let result = evaluator.find_results(super::Val::Json(&object));
    assert!(
        matches!(result, Err(super::eval::Failure::Limit(_))),
        "{result:?}"
    );
}

#[test]
fn deep_objects_and_long_templates_need_no_deep_stack() {
    let mut deep = json!("bottom");
    for _ in 0..100_000 {
        // Not json!, which would serialize (recursively) what it wraps.
        let mut map = serde_json::Map::new();
        map.insert("a".to_owned(), deep);
        deep = Value::Object(map);
    }
    let path = JsonPath::parse("{..b}{@}").expect("parsed");
    let mut out = Vec::new();
    let result = path.execute(&deep, true, &mut out);
    // serde_json drops a value recursively: leak this one rather than overflow in the test.
    std::mem::forget(deep);
    assert_eq!(result, Ok(()));
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with(r#"{"a":{"a":"#), "{}", &text[..40]);
    let closing = "}".repeat(100_000);
    assert!(text.ends_with(&format!(r#""bottom"{closing}"#)));
    let long = "{.a}".repeat(50_000);
    assert_eq!(prints(&long, json!({"a": 1})), "1".repeat(50_000));
}
