//! The server's integration tests: the HTTP APIs on a real router and database, and real `keyward`
//! processes. One test binary with a module per subject, so the suite links once.

mod api;
mod attacks;
mod client;
mod cluster;
mod dashboard;
mod decoys;
mod insight;
mod leaks;
mod mail;
mod organization;
mod server_fns;
mod webhooks;
