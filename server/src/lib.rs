//! The Keyward server: configuration, the router (dashboard, server functions, `/api/v1`),
//! background tasks. `main.rs` wires them together; the HTTP tests use them directly.

pub mod charts;
pub mod config;
pub mod dashboard;
pub mod mail;
pub mod rest;
pub mod router;
pub mod security;
pub mod tasks;
pub mod telemetry;
pub mod webhooks;

/// For the server binary, its tests and benchmarks alike (see the workspace's Cargo.toml for why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
