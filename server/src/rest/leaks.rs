//! Leak reports from secret scanners, in GitHub's secret-scanning partner format: a signed JSON
//! list of the tokens found, answered with one label per token. Public (a scanner holds no Keyward
//! key), so nothing is read before the signature checks out.

use super::extract::{BODY_LIMIT, Caller, KeyId};
use super::problem::{ApiError, Problem};
use app::model::{FieldError, LeakAction};
use app::ssr::services::leaks::{self, FoundAt};
use app::ssr::{AppState, ClientAddress};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The most tokens one report may carry.
pub const MAX_REPORTED_TOKENS: usize = 1_000;

/// A token a scanner found.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportedToken {
    /// The secret as found.
    pub token: String,
    /// The scanner's name for the token's kind.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Where it was found.
    #[serde(default)]
    pub url: Option<String>,
    /// What it was found in (`content`, `commit`, `npm`, ...).
    #[serde(default)]
    pub source: Option<String>,
}

/// Whether a reported token was a key here.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A Keyward key of this server (current or replaced secret): handled as its organization's
    /// policy says.
    TruePositive,
    /// Not a key of this server.
    FalsePositive,
}

/// One label per reported token, in the order reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenLabel {
    pub token_raw: String,
    pub token_type: String,
    pub label: Label,
}

#[utoipa::path(post, path = "/api/v1/leaks/github", tag = "leaks", security(()),
    description = "For secret scanners: GitHub's secret-scanning partner format. The body is signed with \
        ECDSA P-256 / SHA-256 by a key the server is configured with (KEYWARD_LEAK_REPORT_KEYS): \
        `Github-Public-Key-Identifier` names the key, `Github-Public-Key-Signature` carries the \
        base64 DER signature. Each key found is disabled, revoked or left working, as its \
        organization's policy says, and recorded as `key.leaked`.",
    request_body = Vec<ReportedToken>,
    params(("Github-Public-Key-Identifier" = String, Header, description = "The signing key's identifier"),
        ("Github-Public-Key-Signature" = String, Header, description = "Base64 of the DER ECDSA signature of the body")),
    responses((status = 200, body = Vec<TokenLabel>), (status = 401, body = Problem, description = "Unsigned, or not signed by a configured key"),
        (status = 404, body = Problem, description = "Leak reports are off on this server"), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn github(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let reporters = &state.core.leak_reporters;
    if reporters.is_empty() {
        return Err(ApiError::LeakReportsOff);
    }
    let ip = request.extensions().get::<ClientAddress>().map(|ClientAddress(ip)| ip.to_string());
    let headers: HeaderMap = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit_kb: BODY_LIMIT / 1024 })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    reporters
        .check(header("github-public-key-identifier"), header("github-public-key-signature"), &body)
        .map_err(ApiError::LeakSignature)?;
    let reported = read_report(&body)?;
    let mut labels = Vec::with_capacity(reported.len());
    for found in reported {
        let at = FoundAt { url: found.url.as_deref(), source: found.source.as_deref() };
        let handled = leaks::report_from_scanner(&state.core, "github", ip.as_deref(), &found.token, at).await?;
        let label = if handled.is_some() { Label::TruePositive } else { Label::FalsePositive };
        labels.push(TokenLabel { token_raw: found.token, token_type: found.kind, label });
    }
    Ok((StatusCode::OK, Json(labels)).into_response())
}

/// A key reported leaked, and what its organization's policy did to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeakReported {
    pub key_id: Uuid,
    /// The visible start of its token.
    pub prefix: String,
    pub action: LeakAction,
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/report-leak", tag = "keys", params(("id" = Uuid, Path)),
    description = "Reports the key's secret as leaked: the organization's policy (disable, revoke or only notify) \
        is applied, and `key.leaked` recorded and sent. Needs what the policy does: `api_keys.update` to disable or \
        notify, `api_keys.revoke` to revoke. A decoy key is refused (409): each use of it is already an alert.",
    responses((status = 200, body = LeakReported), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn report_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<LeakReported>, ApiError> {
    let handled = leaks::report_key(&state.core, &caller, id).await?;
    Ok(Json(LeakReported { key_id: handled.key_id, prefix: handled.prefix, action: handled.action }))
}

/// The report's list, each fault naming its place (`[2].token: missing field`).
fn read_report(body: &Bytes) -> Result<Vec<ReportedToken>, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let reported: Vec<ReportedToken> = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            FieldError::new("body", "is not valid JSON")
        } else {
            app::ssr::input::fault(&e.path().to_string(), &e.inner().to_string())
        }
    })?;
    if reported.len() > MAX_REPORTED_TOKENS {
        return Err(
            FieldError::new("body", format!("holds {} tokens; at most {MAX_REPORTED_TOKENS}", reported.len())).into()
        );
    }
    Ok(reported)
}
