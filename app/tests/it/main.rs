//! The `app` crate's integration tests: the services against a real database (SQLite, or PostgreSQL
//! with `KEYWARD_TEST_DATABASE_URL`). One test binary with a module per subject, so the suite links
//! once.

mod account;
mod audit;
mod auth;
mod keys;
mod lifecycle;
mod members;
mod permissions;
mod projects;
mod resilience;
mod secret_scanning;
