use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// `text` with its first letter upper-cased: a message or a label that starts a sentence.
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Bad input: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field} {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e)
    }
}

/// The field of an argument error before the edge has named the real one.
pub const UNREAD_ARGUMENTS: &str = "request";

/// The error every server function returns: what the dashboard can show a person.
///
/// Internal failures carry no detail on purpose; the server logs them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("Invalid email or password.")]
    InvalidCredentials,
    #[error("Too many sign-in attempts. Try again in {retry_after_secs} seconds.")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("The server is busy. Try again in {retry_after_secs} seconds.")]
    Overloaded { retry_after_secs: u64 },
    /// What the member's role does not allow, in words.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found.")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The {plan} plan allows {limit} active keys. Upgrade your plan to create more.")]
    PlanLimitReached { plan: String, limit: u32 },
    /// A request whose body is not a form or JSON at all (400): nothing to name a field in.
    #[error("The request could not be read: {0}")]
    Malformed(String),
    /// A request body over the server functions' limit (413).
    #[error("The request is larger than {limit_kb} KB.")]
    TooLarge { limit_kb: usize },
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(FieldError::new(field, reason))
    }

    /// The HTTP status this error answers with: 4xx for whatever the request got wrong, 5xx only
    /// for the server's own failures.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::PlanLimitReached { .. } => 409,
            Self::TooLarge { .. } => 413,
            Self::Invalid(_) => 422,
            Self::TooManyAttempts { .. } => 429,
            Self::Internal => 500,
            Self::Transport(_) => 502,
            Self::Overloaded { .. } => 503,
        }
    }

    /// The field a validation error names, so a form can put the message beside it.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(e) => Some(&e.field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments that did not deserialize are bad input. The server's edge reads them again to
            // name the field (see `api::edge`); "request" is what it replaces.
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::MissingArg(reason) => {
                Self::invalid(UNREAD_ARGUMENTS, reason)
            }
            // On the server, a body that did not decode (JSON arguments); in the browser, an answer
            // that did not, which is the server's fault.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(reason) => Self::invalid(UNREAD_ARGUMENTS, reason),
            ServerFnErrorErr::Request(e) => Self::Transport(e),
            _ => Self::Internal,
        }
    }
}
