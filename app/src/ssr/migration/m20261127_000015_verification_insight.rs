//! Indexes for what the verification log tells: an organization's refusals of keys that no longer
//! work (the "Needs attention" panel), and its verifications over a window (a project's chart).
//! Without them both read every row of the retention.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyVerifications {
    Table,
    OrganizationId,
    Outcome,
    At,
}

const BY_OUTCOME: &str = "idx_key_verifications_org_outcome_at";
const BY_TIME: &str = "idx_key_verifications_org_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(BY_OUTCOME)
                    .table(KeyVerifications::Table)
                    .col(KeyVerifications::OrganizationId)
                    .col(KeyVerifications::Outcome)
                    .col(KeyVerifications::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_TIME)
                    .table(KeyVerifications::Table)
                    .col(KeyVerifications::OrganizationId)
                    .col(KeyVerifications::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [BY_OUTCOME, BY_TIME] {
            manager.drop_index(Index::drop().name(name).table(KeyVerifications::Table).to_owned()).await?;
        }
        Ok(())
    }
}
