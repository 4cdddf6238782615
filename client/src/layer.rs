//! A tower layer that lets through only requests carrying a valid key.

use crate::client::{Client, Error};
use crate::model::{Environment, RateLimitState, Verification, Verify, VerifyCode};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};
use uuid::Uuid;

/// The longest a verdict may be cached: a revoked key keeps working this long at most.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(5);

/// The key a request was let in with, in its extensions: take it with `Extension<VerifiedKey>`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedKey {
    pub key_id: Uuid,
    pub name: String,
    /// Who the key is for in your own system.
    pub external_id: Option<String>,
    /// The key's JSON object, as its creator gave it.
    pub meta: Option<serde_json::Value>,
    pub scopes: Vec<String>,
    pub environment: Option<Environment>,
}

/// Lets a request through only with a key Keyward finds valid, holding every scope asked for.
///
/// The key is read from `X-API-Key` or `Authorization: Bearer`. Otherwise the answer is RFC 9457
/// `application/problem+json`: 401 (missing, unknown, revoked, expired, disabled), 403 (a scope
/// or the address refused), 429 (rate limit or credits spent, with `Retry-After`), or 503 when
/// Keyward cannot be asked: it fails closed. `RateLimit-*` headers go with every answer for a key
/// with a rate limit. The caller's address is passed on when the service is served with
/// `into_make_service_with_connect_info::<SocketAddr>()`, for keys with an IP allowlist.
#[derive(Debug, Clone)]
pub struct RequireKey {
    settings: Arc<Settings>,
}

#[derive(Debug, Clone)]
struct Settings {
    client: Client,
    scopes: Vec<String>,
    environment: Option<Environment>,
    cache: Option<VerdictCache>,
}

impl RequireKey {
    pub fn new(client: Client) -> Self {
        Self { settings: Arc::new(Settings { client, scopes: Vec::new(), environment: None, cache: None }) }
    }

    /// Scopes every key must hold.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        Arc::make_mut(&mut self.settings).scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The environment every key must belong to.
    pub fn environment(mut self, environment: Environment) -> Self {
        Arc::make_mut(&mut self.settings).environment = Some(environment);
        self
    }

    /// Keeps valid verdicts for `ttl` (at most [`MAX_CACHE_TTL`]), sparing a round trip per request.
    ///
    /// The price: a key revoked, disabled or re-scoped keeps working here until its verdict is
    /// `ttl` old. Keys with a rate limit or credits are never cached, so that every request counts.
    /// A verdict answers only the same question: the same key, scopes, environment and address.
    pub fn cache_valid_for(mut self, ttl: Duration) -> Self {
        Arc::make_mut(&mut self.settings).cache = Some(VerdictCache::new(ttl.min(MAX_CACHE_TTL)));
        self
    }
}

impl<S> Layer<S> for RequireKey {
    type Service = RequireKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireKeyService { inner, settings: self.settings.clone() }
    }
}

/// The service [`RequireKey`] wraps around yours.
#[derive(Debug, Clone)]
pub struct RequireKeyService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S, B> Service<Request<B>> for RequireKeyService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The service that was polled ready handles this request; its clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = self.settings.clone();
        Box::pin(async move {
            let Some(token) = presented_key(request.headers()) else {
                return Ok(problem(StatusCode::UNAUTHORIZED, "MISSING_API_KEY", "Send an API key in X-API-Key."));
            };
            let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
            let verdict = match settings.judge(token, ip).await {
                Ok(verdict) => verdict,
                Err(error) => {
                    if should_log_outage() {
                        tracing::warn!(%error, "a key could not be verified (said at most every 10 s)");
                    }
                    return Ok(problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "VERIFIER_UNAVAILABLE",
                        "The key could not be checked just now. Try again shortly.",
                    ));
                }
            };
            let (code, rate, refills_at) =
                (verdict.code, verdict.ratelimit, verdict.credits.and_then(|c| c.refills_at));
            let mut response = match (verdict.valid, verified_key(verdict)) {
                (true, Some(key)) => {
                    request.extensions_mut().insert(key);
                    inner.call(request).await?
                }
                _ => refusal(code),
            };
            if let Some(rate) = rate {
                rate_limit_headers(response.headers_mut(), &rate, code == VerifyCode::RateLimited);
            }
            if let (VerifyCode::UsageExceeded, Some(at)) = (code, refills_at) {
                let secs = u64::try_from((at - chrono::Utc::now()).num_seconds()).unwrap_or(0).max(1);
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Ok(response)
        })
    }
}

impl Settings {
    async fn judge(&self, token: String, ip: Option<String>) -> Result<Verification, Error> {
        let digest = self.cache.as_ref().map(|_| self.question_digest(&token, ip.as_deref()));
        if let Some(cached) = self.cache.as_ref().zip(digest.as_ref()).and_then(|(cache, d)| cache.get(d)) {
            return Ok(cached);
        }
        let question =
            Verify { key: token, environment: self.environment, scopes: self.scopes.clone(), cost: None, ip };
        let verdict = self.client.verify(&question).await?;
        if let (Some(cache), Some(digest)) = (&self.cache, digest)
            && verdict.valid
            && verdict.ratelimit.is_none()
            && verdict.credits.is_none()
        {
            cache.insert(digest, verdict.clone());
        }
        Ok(verdict)
    }

    /// What a cached verdict answers: the token (never kept itself), and everything else asked.
    fn question_digest(&self, token: &str, ip: Option<&str>) -> [u8; 32] {
        let mut digest = Sha256::new();
        for part in [token, ip.unwrap_or_default()].into_iter().chain(self.scopes.iter().map(String::as_str)) {
            // Length-prefixed, so that no two questions run together into the same bytes.
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        digest.update(format!("{:?}", self.environment).as_bytes());
        digest.finalize().into()
    }
}

fn verified_key(verdict: Verification) -> Option<VerifiedKey> {
    Some(VerifiedKey {
        key_id: verdict.key_id?,
        name: verdict.name.unwrap_or_default(),
        external_id: verdict.external_id,
        meta: verdict.meta,
        scopes: verdict.scopes,
        environment: verdict.environment,
    })
}

/// Whether to log that Keyward cannot be asked: once per 10 s at most, not once per request.
fn should_log_outage() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    now >= last + 10 && LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

/// The key from `X-API-Key`, or else from `Authorization: Bearer`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let from_header = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim);
    let from_bearer = || {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    };
    from_header.or_else(from_bearer).filter(|token| !token.is_empty()).map(str::to_owned)
}

/// The answer for a verdict other than VALID; unknown and revoked keys alike, so that the answer
/// does not tell an attacker which keys once existed.
fn refusal(code: VerifyCode) -> Response {
    let (status, code, detail) = match code {
        VerifyCode::Expired => (StatusCode::UNAUTHORIZED, "KEY_EXPIRED", "This API key has expired."),
        VerifyCode::Disabled => (StatusCode::UNAUTHORIZED, "KEY_DISABLED", "This API key is disabled."),
        VerifyCode::WrongEnvironment => {
            (StatusCode::UNAUTHORIZED, "WRONG_ENVIRONMENT", "This API key is for another environment.")
        }
        VerifyCode::InsufficientScope => {
            (StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE", "This API key lacks a scope this service requires.")
        }
        VerifyCode::IpNotAllowed => {
            (StatusCode::FORBIDDEN, "IP_NOT_ALLOWED", "This API key may not be used from this address.")
        }
        VerifyCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests with this key."),
        VerifyCode::UsageExceeded => {
            (StatusCode::TOO_MANY_REQUESTS, "USAGE_EXCEEDED", "This API key has no credits left.")
        }
        _ => (StatusCode::UNAUTHORIZED, "INVALID_API_KEY", "This API key is not valid."),
    };
    problem(status, code, detail)
}

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// `RateLimit-Limit`, `-Remaining`, `-Reset` (seconds), and `Retry-After` when refused for it.
fn rate_limit_headers(headers: &mut HeaderMap, rate: &RateLimitState, refused: bool) {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let reset_secs = u64::try_from((rate.reset - now_ms).max(0)).unwrap_or(0).div_ceil(1000);
    headers.insert(HeaderName::from_static("ratelimit-limit"), HeaderValue::from(rate.limit));
    headers.insert(HeaderName::from_static("ratelimit-remaining"), HeaderValue::from(rate.remaining));
    headers.insert(HeaderName::from_static("ratelimit-reset"), HeaderValue::from(reset_secs));
    if refused {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(reset_secs.max(1)));
    }
}

/// Valid verdicts by the SHA-256 of their token, each for a short while.
#[derive(Debug, Clone)]
struct VerdictCache {
    ttl: Duration,
    verdicts: Arc<quick_cache::sync::Cache<[u8; 32], (Instant, Verification)>>,
}

impl VerdictCache {
    fn new(ttl: Duration) -> Self {
        Self { ttl, verdicts: Arc::new(quick_cache::sync::Cache::new(10_000)) }
    }

    fn get(&self, digest: &[u8; 32]) -> Option<Verification> {
        let (at, verdict) = self.verdicts.get(digest)?;
        let expired = verdict.expires_at.is_some_and(|end| end <= chrono::Utc::now());
        if at.elapsed() < self.ttl && !expired {
            Some(verdict)
        } else {
            self.verdicts.remove(digest);
            None
        }
    }

    fn insert(&self, digest: [u8; 32], verdict: Verification) {
        self.verdicts.insert(digest, (Instant::now(), verdict));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn the_key_comes_from_x_api_key_or_a_bearer_token() {
        assert_eq!(presented_key(&headers(&[("x-api-key", "kw_a")])).as_deref(), Some("kw_a"));
        assert_eq!(presented_key(&headers(&[("authorization", "Bearer kw_b")])).as_deref(), Some("kw_b"));
        assert_eq!(presented_key(&headers(&[("authorization", "bearer  kw_c ")])).as_deref(), Some("kw_c"));
        assert_eq!(presented_key(&headers(&[("authorization", "Basic a3c6eA==")])), None);
        assert_eq!(presented_key(&headers(&[("x-api-key", "  ")])), None);
        assert_eq!(presented_key(&headers(&[])), None);
    }

    #[test]
    fn unknown_and_revoked_keys_get_the_same_answer() {
        let (unknown, revoked) = (refusal(VerifyCode::NotFound), refusal(VerifyCode::Revoked));
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.headers(), revoked.headers());
        assert_eq!(refusal(VerifyCode::Other).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refusal(VerifyCode::InsufficientScope).status(), StatusCode::FORBIDDEN);
        assert_eq!(refusal(VerifyCode::UsageExceeded).status(), StatusCode::TOO_MANY_REQUESTS);
    }

    #[test]
    fn a_cached_verdict_answers_only_the_same_question() {
        let layer = RequireKey::new(Client::new("http://127.0.0.1:1", "k").expect("client")).scopes(["a.read"]);
        let asked = layer.settings.question_digest("kw_1", Some("203.0.113.1"));
        assert_eq!(asked, layer.settings.question_digest("kw_1", Some("203.0.113.1")));
        assert_ne!(asked, layer.settings.question_digest("kw_1", Some("203.0.113.2")), "another address");
        assert_ne!(asked, layer.settings.question_digest("kw_2", Some("203.0.113.1")), "another key");
        let stricter = layer.clone().scopes(["a.read", "a.write"]);
        assert_ne!(asked, stricter.settings.question_digest("kw_1", Some("203.0.113.1")), "other scopes");
        let staging = layer.environment(Environment::Staging);
        assert_ne!(asked, staging.settings.question_digest("kw_1", Some("203.0.113.1")), "another environment");
    }

    #[test]
    fn the_cache_never_keeps_a_verdict_longer_than_its_limit() {
        let layer = RequireKey::new(Client::new("http://127.0.0.1:1", "k").expect("client"))
            .cache_valid_for(Duration::from_secs(3600));
        assert_eq!(layer.settings.cache.as_ref().map(|c| c.ttl), Some(MAX_CACHE_TTL));
    }
}
