//! Sign-in attempts, limited per account and per address: password guessing gets a handful of tries
//! and then waits, and one address cannot spray guesses over many accounts (governor: GCRA, keyed).

use super::ServiceError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How many attempts, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    pub per_account: Quota,
    pub per_address: Quota,
}

impl Default for SignInLimits {
    /// An account: 10 attempts, then one more every 30 seconds. An address: 50, then one a second
    /// (an office behind one address signs in more than one person).
    fn default() -> Self {
        Self { per_account: quota(10, Duration::from_secs(30)), per_address: quota(50, Duration::from_secs(1)) }
    }
}

/// `burst` attempts at once, then one every `every`.
pub fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
}

#[derive(Clone)]
pub struct SignInThrottle {
    by_account: Arc<DefaultKeyedRateLimiter<String>>,
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl SignInThrottle {
    pub fn new(limits: SignInLimits) -> Self {
        Self {
            by_account: Arc::new(RateLimiter::keyed(limits.per_account)),
            by_address: Arc::new(RateLimiter::keyed(limits.per_address)),
        }
    }

    /// Counts an attempt to sign in as `email` (normalized) from `address`; refuses it, with how long
    /// to wait, when either has had too many. Every attempt counts, right or wrong: the password is
    /// checked only after this, so a flood also costs no hashing.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), ServiceError> {
        let too_many = |wait: Duration| ServiceError::TooManyAttempts { retry_after_secs: wait.as_secs().max(1) };
        if let Some(address) = address {
            self.by_address
                .check_key(&address)
                .map_err(|n| too_many(n.wait_time_from(DefaultClock::default().now())))?;
        }
        self.by_account
            .check_key(&email.to_owned())
            .map_err(|n| too_many(n.wait_time_from(DefaultClock::default().now())))
    }

    /// Drops the state of accounts and addresses whose limits have fully recovered.
    pub fn forget_recovered(&self) {
        self.by_account.retain_recent();
        self.by_address.retain_recent();
        self.by_account.shrink_to_fit();
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

    #[test]
    fn an_account_gets_its_burst_then_waits_and_others_are_untouched() {
        let throttle = SignInThrottle::new(SignInLimits {
            per_account: quota(3, Duration::from_secs(60)),
            per_address: quota(100, Duration::from_secs(1)),
        });
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            throttle.attempt("ada@acme.test", here).expect("within the burst");
        }
        match throttle.attempt("ada@acme.test", here) {
            Err(ServiceError::TooManyAttempts { retry_after_secs }) => assert!((1..=60).contains(&retry_after_secs)),
            other => panic!("expected TooManyAttempts, got {other:?}"),
        }
        throttle.attempt("grace@acme.test", here).expect("another account is not limited");
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let throttle = SignInThrottle::new(SignInLimits {
            per_account: quota(100, Duration::from_secs(1)),
            per_address: quota(2, Duration::from_secs(60)),
        });
        let there = Some(IpAddr::from([10, 0, 0, 2]));
        throttle.attempt("a@acme.test", there).expect("first");
        throttle.attempt("b@acme.test", there).expect("second");
        assert!(matches!(throttle.attempt("c@acme.test", there), Err(ServiceError::TooManyAttempts { .. })));
        throttle.attempt("c@acme.test", Some(IpAddr::from([10, 0, 0, 3]))).expect("another address");
    }
}
