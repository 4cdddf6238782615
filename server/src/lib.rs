//! The Keyward server: configuration, the router (dashboard, server functions, `/api/v1`),
//! background tasks. `main.rs` wires them together; the HTTP tests use them directly.

pub mod config;
pub mod rest;
pub mod router;
pub mod tasks;
