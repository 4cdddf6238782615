use super::{Clock, use_auth, use_hydrated};
use crate::api::account::SwitchOrganization;
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
    Clock::provide();
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
    let menu = NodeRef::<leptos::html::Div>::new();
    // On a narrow screen the menu is a popover, which the browser opens and closes by itself (no
    // code needed); a link followed inside it closes it, as the page stays.
    let close_menu = move |ev: leptos::ev::MouseEvent| {
        let _ = ev;
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let on_link = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                .is_some_and(|t| t.closest("a").ok().flatten().is_some());
            if let (true, Some(menu)) = (on_link, menu.get()) {
                let _ = menu.hide_popover();
            }
        }
    };
    view! {
        <header class="app-header">
            <a class="brand" href="/keys"><Logo size=24 />"Keyward"</a>
            <button type="button" class="button menu-button" popovertarget="main-menu">"Menu"</button>
            // A popover only while the screen is narrow: the style sheet shows it in the header
            // otherwise.
            <div id="main-menu" class="header-menu" popover="auto" node_ref=menu on:click=close_menu>
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
            </div>
        </header>
        <main class="content">{children()}</main>
    }
}

/// The current organization; with several, a labelled select that switches (what a switch does
/// next is in [`super::AuthProvider`]).
#[component]
fn OrganizationSwitcher(session: SessionInfo) -> impl IntoView {
    let auth = use_auth();
    if session.organizations.len() < 2 {
        return view! { <span class="org-name">{session.organization}</span> }.into_any();
    }
    let current = session.organization_id.to_string();
    let hydrated = use_hydrated();
    view! {
        <ActionForm action=auth.switch attr:class="org-switcher">
            <label for="organization-switcher" class="visually-hidden">"Organization"</label>
            // Switches as soon as one is chosen: a choice left unsent would show one organization's
            // name over another's data.
            <select id="organization-switcher" name="organization_id"
                on:change=move |ev| {
                    if let Ok(organization_id) = event_target_value(&ev).parse() {
                        auth.switch.dispatch(SwitchOrganization { organization_id });
                    }
                }>
                {session.organizations.into_iter().map(|org| {
                    let id = org.id.to_string();
                    let selected = id == current;
                    view! { <option value=id selected=selected>{org.name}" · "{org.role.label()}</option> }
                }).collect_view()}
            </select>
            // For a page without its code, which cannot send on a change.
            <button type="submit" class="button button-quiet" hidden=hydrated disabled=move || auth.switch.pending().get()>
                {move || if auth.switch.pending().get() { "Switching…" } else { "Switch" }}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// The mark (the site's icon), beside the name it decorates: no text of its own.
#[component]
pub fn Logo(#[prop(default = 48)] size: u32) -> impl IntoView {
    view! { <img class="logo" src="/favicon.svg" alt="" width=size height=size /> }
}
