//! The filter bar: one control per filter, each change a navigation to the
//! new URL (so the back button undoes it), chips for the active filters.

use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::model::{EventFilter, FilterOption, FilterOptions, TimeRange, PRESETS};

#[component]
pub fn FilterBar(filter: EventFilter, options: FilterOptions) -> impl IntoView {
    let go = navigator();
    let live = live_view(EventFilter::from_query);
    let select = |key: &'static str, label: &'static str, choices: Vec<FilterOption>| {
        let current = filter.get(key).cloned().unwrap_or_default();
        option_select(key, label, current, choices, move |value| live().with(key, Some(value)).href())
    };

    let type_choices: Vec<FilterOption> =
        options.types.iter().filter(|t| !filter.types.contains(&t.value)).cloned().collect();
    let add_type = {
        let go = go.clone();
        move |ev: leptos::ev::Event| go(live().with("type", Some(&event_target_value(&ev))).href())
    };
    let range_value = match &filter.range {
        TimeRange::Last(key) => key.clone(),
        TimeRange::Between { .. } => "custom".into(),
    };
    let pick_range = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            if value != "custom" {
                go(live().with("range", Some(&value)).href());
            }
        }
    };

    let user_input = NodeRef::<html::Input>::new();
    let text_input = NodeRef::<html::Input>::new();
    let search = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let user = user_input.get().map(|i| i.value()).unwrap_or_default();
            let text = text_input.get().map(|i| i.value()).unwrap_or_default();
            go(live().with("user", Some(&user)).with("q", Some(&text)).href());
        }
    };

    let from_input = NodeRef::<html::Input>::new();
    let to_input = NodeRef::<html::Input>::new();
    let (from_value, to_value) = match &filter.range {
        TimeRange::Between { from, to } => {
            (from.format("%Y-%m-%dT%H:%M").to_string(), to.format("%Y-%m-%dT%H:%M").to_string())
        }
        TimeRange::Last(_) => (String::new(), String::new()),
    };
    let custom_range = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let parse = |node: NodeRef<html::Input>| {
                let value = node.get().map(|i| i.value()).unwrap_or_default();
                chrono::NaiveDateTime::parse_from_str(&value, "%Y-%m-%dT%H:%M").ok().map(|t| t.and_utc())
            };
            if let (Some(from), Some(to)) = (parse(from_input), parse(to_input)) {
                if from < to {
                    go(live().with_span(from, to).href());
                }
            }
        }
    };

    view! {
        <section class="filters" aria-label="Filters">
            <div class="filter-row">
                {select("env", "Environment", options.environments)}
                {select("org", "Organization", options.organizations)}
                {select("app", "App", options.apps)}
                <label class="field">
                    <span>"Event type"</span>
                    <select name="type" on:change=add_type>
                        <option value="" selected=true>
                            {if filter.types.is_empty() { "Any" } else { "Add another…" }}
                        </option>
                        {type_choices
                            .into_iter()
                            .map(|c| view! { <option value=c.value>{format!("{} ({})", c.label, c.events)}</option> })
                            .collect_view()}
                    </select>
                </label>
                {select("category", "Category", options.categories)}
                {select("outcome", "Outcome", options.outcomes)}
                <label class="field">
                    <span>"Time range"</span>
                    <select name="range" on:change=pick_range>
                        {PRESETS
                            .iter()
                            .map(|(key, label, _)| {
                                view! { <option value=*key selected=range_value == *key>{*label}</option> }
                            })
                            .collect_view()}
                        <option value="custom" selected=range_value == "custom">"Custom (below)"</option>
                    </select>
                </label>
            </div>
            <div class="filter-row">
                <form class="search" role="search" on:submit=search>
                    <label class="field">
                        <span>"User"</span>
                        <input
                            node_ref=user_input
                            name="user"
                            list="user-suggestions"
                            placeholder="name, e-mail or id"
                            value=filter.user.clone().unwrap_or_default()
                        />
                    </label>
                    <datalist id="user-suggestions">
                        {options
                            .users
                            .into_iter()
                            .map(|u| view! { <option value=u.value>{u.label}</option> })
                            .collect_view()}
                    </datalist>
                    <label class="field grow">
                        <span>"Search"</span>
                        <input
                            node_ref=text_input
                            name="q"
                            type="search"
                            placeholder="words in actor, target, type, path, reason or IP"
                            title="Whole words, all of them, any case; end a word with * for a prefix (lind*, 81.2.69*)"
                            value=filter.text.clone().unwrap_or_default()
                        />
                    </label>
                    <button type="submit" class="button primary">"Search"</button>
                </form>
                <form class="custom-range" on:submit=custom_range aria-label="Custom time range (UTC)">
                    <label class="field">
                        <span>"From (UTC)"</span>
                        <input node_ref=from_input name="from" type="datetime-local" value=from_value/>
                    </label>
                    <label class="field">
                        <span>"To (UTC)"</span>
                        <input node_ref=to_input name="to" type="datetime-local" value=to_value/>
                    </label>
                    <button type="submit" class="button">"Apply range"</button>
                </form>
            </div>
            <ActiveFilters filter/>
        </section>
    }
}

/// Chips for the filters in force, each removable, and "clear all".
#[component]
fn ActiveFilters(filter: EventFilter) -> impl IntoView {
    let mut chips: Vec<(String, String)> = Vec::new();
    for (key, label) in [
        ("env", "environment"),
        ("org", "organization"),
        ("user", "user"),
        ("app", "app"),
        ("category", "category"),
        ("outcome", "outcome"),
        ("target", "target"),
        ("ip", "IP"),
        ("q", "text"),
    ] {
        if let Some(value) = filter.get(key) {
            chips.push((format!("{label}: {value}"), filter.with(key, None).href()));
        }
    }
    for t in &filter.types {
        chips.push((format!("type: {t}"), filter.without_type(t).href()));
    }
    if let TimeRange::Between { .. } = filter.range {
        chips.push((format!("time: {}", filter.range.label()), filter.with("range", None).href()));
    }
    if chips.is_empty() {
        return ().into_any();
    }
    view! {
        <ul class="chips" aria-label="Active filters">
            {chips
                .into_iter()
                .map(|(label, href)| {
                    let remove = format!("Remove filter {label}");
                    view! {
                        <li class="chip">
                            <span>{label}</span>
                            <a href=href aria-label=remove title="Remove">"×"</a>
                        </li>
                    }
                })
                .collect_view()}
            <li><a href="/events" class="clear-all">"Clear all"</a></li>
        </ul>
    }
    .into_any()
}

/// The view in the address bar now, parsed from its query by `parse`. Controls
/// build the next URL from it rather than from the view they were drawn with,
/// so that a second choice made while the first one's page is still loading
/// keeps the first.
pub fn live_view<F: 'static>(parse: fn(&str) -> F) -> impl Fn() -> F + Copy + 'static {
    let location = use_location();
    move || parse(&location.search.get_untracked())
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
