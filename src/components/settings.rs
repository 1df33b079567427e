//! Pieces every settings page shares: the heading with its tabs, an
//! action's error, a secret shown once, a form emptied after it saved, a
//! time that may be "never", and the frame of a page that edits one item of
//! a list.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::copy_button::CopyButton;
use crate::components::errors::ErrorMessage;
use crate::components::navigation::{go_to_after, id_param};
use crate::components::server_data::ServerData;
use crate::components::time::{Time, TimeZoneNote};
use crate::model::Secret;

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

/// A secret returned by an action (a new API key, a generated password, a
/// heartbeat address), shown once with a copy button.
pub fn shown_once(value: impl Fn() -> Option<Result<Secret, ServerFnError>> + Send + Sync + 'static) -> impl IntoView {
    move || match value() {
        Some(Ok(secret)) => {
            Some(view! {
                <div class="secret" role="status">
                    <p><strong>{secret.label}</strong>" — shown once; copy it now, Vigil keeps only a hash."</p>
                    <code class="secret-value">{secret.value.clone()}</code>
                    <CopyButton text=secret.value/>
                </div>
            }.into_any())
        }
        Some(Err(e)) => Some(view! { <ErrorMessage message=server_message(&e)/> }.into_any()),
        None => None,
    }
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
pub fn no_such(what: &'static str, list: &'static str, list_name: &str) -> AnyView {
    view! { <p class="empty">{format!("No such {what}: it may have been deleted. ")}<a href=list>{format!("Back to the {list_name}")}</a></p> }.into_any()
}

/// The list a Settings edit page belongs to: its name ("Services") and address.
#[derive(Clone, Copy)]
pub struct SettingsList {
    pub name: &'static str,
    pub path: &'static str,
    /// What one of its items is called ("service").
    pub item: &'static str,
}

/// A page that edits one item of a Settings list: the tabs, crumbs back to
/// the list, what a failed save said, and, once `items` has loaded, `form`
/// for the item that `find` picks by the page's id (or a note that there is
/// none). Back to the list once the save succeeded and `saved` says so of
/// what it returned (a check that saves nothing stays).
pub fn edit_page<L, T, O>(
    list: SettingsList,
    save_result: impl Fn() -> Option<Result<O, ServerFnError>> + Copy + Send + Sync + 'static,
    saved: fn(&O) -> bool,
    items: ServerData<Result<L, ServerFnError>>,
    find: impl Fn(L, i64) -> Option<T> + Copy + Send + Sync + 'static,
    form: impl Fn(T) -> AnyView + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    L: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    T: 'static,
    O: 'static,
{
    let id = id_param();
    go_to_after(list.path, move || save_result().is_some_and(|r| r.is_ok_and(|o| saved(&o))));
    view! {
        <leptos_meta::Title text=format!("Edit {} · Settings", list.item)/>
        <SettingsHead/>
        <nav class="crumbs"><a href=list.path>{list.name}</a> " / " <span>"Edit"</span></nav>
        {action_error(save_result)}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || {
                let id = id();
                Suspend::new(async move {
                    match items.await {
                        Err(e) => load_failed(&e),
                        Ok(all) => match id.and_then(|id| find(all, id)) {
                            None => no_such(list.item, list.path, &list.name.to_lowercase()),
                            Some(found) => form(found),
                        },
                    }
                })
            }}
        </Transition>
    }
}
