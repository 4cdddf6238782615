//! Background work: writing the usage counted in memory, forgetting ended rate-limit windows
//! and recovered sign-in limits, and deleting ended sessions.

use app::ssr::Core;
use app::ssr::services::auth;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Flushes usage every `every`, and once more when `stop` turns true (graceful shutdown), so that
/// nothing counted is lost. A failed flush keeps its counts in memory for the next one.
pub fn spawn_usage_flush(core: Core, every: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => flush(&core).await,
                _ = stop.changed() => break,
            }
            let now_ms = chrono::Utc::now().timestamp_millis();
            core.limiter.forget_ended(now_ms);
            core.key_failures.forget_ended(now_ms);
            core.sign_in.forget_recovered();
            give_back_credit_reserves(&core, true).await;
        }
        flush(&core).await;
        give_back_credit_reserves(&core, false).await;
        tracing::info!("usage written");
    })
}

/// Puts back the credits held for keys that went quiet (all of them, when stopping), so that the
/// database's count is exact again.
async fn give_back_credit_reserves(core: &Core, quiet_only: bool) {
    match core.credits.give_back_reserves(&core.db, quiet_only).await {
        Ok(credits) if credits > 0 => tracing::debug!(credits, "credit reserves given back"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "giving back credit reserves failed; will retry"),
    }
}

async fn flush(core: &Core) {
    let started = std::time::Instant::now();
    if let Err(e) = core.verifications.flush(&core.db).await {
        metrics::counter!("keyward_verification_log_flush_failures_total").increment(1);
        tracing::warn!(error = %e, "writing the verification log failed; will retry");
    }
    let outcome = core.usage.flush(&core.db).await;
    metrics::histogram!("keyward_usage_flush_duration_seconds").record(started.elapsed().as_secs_f64());
    if outcome.is_err() {
        metrics::counter!("keyward_usage_flush_failures_total").increment(1);
    }
    match outcome {
        Ok(flushed) if flushed.hours > 0 || flushed.keys > 0 => {
            tracing::debug!(hours = flushed.hours, keys = flushed.keys, "usage flushed");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "usage flush failed; will retry"),
    }
}

/// How often ended sessions are deleted: they are refused the moment they end, so this only bounds
/// how long their rows linger.
pub const SESSION_PURGE_EVERY: Duration = Duration::from_secs(5 * 60);

/// Deletes the sessions that have ended (past their lifetime, or idle too long) every `every`, until
/// `stop` turns true. Several instances may purge the same database: deleting is idempotent. The
/// same tick keeps SQLite's planner statistics current as the keys grow (see
/// `db::refresh_planner_statistics`).
pub fn spawn_session_purge(core: Core, every: Duration, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    repeat(every, stop, move || {
        let core = core.clone();
        async move {
            purge_sessions(&core).await;
            purge_verification_log(&core).await;
            refresh_planner_statistics(&core).await;
        }
    })
}

/// Runs `round` at once and then every `every` (a late round delays the next rather than
/// bunching them), until `stop` turns true; a round under way is finished first.
pub fn repeat<F, R>(every: Duration, mut stop: watch::Receiver<bool>, mut round: F) -> JoinHandle<()>
where
    F: FnMut() -> R + Send + 'static,
    R: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => round().await,
                _ = stop.changed() => break,
            }
        }
    })
}

async fn refresh_planner_statistics(core: &Core) {
    if let Err(e) = app::ssr::db::refresh_planner_statistics(&core.db).await {
        tracing::warn!(error = %e, "refreshing the database's planner statistics failed; will retry");
    }
}

async fn purge_verification_log(core: &Core) {
    match core.verifications.purge(&core.db, chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(purged) => tracing::debug!(purged, "verifications past the log's retention deleted"),
        Err(e) => tracing::warn!(error = %e, "verification log purge failed; will retry"),
    }
}

async fn purge_sessions(core: &Core) {
    match auth::purge_ended_sessions(&core.db, &core.sessions, chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(purged) => {
            metrics::counter!("keyward_sessions_purged_total").increment(purged);
            tracing::debug!(purged, "ended sessions deleted");
        }
        Err(e) => tracing::warn!(error = %e, "session purge failed; will retry"),
    }
}
