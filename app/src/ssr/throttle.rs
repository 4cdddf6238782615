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

/// Wrong passwords for one account since `since`.
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
    /// against the address, and refuses, with how long to wait, when either has had too many.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), ServiceError> {
        let too_many = |wait: Duration| ServiceError::TooManyAttempts { retry_after_secs: wait.as_secs().max(1) };
        if let Some(address) = address {
            self.by_address
                .check_key(&address)
                .map_err(|n| too_many(n.wait_time_from(DefaultClock::default().now())))?;
        }
        if let Some(failures) = self.failures.get(email).map(|f| *f) {
            let ends = failures.since + self.limits.lockout;
            let now = Instant::now();
            if failures.count >= self.limits.failures_per_account && now < ends {
                return Err(too_many(ends - now));
            }
        }
        Ok(())
    }

    /// A wrong password for `email`.
    pub fn failed(&self, email: &str) {
        let now = Instant::now();
        let lockout = self.limits.lockout;
        self.failures
            .entry(email.to_owned())
            .and_modify(|f| {
                if now.duration_since(f.since) >= lockout {
                    *f = Failures { count: 0, since: now };
                }
                f.count += 1;
            })
            .or_insert(Failures { count: 1, since: now });
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
            throttle.attempt("ada@acme.test", here).expect("allowed");
            throttle.failed("ada@acme.test");
        }
        throttle.attempt("ada@acme.test", here).expect("allowed");
        throttle.succeeded("ada@acme.test");
        for _ in 0..3 {
            throttle.attempt("ada@acme.test", here).expect("the count started again");
            throttle.failed("ada@acme.test");
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
}
