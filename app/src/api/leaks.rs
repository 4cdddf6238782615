//! Leaked keys from the dashboard: "Report as leaked" on a key's page, "Check a leaked token", and
//! the organization's policy. The services hold the rules; a scanner's reports reach the same ones.

use crate::model::{AppError, LeakHandled, LeakPolicy};
use leptos::prelude::*;
use uuid::Uuid;

/// Reports the key's secret as leaked: the organization's policy is applied to it.
#[server(endpoint = "report_leaked_key")]
pub async fn report_leaked_key(id: Uuid) -> Result<LeakHandled, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::leaks::report_key(&state.core, &member, id).await?)
}

/// Looks a token up and, if it is one of the organization's keys, handles it as leaked.
#[server(endpoint = "check_leaked_token")]
pub async fn check_leaked_token(token: String) -> Result<LeakHandled, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::leaks::check_token(&state.core, &member, &token).await?)
}

#[server(endpoint = "get_leak_policy")]
pub async fn get_leak_policy() -> Result<LeakPolicy, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::leaks::policy(&state.core, &member).await?)
}

/// What happens to a key reported leaked (owners and admins).
#[server(endpoint = "set_leak_policy")]
pub async fn set_leak_policy(policy: LeakPolicy) -> Result<LeakPolicy, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::leaks::set_policy(&state.core, &member, policy).await?)
}
