//! The REST API's one error type, answered as RFC 9457 `application/problem+json` with a stable
//! machine `code`. No body ever carries a secret or an internal detail.

use app::model::FieldError;
use app::ssr::ServiceError;
use app::ssr::leak_reports::SignatureRefused;
use app::ssr::rate_limit::RateState;
use app::ssr::services::verification::KeyRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("no such endpoint")]
    NoSuchEndpoint,
    #[error("body over {limit_kb} KB")]
    BodyTooLarge { limit_kb: usize },
    /// No secret scanner is configured (KEYWARD_LEAK_REPORT_KEYS).
    #[error("leak reports are off")]
    LeakReportsOff,
    #[error("leak report refused: {0}")]
    LeakSignature(SignatureRefused),
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Service(e.into())
    }
}

impl From<app::model::FieldErrors> for ApiError {
    fn from(e: app::model::FieldErrors) -> Self {
        Self::Service(e.into())
    }
}

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank", "title": "Forbidden", "status": 403,
    "code": "INSUFFICIENT_SCOPE", "detail": "This key lacks the scope api_keys.create."
}))]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    /// Stable: MISSING_API_KEY, INVALID_API_KEY, KEY_EXPIRED, KEY_DISABLED, WRONG_ENVIRONMENT,
    /// INSUFFICIENT_SCOPE, FORBIDDEN, RATE_LIMITED, VALIDATION_FAILED, NOT_FOUND, CONFLICT,
    /// PLAN_LIMIT_REACHED, PAYLOAD_TOO_LARGE, OVERLOADED, INTERNAL_ERROR, LEAK_REPORTS_OFF,
    /// INVALID_SIGNATURE.
    pub code: &'static str,
    pub detail: String,
    /// For VALIDATION_FAILED: each field and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        let (status, code, detail, errors) = match self {
            ApiError::NoSuchEndpoint => {
                (StatusCode::NOT_FOUND, "NOT_FOUND", "There is no such endpoint.".to_owned(), Vec::new())
            }
            ApiError::LeakReportsOff => (
                StatusCode::NOT_FOUND,
                "LEAK_REPORTS_OFF",
                "This server takes no leak reports: no scanner's key is configured (KEYWARD_LEAK_REPORT_KEYS)."
                    .to_owned(),
                Vec::new(),
            ),
            ApiError::LeakSignature(refused) => (
                StatusCode::UNAUTHORIZED,
                "INVALID_SIGNATURE",
                format!("The report's signature was not taken: {refused}."),
                Vec::new(),
            ),
            ApiError::BodyTooLarge { limit_kb } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("The body is larger than {limit_kb} KB."),
                Vec::new(),
            ),
            ApiError::Service(e) => {
                let status = e.status();
                match e {
                    ServiceError::Invalid(errors) => (
                        status,
                        "VALIDATION_FAILED",
                        errors.iter().map(|e| format!("{} {}.", e.field, e.reason)).collect::<Vec<_>>().join(" "),
                        errors
                            .iter()
                            .map(|e| FieldProblem { field: e.field.clone(), reason: e.reason.clone() })
                            .collect(),
                    ),
                    ServiceError::KeyRejected(rejection) => {
                        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                        let (code, detail) = match rejection {
                            KeyRejection::Missing => (
                                "MISSING_API_KEY",
                                "Send an API key in the X-API-Key header or as Authorization: Bearer <key>.",
                            ),
                            KeyRejection::Invalid => ("INVALID_API_KEY", "The API key is not valid."),
                            KeyRejection::Expired => ("KEY_EXPIRED", "The API key has expired."),
                            KeyRejection::Disabled => ("KEY_DISABLED", "The API key is disabled."),
                        };
                        (status, code, detail.to_owned(), Vec::new())
                    }
                    ServiceError::WrongEnvironment { key, requested } => (
                        status,
                        "WRONG_ENVIRONMENT",
                        format!("This key works in {key} only; the request is for {requested}."),
                        Vec::new(),
                    ),
                    ServiceError::Unauthenticated | ServiceError::InvalidCredentials => {
                        (status, "INVALID_API_KEY", "The API key is not valid.".to_owned(), Vec::new())
                    }
                    ServiceError::MissingScope(scope) => {
                        (status, "INSUFFICIENT_SCOPE", format!("This key lacks the scope {scope}."), Vec::new())
                    }
                    ServiceError::Forbidden(reason) => (status, "FORBIDDEN", reason, Vec::new()),
                    ServiceError::IpNotAllowed => (
                        status,
                        "IP_NOT_ALLOWED",
                        "This key may not be used from this address (its IP allowlist).".to_owned(),
                        Vec::new(),
                    ),
                    ServiceError::RateLimited(rate) => {
                        let now_ms = chrono::Utc::now().timestamp_millis();
                        rate_limit_headers(&mut headers, &rate, now_ms);
                        let retry = rate.reset_after_secs(now_ms);
                        headers.insert(header::RETRY_AFTER, HeaderValue::from(retry));
                        (
                            status,
                            "RATE_LIMITED",
                            format!("This key's rate limit of {} is used up; retry in {retry} s.", rate.limit),
                            Vec::new(),
                        )
                    }
                    // The API signs no one in; the dashboard's limit on sign-in attempts, if it ever got here.
                    ServiceError::TooManyAttempts { retry_after_secs } => {
                        headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                        (status, "TOO_MANY_ATTEMPTS", format!("Retry in {retry_after_secs} s."), Vec::new())
                    }
                    ServiceError::Overloaded { retry_after_secs } => {
                        headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                        (
                            status,
                            "OVERLOADED",
                            format!("The server is busy; retry in {retry_after_secs} s."),
                            Vec::new(),
                        )
                    }
                    ServiceError::NotFound(what) => (status, "NOT_FOUND", format!("{what} not found."), Vec::new()),
                    ServiceError::Conflict(detail) => (status, "CONFLICT", detail, Vec::new()),
                    ServiceError::PlanLimitReached { plan, limit } => (
                        status,
                        "PLAN_LIMIT_REACHED",
                        format!("The {} plan allows {limit} keys. Upgrade the plan or revoke a key.", plan.label()),
                        Vec::new(),
                    ),
                    ServiceError::Database(_) | ServiceError::Internal(_) => {
                        e.log();
                        (status, "INTERNAL_ERROR", "Something went wrong on our side.".to_owned(), Vec::new())
                    }
                }
            }
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code,
            detail,
            errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        (status, headers, body).into_response()
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the window ends),
/// as the IETF draft names them.
pub fn rate_limit_headers(headers: &mut HeaderMap, rate: &RateState, now_ms: i64) {
    const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
    const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
    const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
    headers.insert(LIMIT, HeaderValue::from(rate.limit));
    headers.insert(REMAINING, HeaderValue::from(rate.remaining));
    headers.insert(RESET, HeaderValue::from(rate.reset_after_secs(now_ms)));
}
