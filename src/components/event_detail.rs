//! One event in full: who, what, when, where and how, the changes as old → new,
//! request and response, and the raw JSON with a copy button. Shown in an
//! expanded table row and on the event page.

use leptos::prelude::*;

use crate::components::time::Time;
use crate::model::{absolute_time, encode, EventDetail};

#[component]
pub fn EventSections(event: EventDetail, now: chrono::DateTime<chrono::Utc>, compact: bool) -> impl IntoView {
    let s = event.summary.clone();
    let history_href = match (&s.target_type, &s.target_id) {
        (Some(kind), Some(id)) => Some(format!("/targets/{}/{}", encode(kind), encode(id))),
        _ => None,
    };
    let detail_href = format!("/events/{}", encode(&s.id));
    let session_link = event.actor_session_id.clone().map(|id| format!("/sessions/{}", encode(&id)));
    let actor = [
        ("Name", event.actor_name.clone()),
        ("E-mail", s.actor_email.clone()),
        ("Id", event.actor_id.clone()),
        ("Type", Some(event.actor_type.clone())),
        ("Role", event.actor_role.clone()),
        ("Session", event.actor_session_id.clone()),
        ("API key", event.actor_api_key_id.clone()),
    ];
    let what = [
        ("Type", Some(s.event_type.clone())),
        ("Category", Some(s.category.clone())),
        ("Outcome", Some(s.outcome.clone())),
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
                        <dd>{absolute_time(event.received_at)}</dd>
                        <dt>"Sequence"</dt>
                        <dd>{event.seq}</dd>
                    </dl>
                </section>
                <Facts title="Where" facts=where_.to_vec()/>
                <Facts title="How" facts=how.to_vec()/>
            </div>
            {(!event.changes.is_empty()).then(|| view! {
                <section class="changes">
                    <h3>"Changes"</h3>
                    <table class="diff">
                        <thead><tr><th scope="col">"Field"</th><th scope="col">"Old"</th><th scope="col">"New"</th></tr></thead>
                        <tbody>
                            {event.changes.iter().map(|c| view! {
                                <tr>
                                    <th scope="row"><code>{c.field.clone()}</code></th>
                                    <td class="old"><code>{c.old.clone().unwrap_or_else(|| "—".into())}</code></td>
                                    <td class="new"><code>{c.new.clone().unwrap_or_else(|| "—".into())}</code></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            })}
            <div class="payloads">
                {[("Request", event.request.clone()), ("Response", event.response.clone()), ("Details", event.details.clone())]
                    .into_iter()
                    .filter_map(|(title, body)| body.map(|body| view! {
                        <section class="payload"><h3>{title}</h3><pre>{body}</pre></section>
                    }))
                    .collect_view()}
            </div>
            <RawJson raw=event.raw.clone() open=!compact/>
            <p class="event-links">
                {compact.then(|| view! { <a href=detail_href class="button">"Open event page"</a> })}
                {session_link.map(|href| view! { <a href=href class="button">"Open session"</a> })}
                {history_href.map(|href| view! { <a href=href class="button">"History of this target"</a> })}
            </p>
        </div>
    }
}

#[component]
fn Facts(title: &'static str, facts: Vec<(&'static str, Option<String>)>) -> impl IntoView {
    let present: Vec<_> = facts.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    view! {
        <section class="facts">
            <h3>{title}</h3>
            {if present.is_empty() {
                view! { <p class="hint">"Not recorded"</p> }.into_any()
            } else {
                view! {
                    <dl>
                        {present.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    </dl>
                }.into_any()
            }}
        </section>
    }
}

/// The stored event as pretty JSON, with a button that copies it.
#[component]
fn RawJson(raw: String, open: bool) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let text = raw.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&text);
                set_copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (&text, set_copied);
        }
    };
    view! {
        <details class="raw" open=open>
            <summary>"Raw JSON"</summary>
            <button type="button" class="button copy" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy JSON" }}
            </button>
            <pre class="json">{raw}</pre>
        </details>
    }
}
