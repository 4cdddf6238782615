//! The server functions' HTTP edge: a bounded body, and every refusal answered with its own status
//! and, for bad input, the field it is about.
//!
//! server_fn answers every `Err` with 500 and reports arguments that did not deserialize without
//! saying which one failed. Both are settled here, once, for every server function: the status
//! comes from [`AppError::status`], and the arguments are read again with serde_path_to_error to
//! name the field.

use crate::model::{AppError, UNREAD_ARGUMENTS};
use crate::ssr::input;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use leptos::server_fn::ServerFn;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use serde::de::DeserializeOwned;
use std::future::Future;

/// Server functions take forms and small JSON queries; nothing the dashboard sends comes near this.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Runs one server function call through `handle` with its body read first (at most
/// [`BODY_LIMIT`]), and settles its refusal.
pub async fn serve<F, Fut>(request: Request<Body>, handle: F) -> Response<Body>
where
    F: FnOnce(Request<Body>) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) if too_large(&e) => return refusal(&AppError::TooLarge { limit_kb: BODY_LIMIT / 1024 }),
        Err(_) => return refusal(&AppError::Malformed("the body could not be read".into())),
    };
    let response = handle(Request::from_parts(parts, Body::from(body.clone()))).await;
    settle(&path, &body, response).await
}

/// An error answer with its status; anything else as it is.
async fn settle(path: &str, arguments: &Bytes, response: Response<Body>) -> Response<Body> {
    let refused = response.status().is_client_error() || response.status().is_server_error();
    if !refused || !response.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return response;
    }
    if response.headers().contains_key(header::LOCATION) {
        return back_to_the_form(response);
    }
    let (parts, body) = response.into_parts();
    // An error body is a few hundred bytes of JSON (the typed AppError).
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return refusal(&AppError::Internal);
    };
    let Ok(error) = serde_json::from_slice::<AppError>(&body) else {
        return Response::from_parts(parts, Body::from(body));
    };
    let error = match error {
        AppError::Invalid(errors) if errors.first().field == UNREAD_ARGUMENTS => explain(path, arguments),
        error => error,
    };
    // The answer's own headers (a cookie, Retry-After) stay, all of their values; its body's go.
    let mut settled = refusal(&error);
    let own: Vec<_> = settled.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if *name != header::CONTENT_LENGTH && !own.contains(name) {
            settled.headers_mut().append(name, value.clone());
        }
    }
    settled
}

/// A form posted without JavaScript and refused: server_fn sends the browser back to the form's page
/// with the error in its URL (`__err`), where the page's `ActionForm` shows it. The refusal's own
/// status (set for scripts) would otherwise turn that redirect into a page of JSON. Its headers (a
/// cookie, `Retry-After`) stay.
fn back_to_the_form(response: Response<Body>) -> Response<Body> {
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::SEE_OTHER;
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, Body::empty())
}

/// The typed error as server_fn encodes it, with its own status.
fn refusal(error: &AppError) -> Response<Body> {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(error).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(SERVER_FN_ERROR_HEADER, HeaderValue::from_static("true"));
    response
}

fn too_large(e: &axum::Error) -> bool {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Why the arguments of the server function at `path` did not deserialize: the field and the
/// reason, or a body that is not a form (or JSON) at all.
fn explain(path: &str, arguments: &[u8]) -> AppError {
    let unreadable = || AppError::Malformed("the arguments are not a valid form".into());
    match READERS.iter().find(|(at, _)| *at == path) {
        Some((_, read)) => read(arguments).unwrap_or_else(unreadable),
        None => unreadable(),
    }
}

type Reader = fn(&[u8]) -> Option<AppError>;

/// Arguments posted as a form (server_fn's default, `PostUrl`, and what `ActionForm` sends).
fn form<T: DeserializeOwned>(arguments: &[u8]) -> Option<AppError> {
    read_form::<T>(arguments).err()
}

/// A form read as server_fn reads a server function's arguments, for a route that takes one
/// itself (a form posted without JavaScript); a field that does not read is named.
pub fn read_form<T: DeserializeOwned>(form: &[u8]) -> Result<T, AppError> {
    // As server_fn reads them: nested up to 5 levels, not strict about encoded brackets.
    let config = serde_qs::Config::new(5, false);
    let deserializer = serde_qs::Deserializer::with_config(&config, form)
        .map_err(|_| AppError::Malformed("the arguments are not a valid form".into()))?;
    serde_path_to_error::deserialize::<_, T>(deserializer)
        .map_err(|e| input::fault(&e.path().to_string(), &e.inner().to_string()).into())
}

/// Arguments posted as JSON (`input = Json`): one argument, whose fields are the ones to name.
fn json<T: DeserializeOwned>(arguments: &[u8]) -> Option<AppError> {
    // serde reads a struct from an array too, and would name its fields "[0]", "[1]".
    if arguments.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Some(AppError::Malformed("the body must be a JSON object".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(arguments);
    let e = serde_path_to_error::deserialize::<_, T>(&mut deserializer).err()?;
    if e.inner().is_syntax() || e.inner().is_eof() {
        return Some(AppError::Malformed("the body is not valid JSON".into()));
    }
    let path = e.path().to_string();
    // "query.per_page": the argument's own name says nothing to the person who set `per_page`.
    let path = path.split_once('.').map_or(path.as_str(), |(_, within)| within);
    Some(input::fault(path, &e.inner().to_string()).into())
}

/// Every server function that takes arguments. One left out still answers 400, but without naming
/// the field; `tests/it/server_fns.rs` walks them all.
const READERS: &[(&str, Reader)] = {
    use super::{account::*, audit::*, auth::*, keys::*, leaks::*, members::*, organization::*, projects::*};
    &[
        (<ListKeys as ServerFn>::PATH, json::<ListKeys>),
        (<ListAudit as ServerFn>::PATH, json::<ListAudit>),
        (<GetKeyDetails as ServerFn>::PATH, form::<GetKeyDetails>),
        (<GetKeyUsage as ServerFn>::PATH, form::<GetKeyUsage>),
        (<GetKeyVerifications as ServerFn>::PATH, form::<GetKeyVerifications>),
        (<CreateKey as ServerFn>::PATH, form::<CreateKey>),
        (<RevokeKey as ServerFn>::PATH, form::<RevokeKey>),
        (<DisableKey as ServerFn>::PATH, form::<DisableKey>),
        (<EnableKey as ServerFn>::PATH, form::<EnableKey>),
        (<DeleteKey as ServerFn>::PATH, form::<DeleteKey>),
        (<RotateKey as ServerFn>::PATH, form::<RotateKey>),
        (<UpdateKeyScopes as ServerFn>::PATH, form::<UpdateKeyScopes>),
        (<UpdateKeyRateLimit as ServerFn>::PATH, form::<UpdateKeyRateLimit>),
        (<UpdateKeyCredits as ServerFn>::PATH, form::<UpdateKeyCredits>),
        (<UpdateKeyIpAllowlist as ServerFn>::PATH, form::<UpdateKeyIpAllowlist>),
        (<EditKey as ServerFn>::PATH, form::<EditKey>),
        (<SwitchOrganization as ServerFn>::PATH, form::<SwitchOrganization>),
        (<CreateOrganization as ServerFn>::PATH, form::<CreateOrganization>),
        (<EndSession as ServerFn>::PATH, form::<EndSession>),
        (<ChangePassword as ServerFn>::PATH, form::<ChangePassword>),
        (<SetUp as ServerFn>::PATH, form::<SetUp>),
        (<SignIn as ServerFn>::PATH, form::<SignIn>),
        (<InviteMember as ServerFn>::PATH, form::<InviteMember>),
        (<RevokeInvitation as ServerFn>::PATH, form::<RevokeInvitation>),
        (<ChangeMemberRole as ServerFn>::PATH, form::<ChangeMemberRole>),
        (<SetMemberSuspended as ServerFn>::PATH, form::<SetMemberSuspended>),
        (<RemoveMember as ServerFn>::PATH, form::<RemoveMember>),
        (<GetInvitation as ServerFn>::PATH, form::<GetInvitation>),
        (<AcceptInvitation as ServerFn>::PATH, form::<AcceptInvitation>),
        (<ChangePlan as ServerFn>::PATH, form::<ChangePlan>),
        (<RenameOrganization as ServerFn>::PATH, form::<RenameOrganization>),
        (<TransferOrganization as ServerFn>::PATH, form::<TransferOrganization>),
        (<CreateProject as ServerFn>::PATH, form::<CreateProject>),
        (<RenameProject as ServerFn>::PATH, form::<RenameProject>),
        (<SetProjectArchived as ServerFn>::PATH, form::<SetProjectArchived>),
        (<DefineProjectScope as ServerFn>::PATH, form::<DefineProjectScope>),
        (<RemoveProjectScope as ServerFn>::PATH, form::<RemoveProjectScope>),
        (<ReportLeakedKey as ServerFn>::PATH, form::<ReportLeakedKey>),
        (<GetDecoyUses as ServerFn>::PATH, form::<GetDecoyUses>),
        (<CheckLeakedToken as ServerFn>::PATH, form::<CheckLeakedToken>),
        (<SetLeakPolicy as ServerFn>::PATH, form::<SetLeakPolicy>),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    fn named(path: &str, body: &str) -> AppError {
        explain(path, body.as_bytes())
    }

    #[test]
    fn a_bad_argument_is_named() {
        let create = <super::super::keys::CreateKey as ServerFn>::PATH;
        assert_eq!(
            named(create, "name=a&project_id=nope&environment=production"),
            AppError::invalid("project_id", "must be an id (a UUID)")
        );
        let env = named(create, &format!("name=a&project_id={}&environment=kw_live_x", uuid::Uuid::nil()));
        assert_eq!(env.field(), Some("environment"));
        assert_eq!(
            named(create, &format!("project_id={}&environment=production", uuid::Uuid::nil())).field(),
            Some("name")
        );
        let list = <super::super::keys::ListKeys as ServerFn>::PATH;
        assert_eq!(named(list, r#"{"query":{"per_page":"ten"}}"#).field(), Some("per_page"));
        assert_eq!(named(list, "per_page=10"), AppError::Malformed("the body must be a JSON object".into()));
        assert_eq!(named(list, "{\"query\":"), AppError::Malformed("the body is not valid JSON".into()));
        assert!(matches!(named("/api/no_such_fn", "x=1"), AppError::Malformed(_)));
    }

    #[test]
    fn every_refusal_has_a_4xx_status_and_only_the_server_s_own_failure_a_5xx() {
        assert_eq!(refusal(&AppError::invalid("name", "is required")).status(), 422);
        assert_eq!(refusal(&AppError::Malformed("x".into())).status(), 400);
        assert_eq!(refusal(&AppError::TooLarge { limit_kb: 64 }).status(), 413);
        assert_eq!(refusal(&AppError::Internal).status(), 500);
    }
}
