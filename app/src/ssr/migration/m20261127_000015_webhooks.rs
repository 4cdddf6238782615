//! Webhooks: the endpoints an organization registers, and the outbox of deliveries, written in the
//! same transaction as the change that raised them and sent by a background worker.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganizationId,
    Url,
    Events,
    Enabled,
    SecretVersion,
    PreviousSecretUntil,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    EndpointId,
    Event,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    ResponseStatus,
    LastError,
    CreatedAt,
    DeliveredAt,
}

/// The fingerprint of the server's secret key the database was first used with (one row), so
/// that an instance started with another key refuses to start.
#[derive(DeriveIden)]
enum ServerSecretFingerprint {
    Table,
    Id,
    Fingerprint,
    CreatedAt,
}

/// What the worker looks for: pending deliveries that are due.
const DUE: &str = "idx_webhook_deliveries_status_next";
/// An endpoint's page: its deliveries, newest first.
const BY_ENDPOINT: &str = "idx_webhook_deliveries_endpoint_created";
const ENDPOINTS_BY_ORGANIZATION: &str = "idx_webhook_endpoints_organization";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServerSecretFingerprint::Table)
                    .col(ColumnDef::new(ServerSecretFingerprint::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(ServerSecretFingerprint::Fingerprint).string_len(64).not_null())
                    .col(ColumnDef::new(ServerSecretFingerprint::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(ColumnDef::new(WebhookEndpoints::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(WebhookEndpoints::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::Url).text().not_null())
                    // Event names, space-separated.
                    .col(ColumnDef::new(WebhookEndpoints::Events).text().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::Enabled).boolean().not_null())
                    // The secret is derived from the server's secret key and this number, never stored.
                    .col(ColumnDef::new(WebhookEndpoints::SecretVersion).integer().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::PreviousSecretUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(WebhookEndpoints::CreatedBy).uuid().not_null())
                    .col(ColumnDef::new(WebhookEndpoints::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_endpoints_organization")
                            .from(WebhookEndpoints::Table, WebhookEndpoints::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ENDPOINTS_BY_ORGANIZATION)
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::OrganizationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(ColumnDef::new(WebhookDeliveries::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(WebhookDeliveries::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::EndpointId).uuid().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Event).string_len(64).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Payload).text().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Status).string_len(16).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Attempts).integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::NextAttemptAt).timestamp_with_time_zone().null())
                    // Taken by a worker until then: another instance leaves it alone.
                    .col(ColumnDef::new(WebhookDeliveries::LockedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(WebhookDeliveries::ResponseStatus).integer().null())
                    .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                    .col(ColumnDef::new(WebhookDeliveries::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::DeliveredAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_endpoint")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (DUE, vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt]),
            (BY_ENDPOINT, vec![WebhookDeliveries::EndpointId, WebhookDeliveries::CreatedAt]),
        ] {
            let mut index = Index::create().name(name).table(WebhookDeliveries::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ServerSecretFingerprint::Table).to_owned()).await
    }
}
