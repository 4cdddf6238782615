//! A verification log entry stands for identical verifications within one second (see
//! `verification_log`): how many. Rows written before stand for one each.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyVerifications {
    Table,
    Count,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let count = ColumnDef::new(KeyVerifications::Count).integer().not_null().default(1).to_owned();
        manager.alter_table(Table::alter().table(KeyVerifications::Table).add_column(count).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(KeyVerifications::Table).drop_column(KeyVerifications::Count).to_owned())
            .await
    }
}
