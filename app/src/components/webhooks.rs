//! Webhooks, a section of the settings page: where the organization's events are sent, and what
//! became of each delivery. Every action is a form, so it works before the page's code arrives.
//! (A section rather than a page of its own: a route of its own would cost every page's first
//! download a route's code.)

use super::{
    CopyButton, DataTable, ErrorMessage, FieldMessage, FormError, FormErrors, RelativeTime, current_member,
    error_message, format_date, use_toasts,
};
use crate::api::webhooks::{ChangeWebhook, RegisterWebhook, list_webhooks};
use crate::model::{AppError, EndpointCommand, EndpointOverview, EndpointWithSecret, Permission, WebhookEvent};
use leptos::prelude::*;
use uuid::Uuid;

/// The section's two actions: registering an endpoint, and any button on an endpoint's card. The
/// list refetches after each success; a refusal shows on the card it came from.
#[derive(Clone, Copy)]
struct WebhookActions {
    register: ServerAction<RegisterWebhook>,
    change: ServerAction<ChangeWebhook>,
    /// The endpoint whose card sent the last change.
    sent_from: RwSignal<Option<Uuid>>,
    successes: RwSignal<usize>,
    /// A secret just made (registration or rotation), shown until the next one.
    secret: RwSignal<Option<EndpointWithSecret>>,
}

impl WebhookActions {
    fn refusal_for(&self, endpoint: Uuid) -> Option<AppError> {
        if self.sent_from.get() != Some(endpoint) {
            return None;
        }
        self.change.value().get().and_then(Result::err)
    }
}

/// The settings page's Webhooks section: endpoints for owners and admins, a word for the others.
#[component]
pub fn WebhookSettings() -> impl IntoView {
    let may_manage = current_member().is_some_and(|m| m.can(Permission::SettingsManage));
    view! {
        <section class="card webhooks" id="webhooks" aria-labelledby="webhooks-title">
            <h2 id="webhooks-title">"Webhooks"</h2>
            <p class="hint">
                "Keyward posts what happens to your keys and members to these endpoints, signed as the Standard \
                 Webhooks specification says."
            </p>
            {if may_manage {
                view! { <Endpoints /> }.into_any()
            } else {
                view! { <p class="hint">"Only owners and admins manage webhooks: an endpoint receives every event of the organization."</p> }.into_any()
            }}
        </section>
    }
}

#[component]
fn Endpoints() -> impl IntoView {
    let actions = WebhookActions {
        register: ServerAction::new(),
        change: ServerAction::new(),
        sent_from: RwSignal::new(None),
        successes: RwSignal::new(0),
        secret: RwSignal::new(None),
    };
    let endpoints = Resource::new(move || actions.successes.get(), |_| list_webhooks());
    let new_endpoint = NodeRef::<leptos::html::Form>::new();
    report(actions, new_endpoint);
    let errors = FormErrors::of(actions.register.value());

    view! {
        <SecretShownOnce actions />
        <section class="webhook-new" aria-labelledby="new-webhook-title">
            <h3 id="new-webhook-title">"Add an endpoint"</h3>
            <ActionForm action=actions.register node_ref=new_endpoint attr:class="form">
                <div class="field">
                    <label for="webhook-url">"Endpoint URL"</label>
                    <input id="webhook-url" type="text" name="url" required maxlength="2000" inputmode="url"
                        placeholder="https://hooks.example.com/keyward" autocomplete="off"
                        aria-invalid=errors.invalid("url") aria-describedby=errors.described_by("url", "webhook-url", None) />
                    <FieldMessage errors field="url" id="webhook-url" />
                </div>
                <fieldset class="events">
                    <legend>"Events"</legend>
                    {WebhookEvent::subscribable().enumerate().map(|(i, event)| view! {
                        <label class="check">
                            <input type="checkbox" name=format!("events[{i}]") value=event.as_str()
                                checked=event.as_str().starts_with("key.") />
                            <code>{event.as_str()}</code>
                        </label>
                    }).collect_view()}
                </fieldset>
                <FormError errors shown=&["url"] />
                <button type="submit" class="button button-primary" disabled=move || actions.register.pending().get()>
                    "Add endpoint"
                </button>
            </ActionForm>
        </section>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading endpoints…"</p> }>
            {move || Suspend::new(async move {
                match endpoints.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="hint">"No endpoints yet."</p> }.into_any()
                    }
                    Ok(list) => list.into_iter().map(|overview| view! { <EndpointCard overview actions /> }).collect_view().into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Successes show as toasts (and a new secret in its panel); the list refetches.
fn report(actions: WebhookActions, new_endpoint: NodeRef<leptos::html::Form>) {
    let toasts = use_toasts();
    let succeeded = move |message: String| {
        actions.successes.update(|n| *n += 1);
        toasts.success(message);
    };
    Effect::new(move |_| {
        if let Some(Ok(made)) = actions.register.value().get() {
            succeeded(format!("Endpoint {} added.", made.endpoint.url));
            actions.secret.set(Some(made));
            if let Some(form) = new_endpoint.get() {
                form.reset();
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(changed)) = actions.change.value().get() {
            succeeded(changed.message);
            if let Some(rotated) = changed.secret {
                actions.secret.set(Some(rotated));
            }
        }
    });
}

/// The signing secret just made, with a Copy button: it is never shown again.
#[component]
fn SecretShownOnce(actions: WebhookActions) -> impl IntoView {
    move || {
        actions.secret.get().map(|made| {
            let secret = made.secret.clone();
            view! {
                <section class="secret-once" aria-labelledby="webhook-secret-title">
                    <h3 id="webhook-secret-title">"Signing secret"</h3>
                    <p>"For "<code>{made.endpoint.url}</code>". Copy it now: it is not shown again."</p>
                    <div class="token-box">
                        <code class="token" aria-label="Signing secret">{made.secret}</code>
                        <CopyButton text=Signal::derive(move || secret.clone()) label="Copy the signing secret".to_owned() />
                    </div>
                    <button type="button" class="button button-quiet" on:click=move |_| actions.secret.set(None)>
                        "I have saved it"
                    </button>
                </section>
            }
        })
    }
}

#[component]
fn EndpointCard(overview: EndpointOverview, actions: WebhookActions) -> impl IntoView {
    let EndpointOverview { endpoint, recent, total_deliveries } = overview;
    let (id, url, enabled) = (endpoint.id, endpoint.url, endpoint.enabled);
    let title_id = format!("webhook-{id}");
    let labelled_by = title_id.clone();
    let events = endpoint.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ");
    // Every button is a form of its own to the one server function, naming its command.
    let command_form = move |command: EndpointCommand, name: String, text: &'static str, class: &'static str| {
        view! {
            <ActionForm action=actions.change on:submit=move |_| actions.sent_from.set(Some(id)) attr:class="inline-form">
                <input type="hidden" name="endpoint_id" value=id.to_string() />
                <input type="hidden" name="command" value=command.as_str() />
                <button type="submit" class=class aria-label=name>{text}</button>
            </ActionForm>
        }
    };
    let deliveries = if recent.is_empty() {
        view! { <p class="hint">"No deliveries yet."</p> }.into_any()
    } else {
        view! {
            <DataTable caption="Recent deliveries" columns=&["Event", "Outcome", "Attempts", "Created"] actions=true>
                {recent.into_iter().map(|delivery| {
                    let resend_label = format!("Resend {} delivery {}", delivery.event.as_str(), delivery.id);
                    view! {
                        <tr>
                            <td><code>{delivery.event.as_str()}</code></td>
                            <td>{delivery.outcome()}</td>
                            <td>{delivery.attempts}</td>
                            <td><RelativeTime at=delivery.created_at /></td>
                            <td>
                                <ActionForm action=actions.change on:submit=move |_| actions.sent_from.set(Some(id)) attr:class="inline-form">
                                    <input type="hidden" name="endpoint_id" value=id.to_string() />
                                    <input type="hidden" name="command" value=EndpointCommand::Resend.as_str() />
                                    <input type="hidden" name="delivery_id" value=delivery.id />
                                    <button type="submit" class="button button-small" aria-label=resend_label>"Resend"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </DataTable>
        }
        .into_any()
    };
    view! {
        <section class="webhook" aria-labelledby=labelled_by>
            <h3 id=title_id>
                <code>{url.clone()}</code>
                {(!enabled).then(|| view! { " " <span class="badge badge-disabled">"Disabled"</span> })}
            </h3>
            <p class="hint">{events}" · added "{format_date(endpoint.created_at)}</p>
            <div class="button-row">
                {command_form(EndpointCommand::SendTest, format!("Send a test event to {url}"), "Send test event", "button")}
                {if enabled {
                    command_form(EndpointCommand::Disable, format!("Disable {url}"), "Disable", "button")
                } else {
                    command_form(EndpointCommand::Enable, format!("Enable {url}"), "Enable", "button")
                }}
                {command_form(EndpointCommand::RotateSecret, format!("Rotate the signing secret of {url}"), "Rotate secret", "button")}
                <details class="confirm">
                    <summary class="button button-danger-quiet">"Delete…"</summary>
                    <p>"Its pending deliveries are dropped. This cannot be undone."</p>
                    {command_form(EndpointCommand::Delete, format!("Delete the endpoint {url}"), "Delete endpoint", "button button-danger")}
                </details>
            </div>
            {move || actions.refusal_for(id).map(|error| view! {
                <p class="form-error" role="alert">{error_message(&error)}</p>
            })}
            <h4>"Recent deliveries"</h4>
            {deliveries}
            {(total_deliveries > EndpointOverview::RECENT).then(|| view! {
                <p class="hint">
                    {format!("The latest {} of {total_deliveries}. Every one: ", EndpointOverview::RECENT)}
                    <code>{format!("GET /api/v1/webhooks/{id}/deliveries")}</code>
                </p>
            })}
        </section>
    }
}
