//! One module per route.

mod home;
mod key_details;
mod keys;
mod not_found;
mod settings;
mod setup;
mod sign_in;

pub use home::HomePage;
pub use key_details::KeyDetailsPage;
pub use keys::KeysPage;
pub use not_found::NotFound;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use sign_in::SignInPage;
