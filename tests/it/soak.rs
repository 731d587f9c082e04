//! Long run: the cache's memory does not grow with the number of events applied.
//!
//! Ignored in the normal test run (it applies a million events); run it with
//! `cargo test --release --test it soak:: -- --ignored --nocapture` and read the figures it
//! prints. It reads the memory of the whole test process, so it must run alone: the filter and
//! `--ignored` see to that.

use std::time::{Duration, Instant};

use kreflect::wire::object::ObjectKey;
use kreflect_sim::{FakeApiServer, ServerOptions, populate};

use crate::harness::mirror::{Mirror, fast_config};
use crate::harness::rss_kib;

const NAMESPACES: usize = 20;
const PODS_PER_NAMESPACE: usize = 100;
const EVENTS: usize = 1_000_000;
const BATCH: usize = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a million events: run with --release -- --ignored --nocapture"]
async fn memory_stays_flat_under_a_million_update_events() {
    let server = FakeApiServer::start(ServerOptions {
        history_limit: 4 * BATCH,
        ..ServerOptions::default()
    })
    .await
    .expect("fake server");
    let pods = server.cluster();
    let namespaces: Vec<String> = (0..NAMESPACES).map(|i| format!("ns-{i:02}")).collect();
    populate(&pods, &namespaces, PODS_PER_NAMESPACE);
    let keys = pods.keys();
    let mirror = Mirror::start(&server, None, fast_config());
    mirror.synced().await;

    let started = Instant::now();
    let mut samples = Vec::new();
    for batch in 0..EVENTS / BATCH {
        let mut last = None;
        for i in 0..BATCH {
            let key = &keys[(batch * BATCH + i) % keys.len()];
            let (namespace, name) = key.split_once('/').expect("ns/name");
            let rv = pods.update_pod(namespace, name).expect("pod exists");
            last = Some((ObjectKey::new(Some(namespace), name), rv.to_string()));
        }
        let (key, rv) = last.expect("a batch updates pods");
        let deadline = Instant::now() + Duration::from_secs(60);
        while mirror
            .store
            .get(&key)
            .is_none_or(|object| object.resource_version() != rv)
        {
            assert!(Instant::now() < deadline, "the reflector fell behind");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let applied = (batch + 1) * BATCH;
        if [50_000, 100_000, 250_000, 500_000, 750_000, EVENTS].contains(&applied) {
            samples.push((applied, rss_kib("self")));
        }
    }
    let elapsed = started.elapsed();
    mirror
        .converged(&pods, Duration::from_secs(30))
        .await
        .expect("cache equals the server");
    let relists = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/pods") && !r.is_watch())
        .count();
    println!(
        "{} pods, {EVENTS} update events in {elapsed:.1?} ({:.0} events/s), {relists} list(s)",
        keys.len(),
        EVENTS as f64 / elapsed.as_secs_f64()
    );
    for (applied, rss) in &samples {
        println!(
            "after {applied:>9} events: RSS {:>7.1} MiB",
            *rss as f64 / 1024.0
        );
    }
    let (_, early) = samples[1];
    let (_, last) = samples[samples.len() - 1];
    // The process holds the fake server too (pods, bounded history); neither may grow with
    // the number of events once warm: allow 10% + 16 MiB of allocator noise.
    assert!(
        last <= early + early / 10 + 16 * 1024,
        "RSS grew from {early} KiB at 100k events to {last} KiB at {EVENTS}"
    );
    mirror.stop().await.expect("clean stop");
}
