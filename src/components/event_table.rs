//! The table of events with its pager.

use leptos::prelude::*;

use crate::components::time::Time;
use crate::model::{EventPage, EventSummary};

#[component]
pub fn EventTable(page: EventPage, is_first_page: bool) -> impl IntoView {
    if page.events.is_empty() {
        return view! {
            <section class="empty-state">
                <h2>{if is_first_page { "No events yet" } else { "No older events" }}</h2>
                <p>
                    "Send events to "<code>"POST /api/v1/events"</code>
                    " with your ingest key, or load demo data with "<code>"make demo"</code>"."
                </p>
                <a href="/events">"Newest events"</a>
            </section>
        }
        .into_any();
    }
    let now = page.now;
    let older = page.next.map(|cursor| format!("/events?before={}", urlencode(&cursor.encode())));
    let rows = page
        .events
        .into_iter()
        .map(|event| view! { <EventRow event now/> })
        .collect_view();

    view! {
        <table class="events">
            <thead>
                <tr>
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
            <tbody>{rows}</tbody>
        </table>
        <nav class="pager" aria-label="Pages">
            {(!is_first_page).then(|| view! { <a href="/events" class="button">"← Newest"</a> })}
            {match older {
                Some(href) => view! { <a href=href class="button" rel="next">"Older events →"</a> }.into_any(),
                None => view! { <span class="hint">"End of events"</span> }.into_any(),
            }}
        </nav>
    }
    .into_any()
}

#[component]
fn EventRow(event: EventSummary, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let outcome_class = format!("badge outcome-{}", event.outcome);
    let target = match (&event.target_type, &event.target) {
        (Some(kind), Some(name)) => format!("{kind}: {name}"),
        (None, Some(name)) => name.clone(),
        (Some(kind), None) => kind.clone(),
        (None, None) => String::new(),
    };
    view! {
        <tr data-event-id=event.id.clone()>
            <td class="time"><Time at=event.occurred_at now/></td>
            <td><span class="badge env">{event.environment}</span></td>
            <td class="actor" title=event.actor_email.clone().unwrap_or_default()>{event.actor}</td>
            <td class="type"><code>{event.event_type}</code></td>
            <td class="target">{target}</td>
            <td>{event.app.unwrap_or_default()}</td>
            <td><span class=outcome_class>{event.outcome}</span></td>
            <td class="ip">{event.client_ip.unwrap_or_default()}</td>
        </tr>
    }
}

/// Percent-encode a query value (cursor ids may hold any character).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
