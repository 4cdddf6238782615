//! The keys search reads indexes instead of every key: a name contains the words searched for,
//! or a prefix starts with them (case-insensitive, wildcards literal).
//!
//! - PostgreSQL: `pg_trgm` GIN indexes on `lower(name)` and `lower(prefix)` serve the very
//!   `LIKE` the list already runs. Where the extension cannot be created (not installed, or not
//!   permitted), the search still works, by scanning, and the server warns at start
//!   (`db::connect_and_migrate`).
//! - SQLite: an FTS5 trigram table holds each key's name (kept by triggers), and an index on
//!   `lower(prefix)` serves a range. The FTS table's rows are found by key through
//!   `api_key_search_rows`, not through `api_keys.rowid`: `VACUUM` may renumber the rowids of a
//!   table without an INTEGER PRIMARY KEY, and a search keyed on them would then point at other keys.
//!
//! Both: the environment-and-status index also holds `created_at`, so that a filtered page reads
//! the keys in the list's order and stops after the page, and `expires_at`, so that counting a
//! filtered list ("active" means not expired either) reads the index alone.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE api_key_search USING fts5(key_id UNINDEXED, name, tokenize = 'trigram')",
    "CREATE TABLE api_key_search_rows (key_id PRIMARY KEY NOT NULL, search_row INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO api_key_search (key_id, name) SELECT id, name FROM api_keys",
    "INSERT INTO api_key_search_rows (key_id, search_row) SELECT key_id, rowid FROM api_key_search",
    "CREATE TRIGGER api_keys_search_insert AFTER INSERT ON api_keys BEGIN
         INSERT INTO api_key_search (key_id, name) VALUES (new.id, new.name);
         INSERT INTO api_key_search_rows (key_id, search_row) VALUES (new.id, last_insert_rowid());
     END",
    "CREATE TRIGGER api_keys_search_rename AFTER UPDATE OF name ON api_keys BEGIN
         UPDATE api_key_search SET name = new.name
          WHERE rowid = (SELECT search_row FROM api_key_search_rows WHERE key_id = old.id);
     END",
    "CREATE TRIGGER api_keys_search_delete AFTER DELETE ON api_keys BEGIN
         DELETE FROM api_key_search WHERE rowid = (SELECT search_row FROM api_key_search_rows WHERE key_id = old.id);
         DELETE FROM api_key_search_rows WHERE key_id = old.id;
     END",
    "CREATE INDEX ix_api_keys_organization_lower_prefix ON api_keys (organization_id, lower(prefix), status)",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP INDEX ix_api_keys_organization_lower_prefix",
    "DROP TRIGGER api_keys_search_delete",
    "DROP TRIGGER api_keys_search_rename",
    "DROP TRIGGER api_keys_search_insert",
    "DROP TABLE api_key_search_rows",
    "DROP TABLE api_key_search",
];

/// In a block of its own: a refused `CREATE EXTENSION` rolls back only this block, not the
/// migration, and leaves a notice. Run again at start while the indexes are missing, so that an
/// operator who installs the extension later gets them on the next restart.
pub const POSTGRES_SEARCH_INDEXES: &str = "DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS ix_api_keys_name_trigrams ON api_keys USING gin (lower(name) gin_trgm_ops);
    CREATE INDEX IF NOT EXISTS ix_api_keys_prefix_trigrams ON api_keys USING gin (lower(prefix) gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is unavailable (%): the keys search scans the organization''s keys', SQLERRM;
END
$$";

const POSTGRES_DOWN: &str =
    "DROP INDEX IF EXISTS ix_api_keys_prefix_trigrams; DROP INDEX IF EXISTS ix_api_keys_name_trigrams";

const BOTH_UP: &[&str] = &[
    "CREATE INDEX ix_api_keys_organization_environment_created \
     ON api_keys (organization_id, environment, status, created_at, expires_at)",
    "DROP INDEX ix_api_keys_organization_environment",
];

const BOTH_DOWN: &[&str] = &[
    "CREATE INDEX ix_api_keys_organization_environment ON api_keys (organization_id, environment, status)",
    "DROP INDEX ix_api_keys_organization_environment_created",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let own: &[&str] = match db.get_database_backend() {
            DbBackend::Sqlite => SQLITE_UP,
            _ => &[POSTGRES_SEARCH_INDEXES],
        };
        run(db, [BOTH_UP, own]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let own: &[&str] = match db.get_database_backend() {
            DbBackend::Sqlite => SQLITE_DOWN,
            _ => &[POSTGRES_DOWN],
        };
        run(db, [BOTH_DOWN, own]).await
    }
}

async fn run(db: &SchemaManagerConnection<'_>, groups: [&[&str]; 2]) -> Result<(), DbErr> {
    for statement in groups.into_iter().flatten() {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}
