//! The browser entry point: hydrates the server-rendered dashboard.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::document;
    console_error_panic_hook::set_once();
    // Each page's code is its own chunk (`cargo leptos --split`): hydration waits for the chunk of
    // the page being shown, so it runs asynchronously (what `leptos::mount::hydrate_lazy` does).
    // An error only says the executor was already started.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = document().body() else { return };
        leptos::mount::hydrate_from_async(body, app::App).await.forget();
        // Says "the WASM loaded and hydration finished without a panic": the browser tests wait
        // for it before anything else, and fail at once, saying why, when it never comes.
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}
