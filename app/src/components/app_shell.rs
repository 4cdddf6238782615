use super::use_auth;
use crate::model::SessionInfo;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

/// The frame of every signed-in page, made once: moving between the pages below it swaps only the
/// page in its `<Outlet/>`, while the header stays. Each page still awaits the session itself
/// (`RequireSession`) before it shows anything: the outlet is not inside a suspense of the frame's,
/// whose children the server makes twice (once to start their data loading, once to render), with
/// every resource in them.
#[component]
pub fn SignedInLayout() -> impl IntoView {
    view! {
        <AppShell>
            <Outlet />
        </AppShell>
    }
}

/// The signed-in frame: the organization (and a switcher when there are several), the navigation,
/// who is signed in, and Sign out. What comes from the session is shown once it is known, the same
/// on the server and in the hydrating browser.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let auth = use_auth();
    let session = move || async move { auth.session.await.ok().flatten() };
    view! {
        <header class="app-header">
            <a class="brand" href="/keys">"Keyward"</a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    session().await.map(|s| view! { <OrganizationSwitcher session=s /> })
                })}
            </Transition>
            <nav aria-label="Main">
                <A href="/keys">"API Keys"</A>
                <A href="/projects">"Projects"</A>
                <A href="/members">"Members"</A>
                <A href="/audit">"Audit log"</A>
                <A href="/settings">"Settings"</A>
            </nav>
            <div class="account">
                <A href="/account" attr:class="user-name" attr:title="Your account: password and sessions">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move { session().await.map(|s| s.user_name) })}
                    </Transition>
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
