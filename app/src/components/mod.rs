//! Building blocks shared by the pages.

mod app_shell;
mod auth;
mod copy_button;
mod data_table;
mod form_error;
mod key_actions;
pub mod keys;
mod modal;
mod scope_picker;
mod status_badge;
mod time;
mod toast;
mod usage_chart;
mod webhooks;

pub use app_shell::{AppShell, Logo, SignedInLayout};
pub use auth::{
    AuthContext, AuthProvider, RequireSession, current_member, go_to_keys_once_signed_in, reload_on_keys, use_auth,
};
pub use copy_button::CopyButton;
pub use data_table::DataTable;
pub use form_error::{ActionError, ErrorMessage, FieldMessage, FormError, FormErrors, error_message};
pub use key_actions::{KeyActions, provide_key_actions, use_key_actions};
pub use modal::{ConfirmButtons, Modal};
pub use scope_picker::{ScopeChoice, ScopePicker};
pub use status_badge::StatusBadge;
pub use time::{
    Clock, RelativeTime, RelativeTimeOr, after, ago, format_date, format_time, iso_time, now, use_hydrated,
};
pub use toast::{ToastKind, ToastProvider, Toasts, use_toasts};
pub use usage_chart::UsageChart;
pub use webhooks::WebhookSettings;

/// This Keyward's address, for the links and commands a page shows: the server's own (its public
/// URL), and in the browser the page's, which is the same wherever forms work at all (they are
/// refused from any other origin).
pub fn site_origin() -> String {
    #[cfg(feature = "hydrate")]
    return web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    leptos::prelude::use_context::<crate::model::SiteOrigin>().map(|o| o.0).unwrap_or_default()
}
