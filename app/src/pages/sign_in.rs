use crate::api::auth::SignIn;
use crate::api::auth::needs_setup;
use crate::components::{ActionError, Logo, go_to_keys_once_signed_in, use_auth};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = use_auth();
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    let pending = action.pending();
    let setup = Resource::new(|| (), |_| needs_setup());
    // Outside the suspense, so that a form made again after a failed attempt (which reloads the
    // session) starts with the email typed. Only its first value is set: bound to the field, it
    // would empty whatever was typed before the page's code ran.
    let email = RwSignal::new(String::new());

    go_to_keys_once_signed_in(value);

    view! {
        <Title text="Sign in" />
        <main class="auth-page">
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    if matches!(setup.await, Ok(true)) {
                        return view! { <Redirect path="/setup" /> }.into_any();
                    }
                    if matches!(auth.session.await, Ok(Some(_))) {
                        return view! { <Redirect path="/keys" /> }.into_any();
                    }
                    view! {
                        <Logo />
                        <h1>"Sign in to Keyward"</h1>
                        <ActionForm action attr:class="form card">
                            <div class="field">
                                <label for="sign-in-email">"Email"</label>
                                <input id="sign-in-email" name="email" type="email" required autocomplete="username"
                                    autofocus=true value=email.get_untracked()
                                    on:input=move |ev| email.set(event_target_value(&ev)) />
                            </div>
                            <div class="field">
                                <label for="sign-in-password">"Password"</label>
                                <input id="sign-in-password" name="password" type="password" required
                                    autocomplete="current-password" />
                            </div>
                            <ActionError value />
                            <button type="submit" class="button button-primary" disabled=move || pending.get()>
                                {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                            </button>
                        </ActionForm>
                        <p class="hint forgot">
                            "Forgot your password? Ask an owner of your organization."
                        </p>
                    }
                    .into_any()
                })}
            </Suspense>
        </main>
    }
}
