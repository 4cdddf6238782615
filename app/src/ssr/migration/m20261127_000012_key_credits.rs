//! Credits: how many successful verifications a key has left (`NULL`: unlimited), and its refill
//! (an amount, `daily` or `monthly` on a day), with the moment of the last refill, which the
//! verification that spends credits compares with the refill's latest moment.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    CreditsRemaining,
    CreditsRefillAmount,
    CreditsRefillPeriod,
    CreditsRefillDay,
    CreditsRefilledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in [
            ColumnDef::new(ApiKeys::CreditsRemaining).big_integer().null().to_owned(),
            ColumnDef::new(ApiKeys::CreditsRefillAmount).big_integer().null().to_owned(),
            ColumnDef::new(ApiKeys::CreditsRefillPeriod).string_len(16).null().to_owned(),
            ColumnDef::new(ApiKeys::CreditsRefillDay).small_integer().null().to_owned(),
            ColumnDef::new(ApiKeys::CreditsRefilledAt).timestamp_with_time_zone().null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ApiKeys::CreditsRefilledAt,
            ApiKeys::CreditsRefillDay,
            ApiKeys::CreditsRefillPeriod,
            ApiKeys::CreditsRefillAmount,
            ApiKeys::CreditsRemaining,
        ] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
