//! The audit log: one row per change, appended in the change's own transaction.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OrganizationId,
    ActorUserId,
    ActorKeyId,
    ActorName,
    Action,
    TargetKind,
    TargetId,
    TargetName,
    Before,
    After,
    Ip,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys to users or keys: an entry outlives a deleted key, and says who acted
        // in its own words (actor_name, target_name) as they were at the time.
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(uuid(AuditEvents::OrganizationId))
                    .col(uuid_null(AuditEvents::ActorUserId))
                    .col(uuid_null(AuditEvents::ActorKeyId))
                    .col(string_len(AuditEvents::ActorName, 200))
                    .col(string_len(AuditEvents::Action, 48))
                    .col(string_len(AuditEvents::TargetKind, 24))
                    .col(uuid_null(AuditEvents::TargetId))
                    .col(string_len(AuditEvents::TargetName, 200))
                    .col(text_null(AuditEvents::Before))
                    .col(text_null(AuditEvents::After))
                    .col(string_len_null(AuditEvents::Ip, 64))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_events_organization")
                            .from(AuditEvents::Table, AuditEvents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The page's newest-first listing and each of its filters.
        for (name, column) in [
            ("ix_audit_events_organization_created", None),
            ("ix_audit_events_organization_action", Some(AuditEvents::Action)),
            ("ix_audit_events_organization_actor", Some(AuditEvents::ActorUserId)),
            ("ix_audit_events_organization_target", Some(AuditEvents::TargetId)),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table).col(AuditEvents::OrganizationId);
            if let Some(column) = column {
                index.col(column);
            }
            manager.create_index(index.col(AuditEvents::CreatedAt).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}
