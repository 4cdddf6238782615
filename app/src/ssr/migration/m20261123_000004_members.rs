//! Members: invitations by one-time link, suspended members, and when each member was last active.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    Email,
    Role,
    TokenDigest,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    SuspendedAt,
    LastActiveAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(pk_uuid(Invitations::Id))
                    .col(uuid(Invitations::OrganizationId))
                    .col(string_len(Invitations::Email, 254))
                    .col(string_len(Invitations::Role, 16))
                    // SHA-256 of the link's token: the link itself is shown once and never stored.
                    .col(string_len_uniq(Invitations::TokenDigest, 64))
                    .col(uuid(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_organization")
                            .from(Invitations::Table, Invitations::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitations_organization")
                    .table(Invitations::Table)
                    .col(Invitations::OrganizationId)
                    .col(Invitations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // SQLite alters one column per statement.
        for column in [
            timestamp_with_time_zone_null(Memberships::SuspendedAt).to_owned(),
            timestamp_with_time_zone_null(Memberships::LastActiveAt).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Memberships::Table).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Memberships::SuspendedAt, Memberships::LastActiveAt] {
            manager.alter_table(Table::alter().table(Memberships::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(Invitations::Table).to_owned()).await
    }
}
