//! Projects that can be archived, and the custom scopes each project defines for its own API.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    ArchivedAt,
}

#[derive(DeriveIden)]
enum ProjectScopes {
    Table,
    Id,
    ProjectId,
    Name,
    Description,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Projects::Table)
                    .add_column(timestamp_with_time_zone_null(Projects::ArchivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProjectScopes::Table)
                    .col(pk_uuid(ProjectScopes::Id))
                    .col(uuid(ProjectScopes::ProjectId))
                    // resource.action: two parts of at most 32 characters and the dot.
                    .col(string_len(ProjectScopes::Name, 65))
                    .col(string_len(ProjectScopes::Description, 200))
                    .col(timestamp_with_time_zone(ProjectScopes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_project_scopes_project")
                            .from(ProjectScopes::Table, ProjectScopes::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One definition per name in a project; also the index the pickers read by.
        manager
            .create_index(
                Index::create()
                    .name("ux_project_scopes_project_name")
                    .table(ProjectScopes::Table)
                    .col(ProjectScopes::ProjectId)
                    .col(ProjectScopes::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ProjectScopes::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Projects::Table).drop_column(Projects::ArchivedAt).to_owned()).await
    }
}
