//! The expiry reminders' look, every minute on every instance, reads the keys expiring within a
//! week: by an index on the expiry, not a pass over every key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    ExpiresAt,
}

const INDEX: &str = "ix_api_keys_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(Index::create().name(INDEX).table(ApiKeys::Table).col(ApiKeys::ExpiresAt).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(ApiKeys::Table).to_owned()).await
    }
}
