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
pub use state::{AppState, Core};
