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

/// Bad input: every field that is wrong, and why, so that a form can show them all at once.
/// Never empty: it is made from one error, or from the ones [`AllValid`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<FieldError>")]
pub struct FieldErrors(Vec<FieldError>);

/// Read back (a server function's answer), an empty list is not bad input.
impl TryFrom<Vec<FieldError>> for FieldErrors {
    type Error = &'static str;
    fn try_from(errors: Vec<FieldError>) -> Result<Self, Self::Error> {
        if errors.is_empty() { Err("bad input names at least one field") } else { Ok(Self(errors)) }
    }
}

impl FieldErrors {
    /// The first field that is wrong, in the form's order.
    pub fn first(&self) -> &FieldError {
        // Never empty (see the type).
        &self.0[0]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// What is wrong with `field`, if it is.
    pub fn about(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }

    /// These errors, then `more`'s.
    pub fn and(mut self, more: FieldErrors) -> Self {
        self.0.extend(more.0);
        self
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut errors = self.0.iter();
        if let Some(first) = errors.next() {
            write!(f, "{first}")?;
        }
        errors.try_for_each(|e| write!(f, "; {e}"))
    }
}

impl std::error::Error for FieldErrors {}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Several fields checked together: all their values, or every error among them (not only the
/// first), so that a person fixes a form in one go. For tuples of `Result<_, FieldError>` or
/// `Result<_, FieldErrors>`.
pub trait AllValid {
    type Valid;
    fn all_valid(self) -> Result<Self::Valid, FieldErrors>;
}

macro_rules! all_valid {
    ($($value:ident: $kind:ident, $error:ident),+) => {
        impl<$($kind, $error: Into<FieldErrors>),+> AllValid for ($(Result<$kind, $error>,)+) {
            type Valid = ($($kind,)+);

            fn all_valid(self) -> Result<Self::Valid, FieldErrors> {
                let ($($value,)+) = self;
                let mut errors = Vec::new();
                $(let $value = $value.map_err(|e| errors.extend(e.into().0)).ok();)+
                match ($($value,)+) {
                    ($(Some($value),)+) => Ok(($($value,)+)),
                    _ => Err(FieldErrors(errors)),
                }
            }
        }
    };
}

all_valid!(a: A, EA, b: B, EB);
all_valid!(a: A, EA, b: B, EB, c: C, EC);
all_valid!(a: A, EA, b: B, EB, c: C, EC, d: D, ED);
all_valid!(a: A, EA, b: B, EB, c: C, EC, d: D, ED, e: E, EE);
all_valid!(a: A, EA, b: B, EB, c: C, EC, d: D, ED, e: E, EE, f: F, EF);
all_valid!(a: A, EA, b: B, EB, c: C, EC, d: D, ED, e: E, EE, f: F, EF, g: G, EG);

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e.into())
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
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
    Invalid(FieldErrors),
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
        Self::Invalid(FieldError::new(field, reason).into())
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

    /// The first field bad input names.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(errors) => Some(&errors.first().field),
            _ => None,
        }
    }

    /// What is wrong with `field`, if this is bad input and that field is among it: the message a
    /// form puts under the field.
    pub fn about(&self, field: &str) -> Option<&FieldError> {
        match self {
            Self::Invalid(errors) => errors.about(field),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> Result<String, FieldError> {
        if raw.is_empty() { Err(FieldError::new("name", "is required")) } else { Ok(raw.to_owned()) }
    }

    fn days(raw: &str) -> Result<u32, FieldError> {
        raw.parse().map_err(|_| FieldError::new("days", "must be a whole number"))
    }

    #[test]
    fn all_valid_gives_every_value_or_every_error_in_order() {
        assert_eq!((name("a"), days("3")).all_valid(), Ok(("a".to_owned(), 3)));
        let both = (name(""), days("x"), name("b")).all_valid().unwrap_err();
        let fields: Vec<_> = both.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "days"]);
        assert_eq!(both.first().field, "name");
        assert_eq!(both.about("days").map(|e| e.reason.as_str()), Some("must be a whole number"));
        assert_eq!(both.to_string(), "name is required; days must be a whole number");
        let one = (name("a"), days("x")).all_valid().unwrap_err();
        assert_eq!(one.iter().count(), 1);
    }

    #[test]
    #[cfg(feature = "ssr")]
    fn an_empty_list_is_not_read_back() {
        assert!(serde_json::from_str::<AppError>(r#"{"Invalid":[]}"#).is_err());
        let one = serde_json::from_str::<AppError>(r#"{"Invalid":[{"field":"name","reason":"is required"}]}"#);
        assert_eq!(one.ok(), Some(AppError::invalid("name", "is required")));
    }

    #[test]
    fn all_valid_takes_errors_already_gathered() {
        let gathered: Result<(), FieldErrors> =
            Err(FieldErrors::from(FieldError::new("a", "x")).and(FieldError::new("b", "y").into()));
        let all = (gathered, days("z")).all_valid().unwrap_err();
        assert_eq!(all.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["a", "b", "days"]);
    }
}
