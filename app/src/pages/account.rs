//! The signed-in person's account: their password, and the sessions signed in as them.

use crate::api::account::{ChangePassword, CreateOrganization, EndOtherSessions, EndSession, list_sessions};
use crate::components::{
    DataTable, ErrorMessage, FieldMessage, FormError, FormErrors, RelativeTimeOr, RequireSession, error_message,
    format_time, reload_on_keys, use_auth, use_toasts,
};
use crate::model::{MIN_PASSWORD_CHARS, SessionView};
use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    // A new password ends the other sessions (this one stays): the list follows.
    let change_password = ServerAction::<ChangePassword>::new();
    view! {
        <Title text="Your account" />
        <RequireSession>
            <div class="page-header">
                <div>
                    <h1>"Your account"</h1>
                    <p class="lead">{move || {
                        use_auth().session.get().and_then(Result::ok).flatten().map(|s| format!("Signed in as {}", s.email))
                    }}</p>
                </div>
            </div>
            <OrganizationsSection />
            <PasswordSection action=change_password />
            <SessionsSection change_password />
        </RequireSession>
    }
}

/// The organizations the person belongs to, and a new one of their own.
#[component]
fn OrganizationsSection() -> impl IntoView {
    let auth = use_auth();
    let action = ServerAction::<CreateOrganization>::new();
    let value = action.value();
    let errors = FormErrors::of(value);
    // The session moves to the new organization: a full load of its keys. (Errors show under the form.)
    Effect::new(move |_| {
        if matches!(value.get(), Some(Ok(_))) {
            reload_on_keys();
        }
    });
    let session = move || auth.session.get().and_then(Result::ok).flatten();
    view! {
        <section class="card" aria-labelledby="organizations-title">
            <h2 id="organizations-title">"Organizations"</h2>
            <ul class="plain-list">
                {move || session().map(|s| {
                    let current = s.organization_id;
                    s.organizations.into_iter().map(|org| view! {
                        <li>
                            <strong>{org.name}</strong>" · "{org.role.label()}
                            {(org.id == current).then(|| view! { " " <span class="badge status-active">"Current"</span> })}
                        </li>
                    }).collect_view()
                })}
            </ul>
            <ActionForm action attr:class="form form-inline">
                <label for="new-organization">"New organization"</label>
                <input id="new-organization" type="text" name="name" required maxlength="80"
                    aria-invalid=errors.invalid("name")
                    aria-describedby=errors.described_by("name", "new-organization", Some("new-organization-hint")) />
                <button type="submit" class="button" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create organization" }}
                </button>
                <p id="new-organization-hint" class="hint">"You will own it, on the Free plan, and work in it from then on."</p>
                <FieldMessage errors field="name" id="new-organization" />
                <FormError errors shown=&["name"] />
            </ActionForm>
        </section>
    }
}

/// A new password; every other session ends with the old one.
#[component]
fn PasswordSection(action: ServerAction<ChangePassword>) -> impl IntoView {
    let toasts = use_toasts();
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(ended)) = action.value().get() {
            let others = match ended {
                0 => "No other session was signed in.".to_owned(),
                1 => "Your 1 other session was signed out.".to_owned(),
                n => format!("Your {n} other sessions were signed out."),
            };
            toasts.success(format!("Password changed. {others}"));
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
    let errors = FormErrors::of(action.value());
    view! {
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <ActionForm action node_ref=form attr:class="form">
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" name="current_password" required
                    autocomplete="current-password" aria-invalid=errors.invalid("current_password")
                    aria-describedby=errors.described_by("current_password", "current-password", None) />
                <FieldMessage errors field="current_password" id="current-password" />
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" name="new_password" required
                    minlength=MIN_PASSWORD_CHARS autocomplete="new-password"
                    aria-describedby=errors.described_by("new_password", "new-password", Some("new-password-hint"))
                    aria-invalid=errors.invalid("new_password") />
                <p id="new-password-hint" class="hint">
                    {format!("At least {MIN_PASSWORD_CHARS} characters. Your other sessions will be signed out.")}
                </p>
                <FieldMessage errors field="new_password" id="new-password" />
                <FormError errors shown=&["current_password", "new_password"] />
                <button type="submit" class="button button-primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Changing…" } else { "Change password" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// Where the person is signed in; any other session can be ended, or all of them at once.
#[component]
fn SessionsSection(change_password: ServerAction<ChangePassword>) -> impl IntoView {
    let toasts = use_toasts();
    let end = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let sessions = Resource::new(
        move || (end.version().get(), end_others.version().get(), change_password.version().get()),
        |_| list_sessions(),
    );
    Effect::new(move |_| match end.value().get() {
        Some(Ok(())) => toasts.success("Session signed out."),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
    Effect::new(move |_| match end_others.value().get() {
        Some(Ok(0)) => toasts.success("No other session was signed in."),
        Some(Ok(n)) => toasts.success(format!("Signed out of {n} other session{}.", if n == 1 { "" } else { "s" })),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
    view! {
        <section class="card" aria-labelledby="sessions-title">
            <div class="section-header">
                <h2 id="sessions-title">"Sessions"</h2>
                <ActionForm action=end_others attr:class="inline-form">
                    <button type="submit" class="button button-danger-quiet" disabled=move || end_others.pending().get()>
                        "Sign out all other sessions"
                    </button>
                </ActionForm>
            </div>
            <p class="hint">"Browsers and devices signed in as you, in every organization."</p>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! { <SessionTable list end /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SessionTable(list: Vec<SessionView>, end: ServerAction<EndSession>) -> impl IntoView {
    const COLUMNS: &[&str] = &["Device", "Address", "Signed in", "Last seen"];
    view! {
        <DataTable caption="Sessions" columns=COLUMNS actions=true>
                    {list.into_iter().map(|s| {
                        let session_id = s.id;
                        let label = format!("Sign out {} (signed in {})", s.device, format_time(s.signed_in_at));
                        view! {
                            <tr>
                                <th scope="row">
                                    {s.device}
                                    {s.current.then(|| view! { " " <span class="badge status-active">"This session"</span> })}
                                </th>
                                <td data-label="From">{s.ip.unwrap_or_else(|| "—".to_owned())}</td>
                                <td data-label="Signed in">{format_time(s.signed_in_at)}</td>
                                <td data-label="Last seen">
                                    <RelativeTimeOr at=s.last_seen_at otherwise="—" />
                                </td>
                                <td class="actions">
                                    {(!s.current).then(|| view! {
                                        <ActionForm action=end attr:class="inline-form">
                                            <input type="hidden" name="session_id" value=session_id.to_string() />
                                            <button type="submit" class="button button-danger-quiet" aria-label=label
                                                disabled=move || end.pending().get()>
                                                "Sign out"
                                            </button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
        </DataTable>
    }
}
