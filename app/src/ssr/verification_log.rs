//! The verification log's writer. A verification only appends its record to a buffer in memory;
//! the usage flush writes the buffer in batches (never one insert per request), and a background
//! task deletes what is older than the retention. The buffer is bounded: should the database stay
//! unreachable, the oldest unwritten records are kept and the newest dropped, and counted.

use crate::model::{Environment, VerifyCode};
use crate::ssr::db::FrequentWrites;
use crate::ssr::entities::key_verification;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use uuid::Uuid;

/// How long records are kept when `KEYWARD_VERIFICATION_LOG_DAYS` is not set.
pub const DEFAULT_DAYS: u32 = 30;
/// Records waiting in memory at most (about 200 bytes each).
const MAX_PENDING: usize = 200_000;
/// Rows per INSERT: 9 values each, well under SQLite's and PostgreSQL's bind-parameter limits.
const BATCH: usize = 500;

/// One verification, as it is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Clone)]
pub struct VerificationLog {
    /// 0: the log is off.
    days: u32,
    pending: Arc<Mutex<Vec<LoggedVerification>>>,
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
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() < MAX_PENDING {
            pending.push(entry);
        } else {
            drop(pending);
            ::metrics::counter!("keyward_verification_log_dropped_total").increment(1);
        }
    }

    /// Writes what is waiting, in batches; what could not be written waits for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let entries = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut written = 0;
        for batch in entries.chunks(BATCH) {
            let rows = batch.iter().map(|e| key_verification::ActiveModel {
                at: Set(e.at),
                organization_id: Set(e.organization_id),
                key_id: Set(e.key_id),
                caller_key_id: Set(e.caller_key_id),
                outcome: Set(e.outcome.as_str().to_owned()),
                address: Set(e.address.map(|a| a.to_string())),
                environment: Set(e.environment.map(|env| env.as_str().to_owned())),
                scopes: Set(e.scopes.clone()),
                credits_spent: Set(i32::try_from(e.credits_spent).unwrap_or(i32::MAX)),
                ..Default::default()
            });
            // A batch at a time on the frequent writers' connection: a credit spend waits for one
            // batch at most.
            if let Err(e) = key_verification::Entity::insert_many(rows).exec(self.writes.on(db)).await {
                // Put back what was not written, ahead of what arrived since.
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                let rest = &entries[written..];
                let room = MAX_PENDING.saturating_sub(pending.len()).min(rest.len());
                pending.splice(0..0, rest[..room].iter().cloned());
                return Err(e);
            }
            written += batch.len();
        }
        Ok(written)
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
