//! Server functions: thin. Each one finds the signed-in member, calls one service, converts the error.

pub mod account;
pub mod audit;
pub mod auth;
pub mod keys;
pub mod leaks;
pub mod members;
pub mod organization;
pub mod projects;
pub mod webhooks;

#[cfg(feature = "ssr")]
mod context;
#[cfg(feature = "ssr")]
pub mod edge;
#[cfg(feature = "ssr")]
pub use context::{RequestSignIn, SECURE_SESSION_COOKIE, SESSION_COOKIE, session_cookie_name, signed_in};
