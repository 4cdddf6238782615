//! Projects: create, rename, archive and restore, and the custom scopes each one defines. Owners
//! and admins (`settings.manage`) change them, and keys holding `projects.manage`; every member sees them. Each change is audited in
//! its own transaction.

use super::Actor;
use super::audit::{self, Change};
use super::organizations;
use crate::model::{
    AuditAction, CustomScope, FieldError, KeyStatus, ManagementScope, Permission, Project, ProjectOverview, ScopeSet,
    project_name,
};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, project, project_scope};
use crate::ssr::invalidation::{self, Stale};
use crate::ssr::{Core, ServiceError};
use chrono::Utc;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The projects keys can be created in (not archived), oldest first so that "Default" leads, each
/// with its custom scopes.
pub async fn list(db: &DatabaseConnection, actor: &dyn Actor) -> Result<Vec<Project>, ServiceError> {
    actor.require(ManagementScope::ProjectsRead)?;
    let rows = project::Entity::find()
        .filter(project::Column::OrganizationId.eq(actor.organization_id()))
        .apply_if(actor.reach().project, |q, id| q.filter(project::Column::Id.eq(id)))
        .filter(project::Column::ArchivedAt.is_null())
        .order_by_asc(project::Column::CreatedAt)
        .all(db)
        .await?;
    let mut scopes = scopes_of(db, rows.iter().map(|p| p.id)).await?;
    Ok(rows
        .into_iter()
        .map(|p| Project { scopes: scopes.remove(&p.id).unwrap_or_default(), id: p.id, name: p.name })
        .collect())
}

/// Every project of the organization, archived ones last, with its live keys and custom scopes.
pub async fn overview(db: &DatabaseConnection, actor: &dyn Actor) -> Result<Vec<ProjectOverview>, ServiceError> {
    actor.require(ManagementScope::ProjectsRead)?;
    let rows = project::Entity::find()
        .filter(project::Column::OrganizationId.eq(actor.organization_id()))
        .apply_if(actor.reach().project, |q, id| q.filter(project::Column::Id.eq(id)))
        .order_by_asc(project::Column::CreatedAt)
        .all(db)
        .await?;
    let live: HashMap<Uuid, i64> = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::ProjectId)
        .column_as(Expr::from(Func::count(Expr::col(api_key::Column::Id))), "live")
        .filter(api_key::Column::OrganizationId.eq(actor.organization_id()))
        .filter(api_key::Column::Status.ne(KeyStatus::Revoked))
        .group_by(api_key::Column::ProjectId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut scopes = scopes_of(db, rows.iter().map(|p| p.id)).await?;
    let mut projects: Vec<ProjectOverview> = rows
        .into_iter()
        .map(|p| ProjectOverview {
            live_keys: live.get(&p.id).map_or(0, |n| u64::try_from(*n).unwrap_or(0)),
            scopes: scopes.remove(&p.id).unwrap_or_default(),
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            archived_at: p.archived_at,
        })
        .collect();
    projects.sort_by_key(|p| p.archived_at.is_some());
    Ok(projects)
}

/// One project as its page shows it, for an actor that may see projects or change them (the
/// answer to a change made through the API).
pub async fn one(
    db: &DatabaseConnection,
    actor: &dyn Actor,
    project_id: Uuid,
) -> Result<ProjectOverview, ServiceError> {
    actor.require(ManagementScope::ProjectsRead).or_else(|_| actor.require(ManagementScope::ProjectsManage))?;
    let row = find(db, actor, project_id).await?;
    let live = api_key::Entity::find()
        .filter(api_key::Column::ProjectId.eq(row.id))
        .filter(api_key::Column::Status.ne(KeyStatus::Revoked))
        .count(db)
        .await?;
    let mut scopes = scopes_of(db, [row.id]).await?;
    Ok(ProjectOverview {
        live_keys: live,
        scopes: scopes.remove(&row.id).unwrap_or_default(),
        id: row.id,
        name: row.name,
        created_at: row.created_at,
        archived_at: row.archived_at,
    })
}

pub(crate) async fn scopes_of(
    db: &impl ConnectionTrait,
    projects: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Vec<CustomScope>>, ServiceError> {
    let mut by_project: HashMap<Uuid, Vec<CustomScope>> = HashMap::new();
    let rows = project_scope::Entity::find()
        .filter(project_scope::Column::ProjectId.is_in(projects))
        .order_by_asc(project_scope::Column::Name)
        .all(db)
        .await?;
    for row in rows {
        by_project
            .entry(row.project_id)
            .or_default()
            .push(CustomScope { name: row.name, description: row.description });
    }
    Ok(by_project)
}

/// A new project. Names are unique in an organization (ignoring case).
pub async fn create(db: &DatabaseConnection, actor: &dyn Actor, name: &str) -> Result<Project, ServiceError> {
    actor.require(ManagementScope::ProjectsManage)?;
    // A key bound to its own project makes no others.
    if actor.reach().project.is_some() {
        actor.require(ManagementScope::ApiKeysManageAll)?;
    }
    let name = project_name(name)?;
    let txn = begin_write(db).await?;
    organizations::permits_now(&txn, actor, Permission::SettingsManage).await?;
    ensure_unused(&txn, actor.organization_id(), &name, None).await?;
    let row = project::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(actor.organization_id()),
        name: Set(name),
        created_at: Set(Utc::now()),
        archived_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, actor, Change::new(AuditAction::ProjectCreated, "project", row.id, row.name.clone())).await?;
    txn.commit().await?;
    Ok(Project { id: row.id, name: row.name, scopes: Vec::new() })
}

/// Renames a project. Verifications answer with project names, so the key cache forgets them.
pub async fn rename(core: &Core, actor: &dyn Actor, project_id: Uuid, name: &str) -> Result<(), ServiceError> {
    actor.require(ManagementScope::ProjectsManage)?;
    let name = project_name(name)?;
    let txn = begin_write(&core.db).await?;
    organizations::permits_now(&txn, actor, Permission::SettingsManage).await?;
    let row = find(&txn, actor, project_id).await?;
    ensure_unused(&txn, actor.organization_id(), &name, Some(row.id)).await?;
    let was = row.name.clone();
    let mut active = row.into_active_model();
    active.name = Set(name.clone());
    active.update(&txn).await?;
    let change = Change::new(AuditAction::ProjectRenamed, "project", project_id, name.clone())
        .from_to(json!({ "name": was }), json!({ "name": name }));
    audit::record(&txn, actor, change).await?;
    invalidation::announce(&txn, Stale::Everything).await?;
    txn.commit().await?;
    core.cache.clear();
    core.stats.forget(actor.organization_id());
    Ok(())
}

/// Archives a project (no new keys in it; its keys work until revoked) or restores it. The last
/// active project stays: keys need somewhere to be created.
pub async fn set_archived(
    db: &DatabaseConnection,
    actor: &dyn Actor,
    project_id: Uuid,
    archived: bool,
) -> Result<(), ServiceError> {
    actor.require(ManagementScope::ProjectsManage)?;
    let txn = begin_write(db).await?;
    organizations::permits_now(&txn, actor, Permission::SettingsManage).await?;
    let row = find(&txn, actor, project_id).await?;
    if row.archived_at.is_some() == archived {
        let state = if archived { "already archived" } else { "not archived" };
        return Err(ServiceError::Conflict(format!("{} is {state}.", row.name)));
    }
    if archived {
        let active = project::Entity::find()
            .filter(project::Column::OrganizationId.eq(actor.organization_id()))
            .filter(project::Column::ArchivedAt.is_null())
            .count(&txn)
            .await?;
        if active <= 1 {
            return Err(ServiceError::Conflict("An organization keeps at least one active project.".into()));
        }
    }
    let name = row.name.clone();
    let mut active = row.into_active_model();
    active.archived_at = Set(archived.then(Utc::now));
    active.update(&txn).await?;
    let action = if archived { AuditAction::ProjectArchived } else { AuditAction::ProjectRestored };
    audit::record(&txn, actor, Change::new(action, "project", project_id, name)).await?;
    txn.commit().await?;
    Ok(())
}

/// Defines a custom scope in a project, or updates its description.
pub async fn define_scope(
    db: &DatabaseConnection,
    actor: &dyn Actor,
    project_id: Uuid,
    name: &str,
    description: &str,
) -> Result<CustomScope, ServiceError> {
    actor.require(ManagementScope::ProjectsManage)?;
    let scope = CustomScope::define(name, description)?;
    let txn = begin_write(db).await?;
    organizations::permits_now(&txn, actor, Permission::SettingsManage).await?;
    let row = find(&txn, actor, project_id).await?;
    let existing = project_scope::Entity::find()
        .filter(project_scope::Column::ProjectId.eq(row.id))
        .filter(project_scope::Column::Name.eq(&scope.name))
        .one(&txn)
        .await?;
    let before = existing.as_ref().map(|e| json!({ "description": e.description }));
    match existing {
        Some(existing) => {
            let mut active = existing.into_active_model();
            active.description = Set(scope.description.clone());
            active.update(&txn).await?;
        }
        None => insert_scope(&txn, row.id, &scope).await?,
    }
    let target = format!("{} in {}", scope.name, row.name);
    let after = json!({ "description": scope.description });
    let change = Change::new(AuditAction::ProjectScopeDefined, "project", row.id, target);
    let change = match before {
        Some(before) => change.from_to(before, after),
        None => change.with_after(after),
    };
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(scope)
}

/// Removes a custom scope from a project's list. Keys that hold it keep it (narrowing a key is a
/// change to that key, made on the key).
pub async fn remove_scope(
    db: &DatabaseConnection,
    actor: &dyn Actor,
    project_id: Uuid,
    name: &str,
) -> Result<(), ServiceError> {
    actor.require(ManagementScope::ProjectsManage)?;
    let txn = begin_write(db).await?;
    organizations::permits_now(&txn, actor, Permission::SettingsManage).await?;
    let row = find(&txn, actor, project_id).await?;
    let removed = project_scope::Entity::delete_many()
        .filter(project_scope::Column::ProjectId.eq(row.id))
        .filter(project_scope::Column::Name.eq(name.trim()))
        .exec(&txn)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ServiceError::NotFound("scope"));
    }
    let target = format!("{} in {}", name.trim(), row.name);
    audit::record(&txn, actor, Change::new(AuditAction::ProjectScopeRemoved, "project", row.id, target)).await?;
    txn.commit().await?;
    Ok(())
}

/// A key's custom scopes join its project's list as they are first used, so the pickers offer
/// them next time. Part of the key change's transaction.
pub(crate) async fn remember_scopes(
    txn: &DatabaseTransaction,
    project_id: Uuid,
    scopes: &ScopeSet,
) -> Result<(), ServiceError> {
    let custom: Vec<&str> =
        scopes.iter().map(|s| s.as_str()).filter(|s| ManagementScope::from_name(s).is_none()).collect();
    if custom.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = project_scope::Entity::find()
        .select_only()
        .column(project_scope::Column::Name)
        .filter(project_scope::Column::ProjectId.eq(project_id))
        .filter(project_scope::Column::Name.is_in(custom.iter().copied()))
        .into_tuple()
        .all(txn)
        .await?;
    for name in custom.into_iter().filter(|c| !known.iter().any(|k| k == c)) {
        insert_scope(txn, project_id, &CustomScope { name: name.to_owned(), description: String::new() }).await?;
    }
    Ok(())
}

/// Adds a scope to the project's list. Two changes that add the same new scope at once both
/// succeed: the second finds it there (`ON CONFLICT DO NOTHING` on the project and name).
async fn insert_scope(db: &impl ConnectionTrait, project_id: Uuid, scope: &CustomScope) -> Result<(), ServiceError> {
    use sea_orm::sea_query::OnConflict;
    let row = project_scope::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(project_id),
        name: Set(scope.name.clone()),
        description: Set(scope.description.clone()),
        created_at: Set(Utc::now()),
    };
    project_scope::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([project_scope::Column::ProjectId, project_scope::Column::Name])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A project of the actor's organization within its reach (a key's own project, unless it holds
/// `api_keys.manage_all`); any other is not found.
async fn find(db: &impl ConnectionTrait, actor: &dyn Actor, project_id: Uuid) -> Result<project::Model, ServiceError> {
    if actor.reach().project.is_some_and(|own| own != project_id) {
        return Err(ServiceError::NotFound("project"));
    }
    project::Entity::find_by_id(project_id)
        .filter(project::Column::OrganizationId.eq(actor.organization_id()))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("project"))
}

async fn ensure_unused(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let names = project::Entity::find().filter(project::Column::OrganizationId.eq(organization_id)).all(db).await?;
    let taken = names.iter().any(|p| Some(p.id) != except && p.name.to_lowercase() == name.to_lowercase());
    if taken { Err(FieldError::new("name", "is already used by another project").into()) } else { Ok(()) }
}
