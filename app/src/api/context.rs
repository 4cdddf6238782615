//! What a server function needs from the request it serves: the app state and the session cookie.

use crate::model::AppError;
use crate::ssr::AppState;
use crate::ssr::services::{Client, Member, NewSession, auth};
use axum::http::{HeaderValue, header::SET_COOKIE};
use axum_extra::extract::CookieJar;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

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
    let name = session_cookie_name(state().ok()?.secure_cookies);
    let jar = leptos_axum::extract::<CookieJar>().await.ok()?;
    jar.get(name).map(|c| c.value().to_owned()).filter(|t| !t.is_empty())
}

/// The signed-in member, or `Unauthenticated`.
pub async fn member() -> Result<(AppState, Member), AppError> {
    let state = state()?;
    let token = session_token().await.ok_or(AppError::Unauthenticated)?;
    let mut member = auth::authenticate(&state.core, &token).await?;
    member.ip = client_ip().await.map(|ip| ip.to_string());
    Ok((state, member))
}

/// The address the request came from: as the server's edge found it (the TCP peer, or the client a
/// trusted proxy names).
async fn client_ip() -> Option<std::net::IpAddr> {
    use crate::ssr::ClientAddress;
    let parts = use_context::<axum::http::request::Parts>()?;
    parts.extensions.get::<ClientAddress>().map(|ClientAddress(ip)| *ip)
}

/// Where a sign-in comes from: the address, and the browser as it names itself.
pub async fn client() -> Client {
    let user_agent = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|headers| headers.get(axum::http::header::USER_AGENT)?.to_str().ok().map(str::to_owned));
    Client { ip: client_ip().await, user_agent }
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
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let name = session_cookie_name(state.secure_cookies);
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    match (HeaderValue::from_str(&cookie), use_context::<ResponseOptions>()) {
        (Ok(value), Some(response)) => response.append_header(SET_COOKIE, value),
        _ => tracing::error!("could not set the session cookie"),
    }
}
