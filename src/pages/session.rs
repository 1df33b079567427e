//! One session `/sessions/{id}`: who, device, location, and the timeline of
//! every event it produced.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::server_data::server_data;
use crate::components::navigation::url_param;
use crate::api::session_page;
use crate::components::badges::{Flags, StatusBadge};
use crate::components::errors::{ErrorMessage, NotFound};
use crate::components::facts::Facts;
use crate::components::time::Time;
use crate::components::timeline::TimelineItem;
use crate::components::world_map::WorldMap;
use crate::model::{impossible_travel, thousands, Charted};

#[component]
pub fn SessionPage() -> impl IntoView {
    let data = server_data(url_param("id"), session_page);
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading session…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(Charted { data: v, chart })) => {
                        let s = v.session.clone();
                        let client = s.client.clone().unwrap_or_default();
                        let title = format!("Session of {}", s.user_label());
                        let now = v.now;
                        view! {
                            <Title text=title.clone()/>
                            <nav class="crumbs"><a href="/sessions">"Sessions"</a> " / " <span>{s.session_id.clone()}</span></nav>
                            <div class="page-head">
                                <h1>{title}</h1>
                                <StatusBadge status=s.status()/>
                                <Flags flags=s.flags.clone()/>
                            </div>
                            <div class="section-grid">
                                <Facts title="User" facts=vec![("Name", s.user_name.clone()), ("E-mail", s.user_email.clone()), ("Id", Some(s.user_key.clone())),
                                                ("Role", s.user_role.clone()), ("Organization", s.organization.clone()), ("Environment", Some(s.environment.clone()))]/>
                                <Facts title="Device" facts=vec![("Browser", client.browser.clone().map(|b| format!("{b} {}", client.browser_version.clone().unwrap_or_default()))),
                                                ("Engine", client.engine.clone()),
                                                ("OS", client.os.clone().map(|o| format!("{o} {}", client.os_version.clone().unwrap_or_default()))),
                                                ("Device", client.device_type.clone()), ("Brand", client.device_brand.clone()), ("Model", client.device_model.clone()),
                                                ("Machine", s.machine_id.clone())]/>
                                <Facts title="Location" facts=vec![("IP address", s.ip.clone()), ("Place", client.location_label()), ("Reported place", client.reported_label()), ("Time zone", client.time_zone.clone()),
                                                ("Coordinates", client.latitude.zip(client.longitude).map(|(a, b)| format!("{a:.3}, {b:.3}")))]/>
                                <section class="facts session-facts">
                                    <h3>"Session"</h3>
                                    <dl>
                                        <dt>"Id"</dt><dd>{s.session_id.clone()}</dd>
                                        <dt>"Started"</dt><dd><Time at=s.started_at now/></dd>
                                        <dt>"Last seen"</dt><dd><Time at=s.last_seen now/></dd>
                                        {s.ended_at.map(|at| view! { <dt>"Ended"</dt><dd><Time at now/></dd> })}
                                        <dt>"Events"</dt><dd>{thousands(s.events)}</dd>
                                    </dl>
                                </section>
                            </div>
                            {(!v.path.is_empty()).then(|| {
                                let legs = v.path.windows(2).filter(|p| impossible_travel(&p[0], &p[1])).count();
                                let description = format!(
                                    "Map of this session's places in time order: {} places, {legs} impossible-travel legs.",
                                    v.path.len()
                                );
                                view! {
                                    <section class="related">
                                        <h2>"Where" <span class="hint">{format!(" {} places in time order", v.path.len())}</span></h2>
                                        <WorldMap id="session-map" option=chart description/>
                                        {(legs > 0).then(|| view! {
                                            <p class="hint map-legend"><span class="leg flagged"></span>" travel faster than an airliner (over 900 km/h across more than 500 km)"</p>
                                        })}
                                    </section>
                                }
                            })}
                            <section class="related">
                                <h2>"Timeline" <span class="hint">{format!(" {} events, oldest first", v.events.len())}</span></h2>
                                <ol class="timeline session-timeline">
                                    {v.events.into_iter().map(|e| view! { <TimelineItem event=e now/> }).collect_view()}
                                </ol>
                            </section>
                        }.into_any()
                    }
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <ErrorMessage message=format!("Could not load the session: {e}")/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
