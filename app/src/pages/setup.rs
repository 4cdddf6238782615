use crate::api::auth::SetUp;
use crate::api::auth::needs_setup;
use crate::components::{ActionError, go_to_keys_once_signed_in, invalid_field};
use crate::model::MIN_PASSWORD_CHARS;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// First run: the organization and its owner.
#[component]
pub fn SetupPage() -> impl IntoView {
    let action = ServerAction::<SetUp>::new();
    let value = action.value();
    let pending = action.pending();
    let setup = Resource::new(|| (), |_| needs_setup());

    go_to_keys_once_signed_in(value);

    view! {
        <Title text="Set up Keyward" />
        <main class="auth-page">
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    if !matches!(setup.await, Ok(true)) && !matches!(value.get_untracked(), Some(Ok(()))) {
                        return view! { <Redirect path="/sign-in" /> }.into_any();
                    }
                    view! {
                        <h1>"Welcome to Keyward"</h1>
                        <p class="lead">"Create your organization and its owner account."</p>
                        <ActionForm action attr:class="form card">
                            <div class="field">
                                <label for="setup-organization">"Organization name"</label>
                                <input id="setup-organization" name="organization" type="text" required maxlength="80"
                                    autocomplete="organization" aria-invalid=invalid_field(value, "organization") />
                            </div>
                            <div class="field">
                                <label for="setup-name">"Your name"</label>
                                <input id="setup-name" name="name" type="text" required maxlength="80"
                                    autocomplete="name" aria-invalid=invalid_field(value, "name") />
                            </div>
                            <div class="field">
                                <label for="setup-email">"Email"</label>
                                <input id="setup-email" name="email" type="email" required autocomplete="email"
                                    aria-invalid=invalid_field(value, "email") />
                            </div>
                            <div class="field">
                                <label for="setup-password">"Password"</label>
                                <input id="setup-password" name="password" type="password" required
                                    minlength=MIN_PASSWORD_CHARS.to_string() autocomplete="new-password"
                                    aria-invalid=invalid_field(value, "password") aria-describedby="setup-password-hint" />
                                <small id="setup-password-hint" class="hint">
                                    {format!("At least {MIN_PASSWORD_CHARS} characters.")}
                                </small>
                            </div>
                            <ActionError value />
                            <button type="submit" class="button button-primary" disabled=move || pending.get()>
                                {move || if pending.get() { "Creating…" } else { "Create organization" }}
                            </button>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
        </main>
    }
}
