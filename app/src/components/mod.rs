//! Building blocks shared by the pages.

mod app_shell;
mod auth;
mod form_error;
pub mod keys;
mod modal;
mod status_badge;
mod time;
mod toast;

pub use app_shell::AppShell;
pub use auth::{AuthContext, AuthProvider, RequireSession, use_auth};
pub use form_error::{ActionError, error_message, invalid_field};
pub use modal::Modal;
pub use status_badge::StatusBadge;
pub use time::{after, format_time, iso_time};
pub use toast::{ToastKind, ToastProvider, use_toasts};
