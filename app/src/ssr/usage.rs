//! Usage counted in memory on the hot path and written to the database in batches: per key and
//! hour, valid and denied calls, and the last time each key was used.

use crate::ssr::ServiceError;
use crate::ssr::entities::{api_key, key_usage};
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

pub const HOUR_MS: i64 = 3_600_000;

/// The start of the hour `ms` falls in: how usage is bucketed, when counted and when charted.
pub fn hour_start(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}
/// Rows per INSERT: well under SQLite's and PostgreSQL's bind-parameter limits.
const BATCH: usize = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    organization_id: Uuid,
    valid: u64,
    denied: u64,
}

#[derive(Clone, Default)]
pub struct UsageMeter {
    /// (key, start of the hour in ms) → counts.
    hours: Arc<DashMap<(Uuid, i64), Tally>>,
    /// key → last use, ms.
    last_used: Arc<DashMap<Uuid, i64>>,
}

/// What one flush wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub hours: usize,
    pub keys: usize,
}

impl UsageMeter {
    /// Counts one use of a key. Lock-free apart from the shard of the key's entry.
    pub fn record(&self, key: Uuid, organization_id: Uuid, valid: bool, now_ms: i64) {
        let hour = hour_start(now_ms);
        let mut tally = self.hours.entry((key, hour)).or_insert(Tally { organization_id, ..Tally::default() });
        if valid {
            tally.valid += 1;
        } else {
            tally.denied += 1;
        }
        drop(tally);
        let mut last = self.last_used.entry(key).or_insert(now_ms);
        if *last < now_ms {
            *last = now_ms;
        }
    }

    /// Nothing waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.hours.is_empty() && self.last_used.is_empty()
    }

    /// Writes everything counted so far in one transaction: adds to the hourly rows and moves each
    /// key's last-used time forward. If the write fails, the counts go back into memory for the next try.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<Flushed, ServiceError> {
        // Take entries out one by one: a use recorded meanwhile lands in a fresh entry, never lost.
        let hour_keys: Vec<(Uuid, i64)> = self.hours.iter().map(|e| *e.key()).collect();
        let hours: Vec<((Uuid, i64), Tally)> = hour_keys.into_iter().filter_map(|k| self.hours.remove(&k)).collect();
        let key_ids: Vec<Uuid> = self.last_used.iter().map(|e| *e.key()).collect();
        let last_used: Vec<(Uuid, i64)> = key_ids.into_iter().filter_map(|k| self.last_used.remove(&k)).collect();
        if hours.is_empty() && last_used.is_empty() {
            return Ok(Flushed::default());
        }
        match write(db, &hours, &last_used).await {
            Ok(flushed) => Ok(flushed),
            Err(e) => {
                self.put_back(hours, last_used);
                Err(e)
            }
        }
    }

    fn put_back(&self, hours: Vec<((Uuid, i64), Tally)>, last_used: Vec<(Uuid, i64)>) {
        for (key, tally) in hours {
            let mut entry = self.hours.entry(key).or_insert(Tally { organization_id: tally.organization_id, ..Tally::default() });
            entry.valid += tally.valid;
            entry.denied += tally.denied;
        }
        for (key, at) in last_used {
            let mut entry = self.last_used.entry(key).or_insert(at);
            if *entry < at {
                *entry = at;
            }
        }
    }
}

async fn write(
    db: &DatabaseConnection,
    hours: &[((Uuid, i64), Tally)],
    last_used: &[(Uuid, i64)],
) -> Result<Flushed, ServiceError> {
    let txn = db.begin().await?;
    // Keys deleted since they were used have nothing left to count against.
    let mut wanted: Vec<Uuid> = hours.iter().map(|((key, _), _)| *key).chain(last_used.iter().map(|(key, _)| *key)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut existing = HashSet::new();
    for chunk in wanted.chunks(BATCH) {
        let ids: Vec<Uuid> = api_key::Entity::find()
            .select_only()
            .column(api_key::Column::Id)
            .filter(api_key::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&txn)
            .await?;
        existing.extend(ids);
    }

    let rows: Vec<key_usage::ActiveModel> = hours
        .iter()
        .filter(|((key, _), _)| existing.contains(key))
        .filter_map(|((key, hour), tally)| {
            Some(key_usage::ActiveModel {
                key_id: Set(*key),
                hour: Set(DateTime::<Utc>::from_timestamp_millis(*hour)?),
                organization_id: Set(tally.organization_id),
                valid: Set(i64::try_from(tally.valid).unwrap_or(i64::MAX)),
                denied: Set(i64::try_from(tally.denied).unwrap_or(i64::MAX)),
            })
        })
        .collect();
    let written_hours = rows.len();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
        key_usage::Entity::insert_many(batch)
            .on_conflict(
                OnConflict::columns([key_usage::Column::KeyId, key_usage::Column::Hour])
                    .value(key_usage::Column::Valid, add_excluded(key_usage::Column::Valid))
                    .value(key_usage::Column::Denied, add_excluded(key_usage::Column::Denied))
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }

    let mut written_keys = 0;
    for (key, at) in last_used.iter().filter(|(key, _)| existing.contains(key)) {
        let Some(at) = DateTime::<Utc>::from_timestamp_millis(*at) else { continue };
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
            .filter(api_key::Column::Id.eq(*key))
            .filter(api_key::Column::LastUsedAt.is_null().or(api_key::Column::LastUsedAt.lt(at)))
            .exec(&txn)
            .await?;
        written_keys += 1;
    }
    txn.commit().await?;
    Ok(Flushed { hours: written_hours, keys: written_keys })
}

/// `key_usage.<column> + excluded.<column>`: counts from several flushes (or instances) add up.
fn add_excluded(column: key_usage::Column) -> sea_orm::sea_query::SimpleExpr {
    Expr::col((key_usage::Entity, column)).add(Expr::col((sea_orm::sea_query::Alias::new("excluded"), column)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_counted_per_key_and_hour_and_the_latest_use_wins() {
        let meter = UsageMeter::default();
        let (key, org) = (Uuid::now_v7(), Uuid::now_v7());
        meter.record(key, org, true, 10 * HOUR_MS + 5);
        meter.record(key, org, false, 10 * HOUR_MS + 9);
        meter.record(key, org, true, 11 * HOUR_MS + 1);
        meter.record(key, org, true, 10 * HOUR_MS + 7);
        let first = *meter.hours.get(&(key, 10 * HOUR_MS)).expect("hour 10");
        assert_eq!((first.valid, first.denied), (2, 1));
        assert_eq!(meter.hours.get(&(key, 11 * HOUR_MS)).map(|t| t.valid), Some(1));
        assert_eq!(meter.last_used.get(&key).map(|t| *t), Some(11 * HOUR_MS + 1));
    }
}
