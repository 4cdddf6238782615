//! The key lifecycle: create, list, revoke. Every query is scoped by the member's organization.

use super::Member;
use crate::model::token::KeyToken;
use crate::model::{ApiKey, CreatedKey, FieldError, KeyName, KeyStatus, NewKey};
use crate::ssr::entities::{api_key, organization, project, user};
use crate::ssr::{ServiceError, crypto};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Creates a key and returns its token, which is not kept anywhere but in the answer.
///
/// The organization's row is updated first, inside the transaction: that serialises concurrent
/// creates in one organization (a row lock on PostgreSQL, the write lock on SQLite), so the plan
/// limit holds however many arrive at once.
pub async fn create(db: &DatabaseConnection, member: &Member, input: NewKey) -> Result<CreatedKey, ServiceError> {
    if !member.role.manages_keys() {
        return Err(ServiceError::Forbidden);
    }
    let name = KeyName::parse(&input.name)?;
    let description = input.validated_description()?;
    let token = KeyToken::generate(input.environment).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let now = Utc::now();

    let txn = db.begin().await?;
    organization::Entity::update_many()
        .col_expr(
            organization::Column::KeysCreatedTotal,
            Expr::col(organization::Column::KeysCreatedTotal).add(1),
        )
        .filter(organization::Column::Id.eq(member.organization_id))
        .exec(&txn)
        .await?;
    let org = organization::Entity::find_by_id(member.organization_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("organization"))?;
    let project = project::Entity::find_by_id(input.project_id)
        .filter(project::Column::OrganizationId.eq(member.organization_id))
        .one(&txn)
        .await?
        .ok_or_else(|| FieldError::new("project", "does not exist in this organization"))?;
    let live_keys = count_live_keys(&txn, org.id).await?;
    if !org.plan.allows_another(live_keys) {
        // Dropping the transaction rolls the counter back.
        return Err(ServiceError::PlanLimitReached { plan: org.plan, limit: org.plan.max_keys().unwrap_or(0) });
    }
    let key = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        project_id: Set(project.id),
        environment: Set(input.environment),
        name: Set(name.into_inner()),
        description: Set(description),
        prefix: Set(token.visible_prefix()),
        preview: Set(token.masked()),
        digest: Set(crypto::digest(token.expose_secret())),
        status: Set(KeyStatus::Active),
        expires_at: Set(None),
        created_by: Set(member.user_id),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    tracing::info!(key = %key.id, prefix = %key.prefix, organization = %org.id, "API key created");

    let view = to_view(key, project.name, member.user_name.clone());
    Ok(CreatedKey { key: view, token: token.expose_secret().to_owned() })
}

/// Keys that count against the plan: not revoked (deleted keys are gone from the table).
async fn count_live_keys(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<u64, ServiceError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .filter(api_key::Column::Status.ne(KeyStatus::Revoked))
        .count(db)
        .await?)
}

/// The organization's keys, newest first.
pub async fn list(db: &DatabaseConnection, member: &Member) -> Result<Vec<ApiKey>, ServiceError> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(member.organization_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?;
    let names = Names::load(db, member.organization_id, &keys).await?;
    Ok(keys.into_iter().map(|k| names.view(k)).collect())
}

/// Revokes a key: permanent, immediate, and the key stays listed with its history.
pub async fn revoke(db: &DatabaseConnection, member: &Member, key_id: Uuid) -> Result<ApiKey, ServiceError> {
    if !member.role.manages_keys() {
        return Err(ServiceError::Forbidden);
    }
    let txn = db.begin().await?;
    let key = api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::OrganizationId.eq(member.organization_id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("API key"))?;
    if !key.status.can_revoke() {
        return Err(ServiceError::Conflict("This key is already revoked.".into()));
    }
    let mut active = key.into_active_model();
    active.status = Set(KeyStatus::Revoked);
    active.revoked_at = Set(Some(Utc::now()));
    let key = active.update(&txn).await?;
    txn.commit().await?;
    tracing::info!(key = %key.id, prefix = %key.prefix, "API key revoked");

    let names = Names::load(db, member.organization_id, std::slice::from_ref(&key)).await?;
    Ok(names.view(key))
}

/// Project and creator names for a page of keys, in two queries rather than two per key.
struct Names {
    projects: HashMap<Uuid, String>,
    users: HashMap<Uuid, String>,
}

impl Names {
    async fn load(db: &impl ConnectionTrait, organization_id: Uuid, keys: &[api_key::Model]) -> Result<Self, ServiceError> {
        let project_ids: Vec<Uuid> = keys.iter().map(|k| k.project_id).collect();
        let user_ids: Vec<Uuid> = keys.iter().map(|k| k.created_by).collect();
        let projects = project::Entity::find()
            .filter(project::Column::OrganizationId.eq(organization_id))
            .filter(project::Column::Id.is_in(project_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let users =
            user::Entity::find().filter(user::Column::Id.is_in(user_ids)).all(db).await?.into_iter().map(|u| (u.id, u.name)).collect();
        Ok(Self { projects, users })
    }

    fn view(&self, key: api_key::Model) -> ApiKey {
        let project = self.projects.get(&key.project_id).cloned().unwrap_or_default();
        let creator = self.users.get(&key.created_by).cloned().unwrap_or_else(|| "Unknown".to_owned());
        to_view(key, project, creator)
    }
}

fn to_view(key: api_key::Model, project_name: String, created_by: String) -> ApiKey {
    ApiKey {
        status: KeyStatus::effective(key.status, key.expires_at, Utc::now()),
        id: key.id,
        name: key.name,
        description: key.description,
        prefix: key.prefix,
        preview: key.preview,
        project_id: key.project_id,
        project_name,
        environment: key.environment,
        created_by,
        created_at: key.created_at,
        expires_at: key.expires_at,
        last_used_at: key.last_used_at,
    }
}
