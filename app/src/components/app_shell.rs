use super::use_auth;
use crate::model::SessionInfo;
use leptos::prelude::*;
use leptos_router::components::A;

/// The signed-in frame: the organization (and a switcher when there are several), the navigation,
/// who is signed in, and Sign out.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let auth = use_auth();
    let session = move || auth.session.get().and_then(Result::ok).flatten();
    view! {
        <header class="app-header">
            <a class="brand" href="/keys">"Keyward"</a>
            {move || session().map(|s| view! { <OrganizationSwitcher session=s /> })}
            <nav aria-label="Main">
                <A href="/keys">"API Keys"</A>
                <A href="/projects">"Projects"</A>
                <A href="/members">"Members"</A>
                <A href="/audit">"Audit log"</A>
                <A href="/settings">"Settings"</A>
            </nav>
            <div class="account">
                <A href="/account" attr:class="user-name" attr:title="Your account: password and sessions">
                    {move || session().map(|s| s.user_name)}
                </A>
                <ActionForm action=auth.sign_out>
                    <button type="submit" class="button button-quiet" disabled=move || auth.sign_out.pending().get()>
                        "Sign out"
                    </button>
                </ActionForm>
            </div>
        </header>
        <main class="content">{children()}</main>
    }
}

/// The current organization; with several, a labelled select and a button to switch (what a switch
/// does next is in [`super::AuthProvider`]).
#[component]
fn OrganizationSwitcher(session: SessionInfo) -> impl IntoView {
    let auth = use_auth();
    if session.organizations.len() < 2 {
        return view! { <span class="org-name">{session.organization}</span> }.into_any();
    }
    let current = session.organization_id.to_string();
    view! {
        <ActionForm action=auth.switch attr:class="org-switcher">
            <label for="organization-switcher" class="visually-hidden">"Organization"</label>
            <select id="organization-switcher" name="organization_id">
                {session.organizations.into_iter().map(|org| {
                    let id = org.id.to_string();
                    let selected = id == current;
                    view! { <option value=id selected=selected>{org.name}" · "{org.role.label()}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="button button-quiet" disabled=move || auth.switch.pending().get()>
                {move || if auth.switch.pending().get() { "Switching…" } else { "Switch" }}
            </button>
        </ActionForm>
    }
    .into_any()
}
