//! The page for unknown addresses, answered with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <section class="empty-state">
            <h1>"Page not found"</h1>
            <p>"Nothing lives at this address."</p>
            <a href="/events">"Back to events"</a>
        </section>
    }
}
