//! Per-key rate limits: fixed windows aligned to the clock (a minute limit resets at :00).
//!
//! Fixed windows rather than a GCRA (governor): they answer `RateLimit-Remaining` and
//! `RateLimit-Reset` exactly, as a person reads them ("12 left until 10:42:00"), and the same count
//! moves unchanged to a shared store (one INCR with an expiry) when several instances serve.

use crate::model::RateLimit;
use dashmap::DashMap;
use std::sync::Arc;
use uuid::Uuid;

/// The state of a key's limit after one request was counted (or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When the window ends, in milliseconds since the epoch.
    pub reset_at_ms: i64,
}

impl RateState {
    /// Whole seconds until the window ends (at least 1 while limited), for `Retry-After`.
    pub fn reset_after_secs(&self, now_ms: i64) -> u64 {
        u64::try_from((self.reset_at_ms - now_ms + 999) / 1000).unwrap_or(0).max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    index: i64,
    count: u32,
    ends_at_ms: i64,
}

#[derive(Clone, Default)]
pub struct RateLimiter {
    windows: Arc<DashMap<Uuid, Window>>,
}

impl RateLimiter {
    /// Counts one request of `key` at `now_ms` against `limit`; a refused request is not counted.
    pub fn check(&self, key: Uuid, limit: RateLimit, now_ms: i64) -> RateState {
        let window_ms = i64::from(limit.window.seconds()) * 1000;
        let index = now_ms.div_euclid(window_ms);
        let ends_at_ms = (index + 1) * window_ms;
        let fresh = Window { index, count: 0, ends_at_ms };
        let mut entry = self.windows.entry(key).or_insert(fresh);
        // A new window, or the key's limit changed to another window length.
        if entry.index != index || entry.ends_at_ms != ends_at_ms {
            *entry = fresh;
        }
        let allowed = entry.count < limit.requests;
        if allowed {
            entry.count += 1;
        }
        RateState {
            allowed,
            limit: limit.requests,
            remaining: limit.requests.saturating_sub(entry.count),
            reset_at_ms: ends_at_ms,
        }
    }

    /// Drops windows that have ended (called by the background task, so idle keys cost nothing).
    pub fn forget_ended(&self, now_ms: i64) {
        self.windows.retain(|_, w| w.ends_at_ms > now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RateWindow;

    #[test]
    fn a_window_allows_its_limit_then_refuses_until_it_resets() {
        let limiter = RateLimiter::default();
        let key = Uuid::nil();
        let limit = RateLimit { requests: 2, window: RateWindow::Minute };
        let start = 60_000 * 1000 + 5_000; // 5 s into a minute
        let first = limiter.check(key, limit, start);
        assert_eq!((first.allowed, first.remaining, first.reset_at_ms), (true, 1, 60_000 * 1000 + 60_000));
        assert!(limiter.check(key, limit, start + 1).allowed);
        let refused = limiter.check(key, limit, start + 2);
        assert_eq!((refused.allowed, refused.remaining), (false, 0));
        assert_eq!(refused.reset_after_secs(start + 2), 55);
        let next_minute = limiter.check(key, limit, 60_000 * 1001);
        assert_eq!((next_minute.allowed, next_minute.remaining), (true, 1));
    }

    #[test]
    fn keys_are_limited_separately() {
        let limiter = RateLimiter::default();
        let limit = RateLimit { requests: 1, window: RateWindow::Second };
        assert!(limiter.check(Uuid::nil(), limit, 1_000).allowed);
        assert!(limiter.check(Uuid::max(), limit, 1_000).allowed);
        assert!(!limiter.check(Uuid::nil(), limit, 1_500).allowed);
        limiter.forget_ended(2_000);
        assert!(limiter.windows.is_empty());
    }
}
