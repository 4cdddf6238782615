//! Plain HTTP routes of the dashboard that are not pages or server functions: downloads.

use crate::rest::extract::PeerIp;
use app::api::session_cookie_name;
use app::model::AuditQuery;
use app::ssr::services::{audit, auth};
use app::ssr::{AppState, ServiceError};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use std::collections::HashMap;

/// `GET /audit/export.csv?…`: the audit log, filtered as the page's URL says, for a signed-in member
/// whose role has `audit.export`.
pub async fn audit_csv(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    jar: CookieJar,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(token) = jar.get(session_cookie_name(state.secure_cookies)).map(|c| c.value().to_owned()) else {
        return (StatusCode::UNAUTHORIZED, "Please sign in.").into_response();
    };
    let mut member = match auth::authenticate(&state.core, &token).await {
        Ok(member) => member,
        Err(e) => return refusal(e),
    };
    member.ip = ip;
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
        Err(e) => refusal(e),
    }
}

/// A refusal in the words the dashboard uses (internal details stay in the log).
fn refusal(e: ServiceError) -> Response {
    (e.status(), app::model::AppError::from(e).to_string()).into_response()
}
