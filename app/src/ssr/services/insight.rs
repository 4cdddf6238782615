//! What the verification log tells about keys: keys still presented after they stopped working,
//! the scopes a key holds that nobody asks for, and a project's traffic by verdict. Read from the
//! log's rows in the database, within its retention, and only for keys within the actor's reach.

use super::keys::{find_key, load_scopes, reach_condition};
use super::{Actor, Reach};
use crate::model::{
    ChartWindow, KeyExpiringSoon, KeyInsight, KeyStatus, KeyStillPresented, ManagementScope, NeedsAttention,
    OutcomeBucket, OutcomeCount, ProjectTraffic, RefusedUse, ScopeUse, TopKey, VerifyCode,
};
use crate::ssr::entities::{api_key, key_verification as log, project};
use crate::ssr::{Core, ServiceError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr, SubQueryStatement};
use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The verdicts of a key that no longer works.
const NO_LONGER_WORKS: [VerifyCode; 3] = [VerifyCode::Revoked, VerifyCode::Disabled, VerifyCode::Expired];
/// Keys the "Needs attention" panel lists at most.
pub const STILL_PRESENTED_SHOWN: u64 = 10;
/// Distinct scope combinations read for one key: far more than any integration asks.
const SCOPE_SETS_READ: u64 = 1_000;

fn refused_codes() -> impl Iterator<Item = &'static str> {
    NO_LONGER_WORKS.iter().map(|c| c.as_str())
}

/// What the log says of one key: whether it is still presented though it no longer works, and
/// which of its custom scopes its verifications asked for.
pub async fn key_insight(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<KeyInsight, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let key = find_key(&core.db, actor, key_id).await?;
    let log_days = core.verifications.days();
    if log_days == 0 {
        return Ok(KeyInsight::default());
    }
    let of_the_key =
        Condition::all().add(log::Column::KeyId.eq(key.id)).add(log::Column::OrganizationId.eq(key.organization_id));

    // One pass by verdict gives the refusals' count and last moment.
    let by_outcome: Vec<(String, i64, DateTime<Utc>)> = log::Entity::find()
        .select_only()
        .column(log::Column::Outcome)
        .column_as(log::Column::Count.sum(), "count")
        .column_as(log::Column::At.max(), "last_at")
        .filter(of_the_key.clone())
        .group_by(log::Column::Outcome)
        .into_tuple()
        .all(&core.db)
        .await?;
    let verifications = by_outcome.iter().map(|(_, n, _)| u64::try_from(*n).unwrap_or_default()).sum();
    let refused = by_outcome.iter().filter(|(code, _, _)| refused_codes().any(|c| c == code));
    let count: u64 = refused.clone().map(|(_, n, _)| u64::try_from(*n).unwrap_or_default()).sum();
    let refused = match refused.max_by_key(|(_, _, at)| *at) {
        None => None,
        Some((_, _, last_at)) => {
            let last: Option<(String, Option<String>)> = log::Entity::find()
                .select_only()
                .columns([log::Column::Outcome, log::Column::Address])
                .filter(of_the_key.clone())
                .filter(log::Column::Outcome.is_in(refused_codes()))
                .order_by_desc(log::Column::At)
                .order_by_desc(log::Column::Id)
                .into_tuple()
                .one(&core.db)
                .await?;
            last.map(|(outcome, last_address)| RefusedUse {
                count,
                last_at: *last_at,
                last_address,
                last_outcome: outcome.parse().unwrap_or(VerifyCode::Revoked),
            })
        }
    };

    // The scopes asked, as distinct combinations (few per integration), split here; not read for
    // a key without custom scopes, which has nothing to narrow.
    let custom: Vec<String> = load_scopes(&key.scopes)
        .iter()
        .map(|s| s.as_str())
        .filter(|s| ManagementScope::from_name(s).is_none())
        .map(str::to_owned)
        .collect();
    if custom.is_empty() {
        return Ok(KeyInsight { log_days, refused, scopes: ScopeUse { verifications, ..ScopeUse::default() } });
    }
    let asked: Vec<Option<String>> = log::Entity::find()
        .select_only()
        .column(log::Column::Scopes)
        .filter(of_the_key)
        .filter(log::Column::Scopes.is_not_null())
        .group_by(log::Column::Scopes)
        .limit(SCOPE_SETS_READ)
        .into_tuple()
        .all(&core.db)
        .await?;
    let asked: BTreeSet<&str> = asked.iter().flatten().flat_map(|s| s.split(' ')).collect();
    let (used, unused) = custom.into_iter().partition(|s| asked.contains(s.as_str()));
    Ok(KeyInsight { log_days, refused, scopes: ScopeUse { verifications, used, unused } })
}

/// A key's refusals as the log groups them: the key, how many, the last one's moment, address and
/// verdict.
type RefusalsOfKey = (Uuid, i64, DateTime<Utc>, Option<String>, String);

/// The keys that no longer work (revoked, disabled, expired) and were presented anyway within the
/// log's retention, the most recently presented first. A key that works again (enabled) is left
/// out: its refusals are history. Read key by key through the log's index on the key (no index of
/// its own: each costs every verification's insert, and a log's disk).
/// Active keys within the actor's reach that expire within [`NeedsAttention::EXPIRING_WITHIN_DAYS`]
/// days, the soonest first (at most [`STILL_PRESENTED_SHOWN`]). Decoys aside: nothing to renew.
pub async fn expiring_soon(core: &Core, actor: &dyn Actor) -> Result<Vec<KeyExpiringSoon>, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let now = Utc::now();
    let keys = api_key::Entity::find()
        .filter(reach_condition(actor.organization_id(), actor.reach()))
        .filter(api_key::Column::Status.eq(KeyStatus::Active))
        .filter(api_key::Column::Decoy.eq(false))
        .filter(api_key::Column::ExpiresAt.gt(now))
        .filter(api_key::Column::ExpiresAt.lte(now + Duration::days(NeedsAttention::EXPIRING_WITHIN_DAYS)))
        .order_by_asc(api_key::Column::ExpiresAt)
        .limit(STILL_PRESENTED_SHOWN)
        .all(&core.db)
        .await?;
    Ok(keys
        .into_iter()
        .filter_map(|key| {
            Some(KeyExpiringSoon { expires_at: key.expires_at?, key_id: key.id, name: key.name, prefix: key.prefix })
        })
        .collect())
}

/// The keys page's "Needs attention" panel: both lists.
pub async fn needs_attention(core: &Core, actor: &dyn Actor) -> Result<NeedsAttention, ServiceError> {
    Ok(NeedsAttention {
        decoys_used: super::decoys::recent(core, actor).await?,
        still_presented: still_presented(core, actor).await?,
        expiring: expiring_soon(core, actor).await?,
    })
}

pub async fn still_presented(core: &Core, actor: &dyn Actor) -> Result<Vec<KeyStillPresented>, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    if !core.verifications.is_on() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let not_working =
        Condition::any().add(api_key::Column::Status.ne(KeyStatus::Active)).add(api_key::Column::ExpiresAt.lte(now));
    let keys_in_reach = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::Id)
        .filter(reach_condition(actor.organization_id(), actor.reach()))
        .filter(not_working)
        .into_query();
    // The latest refusal's address and verdict, read beside each key's group.
    let latest = |column: log::Column| -> SimpleExpr {
        let inner = Alias::new("latest");
        let query = Query::select()
            .column((inner.clone(), column))
            .from_as(log::Entity, inner.clone())
            .and_where(Expr::col((inner.clone(), log::Column::KeyId)).equals((log::Entity, log::Column::KeyId)))
            .and_where(Expr::col((inner.clone(), log::Column::Outcome)).is_in(refused_codes()))
            .order_by((inner.clone(), log::Column::At), sea_orm::Order::Desc)
            .order_by((inner, log::Column::Id), sea_orm::Order::Desc)
            .limit(1)
            .to_owned();
        SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(query)))
    };
    let rows: Vec<RefusalsOfKey> = log::Entity::find()
        .select_only()
        .column(log::Column::KeyId)
        .column_as(log::Column::Count.sum(), "count")
        .column_as(log::Column::At.max(), "last_at")
        .column_as(latest(log::Column::Address), "last_address")
        .column_as(latest(log::Column::Outcome), "last_outcome")
        .filter(log::Column::OrganizationId.eq(actor.organization_id()))
        .filter(log::Column::Outcome.is_in(refused_codes()))
        .filter(log::Column::KeyId.in_subquery(keys_in_reach))
        .group_by(log::Column::KeyId)
        .order_by_desc(Expr::col(Alias::new("last_at")))
        .limit(STILL_PRESENTED_SHOWN)
        .into_tuple()
        .all(&core.db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys: HashMap<Uuid, api_key::Model> = api_key::Entity::find()
        .filter(api_key::Column::Id.is_in(rows.iter().map(|r| r.0)))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|(key_id, count, last_at, last_address, last_outcome)| {
            let key = keys.get(&key_id)?;
            Some(KeyStillPresented {
                key_id,
                name: key.name.clone(),
                prefix: key.prefix.clone(),
                status: KeyStatus::effective(key.status, key.expires_at, now),
                refused: RefusedUse {
                    count: u64::try_from(count).unwrap_or_default(),
                    last_at,
                    last_address,
                    last_outcome: last_outcome.parse().unwrap_or(VerifyCode::Revoked),
                },
            })
        })
        .collect())
}

/// A project's verifications over a window, by verdict, and its most verified keys. A
/// verification belongs to the project of the key that asked (the calling service's), so that
/// presented keys that were not found count too.
pub async fn project_traffic(
    core: &Core,
    actor: &dyn Actor,
    project_id: Uuid,
    window: ChartWindow,
) -> Result<ProjectTraffic, ServiceError> {
    actor.require(ManagementScope::StatsRead)?;
    let reach = actor.reach();
    if reach.project.is_some_and(|p| p != project_id) {
        return Err(ServiceError::NotFound("project"));
    }
    let project = project::Entity::find_by_id(project_id)
        .filter(project::Column::OrganizationId.eq(actor.organization_id()))
        .one(&core.db)
        .await?
        .ok_or(ServiceError::NotFound("project"))?;
    let (count, length_ms) = window.buckets();
    let now = Utc::now().timestamp_millis();
    // Buckets end at the next whole one, so that a reload a moment later draws the same bars.
    let end = (now / length_ms + 1) * length_ms;
    let start = end - i64::from(count) * length_ms;
    let since = DateTime::<Utc>::from_timestamp_millis(start).unwrap_or_default();
    let callers = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::Id)
        .filter(reach_condition(actor.organization_id(), Reach { project: Some(project.id), ..reach }))
        .into_query();
    let in_window = Condition::all()
        .add(log::Column::OrganizationId.eq(actor.organization_id()))
        .add(log::Column::At.gte(since))
        .add(log::Column::CallerKeyId.in_subquery(callers));

    // Whole seconds since the window's start, divided by the bucket's: the numbers are the
    // server's own, never a caller's.
    let (start_s, length_s) = (start / 1000, length_ms / 1000);
    let bucket = match core.db.get_database_backend() {
        DbBackend::Postgres => {
            format!(
                "CAST(FLOOR((EXTRACT(EPOCH FROM \"key_verifications\".\"at\") - {start_s}) / {length_s}) AS BIGINT)"
            )
        }
        _ => format!("((CAST(strftime('%s', \"key_verifications\".\"at\") AS INTEGER) - {start_s}) / {length_s})"),
    };
    let counted: Vec<(i64, String, i64)> = log::Entity::find()
        .select_only()
        .column_as(Expr::cust(bucket.clone()), "bucket")
        .column(log::Column::Outcome)
        .column_as(log::Column::Count.sum(), "count")
        .filter(in_window.clone())
        .group_by(Expr::cust(bucket))
        .group_by(log::Column::Outcome)
        .into_tuple()
        .all(&core.db)
        .await?;
    let mut buckets: Vec<OutcomeBucket> = (0..i64::from(count))
        .map(|i| OutcomeBucket {
            start: DateTime::<Utc>::from_timestamp_millis(start + i * length_ms).unwrap_or_default(),
            outcomes: Vec::new(),
        })
        .collect();
    for (index, outcome, n) in counted {
        let (Some(bucket), Ok(outcome)) =
            (usize::try_from(index).ok().and_then(|i| buckets.get_mut(i)), outcome.parse())
        else {
            continue;
        };
        bucket.outcomes.push(OutcomeCount { outcome, count: u64::try_from(n).unwrap_or_default() });
    }
    for bucket in &mut buckets {
        bucket.outcomes.sort_by_key(|o| o.outcome as u8);
    }

    let top: Vec<(Uuid, i64)> = log::Entity::find()
        .select_only()
        .column(log::Column::KeyId)
        .column_as(log::Column::Count.sum(), "count")
        .filter(in_window)
        .filter(log::Column::KeyId.is_not_null())
        .group_by(log::Column::KeyId)
        .order_by_desc(Expr::col(Alias::new("count")))
        .limit(ProjectTraffic::TOP_KEYS)
        .into_tuple()
        .all(&core.db)
        .await?;
    let names: HashMap<Uuid, (String, String)> = api_key::Entity::find()
        .filter(api_key::Column::Id.is_in(top.iter().map(|(id, _)| *id)))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|k| (k.id, (k.name, k.prefix)))
        .collect();
    let top_keys = top
        .into_iter()
        .filter_map(|(key_id, n)| {
            let (name, prefix) = names.get(&key_id)?.clone();
            Some(TopKey { key_id, name, prefix, verifications: u64::try_from(n).unwrap_or_default() })
        })
        .collect();
    Ok(ProjectTraffic { project_id: project.id, project_name: project.name, window, buckets, top_keys })
}
