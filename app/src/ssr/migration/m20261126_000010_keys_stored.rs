//! The number of keys an organization holds, kept beside it: the unfiltered keys list shows it as
//! its total, which would otherwise be a count over every key (milliseconds at 100,000 keys).
//! Changed in the transaction that creates or deletes a key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    KeysStored,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(ColumnDef::new(Organizations::KeysStored).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        // The keys already there, on both databases alike.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE organizations SET keys_stored = \
                 (SELECT COUNT(*) FROM api_keys WHERE api_keys.organization_id = organizations.id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::KeysStored).to_owned())
            .await
    }
}
