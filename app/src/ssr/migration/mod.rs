//! Portable migrations: the same steps on SQLite and PostgreSQL, run at start-up.

use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_key_lifecycle;
mod m20261123_000003_audit_log;
mod m20261123_000004_members;
mod m20261123_000005_sessions;
mod m20261123_000006_projects;
mod m20261125_000007_installation;
mod m20261126_000008_key_name_order;
mod m20261126_000009_key_search;
mod m20261126_000010_keys_stored;
mod m20261127_000011_key_owner;
mod m20261127_000012_key_credits;
mod m20261127_000013_key_ip_allowlist;
mod m20261127_000014_verification_log;
mod m20261127_000015_webhooks;
mod m20261127_000016_key_expiry_notices;
mod m20261127_000017_reminder_mail;
mod m20261127_000018_key_expiry_index;
mod m20261128_000019_leaked_keys;
mod m20261128_000020_decoy_keys;
pub mod m20261128_000021_reserved_scopes;
mod m20261128_000022_refusals_index;
mod m20261129_000023_grouped_verifications;

pub use m20261126_000009_key_search::POSTGRES_SEARCH_INDEXES;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_key_lifecycle::Migration),
            Box::new(m20261123_000003_audit_log::Migration),
            Box::new(m20261123_000004_members::Migration),
            Box::new(m20261123_000005_sessions::Migration),
            Box::new(m20261123_000006_projects::Migration),
            Box::new(m20261125_000007_installation::Migration),
            Box::new(m20261126_000008_key_name_order::Migration),
            Box::new(m20261126_000009_key_search::Migration),
            Box::new(m20261126_000010_keys_stored::Migration),
            Box::new(m20261127_000011_key_owner::Migration),
            Box::new(m20261127_000012_key_credits::Migration),
            Box::new(m20261127_000013_key_ip_allowlist::Migration),
            Box::new(m20261127_000014_verification_log::Migration),
            Box::new(m20261127_000015_webhooks::Migration),
            Box::new(m20261127_000016_key_expiry_notices::Migration),
            Box::new(m20261127_000017_reminder_mail::Migration),
            Box::new(m20261127_000018_key_expiry_index::Migration),
            Box::new(m20261128_000019_leaked_keys::Migration),
            Box::new(m20261128_000020_decoy_keys::Migration),
            Box::new(m20261128_000021_reserved_scopes::Migration),
            Box::new(m20261128_000022_refusals_index::Migration),
            Box::new(m20261129_000023_grouped_verifications::Migration),
        ]
    }
}
