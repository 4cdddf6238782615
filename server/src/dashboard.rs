//! Plain HTTP routes of the dashboard that are not pages or server functions: downloads, and the
//! create form sent without JavaScript.

use app::api::edge::{BODY_LIMIT, read_form};
use app::api::keys::CreateKey;
use app::model::{AppError, AuditQuery, ChartWindow, SiteOrigin};
use app::pages::CreateFormAnswer;
use app::ssr::AppState;
use app::ssr::services::{Member, audit, insight, keys};
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::provide_context;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

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

/// `GET /projects/{id}/traffic.svg?window=…`: the project's chart, for a signed-in member who may
/// read its figures. An image: the page shows it without a line of its own code.
pub async fn project_traffic_svg(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return refusal(AppError::NotFound("Project".into()));
    };
    let window = match ChartWindow::parse(params.get("window").map(String::as_str)) {
        Ok(window) => window,
        Err(e) => return refusal(AppError::from(e)),
    };
    match insight::project_traffic(&state.core, &member, id, window).await {
        Ok(traffic) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                // Opened on its own, the image may run nothing and load nothing.
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
                (header::CACHE_CONTROL, "private, max-age=60"),
            ],
            crate::charts::traffic_svg(&traffic),
        )
            .into_response(),
        Err(e) => refusal(e.into()),
    }
}

/// `POST /keys/new`: the create form, sent by a browser without JavaScript (or before the page's
/// code ran). The key is made by the same service as with the `create_key` server function, and
/// the answer is the keys page showing its token: a redirect would lose the token, which is kept
/// nowhere to be shown later. A refusal is the same page with the form open and the reason in it.
pub async fn create_key_without_script(
    state: AppState,
    origin: SiteOrigin,
    sent: SentForms,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let member = match app::api::signed_in(&state, &parts).await {
        Ok(member) => member,
        Err(AppError::Unauthenticated) => return Redirect::to("/sign-in").into_response(),
        Err(e) => return refusal(e),
    };
    let answer = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(form) => create_once(&state, &sent, &member, &form).await,
        Err(_) => Err(AppError::TooLarge { limit_kb: BODY_LIMIT / 1024 }),
    };
    let status = match &answer {
        Ok(_) => StatusCode::CREATED,
        Err(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    };
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(state.clone());
            provide_context(origin.clone());
            provide_context(CreateFormAnswer(answer.clone()));
        },
        move || app::shell(options.clone()),
    );
    let mut page = render(Request::from_parts(parts, Body::empty())).await;
    *page.status_mut() = status;
    page
}

/// Creates the key the form describes, unless this very form (its `form_id`) was sent before: a
/// reload of the answer sends it again, and must not make a second key nobody has the token of.
async fn create_once(
    state: &AppState,
    sent: &SentForms,
    member: &Member,
    form: &[u8],
) -> Result<app::model::CreatedKey, AppError> {
    #[derive(serde::Deserialize)]
    struct Sending {
        form_id: Uuid,
        /// The checked scope boxes (`scope[]`, `ScopePicker`): without JavaScript, the `scopes`
        /// field the page's code fills from them stays empty.
        #[serde(default)]
        scope: Vec<String>,
    }
    app::ssr::services::keys::may_create(member)?;
    let Sending { form_id, scope } = read_form(form)?;
    let mut fields = read_form::<CreateKey>(form)?;
    fields.scopes = Some([fields.scopes.unwrap_or_default(), scope.join(" ")].join(" "));
    let new_key = fields.into_new_key()?;
    let first_time = sent.0.entry((member.user_id, form_id)).or_insert(()).is_fresh();
    if !first_time {
        return Err(AppError::Conflict(
            "This form was already sent and its key created; its token was shown then, once. \
             If it was not saved, rotate the key."
                .into(),
        ));
    }
    let created = keys::create(&state.core, member, new_key).await;
    if created.is_err() {
        // Nothing was made: the same form may be sent again.
        sent.0.invalidate(&(member.user_id, form_id));
    }
    Ok(created?)
}

/// The create forms sent without JavaScript in the last hour, by member and form id. Kept by this
/// instance only: behind a load balancer that does not keep a browser on one instance, a reload
/// that reaches another instance creates a second key (which the person sees in the list).
#[derive(Clone)]
pub struct SentForms(moka::sync::Cache<(Uuid, Uuid), ()>);

impl Default for SentForms {
    fn default() -> Self {
        Self(moka::sync::Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(3600)).build())
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
