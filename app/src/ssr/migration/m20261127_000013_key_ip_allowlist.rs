//! Where a key may be used from: its IP allowlist, space-separated CIDRs (`NULL`: anywhere).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    IpAllowlist,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(ApiKeys::IpAllowlist).text().null().to_owned();
        manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(ApiKeys::IpAllowlist).to_owned()).await
    }
}
