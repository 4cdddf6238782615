//! Per-key rate limits: fixed windows aligned to the clock (a minute limit resets at :00).
//!
//! Fixed windows rather than a GCRA (governor): they answer `RateLimit-Remaining` and
//! `RateLimit-Reset` exactly, as a person reads them ("12 left until 10:42:00"), and the same count
//! moves unchanged to a shared store when several instances serve: with Redis configured, every
//! instance counts in one Redis counter per key and window, through one atomic script.

use crate::model::RateLimit;
use crate::ssr::ByKey;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
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

/// The per-key limits of this deployment: counted in this process, or, with Redis configured,
/// across every instance.
#[derive(Clone, Default)]
pub struct RateLimiter {
    local: LocalWindows,
    shared: Option<SharedWindows>,
}

impl RateLimiter {
    /// Limits counted in Redis, shared by every instance configured with the same Redis.
    pub fn shared(redis: SharedWindows) -> Self {
        Self { local: LocalWindows::default(), shared: Some(redis) }
    }

    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Counts one request of `key` at `now_ms` against `limit`; a refused request is not counted.
    /// Should Redis fail to answer, this instance counts alone until it answers again: keys keep
    /// working, each instance holding them to the limit (logged and counted as a metric).
    ///
    /// After a failure, Redis is not asked again for [`SharedWindows::PAUSE_MS`] (a small circuit
    /// breaker): a Redis that hangs rather than refusing would otherwise add its whole timeout to
    /// every verification.
    pub async fn check(&self, key: Uuid, limit: RateLimit, now_ms: i64) -> RateState {
        if let Some(shared) = &self.shared {
            if shared.paused(now_ms) {
                metrics::counter!(crate::ssr::metrics::SHARED_LIMIT_SKIPS).increment(1);
            } else {
                // Boxed, as the database lookup is: only keys with a limit pay for this future.
                match Box::pin(shared.check(key, limit, now_ms)).await {
                    Ok(state) => return state,
                    Err(e) => shared.report(&e, now_ms),
                }
            }
        }
        self.local.check(key, limit, now_ms)
    }

    /// Drops this instance's windows that have ended (Redis expires its own).
    pub fn forget_ended(&self, now_ms: i64) {
        self.local.forget_ended(now_ms);
    }
}

/// Windows counted in this process's memory.
#[derive(Clone, Default)]
pub struct LocalWindows {
    windows: Arc<ByKey<Window>>,
}

impl LocalWindows {
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

/// Counts a window in Redis: refuses at the limit without counting, otherwise increments, and
/// gives a new counter an expiry at its window's end. One script, so two instances counting the
/// same key at once can neither both take the last request nor lose a count.
const COUNT_SCRIPT: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then
  return {0, used}
end
used = redis.call('INCR', KEYS[1])
if used == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {1, used}
";

/// Windows counted in Redis, shared by every instance that uses the same Redis.
#[derive(Clone)]
pub struct SharedWindows {
    redis: redis::aio::ConnectionManager,
    script: Arc<redis::Script>,
    /// When a failure was last logged (milliseconds), so an outage logs once every few seconds,
    /// not once per request.
    last_warning_ms: Arc<AtomicI64>,
    /// Until when (milliseconds) Redis is not asked, after a failure.
    paused_until_ms: Arc<AtomicI64>,
}

impl SharedWindows {
    /// Connects to Redis (`redis://host:port/db`). Fails if Redis does not answer now: a wrong
    /// address is a configuration error to report at start, not at the first request.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            // A verification waits this long at most for Redis before counting locally.
            .set_response_timeout(Some(Duration::from_millis(250)))
            .set_number_of_retries(1);
        let mut redis = redis::aio::ConnectionManager::new_with_config(client, config).await?;
        let _: String = redis::cmd("PING").query_async(&mut redis).await?;
        Ok(Self {
            redis,
            script: Arc::new(redis::Script::new(COUNT_SCRIPT)),
            last_warning_ms: Arc::default(),
            paused_until_ms: Arc::default(),
        })
    }

    /// How long Redis is left alone after it failed to answer.
    pub const PAUSE_MS: i64 = 3_000;

    fn paused(&self, now_ms: i64) -> bool {
        now_ms < self.paused_until_ms.load(Ordering::Relaxed)
    }

    pub async fn check(&self, key: Uuid, limit: RateLimit, now_ms: i64) -> Result<RateState, redis::RedisError> {
        let length_ms = i64::from(limit.window.seconds()) * 1000;
        let index = now_ms.div_euclid(length_ms);
        let reset_at_ms = (index + 1) * length_ms;
        // The window's length is in the name: a key whose limit moves to another window starts afresh.
        let counter = format!("keyward:rate:{key}:{}:{index}", limit.window.seconds());
        // Lives a little past the window's end, for instances whose clocks run slightly behind.
        let ttl_ms = reset_at_ms - now_ms + 5_000;
        let mut redis = self.redis.clone();
        let (allowed, used): (i64, i64) =
            self.script.key(counter).arg(limit.requests).arg(ttl_ms).invoke_async(&mut redis).await?;
        let used = u32::try_from(used).unwrap_or(u32::MAX);
        Ok(RateState {
            allowed: allowed == 1,
            limit: limit.requests,
            remaining: limit.requests.saturating_sub(used),
            reset_at_ms,
        })
    }

    fn report(&self, error: &redis::RedisError, now_ms: i64) {
        metrics::counter!(crate::ssr::metrics::SHARED_LIMIT_FALLBACKS).increment(1);
        self.paused_until_ms.fetch_max(now_ms + Self::PAUSE_MS, Ordering::Relaxed);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        if now_ms - last >= 10_000
            && self.last_warning_ms.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(%error, "Redis did not answer; rate limits are counted per instance until it does");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RateWindow;

    #[test]
    fn a_window_allows_its_limit_then_refuses_until_it_resets() {
        let limiter = LocalWindows::default();
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
        let limiter = LocalWindows::default();
        let limit = RateLimit { requests: 1, window: RateWindow::Second };
        assert!(limiter.check(Uuid::nil(), limit, 1_000).allowed);
        assert!(limiter.check(Uuid::max(), limit, 1_000).allowed);
        assert!(!limiter.check(Uuid::nil(), limit, 1_500).allowed);
        limiter.forget_ended(2_000);
        assert!(limiter.windows.is_empty());
    }

    #[test]
    fn concurrent_requests_never_exceed_the_limit() {
        let limiter = LocalWindows::default();
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
        let limiter = LocalWindows::default();
        let minute = RateLimit { requests: 1, window: RateWindow::Minute };
        assert!(limiter.check(Uuid::nil(), minute, 120_000).allowed);
        assert!(!limiter.check(Uuid::nil(), minute, 120_001).allowed);
        let hour = RateLimit { requests: 1, window: RateWindow::Hour };
        let state = limiter.check(Uuid::nil(), hour, 120_002);
        assert_eq!((state.allowed, state.reset_at_ms), (true, 3_600_000));
    }
}
