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
pub use keys::KeysPage;
pub use members::MembersPage;
pub use not_found::NotFound;
pub use projects::ProjectsPage;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use sign_in::SignInPage;
