use crate::api::auth::needs_setup;
use crate::components::use_auth;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// `/`: sends a person where they belong (setup, sign-in, or their keys).
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    let setup = Resource::new(|| (), |_| needs_setup());
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let path = match (setup.await, auth.session.await) {
                    (Ok(true), _) => "/setup",
                    (_, Ok(Some(_))) => "/keys",
                    _ => "/sign-in",
                };
                view! { <Redirect path /> }
            })}
        </Suspense>
    }
}
