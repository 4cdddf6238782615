//! The installation's one row: first-run setup inserts it, so that of several setups racing (two
//! browsers, two instances) exactly one commits.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Installation {
    Table,
    Id,
    SetUpAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Installation::Table)
                    .col(integer(Installation::Id).primary_key())
                    .col(timestamp_with_time_zone(Installation::SetUpAt))
                    .to_owned(),
            )
            .await?;
        // An installation that is already set up keeps being so.
        let set_up = Query::select()
            .expr(Expr::val(1))
            .expr(Expr::current_timestamp())
            .from(Organizations::Table)
            .limit(1)
            .to_owned();
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Installation::Table)
                    .columns([Installation::Id, Installation::SetUpAt])
                    .select_from(set_up)
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Installation::Table).to_owned()).await
    }
}
