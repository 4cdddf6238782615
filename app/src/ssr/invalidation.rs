//! Keeping every instance's key cache true to the database when several instances share one
//! PostgreSQL: a change to a key announces its digests on a channel (NOTIFY), and every instance
//! listens (LISTEN) and forgets them.
//!
//! The announcement is made inside the change's own transaction: PostgreSQL delivers it when the
//! transaction commits and never when it rolls back, so there is no window in which a change is
//! stored but not announced. SQLite serves one instance, whose cache the services clear directly.

use super::cache::KeyCache;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The PostgreSQL channel key changes are announced on.
pub const CHANNEL: &str = "keyward_key_changes";
/// The payload that stands for "forget every key" (a renamed project changes many verdicts).
const EVERYTHING: &str = "*";

/// What a committed change makes stale in other instances' caches.
#[derive(Debug, Clone, Copy)]
pub enum Stale<'a> {
    /// These digests (hex, as stored).
    Digests(&'a [&'a str]),
    Everything,
}

/// Announces, as part of the transaction `txn`, what its commit makes stale. Nothing on SQLite.
pub async fn announce(txn: &impl ConnectionTrait, stale: Stale<'_>) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let payload = match stale {
        // Two digests at most (a key's current and replaced secrets): far below NOTIFY's 8000 bytes.
        Stale::Digests(digests) => digests.join(","),
        Stale::Everything => EVERYTHING.to_owned(),
    };
    txn.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

/// What one announcement asks of a cache.
fn apply(cache: &KeyCache, payload: &str) {
    if payload == EVERYTHING {
        cache.clear();
    } else {
        cache.forget(payload.split(',').filter(|d| !d.is_empty()));
    }
    metrics::counter!("keyward_key_cache_invalidations_received_total").increment(1);
}

/// Listens for announcements and applies them to `cache`, for as long as the process runs. Nothing
/// to do on SQLite. When the connection drops, announcements made meanwhile are lost, so the whole
/// cache is cleared on reconnecting: the next verification of each key reads the database again.
pub async fn spawn_listener(db: &DatabaseConnection, cache: KeyCache) -> Result<Option<JoinHandle<()>>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let pool = db.get_postgres_connection_pool().clone();
    let mut listener = listen(&pool).await.map_err(|e| DbErr::Custom(format!("cannot listen for key changes: {e}")))?;
    Ok(Some(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => apply(&cache, notification.payload()),
                Ok(None) | Err(_) => {
                    tracing::warn!("lost the key-change channel; listening again, then clearing the key cache");
                    // LISTEN again first, clear second: a change committed while nobody listened is
                    // covered by the clear, and every change after the LISTEN arrives as usual.
                    let Some(again) = listen_again(&pool).await else { break };
                    listener = again;
                    cache.clear();
                }
            }
        }
    })))
}

async fn listen(pool: &sea_orm::sqlx::PgPool) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Listens again, retrying while the database is unreachable; `None` once the pool is closed (the
/// process is shutting down).
async fn listen_again(pool: &sea_orm::sqlx::PgPool) -> Option<sea_orm::sqlx::postgres::PgListener> {
    loop {
        match listen(pool).await {
            Ok(listener) => return Some(listener),
            Err(e) if db_closed(&e) || pool.is_closed() => return None,
            Err(e) => {
                tracing::warn!(error = %e, "key-change channel unavailable; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

fn db_closed(e: &sea_orm::sqlx::Error) -> bool {
    matches!(e, sea_orm::sqlx::Error::PoolClosed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::cache::Lookup;

    #[test]
    fn an_announcement_forgets_its_digests_or_everything() {
        let cache = KeyCache::default();
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        for digest in [a, b, c] {
            cache.remember(digest, Lookup::Unknown, cache.generation());
        }
        let now = chrono::Utc::now();
        apply(&cache, &format!("{},{}", hex::encode(a), hex::encode(b)));
        assert!(cache.get(&a, now).is_none() && cache.get(&b, now).is_none());
        assert!(cache.get(&c, now).is_some());
        apply(&cache, EVERYTHING);
        assert!(cache.get(&c, now).is_none());
    }
}
