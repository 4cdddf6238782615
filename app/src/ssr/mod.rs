//! Everything behind the `ssr` feature: storage, secrets and the business rules.

pub mod crypto;
pub mod db;
pub mod entities;
mod error;
pub mod migration;
pub mod services;
mod state;

pub use error::ServiceError;
pub use state::AppState;
