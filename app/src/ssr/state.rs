use super::cache::KeyCache;
use super::rate_limit::RateLimiter;
use super::usage::UsageMeter;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

/// The database and the in-memory key state that every request shares: what the services work on.
#[derive(Clone)]
pub struct Core {
    pub db: DatabaseConnection,
    /// Key state by digest, for the verification path.
    pub cache: KeyCache,
    /// Calls counted in memory until the background task writes them.
    pub usage: UsageMeter,
    pub limiter: RateLimiter,
}

impl Core {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, cache: KeyCache::default(), usage: UsageMeter::default(), limiter: RateLimiter::default() }
    }
}

/// What every request handler and server function can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub core: Core,
    /// Mark the session cookie `Secure` (set when Keyward is served over HTTPS).
    pub secure_cookies: bool,
}
