//! Decoy keys: a key marked as one, and each use of it (where, from which address, when), for the
//! dashboard's alert. Uses go with their key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Decoy,
}

#[derive(DeriveIden)]
enum DecoyUses {
    Table,
    Id,
    OrganizationId,
    KeyId,
    Surface,
    Ip,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let decoy = ColumnDef::new(ApiKeys::Decoy).boolean().not_null().default(false).to_owned();
        manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(decoy).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(DecoyUses::Table)
                    .col(ColumnDef::new(DecoyUses::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(DecoyUses::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(DecoyUses::KeyId).uuid().not_null())
                    .col(ColumnDef::new(DecoyUses::Surface).string_len(16).not_null())
                    .col(ColumnDef::new(DecoyUses::Ip).string_len(64).null())
                    .col(ColumnDef::new(DecoyUses::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(DecoyUses::Table, DecoyUses::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A decoy's page reads its uses, and deleting it deletes them.
        manager
            .create_index(
                Index::create().name("ix_decoy_uses_key").table(DecoyUses::Table).col(DecoyUses::KeyId).to_owned(),
            )
            .await?;
        // The alert reads an organization's newest uses.
        manager
            .create_index(
                Index::create()
                    .name("ix_decoy_uses_organization_created")
                    .table(DecoyUses::Table)
                    .col(DecoyUses::OrganizationId)
                    .col(DecoyUses::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DecoyUses::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(ApiKeys::Decoy).to_owned()).await
    }
}
