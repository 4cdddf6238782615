//! What the services count for Prometheus, through the `metrics` facade: a no-op until the server
//! installs its recorder (tests and benchmarks that do not install one pay next to nothing).
//! The server renders them at `/metrics`.

use crate::model::VerifyCode;
use metrics::Counter;
use std::sync::OnceLock;
use strum::VariantArray;

/// Verdicts given by `POST /api/v1/keys/verify`, by code.
pub const VERIFICATIONS: &str = "keyward_verifications_total";
/// Lookups of a presented key's digest in the verification cache, by `result` (hit or miss).
pub const CACHE_LOOKUPS: &str = "keyward_key_cache_lookups_total";
/// Rate-limit checks that could not reach the shared store and were counted by this instance alone.
pub const SHARED_LIMIT_FALLBACKS: &str = "keyward_rate_limit_shared_store_errors_total";
/// Rate-limit checks counted by this instance alone without asking the shared store, because it
/// failed moments ago (the circuit breaker is open).
pub const SHARED_LIMIT_SKIPS: &str = "keyward_rate_limit_shared_store_skipped_total";
/// Lookups of a key in the database by the API's authentication (the calling key): bounded by the
/// per-address limit on failed authentications, however many unknown keys one address sends.
pub const KEY_LOOKUPS: &str = "keyward_key_database_lookups_total";

/// The hot path's counters, registered once: a `counter!` with labels looks its series up in the
/// recorder's registry (hashing the name and labels) on every call, which the verification path
/// would otherwise pay two or three times per request. The server installs its recorder before
/// it serves, so these handles are the recorder's, not no-ops.
struct Counters {
    /// By `code as usize`, in `VerifyCode::VARIANTS`' order.
    verdicts: Box<[Counter]>,
    cache_hits: Counter,
    cache_misses: Counter,
}

fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| Counters {
        verdicts: VerifyCode::VARIANTS
            .iter()
            .map(|code| metrics::counter!(VERIFICATIONS, "code" => code.as_str()))
            .collect(),
        cache_hits: metrics::counter!(CACHE_LOOKUPS, "result" => "hit"),
        cache_misses: metrics::counter!(CACHE_LOOKUPS, "result" => "miss"),
    })
}

pub fn verdict(code: VerifyCode) {
    counters().verdicts[code as usize].increment(1);
}

pub fn cache_lookup(hit: bool) {
    let counters = counters();
    if hit { &counters.cache_hits } else { &counters.cache_misses }.increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_at_its_own_index() {
        for (index, &code) in VerifyCode::VARIANTS.iter().enumerate() {
            assert_eq!(code as usize, index, "{}", code.as_str());
        }
    }
}
