//! The session, known to every page: who is signed in, and the actions that change it.

use super::{error_message, use_toasts};
use crate::api::account::{ChangePassword, CreateOrganization, SwitchOrganization};
use crate::api::auth::{SetUp, SignIn, SignOut, current_session};
use crate::api::members::AcceptInvitation;
use crate::model::{AppError, SessionInfo};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_navigate;

#[derive(Clone, Copy)]
pub struct AuthContext {
    /// Refetched whenever someone sets up, signs in or signs out.
    pub session: Resource<Result<Option<SessionInfo>, AppError>>,
    pub set_up: ServerAction<SetUp>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_out: ServerAction<SignOut>,
    /// Accepting an invitation signs the person in, too.
    pub accept: ServerAction<AcceptInvitation>,
    /// Another organization: every page's data changes with it.
    pub switch: ServerAction<SwitchOrganization>,
    /// A new organization, which the session then works in.
    pub create_organization: ServerAction<CreateOrganization>,
    /// A new password ends the other sessions; this one stays.
    pub change_password: ServerAction<ChangePassword>,
}

pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

/// The session [`RequireSession`] awaited, handed to the page it guards.
#[derive(Clone)]
struct SignedIn(SessionInfo);

/// The signed-in member's session, once known (inside [`RequireSession`] it is).
///
/// Inside it, the value `RequireSession` awaited: the same on the server and in the browser while
/// it hydrates, where the resource's own signal may not hold the value yet. A page that decided
/// from that signal rendered other elements than the server had, and hydration panicked.
pub fn current_member() -> Option<SessionInfo> {
    use_context::<SignedIn>()
        .map(|SignedIn(session)| session)
        .or_else(|| use_auth().session.get_untracked().and_then(Result::ok).flatten())
}

#[component]
pub fn AuthProvider(children: Children) -> impl IntoView {
    let set_up = ServerAction::<SetUp>::new();
    let sign_in = ServerAction::<SignIn>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let accept = ServerAction::<AcceptInvitation>::new();
    let switch = ServerAction::<SwitchOrganization>::new();
    let create_organization = ServerAction::<CreateOrganization>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let session = Resource::new(
        move || {
            (
                set_up.version().get(),
                sign_in.version().get(),
                sign_out.version().get(),
                accept.version().get(),
                switch.version().get(),
            )
        },
        |_| current_session(),
    );
    provide_context(AuthContext {
        session,
        set_up,
        sign_in,
        sign_out,
        accept,
        switch,
        create_organization,
        change_password,
    });
    // Switching organization reloads the app on the keys page, so that nothing of the previous
    // organization stays on screen or in a cached resource. Once per app, not per page.
    let toasts = use_toasts();
    Effect::new(move |_| match switch.value().get() {
        Some(Ok(_)) => reload_on_keys(),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
    // Its errors show under its form.
    Effect::new(move |_| {
        if matches!(create_organization.value().get(), Some(Ok(_))) {
            reload_on_keys();
        }
    });
    children()
}

/// Shows its children to a signed-in member and sends everyone else to sign in.
#[component]
pub fn RequireSession(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.session.await {
                    Ok(Some(session)) => {
                        provide_context(SignedIn(session));
                        children.with_value(|c| c()).into_any()
                    }
                    Ok(None) => view! { <Redirect path="/sign-in" /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// After a successful setup or sign-in, on to the keys (the session resource refetches meanwhile).
pub fn go_to_keys_once_signed_in(value: MappedSignal<Option<Result<(), AppError>>>) {
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(value.get(), Some(Ok(()))) {
            navigate("/keys", Default::default());
        }
    });
}

/// A full page load of the keys page: the way into another organization.
fn reload_on_keys() {
    #[cfg(feature = "hydrate")]
    let _ = window().location().assign("/keys");
}
