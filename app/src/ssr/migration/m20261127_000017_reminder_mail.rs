//! Expiry reminders by email, where an operator has SMTP: each notice row also records when its
//! email went to the key's creator, and which instance is sending it (a claim that lapses, so a
//! crash mid-send delays the email rather than losing it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KeyExpiryNotices {
    Table,
    EmailedAt,
    EmailClaimedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds them one at a time.
        for column in [KeyExpiryNotices::EmailedAt, KeyExpiryNotices::EmailClaimedAt] {
            let column = ColumnDef::new(column).timestamp_with_time_zone().null().to_owned();
            manager.alter_table(Table::alter().table(KeyExpiryNotices::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [KeyExpiryNotices::EmailClaimedAt, KeyExpiryNotices::EmailedAt] {
            manager.alter_table(Table::alter().table(KeyExpiryNotices::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
