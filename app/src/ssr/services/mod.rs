//! The business rules. Server functions and the REST API call these and nothing deeper.

pub mod account;
mod actor;
pub mod audit;
pub mod auth;
pub mod keys;
pub mod members;
pub mod organizations;
pub mod projects;
pub mod verification;

pub use actor::{Actor, KeyCaller, Reach};
pub use auth::{Client, Member, NewSession};

use super::ServiceError;

/// Runs CPU-heavy work (argon2) off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ServiceError::Internal(format!("blocking task: {e}")))
}
