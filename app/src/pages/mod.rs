//! One module per route.

mod home;
mod keys;
mod not_found;
mod setup;
mod sign_in;

pub use home::HomePage;
pub use keys::KeysPage;
pub use not_found::NotFound;
pub use setup::SetupPage;
pub use sign_in::SignInPage;
