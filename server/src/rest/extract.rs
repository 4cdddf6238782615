//! Extractors for the REST API: every rejection is a problem answer naming what is wrong.

use super::problem::ApiError;
use app::model::FieldError;
use app::ssr::ServiceError;
use app::ssr::input;
use app::ssr::services::KeyCaller;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Where a key is presented first. A name made once: looked up by a string, it would be parsed and
/// lowercased on every call.
static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// `Authorization: Bearer <token>`, read by the `headers` crate: the one parser of it, for the
/// REST API and the metrics endpoint.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    use axum_extra::headers::HeaderMapExt;
    use axum_extra::headers::authorization::{Authorization, Bearer};
    headers.typed_get::<Authorization<Bearer>>().map(|authorization| authorization.token().to_owned())
}

/// The API key of the request: `X-API-Key: <key>`, or else `Authorization: Bearer <key>`. Read
/// here only, for the routes behind the authentication layer and the one that authenticates in its
/// handler. Kept as the header's value: a share of the request's buffer, where a `String` would
/// be one more allocation and copy on every verification.
pub struct PresentedKey(Option<HeaderValue>);

impl PresentedKey {
    pub fn read(headers: &HeaderMap) -> Self {
        Self(match headers.get(&X_API_KEY) {
            Some(key) => Some(key.clone()),
            None => bearer_token(headers).and_then(|bearer| HeaderValue::try_from(bearer).ok()),
        })
    }

    pub fn secret(&self) -> Option<&str> {
        self.0.as_ref().and_then(|key| key.to_str().ok())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PresentedKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::read(&parts.headers))
    }
}

/// The address a request came from, as the edge found it (see `security::client_address`).
pub fn peer_ip(extensions: &axum::http::Extensions) -> Option<String> {
    extensions.get::<app::ssr::ClientAddress>().map(|app::ssr::ClientAddress(ip)| ip.to_string())
}

/// [`peer_ip`] as an extractor.
pub struct PeerIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(peer_ip(&parts.extensions)))
    }
}

/// The authenticated key, put there by the authentication layer.
pub struct Caller(pub KeyCaller);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<KeyCaller>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ServiceError::Internal("route without the authentication layer".into()).into())
    }
}

/// axum's default body limit, which every JSON body here is read under.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body whose every fault names its field ("rate_limit.requests: is required").
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge { limit_kb: BODY_LIMIT / 1024 }
            } else {
                FieldError::new("body", "could not be read").into()
            }
        })?;
        let bytes = if bytes.is_empty() { Bytes::from_static(b"{}") } else { bytes };
        // serde reads a struct from an array too, and would name its fields "[0]", "[1]".
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(FieldError::new("body", "must be a JSON object").into());
        }
        // Read plainly first (the verification path's every request); only a body that fails is
        // read again, tracking where, to name the field.
        serde_json::from_slice(&bytes).map(ApiJson).or_else(|_| {
            let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
            serde_path_to_error::deserialize(&mut deserializer).map(ApiJson).map_err(|e| body_error(&e).into())
        })
    }
}

/// Query parameters: one that does not parse is a 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(params)| ApiQuery(params))
            .map_err(|e| query_error(&e.body_text()).into())
    }
}

/// axum says "Failed to deserialize query string: per_page: invalid digit found in string": the
/// parameter and the reason, as a field error in words.
fn query_error(text: &str) -> FieldError {
    let detail = text.split_once(": ").map_or(text, |(_, detail)| detail);
    match detail.split_once(": ") {
        Some((field, reason)) if !field.is_empty() && !field.contains(' ') => input::fault(field, reason),
        _ => input::fault("", detail),
    }
}

/// Turns a JSON error into a field and a reason, without echoing the input (it may hold a key).
fn body_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    if e.inner().is_syntax() || e.inner().is_eof() {
        return FieldError::new("body", "is not valid JSON");
    }
    input::fault(&e.path().to_string(), &e.inner().to_string())
}

/// A key id in the path. Anything that is not an id is simply not found.
pub struct KeyId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for KeyId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<Uuid>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(KeyId(id)),
            Err(_) => Err(ServiceError::NotFound("API key").into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        limit: Option<Limit>,
        environment: Option<app::model::Environment>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Limit {
        requests: u32,
    }

    fn fault(json: &str) -> FieldError {
        let mut de = serde_json::Deserializer::from_str(json);
        body_error(&serde_path_to_error::deserialize::<_, Body>(&mut de).expect_err(json))
    }

    #[test]
    fn body_faults_name_the_field_and_never_echo_the_input() {
        assert_eq!(fault("{"), FieldError::new("body", "is not valid JSON"));
        assert_eq!(fault("{}"), FieldError::new("name", "is required"));
        assert_eq!(fault(r#"{"name": "a", "limit": {}}"#), FieldError::new("limit.requests", "is required"));
        assert_eq!(fault(r#"{"name": 5}"#), FieldError::new("name", "must be a string"));
        let env = fault(r#"{"name": "a", "environment": "kw_live_secret"}"#);
        assert_eq!(env.field, "environment");
        assert!(!env.reason.contains("kw_live_secret"), "{}", env.reason);
        assert!(env.reason.contains("production"), "{}", env.reason);
        assert_eq!(fault(r#"{"name": "a", "extra": 1}"#), FieldError::new("extra", "is not a known field"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Params {
        page: Option<u32>,
        key: Option<Uuid>,
    }

    fn query_fault(query: &str) -> FieldError {
        let uri: axum::http::Uri = format!("/x?{query}").parse().expect("uri");
        let rejection = Query::<Params>::try_from_uri(&uri).expect_err(query);
        query_error(&rejection.body_text())
    }

    #[test]
    fn query_faults_name_the_parameter() {
        assert_eq!(query_fault("page=two"), FieldError::new("page", "must be a whole number"));
        assert_eq!(query_fault("page=1&key=not-a-uuid"), FieldError::new("key", "must be an id (a UUID)"));
    }

    /// Either header carries a key; with both, `X-API-Key` is the one read, even when it is not
    /// text (a key in the wrong form is refused, not replaced by the other header's); the bearer
    /// scheme is case-insensitive, and any other scheme carries none. Read as the extractor reads.
    #[tokio::test]
    async fn both_headers_carry_a_key() {
        type Headers = &'static [(&'static str, &'static [u8])];
        let cases: [(Headers, Option<&str>); 7] = [
            (&[("x-api-key", b"kw_live_y")], Some("kw_live_y")),
            (&[("authorization", b"Bearer kw_live_x")], Some("kw_live_x")),
            (&[("authorization", b"bearer kw_live_z")], Some("kw_live_z")),
            (&[("authorization", b"Bearer kw_live_x"), ("x-api-key", b"kw_live_y")], Some("kw_live_y")),
            (&[("x-api-key", b"kw_live_\xff"), ("authorization", b"Bearer kw_live_x")], None),
            (&[("authorization", b"Basic abc")], None),
            (&[], None),
        ];
        for (headers, expected) in cases {
            let mut request = axum::http::Request::builder();
            for (name, value) in headers {
                request = request.header(*name, HeaderValue::from_bytes(value).expect("a header value"));
            }
            let (mut parts, ()) = request.body(()).expect("a request").into_parts();
            let extracted = PresentedKey::from_request_parts(&mut parts, &()).await.expect("infallible");
            assert_eq!(extracted.secret(), expected, "{headers:?}");
            assert_eq!(PresentedKey::read(&parts.headers).secret(), expected, "{headers:?}");
        }
    }
}
