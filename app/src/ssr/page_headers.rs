//! The headers a page is answered with: a Content-Security-Policy holding this response's nonce
//! (Leptos puts the same nonce on the inline scripts it writes), and no caching, since pages show an
//! organization's keys and members.

use axum::http::{HeaderValue, header};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// For an HTML answer rendered without a nonce: nothing inline runs, nothing loads from elsewhere.
pub const STRICTEST: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
                             form-action 'self'; frame-ancestors 'none'";

/// The policy of a page whose inline scripts carry `nonce`. The WASM module needs
/// `'wasm-unsafe-eval'` to be compiled; scripts and styles come from this site only; no page may be
/// framed (the reveal-token dialog must not be shown inside another site).
pub fn policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Sets the page's headers on the response being rendered.
pub fn send() {
    let Some(response) = use_context::<ResponseOptions>() else {
        tracing::warn!("a page rendered without its response options: it gets no policy of its own");
        return;
    };
    let csp = match leptos::nonce::use_nonce() {
        Some(nonce) => HeaderValue::from_str(&policy(&nonce.to_string())).ok(),
        None => {
            tracing::warn!("a page rendered without a nonce: nothing inline may run");
            Some(HeaderValue::from_static(STRICTEST))
        }
    };
    if let Some(csp) = csp {
        response.insert_header(header::CONTENT_SECURITY_POLICY, csp);
    }
    response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
