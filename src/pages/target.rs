//! The history of one target `/targets/{type}/{id}`: every event about it,
//! oldest to newest, with who changed what from what to what.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::server_data::server_data;
use crate::components::navigation::{url_param, url_query};
use crate::api::target_history_page;
use crate::components::badges::OutcomeBadge;
use crate::components::time::{Time, TimeZoneNote};
use crate::model::{path_segment, query_param, query_value, EventFilter};

#[component]
pub fn TargetPage() -> impl IntoView {
    let (kind, id, query) = (url_param("kind"), url_param("id"), url_query());
    let key = move || (kind(), id(), query_param(&query(), "after"));
    let history = server_data(key, |(kind, id, after)| target_history_page(kind, id, after));

    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading history…"</p> }>
            {move || Suspend::new(async move {
                history.await.map(|h| {
                    let name = h.target_name.clone().unwrap_or_else(|| h.target_id.clone());
                    let title = format!("History of {} {}", h.target_type, name);
                    let events_href = EventFilter::default().with("target", Some(&h.target_id)).with("range", Some("1y")).href();
                    let more = h.next.as_ref().map(|c| {
                        format!("/targets/{}/{}?after={}", path_segment(&h.target_type), path_segment(&h.target_id), query_value(&c.encode()))
                    });
                    let now = h.now;
                    view! {
                        <Title text=title.clone()/>
                        <nav class="crumbs"><a href="/events">"Events"</a> " / " <span>{title.clone()}</span></nav>
                        <div class="page-head">
                            <h1>{title}</h1>
                            <span class="hint">"Oldest first"</span>
                            <TimeZoneNote/>
                            <a href=events_href class="button">"Show in explorer"</a>
                        </div>
                        {if h.events.is_empty() {
                            view! { <section class="empty-state"><h2>"No events about this target"</h2></section> }.into_any()
                        } else {
                            view! {
                                <ol class="history">
                                    {h.events.into_iter().map(|e| {
                                        let s = e.summary.clone();
                                        view! {
                                            <li class="history-entry">
                                                <div class="history-head">
                                                    <Time at=s.occurred_at now/>
                                                    <strong class="actor">{s.actor.clone()}</strong>
                                                    <a href=format!("/events/{}", path_segment(&s.id))><code>{s.event_type.clone()}</code></a>
                                                    <OutcomeBadge outcome=s.outcome/>
                                                    {e.reason.clone().map(|r| view! { <span class="reason">{r}</span> })}
                                                </div>
                                                {(!e.changes.is_empty()).then(|| view! {
                                                    <ul class="history-changes">
                                                        {e.changes.iter().map(|c| view! {
                                                            <li>
                                                                <code>{c.field.clone()}</code>": "
                                                                <del class="old">{c.old.clone().unwrap_or_else(|| "—".into())}</del>
                                                                " → "
                                                                <ins class="new">{c.new.clone().unwrap_or_else(|| "—".into())}</ins>
                                                            </li>
                                                        }).collect_view()}
                                                    </ul>
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ol>
                                {more.map(|href| view! { <a href=href class="button" rel="next">"Later events →"</a> })}
                            }.into_any()
                        }}
                    }
                })
            })}
        </Suspense>
    }
}
