//! [`Template`] as the command line will use it: specs, errors as kubectl words them, partial
//! output before an error, and watch printing.

use serde_json::{Value, json};

use super::{Headers, Template, TemplateError};

/// A pod-like object named `name` with the list `l`.
fn object(name: &str, l: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "l": l})
}

/// What `render_list` prints and returns.
fn list(spec: &str, items: Vec<Value>, headers: Headers) -> (String, Result<(), TemplateError>) {
    let template = Template::parse(spec).expect("parsed");
    let mut out = Vec::new();
    let result = template.render_list(items, headers, &mut out);
    (String::from_utf8(out).expect("UTF-8"), result)
}

#[test]
fn specs_that_are_not_templates_fail_with_kubectls_messages() {
    let message = |spec: &str| match Template::parse(spec) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("{spec} parsed"),
    };
    let no_template = "template format specified but no template given";
    assert_eq!(message("jsonpath="), no_template);
    assert_eq!(message("jsonpath"), no_template);
    let no_columns = "custom-columns format specified but no custom columns given";
    assert_eq!(message("custom-columns="), no_columns);
    assert_eq!(message("custom-columns"), no_columns);
    assert_eq!(
        message("jsonpath={.a"),
        "error parsing jsonpath {.a, unclosed action"
    );
    assert_eq!(
        message("yaml"),
        "unable to match a printer suitable for the output format \"yaml\", allowed formats \
         are: custom-columns,json,jsonpath,keys,name,wide"
    );
}

#[test]
fn an_execution_error_quotes_the_template_and_shows_the_object_as_go_sees_it() {
    let template = Template::parse("jsonpath={.x}\t")
        .expect("parsed")
        .allow_missing_keys(false);
    let mut out = Vec::new();
    let error = template
        .render_object(&json!({"a": [1, null, "s"]}), Headers::Print, &mut out)
        .expect_err("x is missing");
    assert!(out.is_empty());
    assert_eq!(
        error.to_string(),
        "error executing jsonpath \"{.x}\\t\": Error executing template: x is not found. \
         Printing more information for debugging the template:\n\ttemplate was:\n\t\t{.x}\t\n\t\
         object given to jsonpath engine was:\n\t\tmap[string]interface {}{\"a\":[]interface \
         {}{1, interface {}(nil), \"s\"}}"
    );
}

#[test]
fn a_list_template_sees_a_list_wrapping_the_objects() {
    let items = vec![object("a", json!([])), object("b", json!([]))];
    let (out, result) = list("jsonpath={.kind} {.metadata}", items, Headers::Print);
    assert_eq!(
        (out.as_str(), result),
        (r#"List {"resourceVersion":""}"#, Ok(()))
    );
    let (out, _) = list("jsonpath={.items}", Vec::new(), Headers::Print);
    assert_eq!(out, "[]");
}

#[test]
fn custom_columns_of_no_objects_print_the_header_alone() {
    let spec = "custom-columns=NAME:.metadata.name";
    assert_eq!(list(spec, Vec::new(), Headers::Print).0, "NAME\n");
    assert_eq!(list(spec, Vec::new(), Headers::Omit).0, "");
}

#[test]
fn a_failing_column_keeps_the_rows_before_it() {
    let items = vec![object("a", json!([1, 2])), object("b", json!([1]))];
    let (out, result) = list(
        "custom-columns=NAME:.metadata.name,SECOND:.l[1]",
        items,
        Headers::Print,
    );
    assert_eq!(out, "NAME   SECOND\na      2\n");
    assert_eq!(
        result,
        Err(TemplateError::Columns(
            "array index out of bounds: index 1, length 1".to_owned()
        ))
    );
}

#[test]
fn names_stop_at_an_object_without_a_kind() {
    let items = vec![object("a", json!([])), json!({"metadata": {"name": "b"}})];
    let (out, result) = list("name", items, Headers::Print);
    assert_eq!(out, "pod/a\n");
    assert_eq!(
        result.map_err(|error| error.to_string()),
        Err(super::name::MISSING_KIND.to_owned())
    );
}

#[test]
fn a_watch_aligns_every_format_and_its_columns_only_widen() {
    let template = Template::parse(r#"jsonpath={.metadata.name}{"\t"}x{"\n"}"#).expect("parsed");
    let mut printer = template.watch(Headers::Print);
    let mut out = Vec::new();
    for name in ["a", "abcdefgh", "b"] {
        let event = [object(name, json!([]))];
        printer.print(&event, &mut out).expect("printed");
    }
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "a     x\nabcdefgh   x\nb          x\n"
    );
}

#[test]
fn a_watch_prints_the_custom_columns_header_with_its_first_object() {
    let template = Template::parse("custom-columns=NAME:.metadata.name,N:.l[0]").expect("parsed");
    let mut printer = template.watch(Headers::Print);
    let mut out = Vec::new();
    printer.print(&[], &mut out).expect("an empty initial list");
    assert!(out.is_empty());
    printer
        .print(&[object("a", json!([1]))], &mut out)
        .expect("printed");
    printer
        .print(&[object("b", json!([2]))], &mut out)
        .expect("printed");
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "NAME   N\na      1\nb      2\n"
    );
}

#[test]
fn a_template_past_the_limits_names_itself_in_the_error() {
    let spec = format!("jsonpath={}", "{range @}".repeat(300));
    let template = Template::parse(&spec).expect("parsed");
    let mut out = Vec::new();
    let error = template
        .render_object(&json!({}), Headers::Print, &mut out)
        .expect_err("too deep");
    let TemplateError::Limit(message) = error else {
        panic!("{error:?}");
    };
    assert!(message.starts_with("error executing jsonpath \"{range @}{range @}"));
    assert!(
        message.ends_with("\": more than 256 nested ranges"),
        "{message}"
    );
}

#[test]
fn a_listing_is_printed_whole_for_columns_names_and_templates_of_items_and_per_object_otherwise() {
    let whole = |spec: &str| Template::parse(spec).expect(spec).lists_whole();
    assert!(whole("custom-columns=NAME:.metadata.name"));
    assert!(whole("name"));
    assert!(whole("jsonpath={.items[*].metadata.name}"));
    assert!(whole(
        r#"jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}"#
    ));
    assert!(whole("jsonpath=names: {.items[0].metadata.name}"));
    assert!(!whole("jsonpath={.metadata.name}"));
    assert!(!whole(
        r#"jsonpath={range .spec.containers[*]}{.name}{end}"#
    ));
    assert!(!whole("jsonpath={.metadata.labels.items}"));
    assert!(!whole("jsonpath={..items}"));
}
