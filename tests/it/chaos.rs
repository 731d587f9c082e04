//! A seeded randomized test: churn mixed with random faults against the fake API server over
//! HTTP; after quiescence the reflector's cache must equal the server's state, object by object.
//!
//! `KREFLECT_SEED=N cargo test --test it chaos::` replays one seed; `KREFLECT_SEEDS=N` runs N seeds
//! (default 200). `KREFLECT_LOG=debug` logs each scenario (tagged with its seed) to stderr.

use std::time::Duration;

use futures::StreamExt;
use kreflect::cache::reflector::ReflectorConfig;
use kreflect_sim::{BadPayload, FakeApiServer, Fault, ServerOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::Instrument;

use crate::harness::mirror::{Mirror, fast_config};

const NAMESPACES: [&str; 3] = ["ns-a", "ns-b", "ns-c"];
const STEPS: usize = 40;
const CONCURRENT_SEEDS: usize = 8;

fn random_fault(rng: &mut StdRng) -> Fault {
    let status = |code: u16, reason: &str, retry_after| (code, reason.to_owned(), retry_after);
    let (code, reason, retry_after) = match rng.random_range(0..3) {
        0 => status(500, "InternalError", None),
        1 => status(503, "ServiceUnavailable", None),
        _ => status(429, "TooManyRequests", Some(0)),
    };
    match rng.random_range(0..13) {
        0 => Fault::ListStatus {
            code,
            reason,
            retry_after,
        },
        1 => Fault::WatchStatus {
            code,
            reason,
            retry_after,
        },
        2 => Fault::WatchGoneHttp,
        3 => Fault::WatchCloseAfter(rng.random_range(0..4)),
        4 => Fault::WatchResetAfter(rng.random_range(0..4)),
        5 => Fault::WatchExpiredAfter(rng.random_range(0..4)),
        6 => Fault::WatchStall,
        7 => Fault::WatchTrickle,
        8 => Fault::ExpireContinue,
        9 => Fault::WatchBadPayload(BadPayload::MalformedJson),
        10 => Fault::WatchBadPayload(BadPayload::InvalidUtf8),
        11 => Fault::WatchBadPayload(BadPayload::UnknownEventType),
        _ => Fault::WatchBadPayload(BadPayload::MissingName),
    }
}

/// One scenario; `Err` says what went wrong and how to replay it.
async fn scenario(seed: u64) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let server = FakeApiServer::start(ServerOptions {
        bookmark_interval: Duration::from_millis(rng.random_range(50..500)),
        ..ServerOptions::default()
    })
    .await
    .map_err(|err| format!("seed {seed}: server: {err}"))?;
    let pods = server.cluster();
    let mut next_name = 0;
    for _ in 0..rng.random_range(0..15) {
        let namespace = NAMESPACES[rng.random_range(0..NAMESPACES.len())];
        pods.create_pod(namespace, &format!("p-{next_name}"));
        next_name += 1;
    }
    let namespace = rng
        .random_bool(0.3)
        .then(|| NAMESPACES[rng.random_range(0..NAMESPACES.len())]);
    let config = ReflectorConfig {
        page_size: rng.random_range(1..6),
        watch_timeout_seconds: 1..=2,
        ..fast_config()
    };
    let mirror = Mirror::start(&server, namespace, config);
    let mut log = Vec::new();
    for _ in 0..STEPS {
        let keys = pods.keys();
        match rng.random_range(0..100) {
            0..30 => {
                let namespace = NAMESPACES[rng.random_range(0..NAMESPACES.len())];
                pods.create_pod(namespace, &format!("p-{next_name}"));
                log.push(format!("create p-{next_name}"));
                next_name += 1;
            }
            30..50 if !keys.is_empty() => {
                let key = &keys[rng.random_range(0..keys.len())];
                let (namespace, name) = key.split_once('/').unwrap_or_default();
                pods.update_pod(namespace, name);
                log.push(format!("update {key}"));
            }
            50..68 if !keys.is_empty() => {
                let key = &keys[rng.random_range(0..keys.len())];
                let (namespace, name) = key.split_once('/').unwrap_or_default();
                pods.delete_pod(namespace, name);
                log.push(format!("delete {key}"));
            }
            68..90 => {
                let fault = random_fault(&mut rng);
                log.push(format!("inject {fault:?}"));
                server.inject(fault);
            }
            90..94 => {
                log.push("restart".to_owned());
                server.restart().await;
            }
            94..97 => {
                log.push("compact".to_owned());
                pods.compact();
            }
            _ => {
                log.push("bookmark".to_owned());
                pods.bookmark_now();
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..8))).await;
    }
    let outcome = mirror.converged(&pods, Duration::from_secs(20)).await;
    let stopped = mirror.stop().await;
    server.shutdown().await;
    outcome
        .and_then(|()| stopped.map_err(|err| format!("reflector failed: {err}")))
        .map_err(|diff| {
            format!(
                "seed {seed} (replay: KREFLECT_SEED={seed} cargo test --test it chaos::): {diff}\n  steps: {log:?}"
            )
        })
}

fn seeds() -> Vec<u64> {
    let from_env = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    match (from_env("KREFLECT_SEED"), from_env("KREFLECT_SEEDS")) {
        (Some(seed), _) => vec![seed],
        (None, Some(count)) => (0..count).collect(),
        (None, None) => (0..200).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_equals_server_after_random_churn_and_faults() {
    if let Ok(filter) = std::env::var("KREFLECT_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    let seeds = seeds();
    let failures: Vec<String> = futures::stream::iter(seeds.iter().copied())
        .map(|seed| scenario(seed).instrument(tracing::info_span!("scenario", seed)))
        .buffer_unordered(CONCURRENT_SEEDS)
        .filter_map(|outcome| async move { outcome.err() })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}
