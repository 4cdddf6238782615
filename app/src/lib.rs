//! Keyward's dashboard: shared models, server functions, pages, and (behind `ssr`) the services.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use components::{AuthProvider, ToastProvider};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::Lazy;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};
use pages::{
    AccountRoute, AuditRoute, HomePage, InviteRoute, KeyDetailsRoute, KeysRoute, MembersRoute, NotFound, ProjectsRoute,
    SettingsRoute, SetupRoute, SignInRoute, SignedInRoute,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    ssr::page_headers::send();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                // Named by its content's hash, as the scripts are: cached for a year.
                <HashedStylesheet options=options.clone() id="keyward" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|page: String| if page.is_empty() { "Keyward".to_owned() } else { format!("{page} · Keyward") } />
        <ToastProvider>
            <Router>
                <AuthProvider>
                    // Async SSR: the session is known before the first byte, so a page that needs one
                    // answers with a real redirect, and the keys table is in the first HTML response.
                    <Routes fallback=NotFound>
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                        <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async />
                        // The signed-in pages, in one frame that stays as a person moves between them.
                        <ParentRoute path=path!("") view={Lazy::<SignedInRoute>::new()} ssr=SsrMode::Async>
                            <Route path=path!("/keys") view={Lazy::<KeysRoute>::new()} ssr=SsrMode::Async />
                            // The keys with the create form open; posted without JavaScript, its answer.
                            <Route path=path!("/keys/new") view={Lazy::<KeysRoute>::new()} ssr=SsrMode::Async />
                            <Route path=path!("/keys/:id") view={Lazy::<KeyDetailsRoute>::new()} ssr=SsrMode::Async />
                            <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async />
                            <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                            <Route path=path!("/members") view={Lazy::<MembersRoute>::new()} ssr=SsrMode::Async />
                            <Route path=path!("/projects") view={Lazy::<ProjectsRoute>::new()} ssr=SsrMode::Async />
                            <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                        </ParentRoute>
                        <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async />
                    </Routes>
                </AuthProvider>
            </Router>
        </ToastProvider>
    }
}
