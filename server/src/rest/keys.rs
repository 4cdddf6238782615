//! `/api/v1/keys` and `/api/v1/stats`: what the dashboard's keys page does, for scripts and CI.
//! Thin: each handler reads its input, calls the same service as the dashboard, shapes the answer.

use super::dto::{
    CreateKey, EditKey, Key, KeyList, KeyWithToken, ListParams, RotateKey, SetCredits, SetIpAllowlist, SetRateLimit,
    SetScopes, StatsSummary, Usage, VerificationList, VerificationParams,
};
use super::extract::{ApiJson, ApiQuery, Caller, KeyId};
use super::problem::{ApiError, Problem};
use app::model::{Expiration, FieldError, KeyEdit, KeyQuery, KeySort, KeyStatus, NewKey, RotationGrace};
use app::ssr::AppState;
use app::ssr::services::keys;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;

#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", params(ListParams),
    description = "Needs `api_keys.read`. Keys of the calling key's project and environment (every project with `api_keys.manage_all`).",
    responses((status = 200, body = KeyList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<KeyList>, ApiError> {
    let query = key_query(params)?;
    Ok(Json(keys::list(&state.core, &caller, &query).await?.into()))
}

fn key_query(params: ListParams) -> Result<KeyQuery, FieldError> {
    let environment = params
        .environment
        .map(|e| e.parse().map_err(|_| FieldError::new("environment", "must be production, staging or development")))
        .transpose()?;
    let status = params
        .status
        .map(|s| {
            KeyStatus::from_name(&s)
                .ok_or_else(|| FieldError::new("status", "must be active, disabled, expired or revoked"))
        })
        .transpose()?;
    let sort = params
        .sort
        .map(|s| KeySort::from_name(&s).ok_or_else(|| FieldError::new("sort", "must be created, last_used or name")))
        .transpose()?
        .unwrap_or_default();
    let unused = params
        .unused
        .map(|u| u.parse().map_err(|_| FieldError::new("unused", "must be never, 30d, 60d or 90d")))
        .transpose()?;
    // Page, page size and search are checked by the key service, for the dashboard and here alike.
    let page = params.page.unwrap_or(1);
    let per_page = params.per_page.unwrap_or(KeyQuery::default().per_page);
    Ok(KeyQuery {
        search: params.q.unwrap_or_default(),
        project: params.project_id,
        environment,
        status,
        hide_revoked: params.hide_revoked.unwrap_or(false),
        external_id: params.external_id,
        unused,
        sort,
        page,
        per_page,
    })
}

#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = CreateKey,
    description = "Needs `api_keys.create`. The answer holds the new key's token, once.",
    responses((status = 201, body = KeyWithToken), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "The plan's key limit is reached"),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<KeyWithToken>), ApiError> {
    let expiration = expiration(body.expires_in_days, body.expires_on)?.unwrap_or(Expiration::Never);
    let input = NewKey {
        name: body.name,
        description: body.description,
        project_id: body.project_id.unwrap_or(caller.key.project_id),
        environment: body.environment.unwrap_or(caller.key.environment),
        scopes: body.scopes,
        expiration,
        rate_limit: body.rate_limit.map(|l| l.validated("rate_limit")).transpose()?,
        credits: body.credits.map(|c| c.validated("credits")).transpose()?,
        ip_allowlist: body.ip_allowlist,
        external_id: body.external_id,
        meta: body.meta.as_ref().map(meta_text).transpose()?,
        decoy: body.decoy,
    };
    let created = keys::create(&state.core, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(KeyWithToken { key: created.key.into(), token: created.token })))
}

/// A body's `meta` as the text the service checks and stores: an object, or the field refused.
fn meta_text(meta: &serde_json::Value) -> Result<String, FieldError> {
    match meta {
        serde_json::Value::Object(_) => Ok(meta.to_string()),
        _ => Err(FieldError::new("meta", "must be a JSON object")),
    }
}

/// The expiry a body names, in days from now or as a day, or none: never both.
fn expiration(days: Option<u16>, on: Option<NaiveDate>) -> Result<Option<Expiration>, FieldError> {
    match (days, on) {
        (Some(_), Some(_)) => Err(FieldError::new("expires_on", "cannot be given with expires_in_days")),
        (Some(0), None) => Err(FieldError::new("expires_in_days", "must be 1 or more")),
        (Some(days), None) => Ok(Some(Expiration::Days(days))),
        (None, Some(date)) => Ok(Some(Expiration::On(date))),
        (None, None) => Ok(None),
    }
}

#[utoipa::path(get, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.read`.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<Key>, ApiError> {
    Ok(Json(keys::details(&state.core, &caller, id).await?.key.into()))
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/revoke", tag = "keys", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.revoke`. Permanent; the key stops working on the next request.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<Key>, ApiError> {
    Ok(Json(keys::revoke(&state.core, &caller, id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/disable", tag = "keys", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.update`. Reversible.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn disable(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<Key>, ApiError> {
    Ok(Json(keys::disable(&state.core, &caller, id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/enable", tag = "keys", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.update`.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn enable(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<Key>, ApiError> {
    Ok(Json(keys::enable(&state.core, &caller, id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", tag = "keys", params(("id" = Uuid, Path)), request_body = Option<RotateKey>,
    description = "Needs `api_keys.rotate`. A new secret for the same key; the old one stops now or after the grace period.",
    responses((status = 200, body = KeyWithToken), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiJson(body): ApiJson<RotateKey>,
) -> Result<Json<KeyWithToken>, ApiError> {
    let grace = RotationGrace::from_name(body.grace.as_deref().unwrap_or("none"))?;
    let rotated = keys::rotate(&state.core, &caller, id, grace).await?;
    Ok(Json(KeyWithToken { key: rotated.key.into(), token: rotated.token }))
}

#[utoipa::path(patch, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = Uuid, Path)), request_body = EditKey,
    description = "Needs `api_keys.update`. Renames the key, rewrites its description, or changes when it expires \
        (an active or disabled key; rotate an expired one).",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiJson(body): ApiJson<EditKey>,
) -> Result<Json<Key>, ApiError> {
    let expiration = match (expiration(body.expires_in_days, body.expires_on)?, body.never_expires) {
        (given, None | Some(false)) => given,
        (None, Some(true)) => Some(Expiration::Never),
        (Some(_), Some(true)) => {
            return Err(FieldError::new("never_expires", "cannot be given with expires_in_days or expires_on").into());
        }
    };
    let meta = body.meta.map(|meta| meta.as_ref().map(meta_text).transpose()).transpose()?;
    let edit =
        KeyEdit { name: body.name, description: body.description, expiration, external_id: body.external_id, meta };
    Ok(Json(keys::edit(&state.core, &caller, id, edit).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/keys/{id}/scopes", tag = "keys", params(("id" = Uuid, Path)), request_body = SetScopes,
    description = "Needs `api_keys.update`. Replaces the key's scopes; a narrowed key is refused on its next request.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn set_scopes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiJson(body): ApiJson<SetScopes>,
) -> Result<Json<Key>, ApiError> {
    Ok(Json(keys::update_scopes(&state.core, &caller, id, &body.scopes).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/keys/{id}/rate-limit", tag = "keys", params(("id" = Uuid, Path)), request_body = SetRateLimit,
    description = "Needs `api_keys.update`.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn set_rate_limit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiJson(body): ApiJson<SetRateLimit>,
) -> Result<Json<Key>, ApiError> {
    let limit = body.rate_limit.map(|l| l.validated("rate_limit")).transpose()?;
    Ok(Json(keys::update_rate_limit(&state.core, &caller, id, limit).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/keys/{id}/credits", tag = "keys", params(("id" = Uuid, Path)), request_body = SetCredits,
    description = "Needs `api_keys.update`. Sets the credits left and the refill (setting them counts as a refill), \
        or removes the limit with `null`.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn set_credits(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiJson(body): ApiJson<SetCredits>,
) -> Result<Json<Key>, ApiError> {
    let credits = body.credits.map(|c| c.validated("credits")).transpose()?;
    Ok(Json(keys::update_credits(&state.core, &caller, id, credits).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/keys/{id}/ip-allowlist", tag = "keys", params(("id" = Uuid, Path)),
    request_body = SetIpAllowlist,
    description = "Needs `api_keys.update`. Replaces the networks the key may be used from: its calls to this API, \
        and its verifications, whose `ip` must then be given and within them. An empty list: anywhere.",
    responses((status = 200, body = Key), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn set_ip_allowlist(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiJson(body): ApiJson<SetIpAllowlist>,
) -> Result<Json<Key>, ApiError> {
    Ok(Json(keys::update_ip_allowlist(&state.core, &caller, id, &body.ip_allowlist).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.delete`. Only a disabled, expired or revoked key.",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<StatusCode, ApiError> {
    keys::delete(&state.core, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/keys/{id}/usage", tag = "keys", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.read`. Calls per hour over the last seven days.",
    responses((status = 200, body = Usage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn usage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<Usage>, ApiError> {
    Ok(Json(keys::usage(&state.core, &caller, id).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/keys/{id}/verifications", tag = "keys", params(("id" = Uuid, Path), VerificationParams),
    description = "Needs `api_keys.read`. The key's verifications from the log (kept KEYWARD_VERIFICATION_LOG_DAYS \
        days, written every few seconds), newest first.",
    responses((status = 200, body = VerificationList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn verifications(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
    ApiQuery(params): ApiQuery<VerificationParams>,
) -> Result<Json<VerificationList>, ApiError> {
    let outcome = app::model::VerifyCode::filter(params.outcome.as_deref())?;
    let (page, per_page) = (params.page.unwrap_or(1), params.per_page.unwrap_or(25));
    Ok(Json(keys::verifications(&state.core, &caller, id, outcome, page, per_page).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "stats",
    description = "Needs `stats.read`.",
    responses((status = 200, body = StatsSummary), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn stats(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<StatsSummary>, ApiError> {
    Ok(Json(keys::stats(&state.core, &caller).await?.into()))
}
