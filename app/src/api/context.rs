//! What a server function needs from the request it serves: the app state and the session cookie.

use crate::model::AppError;
use crate::ssr::AppState;
use crate::ssr::services::{Client, Member, NewSession, auth};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header::SET_COOKIE};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub const SESSION_COOKIE: &str = "kw_session";
/// The session cookie's name over HTTPS: the `__Host-` prefix makes the browser refuse it unless it
/// is `Secure`, for the whole site and this host only, so a sibling subdomain cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-kw_session";

/// The session cookie's name for this deployment.
pub fn session_cookie_name(secure_cookies: bool) -> &'static str {
    if secure_cookies { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

/// The session token the browser presented, if any.
pub async fn session_token() -> Option<String> {
    let state = state().ok()?;
    let parts = use_context::<Parts>()?;
    token_in(&state, &parts)
}

fn token_in(state: &AppState, parts: &Parts) -> Option<String> {
    let jar = CookieJar::from_headers(&parts.headers);
    jar.get(session_cookie_name(state.secure_cookies)).map(|c| c.value().to_owned()).filter(|t| !t.is_empty())
}

/// The signed-in member, or `Unauthenticated`.
pub async fn member() -> Result<(AppState, Member), AppError> {
    let state = state()?;
    let parts = use_context::<Parts>().ok_or(AppError::Unauthenticated)?;
    let member = signed_in(&state, &parts).await?;
    Ok((state, member))
}

/// The member a request's session stands for, worked out at most once per request: one render of
/// `/keys` calls several server functions, and each asks. The server's edge gives every request a
/// fresh, empty one; the first to ask signs in, and the others read its answer.
#[derive(Clone, Default)]
pub struct RequestSignIn(Arc<OnceCell<Result<Member, AppError>>>);

/// The member the request's session cookie stands for (see [`RequestSignIn`]), with the address
/// the request came from, as the server's edge found it (the TCP peer, or the client a trusted
/// proxy names).
pub async fn signed_in(state: &AppState, parts: &Parts) -> Result<Member, AppError> {
    let authenticate = async {
        let token = token_in(state, parts).ok_or(AppError::Unauthenticated)?;
        let mut member = auth::authenticate(&state.core, &token).await?;
        member.ip = client_ip(parts).map(|ip| ip.to_string());
        Ok(member)
    };
    match parts.extensions.get::<RequestSignIn>() {
        Some(RequestSignIn(once)) => once.get_or_init(|| authenticate).await.clone(),
        None => authenticate.await,
    }
}

fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    use crate::ssr::ClientAddress;
    parts.extensions.get::<ClientAddress>().map(|ClientAddress(ip)| *ip)
}

/// Where a sign-in comes from: the address, and the browser as it names itself.
pub async fn client() -> Client {
    let Some(parts) = use_context::<Parts>() else {
        return Client::default();
    };
    let user_agent = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Client { ip: client_ip(&parts), user_agent }
}

/// Hands the session token to the browser: HttpOnly (no script reads it), SameSite=Lax.
pub fn set_session_cookie(state: &AppState, session: &NewSession) {
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
    set_cookie(state, &session.token, max_age);
}

pub fn clear_session_cookie(state: &AppState) {
    set_cookie(state, "", 0);
}

fn set_cookie(state: &AppState, value: &str, max_age: i64) {
    let cookie = Cookie::build((session_cookie_name(state.secure_cookies), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age))
        .secure(state.secure_cookies)
        .build();
    match (HeaderValue::from_str(&cookie.to_string()), use_context::<ResponseOptions>()) {
        (Ok(value), Some(response)) => response.append_header(SET_COOKIE, value),
        _ => tracing::error!("could not set the session cookie"),
    }
}
