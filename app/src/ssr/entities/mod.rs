//! SeaORM entities: how the product's records are stored. Table names are plural nouns.

pub mod api_key;
pub mod audit_event;
pub mod decoy_use;
pub mod installation;
pub mod invitation;
pub mod key_expiry_notice;
pub mod key_rotation;
pub mod key_usage;
pub mod key_verification;
pub mod membership;
pub mod organization;
pub mod project;
pub mod project_scope;
pub mod server_secret_fingerprint;
pub mod session;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
