//! The event page `/events/{id}`: a permalink to one event with everything
//! known about it and the events related to it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::server_data::server_data;
use crate::components::navigation::url_param;
use crate::api::event_page;
use crate::components::badges::OutcomeBadge;
use crate::components::errors::{ErrorMessage, NotFound};
use crate::components::event_detail::EventSections;
use crate::components::timeline::TimelineItem;
use crate::model::EventSummary;

#[component]
pub fn EventPage() -> impl IntoView {
    let view_data = server_data(url_param("id"), event_page);

    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading event…"</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(Some(v)) => {
                        let s = v.event.summary.clone();
                        let title = format!("{} by {}", s.event_type, s.actor);
                        view! {
                            <Title text=title.clone()/>
                            <nav class="crumbs"><a href="/events">"Events"</a> " / " <span>{s.id.clone()}</span></nav>
                            <div class="page-head">
                                <h1>{title}</h1>
                                <OutcomeBadge outcome=s.outcome/>
                            </div>
                            <EventSections event=v.event now=v.now compact=false/>
                            <Related title="Same session" events=v.same_session current=s.id.clone() now=v.now/>
                            <Related title="Same request" events=v.same_request current=s.id.clone() now=v.now/>
                        }
                        .into_any()
                    }
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <ErrorMessage message=format!("Could not load the event: {e}")/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Related(
    title: &'static str,
    events: Vec<EventSummary>,
    current: String,
    now: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    if events.len() <= 1 {
        return ().into_any();
    }
    view! {
        <section class="related">
            <h2>{title} <span class="hint">{format!(" {} events", events.len())}</span></h2>
            <ol class="timeline">
                {events.into_iter().map(|e| {
                    let here = e.id == current;
                    view! { <TimelineItem event=e now current=here/> }
                }).collect_view()}
            </ol>
        </section>
    }
    .into_any()
}
