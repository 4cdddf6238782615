//! Webhook endpoints, for the webhooks page: the same services as `/api/v1/webhooks`.

use crate::model::{AppError, EndpointChanged, EndpointCommand, EndpointOverview, EndpointWithSecret};
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

/// What a button on an endpoint's card asks for: send a test event, enable, disable, rotate the
/// secret, delete, or resend the delivery `delivery_id` (its `msg_…` id).
#[server(endpoint = "change_webhook")]
pub async fn change_webhook(
    endpoint_id: Uuid,
    command: EndpointCommand,
    delivery_id: Option<String>,
) -> Result<EndpointChanged, AppError> {
    use crate::ssr::services::webhooks::{self, EndpointChange};
    let (state, member) = super::context::member().await?;
    let core = &state.core;
    let done = |message: &str| EndpointChanged { message: message.to_owned(), secret: None };
    Ok(match command {
        EndpointCommand::SendTest => {
            webhooks::send_test(core, &member, endpoint_id).await?;
            done("Test event queued: it is sent within seconds.")
        }
        EndpointCommand::Enable | EndpointCommand::Disable => {
            let enabled = command == EndpointCommand::Enable;
            let change = EndpointChange { enabled: Some(enabled), ..EndpointChange::default() };
            webhooks::change(core, &member, endpoint_id, change).await?;
            done(if enabled { "Endpoint enabled." } else { "Endpoint disabled: it gets no new events." })
        }
        EndpointCommand::RotateSecret => {
            let rotated = webhooks::rotate_secret(core, &member, endpoint_id).await?;
            EndpointChanged {
                message: format!("New signing secret for {}.", rotated.endpoint.url),
                secret: Some(rotated),
            }
        }
        EndpointCommand::Delete => {
            webhooks::delete(core, &member, endpoint_id).await?;
            done("Endpoint deleted.")
        }
        EndpointCommand::Resend => {
            let delivery_id = delivery_id
                .as_deref()
                .and_then(webhooks::parse_message_id)
                .ok_or_else(|| AppError::invalid("delivery_id", "is not a delivery's id (msg_…)"))?;
            webhooks::resend(core, &member, endpoint_id, delivery_id).await?;
            done("Delivery queued again.")
        }
    })
}
