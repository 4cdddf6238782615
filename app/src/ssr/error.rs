use crate::model::KeyRejection;
use crate::model::{AppError, Environment, FieldError, FieldErrors, Plan, capitalize};
use crate::ssr::rate_limit::RateState;
use axum::http::StatusCode;
use sea_orm::DbErr;

/// What the business rules can refuse, or fail with. Converted once at each edge.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input: every field that is wrong.
    #[error(transparent)]
    Invalid(#[from] FieldErrors),
    #[error("not signed in")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A member's role does not allow this; the reason is for the person.
    #[error("{0}")]
    Forbidden(String),
    /// An API key without the scope the request needs.
    #[error("missing scope {0}")]
    MissingScope(&'static str),
    /// The API key calling was missing or is not usable.
    #[error("API key rejected: {0:?}")]
    KeyRejected(KeyRejection),
    /// The API key calling is over its rate limit.
    #[error("rate limited")]
    RateLimited(RateState),
    /// An API key used from an address outside its IP allowlist.
    #[error("address not allowed")]
    IpNotAllowed,
    /// An API key asked to work in another environment than its own.
    #[error("wrong environment: the key is for {key}, the request is for {requested}")]
    WrongEnvironment { key: Environment, requested: Environment },
    /// Too many sign-in attempts for an account or from an address.
    #[error("too many sign-in attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// More password work is waiting than the process takes on: come back later.
    #[error("overloaded")]
    Overloaded { retry_after_secs: u64 },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("plan limit reached ({plan}: {limit})")]
    PlanLimitReached { plan: Plan, limit: u32 },
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Something that should not happen: the cause stays attached for the log, never for the caller.
    #[error("internal: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e.into())
    }
}

impl ServiceError {
    /// The HTTP status this refusal answers with (server functions and the REST API alike).
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Unauthenticated
            | ServiceError::InvalidCredentials
            | ServiceError::KeyRejected(_)
            | ServiceError::WrongEnvironment { .. } => StatusCode::UNAUTHORIZED,
            ServiceError::RateLimited(_) | ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Forbidden(_) | ServiceError::MissingScope(_) | ServiceError::IpNotAllowed => {
                StatusCode::FORBIDDEN
            }
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) | ServiceError::PlanLimitReached { .. } => StatusCode::CONFLICT,
            ServiceError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Database(_) | ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs a failure on the server's side; the detail stays in the log, the caller gets a plain
    /// message. Work a finished request left behind (a page's render whose reader went away) may
    /// still reach for the database after shutdown closed its pool: that is the work being
    /// cancelled, not a fault, and is not logged as one.
    pub fn log(&self) {
        use sea_orm::error::ConnAcquireErr;
        match self {
            ServiceError::Database(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)) => {
                tracing::debug!("work cancelled: the database is closed for shutdown");
            }
            _ => tracing::error!(error = %self, "internal error"),
        }
    }

    /// How long to wait before trying again, for the refusals that say so (`Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ServiceError::TooManyAttempts { retry_after_secs } | ServiceError::Overloaded { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }
}

/// At the server-function edge: a refusal is a 4xx (not a logged 500), with the typed error as body.
impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(e.status());
            if let Some(secs) = e.retry_after_secs() {
                response.insert_header(axum::http::header::RETRY_AFTER, secs.into());
            }
        }
        match e {
            ServiceError::Invalid(errors) => AppError::Invalid(errors),
            ServiceError::Unauthenticated => AppError::Unauthenticated,
            ServiceError::InvalidCredentials => AppError::InvalidCredentials,
            ServiceError::Forbidden(reason) => AppError::Forbidden(reason),
            // Only API keys meet these; the dashboard never does.
            ServiceError::MissingScope(_)
            | ServiceError::WrongEnvironment { .. }
            | ServiceError::KeyRejected(_)
            | ServiceError::IpNotAllowed
            | ServiceError::RateLimited(_) => AppError::Forbidden("You do not have permission to do that.".into()),
            ServiceError::TooManyAttempts { retry_after_secs } => AppError::TooManyAttempts { retry_after_secs },
            ServiceError::Overloaded { retry_after_secs } => AppError::Overloaded { retry_after_secs },
            ServiceError::NotFound(what) => AppError::NotFound(capitalize(what)),
            ServiceError::Conflict(detail) => AppError::Conflict(detail),
            ServiceError::PlanLimitReached { plan, limit } => {
                AppError::PlanLimitReached { plan: plan.label().to_owned(), limit }
            }
            ServiceError::Database(_) | ServiceError::Internal(_) => {
                e.log();
                AppError::Internal
            }
        }
    }
}
