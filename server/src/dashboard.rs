//! Plain HTTP routes of the dashboard that are not pages or server functions: downloads.

use app::model::{AppError, AuditQuery};
use app::ssr::AppState;
use app::ssr::services::{Member, audit};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// `GET /audit/export.csv?…`: the audit log, filtered as the page's URL says, for a signed-in member
/// whose role has `audit.export`.
pub async fn audit_csv(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let query = AuditQuery::from_params(|k| params.get(k).cloned());
    match audit::export_csv(&state.core.db, &member, query).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"keyward-audit.csv\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(e) => refusal(e.into()),
    }
}

/// The signed-in member, from the request's session cookie (authenticated once per request, as
/// for the server functions: see `RequestSignIn`).
pub struct SignedIn(pub Member);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        app::api::signed_in(state, parts).await.map(SignedIn).map_err(refusal)
    }
}

/// A refusal in the words the dashboard uses (internal details stay in the log).
fn refusal(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.to_string()).into_response()
}
