use crate::api::keys::{CreateKey, RevokeKey, list_keys, list_projects};
use crate::components::keys::{CreateKeyDialog, EmptyKeys, KeysTable, RevokeDialog, TokenDialog};
use crate::components::{AppShell, RequireSession, error_message, use_toasts};
use crate::model::ApiKey;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn KeysPage() -> impl IntoView {
    view! {
        <Title text="API Keys" />
        <RequireSession>
            <AppShell>
                <KeysView />
            </AppShell>
        </RequireSession>
    }
}

#[component]
fn KeysView() -> impl IntoView {
    let toasts = use_toasts();
    let create = ServerAction::<CreateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    // The list follows every change: it refetches when either action completes.
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_keys());
    let projects = Resource::new(|| (), |_| list_projects());

    let create_open = RwSignal::new(false);
    let revoke_target = RwSignal::new(None::<ApiKey>);

    // The new token lives only in the action's value, and is dropped when its dialog closes.
    let created = Signal::derive(move || create.value().get().and_then(Result::ok));
    Effect::new(move |_| {
        if let Some(Ok(key)) = create.value().get() {
            create_open.set(false);
            toasts.success(format!("API key \"{}\" created.", key.key.name));
        }
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(key)) => {
            revoke_target.set(None);
            toasts.success(format!("API key \"{}\" revoked.", key.name));
        }
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });

    let open_create = Callback::new(move |()| create_open.set(true));

    view! {
        <div class="page-header">
            <div>
                <h1>"API Keys"</h1>
                <p class="lead">"Keys your services and customers use to call your API."</p>
            </div>
            <button type="button" class="button button-primary" on:click=move |_| create_open.set(true)>
                "Create API Key"
            </button>
        </div>

        <Transition fallback=|| view! { <p class="loading" role="status">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(keys) if keys.is_empty() => view! { <EmptyKeys on_create=open_create /> }.into_any(),
                    Ok(keys) => view! {
                        <KeysTable keys on_revoke=Callback::new(move |key| revoke_target.set(Some(key))) />
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{error_message(&e)}</p> }.into_any(),
                }
            })}
        </Transition>

        <Transition>
            {move || Suspend::new(async move {
                let projects = projects.await.unwrap_or_default();
                view! {
                    <CreateKeyDialog open=create_open on_close=Callback::new(move |()| create_open.set(false))
                        action=create projects />
                }
            })}
        </Transition>
        <TokenDialog created on_close=Callback::new(move |()| create.value().set(None)) />
        <RevokeDialog target=revoke_target action=revoke />
    }
}
