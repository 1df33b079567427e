//! The Services page (`/services`): every monitored service with its state,
//! the bar of its last results, uptime and current incident; and one service
//! (`/services/{id}`) with its latency, incidents and maintenance windows
//! (which administrators may end early).

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;

use crate::api::{list_services, load_service, EndMaintenance};
use crate::components::current_user::{AdminLink, CurrentUser};
use crate::components::navigation::{resource_source, url_param};
use crate::components::server_data::server_data;
use crate::components::line_chart::LineChart;
use crate::components::service_state::{describe_check, uptime_label, ResultBar, StateBadge};
use crate::components::settings::{action_error, load_failed};
use crate::components::time::{Time, TimeZoneNote};
use crate::model::{ChartOption, Charted, EventFilter, Incident, ServiceDetail, ServiceSummary, TimeRange};

#[component]
pub fn ServicesPage() -> impl IntoView {
    let services = server_data(|| (), |_| list_services());
    view! {
        <Title text="Services"/>
        <div class="page-head">
            <h1>"Services"</h1>
            <span class="hint">"Availability checks"</span><TimeZoneNote/>
            <AdminLink class="button" href="/settings/services" text="Manage services"/>
        </div>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading services…"</p> }>
            {move || Suspend::new(async move {
                match services.await {
                    Err(e) => load_failed(&e),
                    Ok((_, list)) if list.is_empty() => view! {
                        <section class="empty-state">
                            <h2>"No service is checked yet"</h2>
                            <p>"Administrators add HTTP, TCP, DNS and heartbeat checks in "<a href="/settings/services">"Settings → Services"</a>"."</p>
                        </section>
                    }.into_any(),
                    Ok((now, list)) => view! { <ServicesTable services=list now/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ServicesTable(services: Vec<ServiceSummary>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <table class="events services">
            <thead><tr>
                <th scope="col">"Service"</th><th scope="col">"State"</th><th scope="col">"Last 90 checks"</th>
                <th scope="col">"24 h"</th><th scope="col">"7 days"</th><th scope="col">"30 days"</th><th scope="col">"Incident"</th>
            </tr></thead>
            <tbody>
                {services.into_iter().map(|s| view! {
                    <tr data-service=s.definition.name.clone()>
                        <td>
                            <a href=format!("/services/{}", s.id)>{s.definition.name.clone()}</a>" "
                            <span class="badge env">{s.definition.environment.clone()}</span>
                            <span class="sub">{describe_check(&s.definition)}</span>
                        </td>
                        <td><StateBadge state=s.state paused=s.paused/>
                            {s.in_maintenance.then(|| view! { <span class="badge state-paused">"maintenance"</span> })}
                            <span class="sub"><Time at=s.state_since now/></span></td>
                        <td><ResultBar results=s.recent.clone()/></td>
                        <td class="uptime">{uptime_label(s.uptime[0])}</td>
                        <td class="uptime">{uptime_label(s.uptime[1])}</td>
                        <td class="uptime">{uptime_label(s.uptime[2])}</td>
                        <td class="incident">{s.incident.clone().map(|i| view! { <IncidentNote incident=i now/> })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn IncidentNote(incident: Incident, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <span class="bad">"Down since "<Time at=incident.started_at now/></span>
        <span class="sub">{incident.reason}</span>
    }
}

#[component]
pub fn ServicePage() -> impl IntoView {
    let id = url_param("id");
    let end = ServerAction::<EndMaintenance>::new();
    let data = server_data(resource_source(move || (id().parse::<i64>().unwrap_or_default(), end.version().get())), |(id, _)| load_service(id));
    let me = expect_context::<CurrentUser>();
    view! {
        {action_error(move || end.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading service…"</p> }>
            {move || Suspend::new(async move {
                let end = me.is_admin().await.then_some(end);
                match data.await {
                    Err(e) => load_failed(&e),
                    Ok((now, Charted { data: detail, chart })) => view! { <ServiceView detail chart now end/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A service's page; `end`: an administrator's action to end a maintenance window.
#[component]
fn ServiceView(detail: ServiceDetail, chart: ChartOption, now: chrono::DateTime<chrono::Utc>, end: Option<ServerAction<EndMaintenance>>) -> impl IntoView {
    let s = detail.summary.clone();
    let events = EventFilter { range: TimeRange::Last("30d".into()), ..Default::default() }
        .with("env", Some(&s.definition.environment))
        .with("target", Some(&s.id.to_string()))
        .href();
    view! {
        <Title text=s.definition.name.clone()/>
        <nav class="crumbs"><a href="/services">"Services"</a> " / " <span>{s.definition.name.clone()}</span></nav>
        <div class="page-head">
            <h1>{s.definition.name.clone()}</h1>
            <StateBadge state=s.state paused=s.paused/>
            <span class="hint">{describe_check(&s.definition)}</span>
            <a class="button" href=events>"State changes in the explorer"</a>
            <AdminLink class="button" href=format!("/settings/services/{}/edit", s.id) text="Edit"/>
        </div>
        <section class="panel">
            <h2>"Last 90 checks"</h2>
            <ResultBar results=s.recent.clone()/>
            <p class="hint">
                {format!("Uptime: {} over 24 h · {} over 7 days · {} over 30 days", uptime_label(s.uptime[0]), uptime_label(s.uptime[1]), uptime_label(s.uptime[2]))}
                {s.certificate_expires_at.map(|at| view! { " · TLS certificate expires " <Time at now/> })}
                {s.last_heartbeat_at.map(|at| view! { " · last heartbeat " <Time at now/> })}
            </p>
        </section>
        <section class="panel">
            <h2>"Latency, last 7 days (hourly mean)"</h2>
            {if detail.latency.is_empty() {
                view! { <p class="hint">"No checks in the last 7 days."</p> }.into_any()
            } else {
                let description = format!("Hourly mean latency over {} hours", detail.latency.len());
                view! { <LineChart id="latency-chart" chart description/> }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Incidents"</h2>
            {if detail.incidents.is_empty() {
                view! { <p class="hint">"No incident."</p> }.into_any()
            } else {
                view! { <IncidentTable incidents=detail.incidents.clone() now/> }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Maintenance windows"</h2>
            {if detail.maintenance.is_empty() {
                view! { <p class="hint">"None planned. Failures inside a window do not take the service down or alert."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {detail.maintenance.into_iter().map(|m| view! {
                            <li data-window=m.id>
                                <Time at=m.starts_at now/>" – "<Time at=m.ends_at now/>{m.note.clone().map(|n| format!(" · {n}"))}
                                {end.map(|end| view! {
                                    <ActionForm action=end attr:class="inline-form">
                                        <input type="hidden" name="id" value=m.id/>
                                        <button type="submit" class="button">{if m.starts_at > now { "Call off" } else { "End now" }}</button>
                                    </ActionForm>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn IncidentTable(incidents: Vec<Incident>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <table class="events incidents">
            <thead><tr><th scope="col">"Started"</th><th scope="col">"Ended"</th><th scope="col">"Lasted"</th><th scope="col">"Reason"</th></tr></thead>
            <tbody>
                {incidents.into_iter().map(|i| {
                    let lasted = i.ended_at.unwrap_or(now) - i.started_at;
                    view! {
                        <tr>
                            <td class="time"><Time at=i.started_at now/></td>
                            <td class="time">{match i.ended_at {
                                Some(at) => view! { <Time at now/> }.into_any(),
                                None => view! { <span class="bad">"ongoing"</span> }.into_any(),
                            }}</td>
                            <td>{duration_label(lasted)}</td>
                            <td>{i.reason.clone()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn duration_label(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

