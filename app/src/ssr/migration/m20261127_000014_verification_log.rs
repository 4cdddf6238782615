//! The verification log: one row per verification (when, which key, the verdict, the verifying
//! key, the caller's address, the environment, the scopes asked and the credits spent), written in
//! batches and kept `KEYWARD_VERIFICATION_LOG_DAYS` days. Read newest first per key, and purged by age.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyVerifications {
    Table,
    Id,
    At,
    OrganizationId,
    KeyId,
    CallerKeyId,
    Outcome,
    Address,
    Environment,
    Scopes,
    CreditsSpent,
}

const BY_KEY: &str = "idx_key_verifications_key_at";
const BY_AGE: &str = "idx_key_verifications_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyVerifications::Table)
                    .col(ColumnDef::new(KeyVerifications::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(KeyVerifications::At).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(KeyVerifications::OrganizationId).uuid().not_null())
                    // None: the presented key was not found.
                    .col(ColumnDef::new(KeyVerifications::KeyId).uuid().null())
                    .col(ColumnDef::new(KeyVerifications::CallerKeyId).uuid().not_null())
                    .col(ColumnDef::new(KeyVerifications::Outcome).string_len(32).not_null())
                    .col(ColumnDef::new(KeyVerifications::Address).string_len(45).null())
                    .col(ColumnDef::new(KeyVerifications::Environment).string_len(16).null())
                    .col(ColumnDef::new(KeyVerifications::Scopes).text().null())
                    .col(ColumnDef::new(KeyVerifications::CreditsSpent).integer().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, columns) in
            [(BY_KEY, vec![KeyVerifications::KeyId, KeyVerifications::At]), (BY_AGE, vec![KeyVerifications::At])]
        {
            let mut index = Index::create().name(name).table(KeyVerifications::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KeyVerifications::Table).to_owned()).await
    }
}
