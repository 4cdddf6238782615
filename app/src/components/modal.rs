//! A modal dialog on the native `<dialog>` element: the browser traps focus, closes on Escape,
//! makes the page behind it inert, and returns focus where it was when the dialog closes.

use leptos::html;
use leptos::prelude::*;

#[component]
pub fn Modal(
    /// A unique id; the title's id is derived from it so the dialog is named by its title.
    id: &'static str,
    #[prop(into)] title: String,
    #[prop(into)] open: Signal<bool>,
    /// Called when the dialog closes for any reason (Escape, a Close button, the program).
    #[prop(into)]
    on_close: Callback<()>,
    /// Its content is in the page while closed, so that a button with `commandfor` (the dialog's
    /// id) and `command="show-modal"` opens it before the page's code runs, or without it. Either
    /// way, once the page's code runs, the content is made afresh each time it opens (no stale
    /// input).
    #[prop(optional)]
    opens_without_script: bool,
    /// Asked when the person presses Escape: `false` keeps the dialog open (the browser lets a
    /// page do so once per user action, so a second Escape still closes it).
    #[prop(optional, into)]
    may_dismiss: Option<Callback<(), bool>>,
    children: ChildrenFn,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();

    Effect::new(move |_| {
        let wants_open = open.get();
        #[cfg(feature = "hydrate")]
        if let Some(dialog) = dialog.get() {
            if wants_open && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !wants_open && dialog.open() {
                dialog.close();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = wants_open;
    });

    // Open in the server's HTML when it is open as the page renders (the answer to a form sent
    // without JavaScript): the browser shows it before, or without, the page's code. That code
    // leaves it as the server showed it; it opens everything else as a modal.
    let open_in_html = cfg!(feature = "ssr") && open.get_untracked();

    // Each opening is a new key for the content, which a keyed list makes afresh: rebuilt in place,
    // an input would keep what was typed the last time.
    let openings = Memo::new(move |before: Option<&u32>| {
        let before = before.copied().unwrap_or_default();
        if open.get() { before + 1 } else { before }
    });
    let shown = move || (open.get() || opens_without_script).then(|| openings.get());

    view! {
        <dialog id=id class="modal" open=open_in_html node_ref=dialog aria-labelledby=labelled_by
            on:close=move |_| on_close.run(())
            on:cancel=move |ev: leptos::ev::Event| {
                if may_dismiss.is_some_and(|asked| !asked.run(())) {
                    ev.prevent_default();
                }
            }>
            <h2 id=title_id class="modal-title">{title}</h2>
            <For each=shown key=|opening| *opening let(_)>{children()}</For>
        </dialog>
    }
}

/// A confirming dialog's two buttons: Cancel, which closes it (an invoker command, so it works
/// before the page's code has loaded too), and the submit, which says it is at work while
/// `pending`. In the dialog's form.
#[component]
pub fn ConfirmButtons(
    /// The dialog's id, for the invoker command.
    dialog: &'static str,
    on_cancel: Callback<()>,
    #[prop(into)] pending: Signal<bool>,
    /// The submit's label, and its label while the action runs.
    label: &'static str,
    busy: &'static str,
    /// A destructive change: the submit is red.
    #[prop(optional)]
    danger: bool,
) -> impl IntoView {
    let class = if danger { "button button-danger" } else { "button button-primary" };
    view! {
        <div class="dialog-actions">
            <button type="button" class="button" commandfor=dialog command="close" on:click=move |_| on_cancel.run(())>
                "Cancel"
            </button>
            <button type="submit" class=class disabled=move || pending.get()>
                {move || if pending.get() { busy } else { label }}
            </button>
        </div>
    }
}
