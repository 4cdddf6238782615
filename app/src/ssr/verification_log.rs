//! The verification log's writer. A verification only adds its record to a buffer in memory; the
//! usage flush writes the buffer in batches (never one insert per request), and a background task
//! deletes what is older than the retention. The buffer is bounded: should the database stay
//! unreachable, the oldest unwritten records are kept and the newest dropped, and counted.
//!
//! Identical verifications within the same second (same key, caller, verdict, address,
//! environment, scopes and credits) are one entry, with their count and the first one's instant.
//! A busy integration verifies the same key from the same address many times a second: written row
//! by row, the log took more CPU than the verifications themselves (about 3.5 us a row on SQLite,
//! `make bench`); grouped, it costs a hash in memory. Nothing a reader asks is lost: who, what,
//! from where and how many, to the second.

use crate::model::{Environment, VerifyCode};
use crate::ssr::db::FrequentWrites;
use crate::ssr::entities::key_verification;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use indexmap::IndexMap;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use uuid::Uuid;

/// How long records are kept when `KEYWARD_VERIFICATION_LOG_DAYS` is not set.
pub const DEFAULT_DAYS: u32 = 30;
/// Entries waiting in memory at most (about 200 bytes each). Verifications identical to one waiting
/// are still counted when it is full.
const MAX_PENDING: usize = 200_000;
/// Rows per INSERT: 10 values each, well under SQLite's and PostgreSQL's bind-parameter limits.
const BATCH: usize = 500;

/// One verification, as it is logged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoggedVerification {
    pub at: DateTime<Utc>,
    pub organization_id: Uuid,
    /// The key presented, when it was found.
    pub key_id: Option<Uuid>,
    pub caller_key_id: Uuid,
    pub outcome: VerifyCode,
    pub address: Option<IpAddr>,
    pub environment: Option<Environment>,
    /// The scopes asked for, space-separated; none asked: `None`.
    pub scopes: Option<String>,
    pub credits_spent: u32,
}

/// The entries waiting to be written: each verification with its instant cut to the second, and
/// how the verifications it stands for went, in the order they first came.
type Pending = IndexMap<LoggedVerification, Seen, foldhash::fast::RandomState>;

/// The verifications one entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    /// The earliest one's instant.
    first_at: DateTime<Utc>,
    count: u32,
}

#[derive(Clone)]
pub struct VerificationLog {
    /// 0: the log is off.
    days: u32,
    pending: Arc<Mutex<Pending>>,
    writes: FrequentWrites,
}

impl Default for VerificationLog {
    fn default() -> Self {
        Self::keeping(DEFAULT_DAYS)
    }
}

impl VerificationLog {
    /// A log that keeps records `days` days; 0 turns it off.
    pub fn keeping(days: u32) -> Self {
        Self { days, pending: Arc::default(), writes: FrequentWrites::default() }
    }

    /// Writing its batches where the process's other frequent writes go (see `FrequentWrites`).
    pub fn writing_on(self, writes: FrequentWrites) -> Self {
        Self { writes, ..self }
    }

    /// How many days records are kept (0: the log is off).
    pub fn days(&self) -> u32 {
        self.days
    }

    pub fn is_on(&self) -> bool {
        self.days > 0
    }

    pub fn record(&self, entry: LoggedVerification) {
        if !self.is_on() {
            return;
        }
        let first_at = entry.at;
        let group = LoggedVerification { at: first_at.trunc_subsecs(0), ..entry };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let full = pending.len() >= MAX_PENDING;
        match pending.entry(group) {
            // Verifications running at once may be added out of their order.
            indexmap::map::Entry::Occupied(mut seen) => {
                let seen = seen.get_mut();
                seen.first_at = seen.first_at.min(first_at);
                seen.count = seen.count.saturating_add(1);
            }
            indexmap::map::Entry::Vacant(new) if !full => {
                new.insert(Seen { first_at, count: 1 });
            }
            indexmap::map::Entry::Vacant(_) => {
                drop(pending);
                ::metrics::counter!("keyward_verification_log_dropped_total").increment(1);
            }
        }
    }

    /// Writes what is waiting, in batches: how many verifications (not entries) were written. What
    /// could not be written waits for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let entries: Vec<(LoggedVerification, Seen)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner)).into_iter().collect();
        let mut written_entries = 0;
        let mut written = 0;
        for batch in entries.chunks(BATCH) {
            let rows = batch.iter().map(|(e, seen)| key_verification::ActiveModel {
                at: Set(seen.first_at),
                organization_id: Set(e.organization_id),
                key_id: Set(e.key_id),
                caller_key_id: Set(e.caller_key_id),
                outcome: Set(e.outcome.as_str().to_owned()),
                address: Set(e.address.map(|a| a.to_string())),
                environment: Set(e.environment.map(|env| env.as_str().to_owned())),
                scopes: Set(e.scopes.clone()),
                credits_spent: Set(i32::try_from(e.credits_spent).unwrap_or(i32::MAX)),
                count: Set(i32::try_from(seen.count).unwrap_or(i32::MAX)),
                ..Default::default()
            });
            // A batch at a time on the frequent writers' connection: a credit spend waits for one
            // batch at most. Without RETURNING: the ids are not needed, and on SQLite each would
            // come back from sqlx's worker thread as a row of its own (a channel send and a thread
            // wake-up per entry: a third of the write's CPU).
            let insert = key_verification::Entity::insert_many(rows).exec_without_returning(self.writes.on(db));
            if let Err(e) = insert.await {
                self.put_back(&entries[written_entries..]);
                return Err(e);
            }
            written_entries += batch.len();
            written += batch.iter().map(|(_, seen)| seen.count as usize).sum::<usize>();
        }
        Ok(written)
    }

    /// What a failed flush did not write, back in the buffer ahead of what came since (merged with
    /// it where identical): the oldest are kept, and the newest dropped if there is no room.
    fn put_back(&self, unwritten: &[(LoggedVerification, Seen)]) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let since = std::mem::take(&mut *pending);
        let mut dropped = 0;
        for (entry, seen) in unwritten.iter().cloned().chain(since) {
            let full = pending.len() >= MAX_PENDING;
            match pending.entry(entry) {
                indexmap::map::Entry::Occupied(mut waiting) => {
                    let waiting = waiting.get_mut();
                    waiting.first_at = waiting.first_at.min(seen.first_at);
                    waiting.count = waiting.count.saturating_add(seen.count);
                }
                indexmap::map::Entry::Vacant(room) if !full => {
                    room.insert(seen);
                }
                indexmap::map::Entry::Vacant(_) => dropped += u64::from(seen.count),
            }
        }
        drop(pending);
        if dropped > 0 {
            ::metrics::counter!("keyward_verification_log_dropped_total").increment(dropped);
        }
    }

    /// Deletes the records older than the retention: how many.
    pub async fn purge(&self, db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
        if !self.is_on() {
            return Ok(0);
        }
        let before = now - Duration::days(i64::from(self.days));
        let deleted =
            key_verification::Entity::delete_many().filter(key_verification::Column::At.lt(before)).exec(db).await?;
        Ok(deleted.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::db;
    use chrono::TimeZone;
    use sea_orm::{EntityTrait, QueryOrder};

    fn verification(at: DateTime<Utc>, address: Option<&str>) -> LoggedVerification {
        LoggedVerification {
            at,
            organization_id: Uuid::nil(),
            key_id: Some(Uuid::nil()),
            caller_key_id: Uuid::nil(),
            outcome: VerifyCode::Valid,
            address: address.map(|a| a.parse().expect("address")),
            environment: Some(Environment::Production),
            scopes: None,
            credits_spent: 1,
        }
    }

    /// A flush that fails keeps what it could not write, ahead of what came since and merged with
    /// the identical: the next flush writes each verification once, counted.
    #[tokio::test]
    async fn a_failed_flush_loses_nothing_and_the_next_writes_each_verification_once() {
        let log = VerificationLog::default();
        let second = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).single().expect("moment");
        let at = |ms| second + Duration::milliseconds(ms);
        log.record(verification(at(100), None));
        log.record(verification(at(400), None));
        log.record(verification(at(500), Some("192.0.2.1")));
        // A database without the log's table: the insert fails.
        let unready = sea_orm::Database::connect("sqlite::memory:").await.expect("database");
        assert!(log.flush(&unready).await.is_err());
        // Arrived meanwhile: one like the first two, and one in the next second.
        log.record(verification(at(50), None));
        log.record(verification(at(1_200), None));

        let ready = db::connect_and_migrate("sqlite::memory:").await.expect("database");
        assert_eq!(log.flush(&ready).await.expect("written"), 5);
        assert_eq!(log.flush(&ready).await.expect("nothing left"), 0);
        let rows = key_verification::Entity::find()
            .order_by_asc(key_verification::Column::Id)
            .all(&ready)
            .await
            .expect("rows");
        let entries: Vec<_> = rows.iter().map(|r| (r.at, r.address.as_deref(), r.count, r.credits_spent)).collect();
        assert_eq!(
            entries,
            [(at(50), None, 3, 1), (at(500), Some("192.0.2.1"), 1, 1), (at(1_200), None, 1, 1)],
            "the unwritten first, then what came since; each entry at its earliest verification"
        );
    }
}
