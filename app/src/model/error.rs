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
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(FieldError::new(field, reason))
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
            // Bad arguments are bad input, and say so.
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::MissingArg(reason) => Self::invalid("request", reason),
            ServerFnErrorErr::Request(e) => Self::Transport(e),
            _ => Self::Internal,
        }
    }
}
