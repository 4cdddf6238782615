use crate::model::{AppError, capitalize};
use leptos::prelude::*;

/// The error an action ended with, as an alert under its form.
#[component]
pub fn ActionError<T>(value: MappedSignal<Option<Result<T, AppError>>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        value.with(|v| match v {
            Some(Err(e)) => Some(view! { <ErrorMessage error=e.clone() /> }),
            _ => None,
        })
    }
}

/// Whether the action's error is about `field`, for `aria-invalid`.
pub fn invalid_field<T>(
    value: MappedSignal<Option<Result<T, AppError>>>,
    field: &'static str,
) -> impl Fn() -> &'static str + Copy
where
    T: Send + Sync + 'static,
{
    move || value.with(|v| if matches!(v, Some(Err(e)) if e.field() == Some(field)) { "true" } else { "false" })
}

/// A sentence for a person: field errors start with the field's name in words ("current_password"
/// reads "Current password"), capitalized.
/// An error, said to the person where it happened (a refused action, a page that did not load):
/// the one markup for every such message, announced by screen readers.
#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error_message(&error)}</p> }
}

pub fn error_message(e: &AppError) -> String {
    match e {
        // A reason that is a sentence of its own (it starts with a capital or a quoted value) is
        // said as it is: "Scopes "Bad" is not…" reads worse than ""Bad" is not…".
        AppError::Invalid(field) if field.reason.starts_with(|c: char| c.is_uppercase() || c == '"') => {
            field.reason.clone()
        }
        AppError::Invalid(field) => capitalize(&format!("{} {}", field.field.replace(['_', '.'], " "), field.reason)),
        other => capitalize(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_name_the_field_in_words() {
        let wrong = AppError::invalid("current_password", "That is not your current password.");
        assert_eq!(error_message(&wrong), "That is not your current password.");
        let scope = AppError::invalid("scopes", "\"Bad\" is not a valid scope.");
        assert_eq!(error_message(&scope), "\"Bad\" is not a valid scope.");
        let nested = AppError::invalid("rate_limit.requests", "must be 1 or more");
        assert_eq!(error_message(&nested), "Rate limit requests must be 1 or more");
        assert_eq!(
            error_message(&AppError::invalid("to", "must not be before the start date")),
            "To must not be before the start date"
        );
        assert_eq!(error_message(&AppError::InvalidCredentials), "Invalid email or password.");
    }
}
