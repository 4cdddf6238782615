use crate::model::{AppError, FieldError, capitalize};
use leptos::prelude::*;

/// What a form's last attempt was refused for, read field by field: each field's message goes
/// under that field ([`FieldMessage`]), which is marked invalid and described by it; the rest go
/// under the form ([`FormError`]). Read from the action's value, so a form posted without
/// JavaScript (whose refusal comes back in the page's URL) shows the same.
#[derive(Clone, Copy)]
pub struct FormErrors(Signal<Option<AppError>>);

impl FormErrors {
    /// A refusal from elsewhere (a card's, whichever of its forms sent it).
    pub fn new(error: Signal<Option<AppError>>) -> Self {
        Self(error)
    }

    /// The refusal an action ended with, if it did.
    pub fn of<T>(value: MappedSignal<Option<Result<T, AppError>>>) -> Self
    where
        T: Send + Sync + 'static,
    {
        Self(Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned()))))
    }

    /// This refusal, or else `other` (the same form's, sent another way).
    pub fn or(self, other: Signal<Option<AppError>>) -> Self {
        Self(Signal::derive(move || self.0.get().or_else(|| other.get())))
    }

    /// The sentence for `field`, if the refusal names it.
    pub fn about(self, field: &'static str) -> Option<String> {
        self.0.with(|e| e.as_ref().and_then(|e| e.about(field)).map(field_message))
    }

    /// `aria-invalid` for `field`'s input.
    pub fn invalid(self, field: &'static str) -> impl Fn() -> &'static str + Copy {
        move || if self.0.with(|e| e.as_ref().is_some_and(|e| e.about(field).is_some())) { "true" } else { "false" }
    }

    /// `aria-describedby` for the input `id` of `field`: its hint, if it has one, then its
    /// message while it has one ([`FieldMessage`] with the same `id`).
    pub fn described_by(
        self,
        field: &'static str,
        id: &'static str,
        hint: Option<&'static str>,
    ) -> impl Fn() -> Option<String> + Copy {
        move || {
            let message = self.0.with(|e| e.as_ref().is_some_and(|e| e.about(field).is_some())).then(|| message_id(id));
            match (hint, message) {
                (Some(hint), Some(message)) => Some(format!("{hint} {message}")),
                (Some(hint), None) => Some(hint.to_owned()),
                (None, message) => message,
            }
        }
    }
}

fn message_id(id: &str) -> String {
    format!("{id}-error")
}

/// `field`'s message, under the input whose id is `id` (see [`FormErrors::described_by`]).
#[component]
pub fn FieldMessage(errors: FormErrors, field: &'static str, id: &'static str) -> impl IntoView {
    move || errors.about(field).map(|message| view! { <small id=message_id(id) class="field-error">{message}</small> })
}

/// Under a form: what its last attempt was refused for, apart from the fields it shows (`shown`),
/// whose messages sit under each of them; those are counted instead ("Fix the 2 fields marked
/// above."), in the one alert a screen reader announces.
#[component]
pub fn FormError(errors: FormErrors, #[prop(optional)] shown: &'static [&'static str]) -> impl IntoView {
    move || {
        errors.0.with(|error| {
            let error = error.as_ref()?;
            let text = match error {
                AppError::Invalid(fields) => {
                    let marked = fields.iter().filter(|e| shown.contains(&e.field.as_str())).count();
                    let rest = fields.iter().filter(|e| !shown.contains(&e.field.as_str())).map(field_message);
                    let summary = match marked {
                        0 => None,
                        1 => Some("Fix the field marked above.".to_owned()),
                        n => Some(format!("Fix the {n} fields marked above.")),
                    };
                    summary.into_iter().chain(rest).collect::<Vec<_>>().join(" ")
                }
                other => error_message(other),
            };
            Some(view! { <p class="form-error" role="alert">{text}</p> })
        })
    }
}

/// The error an action ended with, as an alert under its form (for a form with no field of its
/// own to mark).
#[component]
pub fn ActionError<T>(value: MappedSignal<Option<Result<T, AppError>>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    view! { <FormError errors=FormErrors::of(value) /> }
}

/// An error, said to the person where it happened (a refused action, a page that did not load):
/// the one markup for every such message, announced by screen readers.
#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error_message(&error)}</p> }
}

/// A sentence for a person; bad input, one sentence per field.
pub fn error_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(fields) => fields.iter().map(field_message).collect::<Vec<_>>().join(" "),
        other => capitalize(&other.to_string()),
    }
}

/// One field's sentence: it starts with the field's name in words ("current_password" reads
/// "Current password"), unless its reason is a sentence of its own (it starts with a capital or a
/// quoted value: "Scopes "Bad" is not…" reads worse than ""Bad" is not…"); and it ends as a
/// sentence does.
fn field_message(e: &FieldError) -> String {
    let sentence = if e.reason.starts_with(|c: char| c.is_uppercase() || c == '"') {
        e.reason.clone()
    } else {
        capitalize(&format!("{} {}", e.field.replace(['_', '.'], " "), e.reason))
    };
    if sentence.ends_with(['.', '!', '?']) { sentence } else { sentence + "." }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldErrors;

    #[test]
    fn field_errors_name_the_field_in_words() {
        let wrong = AppError::invalid("current_password", "That is not your current password.");
        assert_eq!(error_message(&wrong), "That is not your current password.");
        let scope = AppError::invalid("scopes", "\"Bad\" is not a valid scope.");
        assert_eq!(error_message(&scope), "\"Bad\" is not a valid scope.");
        let nested = AppError::invalid("rate_limit.requests", "must be 1 or more");
        assert_eq!(error_message(&nested), "Rate limit requests must be 1 or more.");
        assert_eq!(
            error_message(&AppError::invalid("to", "must not be before the start date")),
            "To must not be before the start date."
        );
        assert_eq!(error_message(&AppError::InvalidCredentials), "Invalid email or password.");
    }

    #[test]
    fn several_fields_are_one_sentence_each() {
        let both = FieldErrors::from(FieldError::new("name", "is required"))
            .and(FieldError::new("expires_on", "must be in the future").into());
        assert_eq!(error_message(&AppError::Invalid(both)), "Name is required. Expires on must be in the future.");
    }
}
