//! Usage counted in memory on the hot path and written to the database in batches: per key and
//! hour, valid and denied calls, and the last time each key was used.

use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, key_usage};
use crate::ssr::{ByKey, ServiceError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// One key's counts for the hour it was last used in, updated with atomics: a verification takes
/// only a shared lock on the map's shard, so hot keys do not queue behind each other.
#[derive(Debug)]
struct KeyMeter {
    organization_id: Uuid,
    hour: AtomicI64,
    valid: AtomicU64,
    denied: AtomicU64,
    /// Milliseconds; 0 once written.
    last_used: AtomicI64,
}

impl KeyMeter {
    fn new(organization_id: Uuid, hour: i64) -> Self {
        Self {
            organization_id,
            hour: AtomicI64::new(hour),
            valid: AtomicU64::new(0),
            denied: AtomicU64::new(0),
            last_used: AtomicI64::new(0),
        }
    }

    fn is_idle(&self) -> bool {
        self.valid.load(Ordering::Acquire) == 0
            && self.denied.load(Ordering::Acquire) == 0
            && self.last_used.load(Ordering::Acquire) == 0
    }

    /// Takes the counts so far: (hour, counts) and the last use, leaving zeros.
    fn take(&self) -> (i64, Tally, i64) {
        let hour = self.hour.load(Ordering::Acquire);
        let tally = Tally {
            organization_id: self.organization_id,
            valid: self.valid.swap(0, Ordering::AcqRel),
            denied: self.denied.swap(0, Ordering::AcqRel),
        };
        (hour, tally, self.last_used.swap(0, Ordering::AcqRel))
    }
}

#[derive(Clone)]
pub struct UsageMeter {
    /// key → the counts of its current hour.
    keys: Arc<ByKey<KeyMeter>>,
    /// Counts of hours a key has moved on from, waiting for the next flush.
    closed: Arc<Mutex<HashMap<(Uuid, i64), Tally>>>,
    /// When everything counted was last written (milliseconds; the start, before the first flush).
    written_at_ms: Arc<AtomicI64>,
}

impl Default for UsageMeter {
    fn default() -> Self {
        Self {
            keys: Arc::default(),
            closed: Arc::default(),
            written_at_ms: Arc::new(AtomicI64::new(Utc::now().timestamp_millis())),
        }
    }
}

/// What one flush wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub hours: usize,
    pub keys: usize,
}

impl UsageMeter {
    /// Counts one use of a key: a shared lock on one shard of the map and three atomic updates
    /// (the first use of a key, or of a key in a new hour, takes a short exclusive path).
    pub fn record(&self, key: Uuid, organization_id: Uuid, valid: bool, now_ms: i64) {
        let hour = hour_start(now_ms);
        // Counting happens while the shard guard is held, so a flush cannot drop the entry midway.
        let count = |meter: &KeyMeter| {
            let current = meter.hour.load(Ordering::Acquire);
            if hour > current && meter.hour.compare_exchange(current, hour, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                // This call moved the key into a new hour: what the old hour counted is set aside.
                // (A use racing this move may land in the new hour; none is lost.)
                let old = Tally {
                    organization_id: meter.organization_id,
                    valid: meter.valid.swap(0, Ordering::AcqRel),
                    denied: meter.denied.swap(0, Ordering::AcqRel),
                };
                self.set_aside(key, current, old);
            }
            if valid {
                meter.valid.fetch_add(1, Ordering::AcqRel);
            } else {
                meter.denied.fetch_add(1, Ordering::AcqRel);
            }
            // Read first: within a millisecond, most uses find it already there and leave the
            // shared line unwritten (a write takes it from the other cores' caches).
            if meter.last_used.load(Ordering::Acquire) < now_ms {
                meter.last_used.fetch_max(now_ms, Ordering::AcqRel);
            }
        };
        match self.keys.get(&key) {
            Some(meter) => count(&meter),
            None => count(&self.keys.entry(key).or_insert_with(|| KeyMeter::new(organization_id, hour)).downgrade()),
        }
    }

    fn set_aside(&self, key: Uuid, hour: i64, tally: Tally) {
        if tally.valid == 0 && tally.denied == 0 {
            return;
        }
        let mut closed = self.closed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry =
            closed.entry((key, hour)).or_insert(Tally { organization_id: tally.organization_id, ..Tally::default() });
        entry.valid += tally.valid;
        entry.denied += tally.denied;
    }

    /// Nothing waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|meter| meter.is_idle())
            && self.closed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    /// How long ago everything counted was last written: the most usage an instance that died now
    /// would lose, and what `/metrics` reports as the flush lag.
    pub fn unwritten_for_ms(&self, now_ms: i64) -> i64 {
        Ord::max(now_ms - self.written_at_ms.load(Ordering::Acquire), 0)
    }

    /// Writes everything counted so far in one transaction: adds to the hourly rows and moves each
    /// key's last-used time forward. If the write fails, the counts go back into memory for the next try.
    ///
    /// Adding, never setting: several instances flushing the same key and hour each add their own
    /// counts, so the stored totals are the sum of every instance's.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<Flushed, ServiceError> {
        let started_ms = Utc::now().timestamp_millis();
        let flushed = self.write_counted(db).await?;
        self.written_at_ms.fetch_max(started_ms, Ordering::AcqRel);
        Ok(flushed)
    }

    async fn write_counted(&self, db: &DatabaseConnection) -> Result<Flushed, ServiceError> {
        let mut hours: HashMap<(Uuid, i64), Tally> =
            std::mem::take(&mut *self.closed.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut last_used = Vec::new();
        let mut idle = Vec::new();
        for meter in self.keys.iter() {
            let (hour, tally, at) = meter.take();
            if tally.valid == 0 && tally.denied == 0 && at == 0 {
                idle.push(*meter.key());
                continue;
            }
            let entry = hours
                .entry((*meter.key(), hour))
                .or_insert(Tally { organization_id: tally.organization_id, ..Tally::default() });
            entry.valid += tally.valid;
            entry.denied += tally.denied;
            if at > 0 {
                last_used.push((*meter.key(), at));
            }
        }
        // Keys unused for a whole flush interval leave memory (under the shard's exclusive lock, so
        // no use is being counted into them); keys in use stay, and keep their fast path.
        for key in idle {
            self.keys.remove_if(&key, |_, meter| meter.is_idle());
        }
        let mut hours: Vec<((Uuid, i64), Tally)> =
            hours.into_iter().filter(|(_, t)| t.valid > 0 || t.denied > 0).collect();
        // Rows in one order for every instance: two instances flushing at once wait for each other's
        // row locks instead of deadlocking.
        hours.sort_unstable_by_key(|(at, _)| *at);
        last_used.sort_unstable();
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
        for ((key, hour), tally) in hours {
            self.set_aside(key, hour, tally);
        }
        for (key, at) in last_used {
            if let Some(meter) = self.keys.get(&key) {
                meter.last_used.fetch_max(at, Ordering::AcqRel);
            }
        }
    }
}

async fn write(
    db: &DatabaseConnection,
    hours: &[((Uuid, i64), Tally)],
    last_used: &[(Uuid, i64)],
) -> Result<Flushed, ServiceError> {
    let txn = begin_write(db).await?;
    // Keys deleted since they were used have nothing left to count against.
    let mut wanted: Vec<Uuid> =
        hours.iter().map(|((key, _), _)| *key).chain(last_used.iter().map(|(key, _)| *key)).collect();
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
        let Some(at) = DateTime::<Utc>::from_timestamp_millis(*at) else {
            continue;
        };
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

    /// Calls (valid, denied) per key and hour, and each key's last call: what a flush writes.
    type Pending = (HashMap<(Uuid, i64), (u64, u64)>, HashMap<Uuid, i64>);

    /// What the next flush would write, without a database.
    fn pending(meter: &UsageMeter) -> Pending {
        let closed = std::mem::take(&mut *meter.closed.lock().unwrap());
        let mut hours: HashMap<(Uuid, i64), (u64, u64)> =
            closed.iter().map(|(k, t)| (*k, (t.valid, t.denied))).collect();
        let mut last = HashMap::new();
        for m in meter.keys.iter() {
            let (hour, tally, at) = m.take();
            let e = hours.entry((*m.key(), hour)).or_default();
            e.0 += tally.valid;
            e.1 += tally.denied;
            last.insert(*m.key(), at);
        }
        (hours, last)
    }

    #[test]
    fn uses_are_counted_per_key_and_hour_and_the_latest_use_wins() {
        let meter = UsageMeter::default();
        let (key, other, org) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        meter.record(key, org, true, 10 * HOUR_MS + 5);
        meter.record(key, org, false, 10 * HOUR_MS + 9);
        meter.record(key, org, true, 11 * HOUR_MS + 1);
        // A late call from the hour before counts in the current hour rather than being lost.
        meter.record(key, org, true, 10 * HOUR_MS + 7);
        meter.record(other, org, false, 11 * HOUR_MS + 2);
        let (hours, last) = pending(&meter);
        assert_eq!(hours[&(key, 10 * HOUR_MS)], (1, 1));
        assert_eq!(hours[&(key, 11 * HOUR_MS)], (2, 0));
        assert_eq!(hours[&(other, 11 * HOUR_MS)], (0, 1));
        assert_eq!(last[&key], 11 * HOUR_MS + 1);
        assert!(meter.is_empty(), "taking the counts leaves nothing behind");
    }

    #[test]
    fn concurrent_uses_are_all_counted() {
        let meter = UsageMeter::default();
        let (key, org) = (Uuid::now_v7(), Uuid::now_v7());
        std::thread::scope(|s| {
            for t in 0..4 {
                let meter = &meter;
                // Threads cross an hour boundary while counting.
                s.spawn(move || {
                    (0..10_000).for_each(|i| meter.record(key, org, i % 3 != 0, 10 * HOUR_MS - 5_000 + i + t))
                });
            }
        });
        let (hours, _) = pending(&meter);
        let (valid, denied) = hours.values().fold((0, 0), |(v, d), (hv, hd)| (v + hv, d + hd));
        assert_eq!((valid, denied), (4 * 6_666, 4 * 3_334));
    }
}
