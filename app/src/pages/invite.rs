//! Accepting an invitation: the link is the credential. A new person chooses a name and a password;
//! someone with an account confirms it with their password.

use crate::api::members::{AcceptInvitation, get_invitation};
use crate::components::{FieldMessage, FormError, FormErrors, error_message, go_to_keys_once_signed_in};
use crate::model::MIN_PASSWORD_CHARS;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let preview = Resource::new(token, get_invitation);
    let action = ServerAction::<AcceptInvitation>::new();
    let value = action.value();
    let errors = FormErrors::of(value);
    let pending = action.pending();
    go_to_keys_once_signed_in(value);

    view! {
        <Title text="Join an organization" />
        <main class="auth-page">
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading the invitation…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Err(e) => view! {
                            <h1>"This invitation cannot be used"</h1>
                            <p class="form-error" role="alert">
                                {error_message(&e)}" It may have been used already, withdrawn, or have expired. Ask for a new one."
                            </p>
                        }.into_any(),
                        Ok(invitation) => view! {
                            <h1>{format!("Join {}", invitation.organization)}</h1>
                            <p class="lead">{format!("You are invited as a {} with {}.", invitation.role.label().to_lowercase(), invitation.email)}</p>
                            <ActionForm action attr:class="form card">
                                <input type="hidden" name="token" value=token() />
                                {if invitation.existing_account {
                                    view! {
                                        <input type="hidden" name="name" value="" />
                                        <p>"You already have a Keyward account. Confirm it is you:"</p>
                                        <div class="field">
                                            <label for="accept-password">"Password"</label>
                                            <input id="accept-password" name="password" type="password" required autocomplete="current-password"
                                                aria-invalid=errors.invalid("password")
                                                aria-describedby=errors.described_by("password", "accept-password", None) />
                                            <FieldMessage errors field="password" id="accept-password" />
                                        </div>
                                    }.into_any()
                                } else {
                                    view! {
                                        <div class="field">
                                            <label for="accept-name">"Your name"</label>
                                            <input id="accept-name" name="name" type="text" required maxlength="80" autocomplete="name"
                                                aria-invalid=errors.invalid("name")
                                                aria-describedby=errors.described_by("name", "accept-name", None) />
                                            <FieldMessage errors field="name" id="accept-name" />
                                        </div>
                                        <div class="field">
                                            <label for="accept-password">"Choose a password"</label>
                                            <input id="accept-password" name="password" type="password" required
                                                minlength=MIN_PASSWORD_CHARS.to_string() autocomplete="new-password"
                                                aria-invalid=errors.invalid("password")
                                                aria-describedby=errors.described_by("password", "accept-password", Some("password-hint")) />
                                            <p id="password-hint" class="hint">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p>
                                            <FieldMessage errors field="password" id="accept-password" />
                                        </div>
                                    }.into_any()
                                }}
                                <FormError errors shown=&["name", "password"] />
                                <button type="submit" class="button button-primary" disabled=move || pending.get()>
                                    {move || if pending.get() { "Joining…" } else { "Join organization" }}
                                </button>
                            </ActionForm>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
