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
            Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{error_message(e)}</p> }),
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

/// A sentence for a person: field errors start with the field's name, capitalized.
pub fn error_message(e: &AppError) -> String {
    capitalize(&e.to_string())
}
