use crate::model::KeyStatus;
use leptos::prelude::*;

/// A key's status: color and text, so it never relies on color alone.
#[component]
pub fn StatusBadge(status: KeyStatus) -> impl IntoView {
    view! { <span class=format!("badge badge-{}", status.as_str())>{status.label()}</span> }
}
