//! The product's typed vocabulary, shared by the server and the browser. No I/O here.

mod error;
mod key;
pub mod org;
mod plan;
pub mod token;

pub use error::{AppError, FieldError};
pub use key::{ApiKey, CreatedKey, Environment, KeyName, KeyStatus, NewKey};
pub use org::{Project, Role, SessionInfo, SetupForm, normalize_email, validate_new_password};
pub use plan::Plan;
