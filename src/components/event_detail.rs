//! One event in full: who, what, when, where and how, the changes as old → new,
//! request and response, and the raw JSON with a copy button. Shown in an
//! expanded table row and on the event page.

use leptos::prelude::*;

use crate::components::copy_button::CopyButton;
use crate::components::facts::Facts;
use crate::components::time::Time;
use crate::model::{path_segment, Change, EventDetail};

#[component]
pub fn EventSections(event: EventDetail, now: chrono::DateTime<chrono::Utc>, compact: bool) -> impl IntoView {
    let s = event.summary.clone();
    let actor = [
        ("Name", event.actor_name.clone()),
        ("E-mail", s.actor_email.clone()),
        ("Id", event.actor_id.clone()),
        ("Type", Some(event.actor_type.to_string())),
        ("Role", event.actor_role.clone()),
        ("Session", event.actor_session_id.clone()),
        ("API key", event.actor_api_key_id.clone()),
    ];
    let what = [
        ("Type", Some(s.event_type.clone())),
        ("Category", Some(s.category.to_string())),
        ("Outcome", Some(s.outcome.to_string())),
        ("Reason", event.reason.clone()),
        ("Target", s.target.clone().map(|t| format!("{} {t}", s.target_type.clone().unwrap_or_default()))),
        ("Target id", s.target_id.clone()),
        ("App", s.app.clone()),
        ("Organization", s.organization.clone()),
        ("Environment", Some(s.environment.clone())),
    ];
    let client = event.client.clone().unwrap_or_default();
    let where_ = [
        ("IP address", s.client_ip.clone()),
        ("Location", client.location_label()),
        ("Reported location", client.reported_label()),
        ("Time zone", client.time_zone.clone()),
        ("Device", client.device_label()),
        ("Brand / model", client.device_brand.clone().map(|b| format!("{b} {}", client.device_model.clone().unwrap_or_default()))),
        ("User agent", event.user_agent.clone()),
        ("Machine", event.machine_id.clone()),
    ];
    let how = [
        ("Request id", event.request_id.clone()),
        ("Method", event.request_method.clone()),
        ("Path", event.request_path.clone()),
        ("Status", event.request_status.map(|s| s.to_string())),
    ];

    view! {
        <div class="event-sections" class:compact=compact>
            <div class="section-grid">
                <Facts title="Who" facts=actor.to_vec()/>
                <Facts title="What" facts=what.to_vec()/>
                <section class="facts">
                    <h3>"When"</h3>
                    <dl>
                        <dt>"Occurred"</dt>
                        <dd><Time at=s.occurred_at now/></dd>
                        <dt>"Received"</dt>
                        <dd><Time at=event.received_at now/></dd>
                        <dt>"Sequence"</dt>
                        <dd>{event.seq}</dd>
                    </dl>
                </section>
                <Facts title="Where" facts=where_.to_vec()/>
                <Facts title="How" facts=how.to_vec()/>
            </div>
            <ChangesTable changes=event.changes.clone()/>
            <div class="payloads">
                {[("Request", event.request.clone()), ("Response", event.response.clone()), ("Details", event.details.clone())]
                    .into_iter()
                    .filter_map(|(title, body)| body.map(|body| view! { <section class="payload"><h3>{title}</h3><pre>{body}</pre></section> }))
                    .collect_view()}
            </div>
            <RawJson raw=event.raw.clone() open=!compact/>
            <EventLinks event=event.clone() compact/>
        </div>
    }
}

/// Where to go from an event: its page (from a table row), its session, its target's history.
#[component]
fn EventLinks(event: EventDetail, compact: bool) -> impl IntoView {
    let s = &event.summary;
    let detail_href = format!("/events/{}", path_segment(&s.id));
    let session_href = event.actor_session_id.as_ref().map(|id| format!("/sessions/{}", path_segment(id)));
    let history_href = match (&s.target_type, &s.target_id) {
        (Some(kind), Some(id)) => Some(format!("/targets/{}/{}", path_segment(kind), path_segment(id))),
        _ => None,
    };
    view! {
        <p class="event-links">
            {compact.then(|| view! { <a href=detail_href class="button">"Open event page"</a> })}
            {session_href.map(|href| view! { <a href=href class="button">"Open session"</a> })}
            {history_href.map(|href| view! { <a href=href class="button">"History of this target"</a> })}
        </p>
    }
}

/// The changes of a change event as a table of old → new.
#[component]
fn ChangesTable(changes: Vec<Change>) -> impl IntoView {
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "—".into());
    (!changes.is_empty()).then(|| view! {
        <section class="changes">
            <h3>"Changes"</h3>
            <table class="diff">
                <thead><tr><th scope="col">"Field"</th><th scope="col">"Old"</th><th scope="col">"New"</th></tr></thead>
                <tbody>
                    {changes.into_iter().map(|c| view! {
                        <tr>
                            <th scope="row"><code>{c.field}</code></th>
                            <td class="old"><code>{or_dash(c.old)}</code></td>
                            <td class="new"><code>{or_dash(c.new)}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    })
}

/// The stored event as pretty JSON, with a button that copies it.
#[component]
fn RawJson(raw: String, open: bool) -> impl IntoView {
    view! {
        <details class="raw" open=open>
            <summary>"Raw JSON"</summary>
            <CopyButton text=raw.clone() label="Copy JSON"/>
            <pre class="json">{raw}</pre>
        </details>
    }
}
