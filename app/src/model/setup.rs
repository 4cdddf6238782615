//! The first run's form, and the rules for a new account's email and password.

use super::text::bounded;
use super::{AllValid, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};

/// The first-run form: the organization and its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupForm {
    pub organization: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

impl SetupForm {
    /// Trims what should be trimmed and refuses bad input, naming the field.
    pub fn validated(self) -> Result<Self, FieldErrors> {
        let (organization, name, email, ()) = (
            bounded("organization", &self.organization, 80),
            bounded("name", &self.name, 80),
            normalize_email(&self.email),
            validate_new_password(&self.password),
        )
            .all_valid()?;
        Ok(Self { organization, name, email, password: self.password })
    }
}

/// Emails are compared lower-cased and trimmed.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid { Ok(email) } else { Err(FieldError::new("email", "must be a valid email address")) }
}

pub fn validate_new_password(password: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldError::new("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SetupForm {
        SetupForm {
            organization: " Acme ".into(),
            name: "Ada".into(),
            email: " Ada@Example.COM ".into(),
            password: "correct horse battery".into(),
        }
    }

    #[test]
    fn setup_input_is_trimmed_and_the_email_lower_cased() {
        let ok = form().validated().expect("valid");
        assert_eq!(ok.organization, "Acme");
        assert_eq!(ok.email, "ada@example.com");
    }

    #[test]
    fn bad_setup_input_names_its_field() {
        let cases = [
            (SetupForm { organization: " ".into(), ..form() }, "organization"),
            (SetupForm { name: "".into(), ..form() }, "name"),
            (SetupForm { email: "not-an-email".into(), ..form() }, "email"),
            (SetupForm { password: "short".into(), ..form() }, "password"),
        ];
        for (input, field) in cases {
            assert_eq!(input.validated().unwrap_err().first().field, field);
        }
        // Every bad field at once, in the form's order.
        let all = SetupForm { organization: " ".into(), name: "".into(), email: "x".into(), password: "short".into() };
        let fields: Vec<_> = all.validated().unwrap_err().iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["organization", "name", "email", "password"]);
    }
}
