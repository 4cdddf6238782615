use crate::model::{AppError, Plan};
use leptos::prelude::*;

/// Switches the organization's plan (owners only; no billing).
#[server(endpoint = "change_plan")]
pub async fn change_plan(plan: Plan) -> Result<Plan, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::organizations::change_plan(&state.core, &member, plan).await?.plan)
}
