//! Everything behind the `ssr` feature: storage, secrets, the in-memory key state and the business rules.

pub mod cache;
pub mod credits;
pub mod crypto;
pub mod db;
pub mod entities;
mod error;
pub mod input;
pub mod invalidation;
pub mod leak_reports;
pub mod metrics;
pub mod migration;
pub mod page_headers;
pub mod rate_limit;
pub mod services;
mod state;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod throttle;
pub mod usage;
pub mod verification_log;
pub mod webhook_signing;

pub use error::ServiceError;

/// Where a request came from: the TCP peer, or the client a trusted proxy names (set by the server's
/// edge, and read by the audit log and the per-address limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Per-key state the verification path touches on every call, by key id. Ids are Keyward's own
/// (UUIDv7), never a caller's choice, so the map needs no flood-resistant hash: foldhash (seeded per
/// process) rather than SipHash, which was a tenth of a verification's own instructions (callgrind).
/// Maps keyed by what a caller sends (addresses, names) keep SipHash.
pub type ByKey<V> = dashmap::DashMap<uuid::Uuid, V, foldhash::fast::RandomState>;
pub use state::{AppState, Core};
