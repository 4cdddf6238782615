//! Credits spent by verifications: exact however many arrive at once, on however many instances.
//!
//! The database holds the count, and a spend is one conditional decrement (`… SET remaining =
//! remaining - cost WHERE remaining >= cost`) with a due refill folded into the same statement, so
//! no two verifications can spend the same credit and no refill can be applied twice.
//!
//! One statement per verification would make a credit-limited key as slow as the database's
//! writes. Two things keep it cheap:
//! - The verifications of one key that arrive while its decrement is in flight wait and go
//!   together in the next one (a group commit): under load, one statement serves a batch.
//! - A key with many credits left also has a *reserve* on each instance that verifies it: a
//!   decrement takes a thousandth of what is left (at most [`MAX_RESERVE`]) beyond what its batch
//!   spends, and the next verifications spend from memory until it runs out. A key with fewer than
//!   1,000 credits left never has one, so its last credits are exact across instances. A reserve
//!   is given back (unless the key's credits were set or refilled since) when the key goes quiet,
//!   changes, or the instance stops. A crash costs the reserve's unspent credits, and the answers
//!   already counted whose responses were never sent; nothing is ever granted twice.

use crate::model::Refill;
use crate::ssr::ByKey;
use crate::ssr::db::FrequentWrites;
use crate::ssr::entities::api_key;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;
use uuid::Uuid;

/// What a key's credits are, as the verification path keeps them with the key: only the terms.
/// The count itself changes with every verification and lives in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditTerms {
    pub refill: Option<Refill>,
    /// Which reading of the key these terms come from: a reserve taken under one reading is not
    /// spent under the next (the key may have been given new credits meanwhile).
    pub reading: u64,
}

impl CreditTerms {
    /// The terms as just read from the database: a reading no earlier one shares.
    pub fn read(refill: Option<Refill>) -> Self {
        static READINGS: AtomicU64 = AtomicU64::new(1);
        Self { refill, reading: READINGS.fetch_add(1, Ordering::Relaxed) }
    }
}

/// The outcome of one verification's spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Spent: `remaining` is what this verification left.
    Granted { remaining: u64 },
    /// Not enough left: nothing was spent.
    Refused { remaining: u64 },
    /// The key turned out to have no credit limit (it was removed a moment ago).
    Unlimited,
}

/// The most credits one instance holds back for a key: a crash can cost that many.
pub const MAX_RESERVE: u64 = 1_000;

/// A reserve is this fraction of the credits the database had left when it was taken.
const RESERVE_SHARE: u64 = 1_000;

/// The verifications of each key waiting for their spend, while one is being written.
#[derive(Default)]
pub struct CreditLedger {
    queues: ByKey<Arc<Mutex<Queue>>>,
    writes: FrequentWrites,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Claim>,
    /// A task is writing this key's batches; new claims join the next one.
    draining: bool,
    /// Credits taken from the database ahead of the verifications that spend them.
    reserve: Option<Reserve>,
    /// Reserves no longer spent from, for the next batch's task to give back first.
    to_give_back: Vec<Reserve>,
    /// What the database had left after this key's last statement; sizes the next reserve.
    left_in_database: Option<u64>,
}

/// Credits this instance took from a key's count and has not spent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reserve {
    credits: u64,
    /// What the database had left besides, when it was taken: a verification served from the
    /// reserve answers with both.
    left_in_database: u64,
    /// The key's `credits_refilled_at` when it was taken. Set anew by every refill and every
    /// change of the key's credits: a reserve is given back only if it is unchanged.
    epoch: DateTime<Utc>,
    /// From then on a refill is due, which replaces the count: the reserve is void.
    void_from: Option<DateTime<Utc>>,
    reading: u64,
    /// Spent from since the last sweep for quiet keys.
    used: bool,
}

impl Reserve {
    /// Spends `cost` from the reserve, if it is still the key's and holds that much (and at least
    /// one credit: a cost of 0 is valid only while credits are left).
    fn spend(&mut self, terms: CreditTerms, cost: u64, now: DateTime<Utc>) -> Option<Spend> {
        if !self.is_current(terms, now) || self.credits < Ord::max(cost, 1) {
            return None;
        }
        self.credits -= cost;
        self.used = true;
        Some(Spend::Granted { remaining: self.left_in_database + self.credits })
    }

    fn is_current(&self, terms: CreditTerms, now: DateTime<Utc>) -> bool {
        self.reading == terms.reading && self.void_from.is_none_or(|from| now < from)
    }
}

struct Claim {
    terms: CreditTerms,
    cost: u64,
    now: DateTime<Utc>,
    answer: oneshot::Sender<Spend>,
}

impl CreditLedger {
    /// A ledger whose spends are written where the process's frequent writes go (see
    /// `FrequentWrites`).
    pub fn writing_on(writes: FrequentWrites) -> Self {
        Self { queues: ByKey::default(), writes }
    }

    /// Spends `cost` of key `key`'s credits, or refuses to if fewer are left. `cost` 0 spends
    /// nothing, but is still refused at 0 credits: a key with none left is not valid.
    pub async fn spend(
        &self,
        db: &DatabaseConnection,
        key: Uuid,
        terms: CreditTerms,
        cost: u32,
        now: DateTime<Utc>,
    ) -> Result<Spend, DbErr> {
        let cost = u64::from(cost);
        let queue = self.queues.entry(key).or_default().clone();
        let (spent, start) = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(spend) = queue.reserve.as_mut().and_then(|reserve| reserve.spend(terms, cost, now)) {
                return Ok(spend);
            }
            // Too small, or no longer the key's: what is left of it goes back before the batch.
            if let Some(reserve) = queue.reserve.take()
                && reserve.credits > 0
            {
                queue.to_give_back.push(reserve);
            }
            let (answer, spent) = oneshot::channel();
            queue.waiting.push(Claim { terms, cost, now, answer });
            (spent, !std::mem::replace(&mut queue.draining, true))
        };
        if start {
            tokio::spawn(drain(self.writes.on(db).clone(), key, queue));
        }
        // Dropped unanswered only when the batch's write failed (logged there).
        spent.await.map_err(|_| DbErr::Custom("the credits could not be written".into()))
    }

    /// Gives back the reserves of keys not verified since the last call (every reserve, when
    /// `quiet_only` is false: the instance is stopping), so that the database's count is exact
    /// again while a key rests. Returns the credits given back.
    pub async fn give_back_reserves(&self, db: &DatabaseConnection, quiet_only: bool) -> Result<u64, DbErr> {
        let queues: Vec<(Uuid, Arc<Mutex<Queue>>)> =
            self.queues.iter().map(|entry| (*entry.key(), entry.value().clone())).collect();
        let (mut given, mut failed) = (0, None);
        for (key, queue) in queues {
            let reserves = {
                let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
                let quiet = !quiet_only || queue.reserve.is_some_and(|r| !r.used);
                if let Some(reserve) = queue.reserve.as_mut() {
                    reserve.used = false;
                }
                let mut reserves = std::mem::take(&mut queue.to_give_back);
                reserves.extend(quiet.then(|| queue.reserve.take()).flatten());
                reserves
            };
            for reserve in reserves {
                match give_back(self.writes.on(db), key, reserve).await {
                    Ok(credits) => given += credits,
                    // Not tried again: the statement may have committed before its answer was
                    // lost, and adding the credits twice would grant them twice. Lost, as in a
                    // crash: the count is short by the reserve, never over.
                    Err(e) => failed = Some(e),
                }
            }
        }
        failed.map_or(Ok(given), Err)
    }

    /// The credits this instance holds for `key` out of the count `epoch` names (the key's
    /// `credits_refilled_at` as just read), unless a refill is due by `now`: what a page adds to
    /// the database's count so that a key verified here reads as its verifications were told.
    pub fn held(&self, key: Uuid, epoch: Option<DateTime<Utc>>, now: DateTime<Utc>) -> u64 {
        let Some(epoch) = epoch else { return 0 };
        self.queues.get(&key).map_or(0, |queue| {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            let from_count = |r: &&Reserve| r.epoch == epoch && r.void_from.is_none_or(|from| now < from);
            queue.reserve.iter().chain(&queue.to_give_back).filter(from_count).map(|r| r.credits).sum()
        })
    }

    /// The credits this instance holds back for `key`, for tests.
    pub fn reserved(&self, key: Uuid) -> u64 {
        self.queues.get(&key).map_or(0, |queue| {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.reserve.map_or(0, |r| r.credits) + queue.to_give_back.iter().map(|r| r.credits).sum::<u64>()
        })
    }
}

/// The most times a batch yields, waiting for more claims, when the key is busy (claims arrived
/// during the previous write). Each yield lets the runtime read the sockets and run the requests
/// that arrived: a statement costs the same for one claim or a hundred, so under load a batch
/// gathers every verification of the key in flight. It is taken as soon as a round of yields
/// brings no new claim; an idle key's first claim yields once, and waits for nothing.
const MAX_BUSY_YIELDS: usize = 64;

/// Writes `key`'s batches until no claim is waiting.
async fn drain(db: DatabaseConnection, key: Uuid, queue: Arc<Mutex<Queue>>) {
    let mut busy = false;
    loop {
        // Lets the verifications already running reach the queue first: when the machine is busy
        // they would otherwise each wait for a statement of their own.
        tokio::task::yield_now().await;
        if busy {
            let waiting = || queue.lock().unwrap_or_else(PoisonError::into_inner).waiting.len();
            let mut seen = waiting();
            for _ in 0..MAX_BUSY_YIELDS {
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                let now_waiting = waiting();
                if now_waiting == seen {
                    break;
                }
                seen = now_waiting;
            }
        }
        let (batch, to_give_back, left_in_database) = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            // Claims that queued while the last batch took a reserve are served from it first.
            let waiting = std::mem::take(&mut queue.waiting);
            let mut batch = Vec::with_capacity(waiting.len());
            for claim in waiting {
                match queue.reserve.as_mut().and_then(|reserve| reserve.spend(claim.terms, claim.cost, claim.now)) {
                    Some(spend) => {
                        let _ = claim.answer.send(spend);
                    }
                    None => batch.push(claim),
                }
            }
            if batch.is_empty() {
                queue.draining = false;
                return;
            }
            if let Some(reserve) = queue.reserve.take()
                && reserve.credits > 0
            {
                queue.to_give_back.push(reserve);
            }
            (batch, std::mem::take(&mut queue.to_give_back), queue.left_in_database)
        };
        for reserve in to_give_back {
            if let Err(e) = give_back(&db, key, reserve).await {
                // Lost, as in a crash: the count is short by the reserve, never over.
                tracing::warn!(key = %key, error = %e, credits = reserve.credits, "a credit reserve could not be given back");
            }
        }
        match settle(&db, key, batch, left_in_database).await {
            Ok(settled) => {
                let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
                queue.left_in_database = Some(settled.left_in_database);
                // The key had none while this batch was written: claims go to the reserve first.
                queue.reserve = settled.reserve;
            }
            Err(e) => {
                // The batch's claims are dropped: each of their verifications fails as a server error.
                tracing::error!(key = %key, error = %e, "credits could not be spent");
            }
        }
        busy = !queue.lock().unwrap_or_else(PoisonError::into_inner).waiting.is_empty();
    }
}

/// What a batch leaves behind it.
struct Settled {
    left_in_database: u64,
    reserve: Option<Reserve>,
}

/// Spends a batch: all of it in one statement when the credits suffice, with a reserve on top when
/// the key has many; otherwise as many claims as fit, in their order, after reading what is left.
/// Retried when another instance spent first.
async fn settle(
    db: &DatabaseConnection,
    key: Uuid,
    batch: Vec<Claim>,
    left_before: Option<u64>,
) -> Result<Settled, DbErr> {
    let now = batch.iter().map(|c| c.now).max().unwrap_or_else(Utc::now);
    // The newest reading of the key's terms among the batch's verifications.
    let terms = batch.iter().map(|c| c.terms).max_by_key(|t| t.reading).unwrap_or(CreditTerms::read(None));
    let total: u64 = batch.iter().map(|c| c.cost).sum();
    // Sized from what this instance last saw, which may be old (the credits set anew since, or
    // spent elsewhere): the statement itself takes it only if what it finds is large enough for
    // it, so a key with fewer than RESERVE_SHARE credits never has one.
    let wanted = left_before.map_or(0, reserve_for);
    if wanted > 0
        && let Some(taken) =
            decrement(db, key, terms, total + wanted, total + wanted.saturating_mul(RESERVE_SHARE), now).await?
    {
        answer(batch.into_iter().map(|claim| (claim, true)).collect(), taken.left + wanted);
        let reserve = taken.epoch.map(|epoch| Reserve {
            credits: wanted,
            left_in_database: taken.left,
            epoch,
            void_from: terms.refill.map(|refill| refill.next_at(epoch)),
            reading: terms.reading,
            used: true,
        });
        // Without an epoch to guard its return, a reserve is not kept: it counts as spent.
        return Ok(Settled { left_in_database: taken.left, reserve });
    }
    if let Some(taken) = decrement(db, key, terms, total, total, now).await? {
        answer(batch.into_iter().map(|claim| (claim, true)).collect(), taken.left);
        return Ok(Settled { left_in_database: taken.left, reserve: None });
    }
    // Each retry follows a spend by another instance in between: bounded all the same.
    for _ in 0..MAX_RETRIES {
        let Some(available) = available(db, key, terms, now).await? else {
            for claim in batch {
                let _ = claim.answer.send(Spend::Unlimited);
            }
            return Ok(Settled { left_in_database: 0, reserve: None });
        };
        let mut budget = available;
        let mut granted = 0;
        let decided: Vec<bool> = batch
            .iter()
            .map(|claim| {
                let fits = budget > 0 && claim.cost <= budget;
                if fits {
                    budget -= claim.cost;
                    granted += claim.cost;
                }
                fits
            })
            .collect();
        if !decided.contains(&true) {
            answer(batch.into_iter().map(|claim| (claim, false)).collect(), available);
            return Ok(Settled { left_in_database: available, reserve: None });
        }
        if let Some(taken) = decrement(db, key, terms, granted, granted, now).await? {
            answer(batch.into_iter().zip(decided).collect(), taken.left);
            return Ok(Settled { left_in_database: taken.left, reserve: None });
        }
        // Another instance spent (or the key changed) between the read and the write: read again.
    }
    Err(DbErr::Custom(format!("the credits of key {key} kept changing during {MAX_RETRIES} attempts")))
}

/// The reserve to take when the database has `left` credits: none below [`RESERVE_SHARE`].
fn reserve_for(left: u64) -> u64 {
    Ord::min(left / RESERVE_SHARE, MAX_RESERVE)
}

/// How many times a batch reads and tries again when the credits changed between its read and write.
const MAX_RETRIES: usize = 16;

/// Tells each claim its outcome. Granted claims learn what each left, in order, as if they had
/// been spent one by one; refused ones learn what is left after the batch.
fn answer(claims: Vec<(Claim, bool)>, left: u64) {
    let mut after = left + claims.iter().filter(|(_, granted)| *granted).map(|(c, _)| c.cost).sum::<u64>();
    for (claim, granted) in claims {
        let spend = if granted {
            after -= claim.cost;
            Spend::Granted { remaining: after }
        } else {
            Spend::Refused { remaining: left }
        };
        // The verification may have been cancelled (its caller went away): its credits are spent.
        let _ = claim.answer.send(spend);
    }
}

/// What a decrement took from: the count it left, and the key's credits epoch (see [`Reserve`]).
struct Taken {
    left: u64,
    epoch: Option<DateTime<Utc>>,
}

/// The one statement: takes `amount` if at least `needed` (at least `amount`, and at least one
/// credit) is available, refilling first if a refill is due. `None` when it took nothing.
async fn decrement(
    db: &DatabaseConnection,
    key: Uuid,
    terms: CreditTerms,
    amount: u64,
    needed: u64,
    now: DateTime<Utc>,
) -> Result<Option<Taken>, DbErr> {
    use api_key::Column;
    let stored = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let (amount, needed) = (stored(amount), stored(Ord::max(Ord::max(needed, amount), 1)));
    let mut update = Query::update();
    update.table(api_key::Entity);
    let available = match terms.refill {
        Some(refill) => {
            let due = Expr::col(Column::CreditsRefillAmount).is_not_null().and(
                Expr::col(Column::CreditsRefilledAt)
                    .is_null()
                    .or(Expr::col(Column::CreditsRefilledAt).lt(refill.last_at(now))),
            );
            update.value(
                Column::CreditsRefilledAt,
                Expr::case(due.clone(), Expr::val(now)).finally(Expr::col(Column::CreditsRefilledAt)),
            );
            Expr::case(due, Expr::col(Column::CreditsRefillAmount)).finally(Expr::col(Column::CreditsRemaining)).into()
        }
        None => Expr::col(Column::CreditsRemaining),
    };
    update
        .value(Column::CreditsRemaining, available.clone().sub(amount))
        .and_where(Expr::col(Column::Id).eq(key))
        .and_where(Expr::col(Column::CreditsRemaining).is_not_null())
        .and_where(available.gte(needed))
        .returning(Query::returning().columns([Column::CreditsRemaining, Column::CreditsRefilledAt]));
    let Some(row) = db.query_one(&update).await? else {
        return Ok(None);
    };
    Ok(Some(Taken {
        left: u64::try_from(row.try_get::<i64>("", "credits_remaining")?).unwrap_or(0),
        epoch: row.try_get::<Option<DateTime<Utc>>>("", "credits_refilled_at")?,
    }))
}

/// Puts a reserve's unspent credits back, unless the key's credits were set or refilled since it
/// was taken (either replaced the count the reserve came from). Returns the credits given back.
async fn give_back(db: &DatabaseConnection, key: Uuid, reserve: Reserve) -> Result<u64, DbErr> {
    use api_key::Column;
    if reserve.credits == 0 {
        return Ok(0);
    }
    let credits = i64::try_from(reserve.credits).unwrap_or(i64::MAX);
    let mut update = Query::update();
    update
        .table(api_key::Entity)
        .value(Column::CreditsRemaining, Expr::col(Column::CreditsRemaining).add(credits))
        .and_where(Expr::col(Column::Id).eq(key))
        .and_where(Expr::col(Column::CreditsRemaining).is_not_null())
        .and_where(Expr::col(Column::CreditsRefilledAt).eq(reserve.epoch));
    let given = db.execute(&update).await?.rows_affected();
    Ok(if given > 0 { reserve.credits } else { 0 })
}

/// The credits available now, a due refill counted exactly as [`decrement`] counts it (the refill's
/// moment from `terms`, its amount from the row); `None` when the key has no credit limit.
async fn available(
    db: &DatabaseConnection,
    key: Uuid,
    terms: CreditTerms,
    now: DateTime<Utc>,
) -> Result<Option<u64>, DbErr> {
    let Some(row) = api_key::Entity::find_by_id(key).one(db).await? else {
        return Ok(None);
    };
    let due = |amount: i64| {
        terms
            .refill
            .is_some_and(|refill| row.credits_refilled_at.is_none_or(|at| at < refill.last_at(now)))
            .then_some(amount)
    };
    let left = row.credits_refill_amount.and_then(due).or(row.credits_remaining);
    Ok(row.credits_remaining.and(left).map(|n| u64::try_from(n).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(cost: u64) -> (Claim, oneshot::Receiver<Spend>) {
        let (answer, spent) = oneshot::channel();
        (Claim { terms: CreditTerms::read(None), cost, now: Utc::now(), answer }, spent)
    }

    #[test]
    fn a_reserve_is_spent_only_under_the_terms_it_was_taken_with_and_before_a_refill() {
        use crate::model::RefillPeriod;
        let refill = Refill { amount: 100, period: RefillPeriod::Daily, day: 1 };
        let (terms, epoch) = (CreditTerms::read(Some(refill)), Utc::now());
        let mut reserve = Reserve {
            credits: 3,
            left_in_database: 500,
            epoch,
            void_from: Some(refill.next_at(epoch)),
            reading: terms.reading,
            used: false,
        };
        assert_eq!(reserve.spend(terms, 2, epoch), Some(Spend::Granted { remaining: 501 }));
        assert!(reserve.used);
        assert_eq!(reserve.spend(terms, 2, epoch), None, "1 left: a cost of 2 goes to the database");
        assert_eq!(reserve.spend(CreditTerms::read(Some(refill)), 1, epoch), None, "the key was read anew");
        let tomorrow = refill.next_at(epoch);
        assert_eq!(reserve.spend(terms, 1, tomorrow), None, "a refill is due: the reserve is void");
        assert_eq!(reserve.spend(terms, 0, epoch), Some(Spend::Granted { remaining: 501 }));
        assert_eq!(reserve.spend(terms, 1, epoch), Some(Spend::Granted { remaining: 500 }));
        assert_eq!(reserve.spend(terms, 0, epoch), None, "none left: even a cost of 0 asks the database");
    }

    #[test]
    fn a_reserve_is_a_thousandth_of_what_is_left_and_never_more_than_the_most() {
        assert_eq!([999, 1_000, 54_321, 10_000_000].map(reserve_for), [0, 1, 54, MAX_RESERVE]);
    }

    #[test]
    fn a_batch_answers_each_claim_with_what_it_left() {
        let (claims, mut spent): (Vec<_>, Vec<_>) = [2, 5, 1].into_iter().map(claim).unzip();
        // 3 claims, the middle one refused; 4 left after the batch.
        answer(claims.into_iter().zip([true, false, true]).collect(), 4);
        let outcomes: Vec<_> = spent.iter_mut().map(|s| s.try_recv().expect("answered")).collect();
        assert_eq!(
            outcomes,
            [Spend::Granted { remaining: 5 }, Spend::Refused { remaining: 4 }, Spend::Granted { remaining: 4 }]
        );
    }
}
