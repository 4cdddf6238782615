//! The pieces of the API Keys page.

use super::{ActionError, Modal, StatusBadge, after, format_time, invalid_field, iso_time, use_toasts};
use crate::api::keys::{CreateKey, RevokeKey};
use crate::model::{ApiKey, CreatedKey, Environment, KeyName, Project};
use leptos::html;
use leptos::prelude::*;

/// The organization's keys. Only prefixes and masked previews: the table never holds a secret.
#[component]
pub fn KeysTable(keys: Vec<ApiKey>, on_revoke: Callback<ApiKey>) -> impl IntoView {
    let rows = keys
        .into_iter()
        .map(|key| {
            let revocable = key.status.can_revoke();
            let label = format!("Revoke {}", key.name);
            let target = key.clone();
            view! {
                <tr>
                    <th scope="row">
                        <span class="key-name">{key.name.clone()}</span>
                        {key.description.clone().map(|d| view! { <span class="key-description">{d}</span> })}
                    </th>
                    <td><code class="key-preview" title=key.prefix.clone()>{key.preview.clone()}</code></td>
                    <td>{key.project_name.clone()}</td>
                    <td><span class=format!("env env-{}", key.environment.as_str())>{key.environment.label()}</span></td>
                    <td><StatusBadge status=key.status /></td>
                    <td>{key.created_by.clone()}</td>
                    <td><time datetime=iso_time(key.created_at)>{format_time(key.created_at)}</time></td>
                    <td>{key.last_used_at.map_or_else(|| "Never".to_owned(), format_time)}</td>
                    <td class="actions">
                        {revocable.then(|| view! {
                            <button type="button" class="button button-danger-quiet" aria-label=label
                                on:click=move |_| on_revoke.run(target.clone())>
                                "Revoke"
                            </button>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();

    view! {
        <div class="table-wrap">
            <table class="keys-table">
                <caption class="visually-hidden">"API keys"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Project"</th>
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created by"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// Shown when the organization has no key yet.
#[component]
pub fn EmptyKeys(on_create: Callback<()>) -> impl IntoView {
    view! {
        <section class="empty-state" aria-labelledby="empty-keys-title">
            <h2 id="empty-keys-title">"No API keys yet"</h2>
            <p>
                "API keys let your services and customers call your API. Create one per integration, "
                "so that you can revoke it alone when it is no longer needed."
            </p>
            <button type="button" class="button button-primary" on:click=move |_| on_create.run(())>
                "Create API Key"
            </button>
        </section>
    }
}

/// The create form, in a dialog. Posts to the `create_key` server function (and works before hydration).
#[component]
pub fn CreateKeyDialog(
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    action: ServerAction<CreateKey>,
    projects: Vec<Project>,
) -> impl IntoView {
    let form = NodeRef::<html::Form>::new();
    let value = action.value();
    let pending = action.pending();

    // A fresh form each time the dialog opens: no stale error, no stale input.
    Effect::new(move |_| {
        if open.get() {
            if value.with_untracked(|v| matches!(v, Some(Err(_)))) {
                value.set(None);
            }
            #[cfg(feature = "hydrate")]
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    let projects = StoredValue::new(projects);

    view! {
        <Modal id="create-key" title="Create API Key" open on_close>
            <ActionForm action node_ref=form attr:class="form">
                <div class="field">
                    <label for="key-name">"Name"</label>
                    <input id="key-name" name="name" type="text" required maxlength=KeyName::MAX_CHARS.to_string()
                        autocomplete="off" placeholder="e.g. Production backend"
                        aria-invalid=invalid_field(value, "name") aria-describedby="key-name-hint" />
                    <small id="key-name-hint" class="hint">"1 to 64 characters, to recognise the key later."</small>
                </div>
                <div class="field">
                    <label for="key-description">"Description (optional)"</label>
                    <textarea id="key-description" name="description" rows="2" maxlength="500"
                        aria-invalid=invalid_field(value, "description")></textarea>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="key-project">"Project"</label>
                        <select id="key-project" name="project_id" aria-invalid=invalid_field(value, "project")>
                            {projects.get_value().into_iter().map(|p| view! {
                                <option value=p.id.to_string()>{p.name}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="key-environment">"Environment"</label>
                        <select id="key-environment" name="environment" aria-invalid=invalid_field(value, "environment")>
                            {Environment::ALL.into_iter().map(|e| view! {
                                <option value=e.as_str()>{e.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                </div>
                <ActionError value />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="button button-primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Creating…" } else { "Create key" }}
                    </button>
                </div>
            </ActionForm>
        </Modal>
    }
}

/// The new token, shown this once, with a Copy button.
#[component]
pub fn TokenDialog(created: Signal<Option<CreatedKey>>, on_close: Callback<()>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let toasts = use_toasts();
    let open = Signal::derive(move || created.with(Option::is_some));
    let token = move || created.with(|c| c.as_ref().map(|c| c.token.clone()).unwrap_or_default());
    let name = move || created.with(|c| c.as_ref().map(|c| c.key.name.clone()).unwrap_or_default());

    let copy = move |_| {
        let text = token();
        leptos::task::spawn_local(async move {
            match write_clipboard(&text).await {
                Ok(()) => {
                    copied.set(true);
                    after(2000, move || copied.set(false));
                }
                Err(()) => toasts.error("Could not copy. Select the key and copy it by hand."),
            }
        });
    };

    view! {
        <Modal id="new-token" title="Save your API key" open on_close>
            <p>"Your new key "<strong>{name}</strong>" is ready:"</p>
            <div class="token-box">
                <code class="token" aria-label="API key">{token}</code>
                <button type="button" class="button" on:click=copy>
                    {move || if copied.get() { "Copied!" } else { "Copy" }}
                </button>
            </div>
            <p class="warning" role="note">
                <strong>"This key will not be shown again."</strong>
                " Store it somewhere safe now, such as your secrets manager. If you lose it, rotate or revoke the key."
            </p>
            <div class="dialog-actions">
                <button type="button" class="button button-primary" on:click=move |_| on_close.run(())>
                    "I have saved it"
                </button>
            </div>
        </Modal>
    }
}

#[cfg(feature = "hydrate")]
async fn write_clipboard(text: &str) -> Result<(), ()> {
    let clipboard = web_sys::window().ok_or(())?.navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text)).await.map(|_| ()).map_err(|_| ())
}

#[cfg(not(feature = "hydrate"))]
async fn write_clipboard(_text: &str) -> Result<(), ()> {
    Err(())
}

/// Asks before revoking: revocation is permanent.
#[component]
pub fn RevokeDialog(target: RwSignal<Option<ApiKey>>, action: ServerAction<RevokeKey>) -> impl IntoView {
    let open = Signal::derive(move || target.with(Option::is_some));
    let pending = action.pending();
    let name = move || target.with(|k| k.as_ref().map(|k| k.name.clone()).unwrap_or_default());
    let prefix = move || target.with(|k| k.as_ref().map(|k| k.prefix.clone()).unwrap_or_default());
    let revoke = move |_| {
        if let Some(key) = target.get_untracked() {
            action.dispatch(RevokeKey { id: key.id });
        }
    };

    view! {
        <Modal id="revoke-key" title="Revoke API key" open on_close=Callback::new(move |()| target.set(None))>
            <p>
                "Revoke "<strong>{name}</strong>" ("<code>{prefix}</code>")? Every request that uses it will be refused "
                "immediately. This cannot be undone; the key stays listed as revoked."
            </p>
            <div class="dialog-actions">
                <button type="button" class="button" on:click=move |_| target.set(None)>"Cancel"</button>
                <button type="button" class="button button-danger" disabled=move || pending.get() on:click=revoke>
                    {move || if pending.get() { "Revoking…" } else { "Revoke key" }}
                </button>
            </div>
        </Modal>
    }
}
