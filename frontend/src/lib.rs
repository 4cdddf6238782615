//! The browser entry point: hydrates the server-rendered dashboard.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Says "the WASM loaded and hydration finished without a panic": the browser tests wait for it
    // before anything else, and fail at once, saying why, when it never comes.
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
