use super::cache::{KeyCache, StatsCache};
use super::credits::CreditLedger;
use super::db::FrequentWrites;
use super::leak_reports::LeakReporters;
use super::rate_limit::RateLimiter;
use super::services::auth::SessionPolicy;
use super::services::webhooks::WebhookSettings;
use super::throttle::{DecoyRecords, KeyFailureLimit, SignInThrottle};
use super::usage::UsageMeter;
use super::verification_log::VerificationLog;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::ops::Deref;
use std::sync::Arc;

/// The database and the in-memory key state that every request shares: what the services work on.
#[derive(Clone)]
pub struct Core {
    pub db: DatabaseConnection,
    /// Key state by digest, for the verification path.
    pub cache: KeyCache,
    /// The keys page's figures, per organization.
    pub stats: StatsCache,
    /// Calls counted in memory until the background task writes them.
    pub usage: UsageMeter,
    pub limiter: RateLimiter,
    /// Verifications waiting to be written to the verification log.
    pub verifications: VerificationLog,
    /// Verifications waiting to spend their keys' credits.
    pub credits: Arc<CreditLedger>,
    /// Sign-in attempts per account and per address.
    pub sign_in: SignInThrottle,
    /// API keys that turned out unknown, per address.
    pub key_failures: KeyFailureLimit,
    /// How long dashboard sessions last, in all and without activity.
    pub sessions: SessionPolicy,
    /// Where the log's batches and credit spends are written.
    pub frequent_writes: FrequentWrites,
    /// How webhooks are signed and where they may be sent.
    pub webhooks: WebhookSettings,
    /// The secret scanners whose leak reports are taken; none by default.
    pub leak_reporters: Arc<LeakReporters>,
    /// Decoy key uses recorded in the last few seconds.
    pub decoy_records: DecoyRecords,
}

impl Core {
    pub fn new(db: DatabaseConnection) -> Self {
        let frequent_writes = FrequentWrites::for_database(&db);
        Self {
            db,
            cache: KeyCache::default(),
            stats: StatsCache::default(),
            usage: UsageMeter::default(),
            limiter: RateLimiter::default(),
            credits: Arc::new(CreditLedger::writing_on(frequent_writes.clone())),
            verifications: VerificationLog::default().writing_on(frequent_writes.clone()),
            sign_in: SignInThrottle::default(),
            key_failures: KeyFailureLimit::default(),
            sessions: SessionPolicy::default(),
            frequent_writes,
            webhooks: WebhookSettings::default(),
            leak_reporters: Arc::default(),
            decoy_records: DecoyRecords::default(),
        }
    }

    /// With per-key rate limits counted elsewhere than in this process (Redis, shared by instances).
    pub fn with_limiter(self, limiter: RateLimiter) -> Self {
        Self { limiter, ..self }
    }

    /// With session lifetimes other than the defaults (the operator's settings).
    pub fn with_session_policy(self, sessions: SessionPolicy) -> Self {
        Self { sessions, ..self }
    }

    /// With the operator's secret key and webhook destinations.
    pub fn with_webhooks(self, webhooks: WebhookSettings) -> Self {
        Self { webhooks, ..self }
    }

    /// With the secret scanners the operator takes leak reports from.
    pub fn with_leak_reporters(self, reporters: LeakReporters) -> Self {
        Self { leak_reporters: Arc::new(reporters), ..self }
    }

    /// With the operator's retention for the verification log (0: off).
    pub fn with_verification_log(self, verifications: VerificationLog) -> Self {
        Self { verifications: verifications.writing_on(self.frequent_writes.clone()), ..self }
    }
}

/// What every request handler and server function can reach. A handle: axum clones the state for
/// every request (twice on `/api/v1`), so a clone is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub core: Core,
    /// Mark the session cookie `Secure` (set when Keyward is served over HTTPS).
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, core: Core, secure_cookies: bool) -> Self {
        Self(Arc::new(Shared { leptos_options, core, secure_cookies }))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
