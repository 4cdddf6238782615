//! Sessions a person can recognise in their list: where and with what they signed in, when last seen.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    UserId,
    Ip,
    UserAgent,
    LastSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for column in [
            string_len_null(Sessions::Ip, 45).to_owned(),
            string_len_null(Sessions::UserAgent, 256).to_owned(),
            timestamp_with_time_zone_null(Sessions::LastSeenAt).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Sessions::Table).add_column(column).to_owned()).await?;
        }
        // A person's sessions are listed, and all ended at once, by user.
        manager
            .create_index(
                Index::create().name("ix_sessions_user").table(Sessions::Table).col(Sessions::UserId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_sessions_user").table(Sessions::Table).to_owned()).await?;
        for column in [Sessions::Ip, Sessions::UserAgent, Sessions::LastSeenAt] {
            manager.alter_table(Table::alter().table(Sessions::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
