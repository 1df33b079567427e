//! How a failure is shown: one message, the errors an `ErrorBoundary` caught,
//! and the page for an address where nothing lives (status 404).

use leptos::prelude::*;
use leptos_meta::Title;

/// One failure, announced to screen readers.
#[component]
pub fn ErrorMessage(#[prop(into)] message: String) -> impl IntoView {
    view! { <p class="error" role="alert">{message}</p> }
}

/// The fallback of an `ErrorBoundary`: `lead` then every error caught.
pub fn error_list(lead: &'static str) -> impl Fn(ArcRwSignal<Errors>) -> AnyView + Clone + Send + 'static {
    move |errors| {
        view! {
            <div class="error" role="alert">
                {(!lead.is_empty()).then(|| view! { <strong>{lead}</strong> })}
                {move || errors.get().into_iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; ")}
            </div>
        }
        .into_any()
    }
}

/// The page for unknown addresses and missing events or sessions, answered with status 404.
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
