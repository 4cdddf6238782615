//! Decoy keys: each use is recorded (where, from which address, when) and raises `key.decoy_used`,
//! off the request's path; the dashboard reads the uses back as an alert.

use super::Actor;
use super::keys::{find_key, reach_condition};
use crate::model::{DECOY_ALERT_DAYS, DecoySurface, DecoyUse, ManagementScope, WebhookEvent};
use crate::ssr::cache::KeyRecord;
use crate::ssr::entities::{api_key, decoy_use};
use crate::ssr::{Core, ServiceError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set, TransactionTrait,
};
use std::collections::HashMap;
use std::net::IpAddr;
use uuid::Uuid;

/// The most uses the alert lists.
const SHOWN: u64 = 20;

/// The organization's decoy keys, any status.
pub(crate) async fn count(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<u64, ServiceError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .filter(api_key::Column::Decoy.eq(true))
        .count(db)
        .await?)
}

/// Records a use of the decoy `key` and raises `key.decoy_used`, in one transaction, without
/// holding up the answer. Repeats from one address within a few seconds are one record.
pub fn record_use(core: &Core, key: &KeyRecord, surface: DecoySurface, address: Option<IpAddr>, now: DateTime<Utc>) {
    record(core, (key.id, key.organization_id, &key.name), surface, address, now);
}

/// [`record_use`] for a decoy read from the database (a leak report found it).
pub(crate) fn record_found(
    core: &Core,
    key: &api_key::Model,
    surface: DecoySurface,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) {
    record(core, (key.id, key.organization_id, &key.name), surface, address, now);
}

fn record(
    core: &Core,
    (key_id, organization_id, name): (Uuid, Uuid, &str),
    surface: DecoySurface,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) {
    if !core.decoy_records.first(key_id, address) {
        return;
    }
    tracing::warn!(key = %key_id, surface = surface.as_str(), ip = ?address, "a decoy key was used");
    let (db, name) = (core.db.clone(), name.to_owned());
    tokio::spawn(async move {
        let ip = address.map(|ip| ip.to_string());
        let write = db
            .transaction::<_, (), ServiceError>(|txn| {
                Box::pin(async move {
                    decoy_use::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        organization_id: Set(organization_id),
                        key_id: Set(key_id),
                        surface: Set(surface.as_str().to_owned()),
                        ip: Set(ip.clone()),
                        created_at: Set(now),
                    }
                    .insert(txn)
                    .await?;
                    let data = serde_json::json!({
                        "organization_id": organization_id,
                        "target": { "kind": "key", "id": key_id, "name": name },
                        "surface": surface.as_str(),
                        "ip": ip,
                        "at": now,
                    });
                    super::webhooks::enqueue(txn, organization_id, WebhookEvent::KeyDecoyUsed, data).await
                })
            })
            .await;
        if let Err(e) = write {
            tracing::warn!(error = %e, key = %key_id, "recording a decoy key's use failed");
        }
    });
}

/// The newest uses of decoys the actor can see, over the last [`DECOY_ALERT_DAYS`] days: the keys
/// page's alert. One statement when there are none; the keys' names only when there are some.
pub async fn recent(core: &Core, actor: &dyn Actor) -> Result<Vec<DecoyUse>, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let since = Utc::now() - Duration::days(DECOY_ALERT_DAYS);
    // Only the decoys within the actor's reach (a key limited to one project sees its own).
    let in_reach = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::Id)
        .filter(reach_condition(actor.organization_id(), actor.reach()))
        .filter(api_key::Column::Decoy.eq(true))
        .into_query();
    let uses = decoy_use::Entity::find()
        .filter(decoy_use::Column::OrganizationId.eq(actor.organization_id()))
        .filter(decoy_use::Column::KeyId.in_subquery(in_reach))
        .filter(decoy_use::Column::CreatedAt.gte(since))
        .order_by_desc(decoy_use::Column::CreatedAt)
        .limit(SHOWN)
        .all(&core.db)
        .await?;
    if uses.is_empty() {
        return Ok(Vec::new());
    }
    let decoys: HashMap<Uuid, api_key::Model> = api_key::Entity::find()
        .filter(reach_condition(actor.organization_id(), actor.reach()))
        .filter(api_key::Column::Id.is_in(uses.iter().map(|u| u.key_id)))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|key| (key.id, key))
        .collect();
    Ok(uses.into_iter().filter_map(|u| decoys.get(&u.key_id).and_then(|key| view(u, key))).collect())
}

/// Every recorded use of one decoy key, newest first (at most the last [`SHOWN`]): its page.
pub async fn uses_of(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<Vec<DecoyUse>, ServiceError> {
    actor.require(ManagementScope::ApiKeysRead)?;
    let key = find_key(&core.db, actor, key_id).await?;
    if !key.decoy {
        return Ok(Vec::new());
    }
    let uses = decoy_use::Entity::find()
        .filter(decoy_use::Column::KeyId.eq(key.id))
        .order_by_desc(decoy_use::Column::CreatedAt)
        .limit(SHOWN)
        .all(&core.db)
        .await?;
    Ok(uses.into_iter().filter_map(|u| view(u, &key)).collect())
}

fn view(row: decoy_use::Model, key: &api_key::Model) -> Option<DecoyUse> {
    Some(DecoyUse {
        key_id: key.id,
        key_name: key.name.clone(),
        prefix: key.prefix.clone(),
        surface: DecoySurface::parse(&row.surface)?,
        ip: row.ip,
        at: row.created_at,
    })
}
