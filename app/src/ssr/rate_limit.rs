//! Per-key rate limits: fixed windows aligned to the clock (a minute limit resets at :00).
//!
//! Fixed windows rather than a GCRA (governor): they answer `RateLimit-Remaining` and
//! `RateLimit-Reset` exactly, as a person reads them ("12 left until 10:42:00"), and the same count
//! moves unchanged to a shared store (one INCR with an expiry) when several instances serve.

use crate::model::RateLimit;
use dashmap::DashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// One key's window: its length (fixed while the key's limit stays) and, packed in one atomic so
/// a request is counted without a lock, the window's number (high 32 bits) and its count.
#[derive(Debug)]
struct Window {
    length_ms: i64,
    state: AtomicU64,
}

impl Window {
    fn ends_at_ms(&self) -> i64 {
        (i64::from((self.state.load(Ordering::Acquire) >> 32) as u32) + 1) * self.length_ms
    }
}

#[derive(Clone, Default)]
pub struct RateLimiter {
    windows: Arc<DashMap<Uuid, Window>>,
}

impl RateLimiter {
    /// Counts one request of `key` at `now_ms` against `limit`; a refused request is not counted.
    pub fn check(&self, key: Uuid, limit: RateLimit, now_ms: i64) -> RateState {
        let length_ms = i64::from(limit.window.seconds()) * 1000;
        let index = now_ms.div_euclid(length_ms);
        // Window numbers fit 32 bits for any date this century, even for one-second windows.
        let number = u64::from(index as u32);
        let count = |window: &Window| {
            let mut current = window.state.load(Ordering::Acquire);
            loop {
                let used = if current >> 32 == number { (current & 0xFFFF_FFFF) as u32 } else { 0 };
                if used >= limit.requests {
                    return (false, used);
                }
                match window.state.compare_exchange_weak(
                    current,
                    number << 32 | u64::from(used + 1),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return (true, used + 1),
                    Err(seen) => current = seen,
                }
            }
        };
        let (allowed, used) = match self.windows.get(&key).filter(|w| w.length_ms == length_ms) {
            Some(window) => count(&window),
            None => {
                // First request, or the key's limit moved to another window length.
                let mut entry = self
                    .windows
                    .entry(key)
                    .or_insert_with(|| Window { length_ms, state: AtomicU64::new(number << 32) });
                if entry.length_ms != length_ms {
                    *entry = Window { length_ms, state: AtomicU64::new(number << 32) };
                }
                count(&entry.downgrade())
            }
        };
        RateState {
            allowed,
            limit: limit.requests,
            remaining: limit.requests.saturating_sub(used),
            reset_at_ms: (index + 1) * length_ms,
        }
    }

    /// Drops windows that have ended (called by the background task, so idle keys cost nothing).
    pub fn forget_ended(&self, now_ms: i64) {
        self.windows.retain(|_, w| w.ends_at_ms() > now_ms);
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

    #[test]
    fn concurrent_requests_never_exceed_the_limit() {
        let limiter = RateLimiter::default();
        let limit = RateLimit { requests: 1_000, window: RateWindow::Hour };
        let allowed = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..600 {
                        if limiter.check(Uuid::nil(), limit, 7_200_000 + 10).allowed {
                            allowed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(allowed.load(Ordering::Relaxed), 1_000);
    }

    #[test]
    fn a_changed_window_length_starts_a_fresh_window() {
        let limiter = RateLimiter::default();
        let minute = RateLimit { requests: 1, window: RateWindow::Minute };
        assert!(limiter.check(Uuid::nil(), minute, 120_000).allowed);
        assert!(!limiter.check(Uuid::nil(), minute, 120_001).allowed);
        let hour = RateLimit { requests: 1, window: RateWindow::Hour };
        let state = limiter.check(Uuid::nil(), hour, 120_002);
        assert_eq!((state.allowed, state.reset_at_ms), (true, 3_600_000));
    }
}
