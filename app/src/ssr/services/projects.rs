use super::Member;
use crate::model::Project;
use crate::ssr::ServiceError;
use crate::ssr::entities::project;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

/// The member's organization's projects, oldest first (so "Default" leads).
pub async fn list(db: &DatabaseConnection, member: &Member) -> Result<Vec<Project>, ServiceError> {
    Ok(project::Entity::find()
        .filter(project::Column::OrganizationId.eq(member.organization_id))
        .order_by_asc(project::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|p| Project { id: p.id, name: p.name })
        .collect())
}
