//! Expiry reminders: which notice (a week before, a day before, expired) has gone out for which
//! key and expiry date. One row per notice, so that of several instances only one announces it,
//! and a key given a new expiry date is announced again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyExpiryNotices {
    Table,
    KeyId,
    Notice,
    ExpiresAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyExpiryNotices::Table)
                    .col(ColumnDef::new(KeyExpiryNotices::KeyId).uuid().not_null())
                    .col(ColumnDef::new(KeyExpiryNotices::Notice).string_len(16).not_null())
                    .col(ColumnDef::new(KeyExpiryNotices::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(KeyExpiryNotices::SentAt).timestamp_with_time_zone().not_null())
                    .primary_key(
                        Index::create()
                            .col(KeyExpiryNotices::KeyId)
                            .col(KeyExpiryNotices::Notice)
                            .col(KeyExpiryNotices::ExpiresAt),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KeyExpiryNotices::Table).to_owned()).await
    }
}
