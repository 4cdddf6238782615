//! What the services count for Prometheus, through the `metrics` facade: a no-op until the server
//! installs its recorder (tests and benchmarks that do not install one pay next to nothing).
//! The server renders them at `/metrics`.

use super::services::verification::VerifyCode;

/// Verdicts given by `POST /api/v1/keys/verify`, by code.
pub const VERIFICATIONS: &str = "keyward_verifications_total";
/// Lookups of a presented key's digest in the verification cache, by `result` (hit or miss).
pub const CACHE_LOOKUPS: &str = "keyward_key_cache_lookups_total";
/// Rate-limit checks that could not reach the shared store and were counted by this instance alone.
pub const SHARED_LIMIT_FALLBACKS: &str = "keyward_rate_limit_shared_store_errors_total";

pub fn verdict(code: VerifyCode) {
    metrics::counter!(VERIFICATIONS, "code" => code.as_str()).increment(1);
}

pub fn cache_lookup(hit: bool) {
    metrics::counter!(CACHE_LOOKUPS, "result" => if hit { "hit" } else { "miss" }).increment(1);
}
