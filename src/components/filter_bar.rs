//! The filter bar: one control per filter, each change a navigation to the
//! new URL (so the back button undoes it), chips for the active filters.

use leptos::html;
use leptos::prelude::*;

use crate::components::navigation::{live_view, navigator, option_select, range_select};
use crate::model::{EventFilter, FilterOption, FilterOptions, TimeRange};

#[component]
pub fn FilterBar(filter: EventFilter, options: FilterOptions) -> impl IntoView {
    let live = live_view(EventFilter::from_query);
    let select = |key: &'static str, label: &'static str, choices: Vec<FilterOption>| {
        let current = filter.get(key).cloned().unwrap_or_default();
        option_select(key, label, current, choices, move |value| live().with(key, Some(value)).href())
    };
    view! {
        <section class="filters" aria-label="Filters">
            <div class="filter-row">
                {select("env", "Environment", options.environments)}
                {select("org", "Organization", options.organizations)}
                {select("app", "App", options.apps)}
                <TypePicker chosen=filter.types.clone() types=options.types/>
                {select("category", "Category", options.categories)}
                {select("outcome", "Outcome", options.outcomes)}
                {range_select(&filter.range, "Custom (below)".into(), move |key| live().with("range", Some(key)).href())}
            </div>
            <div class="filter-row">
                <SearchForm user=filter.user.clone() text=filter.text.clone() users=options.users/>
                <CustomRange range=filter.range.clone()/>
            </div>
            <ActiveFilters filter=filter.clone()/>
        </section>
    }
}

/// Adds an event type to those chosen (several mean "any of them").
#[component]
fn TypePicker(chosen: Vec<String>, types: Vec<FilterOption>) -> impl IntoView {
    let go = navigator();
    let live = live_view(EventFilter::from_query);
    let add_type = move |ev: leptos::ev::Event| go(live().with("type", Some(&event_target_value(&ev))).href());
    let first = if chosen.is_empty() { "Any" } else { "Add another…" };
    view! {
        <label class="field">
            <span>"Event type"</span>
            <select name="type" on:change=add_type>
                <option value="" selected=true>{first}</option>
                {types
                    .into_iter()
                    .filter(|t| !chosen.contains(&t.value))
                    .map(|c| view! { <option value=c.value>{format!("{} ({})", c.label, c.events)}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

/// The user and free-text fields, applied together.
#[component]
fn SearchForm(user: Option<String>, text: Option<String>, users: Vec<FilterOption>) -> impl IntoView {
    let go = navigator();
    let live = live_view(EventFilter::from_query);
    let user_input = NodeRef::<html::Input>::new();
    let text_input = NodeRef::<html::Input>::new();
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = user_input.get().map(|i| i.value()).unwrap_or_default();
        let text = text_input.get().map(|i| i.value()).unwrap_or_default();
        go(live().with("user", Some(&user)).with("q", Some(&text)).href());
    };
    view! {
        <form class="search" role="search" on:submit=search>
            <label class="field">
                <span>"User"</span>
                <input
                    node_ref=user_input
                    name="user"
                    list="user-suggestions"
                    placeholder="name, e-mail or id"
                    value=user.unwrap_or_default()
                />
            </label>
            <datalist id="user-suggestions">
                {users.into_iter().map(|u| view! { <option value=u.value>{u.label}</option> }).collect_view()}
            </datalist>
            <label class="field grow">
                <span>"Search"</span>
                <input
                    node_ref=text_input
                    name="q"
                    type="search"
                    placeholder="words in actor, target, type, path, reason or IP"
                    title="Whole words, all of them, any case; end a word with * for a prefix (lind*, 81.2.69*)"
                    value=text.unwrap_or_default()
                />
            </label>
            <button type="submit" class="button primary">"Search"</button>
        </form>
    }
}

/// A fixed span typed as two UTC times.
#[component]
fn CustomRange(range: TimeRange) -> impl IntoView {
    let go = navigator();
    let live = live_view(EventFilter::from_query);
    let from_input = NodeRef::<html::Input>::new();
    let to_input = NodeRef::<html::Input>::new();
    let (from_value, to_value) = match &range {
        TimeRange::Between { from, to } => (from.format("%Y-%m-%dT%H:%M").to_string(), to.format("%Y-%m-%dT%H:%M").to_string()),
        TimeRange::Last(_) => (String::new(), String::new()),
    };
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parse = |node: NodeRef<html::Input>| {
            let value = node.get().map(|i| i.value()).unwrap_or_default();
            crate::model::parse_time_input(&value)
        };
        if let (Some(from), Some(to)) = (parse(from_input), parse(to_input)) {
            if from < to {
                go(live().with_span(from, to).href());
            }
        }
    };
    view! {
        <form class="custom-range" on:submit=apply aria-label="Custom time range (UTC)">
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
    }
}

/// Chips for the filters in force, each removable, and "clear all".
#[component]
fn ActiveFilters(filter: EventFilter) -> impl IntoView {
    let mut chips: Vec<(String, String)> = Vec::new();
    for (key, label) in EventFilter::FIELDS {
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
