use crate::model::{AppError, SessionInfo};
use leptos::prelude::*;

/// True until the first organization has been set up.
#[server(endpoint = "needs_setup")]
pub async fn needs_setup() -> Result<bool, AppError> {
    let state = super::context::state()?;
    Ok(crate::ssr::services::auth::needs_setup(&state.core.db).await?)
}

/// Who is signed in, if anyone.
#[server(endpoint = "current_session")]
pub async fn current_session() -> Result<Option<SessionInfo>, AppError> {
    // Not signed in is an answer here, not a refusal: no 401 on the page that asks.
    match super::context::member().await {
        Ok((state, member)) => {
            let organizations = crate::ssr::services::account::organizations(&state.core.db, &member).await?;
            Ok(Some(member.session_info(organizations)))
        }
        Err(AppError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// First run: creates the organization and its owner, and signs the owner in.
#[server(endpoint = "set_up")]
pub async fn set_up(organization: String, name: String, email: String, password: String) -> Result<(), AppError> {
    use crate::model::SetupForm;
    let state = super::context::state()?;
    let form = SetupForm { organization, name, email, password };
    let client = super::context::client().await;
    let session = crate::ssr::services::auth::set_up(&state.core, form, &client).await?;
    super::context::set_session_cookie(&state, &session);
    leptos_axum::redirect("/keys");
    Ok(())
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    let state = super::context::state()?;
    let client = super::context::client().await;
    let session = crate::ssr::services::auth::sign_in(&state.core, &email, &password, &client).await?;
    super::context::set_session_cookie(&state, &session);
    leptos_axum::redirect("/keys");
    Ok(())
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let state = super::context::state()?;
    if let Some(token) = super::context::session_token().await {
        crate::ssr::services::auth::sign_out(&state.core.db, &token).await?;
    }
    super::context::clear_session_cookie(&state);
    leptos_axum::redirect("/sign-in");
    Ok(())
}
