//! Check Keyward API keys from a Rust service.
//!
//! - [`RequireKey`]: a tower layer for axum that lets a request through only with a valid key,
//!   and hands your handlers the [`VerifiedKey`].
//! - [`Client`]: the verification API ([`Client::verify`]) and the keys of the management API.
//!
//! ```no_run
//! use axum::{Extension, Router, routing::get};
//! use keyward_client::{Client, RequireKey, VerifiedKey};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keyward = Client::new("http://127.0.0.1:3000", std::env::var("KEYWARD_ROOT_KEY")?)?;
//! let app: Router = Router::new()
//!     .route("/orders", get(|Extension(key): Extension<VerifiedKey>| async move { key.name }))
//!     .layer(RequireKey::new(keyward).scopes(["orders.read"]));
//! # Ok(()) }
//! ```
#![warn(missing_debug_implementations)]

mod client;
mod layer;
mod model;

pub use client::{Client, Error};
pub use layer::{MAX_CACHE_TTL, RequireKey, RequireKeyService, VerifiedKey};
pub use model::{
    CreditsLeft, Environment, FieldProblem, Grace, Key, KeyFilter, KeyList, KeyStatus, KeyWithToken, NewKey, Problem,
    ProjectRef, RateLimit, RateLimitState, RateWindow, Verification, Verify, VerifyCode,
};
