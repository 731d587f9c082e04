//! Exponential backoff with jitter, as client-go's reflector uses it: 800ms doubling to a 30s
//! cap, reset once the watch has been healthy for 2 minutes.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Backoff parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// A failure this long after the previous one starts again from `initial`.
    pub reset_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(120),
        }
    }
}

/// The delay to wait after each consecutive failure.
#[derive(Debug)]
pub struct Backoff {
    config: BackoffConfig,
    /// The base of the next delay, before jitter.
    next: Duration,
    last_failure: Option<Instant>,
}

impl Backoff {
    /// A backoff that has seen no failure yet.
    pub fn new(config: BackoffConfig) -> Self {
        let next = config.initial;
        Backoff {
            config,
            next,
            last_failure: None,
        }
    }

    /// The delay to wait after a failure happening now: the current step plus up to 100% jitter,
    /// never above the cap. A failure long after the previous one starts from the first step.
    pub fn next_delay(&mut self) -> Duration {
        let now = Instant::now();
        if self
            .last_failure
            .is_some_and(|last| now.duration_since(last) >= self.config.reset_after)
        {
            self.next = self.config.initial;
        }
        self.last_failure = Some(now);
        let base = self.next;
        self.next = (base * 2).min(self.config.max);
        let jitter = base.mul_f64(rand::rng().random_range(0.0..1.0));
        (base + jitter).min(self.config.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(delay: Duration, low_ms: u64, high_ms: u64) -> bool {
        delay >= Duration::from_millis(low_ms) && delay <= Duration::from_millis(high_ms)
    }

    #[tokio::test(start_paused = true)]
    async fn delays_double_from_800ms_with_jitter_up_to_the_30s_cap() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(within(delays[0], 800, 1600), "{delays:?}");
        assert!(within(delays[1], 1600, 3200), "{delays:?}");
        assert!(within(delays[2], 3200, 6400), "{delays:?}");
        assert!(within(delays[5], 25_600, 30_000), "{delays:?}");
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(30)),
            "{delays:?}"
        );
        assert_eq!(delays[9], Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn resets_after_two_healthy_minutes() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        for _ in 0..6 {
            backoff.next_delay();
        }
        tokio::time::advance(Duration::from_secs(119)).await;
        assert!(backoff.next_delay() >= Duration::from_secs(25));
        tokio::time::advance(Duration::from_secs(121)).await;
        assert!(within(backoff.next_delay(), 800, 1600));
    }
}
