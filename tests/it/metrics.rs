//! `--metrics-addr` through the real binary against the fake API server: the Prometheus text
//! follows the conventions (a timestamp rather than an age, `build_info`, `process_*`), and
//! `/livez`, `/readyz` and `/healthz` answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::{
    ANY_PORT, Running, TestCluster, http_get, listening_addr, poll_until, sample,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_by_the_book_and_probes_over_http() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    let mut kreflect =
        Running::spawn(cluster.kreflect(&["--metrics-addr", ANY_PORT, "--interval", "100ms"]));
    let addr = listening_addr(kreflect.child.id()).await;
    assert_eq!(kreflect.next_listing().await, ["a/x"]);

    let text = http_get(&addr, "/metrics").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Listed, no watch event yet: the timestamp is 0, never NaN, and there is no age.
    assert_eq!(
        sample::<f64>(&text, "kreflect_last_event_timestamp_seconds"),
        Some(0.0),
        "{text}"
    );
    assert!(!text.contains("seconds_since_last_event"), "{text}");
    assert!(
        text.lines()
            .any(|l| l == "kreflect_store_objects{resource=\"pods\"} 1"),
        "{text}"
    );
    let info = format!(
        "kreflect_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        text.lines().any(|l| l == info),
        "missing {info:?} in\n{text}"
    );
    for (name, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("process_open_fds", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} in\n{text}"
        );
        let value = sample::<f64>(&text, name).unwrap_or_else(|| panic!("{name} in\n{text}"));
        assert!(value >= 0.0, "{name} {value}");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let started = sample::<f64>(&text, "process_start_time_seconds").expect("start time");
    assert!(
        (now - 60.0..=now + 1.0).contains(&started),
        "started {started}, now {now}"
    );
    assert!(
        sample::<f64>(&text, "process_resident_memory_bytes").expect("rss") > 1e6,
        "{text}"
    );

    for path in ["/livez", "/readyz", "/healthz"] {
        let answer = http_get(&addr, path).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }

    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    cluster.server.cluster().create_pod("a", "y");
    kreflect
        .wait_for_listing(&["a/x".into(), "a/y".into()])
        .await;
    let stamp = poll_until(Duration::from_secs(5), async || {
        let text = http_get(&addr, "/metrics").await;
        sample::<f64>(&text, "kreflect_last_event_timestamp_seconds").filter(|s| *s > 0.0)
    })
    .await
    .expect("a timestamp after the ADDED event");
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(
        (before - 1.0..=after + 1.0).contains(&stamp),
        "last event at {stamp}, not between {before} and {after}"
    );
}

/// `--metrics-addr` in Go's listen forms, as every Kubernetes component takes it (issue 22):
/// `:PORT` on every interface, `localhost:PORT` by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_on_gos_address_forms() {
    let cluster = TestCluster::with_pods(&["a/x"]).await;
    for addr in [":0", "localhost:0"] {
        let mut kreflect = Running::spawn(cluster.kreflect(&["--metrics-addr", addr]));
        let listening = listening_addr(kreflect.child.id()).await;
        assert_eq!(kreflect.next_listing().await, ["a/x"]);
        let text = http_get(&listening, "/metrics").await;
        assert!(text.starts_with("HTTP/1.1 200"), "{addr}: {text}");
        let _ = kreflect.child.start_kill();
    }
}
