//! The key lifecycle: create, list, view, disable/enable, rotate, edit, revoke, delete, usage.
//! Every query is scoped by the actor's organization (and, for an API key, its project and
//! environment); every change runs in one transaction and is seen by the very next verification.

use super::audit::{self, Change};
use super::{Actor, Reach, organizations};
use crate::model::token::KeyToken;
use crate::model::{
    AllValid, ApiKey, AuditAction, BulkDisabled, CreatedKey, Credits, Environment, FieldError, HourlyUsage,
    KEY_META_MAX_BYTES, KeyCredits, KeyDetails, KeyEdit, KeyLeak, KeyName, KeyPage, KeyQuery, KeySort, KeyStats,
    KeyStatus, MAX_DECOY_KEYS, ManagementScope, NewKey, RateLimit, Refill, Revocation, RotatedKey, Rotation,
    RotationGrace, ScopeSet, UsageHistory, VerificationPage, VerificationRecord, VerifyCode, external_id, grouped,
    ip_allowlist, key_description, page_and_size,
};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{
    api_key, audit_event, key_rotation, key_usage, key_verification, organization, project, user,
};
use crate::ssr::invalidation::{self, Stale};
use crate::ssr::usage::{HOUR_MS, hour_start};
use crate::ssr::{Core, ServiceError, crypto};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, NullOrdering, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// Creates a key and returns its token, which is not kept anywhere but in the answer.
///
/// The organization's row is updated first, inside the transaction: that serialises concurrent
/// creates in one organization (a row lock on PostgreSQL, the write lock on SQLite), so the plan
/// limit holds however many arrive at once.
/// Whether `actor` may create keys at all. The dashboard's form asks it before reading the form,
/// so that a member who may not is refused as such, whatever was typed.
pub fn may_create(actor: &dyn Actor) -> Result<(), ServiceError> {
    actor.require(ManagementScope::ApiKeysCreate)
}

/// Whether `actor` may edit keys at all (which keys, the change itself decides).
pub fn may_edit(actor: &dyn Actor) -> Result<(), ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)
}

pub async fn create(core: &Core, actor: &dyn Actor, input: NewKey) -> Result<CreatedKey, ServiceError> {
    may_create(actor)?;
    within_reach(actor.reach(), Some(input.project_id), Some(input.environment))?;
    let now = Utc::now();
    let (name, description, scopes, expires_at, external_id, meta, networks) = (
        KeyName::parse(&input.name),
        input.validated_description(),
        ScopeSet::parse(input.scopes.iter().map(String::as_str)),
        input.expiration.expires_at(now),
        external_id(input.external_id.as_deref()),
        key_meta(input.meta.as_deref()),
        ip_allowlist(input.ip_allowlist.iter().map(String::as_str)),
    )
        .all_valid()?;
    actor.may_grant(&scopes)?;
    let token = KeyToken::generate(input.environment);

    let txn = begin_write(&core.db).await?;
    let org = organizations::lock(&txn, actor.organization_id()).await?;
    organizations::count_key_created(&txn, org.id).await?;
    let project = project::Entity::find_by_id(input.project_id)
        .filter(project::Column::OrganizationId.eq(org.id))
        .one(&txn)
        .await?
        .ok_or_else(|| FieldError::new("project_id", "does not exist in this organization"))?;
    if project.archived_at.is_some() {
        return Err(FieldError::new("project_id", "is archived: restore it to create keys in it").into());
    }
    if input.decoy {
        // Decoys are outside the plan's limit, and have one of their own.
        if super::decoys::count(&txn, org.id).await? >= MAX_DECOY_KEYS {
            return Err(ServiceError::Conflict(format!("An organization holds at most {MAX_DECOY_KEYS} decoy keys.")));
        }
    } else {
        let live_keys = organizations::count_live_keys(&txn, org.id).await?;
        if !org.plan.allows_another(live_keys) {
            // Dropping the transaction rolls the counter back.
            return Err(ServiceError::PlanLimitReached { plan: org.plan, limit: org.plan.max_keys().unwrap_or(0) });
        }
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
        expires_at: Set(expires_at),
        created_by: Set(actor.user_id()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        scopes: Set(store_scopes(&scopes)),
        rate_limit_requests: Set(input.rate_limit.map(|l| i32::try_from(l.requests).unwrap_or(i32::MAX))),
        rate_limit_window: Set(input.rate_limit.map(|l| l.window)),
        previous_digest: Set(None),
        previous_valid_until: Set(None),
        external_id: Set(external_id),
        meta: Set(meta),
        ip_allowlist: Set(store_networks(&networks)),
        leaked_at: Set(None),
        leak_reported_by: Set(None),
        leak_url: Set(None),
        decoy: Set(input.decoy),
        ..credit_columns(input.credits, now)
    }
    .insert(&txn)
    .await?;
    super::projects::remember_scopes(&txn, project.id, &scopes).await?;
    let change = Change::new(AuditAction::KeyCreated, "key", key.id, target_name(&key)).with_after(json!({
        "project": project.name,
        "environment": key.environment.as_str(),
        "scopes": key.scopes,
        "rate_limit": stored_rate_limit(&key).map(RateLimit::summary),
        "credits": stored_credits(&key).map(Credits::summary),
        "ip_allowlist": key.ip_allowlist,
        "expires_at": key.expires_at,
        "external_id": key.external_id,
        "meta": meta_in_words(key.meta.as_deref()),
    }));
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    core.stats.forget(org.id);
    tracing::info!(key = %key.id, prefix = %key.prefix, organization = %org.id, "API key created");

    let names = Names::load(&core.db, org.id, std::slice::from_ref(&key)).await?;
    Ok(CreatedKey { key: names.view(key, now), token: token.expose_secret().to_owned() })
}

/// One page of the organization's keys, searched, filtered and sorted in the database.
pub async fn list(core: &Core, actor: &dyn Actor, query: &KeyQuery) -> Result<KeyPage, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    query.validated()?;
    let reach = actor.reach();
    within_reach(Reach { project: None, ..reach }, None, query.environment)?;
    let db = &core.db;
    let now = Utc::now();
    let mut select =
        api_key::Entity::find().filter(filter(db.get_database_backend(), actor.organization_id(), reach, query, now));
    select = match query.sort {
        KeySort::Created => select.order_by_desc(api_key::Column::CreatedAt),
        KeySort::LastUsed => select.order_by_with_nulls(api_key::Column::LastUsedAt, Order::Desc, NullOrdering::Last),
        // Case-insensitive, so that SQLite and PostgreSQL agree.
        KeySort::Name => select.order_by(Func::lower(Expr::col(api_key::Column::Name)), Order::Asc),
    };
    let select = select.order_by_desc(api_key::Column::Id);
    // The count costs a pass over the matching keys, and is the same on every page and sort.
    let filters = KeyQuery {
        search: query.search.trim().to_lowercase(),
        project: query.project,
        environment: query.environment,
        status: query.status,
        hide_revoked: query.hide_revoked,
        external_id: query.external_id.clone(),
        ..KeyQuery::default()
    };
    // How long a key has gone unused changes with the clock: never kept.
    let remembered =
        if query.unused.is_some() { None } else { core.stats.total(actor.organization_id(), reach, &filters) };
    let total = match remembered {
        Some(total) => total,
        None if query.unused.is_some() => select.clone().count(db).await?,
        None => {
            let read_at = core.stats.generation();
            // Every key of the organization, as a member sees the list first: kept beside it.
            let whole_organization = reach == Reach::default() && filters == KeyQuery::default();
            let total = if whole_organization {
                organizations::keys_stored(db, actor.organization_id()).await?
            } else {
                select.clone().count(db).await?
            };
            core.stats.remember_total(actor.organization_id(), reach, filters, total, read_at);
            total
        }
    };
    let keys = select.offset(query.offset()).limit(u64::from(query.per_page)).all(db).await?;
    let names = Names::load(db, actor.organization_id(), &keys).await?;
    Ok(KeyPage {
        keys: keys.into_iter().map(|k| names.view(counting_reserves(core, k, now), now)).collect(),
        total,
        page: query.page,
        per_page: query.per_page,
    })
}

fn filter(backend: DbBackend, organization_id: Uuid, reach: Reach, query: &KeyQuery, now: DateTime<Utc>) -> Condition {
    let mut condition = reach_condition(organization_id, reach);
    let search = query.search.trim().to_lowercase();
    if !search.is_empty() {
        condition = condition.add(search_condition(backend, &search));
    }
    if let Some(project) = query.project {
        condition = condition.add(api_key::Column::ProjectId.eq(project));
    }
    if let Some(environment) = query.environment {
        condition = condition.add(api_key::Column::Environment.eq(environment));
    }
    if let Some(external_id) = &query.external_id {
        condition = condition.add(api_key::Column::ExternalId.eq(external_id.as_str()));
    }
    let not_expired =
        Condition::any().add(api_key::Column::ExpiresAt.is_null()).add(api_key::Column::ExpiresAt.gt(now));
    if let Some(status) = query.status {
        condition = condition.add(match status {
            KeyStatus::Revoked => Condition::all().add(api_key::Column::Status.eq(KeyStatus::Revoked)),
            KeyStatus::Expired => Condition::all()
                .add(api_key::Column::Status.ne(KeyStatus::Revoked))
                .add(api_key::Column::ExpiresAt.lte(now)),
            stored => Condition::all().add(api_key::Column::Status.eq(stored)).add(not_expired.clone()),
        });
    }
    if query.hide_revoked {
        condition = condition.add(api_key::Column::Status.ne(KeyStatus::Revoked));
    }
    if let Some(unused) = query.unused {
        // Stale keys are those worth disabling: active ones only.
        condition = condition.add(api_key::Column::Status.eq(KeyStatus::Active)).add(not_expired);
        condition = condition.add(match unused.unused_since(now) {
            None => Condition::all().add(api_key::Column::LastUsedAt.is_null()),
            Some(since) => Condition::any()
                .add(api_key::Column::LastUsedAt.lt(since))
                .add(api_key::Column::LastUsedAt.is_null().and(api_key::Column::CreatedAt.lt(since))),
        });
    }
    condition
}

/// Keys whose name contains `search`, or whose prefix starts with it (`search` is lower-case;
/// case-insensitive, wildcards literal), read from the indexes of the key-search migration.
fn search_condition(backend: DbBackend, search: &str) -> Condition {
    let lower = |column| Expr::expr(Func::lower(Expr::col(column)));
    // SQLite's trigram index needs three characters; a shorter search scans, as it must.
    if backend == DbBackend::Sqlite && search.chars().count() >= 3 {
        // An FTS5 phrase is literal, but for its quotes, which are doubled.
        let phrase = format!("\"{}\"", search.replace('"', "\"\""));
        let named = Query::select()
            .column(Alias::new("key_id"))
            .from(Alias::new("api_key_search"))
            .and_where(Expr::cust_with_values("api_key_search MATCH ?", [phrase]))
            .to_owned();
        // [search, search + the last code point): every string that starts with `search`.
        let after = format!("{search}{}", char::MAX);
        return Condition::any()
            .add(api_key::Column::Id.in_subquery(named))
            .add(lower(api_key::Column::Prefix).gte(search).and(lower(api_key::Column::Prefix).lt(after)));
    }
    // PostgreSQL's `pg_trgm` indexes serve these two as they are (and SQLite scans for them).
    let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Condition::any()
        .add(lower(api_key::Column::Name).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')))
        .add(lower(api_key::Column::Prefix).like(LikeExpr::new(format!("{escaped}%")).escape('\\')))
}

/// A key with its rotation history.
pub async fn details(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<KeyDetails, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let db = &core.db;
    let key = find_key(db, actor, key_id).await?;
    let rotations = key_rotation::Entity::find()
        .filter(key_rotation::Column::KeyId.eq(key.id))
        .order_by_desc(key_rotation::Column::CreatedAt)
        .all(db)
        .await?;
    let user_ids: Vec<Uuid> = rotations.iter().map(|r| r.rotated_by).collect();
    let users: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let rotations = rotations
        .into_iter()
        .map(|r| Rotation {
            old_prefix: r.old_prefix,
            new_prefix: r.new_prefix,
            rotated_by: users.get(&r.rotated_by).cloned().unwrap_or_else(|| "Unknown".to_owned()),
            rotated_at: r.created_at,
            grace_until: r.grace_until,
        })
        .collect();
    let revocation = match key.revoked_at {
        Some(at) => Some(revocation(db, actor.organization_id(), key.id, at).await?),
        None => None,
    };
    let names = Names::load(db, actor.organization_id(), std::slice::from_ref(&key)).await?;
    let now = Utc::now();
    let project_scopes = super::projects::scopes_of(db, [key.project_id]).await?.remove(&key.project_id);
    Ok(KeyDetails {
        key: names.view(counting_reserves(core, key, now), now),
        rotations,
        revocation,
        project_scopes: project_scopes.unwrap_or_default(),
    })
}

/// Who revoked the key, as the audit log recorded it (the key keeps only when).
async fn revocation(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    key_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Revocation, ServiceError> {
    let recorded = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(organization_id))
        .filter(audit_event::Column::TargetId.eq(key_id))
        .filter(audit_event::Column::Action.eq(AuditAction::KeyRevoked.as_str()))
        .order_by_desc(audit_event::Column::CreatedAt)
        .one(db)
        .await?;
    Ok(Revocation { by: recorded.map_or_else(|| "Unknown".to_owned(), |e| e.actor_name), at })
}

/// Revokes a key: permanent, immediate, and the key stays listed with its history.
pub async fn revoke(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysRevoke)?;
    let rule = Transition::status(AuditAction::KeyRevoked, KeyStatus::can_revoke, "This key is already revoked.");
    transition(core, actor, key_id, rule, |key, now| {
        key.status = Set(KeyStatus::Revoked);
        key.revoked_at = Set(Some(now));
        // A revoked key's replaced secret stops too.
        key.previous_digest = Set(None);
        key.previous_valid_until = Set(None);
    })
    .await
}

/// Disables an active key: reversible.
pub async fn disable(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let rule =
        Transition::status(AuditAction::KeyDisabled, KeyStatus::can_disable, "Only an active key can be disabled.");
    transition(core, actor, key_id, rule, |key, _| {
        key.status = Set(KeyStatus::Disabled);
    })
    .await
}

/// Disables several keys in one transaction, with one audit entry each. A key the actor cannot
/// reach, or may not change, refuses the whole request and nothing changes; a key that is not
/// active (revoked, expired, already disabled) is left as it is and reported.
pub async fn disable_many(core: &Core, actor: &dyn Actor, key_ids: &[Uuid]) -> Result<BulkDisabled, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let now = Utc::now();
    let txn = begin_write(&core.db).await?;
    let mut keys = api_key::Entity::find()
        .filter(api_key::Column::Id.is_in(key_ids.iter().copied()))
        .filter(reach_condition(actor.organization_id(), actor.reach()))
        .all(&txn)
        .await?;
    // Each id named must be a key within reach (an id named twice is one key).
    let named: std::collections::HashSet<&Uuid> = key_ids.iter().collect();
    if keys.len() != named.len() {
        return Err(ServiceError::NotFound("API key"));
    }
    for key in &keys {
        actor.may_change(key)?;
    }
    keys.sort_by_key(|key| key_ids.iter().position(|id| *id == key.id));
    let mut done = BulkDisabled::default();
    let mut stale = Vec::new();
    for key in keys {
        if !KeyStatus::effective(key.status, key.expires_at, now).can_disable() {
            done.skipped.push(key.id);
            continue;
        }
        stale.extend(digests(&key).map(str::to_owned));
        let mut active = key.into_active_model();
        active.status = Set(KeyStatus::Disabled);
        let key = active.update(&txn).await?;
        let change = Change::new(AuditAction::KeyDisabled, "key", key.id, target_name(&key))
            .from_to(json!({ "status": KeyStatus::Active.as_str() }), json!({ "status": key.status.as_str() }));
        audit::record(&txn, actor, change).await?;
        done.disabled.push(key.id);
    }
    let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
    if !stale.is_empty() {
        invalidation::announce(&txn, Stale::Digests(&stale)).await?;
    }
    txn.commit().await?;
    core.cache.forget(stale);
    core.stats.forget(actor.organization_id());
    tracing::info!(disabled = done.disabled.len(), skipped = done.skipped.len(), "API keys disabled in bulk");
    Ok(done)
}

/// Enables a disabled key. An expired key cannot be enabled: rotate it instead.
pub async fn enable(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let rule = Transition {
        // A key disabled because its secret leaked comes back only with a new secret.
        refused_for: |key| {
            key.leaked_at
                .is_some()
                .then_some("This key's secret was reported leaked: rotate the key first, then enable it.")
        },
        ..Transition::status(
            AuditAction::KeyEnabled,
            KeyStatus::can_enable,
            "Only a disabled key that has not expired can be enabled.",
        )
    };
    transition(core, actor, key_id, rule, |key, _| key.status = Set(KeyStatus::Active)).await
}

/// Replaces a key's scopes.
pub async fn update_scopes(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    scopes: &[String],
) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let scopes = ScopeSet::parse(scopes.iter().map(String::as_str))?;
    actor.may_grant(&scopes)?;
    let rule = Transition {
        action: AuditAction::KeyScopesChanged,
        allowed: KeyStatus::can_edit,
        refusal: "A revoked key cannot be changed.",
        aspect: |key| json!({ "scopes": key.scopes }),
        takes_over: true,
        refused_for: |_| None,
    };
    transition(core, actor, key_id, rule, move |key, _| key.scopes = Set(store_scopes(&scopes))).await
}

/// Sets or removes a key's rate limit.
pub async fn update_rate_limit(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    limit: Option<RateLimit>,
) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let rule = Transition {
        action: AuditAction::KeyRateLimitChanged,
        allowed: KeyStatus::can_edit,
        refusal: "A revoked key cannot be changed.",
        aspect: |key| json!({ "rate_limit": stored_rate_limit(key).map(RateLimit::summary) }),
        takes_over: false,
        refused_for: |_| None,
    };
    transition(core, actor, key_id, rule, move |key, _| {
        key.rate_limit_requests = Set(limit.map(|l| i32::try_from(l.requests).unwrap_or(i32::MAX)));
        key.rate_limit_window = Set(limit.map(|l| l.window));
    })
    .await
}

/// Sets a key's credits (and refill) anew, or removes the limit. Setting them counts as a refill:
/// the next one is at the refill's next moment.
pub async fn update_credits(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    credits: Option<Credits>,
) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let rule = Transition {
        action: AuditAction::KeyCreditsChanged,
        allowed: KeyStatus::can_edit,
        refusal: "A revoked key cannot be changed.",
        aspect: |key| json!({ "credits": stored_credits(key).map(Credits::summary) }),
        takes_over: false,
        refused_for: |_| None,
    };
    transition(core, actor, key_id, rule, move |key, now| {
        let columns = credit_columns(credits, now);
        key.credits_remaining = columns.credits_remaining;
        key.credits_refill_amount = columns.credits_refill_amount;
        key.credits_refill_period = columns.credits_refill_period;
        key.credits_refill_day = columns.credits_refill_day;
        key.credits_refilled_at = columns.credits_refilled_at;
    })
    .await
}

/// Replaces the networks a key may be used from; an empty list lets it be used from anywhere.
pub async fn update_ip_allowlist(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    entries: &[String],
) -> Result<ApiKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysUpdate)?;
    let networks = ip_allowlist(entries.iter().map(String::as_str))?;
    let rule = Transition {
        action: AuditAction::KeyIpAllowlistChanged,
        allowed: KeyStatus::can_edit,
        refusal: "A revoked key cannot be changed.",
        aspect: |key| json!({ "ip_allowlist": key.ip_allowlist.as_deref().unwrap_or("anywhere") }),
        // Lifting a key's allowlist widens where its power reaches.
        takes_over: true,
        refused_for: |_| None,
    };
    transition(core, actor, key_id, rule, move |key, _| key.ip_allowlist = Set(store_networks(&networks))).await
}

/// The stored form of an allowlist: its CIDRs, space-separated; none for anywhere.
fn store_networks(networks: &[ipnet::IpNet]) -> Option<String> {
    (!networks.is_empty()).then(|| networks.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))
}

/// A key's allowlist as stored; `None`: anywhere. Checked on the way in: anything unreadable
/// would be dropped, which narrows the list (to nothing at worst), never widens it.
pub(crate) fn stored_networks(key: &api_key::Model) -> Option<Vec<ipnet::IpNet>> {
    key.ip_allowlist.as_deref().map(|stored| stored.split(' ').filter_map(|n| n.parse().ok()).collect())
}

/// The stored form of `credits`, set at `now`; all empty for no limit.
fn credit_columns(credits: Option<Credits>, now: DateTime<Utc>) -> api_key::ActiveModel {
    let refill = credits.and_then(|c| c.refill);
    let stored = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    api_key::ActiveModel {
        credits_remaining: Set(credits.map(|c| stored(c.remaining))),
        credits_refill_amount: Set(refill.map(|r| stored(r.amount))),
        credits_refill_period: Set(refill.map(|r| r.period)),
        credits_refill_day: Set(refill.map(|r| i16::from(r.day))),
        credits_refilled_at: Set(credits.map(|_| now)),
        ..Default::default()
    }
}

/// Renames a key, rewrites its description, or changes when it expires. An expired key keeps its
/// expiry (rotating it gives it a new life, with a new secret); a revoked key is not changed.
pub async fn edit(core: &Core, actor: &dyn Actor, key_id: Uuid, edit: KeyEdit) -> Result<ApiKey, ServiceError> {
    may_edit(actor)?;
    let (name, description, expires_at, external_id, meta) = (
        edit.name.as_deref().map(KeyName::parse).transpose(),
        edit.description.map(|d| key_description(d.as_deref())).transpose(),
        edit.expiration.map(|e| e.expires_at(Utc::now())).transpose(),
        edit.external_id.map(|id| external_id(id.as_deref())).transpose(),
        edit.meta.map(|meta| key_meta(meta.as_deref())).transpose(),
    )
        .all_valid()?;
    let name = name.map(KeyName::into_inner);
    let rule = Transition {
        action: AuditAction::KeyEdited,
        allowed: |status| matches!(status, KeyStatus::Active | KeyStatus::Disabled),
        refusal: "Only an active or disabled key can be edited: rotate an expired key to give it a new life.",
        aspect: |key| {
            json!({
                "name": key.name,
                "description": key.description,
                "expires": key.expires_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                "external_id": key.external_id,
                "meta": meta_in_words(key.meta.as_deref()),
            })
        },
        // Its expiry keeps a key's power alive: the actor must hold at least what the key holds.
        takes_over: true,
        refused_for: |_| None,
    };
    transition(core, actor, key_id, rule, move |key, _| {
        if let Some(name) = name {
            key.name = Set(name);
        }
        if let Some(description) = description {
            key.description = Set(description);
        }
        if let Some(expires_at) = expires_at {
            key.expires_at = Set(expires_at);
        }
        if let Some(external_id) = external_id {
            key.external_id = Set(external_id);
        }
        if let Some(meta) = meta {
            key.meta = Set(meta);
        }
    })
    .await
}

/// A key's meta as given: a JSON object of at most [`KEY_META_MAX_BYTES`], kept as written (the
/// team's own, never interpreted); `None` if blank.
fn key_meta(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw.map(str::trim).filter(|meta| !meta.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > KEY_META_MAX_BYTES {
        return Err(FieldError::new("meta", format!("must be at most {} KB of JSON", KEY_META_MAX_BYTES / 1024)));
    }
    match serde_json::from_str::<serde_json::Map<String, Value>>(raw) {
        Ok(_) => Ok(Some(raw.to_owned())),
        Err(_) => Err(FieldError::new("meta", "must be a JSON object, like {\"plan\": \"pro\"}")),
    }
}

/// The audit log's word for a meta: its size and the start of its digest, which tell a change
/// apart without copying up to 16 KB into every entry.
fn meta_in_words(meta: Option<&str>) -> Option<String> {
    meta.map(|meta| format!("{} bytes, {}", grouped(meta.len() as u64), &crypto::digest(meta)[..8]))
}

/// A new secret for the same key. The old one stops now, or at the end of `grace`. An expired key
/// gets its original lifetime again, counted from now.
pub async fn rotate(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    grace: RotationGrace,
) -> Result<RotatedKey, ServiceError> {
    actor.require(ManagementScope::ApiKeysRotate)?;
    let now = Utc::now();
    let txn = begin_write(&core.db).await?;
    let key = find_key_to_change(&txn, actor, key_id).await?;
    actor.may_take_over(&key)?;
    let status = KeyStatus::effective(key.status, key.expires_at, now);
    if !status.can_rotate() {
        return Err(ServiceError::Conflict("A revoked key cannot be rotated.".into()));
    }
    let token = KeyToken::generate(key.environment);
    // A secret reported leaked gets no grace period: it stops now, whatever was asked.
    let grace_until = grace.duration().filter(|_| key.leaked_at.is_none()).map(|d| now + d);
    let expires_at = match (status, key.expires_at) {
        (KeyStatus::Expired, Some(at)) => Some(now + (at - key.created_at).max(Duration::days(1))),
        (_, at) => at,
    };
    let old_prefix = key.prefix.clone();
    let old_digest = key.digest.clone();
    let replaced_digest = key.previous_digest.clone();
    let mut active = key.into_active_model();
    active.digest = Set(crypto::digest(token.expose_secret()));
    active.prefix = Set(token.visible_prefix());
    active.preview = Set(token.masked());
    active.previous_digest = Set(grace_until.map(|_| old_digest.clone()));
    active.previous_valid_until = Set(grace_until);
    active.expires_at = Set(expires_at);
    // The leaked secret is no longer the key's.
    active.leaked_at = Set(None);
    active.leak_reported_by = Set(None);
    active.leak_url = Set(None);
    let key = active.update(&txn).await?;
    key_rotation::ActiveModel {
        id: Set(Uuid::now_v7()),
        key_id: Set(key.id),
        rotated_by: Set(actor.user_id()),
        old_prefix: Set(old_prefix.clone()),
        new_prefix: Set(key.prefix.clone()),
        grace_until: Set(grace_until),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let change = Change::new(AuditAction::KeyRotated, "key", key.id, target_name(&key))
        .from_to(json!({ "prefix": old_prefix }), json!({ "prefix": key.prefix, "grace_until": grace_until }));
    audit::record(&txn, actor, change).await?;
    // The old secret's cached state says "current": it must be read again (as replaced, or gone).
    let stale: Vec<&str> = [old_digest.as_str()].into_iter().chain(replaced_digest.as_deref()).collect();
    invalidation::announce(&txn, Stale::Digests(&stale)).await?;
    txn.commit().await?;
    core.cache.forget(stale);
    core.stats.forget(actor.organization_id());
    tracing::info!(key = %key.id, prefix = %key.prefix, grace = grace.as_str(), "API key rotated");

    let names = Names::load(&core.db, actor.organization_id(), std::slice::from_ref(&key)).await?;
    Ok(RotatedKey { key: names.view(key, now), token: token.expose_secret().to_owned() })
}

/// Deletes a key that no longer works. The organization's "total keys ever created" still counts it.
pub async fn delete(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<(), ServiceError> {
    actor.require(ManagementScope::ApiKeysDelete)?;
    let txn = begin_write(&core.db).await?;
    let key = find_key_to_change(&txn, actor, key_id).await?;
    if !KeyStatus::effective(key.status, key.expires_at, Utc::now()).can_delete() {
        return Err(ServiceError::Conflict("Disable or revoke the key before deleting it.".into()));
    }
    api_key::Entity::delete_by_id(key.id).exec(&txn).await?;
    organizations::count_key_deleted(&txn, key.organization_id).await?;
    let change = Change::new(AuditAction::KeyDeleted, "key", key.id, target_name(&key))
        .from_to(json!({ "status": key.status.as_str() }), json!({ "status": "deleted" }));
    audit::record(&txn, actor, change).await?;
    let stale: Vec<&str> = digests(&key).collect();
    invalidation::announce(&txn, Stale::Digests(&stale)).await?;
    txn.commit().await?;
    core.cache.forget(stale);
    core.stats.forget(actor.organization_id());
    tracing::info!(key = %key.id, prefix = %key.prefix, "API key deleted");
    Ok(())
}

/// The figures above the table.
/// For an API key: the keys of its project and environment; the plan's figures are the organization's.
pub async fn stats(core: &Core, actor: &dyn Actor) -> Result<KeyStats, ServiceError> {
    actor.require(ManagementScope::StatsRead)?;
    let db = &core.db;
    let reach = actor.reach();
    if let Some(stats) = core.stats.get(actor.organization_id(), reach) {
        return Ok(stats);
    }
    let read_at = core.stats.generation();
    let now = Utc::now();
    let org = organization::Entity::find_by_id(actor.organization_id())
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("organization"))?;
    let active = api_key::Entity::find()
        .filter(filter(
            db.get_database_backend(),
            org.id,
            reach,
            &KeyQuery { status: Some(KeyStatus::Active), ..KeyQuery::default() },
            now,
        ))
        // A decoy is never a working key.
        .filter(api_key::Column::Decoy.eq(false))
        .count(db)
        .await?;
    let live = organizations::count_live_keys(db, org.id).await?;
    let calls: Option<(Option<i64>, Option<i64>)> = key_usage::Entity::find()
        .select_only()
        // SUM of a BIGINT is a NUMERIC on PostgreSQL: cast back so both databases answer an i64.
        .column_as(total(key_usage::Column::Valid), "valid")
        .column_as(total(key_usage::Column::Denied), "denied")
        .filter(key_usage::Column::OrganizationId.eq(org.id))
        .filter(key_usage::Column::Hour.gte(now - Duration::hours(24)))
        .apply_if((reach != Reach::default()).then_some(()), |select, ()| {
            select.filter(
                key_usage::Column::KeyId.in_subquery(
                    api_key::Entity::find()
                        .select_only()
                        .column(api_key::Column::Id)
                        .filter(reach_condition(org.id, reach))
                        .into_query(),
                ),
            )
        })
        .into_tuple()
        .one(db)
        .await?;
    let last_call: Option<Option<DateTime<Utc>>> = api_key::Entity::find()
        .select_only()
        .column_as(api_key::Column::LastUsedAt.max(), "last")
        .filter(reach_condition(org.id, reach))
        .into_tuple()
        .one(db)
        .await?;
    let (valid, denied) = calls.unwrap_or_default();
    let stats = KeyStats {
        total_created: u64::try_from(org.keys_created_total).unwrap_or_default(),
        active,
        live,
        max_keys: org.plan.max_keys(),
        calls_24h: u64::try_from(valid.unwrap_or(0) + denied.unwrap_or(0)).unwrap_or_default(),
        last_call: last_call.flatten(),
    };
    core.stats.remember(org.id, reach, stats.clone(), read_at);
    Ok(stats)
}

/// Calls per hour over the last seven days, valid and denied, oldest first, every hour present.
/// One page of a key's verification log, newest first, of one outcome or all: an entry stands for
/// identical verifications within one second.
pub async fn verifications(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    outcome: Option<VerifyCode>,
    page: u32,
    per_page: u32,
) -> Result<VerificationPage, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let (page, per_page) = page_and_size(page, per_page)?;
    let key = find_key(&core.db, actor, key_id).await?;
    let mut select = key_verification::Entity::find()
        .filter(key_verification::Column::KeyId.eq(key.id))
        .filter(key_verification::Column::OrganizationId.eq(key.organization_id));
    if let Some(outcome) = outcome {
        select = select.filter(key_verification::Column::Outcome.eq(outcome.as_str()));
    }
    let skipped = u64::from(page - 1) * u64::from(per_page);
    let rows = select
        .clone()
        .order_by_desc(key_verification::Column::At)
        .order_by_desc(key_verification::Column::Id)
        .offset(skipped)
        .limit(u64::from(per_page))
        .all(&core.db)
        .await?;
    // A first page that is not full is the whole log: counted without asking the database.
    let total = match rows.len() {
        n if page == 1 && n < per_page as usize => n as u64,
        _ => select.count(&core.db).await?,
    };
    let records = rows
        .into_iter()
        .map(|row| VerificationRecord {
            at: row.at,
            // Written from a code, so always one; an unknown one (a newer version's) reads as not found.
            outcome: row.outcome.parse().unwrap_or(VerifyCode::NotFound),
            caller_key_id: row.caller_key_id,
            address: row.address,
            environment: row.environment.and_then(|e| e.parse().ok()),
            scopes: row.scopes.map(|s| s.split(' ').map(str::to_owned).collect()).unwrap_or_default(),
            credits_spent: u32::try_from(row.credits_spent).unwrap_or_default(),
            count: u32::try_from(row.count).ok().filter(|&n| n > 0).unwrap_or(1),
        })
        .collect();
    Ok(VerificationPage { records, total, page, per_page })
}

pub async fn usage(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<UsageHistory, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let key = find_key(&core.db, actor, key_id).await?;
    let now = Utc::now();
    let this_hour = hour_start(now.timestamp_millis());
    let first_hour = this_hour - (UsageHistory::HOURS - 1) * HOUR_MS;
    let rows = key_usage::Entity::find()
        .filter(key_usage::Column::KeyId.eq(key.id))
        .filter(key_usage::Column::Hour.gte(DateTime::<Utc>::from_timestamp_millis(first_hour).unwrap_or(now)))
        .all(&core.db)
        .await?;
    let counts: HashMap<i64, (i64, i64)> =
        rows.into_iter().map(|r| (r.hour.timestamp_millis(), (r.valid, r.denied))).collect();
    let hours = (0..UsageHistory::HOURS)
        .map(|i| {
            let hour = first_hour + i * HOUR_MS;
            let (valid, denied) = counts.get(&hour).copied().unwrap_or_default();
            HourlyUsage {
                hour: DateTime::<Utc>::from_timestamp_millis(hour).unwrap_or(now),
                valid: u64::try_from(valid).unwrap_or_default(),
                denied: u64::try_from(denied).unwrap_or_default(),
            }
        })
        .collect();
    Ok(UsageHistory { hours })
}

fn total(column: key_usage::Column) -> sea_orm::sea_query::SimpleExpr {
    Func::cast_as(Func::sum(Expr::col(column)), sea_orm::sea_query::Alias::new("BIGINT")).into()
}

/// Refuses a request for another environment (401, as for a key of the wrong environment) or
/// another project (which needs `api_keys.manage_all`) than the actor's.
fn within_reach(reach: Reach, project: Option<Uuid>, environment: Option<Environment>) -> Result<(), ServiceError> {
    if let (Some(key), Some(requested)) = (reach.environment, environment)
        && key != requested
    {
        return Err(ServiceError::WrongEnvironment { key, requested });
    }
    if let (Some(own), Some(requested)) = (reach.project, project)
        && own != requested
    {
        return Err(ServiceError::MissingScope(ManagementScope::ApiKeysManageAll.as_str()));
    }
    Ok(())
}

/// The organization's keys, narrowed to the actor's project and environment where it has them.
pub(crate) fn reach_condition(organization_id: Uuid, reach: Reach) -> Condition {
    Condition::all()
        .add(api_key::Column::OrganizationId.eq(organization_id))
        .add_option(reach.project.map(|p| api_key::Column::ProjectId.eq(p)))
        .add_option(reach.environment.map(|e| api_key::Column::Environment.eq(e)))
}

/// A key's digests as stored: the current secret and a replaced one in its grace period.
fn digests(key: &api_key::Model) -> impl Iterator<Item = &str> {
    std::iter::once(key.digest.as_str()).chain(key.previous_digest.as_deref())
}

/// The key `key_id`, if the actor can reach it.
fn reachable_key(actor: &dyn Actor, key_id: Uuid) -> sea_orm::Select<api_key::Entity> {
    api_key::Entity::find_by_id(key_id).filter(reach_condition(actor.organization_id(), actor.reach()))
}

/// A key the actor can reach; one it cannot is not found, whether or not it exists.
pub(crate) async fn find_key(
    db: &impl ConnectionTrait,
    actor: &dyn Actor,
    key_id: Uuid,
) -> Result<api_key::Model, ServiceError> {
    reachable_key(actor, key_id).one(db).await?.ok_or(ServiceError::NotFound("API key"))
}

/// [`find_key`], for a change: read inside the change's transaction, the row stays as read until it
/// commits, so a rotation or a leak report cannot land between the read and the write (PostgreSQL;
/// SQLite's write transaction already holds the database's lock). Reads that change nothing do
/// without the lock, which would queue a key's page behind every change to it.
pub(crate) async fn find_key_locked(
    db: &impl ConnectionTrait,
    actor: &dyn Actor,
    key_id: Uuid,
) -> Result<api_key::Model, ServiceError> {
    reachable_key(actor, key_id).lock_exclusive().one(db).await?.ok_or(ServiceError::NotFound("API key"))
}

/// A key the actor can reach and may change (a developer: only the keys they created).
async fn find_key_to_change(
    db: &impl ConnectionTrait,
    actor: &dyn Actor,
    key_id: Uuid,
) -> Result<api_key::Model, ServiceError> {
    let key = find_key_locked(db, actor, key_id).await?;
    actor.may_change(&key)?;
    Ok(key)
}

/// How the audit log names a key: as it reads on the keys page.
pub(crate) fn target_name(key: &api_key::Model) -> String {
    format!("{} ({})", key.name, key.prefix)
}

/// A change of one aspect of a key: what it is recorded as, the statuses that allow it, the
/// refusal otherwise, and the aspect the audit log shows before and after.
struct Transition {
    action: AuditAction,
    allowed: fn(KeyStatus) -> bool,
    refusal: &'static str,
    aspect: fn(&api_key::Model) -> Value,
    /// Whether the change hands the key's power to the actor (re-scoping), so that the actor must
    /// hold at least what the key holds.
    takes_over: bool,
    /// A refusal that depends on more than the key's status, checked in the same transaction.
    refused_for: fn(&api_key::Model) -> Option<&'static str>,
}

impl Transition {
    fn status(action: AuditAction, allowed: fn(KeyStatus) -> bool, refusal: &'static str) -> Self {
        Self {
            action,
            allowed,
            refusal,
            aspect: |key| json!({ "status": key.status.as_str() }),
            takes_over: false,
            refused_for: |_| None,
        }
    }
}

/// Loads a key, checks that its current status allows the change, applies it and records it in
/// the audit log, all in one transaction. The caller has checked the actor's permission.
async fn transition(
    core: &Core,
    actor: &dyn Actor,
    key_id: Uuid,
    rule: Transition,
    change: impl FnOnce(&mut api_key::ActiveModel, DateTime<Utc>),
) -> Result<ApiKey, ServiceError> {
    let now = Utc::now();
    let txn = begin_write(&core.db).await?;
    let key = find_key_to_change(&txn, actor, key_id).await?;
    if rule.takes_over {
        actor.may_take_over(&key)?;
    }
    if !(rule.allowed)(KeyStatus::effective(key.status, key.expires_at, now)) {
        return Err(ServiceError::Conflict(rule.refusal.to_owned()));
    }
    if let Some(refusal) = (rule.refused_for)(&key) {
        return Err(ServiceError::Conflict(refusal.to_owned()));
    }
    let before: Vec<String> = digests(&key).map(str::to_owned).collect();
    let was = (rule.aspect)(&key);
    let scopes_were = key.scopes.clone();
    let mut active = key.into_active_model();
    change(&mut active, now);
    let key = active.update(&txn).await?;
    if key.scopes != scopes_were {
        super::projects::remember_scopes(&txn, key.project_id, &load_scopes(&key.scopes)).await?;
    }
    let record = Change::new(rule.action, "key", key.id, target_name(&key)).from_to(was, (rule.aspect)(&key));
    audit::record(&txn, actor, record).await?;
    let stale: Vec<&str> = before.iter().map(String::as_str).collect();
    invalidation::announce(&txn, Stale::Digests(&stale)).await?;
    txn.commit().await?;
    core.cache.forget(stale);
    core.stats.forget(actor.organization_id());
    tracing::info!(key = %key.id, prefix = %key.prefix, status = key.status.as_str(), "API key changed");
    let names = Names::load(&core.db, actor.organization_id(), std::slice::from_ref(&key)).await?;
    Ok(names.view(key, now))
}

fn store_scopes(scopes: &ScopeSet) -> String {
    scopes.to_strings().join(" ")
}

pub(crate) fn load_scopes(stored: &str) -> ScopeSet {
    // Stored scopes were validated on the way in; anything unreadable is dropped, never widened.
    ScopeSet::parse(stored.split(' ')).unwrap_or_default()
}

/// Project and creator names for a page of keys, in two queries rather than two per key.
struct Names {
    projects: HashMap<Uuid, String>,
    users: HashMap<Uuid, String>,
}

impl Names {
    async fn load(
        db: &impl ConnectionTrait,
        organization_id: Uuid,
        keys: &[api_key::Model],
    ) -> Result<Self, ServiceError> {
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
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        Ok(Self { projects, users })
    }

    fn view(&self, key: api_key::Model, now: DateTime<Utc>) -> ApiKey {
        let project = self.projects.get(&key.project_id).cloned().unwrap_or_default();
        let creator = self.users.get(&key.created_by).cloned().unwrap_or_else(|| "Unknown".to_owned());
        to_view(key, project, creator, now)
    }
}

/// The key as this instance counts its credits: the database's count and the credits this
/// instance holds in reserve out of it (see `ssr::credits`), which its verifications were told
/// are left. Other instances' reserves show as spent until they are given back.
fn counting_reserves(core: &Core, mut key: api_key::Model, now: DateTime<Utc>) -> api_key::Model {
    if let Some(remaining) = key.credits_remaining.as_mut() {
        let held = core.credits.held(key.id, key.credits_refilled_at, now);
        *remaining = remaining.saturating_add(i64::try_from(held).unwrap_or(0));
    }
    key
}

/// A key's credits as stored (the count as last written: a due refill is not yet counted).
pub(crate) fn stored_credits(key: &api_key::Model) -> Option<Credits> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let refill = match (key.credits_refill_amount, key.credits_refill_period) {
        (Some(amount), Some(period)) => Some(Refill {
            amount: count(amount),
            period,
            day: key.credits_refill_day.and_then(|d| u8::try_from(d).ok()).unwrap_or(1),
        }),
        _ => None,
    };
    key.credits_remaining.map(|remaining| Credits { remaining: count(remaining), refill })
}

pub(crate) fn stored_rate_limit(key: &api_key::Model) -> Option<RateLimit> {
    match (key.rate_limit_requests, key.rate_limit_window) {
        (Some(requests), Some(window)) => u32::try_from(requests).ok().map(|requests| RateLimit { requests, window }),
        _ => None,
    }
}

fn to_view(key: api_key::Model, project_name: String, created_by: String, now: DateTime<Utc>) -> ApiKey {
    let rate_limit = stored_rate_limit(&key);
    ApiKey {
        status: KeyStatus::effective(key.status, key.expires_at, now),
        scopes: load_scopes(&key.scopes),
        rate_limit,
        credits: stored_credits(&key).map(|c| KeyCredits::at(c, key.credits_refilled_at, now)),
        ip_allowlist: stored_networks(&key).into_iter().flatten().map(|n| n.to_string()).collect(),
        id: key.id,
        name: key.name,
        description: key.description,
        prefix: key.prefix,
        preview: key.preview,
        project_id: key.project_id,
        project_name,
        environment: key.environment,
        created_by,
        created_by_id: key.created_by,
        created_at: key.created_at,
        expires_at: key.expires_at,
        last_used_at: key.last_used_at,
        previous_valid_until: key.previous_valid_until.filter(|until| *until > now),
        decoy: key.decoy,
        leak: key.leaked_at.map(|at| KeyLeak {
            at,
            reported_by: key.leak_reported_by.unwrap_or_default(),
            url: key.leak_url,
        }),
        external_id: key.external_id,
        meta: key.meta,
    }
}
