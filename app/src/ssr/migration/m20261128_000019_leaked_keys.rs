//! Leaked keys: what each organization does with a key reported leaked, and on the key, that it
//! was (when, by whom, where it was found), for the banner on its page.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    LeakPolicy,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    LeakedAt,
    LeakReportedBy,
    LeakUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let policy = ColumnDef::new(Organizations::LeakPolicy).string_len(16).not_null().default("disable").to_owned();
        manager.alter_table(Table::alter().table(Organizations::Table).add_column(policy).to_owned()).await?;
        // One column per statement: SQLite adds them one at a time.
        let columns = [
            ColumnDef::new(ApiKeys::LeakedAt).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(ApiKeys::LeakReportedBy).string_len(200).null().to_owned(),
            ColumnDef::new(ApiKeys::LeakUrl).string_len(500).null().to_owned(),
        ];
        for column in columns {
            manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ApiKeys::LeakUrl, ApiKeys::LeakReportedBy, ApiKeys::LeakedAt] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(column).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::LeakPolicy).to_owned())
            .await
    }
}
