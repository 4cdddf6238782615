//! One module per route.

mod audit;
mod home;
mod invite;
mod key_details;
mod keys;
mod members;
mod not_found;
mod settings;
mod setup;
mod sign_in;

pub use audit::AuditPage;
pub use home::HomePage;
pub use invite::InvitePage;
pub use key_details::KeyDetailsPage;
pub use keys::KeysPage;
pub use members::MembersPage;
pub use not_found::NotFound;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use sign_in::SignInPage;
