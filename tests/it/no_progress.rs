//! Loops that make no progress must wait the backoff: the real binary, with its default
//! settings, against a fake server that fails the same way on every request. Each test counts
//! the requests the server receives in a fixed window and checks that a person sees the loop on
//! stderr at the default log level.
//!
//! The window is `KREFLECT_RATE_WINDOW_SECS` seconds (default 20; the per-minute figures in
//! docs/design.md, "Guarantees", come from a run with 60).

use std::time::Duration;

use kreflect_sim::Fault;

use crate::harness::TestCluster;

fn window() -> Duration {
    let seconds: u64 = std::env::var("KREFLECT_RATE_WINDOW_SECS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(seconds)
}

/// The most attempts client-go's backoff (800 ms doubling to 30 s, jitter only lengthening
/// each wait) allows in `window`: the first, then one after each shortest possible wait.
fn most_attempts(window: Duration) -> usize {
    let (mut attempts, mut at, mut wait) = (1, Duration::ZERO, Duration::from_millis(800));
    loop {
        at += wait;
        if at > window {
            return attempts;
        }
        attempts += 1;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// The fewest: one after each longest possible wait (twice the step, at most 30 s).
fn fewest_attempts(window: Duration) -> usize {
    let (mut attempts, mut at, mut step) = (1, Duration::ZERO, Duration::from_millis(800));
    loop {
        at += (step * 2).min(Duration::from_secs(30));
        if at > window {
            return attempts;
        }
        attempts += 1;
        step = (step * 2).min(Duration::from_secs(30));
    }
}

/// Runs `kreflect pods` against `cluster` for the window; returns the requests for pods (lists
/// and watches) it sent, and its stderr.
async fn requests_in_window(cluster: &TestCluster) -> (usize, String) {
    let sent = cluster
        .requests_while_running(&["--interval", "1h"], window())
        .await;
    (sent.lists + sent.watches, sent.stderr)
}

/// A server failing every watch with `fault` (an expiry) is relisted with backoff: a list and a
/// watch per attempt, plus the one immediate relist after the first 410.
async fn relisted_with_backoff(fault: Fault) {
    let cluster = TestCluster::with_pods(&["a/1", "a/2"]).await;
    cluster.server.inject_always(fault);
    let (requests, stderr) = requests_in_window(&cluster).await;
    let (most, fewest) = (most_attempts(window()) + 1, fewest_attempts(window()) + 1);
    assert_within(requests, 2 * fewest, 2 * most);
    assert!(
        warned(&stderr, "expired again before any event"),
        "{stderr}"
    );
}

/// Fails unless `requests` is within `fewest..=most`.
fn assert_within(requests: usize, fewest: usize, most: usize) {
    assert!(
        (fewest..=most).contains(&requests),
        "{requests} requests, expected {fewest}..={most}"
    );
}

fn warned(stderr: &str, what: &str) -> bool {
    stderr
        .lines()
        .any(|line| line.contains("WARN") && line.contains(what))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_every_watch_with_http_410_is_relisted_with_backoff() {
    relisted_with_backoff(Fault::WatchGoneHttp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_expiring_every_watch_with_an_error_event_is_relisted_with_backoff() {
    relisted_with_backoff(Fault::WatchExpiredAfter(0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_every_watch_after_a_bookmark_is_rewatched_with_backoff() {
    let cluster = TestCluster::with_pods(&["a/1", "a/2"]).await;
    cluster.server.inject_always(Fault::WatchBookmarkThenClose);
    let (requests, stderr) = requests_in_window(&cluster).await;
    // One list, then one watch per attempt: the bookmark moves the position, no relist.
    let (most, fewest) = (most_attempts(window()), fewest_attempts(window()));
    assert_within(requests, 1 + fewest, 1 + most);
    assert_eq!(cluster.list_requests().len(), 1, "never relisted");
    assert!(
        warned(&stderr, "ending watches early without any event"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_repeating_its_continue_token_fails_and_is_retried_with_backoff() {
    let cluster = TestCluster::with_two_pages().await;
    cluster.server.inject_always(Fault::RepeatContinueToken);
    let (requests, stderr) = requests_in_window(&cluster).await;
    // Two pages per attempt: the first, and the one that repeats its token.
    let (most, fewest) = (most_attempts(window()), fewest_attempts(window()));
    assert_within(requests, 2 * fewest, 2 * most);
    assert_eq!(
        cluster.watch_requests().len(),
        0,
        "never synced, never watched"
    );
    assert!(warned(&stderr, "repeated a continue token"), "{stderr}");
}

#[test]
fn the_attempt_bounds_follow_the_backoff() {
    // 0, then after 0.8, 1.6, 3.2, 6.4, 12.8, 25.6 s at the shortest: 7 in a minute.
    assert_eq!(most_attempts(Duration::from_secs(60)), 7);
    assert_eq!(most_attempts(Duration::from_secs(20)), 5);
    // 0, then after 1.6, 3.2, 6.4, 12.8, 25.6 s at the longest: 6 in a minute.
    assert_eq!(fewest_attempts(Duration::from_secs(60)), 6);
}
