//! Sign-in attempts, limited per account and per address. An account locks for a while after too
//! many wrong passwords (a right one clears the count), so guessing one account gets a handful of
//! tries; an address gets a budget of attempts of any kind (governor: GCRA, keyed), so one machine
//! cannot spray guesses over many accounts. Both are checked before any password is hashed.

use super::ServiceError;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many attempts, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Wrong passwords an account takes within `lockout` before it locks until that window ends.
    pub failures_per_account: u32,
    pub lockout: Duration,
    /// Attempts of any kind from one address.
    pub per_address: Quota,
}

impl Default for SignInLimits {
    /// An account: 10 wrong passwords in 15 minutes. An address: 50 attempts, then one a second (an
    /// office behind one address signs in more than one person).
    fn default() -> Self {
        Self {
            failures_per_account: 10,
            lockout: Duration::from_secs(15 * 60),
            per_address: quota(50, Duration::from_secs(1)),
        }
    }
}

/// `burst` attempts at once, then one every `every`.
pub fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
}

/// Attempts for one account since `since` that did not (or not yet) give the right password.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

#[derive(Clone)]
pub struct SignInThrottle {
    limits: SignInLimits,
    failures: Arc<DashMap<String, Failures>>,
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl SignInThrottle {
    pub fn new(limits: SignInLimits) -> Self {
        Self { limits, failures: Arc::default(), by_address: Arc::new(RateLimiter::keyed(limits.per_address)) }
    }

    /// Before a password is checked for `email` (normalized) from `address`: counts the attempt
    /// against the address (an IPv6 address by its /64, which one machine usually holds whole) and
    /// against the account, and refuses, with how long to wait, when either has had too many.
    ///
    /// The account's count is taken now, before the password is looked at, and given back only by
    /// [`SignInThrottle::succeeded`]: of many guesses sent at once, no more than the limit get as
    /// far as checking a password.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), ServiceError> {
        let too_many = |wait: Duration| ServiceError::TooManyAttempts { retry_after_secs: wait.as_secs().max(1) };
        if let Some(address) = address {
            self.by_address
                .check_key(&address_bucket(address))
                .map_err(|n| too_many(n.wait_time_from(DefaultClock::default().now())))?;
        }
        let now = Instant::now();
        let lockout = self.limits.lockout;
        let mut failures = self.failures.entry(email.to_owned()).or_insert(Failures { count: 0, since: now });
        if now.duration_since(failures.since) >= lockout {
            *failures = Failures { count: 0, since: now };
        }
        if failures.count >= self.limits.failures_per_account {
            return Err(too_many(failures.since + lockout - now));
        }
        failures.count += 1;
        Ok(())
    }

    /// The right password for `email`: its wrong ones are forgiven.
    pub fn succeeded(&self, email: &str) {
        self.failures.remove(email);
    }

    /// Drops what no longer limits anyone: ended lockout windows, recovered addresses.
    pub fn forget_recovered(&self) {
        let lockout = self.limits.lockout;
        self.failures.retain(|_, f| f.since.elapsed() < lockout);
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
    }
}

/// The key an address is limited by: an IPv4 address itself, an IPv6 address's /64 network (one
/// host is usually given a whole /64, and could otherwise rotate through it).
pub fn address_bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1))),
    }
}

/// Database lookups of API keys that found nothing, per address (an IPv6 /64) and fixed minute.
/// The token's checksum is public, so well-formed random tokens are cheap to make; each unknown one
/// costs a lookup. Past the limit, an address's next unknown key is refused before the lookup
/// (429) for the rest of the minute; keys already known (cached) go through all the same, so one
/// broken client behind a shared address does not lock out the others.
#[derive(Clone)]
pub struct KeyFailureLimit {
    per_minute: u32,
    windows: Arc<DashMap<IpAddr, (i64, u32)>>,
}

impl KeyFailureLimit {
    pub const DEFAULT_PER_MINUTE: u32 = 100;
    const MINUTE_MS: i64 = 60_000;

    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, windows: Arc::default() }
    }

    /// Before a lookup from `address`: takes a place in the address's count for this minute, or
    /// refuses, with how long to wait, when they are all taken. Taken before the lookup, so that of
    /// many requests at once no more than the limit reach the database.
    pub fn reserve(&self, address: IpAddr, now_ms: i64) -> Result<(), ServiceError> {
        let minute = now_ms.div_euclid(Self::MINUTE_MS);
        let mut window = self.windows.entry(address_bucket(address)).or_insert((minute, 0));
        // A request that read the clock just before the minute turned counts in the newer window,
        // never restarts it.
        if window.0 < minute {
            *window = (minute, 0);
        }
        if window.1 >= self.per_minute {
            let wait_ms = (minute + 1) * Self::MINUTE_MS - now_ms;
            return Err(ServiceError::TooManyAttempts {
                retry_after_secs: u64::try_from(wait_ms / 1000).unwrap_or(0).max(1),
            });
        }
        window.1 += 1;
        Ok(())
    }

    /// The lookup found a key: its place is given back (only unknown keys count).
    pub fn found(&self, address: IpAddr, now_ms: i64) {
        let minute = now_ms.div_euclid(Self::MINUTE_MS);
        if let Some(mut window) = self.windows.get_mut(&address_bucket(address))
            && window.0 == minute
        {
            window.1 = window.1.saturating_sub(1);
        }
    }

    /// Drops the windows of minutes gone by. The last minute's stays a minute more, for requests
    /// still in flight from it: dropped, it would start again at zero for them.
    pub fn forget_ended(&self, now_ms: i64) {
        let minute = now_ms.div_euclid(Self::MINUTE_MS);
        self.windows.retain(|_, (window, _)| *window >= minute - 1);
    }
}

impl Default for KeyFailureLimit {
    fn default() -> Self {
        Self::new(Self::DEFAULT_PER_MINUTE)
    }
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(SignInLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(failures_per_account: u32, per_address: u32) -> SignInLimits {
        SignInLimits {
            failures_per_account,
            lockout: Duration::from_secs(600),
            per_address: quota(per_address, Duration::from_secs(60)),
        }
    }

    #[test]
    fn wrong_passwords_lock_the_account_and_a_right_one_clears_them() {
        let throttle = SignInThrottle::new(limits(3, 100));
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..2 {
            throttle.attempt("ada@acme.test", here).expect("allowed"); // and a wrong password
        }
        throttle.attempt("ada@acme.test", here).expect("allowed");
        throttle.succeeded("ada@acme.test");
        for _ in 0..3 {
            throttle.attempt("ada@acme.test", here).expect("the count started again");
        }
        match throttle.attempt("ada@acme.test", here) {
            Err(ServiceError::TooManyAttempts { retry_after_secs }) => assert!((1..=600).contains(&retry_after_secs)),
            other => panic!("expected TooManyAttempts, got {other:?}"),
        }
        throttle.attempt("grace@acme.test", here).expect("another account is not locked");
        // Right passwords never lock anyone.
        for _ in 0..10 {
            throttle.attempt("grace@acme.test", here).expect("allowed");
            throttle.succeeded("grace@acme.test");
        }
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let throttle = SignInThrottle::new(limits(100, 2));
        let there = Some(IpAddr::from([10, 0, 0, 2]));
        throttle.attempt("a@acme.test", there).expect("first");
        throttle.attempt("b@acme.test", there).expect("second");
        assert!(matches!(throttle.attempt("c@acme.test", there), Err(ServiceError::TooManyAttempts { .. })));
        throttle.attempt("c@acme.test", Some(IpAddr::from([10, 0, 0, 3]))).expect("another address");
    }

    #[test]
    fn guesses_sent_at_once_are_counted_before_any_is_checked() {
        // 50 guesses in flight together: each takes its place in the count before its password is
        // looked at, so only the first 10 get that far.
        let throttle = std::sync::Arc::new(SignInThrottle::new(limits(10, 1000)));
        let passed: usize = std::thread::scope(|scope| {
            let guesses: Vec<_> = (0..50)
                .map(|_| {
                    let throttle = std::sync::Arc::clone(&throttle);
                    scope.spawn(move || throttle.attempt("ada@acme.test", None).is_ok())
                })
                .collect();
            guesses.into_iter().map(|g| usize::from(g.join().expect("thread"))).sum()
        });
        assert_eq!(passed, 10);
    }

    #[test]
    fn an_ipv6_address_is_limited_by_its_64() {
        let throttle = SignInThrottle::new(limits(100, 2));
        let host = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]));
        throttle.attempt("a@acme.test", host(1)).expect("first");
        throttle.attempt("b@acme.test", host(2)).expect("second, same /64");
        assert!(matches!(throttle.attempt("c@acme.test", host(3)), Err(ServiceError::TooManyAttempts { .. })));
        let elsewhere = Some(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]));
        throttle.attempt("c@acme.test", elsewhere).expect("another /64");
    }

    #[test]
    fn unknown_keys_are_limited_per_address_and_known_ones_give_their_place_back() {
        let limit = KeyFailureLimit::new(3);
        let (here, now) = (IpAddr::from([10, 0, 0, 9]), 120_000);
        limit.reserve(here, now).expect("first");
        limit.found(here, now); // a known key: not counted
        for _ in 0..3 {
            limit.reserve(here, now).expect("within the limit");
        }
        match limit.reserve(here, now + 1_000) {
            Err(ServiceError::TooManyAttempts { retry_after_secs }) => assert_eq!(retry_after_secs, 59),
            other => panic!("expected a refusal, got {other:?}"),
        }
        limit.reserve(IpAddr::from([10, 0, 0, 10]), now).expect("another address");
        limit.reserve(here, now + 60_000).expect("the next minute");
        limit.forget_ended(now + 60_000);
        assert_eq!(limit.windows.len(), 2, "the last minute's windows stay a minute more");
        limit.forget_ended(now + 120_000);
        assert_eq!(limit.windows.len(), 1);
    }

    #[test]
    fn a_request_that_read_the_clock_before_the_minute_turned_reopens_nothing() {
        let limit = KeyFailureLimit::new(2);
        let (here, minute_end) = (IpAddr::from([10, 0, 0, 9]), 180_000);
        limit.reserve(here, minute_end - 2_000).expect("first");
        limit.reserve(here, minute_end - 1_000).expect("second");
        // The minute turns and the clean-up runs while a request from the old minute is in flight.
        limit.forget_ended(minute_end);
        assert!(limit.reserve(here, minute_end - 500).is_err(), "the old minute is still full");
        limit.reserve(here, minute_end).expect("the new minute");
        limit.reserve(here, minute_end + 1).expect("the new minute");
        assert!(limit.reserve(here, minute_end - 100).is_err(), "counted in the new, full window");
        assert!(limit.reserve(here, minute_end + 2).is_err());
    }
}

/// Uses of decoy keys already recorded: one record per key and address (an IPv6 /64) per
/// [`DECOY_RECORD_EVERY`], and at most [`DECOY_RECORDS_PER_MINUTE`] per key, so that a script
/// hammering a decoy, from however many addresses, cannot turn it into a write per request.
#[derive(Clone)]
pub struct DecoyRecords {
    seen: moka::sync::Cache<(uuid::Uuid, Option<IpAddr>), ()>,
    per_key: moka::sync::Cache<uuid::Uuid, Arc<std::sync::atomic::AtomicU32>>,
}

/// How long repeats of one decoy from one address count as one use.
pub const DECOY_RECORD_EVERY: Duration = Duration::from_secs(10);
/// The most uses of one decoy recorded in a minute.
pub const DECOY_RECORDS_PER_MINUTE: u32 = 30;

impl Default for DecoyRecords {
    fn default() -> Self {
        Self {
            seen: moka::sync::Cache::builder().max_capacity(100_000).time_to_live(DECOY_RECORD_EVERY).build(),
            per_key: moka::sync::Cache::builder().max_capacity(10_000).time_to_live(Duration::from_secs(60)).build(),
        }
    }
}

impl DecoyRecords {
    /// Whether this use is to be recorded: the first from `address` for `key` in the last few
    /// seconds, within the key's allowance for the minute.
    pub fn first(&self, key: uuid::Uuid, address: Option<IpAddr>) -> bool {
        if !self.seen.entry((key, address.map(address_bucket))).or_insert(()).is_fresh() {
            return false;
        }
        let count = self.per_key.get_with(key, Arc::default);
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < DECOY_RECORDS_PER_MINUTE
    }
}
