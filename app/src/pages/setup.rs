use crate::api::auth::SetUp;
use crate::api::auth::needs_setup;
use crate::components::{FieldMessage, FormError, FormErrors, go_to_keys_once_signed_in};
use crate::model::MIN_PASSWORD_CHARS;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// First run: the organization and its owner.
#[component]
pub fn SetupPage() -> impl IntoView {
    let action = ServerAction::<SetUp>::new();
    let value = action.value();
    let errors = FormErrors::of(value);
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
                                    autocomplete="organization" aria-invalid=errors.invalid("organization")
                                    aria-describedby=errors.described_by("organization", "setup-organization", None) />
                                <FieldMessage errors field="organization" id="setup-organization" />
                            </div>
                            <div class="field">
                                <label for="setup-name">"Your name"</label>
                                <input id="setup-name" name="name" type="text" required maxlength="80"
                                    autocomplete="name" aria-invalid=errors.invalid("name")
                                    aria-describedby=errors.described_by("name", "setup-name", None) />
                                <FieldMessage errors field="name" id="setup-name" />
                            </div>
                            <div class="field">
                                <label for="setup-email">"Email"</label>
                                <input id="setup-email" name="email" type="email" required autocomplete="email"
                                    aria-invalid=errors.invalid("email")
                                    aria-describedby=errors.described_by("email", "setup-email", None) />
                                <FieldMessage errors field="email" id="setup-email" />
                            </div>
                            <div class="field">
                                <label for="setup-password">"Password"</label>
                                <input id="setup-password" name="password" type="password" required
                                    minlength=MIN_PASSWORD_CHARS.to_string() autocomplete="new-password"
                                    aria-invalid=errors.invalid("password")
                                    aria-describedby=errors.described_by("password", "setup-password", Some("setup-password-hint")) />
                                <small id="setup-password-hint" class="hint">
                                    {format!("At least {MIN_PASSWORD_CHARS} characters.")}
                                </small>
                                <FieldMessage errors field="password" id="setup-password" />
                            </div>
                            <FormError errors shown=&["organization", "name", "email", "password"] />
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
