//! The table of events: values that add a filter when clicked, rows that expand
//! in place to the full event, and the pager.

use leptos::prelude::*;

use crate::api::get_event;
use crate::components::server_data::server_data;
use crate::components::event_detail::EventSections;
use crate::components::time::Time;
use crate::components::badges::OutcomeBadge;
use crate::components::errors::ErrorMessage;
use crate::model::{path_segment, with_query_pair, EventFilter, EventPage, EventSummary, DEFAULT_PAGE_SIZE};

const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];

#[component]
pub fn EventTable(page: EventPage, filter: EventFilter, is_first_page: bool) -> impl IntoView {
    if page.events.is_empty() {
        let narrowed = filter.is_narrowed();
        return view! {
            <section class="empty-state">
                <h2>{if is_first_page { "No events match" } else { "No older events" }}</h2>
                {if narrowed {
                    view! { <p>"Try removing a filter or widening the time range."</p> }.into_any()
                } else {
                    view! {
                        <p>
                            "Nothing in " {filter.range.label().to_lowercase()} ". Widen the time range, send events to "
                            <code>"POST /api/v1/events"</code> " with your ingest key, or load demo data with "
                            <code>"make demo"</code> "."
                        </p>
                    }
                    .into_any()
                }}
                <a href=filter.href() class="button">"Newest events"</a>
            </section>
        }
        .into_any();
    }
    let now = page.now;
    let size = filter.size.unwrap_or(DEFAULT_PAGE_SIZE);
    let older = page.next.map(|cursor| with_query_pair(&filter.href(), "before", &cursor.encode()));
    let rows = page
        .events
        .into_iter()
        .map(|event| view! { <EventRow event now filter=filter.clone()/> })
        .collect_view();
    let go = crate::components::navigation::navigator();
    let live = crate::components::navigation::live_view(EventFilter::from_query);
    #[cfg(feature = "hydrate")]
    keyboard::listen();

    view! {
        <table class="events" aria-describedby="table-keys">
            <thead>
                <tr>
                    <th scope="col"><span class="visually-hidden">"Expand"</span></th>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Environment"</th>
                    <th scope="col">"Actor"</th>
                    <th scope="col">"Event"</th>
                    <th scope="col">"Target"</th>
                    <th scope="col">"App"</th>
                    <th scope="col">"Outcome"</th>
                    <th scope="col">"IP"</th>
                </tr>
            </thead>
            {rows}
        </table>
        <nav class="pager" aria-label="Pages">
            <label class="field inline">
                <span>"Rows per page"</span>
                <select on:change=move |ev| {
                    let value = event_target_value(&ev).parse().unwrap_or(DEFAULT_PAGE_SIZE);
                    go(live().with_size(value).href());
                }>
                    {PAGE_SIZES
                        .iter()
                        .map(|s| view! { <option value=s.to_string() selected=*s == size>{s.to_string()}</option> })
                        .collect_view()}
                </select>
            </label>
            {(!is_first_page).then(|| view! { <a href=filter.href() class="button">"← Newest"</a> })}
            {match older {
                Some(href) => view! { <a href=href class="button" rel="next">"Older events →"</a> }.into_any(),
                None => view! { <span class="hint">"End of events"</span> }.into_any(),
            }}
            <span class="hint keys" id="table-keys">
                "Keys: " <kbd>"/"</kbd> " search · " <kbd>"j"</kbd> " " <kbd>"k"</kbd> " next, previous row · "
                <kbd>"o"</kbd> " or " <kbd>"Enter"</kbd> " expand · " <kbd>"Esc"</kbd> " close"
            </span>
        </nav>
    }
    .into_any()
}

/// One event: a summary row, and when expanded a second row with everything.
#[component]
fn EventRow(event: EventSummary, now: chrono::DateTime<chrono::Utc>, filter: EventFilter) -> impl IntoView {
    let (open, set_open) = signal(false);
    let id = event.id.clone();
    let detail_id = format!("event-{}", path_segment(&event.id));
    let link = |key: &str, value: &Option<String>, text: String| match value {
        Some(v) => view! { <a class="filter-link" href=filter.with(key, Some(v)).href() title="Add as filter">{text}</a> }.into_any(),
        None => view! { <span>{text}</span> }.into_any(),
    };
    let target_text = match (&event.target_type, &event.target) {
        (Some(kind), Some(name)) => format!("{kind}: {name}"),
        (None, Some(name)) => name.clone(),
        (Some(kind), None) => kind.clone(),
        (None, None) => String::new(),
    };
    let actor_key = (!event.actor_key.is_empty()).then(|| event.actor_key.clone());
    let type_href = filter.with("type", Some(&event.event_type)).href();
    let env_href = filter.with("env", Some(&event.environment)).href();
    let detail_href = format!("/events/{}", path_segment(&event.id));

    view! {
        <tbody class="event" class:open=move || open.get()>
            <tr data-event-id=event.id.clone() on:click=move |ev| if on_plain_cell(&ev) { set_open.update(|o| *o = !*o) }>
                <td class="toggle">
                    <button
                        type="button"
                        class="expander"
                        aria-expanded=move || open.get().to_string()
                        aria-controls=detail_id.clone()
                        aria-label="Show the full event"
                        on:click=move |_| set_open.update(|o| *o = !*o)
                    >
                        {move || if open.get() { "▾" } else { "▸" }}
                    </button>
                </td>
                <td class="time"><a href=detail_href title="Open the event page"><Time at=event.occurred_at now/></a></td>
                <td><a class="badge env filter-link" href=env_href>{event.environment.clone()}</a></td>
                <td class="actor" title=event.actor_email.clone().unwrap_or_default()>{link("user", &actor_key, event.actor.clone())}</td>
                <td class="type"><a class="filter-link" href=type_href><code>{event.event_type.clone()}</code></a></td>
                <td class="target">{link("target", &event.target_id, target_text)}</td>
                <td>{link("app", &event.app_id, event.app.clone().unwrap_or_default())}</td>
                <td><OutcomeBadge outcome=event.outcome/></td>
                <td class="ip">
                    {link("ip", &event.client_ip, event.client_ip.clone().unwrap_or_default())}
                    {event.country_code.clone().map(|c| view! { <span class="country" title="Country of the IP address">{c}</span> })}
                </td>
            </tr>
            <Show when=move || open.get()>
                <tr class="expansion" id=format!("event-{}", path_segment(&id))>
                    <td colspan="9"><ExpandedEvent id=id.clone() now/></td>
                </tr>
            </Show>
        </tbody>
    }
}

/// Whether a click in a row fell on its plain text — not on a link, a
/// button or a field, and not the end of selecting text to copy — so that
/// it expands or collapses the row, as its expander does.
#[cfg(feature = "hydrate")]
fn on_plain_cell(ev: &leptos::ev::MouseEvent) -> bool {
    use wasm_bindgen::JsCast;
    let on_control = ev
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .is_none_or(|element| element.closest("a, button, input, select, summary").ok().flatten().is_some());
    let selecting = window().get_selection().ok().flatten().is_some_and(|selection| !selection.is_collapsed());
    !on_control && !selecting
}

#[cfg(not(feature = "hydrate"))]
fn on_plain_cell(_: &leptos::ev::MouseEvent) -> bool {
    false
}

/// The full event, loaded when its row is expanded.
#[component]
fn ExpandedEvent(id: String, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let detail = server_data(move || id.clone(), get_event);
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading event…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(event)) => view! { <EventSections event now compact=true/> }.into_any(),
                    Ok(None) => view! { <ErrorMessage message="This event no longer exists."/> }.into_any(),
                    Err(e) => view! { <ErrorMessage message=format!("Could not load the event: {e}")/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Keyboard shortcuts of the explorer, while the table is shown: `/` focuses
/// the search box; `j`/`k` select the next/previous row (focusing its
/// expander, so `Enter` toggles it); `o` expands or collapses the selected
/// row; `Esc` collapses it. Keys typed into a field are left alone.
#[cfg(feature = "hydrate")]
mod keyboard {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;

    const ROWS: &str = "table.events tbody.event > tr[data-event-id]";

    pub fn listen() {
        let handle = window_event_listener(leptos::ev::keydown, on_key);
        on_cleanup(move || handle.remove());
    }

    fn on_key(event: web_sys::KeyboardEvent) {
        if event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let typing = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        let key = event.key();
        if typing && key != "Escape" {
            return;
        }
        let handled = match key.as_str() {
            "/" => focus_search(),
            "j" => move_selection(1),
            "k" => move_selection(-1),
            "o" => toggle_selected(None),
            "Escape" => toggle_selected(Some(false)),
            _ => false,
        };
        if handled {
            event.prevent_default();
        }
    }

    fn focus_search() -> bool {
        let search = document().query_selector("input[name=q]").ok().flatten();
        search.and_then(|s| s.dyn_into::<web_sys::HtmlElement>().ok()).is_some_and(|s| s.focus().is_ok())
    }

    fn rows() -> Vec<web_sys::Element> {
        let Ok(list) = document().query_selector_all(ROWS) else { return Vec::new() };
        (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<web_sys::Element>().ok()).collect()
    }

    fn move_selection(step: i32) -> bool {
        let rows = rows();
        if rows.is_empty() {
            return false;
        }
        let current = rows.iter().position(|r| r.class_list().contains("selected"));
        let next = match current {
            None if step > 0 => 0,
            None => rows.len() - 1,
            Some(i) => (i as i32 + step).clamp(0, rows.len() as i32 - 1) as usize,
        };
        for (i, row) in rows.iter().enumerate() {
            let _ = row.class_list().toggle_with_force("selected", i == next);
            let _ = row.set_attribute("aria-selected", if i == next { "true" } else { "false" });
        }
        if let Some(button) = expander(&rows[next]) {
            let _ = button.focus();
        }
        true
    }

    /// Click the selected row's expander when its state is not already `open` (any state for `None`).
    fn toggle_selected(open: Option<bool>) -> bool {
        let Some(row) = rows().into_iter().find(|r| r.class_list().contains("selected")) else { return false };
        let Some(button) = expander(&row) else { return false };
        let is_open = button.get_attribute("aria-expanded").as_deref() == Some("true");
        if open.is_some_and(|wanted| wanted == is_open) {
            return false;
        }
        button.click();
        let _ = button.focus();
        true
    }

    fn expander(row: &web_sys::Element) -> Option<web_sys::HtmlElement> {
        row.query_selector("button.expander").ok().flatten()?.dyn_into().ok()
    }
}
