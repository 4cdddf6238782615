//! The session, known to every page: who is signed in, and the actions that change it.

use super::{error_message, use_toasts};
use crate::api::account::SwitchOrganization;
use crate::api::auth::{SignOut, current_session};
use crate::model::{AppError, SessionInfo};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_navigate;

/// The session and the actions of the app's frame. The actions of one page (set up, sign in,
/// accept an invitation, change the password...) belong to that page, whose code loads with it;
/// one that signs someone in refetches the session (see [`go_to_keys_once_signed_in`]).
#[derive(Clone, Copy)]
pub struct AuthContext {
    /// Refetched whenever someone signs in, out, or into another organization.
    pub session: Resource<Result<Option<SessionInfo>, AppError>>,
    pub sign_out: ServerAction<SignOut>,
    /// Another organization: every page's data changes with it.
    pub switch: ServerAction<SwitchOrganization>,
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
    let sign_out = ServerAction::<SignOut>::new();
    let switch = ServerAction::<SwitchOrganization>::new();
    let session = Resource::new(move || (sign_out.version().get(), switch.version().get()), |_| current_session());
    provide_context(AuthContext { session, sign_out, switch });
    // Switching organization reloads the app on the keys page, so that nothing of the previous
    // organization stays on screen or in a cached resource. Once per app, not per page.
    let toasts = use_toasts();
    Effect::new(move |_| match switch.value().get() {
        Some(Ok(_)) => reload_on_keys(),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
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

/// After a successful setup, sign-in or accepted invitation: the session is read again, and on to
/// the keys.
pub fn go_to_keys_once_signed_in(value: MappedSignal<Option<Result<(), AppError>>>) {
    let navigate = use_navigate();
    let session = use_auth().session;
    Effect::new(move |_| {
        if matches!(value.get(), Some(Ok(()))) {
            session.refetch();
            navigate("/keys", Default::default());
        }
    });
}

/// A full page load of the keys page: the way into another organization.
pub fn reload_on_keys() {
    #[cfg(feature = "hydrate")]
    let _ = window().location().assign("/keys");
}
