//! The HTTP surface: the dashboard (SSR + server functions), `/api/v1`, static files, health.

use crate::security::{self, Site};
use app::api::RequestSignIn;
use app::model::SiteOrigin;
use app::ssr::AppState;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::handler::Handler;
use axum::http::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use std::sync::{Arc, OnceLock};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};

pub fn build(state: AppState, site: Site) -> Router {
    let site = Arc::new(site);
    let route_list = route_list();
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    let hashed_files = state.leptos_options.hash_files;

    // The site's files (`/pkg/`, the favicon), precompressed copies (brotli, gzip) first when the
    // browser takes them; anything else is the app's own "not found" page. Not leptos's
    // `file_and_error_handler` for the files: it serves one inside a reactive owner made with
    // `Owner::new()` and answers with the `ResponseOptions` it finds in context. That owner is a child
    // of whatever owner the worker thread last left current, often a page being rendered for someone
    // else: the file took that page's headers (its policy, `no-store`, any cookie), and the page went
    // out without them and could not hydrate (test: `dashboard.rs`, files and pages at once).
    let not_found = leptos_axum::file_and_error_handler::<AppState, _>(shell).with_state(state.clone());
    let site_files =
        ServeDir::new(&*state.leptos_options.site_root).precompressed_br().precompressed_gzip().fallback(not_found);

    // The dashboard: pages, server functions, downloads and the site's files, with the layers only
    // they need (the management and verification APIs, below, do without them).
    let sent_forms = crate::dashboard::SentForms::default();
    // The address the pages name in the commands they show (the verify `curl`).
    let origin = SiteOrigin(site.origin.clone());
    let (form_origin, rest_origin) = (origin.clone(), origin.clone());
    let create_key_without_script = move |State(state): State<AppState>, request: Request<Body>| {
        crate::dashboard::create_key_without_script(state, form_origin.clone(), sent_forms.clone(), request)
    };
    let dashboard = Router::new()
        .route("/api/{*fn_name}", post(server_fn).get(server_fn))
        .route("/keys/new", post(create_key_without_script))
        .route("/audit/export.csv", get(crate::dashboard::audit_csv))
        .route("/projects/{id}/traffic.svg", get(crate::dashboard::project_traffic_svg))
        .leptos_routes_with_context(
            &state,
            route_list,
            move || {
                provide_context(context_state.clone());
                provide_context(origin.clone());
            },
            move || shell(shell_options.clone()),
        )
        .fallback_service(site_files)
        .layer(middleware::from_fn(server_fn_edge))
        .layer(middleware::from_fn_with_state(hashed_files, site_files_cached))
        .layer(middleware::from_fn(redirects_redirect))
        .layer(middleware::from_fn(sign_in_once));
    let routes = Router::new()
        // Trivial on purpose: also the baseline the verification benchmark is measured against.
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(crate::telemetry::readyz))
        .merge(crate::rest::routes(state.clone(), rest_origin))
        .merge(dashboard);
    with_edge(routes.with_state(state), site)
}

/// The app's pages, worked out once per process. While leptos works them out it suppresses resource
/// loading process-wide, and a resource first polled in that window, by a page being rendered for
/// anyone, waits forever (leptos-rs/leptos#4773): a second router built in the same process (the
/// tests build one per server) hung a page now and then.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The layers every route sits behind, innermost first: the cross-site check, the standard headers,
/// the client's address, latency metrics, the request's span and its id. (The verification
/// benchmark puts its baseline route behind the same ones.)
pub fn with_edge(routes: Router, site: Arc<Site>) -> Router {
    routes
        .layer(middleware::from_fn_with_state(Arc::clone(&site), security::same_origin_only))
        .layer(middleware::from_fn_with_state(Arc::clone(&site), security::standard_headers))
        .layer(middleware::from_fn_with_state(site, security::client_address))
        .layer(middleware::from_fn(crate::telemetry::track_latency))
        .layer(trace_layer())
        .layer(request_id_layers())
}

/// One span per request: method, route and request id. Headers (cookies, keys), bodies and queries
/// are never logged; nor are paths that carry a secret (an invitation link's token): a request is
/// logged by its route's pattern (`/invite/{token}`), and only an unrouted one (a static file, a
/// 404) by its path.
pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http().make_span_with(RequestSpan).on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// Gives every request an `x-request-id` (a caller's own is kept) and answers with it, so that a
/// report from a client can be matched to the log lines of the instance that served it.
pub fn request_id_layers() -> (SetRequestIdLayer<MakeRequestUuid>, PropagateRequestIdLayer) {
    (SetRequestIdLayer::x_request_id(MakeRequestUuid), PropagateRequestIdLayer::x_request_id())
}

#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let path = logged_path(request);
        tracing::info_span!("request", method = %request.method(), path, request_id = id)
    }
}

/// Server functions that no route names (leptos_routes registers every known one): leptos answers.
async fn server_fn(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await
}

/// Every server function call passes its edge: a bounded body, and refusals answered with their own
/// status and field (see `app::api::edge`). A layer, because leptos registers the functions' routes.
async fn server_fn_edge(request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") && !path.starts_with("/api/v1/") {
        app::api::edge::serve(request, |request| next.run(request)).await
    } else {
        next.run(request).await
    }
}

/// The site's script, WASM and stylesheet (`/pkg/`): kept by the browser for a year when their names
/// carry their content's hash (cargo-leptos `hash-files`), since a new build has new names; else
/// checked again on every use. (They are served precompressed, brotli or gzip, as the browser
/// accepts: leptos's file handler picks the `.br` or `.gz` cargo-leptos wrote beside each.)
async fn site_files_cached(State(hashed): State<bool>, request: Request<Body>, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let site_file = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if site_file && response.status().is_success() {
        let policy = if hashed { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// A page that sends the person elsewhere answers `302 Found`, whatever the client accepts. leptos's
/// `<Redirect/>` sets `Location`, but makes the answer a redirect only for a request that accepts
/// HTML: anything else (curl, a crawler) got `200 OK` and a page that moves on only with
/// JavaScript. Server functions keep leptos's own convention (their `Location` tells the browser's
/// script where to go).
async fn redirects_redirect(request: Request<Body>, next: Next) -> Response {
    use axum::http::{Method, StatusCode, header};
    let page = matches!(*request.method(), Method::GET | Method::HEAD) && !request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if page && response.status().is_success() && response.headers().contains_key(header::LOCATION) {
        *response.status_mut() = StatusCode::FOUND;
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::empty();
    }
    response
}

/// Gives the request its own, empty sign-in (`RequestSignIn`): the server functions a page's render
/// calls, and the download handlers, share it, so a request authenticates at most once. Made per
/// request, never shared as a layer's value, which would hand one person's sign-in to the next.
async fn sign_in_once(mut request: Request<Body>, next: Next) -> Response {
    request.extensions_mut().insert(RequestSignIn::default());
    next.run(request).await
}

/// What the log says a request asked for: its route's pattern, or else its path, with anything
/// under `/invite/` (whose second segment is a secret) reduced to the pattern too.
pub fn logged_path<B>(request: &Request<B>) -> &str {
    if let Some(route) = request.extensions().get::<axum::extract::MatchedPath>() {
        return route.as_str();
    }
    let path = request.uri().path();
    if path.starts_with("/invite/") { "/invite/{token}" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_links_token_never_reaches_the_log() {
        let request = Request::get("/invite/s3cr3t-token-value").body(()).expect("request");
        assert_eq!(logged_path(&request), "/invite/{token}");
        let request = Request::get("/pkg/keyward.css").body(()).expect("request");
        assert_eq!(logged_path(&request), "/pkg/keyward.css");
    }
}
