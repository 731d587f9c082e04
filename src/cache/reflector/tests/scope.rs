//! Objects outside the requested scope, dropped from lists, watches and streaming lists with a warning and a metric.

use super::*;

/// A pod, or with a key without `/` an object in no namespace, at resourceVersion `rv`.
fn object(key: &str, rv: u32) -> RawObject {
    if key.contains('/') {
        return pod(key, rv);
    }
    let json = format!(r#"{{"metadata":{{"name":"{key}","resourceVersion":"{rv}"}}}}"#);
    RawObject::from_json(json.as_bytes(), "Pod").expect("test object")
}

/// `plural` in `namespace`, or across all namespaces; a cluster-scoped resource unless
/// `namespaced`.
fn scope(plural: &str, namespace: Option<&str>, namespaced: bool) -> Scope {
    Scope {
        plural: plural.into(),
        namespace: namespace.map(Into::into),
        namespaced,
    }
}

const OUT_OF_SCOPE: &str = "kreflect_out_of_scope_objects_total{resource=\"pods\"}";

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn objects_outside_the_requested_scope_are_dropped_from_lists_and_watches_with_a_warning() {
    // (scope, keys listed then watched that belong, keys that do not)
    let cases = [
        (scope("pods", Some("a"), true), ["a/1", "a/2"], ["b/1", "x"]),
        (scope("pods", None, true), ["a/1", "b/2"], ["x", "y"]),
        (scope("nodes", None, false), ["n1", "n2"], ["a/n3", "b/n4"]),
    ];
    for (scope, inside, outside) in cases {
        let (logs, _guard) = captured_logs();
        let metrics = Arc::new(Metrics::for_resource("pods"));
        let listed = ListPage {
            items: vec![object(inside[0], 1), object(outside[0], 2)],
            rejected: Vec::new(),
            resource_version: "10".into(),
            continue_token: None,
        };
        let events = vec![
            Ok(WatchEvent::Added(object(outside[1], 11))),
            Ok(WatchEvent::Added(object(inside[1], 12))),
            Ok(WatchEvent::Modified(object(outside[0], 13))),
            Ok(WatchEvent::Deleted(object(outside[0], 14))),
        ];
        let script = vec![Reply::List(Ok(listed)), watch(events, Ending::Close)];
        let mut h = harness_in(scope.clone(), classic_config(), script);
        h.reflector = h.reflector.with_metrics(Arc::clone(&metrics));
        h.step(State::Listing).await;
        assert_eq!(h.keys(), [inside[0]], "{scope}: the list");
        let step = h.step(watching("10")).await;
        assert_eq!(h.keys(), inside, "{scope}: the watch");
        assert!(
            matches!(step, Step::Next(ref s) if *s == watching("12")),
            "{scope}: an object outside moves no resourceVersion: {step:?}"
        );
        assert_eq!(metric(&metrics, &h.store, OUT_OF_SCOPE), 4, "{scope}");
        let warned = warnings(&logs);
        assert_eq!(warned.len(), 4, "{scope}: one warning each: {warned:?}");
        for (line, key) in warned
            .iter()
            .zip([outside[0], outside[1], outside[0], outside[0]])
        {
            assert!(
                line.contains(&format!("key={key}")) && line.contains(&format!("scope={scope}")),
                "{scope}: names the key and the scope: {line}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_streaming_lists_initial_events_outside_the_requested_scope_are_dropped() {
    let metrics = Arc::new(Metrics::for_resource("pods"));
    let streamed = vec![added("a/1", 5), added("b/1", 6), initial_events_end("7")];
    let in_a = scope("pods", Some("a"), true);
    let mut h = harness_in(
        in_a,
        streaming_config(),
        vec![watch(streamed, Ending::Close)],
    );
    h.reflector = h.reflector.with_metrics(Arc::clone(&metrics));
    h.step(State::Listing).await;
    assert!(h.store.is_synced());
    assert_eq!(h.keys(), ["a/1"]);
    assert_eq!(metric(&metrics, &h.store, OUT_OF_SCOPE), 1);
}
