//! Copying a value a person needs elsewhere (a new token, an invitation link, a key's id), with
//! an answer they see at once.

use super::after;
use leptos::prelude::*;

/// "Copy", which reads "Copied!" as it is pressed: the clipboard can take most of a second to
/// answer, and a person who sees nothing clicks again. A refusal takes the answer back and
/// reports `false` to `on_result`, whose page says what to do (inside a dialog, where a toast
/// would sit behind it).
#[component]
pub fn CopyButton(
    /// What is copied, read when the button is pressed.
    #[prop(into)]
    text: Signal<String>,
    /// The button's name for a screen reader, when "Copy" alone would not say what it copies.
    #[prop(optional)]
    label: Option<String>,
    /// Told as the button is pressed, before the clipboard answers.
    #[prop(optional)]
    on_press: Option<Callback<()>>,
    #[prop(optional)] on_result: Option<Callback<bool>>,
) -> impl IntoView {
    let just_copied = RwSignal::new(false);
    let copy = move |_| {
        just_copied.set(true);
        if let Some(on_press) = on_press {
            on_press.run(());
        }
        after(2000, move || just_copied.set(false));
        let text = text.get_untracked();
        leptos::task::spawn_local(async move {
            let copied = write_clipboard(&text).await.is_ok();
            if !copied {
                just_copied.set(false);
            }
            if let Some(on_result) = on_result {
                on_result.run(copied);
            }
        });
    };
    // A name of its own says "Copied!" too, or a screen reader would not hear it.
    let name = label.map(|label| move || if just_copied.get() { "Copied!".to_owned() } else { label.clone() });
    view! {
        <button type="button" class="button" aria-label=name on:click=copy>
            {move || if just_copied.get() { "Copied!" } else { "Copy" }}
        </button>
    }
}

#[cfg(feature = "hydrate")]
async fn write_clipboard(text: &str) -> Result<(), ()> {
    let clipboard = web_sys::window().ok_or(())?.navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text)).await.map(|_| ()).map_err(|_| ())
}

#[cfg(not(feature = "hydrate"))]
async fn write_clipboard(_text: &str) -> Result<(), ()> {
    Err(())
}
