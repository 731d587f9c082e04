//! How long an answer that has an end (a list page, a discovery document, an error body) may
//! take to arrive: [`RequestDeadline`]. Without it, a server, proxy or link that trickles its
//! answer (a byte a second is never silent for [`BODY_SILENCE_TIMEOUT`](crate::api::kube_source::BODY_SILENCE_TIMEOUT)) is waited for
//! for ever, and a `--once` run with it. Watches are streams with no end to wait for: they keep
//! their own rules (headers within [`WATCH_HEADERS_TIMEOUT`](crate::api::kube_source::WATCH_HEADERS_TIMEOUT), the reflector's deadline for
//! a silent watch).

use std::time::Duration;

use tokio::time::Instant;

pub use crate::cache::list_watch::Slowness;

/// The least a list page or discovery answer must bring, on average, per second of each
/// [`LIST_RATE_WINDOW`]: 4 KiB/s (32 kbit/s), measured on the bytes as received (before gzip
/// inflates them: a gzipped body trickling on the link is a trickle however far it inflates). A
/// page of 500 pods is about 2.5 MB: it takes 20 s over a 1 Mbit/s VPN and 78 s at 256 kbit/s,
/// eight times the minimum; even at the minimum it would end in about 10 minutes. A body
/// trickling at 1 byte/s is given up after one window.
pub const LIST_MIN_BYTES_PER_SECOND: u32 = 4 * 1024;

/// The window over which [`LIST_MIN_BYTES_PER_SECOND`] is averaged: a minute, the same as
/// the silence a body may keep ([`BODY_SILENCE_TIMEOUT`](crate::api::kube_source::BODY_SILENCE_TIMEOUT)), so a link that stalls for a
/// while and catches up is not given up any sooner than a silent one. A 1 byte/s list fails
/// 60 s after its headers (120 s at most when its first minute was fast), within the 3 minutes
/// a `--once` run may take to fail.
pub const LIST_RATE_WINDOW: Duration = Duration::from_secs(60);

/// How long a request that has an end (a list page, a discovery document) may take. Never
/// applied to watches.
///
/// kubectl's `--request-timeout` (an overall deadline per request, `0` for none) maps onto
/// this: a non-zero value is [`RequestDeadline::Total`]; `0`, or no flag, keeps kreflect's
/// [`RequestDeadline::MinRate`], where kubectl would wait for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestDeadline {
    /// kreflect's default: each window of the body, from its first byte, brings at least
    /// `bytes_per_second` × `window` bytes; the last window, cut short by the body's end, is
    /// not counted. Slow links pass, however long the page; a trickle fails after one window.
    MinRate {
        /// The least average rate over a window.
        bytes_per_second: u32,
        /// How long each window is.
        window: Duration,
    },
    /// kubectl's `--request-timeout`: the whole request, headers and body, within this long,
    /// whatever its size.
    Total(Duration),
}

impl Default for RequestDeadline {
    fn default() -> Self {
        RequestDeadline::MinRate {
            bytes_per_second: LIST_MIN_BYTES_PER_SECOND,
            window: LIST_RATE_WINDOW,
        }
    }
}

impl RequestDeadline {
    /// The default rule with another window, at the same rate (tests shorten it).
    pub fn min_rate_over(window: Duration) -> Self {
        RequestDeadline::MinRate {
            bytes_per_second: LIST_MIN_BYTES_PER_SECOND,
            window,
        }
    }

    /// The pace a body read from `now` must keep, if this deadline is a rate.
    pub(super) fn pace(&self, now: Instant) -> Option<Pace> {
        match *self {
            RequestDeadline::MinRate {
                bytes_per_second,
                window,
            } => Some(Pace {
                least: (u128::from(bytes_per_second) * window.as_millis() / 1000) as u64,
                bytes_per_second,
                window,
                window_ends: now + window,
                received: 0,
            }),
            RequestDeadline::Total(_) => None,
        }
    }

    /// The limit on the whole request, if this deadline is one.
    pub(super) fn total(&self) -> Option<Duration> {
        match *self {
            RequestDeadline::Total(limit) => Some(limit),
            RequestDeadline::MinRate { .. } => None,
        }
    }
}

/// The state of [`RequestDeadline::MinRate`] while a body is read: the current window and
/// what it has brought.
#[derive(Debug)]
pub(super) struct Pace {
    /// Bytes each window must bring.
    least: u64,
    bytes_per_second: u32,
    window: Duration,
    window_ends: Instant,
    received: u64,
}

impl Pace {
    /// When the current window ends: the body must be checked then even if nothing arrives.
    pub(super) fn window_ends(&self) -> Instant {
        self.window_ends
    }

    /// Counts `bytes` received.
    pub(super) fn received(&mut self, bytes: u64) {
        self.received = self.received.saturating_add(bytes);
    }

    /// At `now`: when the current window has ended, whether it brought enough (then the next
    /// window starts at `now`).
    pub(super) fn check(&mut self, now: Instant) -> Result<(), Slowness> {
        if now < self.window_ends {
            return Ok(());
        }
        if self.received < self.least {
            return Err(Slowness::BelowRate {
                received: self.received,
                window: self.window,
                bytes_per_second: self.bytes_per_second,
            });
        }
        self.received = 0;
        self.window_ends = now + self.window;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(window_secs: u64) -> (Pace, Instant) {
        let now = Instant::now();
        let rule = RequestDeadline::min_rate_over(Duration::from_secs(window_secs));
        (rule.pace(now).expect("a rate"), now)
    }

    #[test]
    fn a_window_must_bring_the_rate_times_its_length() {
        let (mut pace, start) = pace(60);
        let end = start + Duration::from_secs(60);
        assert_eq!(pace.window_ends(), end);
        pace.received(60 * 4096 - 1);
        assert_eq!(pace.check(end - Duration::from_millis(1)), Ok(()));
        assert_eq!(
            pace.check(end),
            Err(Slowness::BelowRate {
                received: 60 * 4096 - 1,
                window: Duration::from_secs(60),
                bytes_per_second: 4096,
            })
        );
        pace.received(1);
        assert_eq!(pace.check(end), Ok(()), "exactly the least passes");
    }

    #[test]
    fn each_window_is_counted_afresh() {
        let (mut pace, start) = pace(2);
        pace.received(1 << 20);
        let first_end = start + Duration::from_secs(2);
        assert_eq!(pace.check(first_end), Ok(()));
        assert_eq!(pace.window_ends(), first_end + Duration::from_secs(2));
        pace.received(10);
        let err = pace.check(first_end + Duration::from_secs(2));
        assert_eq!(
            err.map_err(|slow| slow.to_string()),
            Err("10 bytes in 2s, less than the 4 KiB/s kreflect waits for".to_owned()),
            "a fast first window does not carry over"
        );
    }

    #[test]
    fn a_total_deadline_has_no_pace_and_is_said_with_its_limit() {
        let rule = RequestDeadline::Total(Duration::from_secs(90));
        assert!(rule.pace(Instant::now()).is_none());
        assert_eq!(rule.total(), Some(Duration::from_secs(90)));
        assert_eq!(RequestDeadline::default().total(), None);
        assert_eq!(
            Slowness::PastTotal(Duration::from_secs(90)).to_string(),
            "not complete within the request timeout of 1m 30s"
        );
    }
}
