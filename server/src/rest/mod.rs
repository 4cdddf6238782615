//! `/api/v1`: the management API and the verification API, authenticated by Keyward keys.

mod audit;
pub mod dto;
pub mod extract;
mod insight;
mod keys;
mod leaks;
mod members;
mod organization;
pub mod problem;
mod projects;
mod webhooks;

use app::model::SiteOrigin;
use app::model::{AllValid, Scope, caller_ip, verification_cost};
use app::ssr::rate_limit::RateState;
use app::ssr::services::KeyCaller;
use app::ssr::services::verification::{self, VerifyRequest};
use app::ssr::{AppState, ClientAddress};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use dto::{Verification, VerifyKey};
use extract::{ApiJson, PresentedKey};
use problem::{ApiError, Problem, rate_limit_headers};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The verification answer's type, made once rather than parsed from a string on every answer.
const JSON: HeaderValue = HeaderValue::from_static("application/json");
/// The headers a verification answer ends with: its own (type, `no-store`, three `RateLimit-*`),
/// the edge's (three standard, HSTS, the request id), and room to spare.
const ANSWER_HEADERS: usize = 12;
/// Answers may hold a new token, or a verdict that changes with the next call: nothing here is for a cache.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The `/api/v1` routes, with their full paths: merged into the app's router rather than nested, so
/// that no request pays for a rewritten URI.
/// `origin`: the address people open Keyward at, for the links the answers carry (invitations).
pub fn routes(state: AppState, origin: SiteOrigin) -> Router<AppState> {
    let authenticated = Router::new()
        .route("/api/v1/keys", get(keys::list).post(keys::create))
        .route("/api/v1/keys/{id}", get(keys::get).patch(keys::edit).delete(keys::delete))
        .route("/api/v1/keys/{id}/revoke", post(keys::revoke))
        .route("/api/v1/keys/{id}/disable", post(keys::disable))
        .route("/api/v1/keys/{id}/enable", post(keys::enable))
        .route("/api/v1/keys/{id}/rotate", post(keys::rotate))
        .route("/api/v1/keys/{id}/report-leak", post(leaks::report_key))
        .route("/api/v1/keys/{id}/scopes", put(keys::set_scopes))
        .route("/api/v1/keys/{id}/rate-limit", put(keys::set_rate_limit))
        .route("/api/v1/keys/{id}/credits", put(keys::set_credits))
        .route("/api/v1/keys/{id}/ip-allowlist", put(keys::set_ip_allowlist))
        .route("/api/v1/keys/{id}/verifications", get(keys::verifications))
        .route("/api/v1/keys/{id}/usage", get(keys::usage))
        .route("/api/v1/keys/{id}/insight", get(insight::key_insight))
        .route("/api/v1/keys/needs-attention", get(insight::needs_attention))
        .route("/api/v1/keys/expiring", get(insight::expiring))
        .route("/api/v1/keys/decoy-uses", get(insight::decoy_uses))
        .route("/api/v1/keys/bulk-disable", post(insight::bulk_disable))
        .route("/api/v1/projects/{id}/traffic", get(insight::project_traffic))
        .route("/api/v1/stats/summary", get(keys::stats))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/webhooks", get(webhooks::list).post(webhooks::register))
        .route("/api/v1/webhooks/{id}", get(webhooks::get).patch(webhooks::edit).delete(webhooks::delete))
        .route("/api/v1/webhooks/{id}/rotate-secret", post(webhooks::rotate_secret))
        .route("/api/v1/webhooks/{id}/test", post(webhooks::send_test))
        .route("/api/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", post(webhooks::resend))
        .route("/api/v1/members", get(members::list))
        .route("/api/v1/members/invitations", post(members::invite))
        .route("/api/v1/members/invitations/{id}", delete(members::withdraw_invitation))
        .route("/api/v1/members/{user_id}", delete(members::remove))
        .route("/api/v1/members/{user_id}/role", put(members::change_role))
        .route("/api/v1/members/{user_id}/suspend", post(members::suspend))
        .route("/api/v1/members/{user_id}/reactivate", post(members::reactivate))
        .route("/api/v1/projects", get(projects::list).post(projects::create))
        .route("/api/v1/projects/{id}", axum::routing::patch(projects::rename))
        .route("/api/v1/projects/{id}/archive", post(projects::archive))
        .route("/api/v1/projects/{id}/restore", post(projects::restore))
        .route("/api/v1/projects/{id}/scopes/{scope}", put(projects::define_scope).delete(projects::remove_scope))
        .route("/api/v1/organization", get(organization::get).patch(organization::rename))
        .route("/api/v1/organization/transfer", post(organization::transfer))
        .route("/api/v1/plan", get(organization::plan).put(organization::change_plan))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
        .layer(Extension(origin));
    // The hot path says `no-store` itself (see [`verify`]): under the layer, every verification
    // would pay one more boxed route. So does its 405 (any other method; heuristically cacheable),
    // to which axum adds `Allow`.
    let not_post = || async { (StatusCode::METHOD_NOT_ALLOWED, [(header::CACHE_CONTROL, NO_STORE)]) };
    let verification = Router::new().route("/api/v1/keys/verify", post(verify).fallback(not_post));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/leaks/github", post(leaks::github))
        .merge(authenticated)
        // Explicit, so that an unknown /api/v1 path is not taken for a server function.
        .route("/api/v1", any(|| async { ApiError::NoSuchEndpoint }))
        .route("/api/v1/{*unknown}", any(|| async { ApiError::NoSuchEndpoint }))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, NO_STORE))
        .merge(verification)
}

/// Every `/api/v1` call: authenticate the key and count its rate limit (401/429 stop here), run the
/// handler, then [`settle`] the call.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let now = Utc::now();
    let address = request.extensions().get::<ClientAddress>().map(|ClientAddress(ip)| *ip);
    let presented = PresentedKey::read(request.headers());
    let (mut caller, rate) = match verification::authenticate(&state.core, presented.secret(), address, now).await {
        Ok(authenticated) => authenticated,
        Err(e) => return ApiError::from(e).into_response(),
    };
    caller.ip = address.map(|ip| ip.to_string());
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    settle(&state, &caller, rate, now, response)
}

/// After a call: count it (denied when refused for the key's scopes) and add the `RateLimit-*` headers.
fn settle(
    state: &AppState,
    caller: &KeyCaller,
    rate: Option<RateState>,
    now: DateTime<Utc>,
    mut response: Response,
) -> Response {
    let refused = matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    verification::record_call(&state.core, caller, !refused, now);
    if let Some(rate) = rate {
        rate_limit_headers(response.headers_mut(), &rate, now.timestamp_millis());
    }
    response
}

/// Judges a key presented to your API.
///
/// The hot path authenticates here rather than in the layer the other routes share (same service,
/// same [`settle`]): a layer costs a boxed service clone and a boxed future on every request.
#[utoipa::path(post, path = "/api/v1/keys/verify", tag = "verification", request_body = VerifyKey,
    description = "Needs `api_keys.verify`. The verdict is always a 200 with `valid` and a `code`: VALID, NOT_FOUND \
        (also for a malformed key, or one from another project), EXPIRED, DISABLED, REVOKED, WRONG_ENVIRONMENT, \
        INSUFFICIENT_SCOPE, RATE_LIMITED, USAGE_EXCEEDED (a credit-limited key with too few credits left: \
        nothing is spent) or IP_NOT_ALLOWED (a key with an IP allowlist, and `ip` outside it or not given). A valid verification of a credit-limited key spends `cost` credits (default 1). The calling key's own problems answer 401, 403 or 429.",
    responses((status = 200, body = Verification), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn verify(
    state: State<AppState>,
    presented: PresentedKey,
    address: Option<Extension<ClientAddress>>,
    body: Result<ApiJson<VerifyKey>, ApiError>,
) -> Response {
    let mut response = judge(state, presented, address, body).await;
    response.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
    response
}

/// [`verify`]'s answer, but for its `Cache-Control`.
async fn judge(
    State(state): State<AppState>,
    presented: PresentedKey,
    address: Option<Extension<ClientAddress>>,
    body: Result<ApiJson<VerifyKey>, ApiError>,
) -> Response {
    // A verification changes nothing, so nothing is audited; the address limits unknown callers.
    let now = Utc::now();
    let address = address.map(|Extension(ClientAddress(ip))| ip);
    let (caller, rate) = match verification::authenticate(&state.core, presented.secret(), address, now).await {
        Ok(authenticated) => authenticated,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let verdict = async {
        let ApiJson(body) = body?;
        let (scopes, cost, ip) = (
            body.scopes.iter().map(|s| Scope::parse(s)).collect::<Result<Vec<_>, _>>(),
            verification_cost(body.cost),
            caller_ip(body.ip.as_deref()),
        )
            .all_valid()?;
        let request = VerifyRequest { key: body.key, environment: body.environment, scopes, cost, ip };
        Ok::<_, ApiError>(verification::verify(&state.core, &caller, &request, now).await?)
    };
    let response = match verdict.await {
        Ok(verdict) => {
            // Built as it goes out: a body's own `into_response` would first type it as bytes, and
            // its headers would outgrow their first table (six) on the way out, and be rehashed.
            let mut answer = Response::new(axum::body::Body::from(dto::verification_answer(&verdict)));
            *answer.headers_mut() = HeaderMap::with_capacity(ANSWER_HEADERS);
            answer.headers_mut().insert(header::CONTENT_TYPE, JSON);
            answer
        }
        Err(e) => e.into_response(),
    };
    settle(&state, &caller, rate, now, response)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Keyward API", description = "Manage and verify API keys. Authenticate with a Keyward key: \
        `X-API-Key: <key>` or `Authorization: Bearer <key>`. A key acts in its own project and environment."),
    paths(verify, keys::list, keys::create, keys::get, keys::revoke, keys::disable, keys::enable, keys::rotate,
        keys::edit, keys::set_scopes, keys::set_rate_limit, keys::set_credits, keys::set_ip_allowlist, keys::verifications, keys::delete, keys::usage, keys::stats, audit::list,
        insight::needs_attention, insight::expiring, insight::decoy_uses, insight::key_insight, insight::bulk_disable, insight::project_traffic,
        webhooks::list, webhooks::register, webhooks::get, webhooks::edit, webhooks::delete, webhooks::rotate_secret,
        webhooks::send_test, webhooks::deliveries, webhooks::resend, leaks::github, leaks::report_key,
        members::list, members::invite, members::withdraw_invitation, members::change_role, members::suspend,
        members::reactivate, members::remove, projects::list, projects::create, projects::rename, projects::archive,
        projects::restore, projects::define_scope, projects::remove_scope, organization::get, organization::rename,
        organization::transfer, organization::plan, organization::change_plan),
    modifiers(&Security, &Problems),
    security(("api_key" = []), ("bearer" = [])),
    tags((name = "verification", description = "The hot path: is this key good?"),
        (name = "keys", description = "Everything the dashboard's keys page does"),
        (name = "stats", description = "Usage figures"),
        (name = "insight", description = "What the verification log tells: keys to fix, scopes to narrow, traffic"),
        (name = "audit", description = "Who changed what, when, from where"),
        (name = "webhooks", description = "Events out: endpoints, signed deliveries (Standard Webhooks), resends"),
        (name = "leaks", description = "Leaked keys reported by secret scanners"),
        (name = "members", description = "The organization's people: invitations, roles, suspension, removal"),
        (name = "projects", description = "Projects and the custom scopes they define"),
        (name = "organization", description = "The organization's name, ownership and plan")),
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Error answers are `application/problem+json` (RFC 9457), as `ApiError` sends them; utoipa writes
/// every body as `application/json` unless told, so the document says so here, once.
struct Problems;

impl utoipa::Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let operations = openapi.paths.paths.values_mut().flat_map(|item| {
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        });
        for operation in operations {
            for response in operation.responses.responses.values_mut() {
                let RefOr::T(response) = response else { continue };
                let is_problem = |content: &utoipa::openapi::Content| matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"));
                if response.content.get("application/json").is_some_and(is_problem)
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response.content.insert("application/problem+json".into(), content);
                }
            }
        }
    }
}

/// The OpenAPI document, generated from the handlers and types above.
async fn openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default());
    ([(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}
