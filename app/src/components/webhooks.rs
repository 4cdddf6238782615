//! Webhooks, a section of the settings page: where the organization's events are sent, and what
//! became of each delivery. Every action is a form, so it works before the page's code arrives.
//! (A section rather than a page of its own: a route of its own would cost every page's first
//! download a route's code.)

use super::{
    CopyButton, DataTable, ErrorMessage, FieldMessage, FormError, FormErrors, RelativeTime, current_member,
    error_message, format_date, use_toasts,
};
use crate::api::webhooks::{
    DeleteWebhook, RegisterWebhook, ResendWebhookDelivery, RotateWebhookSecret, SendWebhookTest, SetWebhookEnabled,
    list_webhooks,
};
use crate::model::{AppError, EndpointOverview, EndpointWithSecret, Permission, WebhookEvent};
use leptos::prelude::*;
use uuid::Uuid;

/// The page's actions. The list refetches after each success; a refusal shows on the card it
/// came from.
#[derive(Clone, Copy)]
struct WebhookActions {
    register: ServerAction<RegisterWebhook>,
    enabled: ServerAction<SetWebhookEnabled>,
    rotate: ServerAction<RotateWebhookSecret>,
    test: ServerAction<SendWebhookTest>,
    delete: ServerAction<DeleteWebhook>,
    resend: ServerAction<ResendWebhookDelivery>,
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
        let error = |v: Option<Result<(), AppError>>| v.and_then(Result::err);
        error(self.enabled.value().get().map(|r| r.map(|_| ())))
            .or_else(|| error(self.rotate.value().get().map(|r| r.map(|_| ()))))
            .or_else(|| error(self.test.value().get()))
            .or_else(|| error(self.delete.value().get()))
            .or_else(|| error(self.resend.value().get()))
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
        enabled: ServerAction::new(),
        rotate: ServerAction::new(),
        test: ServerAction::new(),
        delete: ServerAction::new(),
        resend: ServerAction::new(),
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
        if let Some(Ok(rotated)) = actions.rotate.value().get() {
            succeeded(format!("New signing secret for {}.", rotated.endpoint.url));
            actions.secret.set(Some(rotated));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(enabled)) = actions.enabled.value().get() {
            succeeded(if enabled { "Endpoint enabled." } else { "Endpoint disabled: it gets no new events." }.into());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.test.value().get() {
            succeeded("Test event queued: it is sent within seconds.".into());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.delete.value().get() {
            succeeded("Endpoint deleted.".into());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.resend.value().get() {
            succeeded("Delivery queued again.".into());
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
    let mark_sender = move |_| actions.sent_from.set(Some(id));
    let hidden_id = move || view! { <input type="hidden" name="endpoint_id" value=id.to_string() /> };
    let (test_name, toggle_name, rotate_name, delete_name) = (
        format!("Send a test event to {url}"),
        format!("{} {url}", if enabled { "Disable" } else { "Enable" }),
        format!("Rotate the signing secret of {url}"),
        format!("Delete the endpoint {url}"),
    );
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
                                <ActionForm action=actions.resend on:submit=mark_sender attr:class="inline-form">
                                    {hidden_id()}
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
                <ActionForm action=actions.test on:submit=mark_sender attr:class="inline-form">
                    {hidden_id()}
                    <button type="submit" class="button" aria-label=test_name>"Send test event"</button>
                </ActionForm>
                <ActionForm action=actions.enabled on:submit=mark_sender attr:class="inline-form">
                    {hidden_id()}
                    <input type="hidden" name="enabled" value=(!enabled).to_string() />
                    <button type="submit" class="button" aria-label=toggle_name>
                        {if enabled { "Disable" } else { "Enable" }}
                    </button>
                </ActionForm>
                <ActionForm action=actions.rotate on:submit=mark_sender attr:class="inline-form">
                    {hidden_id()}
                    <button type="submit" class="button" aria-label=rotate_name>
                        "Rotate secret"
                    </button>
                </ActionForm>
                <details class="confirm">
                    <summary class="button button-danger-quiet">"Delete…"</summary>
                    <p>"Its pending deliveries are dropped. This cannot be undone."</p>
                    <ActionForm action=actions.delete on:submit=mark_sender attr:class="inline-form">
                        {hidden_id()}
                        <button type="submit" class="button button-danger" aria-label=delete_name>
                            "Delete endpoint"
                        </button>
                    </ActionForm>
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
