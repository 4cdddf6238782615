//! Who a key is for, in the team's own words: `external_id` (the customer or tenant in their
//! system, up to 256 characters, which the keys list filters by) and `meta` (a JSON object of up to
//! 16 KB, stored as given and never interpreted). Verification answers with both.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    OrganizationId,
    ExternalId,
    Meta,
}

const BY_EXTERNAL_ID: &str = "idx_api_keys_organization_external_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in [
            ColumnDef::new(ApiKeys::ExternalId).string_len(256).null().to_owned(),
            ColumnDef::new(ApiKeys::Meta).text().null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(BY_EXTERNAL_ID)
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrganizationId)
                    .col(ApiKeys::ExternalId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(BY_EXTERNAL_ID).table(ApiKeys::Table).to_owned()).await?;
        for column in [ApiKeys::Meta, ApiKeys::ExternalId] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
