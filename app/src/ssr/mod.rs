//! Everything behind the `ssr` feature: storage, secrets, the in-memory key state and the business rules.

pub mod cache;
pub mod crypto;
pub mod db;
pub mod entities;
mod error;
pub mod invalidation;
pub mod metrics;
pub mod migration;
pub mod rate_limit;
pub mod services;
mod state;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod throttle;
pub mod usage;

pub use error::ServiceError;
pub use state::{AppState, Core};
