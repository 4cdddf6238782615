use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Plan,
    KeysCreatedTotal,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrganizationId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenDigest,
    UserId,
    OrganizationId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    OrganizationId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    ProjectId,
    Environment,
    Name,
    Description,
    Prefix,
    Preview,
    Digest,
    Status,
    ExpiresAt,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(on_delete).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(string_len(Organizations::Name, 80))
                    .col(string_len(Organizations::Plan, 16))
                    .col(big_integer(Organizations::KeysCreatedTotal).default(0))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len_uniq(Users::Email, 254))
                    .col(string_len(Users::Name, 80))
                    .col(string(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::OrganizationId))
                    .col(uuid(Memberships::UserId))
                    .col(string_len(Memberships::Role, 16))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_organization",
                        (Memberships::Table, Memberships::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_user",
                        (Memberships::Table, Memberships::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_memberships_organization_user")
                    .table(Memberships::Table)
                    .col(Memberships::OrganizationId)
                    .col(Memberships::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(string_len_uniq(Sessions::TokenDigest, 64))
                    .col(uuid(Sessions::UserId))
                    .col(uuid(Sessions::OrganizationId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(&mut fk(
                        "fk_sessions_user",
                        (Sessions::Table, Sessions::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_sessions_organization",
                        (Sessions::Table, Sessions::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(pk_uuid(Projects::Id))
                    .col(uuid(Projects::OrganizationId))
                    .col(string_len(Projects::Name, 80))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_projects_organization",
                        (Projects::Table, Projects::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_projects_organization_name")
                    .table(Projects::Table)
                    .col(Projects::OrganizationId)
                    .col(Projects::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::OrganizationId))
                    .col(uuid(ApiKeys::ProjectId))
                    .col(string_len(ApiKeys::Environment, 16))
                    .col(string_len(ApiKeys::Name, 64))
                    .col(text_null(ApiKeys::Description))
                    .col(string_len(ApiKeys::Prefix, 32))
                    .col(string_len(ApiKeys::Preview, 64))
                    .col(string_len_uniq(ApiKeys::Digest, 64))
                    .col(string_len(ApiKeys::Status, 16))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(uuid(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_keys_organization",
                        (ApiKeys::Table, ApiKeys::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_keys_project",
                        (ApiKeys::Table, ApiKeys::ProjectId),
                        (Projects::Table, Projects::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_keys_created_by",
                        (ApiKeys::Table, ApiKeys::CreatedBy),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        // The dashboard lists an organization's keys newest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_api_keys_organization_created")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrganizationId)
                    .col(ApiKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiKeys::Table.into_iden(),
            Projects::Table.into_iden(),
            Sessions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
