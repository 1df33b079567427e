//! One event as a line of a timeline (a session's events, related events).

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::components::badges::OutcomeBadge;
use crate::components::time::Time;
use crate::model::{path_segment, EventSummary};

/// When, the type (linking to the event), the target and the outcome;
/// `current` marks the event the page is about.
#[component]
pub fn TimelineItem(event: EventSummary, now: DateTime<Utc>, #[prop(optional)] current: bool) -> impl IntoView {
    view! {
        <li class:current=current>
            <Time at=event.occurred_at now/>
            <a href=format!("/events/{}", path_segment(&event.id))><code>{event.event_type}</code></a>
            <span>{event.target.unwrap_or_default()}</span>
            <OutcomeBadge outcome=event.outcome/>
            {current.then(|| view! { <span class="hint">"(this event)"</span> })}
        </li>
    }
}
