//! One module per route.

mod account;
mod audit;
mod home;
mod invite;
mod key_details;
mod keys;
mod members;
mod not_found;
mod projects;
mod settings;
mod setup;
mod sign_in;

pub use account::AccountPage;
pub use audit::AuditPage;
pub use home::HomePage;
pub use invite::InvitePage;
pub use key_details::KeyDetailsPage;
pub use keys::{CreateFormAnswer, KeysPage};
pub use members::MembersPage;
pub use not_found::NotFound;
pub use projects::ProjectsPage;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use sign_in::SignInPage;

use crate::components::SignedInLayout;

/// The pages come in three lazily loaded chunks of the browser's WASM (`cargo leptos --split`),
/// by what a visit uses together: the keys (the list, a key, the plan), the team (members,
/// projects, the audit log, the account), and the ways in (setup, sign-in, an invitation); the
/// signed-in pages' frame is a fourth. A first visit downloads the app's core and one area (with
/// the frame, behind a sign-in), not every page; one chunk per page would cost a hundred small
/// requests, for the code pages share.
macro_rules! lazy_areas {
    ($($area:ident($pages:ident, $preload:ident) { $($route:ident => $page:ident),* $(,)? })*) => {
        $(
            // Each variant is named after its route.
            #[allow(clippy::enum_variant_names)]
            #[derive(Clone, Copy)]
            enum $pages {
                $($route,)*
            }

            /// The area's pages: one split point, so one chunk (and the chunks it shares).
            #[leptos::lazy]
            fn $area(page: $pages) -> leptos::prelude::AnyView {
                use leptos::prelude::IntoAny;
                match page {
                    $($pages::$route => leptos::prelude::view! { <$page /> }.into_any(),)*
                }
            }

            $(
                #[doc = concat!("[`", stringify!($page), "`], loaded with its area when first visited.")]
                pub struct $route;

                impl leptos_router::LazyRoute for $route {
                    fn data() -> Self {
                        Self
                    }

                    async fn view(_this: Self) -> leptos::prelude::AnyView {
                        $area($pages::$route).await
                    }

                    // Hydration loads the shown page's chunk first (`#[lazy]` names its loader
                    // `__preload_<function>`); the server has no chunks.
                    async fn preload() {
                        #[cfg(target_arch = "wasm32")]
                        $preload().await;
                    }
                }
            )*
        )*
    };
}

lazy_areas! {
    keys_area(KeysArea, __preload_keys_area) {
        KeysRoute => KeysPage,
        KeyDetailsRoute => KeyDetailsPage,
        SettingsRoute => SettingsPage,
    }
    team_area(TeamArea, __preload_team_area) {
        MembersRoute => MembersPage,
        ProjectsRoute => ProjectsPage,
        AuditRoute => AuditPage,
        AccountRoute => AccountPage,
    }
    // The signed-in pages' frame (header, navigation): a parent route, loaded with the first of
    // them a visit shows; in the first bundle it would be on every page, the ways in too.
    frame_area(FrameArea, __preload_frame_area) {
        SignedInRoute => SignedInLayout,
    }
    entry_area(EntryArea, __preload_entry_area) {
        SetupRoute => SetupPage,
        SignInRoute => SignInPage,
        InviteRoute => InvitePage,
    }
}
