use crate::api::keys::get_key_stats;
use crate::components::{ActionError, RequireSession, WebhookSettings, provide_key_actions, use_auth, use_key_actions};
use crate::model::{Plan, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use strum::VariantArray;

/// The organization's plan and usage; an owner switches plan here (no billing).
#[component]
pub fn SettingsPage() -> impl IntoView {
    provide_key_actions();
    view! {
        <Title text="Settings" />
        <RequireSession>
            <SettingsView />
        </RequireSession>
    }
}

#[component]
fn SettingsView() -> impl IntoView {
    let auth = use_auth();
    let actions = use_key_actions();
    let stats = Resource::new(move || actions.version(), |_| get_key_stats());
    let session = move || auth.session.get().and_then(Result::ok).flatten();
    // The plan shown follows the last change without waiting for the session to refetch.
    let current_plan = move || match actions.plan.value().get() {
        Some(Ok(plan)) => Some(plan),
        _ => session().map(|s| s.plan),
    };
    let is_owner = move || session().is_some_and(|s| s.role == Role::Owner);

    view! {
        <div class="page-header"><h1>"Settings"</h1></div>
        <section class="card" aria-labelledby="plan-title">
            <h2 id="plan-title">"Plan"</h2>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let stats = stats.await.unwrap_or_default();
                    let usage = match stats.max_keys {
                        Some(max) => format!("{} of {max} keys", stats.live),
                        None => format!("{} keys (unlimited)", stats.live),
                    };
                    view! {
                        <p class="usage">
                            <strong>{move || current_plan().map(|p| p.label()).unwrap_or_default()}</strong>
                            " plan · "<span>{usage}</span>
                        </p>
                    }
                })}
            </Transition>
            <ActionForm action=actions.plan attr:class="form">
                <fieldset class="plans" disabled=move || !is_owner()>
                    <legend>"Change plan"</legend>
                    {Plan::VARIANTS.iter().copied().map(|plan| {
                        let limit = plan.max_keys().map_or_else(|| "Unlimited keys".to_owned(), |n| format!("{n} keys"));
                        view! {
                            <label class="check">
                                <input type="radio" name="plan" value=plan.as_str() prop:checked=move || current_plan() == Some(plan) />
                                <strong>{plan.label()}</strong>" · "{limit}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <ActionError value=actions.plan.value() />
                <Show when=is_owner fallback=|| view! { <p class="hint">"Only an owner can change the plan."</p> }>
                    <button type="submit" class="button button-primary">"Save plan"</button>
                </Show>
            </ActionForm>
        </section>
        <WebhookSettings />
    }
}
