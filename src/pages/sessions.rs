//! The sessions page: active sessions (and, with a toggle, recently ended ones)
//! with user, device, browser, OS, IP, location and flags; filters in the URL.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::sessions_page;
use crate::components::server_data::server_data;
use crate::components::navigation::{live_view, navigator, option_select, url_query};
use crate::components::badges::{Flags, StatusBadge};
use crate::components::errors::error_list;
use crate::components::time::{Time, TimeZoneNote};
use crate::components::world_map::WorldMap;
use crate::model::{
    flag_label, is_first_page, path_segment, thousands, with_query_pair, Charted, FilterOption, SessionFilter, SessionSummary, FLAGS, SESSION_PAGE_LIMIT,
};

#[component]
pub fn SessionsPage() -> impl IntoView {
    let search = url_query();
    let data = server_data(search.clone(), sessions_page);

    view! {
        <Title text="Sessions"/>
        <div class="page-head">
            <h1>"Sessions"</h1>
            <TimeZoneNote/>
        </div>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading sessions…"</p> }>
            <ErrorBoundary fallback=error_list("")>
                {move || {
                    // Read before waiting: after it, the page may be gone.
                    let filter = SessionFilter::from_query(&search());
                    let first_page = is_first_page(&search());
                    Suspend::new(async move { data.await.map(|Charted { data: list, chart }| {
                        let now = list.now;
                        let count = list.sessions.len();
                        let older = list.next.as_ref().map(|cursor| with_query_pair(&filter.href(), "before", &cursor.encode()));
                        view! {
                            <SessionFilters
                                filter=filter.clone()
                                environments=list.environments
                                organizations=list.organizations
                                countries=list.countries
                                device_types=list.device_types
                            />
                            <p class="summary">
                                {match (first_page && older.is_none(), filter.include_ended) {
                                    (false, true) => format!("Sessions seen in the last 7 days, most recently seen first, {SESSION_PAGE_LIMIT} per page"),
                                    (false, false) => format!("Active sessions, most recently seen first, {SESSION_PAGE_LIMIT} per page"),
                                    (true, true) => format!("{count} session{} seen in the last 7 days", if count == 1 { "" } else { "s" }),
                                    (true, false) => format!("{count} active session{}", if count == 1 { "" } else { "s" }),
                                }}
                            </p>
                            {(!list.places.is_empty()).then(|| {
                                let flagged: i64 = list.places.iter().map(|p| p.flagged).sum();
                                let mapped: i64 = list.places.iter().map(|p| p.sessions).sum();
                                let description = format!(
                                    "Map of where these sessions come from: {mapped} sessions in {} places, {flagged} flagged. Click a country to filter.",
                                    list.places.len()
                                );
                                view! {
                                    <WorldMap id="sessions-map" option=chart description filter_by_country=true/>
                                    <p class="hint map-legend">
                                        <span class="dot"></span>" sessions · "
                                        <span class="dot flagged"></span>" with a flag · click a country to filter, scroll to zoom"
                                        {(mapped >= crate::model::MAP_SESSIONS).then(|| format!(" · the {} most recently seen sessions", crate::model::MAP_SESSIONS))}
                                    </p>
                                }
                            })}
                            {if list.sessions.is_empty() && !first_page {
                                view! {
                                    <section class="empty-state">
                                        <h2>"No older sessions"</h2>
                                        <a href=filter.href() class="button">"Newest sessions"</a>
                                    </section>
                                }.into_any()
                            } else if list.sessions.is_empty() {
                                view! {
                                    <section class="empty-state">
                                        <h2>"No sessions match"</h2>
                                        <p>"Sessions appear when events carry actor.session_id (sign-in, activity, sign-out)."</p>
                                    </section>
                                }.into_any()
                            } else {
                                view! {
                                    <SessionTable sessions=list.sessions now/>
                                    <nav class="pager" aria-label="Pages">
                                        {(!first_page).then(|| view! { <a href=filter.href() class="button">"← Newest"</a> })}
                                        {match older {
                                            Some(href) => view! { <a href=href class="button" rel="next">"Older sessions →"</a> }.into_any(),
                                            None => view! { <span class="hint">"End of sessions"</span> }.into_any(),
                                        }}
                                    </nav>
                                }.into_any()
                            }}
                        }
                    }) })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn SessionFilters(
    filter: SessionFilter,
    environments: Vec<FilterOption>,
    organizations: Vec<FilterOption>,
    countries: Vec<FilterOption>,
    device_types: Vec<FilterOption>,
) -> impl IntoView {
    let go = navigator();
    let flags: Vec<FilterOption> =
        FLAGS.iter().map(|f| FilterOption { value: f.to_string(), label: flag_label(f).into(), events: 0 }).collect();
    let live = live_view(SessionFilter::from_query);
    let select = |key: &'static str, label: &'static str, choices: Vec<FilterOption>| {
        let current = filter.get(key).cloned().unwrap_or_default();
        option_select(key, label, current, choices, move |value| live().with(key, Some(value)).href())
    };
    let user_input = NodeRef::<leptos::html::Input>::new();
    let search = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let user = user_input.get().map(|i| i.value()).unwrap_or_default();
            go(live().with("user", Some(&user)).href());
        }
    };
    let toggle = {
        let go = go.clone();
        move |_| {
            let filter = live();
            go(filter.with("status", Some(if filter.include_ended { "active" } else { "all" })).href())
        }
    };
    let include_ended = filter.include_ended;
    view! {
        <section class="filters" aria-label="Filters">
            <div class="filter-row">
                {select("env", "Environment", environments)}
                {select("org", "Organization", organizations)}
                {select("country", "Country", countries)}
                {select("device", "Device type", device_types)}
                {select("flag", "Flag", flags)}
                <form class="search" on:submit=search>
                    <label class="field">
                        <span>"User"</span>
                        <input node_ref=user_input name="user" placeholder="name, e-mail or id" value=filter.user.clone().unwrap_or_default()/>
                    </label>
                    <button type="submit" class="button primary">"Filter"</button>
                </form>
                <label class="toggle">
                    <input type="checkbox" name="include-ended" checked=include_ended on:change=toggle/>
                    " Include sessions ended in the last 7 days"
                </label>
                <a href="/sessions" class="clear-all">"Clear all"</a>
            </div>
        </section>
    }
}

#[component]
fn SessionTable(sessions: Vec<SessionSummary>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <table class="events sessions">
            <thead>
                <tr>
                    <th scope="col">"User"</th>
                    <th scope="col">"Started"</th>
                    <th scope="col">"Last seen"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Device"</th>
                    <th scope="col">"IP"</th>
                    <th scope="col">"Location"</th>
                    <th scope="col">"Flags"</th>
                    <th scope="col" class="num">"Events"</th>
                </tr>
            </thead>
            <tbody>
                {sessions.into_iter().map(|s| {
                    let href = format!("/sessions/{}", path_segment(&s.session_id));
                    let status = s.status();
                    view! {
                        <tr data-session-id=s.session_id.clone()>
                            <td class="actor">
                                <a href=href>{s.user_label()}</a>
                                <span class="sub">{[s.user_email.clone(), s.user_role.clone(), s.organization.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ")}</span>
                            </td>
                            <td class="time"><Time at=s.started_at now/></td>
                            <td class="time"><Time at=s.last_seen now/></td>
                            <td><StatusBadge status/></td>
                            <td class="device">{s.device.clone().unwrap_or_default()}</td>
                            <td class="ip">{s.ip.clone().unwrap_or_default()}</td>
                            <td class="place">{s.place.clone().unwrap_or_default()}</td>
                            <td class="flags"><Flags flags=s.flags.clone()/></td>
                            <td class="num">{thousands(s.events)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
