//! Operations: Prometheus metrics at `/metrics`, request latency histograms, and readiness.

use app::ssr::{AppState, Core};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Request latency, by method, route (the route's pattern, so `/api/v1/keys/{id}` is one series
/// however many keys there are) and status.
pub const REQUEST_DURATION: &str = "keyward_http_request_duration_seconds";
const USAGE_FLUSH_LAG: &str = "keyward_usage_flush_lag_seconds";
const CACHE_ENTRIES: &str = "keyward_key_cache_entries";
const SHARED_LIMITS: &str = "keyward_rate_limits_shared";

/// Buckets for latencies: the verification path answers in well under a millisecond, a page in tens.
const LATENCY_BUCKETS: &[f64] =
    &[0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Installs the process's metrics recorder (once; later calls get the same handle), and a task
/// that folds recorded latencies into their histograms every few seconds, so that memory stays
/// bounded however rarely Prometheus scrapes.
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Records each request's latency. Outermost but for tracing, so it times the whole answer.
pub async fn track_latency(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = [
        ("method", method.as_str().to_owned()),
        // Unmatched paths (static files, 404s) share one series rather than one per path asked for.
        ("route", route.unwrap_or_else(|| "other".to_owned())),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// `GET /readyz`: ready to serve when the database answers (a load balancer's health check);
/// `/healthz` only says the process is up.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.core.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database did not answer within 2 s").into_response(),
    }
}

#[derive(Clone)]
struct Exporter {
    handle: PrometheusHandle,
    core: Core,
    token: Option<Arc<str>>,
}

/// `GET /metrics`, in Prometheus's text format; behind a bearer token when one is configured.
pub fn routes(handle: PrometheusHandle, core: Core, token: Option<String>) -> Router {
    let exporter = Exporter { handle, core, token: token.filter(|t| !t.is_empty()).map(Arc::from) };
    Router::new().route("/metrics", get(render)).with_state(exporter)
}

async fn render(State(exporter): State<Exporter>, headers: HeaderMap) -> Response {
    if let Some(expected) = &exporter.token {
        let presented = crate::rest::extract::bearer_token(&headers).unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "metrics token required")
                .into_response();
        }
    }
    // Figures read at scrape time rather than counted as they change.
    let core = &exporter.core;
    let now_ms = chrono::Utc::now().timestamp_millis();
    metrics::gauge!(USAGE_FLUSH_LAG).set(core.usage.unwritten_for_ms(now_ms) as f64 / 1000.0);
    metrics::gauge!(CACHE_ENTRIES).set(core.cache.entry_count() as f64);
    metrics::gauge!(SHARED_LIMITS).set(if core.limiter.is_shared() { 1.0 } else { 0.0 });
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], exporter.handle.render()).into_response()
}
