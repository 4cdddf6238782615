//! Webhook endpoints, for the webhooks page: the same services as `/api/v1/webhooks`.

use crate::model::{AppError, EndpointOverview, EndpointWithSecret};
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<EndpointOverview>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::webhooks::overview(&state.core, &member).await?)
}

/// Registers an endpoint; the answer holds its signing secret, shown once. `events` come from
/// checkboxes named `events[i]`: none checked sends none.
#[server(endpoint = "register_webhook")]
pub async fn register_webhook(url: String, events: Option<Vec<String>>) -> Result<EndpointWithSecret, AppError> {
    let (state, member) = super::context::member().await?;
    let events = events.unwrap_or_default();
    Ok(crate::ssr::services::webhooks::register(&state.core, &member, &url, &events).await?)
}

/// Enables or disables an endpoint; answers whether it is now enabled.
#[server(endpoint = "set_webhook_enabled")]
pub async fn set_webhook_enabled(endpoint_id: Uuid, enabled: bool) -> Result<bool, AppError> {
    use crate::ssr::services::webhooks::{self, EndpointChange};
    let (state, member) = super::context::member().await?;
    let change = EndpointChange { enabled: Some(enabled), ..EndpointChange::default() };
    Ok(webhooks::change(&state.core, &member, endpoint_id, change).await?.enabled)
}

#[server(endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(endpoint_id: Uuid) -> Result<EndpointWithSecret, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::webhooks::rotate_secret(&state.core, &member, endpoint_id).await?)
}

#[server(endpoint = "send_webhook_test")]
pub async fn send_webhook_test(endpoint_id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    crate::ssr::services::webhooks::send_test(&state.core, &member, endpoint_id).await?;
    Ok(())
}

#[server(endpoint = "delete_webhook")]
pub async fn delete_webhook(endpoint_id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::webhooks::delete(&state.core, &member, endpoint_id).await?)
}

/// Sends a delivery again; `delivery_id` is its `msg_…` id.
#[server(endpoint = "resend_webhook_delivery")]
pub async fn resend_webhook_delivery(endpoint_id: Uuid, delivery_id: String) -> Result<(), AppError> {
    use crate::ssr::services::webhooks;
    let (state, member) = super::context::member().await?;
    let delivery_id = webhooks::parse_message_id(&delivery_id)
        .ok_or_else(|| AppError::invalid("delivery_id", "is not a delivery's id (msg_…)"))?;
    webhooks::resend(&state.core, &member, endpoint_id, delivery_id).await?;
    Ok(())
}
