//! Pieces every settings page shares: the heading with its tabs, an
//! action's error, a form emptied after it saved, a time that may be "never".

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::errors::ErrorMessage;
use crate::components::time::{Time, TimeZoneNote};

/// The heading and tabs every settings page starts with.
#[component]
pub fn SettingsHead() -> impl IntoView {
    view! {
        <div class="page-head"><h1>"Settings"</h1><TimeZoneNote/></div>
        <nav class="subnav" aria-label="Settings">
            <A href="/settings" exact=true>"Users"</A>
            <A href="/settings/keys">"API keys"</A>
            <A href="/settings/sessions">"Console sessions"</A>
            <A href="/settings/system">"Write path"</A>
            <A href="/settings/data">"Data"</A>
            <A href="/settings/rules">"Recording rules"</A>
            <A href="/settings/services">"Services"</A>
            <A href="/settings/channels">"Channels"</A>
        </nav>
    }
}

/// A time, or "never" when there is none.
pub fn time_or_never(at: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>) -> AnyView {
    time_or(at, now, "never")
}

/// A time, or `otherwise` when there is none.
pub fn time_or(at: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>, otherwise: &'static str) -> AnyView {
    match at {
        Some(at) => view! { <Time at now/> }.into_any(),
        None => otherwise.into_any(),
    }
}

/// The error of the last run of an action, if it failed.
pub fn action_error<O>(value: impl Fn() -> Option<Result<O, ServerFnError>> + Send + Sync + 'static) -> impl IntoView {
    move || match value() {
        Some(Err(e)) => Some(view! { <ErrorMessage message=server_message(&e)/> }),
        _ => None,
    }
}

/// A form that comes back empty after each success of its action (a rule
/// added, a password changed) and keeps what was typed after a failure:
/// `form` is built anew, fields and signals, on each success. (Keyed by the
/// count of successes: rebuilding a view in place would keep what the
/// browser holds in its fields.)
pub fn cleared_after<V: IntoView + 'static>(
    succeeded: impl Fn() -> bool + Send + Sync + 'static,
    form: impl Fn() -> V + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let successes = RwSignal::new(0_usize);
    Effect::new(move |_| {
        if succeeded() {
            successes.update(|n| *n += 1);
        }
    });
    view! { <For each=move || [successes.get()] key=|n| *n children=move |_| form()/> }
}

/// A load that failed, as the page shows it.
pub fn load_failed(error: &ServerFnError) -> AnyView {
    view! { <ErrorMessage message=server_message(error)/> }.into_any()
}

/// A server function's message without the framework's prefix.
pub fn server_message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// What an edit page shows when what it edits is gone: "No such channel: it
/// may have been deleted. Back to the channels".
pub fn no_such(what: &'static str, list: &'static str, list_name: &'static str) -> AnyView {
    view! { <p class="empty">{format!("No such {what}: it may have been deleted. ")}<a href=list>{format!("Back to the {list_name}")}</a></p> }.into_any()
}
