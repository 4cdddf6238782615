//! Toasts: every action says how it went. Announced to screen readers through a live region.

use super::after;
use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

impl Toasts {
    pub fn show(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.items.update(|items| items.push(Toast { id, kind, message: message.into() }));
        let items = self.items;
        // Errors stay longer: they are more likely to need reading.
        let ms = if kind == ToastKind::Error { 8000 } else { 4000 };
        after(ms, move || items.update(|items| items.retain(|t| t.id != id)));
    }

    pub fn success(&self, message: impl Into<String>) {
        self.show(ToastKind::Success, message);
    }

    pub fn error(&self, message: impl Into<String>) {
        self.show(ToastKind::Error, message);
    }

    fn dismiss(&self, id: u64) {
        self.items.update(|items| items.retain(|t| t.id != id));
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

#[component]
pub fn ToastProvider(children: Children) -> impl IntoView {
    let toasts = Toasts { items: RwSignal::new(Vec::new()), next_id: StoredValue::new(0) };
    provide_context(toasts);

    view! {
        {children()}
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.items.get() key=|t| t.id let:toast>
                <div class=move || {
                    if toast.kind == ToastKind::Error { "toast toast-error" } else { "toast toast-success" }
                }>
                    <span>{toast.message.clone()}</span>
                    <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| toasts.dismiss(toast.id)>
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
