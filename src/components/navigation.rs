//! Navigation from controls: the view in the address bar now, going to a new
//! URL (a history entry, so the back button undoes it), and the labelled
//! select every filter uses.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_params_map};
use leptos_router::NavigateOptions;

use crate::model::{FilterOption, TimeRange, PRESETS};

/// The view in the address bar now, parsed from its query by `parse`. Controls
/// build the next URL from it rather than from the view they were drawn with,
/// so that a second choice made while the first one's page is still loading
/// keeps the first.
pub fn live_view<F: 'static>(parse: fn(&str) -> F) -> impl Fn() -> F + Copy + 'static {
    let location = use_location();
    move || parse(&location.search.get_untracked())
}

/// The query string of the address, as a page reads it for its data.
pub fn url_query() -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let location = use_location();
    resource_source(move || location.search.get())
}

/// A parameter of the route (empty when absent), as [`url_query`] reads it.
pub fn url_param(name: &'static str) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let params = use_params_map();
    resource_source(move || params.with(|params| params.get(name).unwrap_or_default()))
}

/// The number in the route's `:id` (`/alerts/:id/edit`), if it is one.
pub fn id_param() -> impl Fn() -> Option<i64> + Copy + 'static {
    let params = use_params_map();
    move || params.read().get("id").and_then(|id| id.parse().ok())
}

/// `read` as a resource's source: reactive in the browser, read once on the
/// server, where a request's address and actions never change. A resource
/// task first runs after its page was built; when the reader had left by then,
/// a source reading the router or an action, which went with the page, made
/// leptos panic ("reactive value … disposed").
pub fn resource_source<T: Clone + Send + Sync + 'static>(
    read: impl Fn() -> T + Clone + Send + Sync + 'static,
) -> impl Fn() -> T + Clone + Send + Sync + 'static {
    #[cfg(feature = "ssr")]
    {
        let value = untrack(read);
        move || value.clone()
    }
    #[cfg(not(feature = "ssr"))]
    read
}

/// Navigate within the app to an href, adding a history entry.
pub fn navigator() -> impl Fn(String) + Clone + 'static {
    let navigate = use_navigate();
    move |href: String| navigate(&href, NavigateOptions::default())
}

/// A labelled select of one filter's choices ("Any" first, counts when known);
/// choosing navigates to `href_for(value)`. The current value stays listed even
/// when the data no longer holds it.
pub fn option_select(
    name: &'static str,
    label: &'static str,
    current: String,
    mut choices: Vec<FilterOption>,
    href_for: impl Fn(&str) -> String + 'static,
) -> impl IntoView {
    let go = navigator();
    if !current.is_empty() && !choices.iter().any(|c| c.value == current) {
        choices.insert(0, FilterOption { value: current.clone(), label: current.clone(), events: 0 });
    }
    view! {
        <label class="field">
            <span>{label}</span>
            <select name=name on:change=move |ev| go(href_for(&event_target_value(&ev)))>
                <option value="" selected=current.is_empty()>"Any"</option>
                {choices
                    .into_iter()
                    .map(|c| {
                        let selected = c.value == current;
                        let text = if c.events > 0 { format!("{} ({})", c.label, c.events) } else { c.label };
                        view! { <option value=c.value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

/// The preset time ranges; choosing one navigates to `href_for(key)`. A
/// custom range is listed as `custom_label` and choosing it changes nothing.
pub fn range_select(range: &TimeRange, custom_label: String, href_for: impl Fn(&str) -> String + 'static) -> impl IntoView {
    let go = navigator();
    let current = match range {
        TimeRange::Last(key) => key.clone(),
        TimeRange::Between { .. } => "custom".into(),
    };
    let pick_range = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if value != "custom" {
            go(href_for(&value));
        }
    };
    view! {
        <label class="field">
            <span>"Time range"</span>
            <select name="range" on:change=pick_range>
                {PRESETS
                    .iter()
                    .map(|(key, label, _)| view! { <option value=*key selected=current == *key>{*label}</option> })
                    .collect_view()}
                <option value="custom" selected=current == "custom">{custom_label}</option>
            </select>
        </label>
    }
}

/// Go to `path` once `saved` says a form was saved (an edit page going back
/// to its list).
pub fn go_to_after(path: &'static str, saved: impl Fn() -> bool + 'static) {
    let navigate = use_navigate();
    Effect::new(move |_| {
        if saved() {
            navigate(path, Default::default());
        }
    });
}
