//! The keys table sorted by name reads an index: the sort is case-insensitive (`lower(name)`, so
//! that SQLite and PostgreSQL agree), and only an index on that expression serves it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on both databases; sea-query's index builder takes columns only.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_api_keys_organization_lower_name ON api_keys (organization_id, lower(name))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX ix_api_keys_organization_lower_name").await?;
        Ok(())
    }
}
