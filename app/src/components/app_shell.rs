use super::use_auth;
use leptos::prelude::*;
use leptos_router::components::A;

/// The signed-in frame: the organization, the navigation, who is signed in, and Sign out.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let auth = use_auth();
    let session = move || auth.session.get().and_then(Result::ok).flatten();
    view! {
        <header class="app-header">
            <a class="brand" href="/keys">"Keyward"</a>
            <span class="org-name">{move || session().map(|s| s.organization)}</span>
            <nav aria-label="Main">
                <A href="/keys">"API Keys"</A>
                <A href="/members">"Members"</A>
                <A href="/audit">"Audit log"</A>
                <A href="/settings">"Settings"</A>
            </nav>
            <div class="account">
                <span class="user-name">{move || session().map(|s| s.user_name)}</span>
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
