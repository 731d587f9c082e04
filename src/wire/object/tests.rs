use super::*;

#[test]
fn an_object_with_two_metadata_members_is_refused_and_a_nested_one_is_not() {
    let twice = br#"{"kind":"Pod","metadata":{"name":"a","namespace":"x","resourceVersion":"1"},"spec":{},"metadata":{"name":"b"}}"#;
    assert_eq!(
        RawObject::from_json(twice, "Pod"),
        Err(ObjectError::MetadataTwice)
    );
    let template = br#"{"kind":"Deployment","metadata":{"name":"d","namespace":"x","resourceVersion":"1"},"spec":{"template":{"metadata":{"name":"other"}}}}"#;
    let deployment = RawObject::from_json(template, "Deployment").expect("a pod template");
    assert_eq!(deployment.key().as_str(), "x/d");
}

#[test]
fn key_renders_namespace_slash_name_and_name_alone_when_cluster_scoped() {
    assert_eq!(ObjectKey::new(Some("shop"), "web-1").as_str(), "shop/web-1");
    assert_eq!(ObjectKey::new(None, "node-a").as_str(), "node-a");
    assert_eq!(ObjectKey::new(Some(""), "node-a").as_str(), "node-a");
    let key = ObjectKey::new(Some("shop"), "web-1");
    assert_eq!(key.namespace(), Some("shop"));
    assert_eq!(key.name(), "web-1");
    assert_eq!(ObjectKey::new(None, "n").namespace(), None);
}

#[test]
fn keys_sort_bytewise_as_printed() {
    let mut keys = [
        ObjectKey::new(Some("a"), "x"),
        ObjectKey::new(Some("a-b"), "x"),
        ObjectKey::new(Some("B"), "x"),
    ];
    keys.sort();
    let printed: Vec<&str> = keys.iter().map(ObjectKey::as_str).collect();
    assert_eq!(printed, ["B/x", "a-b/x", "a/x"]);
}

#[test]
fn from_json_reads_key_and_resource_version_and_keeps_the_bytes() {
    let json = br#"{"kind":"Pod","metadata":{"name":"c0","namespace":"cap","resourceVersion":"31544","labels":{"run":"c0"}},"spec":{}}"#;
    let object = RawObject::from_json(json, "Pod").expect("valid pod");
    assert_eq!(object.key().as_str(), "cap/c0");
    assert_eq!(object.resource_version(), "31544");
    assert_eq!(object.json(), Some(&json[..]));
}

#[test]
fn from_json_drops_managed_fields_and_keeps_every_other_byte() {
    let cases = [
        (
            r#"{"kind":"Pod","metadata":{"name":"a","managedFields":[{"manager":"k","fieldsV1":{"f:x":{}}}],"namespace":"n"},"spec":{"x":"\"managedFields\":1"}}"#,
            r#"{"kind":"Pod","metadata":{"name":"a","namespace":"n"},"spec":{"x":"\"managedFields\":1"}}"#,
        ),
        (
            r#"{"metadata":{ "managedFields" : [] , "name":"a"}}"#,
            r#"{"metadata":{  "name":"a"}}"#,
        ),
        (
            r#"{"metadata":{"name":"a" , "managedFields":[{"a":"]"}]}}"#,
            r#"{"metadata":{"name":"a" }}"#,
        ),
        (
            r#"{"metadata":{"name":"a","managed\u0046ields":[]}}"#,
            r#"{"metadata":{"name":"a","managed\u0046ields":[]}}"#,
        ),
    ];
    for (json, kept) in cases {
        let object = RawObject::from_json(json.as_bytes(), "Pod").expect(json);
        assert_eq!(
            object.json().map(std::str::from_utf8),
            Some(Ok(kept)),
            "from {json}"
        );
        assert_eq!(object.key().name(), "a");
    }
    let only = RawObject::from_json(br#"{"metadata":{"managedFields":[]}}"#, "Pod");
    assert_eq!(only, Err(ObjectError::MissingName));
}

#[test]
fn member_span_removes_an_only_member_and_refuses_foreign_slices() {
    let json = br#"{"managedFields":[1]}"#;
    assert_eq!(offset_in(json, &json[17..20]), Some(17..20));
    assert_eq!(member_span(json, 17..20, b"\"managedFields\""), Some(1..20));
    let elsewhere = br#"[1]"#;
    assert_eq!(offset_in(json, elsewhere), None);
    assert_eq!(
        &*without_members(json, [&elsewhere[..]].into_iter(), b"\"managedFields\""),
        json
    );
}

#[test]
fn a_realistic_pod_decodes_fully_without_its_managed_fields() {
    let mut pod = kreflect_sim::realistic_pod("shop", "web-1", 3);
    pod["metadata"]["resourceVersion"] = "7".into();
    let json = serde_json::to_vec(&pod).expect("json");
    let object = RawObject::from_json(&json, "Pod").expect("pod");
    let kept = String::from_utf8_lossy(object.bytes());
    assert!(!kept.contains("managedFields") && !kept.contains("kube-controller-manager"));
    assert!(kept.contains("ownerReferences"), "{kept}");
    let decoded: k8s_openapi::api::core::v1::Pod = object.decode().expect("typed pod");
    let mut expected: k8s_openapi::api::core::v1::Pod =
        serde_json::from_value(pod).expect("typed original");
    assert!(expected.metadata.managed_fields.take().is_some());
    assert_eq!(decoded, expected);
}

/// The key and resourceVersion `from_json` reads from `{"metadata":{metadata}}`, or its
/// error.
fn read(metadata: &str) -> Result<(String, String), ObjectError> {
    let json = format!(r#"{{"kind":"Pod","metadata":{{{metadata}}}}}"#);
    RawObject::from_json(json.as_bytes(), "Pod").map(|object| {
        (
            object.key().to_string(),
            object.resource_version().to_owned(),
        )
    })
}

fn keyed(key: &str, rv: &str) -> Result<(String, String), ObjectError> {
    Ok((key.to_owned(), rv.to_owned()))
}

#[test]
fn a_metadata_name_written_twice_is_the_last_as_go_reads_it() {
    assert_eq!(
        read(r#""name":"a","namespace":"n","name":"b""#),
        keyed("n/b", "")
    );
    assert_eq!(
        read(r#""name":"a","na\u006de":"b""#),
        keyed("b", ""),
        "escaped"
    );
    // Go reads a null into a string as nothing: the earlier value stays.
    assert_eq!(read(r#""name":"a","name":null"#), keyed("a", ""));
    assert_eq!(
        read(r#""name":"a","name":"""#),
        Err(ObjectError::MissingName)
    );
}

#[test]
fn a_metadata_namespace_written_twice_is_the_last_as_go_reads_it() {
    assert_eq!(
        read(r#""namespace":"a","name":"x","namespace":"b""#),
        keyed("b/x", "")
    );
    assert_eq!(
        read(r#""namespace":"a","name":"x","namespace":null"#),
        keyed("a/x", "")
    );
    assert_eq!(
        read(r#""namespace":"a","name":"x","namespace":"""#),
        keyed("x", "")
    );
}

#[test]
fn a_metadata_resource_version_written_twice_is_the_last_as_go_reads_it() {
    let both = r#""resourceVersion":"1","name":"x","resourceVersion":"2""#;
    assert_eq!(read(both), keyed("x", "2"));
    let null = r#""resourceVersion":"1","name":"x","resourceVersion":null"#;
    assert_eq!(read(null), keyed("x", "1"));
}

#[test]
fn managed_fields_written_twice_are_both_dropped() {
    let cases = [
        (
            r#"{"metadata":{"name":"a","managedFields":[1],"managedFields":[2]}}"#,
            r#"{"metadata":{"name":"a"}}"#,
        ),
        (
            r#"{"metadata":{"managedFields":[1],"managedFields":[2],"name":"a"}}"#,
            r#"{"metadata":{"name":"a"}}"#,
        ),
        (
            r#"{"metadata":{"managedFields":[1], "name":"a" ,"managedFields":null}}"#,
            r#"{"metadata":{ "name":"a" }}"#,
        ),
        (
            r#"{"metadata":{"managedFields":[1],"name":"a","managedFields":[2],"uid":"u","managedFields":[3]}}"#,
            r#"{"metadata":{"name":"a","uid":"u"}}"#,
        ),
    ];
    for (json, kept) in cases {
        let object = RawObject::from_json(json.as_bytes(), "Pod").expect(json);
        assert_eq!(
            object.json().map(std::str::from_utf8),
            Some(Ok(kept)),
            "from {json}"
        );
    }
}

#[test]
fn a_creation_timestamp_written_twice_is_the_last_as_go_reads_it() {
    let columns = TableColumns::new(Vec::new());
    let created = |metadata: &str| {
        let object = format!(r#"{{"metadata":{{"name":"x",{metadata}}}}}"#);
        RawObject::from_table_row(object.as_bytes(), Arc::clone(&columns), Vec::new())
            .map(|row| row.table_row().and_then(|row| row.created))
    };
    let at = |text| humantime::parse_rfc3339_weak(text).ok();
    assert_eq!(
        created(
            r#""creationTimestamp":"2024-01-01T00:00:00Z","creationTimestamp":"2025-01-01T00:00:00Z""#
        ),
        Ok(at("2025-01-01T00:00:00Z"))
    );
    // metav1.Time reads a null as the zero time.
    assert_eq!(
        created(r#""creationTimestamp":"2024-01-01T00:00:00Z","creationTimestamp":null"#),
        Ok(None)
    );
}

#[test]
fn a_kind_written_twice_is_the_last() {
    let pod = br#"{"kind":"Secret","kind":"Pod","metadata":{"name":"a"}}"#;
    assert!(RawObject::from_json(pod, "Pod").is_ok());
    let secret = br#"{"kind":"Pod","kind":"Secret","metadata":{"name":"a"}}"#;
    assert!(matches!(
        RawObject::from_json(secret, "Pod"),
        Err(ObjectError::WrongKind { .. })
    ));
}

#[test]
fn from_json_accepts_list_items_without_kind() {
    let object = RawObject::from_json(br#"{"metadata":{"name":"n1"}}"#, "Node").expect("item");
    assert_eq!(object.key().as_str(), "n1");
    assert_eq!(object.resource_version(), "");
}

#[test]
fn from_json_handles_escaped_strings() {
    let object = RawObject::from_json(
        br#"{"metadata":{"name":"a\u002db","namespace":"n\u0073"}}"#,
        "Pod",
    )
    .expect("escaped");
    assert_eq!(object.key().as_str(), "ns/a-b");
}

#[test]
fn from_json_rejects_objects_it_cannot_key() {
    assert_eq!(
        RawObject::from_json(br#"{"metadata":{"namespace":"a"}}"#, "Pod"),
        Err(ObjectError::MissingName)
    );
    assert_eq!(
        RawObject::from_json(br#"{"kind":"Pod"}"#, "Pod"),
        Err(ObjectError::MissingName)
    );
    assert_eq!(
        RawObject::from_json(br#"{"kind":"Secret","metadata":{"name":"s"}}"#, "Pod"),
        Err(ObjectError::WrongKind {
            expected: "Pod".into(),
            found: "Secret".into()
        })
    );
    // `a` + `b/c` and `a/b` + `c` would both be keyed `a/b/c`.
    assert_eq!(
        RawObject::from_json(br#"{"metadata":{"name":"b/c","namespace":"a"}}"#, "Pod"),
        Err(ObjectError::InvalidName("b/c".into()))
    );
    assert_eq!(
        RawObject::from_json(br#"{"metadata":{"name":"c","namespace":"a/b"}}"#, "Pod"),
        Err(ObjectError::InvalidName("a/b".into()))
    );
    assert!(matches!(
        RawObject::from_json(b"{\"metadata\":", "Pod"),
        Err(ObjectError::Malformed(_))
    ));
    assert!(matches!(
        RawObject::from_json(b"\xff\xfe", "Pod"),
        Err(ObjectError::Malformed(_))
    ));
}

#[test]
fn the_fast_path_reads_only_the_head_and_from_json_still_checks_everything() {
    let pod = br#"{"kind":"Pod","metadata":{"name":"a","namespace":"n"},"spec":{"containers":[]}}"#;
    let object = RawObject::from_valid_json(pod, Some("Pod")).expect("valid");
    assert_eq!(object.key().as_str(), "n/a");
    assert_eq!(object.json(), Some(&pod[..]));
    let broken_tail = br#"{"kind":"Pod","metadata":{"name":"a","namespace":"n"},"spec":{"#;
    assert!(matches!(
        RawObject::from_json(broken_tail, "Pod"),
        Err(ObjectError::Malformed(_))
    ));
    assert!(matches!(
        RawObject::from_json(br#"{"metadata":{"name":"a"}} trailing"#, "Pod"),
        Err(ObjectError::Malformed(_))
    ));
    let escaped = br#"{"kind":"P\u006fd","metadata":{"name":"a"}}"#;
    assert!(RawObject::from_json(escaped, "Pod").is_ok());
    let wrong = br#"{"kind":"Secr\u0065t","metadata":{"name":"a"}}"#;
    assert_eq!(
        RawObject::from_json(wrong, "Pod"),
        Err(ObjectError::WrongKind {
            expected: "Pod".into(),
            found: "Secret".into()
        })
    );
    assert_eq!(
        RawObject::from_valid_json(br#"{"kind":"Pod","spec":{}}"#, Some("Pod")),
        Err(ObjectError::MissingName)
    );
}

#[test]
fn decode_gives_the_typed_object() {
    let json = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"c0","namespace":"cap"},"spec":{"containers":[{"name":"c","image":"i"}]}}"#;
    let object = RawObject::from_json(json, "Pod").expect("pod");
    let pod: k8s_openapi::api::core::v1::Pod = object.decode().expect("typed pod");
    assert_eq!(pod.metadata.name.as_deref(), Some("c0"));
    assert_eq!(pod.spec.map(|spec| spec.containers.len()), Some(1));
}

#[test]
fn bookmark_of_reads_the_version_and_the_initial_events_end() {
    let bookmark = br#"{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"31552","creationTimestamp":null},"spec":{"containers":null},"status":{}}"#;
    assert_eq!(
        bookmark_of(bookmark),
        Ok(Bookmark {
            resource_version: "31552".into(),
            initial_events_end: false
        })
    );
    let end = br#"{"kind":"PartialObjectMetadata","metadata":{"resourceVersion":"9","annotations":{"a":"b","k8s.io/initial-events-end":"true"}}}"#;
    assert_eq!(
        bookmark_of(end),
        Ok(Bookmark {
            resource_version: "9".into(),
            initial_events_end: true
        })
    );
    let not_end = br#"{"metadata":{"resourceVersion":"9","annotations":{"k8s.io/initial-events-end":"false"}}}"#;
    assert_eq!(
        bookmark_of(not_end).map(|b| b.initial_events_end),
        Ok(false)
    );
    assert!(bookmark_of(br#"{"metadata":{}}"#).is_err());
}

#[test]
fn a_json_value_of_the_wrong_type_says_what_was_expected() {
    let said = |json: &[u8]| match RawObject::from_json(json, "Pod") {
        Err(ObjectError::Malformed(message)) => message,
        other => panic!("{other:?}"),
    };
    let not_an_object = said(b"[1]");
    assert!(
        not_an_object.contains("expected a Kubernetes object"),
        "{not_an_object}"
    );
    let number_for_metadata = said(br#"{"kind":"Pod","metadata":5}"#);
    assert!(
        number_for_metadata.contains("expected an object's metadata"),
        "{number_for_metadata}"
    );
    let number_for_name = said(br#"{"metadata":{"name":5,"resourceVersion":"1"}}"#);
    assert!(
        number_for_name.contains("expected a string"),
        "{number_for_name}"
    );
}
