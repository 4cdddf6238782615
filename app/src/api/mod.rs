//! Server functions: thin. Each one finds the signed-in member, calls one service, converts the error.

pub mod auth;
pub mod keys;
pub mod organization;

#[cfg(feature = "ssr")]
mod context;
