//! Scopes, rate limits, rotation (with a grace period and a history), usage counters, and the
//! indexes the paginated, searchable keys table needs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Environment,
    Status,
    ExpiresAt,
    Name,
    Prefix,
    LastUsedAt,
    Scopes,
    RateLimitRequests,
    RateLimitWindow,
    PreviousDigest,
    PreviousValidUntil,
}

#[derive(DeriveIden)]
enum KeyRotations {
    Table,
    Id,
    KeyId,
    RotatedBy,
    OldPrefix,
    NewPrefix,
    GraceUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KeyUsage {
    Table,
    KeyId,
    OrganizationId,
    Hour,
    Valid,
    Denied,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            text(ApiKeys::Scopes).default("").to_owned(),
            integer_null(ApiKeys::RateLimitRequests).to_owned(),
            string_len_null(ApiKeys::RateLimitWindow, 16).to_owned(),
            string_len_null(ApiKeys::PreviousDigest, 64).to_owned(),
            timestamp_with_time_zone_null(ApiKeys::PreviousValidUntil).to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ux_api_keys_previous_digest")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::PreviousDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_api_keys_organization_name", ApiKeys::Name),
            ("ix_api_keys_organization_prefix", ApiKeys::Prefix),
            ("ix_api_keys_organization_last_used", ApiKeys::LastUsedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ApiKeys::Table)
                        .col(ApiKeys::OrganizationId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        // Status and environment filters, and the active/live counts above the table, read these
        // indexes instead of the rows.
        manager
            .create_index(
                Index::create()
                    .name("ix_api_keys_organization_status")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrganizationId)
                    .col(ApiKeys::Status)
                    .col(ApiKeys::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_keys_organization_environment")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrganizationId)
                    .col(ApiKeys::Environment)
                    .col(ApiKeys::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KeyRotations::Table)
                    .col(pk_uuid(KeyRotations::Id))
                    .col(uuid(KeyRotations::KeyId))
                    .col(uuid(KeyRotations::RotatedBy))
                    .col(string_len(KeyRotations::OldPrefix, 32))
                    .col(string_len(KeyRotations::NewPrefix, 32))
                    .col(timestamp_with_time_zone_null(KeyRotations::GraceUntil))
                    .col(timestamp_with_time_zone(KeyRotations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_rotations_key")
                            .from(KeyRotations::Table, KeyRotations::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_rotations_user")
                            .from(KeyRotations::Table, KeyRotations::RotatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_key_rotations_key")
                    .table(KeyRotations::Table)
                    .col(KeyRotations::KeyId)
                    .col(KeyRotations::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // Verifications per key and hour, written in batches from the in-memory counters.
        manager
            .create_table(
                Table::create()
                    .table(KeyUsage::Table)
                    .col(uuid(KeyUsage::KeyId))
                    .col(uuid(KeyUsage::OrganizationId))
                    .col(timestamp_with_time_zone(KeyUsage::Hour))
                    .col(big_integer(KeyUsage::Valid).default(0))
                    .col(big_integer(KeyUsage::Denied).default(0))
                    .primary_key(Index::create().col(KeyUsage::KeyId).col(KeyUsage::Hour))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_usage_key")
                            .from(KeyUsage::Table, KeyUsage::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_key_usage_organization_hour")
                    .table(KeyUsage::Table)
                    .col(KeyUsage::OrganizationId)
                    .col(KeyUsage::Hour)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KeyUsage::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(KeyRotations::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ux_api_keys_previous_digest").table(ApiKeys::Table).to_owned()).await?;
        for name in [
            "ix_api_keys_organization_name",
            "ix_api_keys_organization_prefix",
            "ix_api_keys_organization_last_used",
            "ix_api_keys_organization_status",
            "ix_api_keys_organization_environment",
        ] {
            manager.drop_index(Index::drop().name(name).table(ApiKeys::Table).to_owned()).await?;
        }
        for column in [
            ApiKeys::Scopes,
            ApiKeys::RateLimitRequests,
            ApiKeys::RateLimitWindow,
            ApiKeys::PreviousDigest,
            ApiKeys::PreviousValidUntil,
        ] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
