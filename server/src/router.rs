//! The HTTP surface: the dashboard (SSR + server functions), `/api/v1`, static files, health.

use app::ssr::AppState;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub fn build(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();

    Router::new()
        // Trivial on purpose: also the baseline the verification benchmark is measured against.
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::rest::routes(state.clone()))
        .route("/api/{*fn_name}", post(server_fn).get(server_fn))
        .route("/audit/export.csv", get(crate::dashboard::audit_csv))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(shell_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(trace_layer())
        .with_state(state)
}

/// One span per request: method and path only. Headers (cookies, keys) and bodies are never logged.
pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>> {
    TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(Level::INFO).include_headers(false))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

async fn server_fn(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await
}
