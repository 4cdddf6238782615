//! Credits spent by verifications: exact however many arrive at once, on however many instances.
//!
//! The database holds the count, and a spend is one conditional decrement (`… SET remaining =
//! remaining - cost WHERE remaining >= cost`) with a due refill folded into the same statement, so
//! no two verifications can spend the same credit and no refill can be applied twice. A crash
//! costs nothing but the credits of verifications whose decrement committed just before it, whose
//! answers were then never sent.
//!
//! One statement per verification would make a credit-limited key as slow as the database's
//! writes. Instead the verifications of one key that arrive while its decrement is in flight wait
//! and go together in the next one (a group commit): under load, one statement serves a batch.

use crate::model::Refill;
use crate::ssr::db::FrequentWrites;
use crate::ssr::entities::api_key;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;
use uuid::Uuid;

/// What a key's credits are, as the verification path keeps them with the key: only the terms.
/// The count itself changes with every verification and lives in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditTerms {
    pub refill: Option<Refill>,
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

/// The verifications of each key waiting for their spend, while one is being written.
#[derive(Default)]
pub struct CreditLedger {
    queues: DashMap<Uuid, Arc<Mutex<Queue>>>,
    writes: FrequentWrites,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Claim>,
    /// A task is writing this key's batches; new claims join the next one.
    draining: bool,
}

struct Claim {
    cost: u64,
    now: DateTime<Utc>,
    answer: oneshot::Sender<Spend>,
}

impl CreditLedger {
    /// A ledger whose spends are written where the process's frequent writes go (see
    /// `FrequentWrites`).
    pub fn writing_on(writes: FrequentWrites) -> Self {
        Self { queues: DashMap::default(), writes }
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
        let (answer, spent) = oneshot::channel();
        let queue = self.queues.entry(key).or_default().clone();
        let start = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(Claim { cost: u64::from(cost), now, answer });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            tokio::spawn(drain(self.writes.on(db).clone(), key, terms, queue));
        }
        // Dropped unanswered only when the batch's write failed (logged there).
        spent.await.map_err(|_| DbErr::Custom("the credits could not be written".into()))
    }
}

/// The most times a batch yields, waiting for more claims, when the key is busy (claims arrived
/// during the previous write). Each yield lets the runtime read the sockets and run the requests
/// that arrived: a statement costs the same for one claim or a hundred, so under load a batch
/// gathers every verification of the key in flight. It is taken as soon as a round of yields
/// brings no new claim; an idle key's first claim yields once, and waits for nothing.
const MAX_BUSY_YIELDS: usize = 64;

/// Writes `key`'s batches until no claim is waiting.
async fn drain(db: DatabaseConnection, key: Uuid, terms: CreditTerms, queue: Arc<Mutex<Queue>>) {
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
        let batch = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.waiting.is_empty() {
                queue.draining = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        if let Err(e) = settle(&db, key, terms, batch).await {
            // The batch's claims are dropped: each of their verifications fails as a server error.
            tracing::error!(key = %key, error = %e, "credits could not be spent");
        }
        busy = !queue.lock().unwrap_or_else(PoisonError::into_inner).waiting.is_empty();
    }
}

/// Spends a batch: all of it in one statement when the credits suffice; otherwise as many claims
/// as fit, in their order, after reading what is left. Retried when another instance spent first.
async fn settle(db: &DatabaseConnection, key: Uuid, terms: CreditTerms, batch: Vec<Claim>) -> Result<(), DbErr> {
    let now = batch.iter().map(|c| c.now).max().unwrap_or_else(Utc::now);
    let total = batch.iter().map(|c| c.cost).sum();
    if let Some(left) = decrement(db, key, terms, total, now).await? {
        answer(batch.into_iter().map(|claim| (claim, true)).collect(), left);
        return Ok(());
    }
    // Each retry follows a spend by another instance in between: bounded all the same.
    for _ in 0..MAX_RETRIES {
        let Some(available) = available(db, key, terms, now).await? else {
            for claim in batch {
                let _ = claim.answer.send(Spend::Unlimited);
            }
            return Ok(());
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
            return Ok(());
        }
        if let Some(left) = decrement(db, key, terms, granted, now).await? {
            answer(batch.into_iter().zip(decided).collect(), left);
            return Ok(());
        }
        // Another instance spent (or the key changed) between the read and the write: read again.
    }
    Err(DbErr::Custom(format!("the credits of key {key} kept changing during {MAX_RETRIES} attempts")))
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

/// The one statement: takes `amount` if at least that much is available (and at least one credit),
/// refilling first if a refill is due. `None` when it took nothing.
async fn decrement(
    db: &DatabaseConnection,
    key: Uuid,
    terms: CreditTerms,
    amount: u64,
    now: DateTime<Utc>,
) -> Result<Option<u64>, DbErr> {
    use api_key::Column;
    let amount = i64::try_from(amount).unwrap_or(i64::MAX);
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
        .and_where(available.gte(Ord::max(amount, 1)))
        .returning_col(Column::CreditsRemaining);
    match db.query_one(&update).await? {
        Some(row) => Ok(Some(u64::try_from(row.try_get::<i64>("", "credits_remaining")?).unwrap_or(0))),
        None => Ok(None),
    }
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
        (Claim { cost, now: Utc::now(), answer }, spent)
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
