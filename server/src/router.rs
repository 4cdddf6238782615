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
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};

pub fn build(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();

    Router::new()
        // Trivial on purpose: also the baseline the verification benchmark is measured against.
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(crate::telemetry::readyz))
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
        .layer(axum::middleware::from_fn(crate::telemetry::track_latency))
        .layer(trace_layer())
        .layer(request_id_layers())
        .with_state(state)
}

/// One span per request: method, path (without the query) and request id. Headers (cookies, keys)
/// and bodies are never logged.
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
        tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id = id)
    }
}

async fn server_fn(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await
}
