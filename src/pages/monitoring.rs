//! Settings → Services (admins): add, edit, pause, delete services and plan
//! maintenance; Settings → Channels: webhooks and e-mail (added and edited), the SMTP server,
//! a test button and every delivery with its response.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;

use crate::api::{
    list_services, load_channels, AddMaintenance, DeleteChannel, DeleteService, PauseService, SaveChannel, SaveService, SetSmtp, TestChannel,
};
use crate::components::server_data::server_data;
use crate::components::navigation::resource_source;
use crate::components::service_state::{describe_check, StateBadge};
use crate::components::settings::{action_error, cleared_after, edit_page, load_failed, shown_once, time_or_never, SettingsHead, SettingsList};
use crate::components::time::Time;
use crate::model::{Channel, ChannelKind, ChannelsOverview, CheckKind, Delivery, Secret, ServiceDefinition, ServiceSummary, SmtpSettings, TlsMode};

#[component]
pub fn ServicesSettingsPage() -> impl IntoView {
    let add = ServerAction::<SaveService>::new();
    let delete = ServerAction::<DeleteService>::new();
    let pause = ServerAction::<PauseService>::new();
    let maintenance = ServerAction::<AddMaintenance>::new();
    let services = server_data(
        resource_source(move || (add.version().get(), delete.version().get(), pause.version().get(), maintenance.version().get())),
        |_| list_services(),
    );
    view! {
        <Title text="Services · Settings"/>
        <SettingsHead/>
        <p class="hint">
            "Vigil checks each service every interval from inside the server (with several instances, each check runs once). "
            "A service is down after its failures in a row and up again after its successes in a row; each change, and a TLS "
            "certificate that expires within 14 days, is an event in the service's environment. Results are kept 90 days."
        </p>
        <section class="panel">
            <h2>"Add a service"</h2>
            {cleared_after(move || add.value().get().is_some_and(|r| r.is_ok()), move || view! { <ServiceForm action=add service=None submit="Add service"/> })}
        </section>
        {action_error(move || add.value().get())}
        {shown_once(move || add.value().get().and_then(|r| r.ok().flatten()).map(Ok))}
        {action_error(move || delete.value().get())}
        {action_error(move || pause.value().get())}
        {action_error(move || maintenance.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading services…"</p> }>
            {move || Suspend::new(async move {
                match services.await {
                    Err(e) => load_failed(&e),
                    Ok((_, list)) if list.is_empty() => view! {
                        <section class="empty-state"><h2>"No service yet"</h2><p>"Add the first one above."</p></section>
                    }.into_any(),
                    Ok((now, list)) => view! { <ServiceRows services=list now delete pause maintenance/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `/settings/services/:id/edit`: what a service checks and how, changed
/// in the form it was added with, its check too. A save that gave the service
/// a heartbeat address stays to show it once.
#[component]
pub fn EditServicePage() -> impl IntoView {
    let save = ServerAction::<SaveService>::new();
    let list = SettingsList { name: "Services", path: "/settings/services", item: "service" };
    let find = |(_, services): (_, Vec<ServiceSummary>), id| services.into_iter().find(|s| s.id == id);
    let address = move || save.value().get().and_then(|r| r.ok().flatten());
    let form = move |s: ServiceSummary| {
        let edit = view! {
            <section class="panel">
                <h2>{format!("Edit {}", s.definition.name)}</h2>
                <ServiceForm action=save service=Some((s.id, s.definition)) submit="Save changes"/>
            </section>
        };
        view! {
            <div hidden=move || address().is_some()>{edit}</div>
            {shown_once(move || address().map(Ok))}
            <Show when=move || address().is_some()><p><a href="/settings/services">"Back to the services"</a></p></Show>
        }
        .into_any()
    };
    edit_page(list, move || save.value().get(), |address: &Option<Secret>| address.is_none(), server_data(|| (), |_| list_services()), find, form)
}

/// A service's form, filled from `service` (its id and definition) when it
/// changes one: the fields of the check chosen show (the request's for http,
/// the expected address for dns, no target for a heartbeat); a heartbeat's
/// address can be replaced.
#[component]
fn ServiceForm(action: ServerAction<SaveService>, service: Option<(i64, ServiceDefinition)>, submit: &'static str) -> impl IntoView {
    let (id, service) = service.unzip();
    let stored = service.as_ref().map(|s| s.kind);
    let kind = RwSignal::new(stored.unwrap_or(CheckKind::Http));
    let service = StoredValue::new(service);
    let value = move |read: fn(&ServiceDefinition) -> String| service.with_value(|s| s.as_ref().map(read).unwrap_or_default());
    let is = move |k: CheckKind| move || kind.get() == k;
    let (http, dns, heartbeat) = (is(CheckKind::Http), is(CheckKind::Dns), is(CheckKind::Heartbeat));
    let target = move || match kind.get() {
        CheckKind::Http => ("URL", "https://billing.example.com/health"),
        CheckKind::Tcp => ("Host:port", "db.internal:5432"),
        _ => ("Host name", "billing.example.com"),
    };
    view! {
        <ActionForm action attr:class="settings-form">
            {id.map(|id| view! { <input type="hidden" name="id" value=id/> })}
            <label class="field"><span>"Name"</span><input name="name" required placeholder="Billing API" value=value(|s| s.name.clone())/></label>
            <label class="field"><span>"Environment"</span><input name="environment" required placeholder="production" value=value(|s| s.environment.clone())/></label>
            <label class="field"><span>"Check"</span>
                <select name="kind"
                    on:change=move |ev| kind.set(CheckKind::parse(&event_target_value(&ev)).unwrap_or(CheckKind::Http))>
                    {CheckKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=*k == kind.get_untracked()>{k.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field wide" hidden=heartbeat><span>{move || target().0}</span>
                <input name="target" placeholder=move || target().1 value=value(|s| s.target.clone())/></label>
            <label class="field" hidden=move || !http()><span>"Method"</span><input name="http_method" placeholder="GET" value=value(|s| s.http_method.clone())/></label>
            <label class="field" hidden=move || !http()><span>"Expected status"</span>
                <input name="expected_status" placeholder="200-399" value=value(|s| status_range(s.status_min, s.status_max))/></label>
            <label class="field" hidden=move || !http()><span>"Body contains"</span><input name="keyword" placeholder="ok" value=value(|s| s.keyword.clone().unwrap_or_default())/></label>
            <label class="field" hidden=move || !dns()><span>"Resolves to"</span>
                <input name="expected_address" placeholder="(any address)" value=value(|s| s.expected_address.clone().unwrap_or_default())/></label>
            <label class="field" hidden=heartbeat><span>"Timeout (ms)"</span>
                <input name="timeout_ms" inputmode="numeric" placeholder="10000" value=value(|s| s.timeout_ms.to_string())/></label>
            <label class="field"><span>{move || if heartbeat() { "Expected every (s, ≥ 15)" } else { "Every (s, ≥ 15)" }}</span>
                <input name="interval_seconds" inputmode="numeric" placeholder="60" value=value(|s| s.interval_seconds.to_string())/></label>
            <label class="field"><span>{move || if heartbeat() { "Down after missed beats" } else { "Down after failures" }}</span>
                <input name="down_after" inputmode="numeric" placeholder="3" value=value(|s| s.down_after.to_string())/></label>
            <label class="field"><span>"Up after successes"</span>
                <input name="up_after" inputmode="numeric" placeholder="2" value=value(|s| s.up_after.to_string())/></label>
            <label class="field checkbox wide" hidden=move || !(heartbeat() && stored == Some(CheckKind::Heartbeat))>
                <input type="checkbox" name="new_heartbeat_address" value="on"/><span>"New heartbeat address (the current one stops working)"</span></label>
            <button type="submit" class="button primary">{submit}</button>
            <p class="hint wide-hint" aria-live="polite">{move || what_it_checks(kind.get())}</p>
            {stored.map(|stored| view! {
                <p class="hint wide-hint" aria-live="polite" hidden=move || stored == kind.get()>
                    "Another check starts over (its results so far stay on the service's page)"
                    {move || (kind.get() == CheckKind::Heartbeat).then_some("; the service gets a heartbeat address, shown once when saved")}
                    {(stored == CheckKind::Heartbeat).then_some("; its heartbeat address stops working")}
                    "."
                </p>
            })}
        </ActionForm>
    }
}

/// "200-399", or "200" for one status.
fn status_range(min: i32, max: i32) -> String {
    if min == max { min.to_string() } else { format!("{min}-{max}") }
}

/// What a check of `kind` does, in a sentence under the form.
fn what_it_checks(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Http => "Every interval, Vigil requests the URL: a check passes when it answers within the timeout with a status in \
            the range and, if given, a body that contains the text. An https certificate's expiry is recorded; within 14 days it is an event.",
        CheckKind::Tcp => "Every interval, Vigil connects to the port: a check passes when the connection is accepted within the timeout.",
        CheckKind::Dns => "Every interval, Vigil resolves the name: a check passes when it resolves (to the address given, if one is).",
        CheckKind::Heartbeat => "The service calls its heartbeat address (shown once, when it is added or becomes a heartbeat): a check passes when it called \
            within the last interval.",
    }
}

#[component]
fn ServiceRows(
    services: Vec<ServiceSummary>,
    now: chrono::DateTime<chrono::Utc>,
    delete: ServerAction<DeleteService>,
    pause: ServerAction<PauseService>,
    maintenance: ServerAction<AddMaintenance>,
) -> impl IntoView {
    view! {
        <table class="events settings-table services-admin">
            <thead><tr>
                <th scope="col">"Service"</th><th scope="col">"State"</th><th scope="col">"Last heartbeat"</th>
                <th scope="col">"Maintenance"</th><th scope="col"></th>
            </tr></thead>
            <tbody>
                {services.into_iter().map(|s| view! {
                    <tr data-service=s.definition.name.clone()>
                        <td><a href=format!("/services/{}", s.id)>{s.definition.name.clone()}</a>
                            <span class="badge env">{s.definition.environment.clone()}</span>
                            <span class="sub">{describe_check(&s.definition)}</span></td>
                        <td><StateBadge state=s.state paused=s.paused/></td>
                        <td class="time">{if s.definition.kind == CheckKind::Heartbeat { time_or_never(s.last_heartbeat_at, now) } else { "—".into_any() }}</td>
                        <td>
                            {s.in_maintenance.then(|| view! { <span class="badge state-paused">"maintenance"</span> })}
                            {cleared_after(move || maintenance.value().get().is_some_and(|r| r.is_ok()), move || view! {
                                <ActionForm action=maintenance attr:class="inline-form">
                                    <input type="hidden" name="service_id" value=s.id/>
                                    <input type="hidden" name="starts" value=""/>
                                    <input name="minutes" inputmode="numeric" size="4" placeholder="60" aria-label="Minutes"/>
                                    <span class="hint" aria-hidden="true">"min"</span>
                                    <input name="note" size="10" placeholder="why" aria-label="Note"/>
                                    <button type="submit" class="button">"Start window"</button>
                                </ActionForm>
                            })}
                        </td>
                        <td class="actions">
                            <a class="button" href=format!("/settings/services/{}/edit", s.id)>"Edit"</a>
                            <ActionForm action=pause attr:class="inline-form">
                                <input type="hidden" name="id" value=s.id/>
                                <input type="hidden" name="paused" value=(!s.paused).to_string()/>
                                <button type="submit" class="button">{if s.paused { "Resume" } else { "Pause" }}</button>
                            </ActionForm>
                            <ActionForm action=delete attr:class="inline-form">
                                <input type="hidden" name="id" value=s.id/>
                                <button type="submit" class="button">"Delete"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let add = ServerAction::<SaveChannel>::new();
    let delete = ServerAction::<DeleteChannel>::new();
    let test = ServerAction::<TestChannel>::new();
    let smtp = ServerAction::<SetSmtp>::new();
    let data = server_data(
        resource_source(move || (add.version().get(), delete.version().get(), test.version().get(), smtp.version().get())),
        |_| load_channels(),
    );
    view! {
        <Title text="Channels · Settings"/>
        <SettingsHead/>
        <p class="hint">
            "Alert rules notify through channels. A webhook receives a JSON POST; with a secret, it carries "
            <code>"Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">"</code>
            ". Failed deliveries are retried with growing pauses, then given up as an alert.delivery_failed event."
        </p>
        <section class="panel">
            <h2>"Add a channel"</h2>
            {cleared_after(move || add.value().get().is_some_and(|r| r.is_ok()), move || view! { <ChannelForm action=add channel=None submit="Add channel"/> })}
        </section>
        {action_error(move || add.value().get())}
        {action_error(move || delete.value().get())}
        {action_error(move || smtp.value().get())}
        {action_error(move || test.value().get())}
        {move || test.value().get().and_then(|r| r.ok()).map(|text| view! { <p class="notice test-result" role="status">{text}</p> })}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading channels…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => load_failed(&e),
                    Ok(view) => view! {
                        <ChannelRows channels=view.channels used_by=view.used_by delete test/>
                        <SmtpForm smtp settings=view.smtp/>
                        <Deliveries deliveries=view.deliveries now=view.now/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `/settings/channels/:id/edit`: a channel's name, destination and secret,
/// changed in the form it was added with (its kind stays; rules keep it).
#[component]
pub fn EditChannelPage() -> impl IntoView {
    let save = ServerAction::<SaveChannel>::new();
    let list = SettingsList { name: "Channels", path: "/settings/channels", item: "channel" };
    let find = |overview: ChannelsOverview, id| overview.channels.into_iter().find(|c| c.id == id);
    let form = move |channel: Channel| view! {
        <section class="panel">
            <h2>{format!("Edit {}", channel.name)}</h2>
            <ChannelForm action=save channel=Some(channel) submit="Save changes"/>
        </section>
    }.into_any();
    edit_page(list, move || save.value().get(), |_| true, server_data(|| (), |_| load_channels()), find, form)
}

/// A channel's form, filled from `channel` when it changes one: the
/// destination asked for in the kind's terms, the secret for webhooks only.
#[component]
fn ChannelForm(action: ServerAction<SaveChannel>, channel: Option<Channel>, submit: &'static str) -> impl IntoView {
    let editing = channel.is_some();
    let kind = RwSignal::new(channel.as_ref().map_or(ChannelKind::Webhook, |c| c.kind));
    let webhook = move || kind.get() == ChannelKind::Webhook;
    let (id, name, destination) = channel.map(|c| (Some(c.id), c.name, c.destination)).unwrap_or_default();
    view! {
        <ActionForm action attr:class="settings-form">
            {id.map(|id| view! { <input type="hidden" name="id" value=id/><input type="hidden" name="kind" value=kind.get_untracked().as_str()/> })}
            <label class="field"><span>"Name"</span><input name="name" required placeholder="On-call webhook" value=name/></label>
            <label class="field"><span>"Kind"</span>
                <select name=(!editing).then_some("kind") disabled=editing
                    on:change=move |ev| kind.set(ChannelKind::parse(&event_target_value(&ev)).unwrap_or(ChannelKind::Webhook))>
                    {ChannelKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=*k == kind.get_untracked()>{k.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field wide"><span>{move || if webhook() { "URL" } else { "E-mail addresses (comma-separated)" }}</span>
                <input name="destination" required value=destination
                    placeholder=move || if webhook() { "https://hooks.example.com/vigil" } else { "oncall@example.com, security@example.com" }/></label>
            <label class="field" hidden=move || !webhook()>
                <span>{if editing { "New signing secret (blank keeps it)" } else { "Signing secret" }}</span>
                <input name="secret" type="password" autocomplete="new-password"/></label>
            <button type="submit" class="button primary">{submit}</button>
        </ActionForm>
    }
}

#[component]
fn ChannelRows(channels: Vec<Channel>, used_by: Vec<(i64, String)>, delete: ServerAction<DeleteChannel>, test: ServerAction<TestChannel>) -> impl IntoView {
    if channels.is_empty() {
        return view! { <section class="empty-state"><h2>"No channel yet"</h2><p>"Alerts are shown on the Alerts page only."</p></section> }.into_any();
    }
    view! {
        <table class="events settings-table channels">
            <thead><tr><th scope="col">"Channel"</th><th scope="col">"Kind"</th><th scope="col">"Destination"</th><th scope="col">"Used by"</th><th scope="col"></th></tr></thead>
            <tbody>
                {channels.into_iter().map(|c| view! {
                    <tr data-channel=c.name.clone()>
                        <td>{c.name.clone()}<span class="sub">{format!("#{} · by {}", c.id, c.created_by)}</span></td>
                        <td>{c.kind.as_str()}</td>
                        <td><code>{c.destination.clone()}</code></td>
                        <td class="used-by">{
                            let rules: Vec<&str> = used_by.iter().filter(|(id, _)| *id == c.id).map(|(_, rule)| rule.as_str()).collect();
                            if rules.is_empty() { view! { <span class="hint">"no rule"</span> }.into_any() } else { rules.join(", ").into_any() }
                        }</td>
                        <td class="actions">
                            <a class="button" href=format!("/settings/channels/{}/edit", c.id)>"Edit"</a>
                            <ActionForm action=test attr:class="inline-form">
                                <input type="hidden" name="id" value=c.id/>
                                <button type="submit" class="button">"Send test"</button>
                            </ActionForm>
                            <ActionForm action=delete attr:class="inline-form">
                                <input type="hidden" name="id" value=c.id/>
                                <button type="submit" class="button">"Delete"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn SmtpForm(smtp: ServerAction<SetSmtp>, settings: Option<SmtpSettings>) -> impl IntoView {
    let s = settings.clone();
    let value = move |f: fn(&SmtpSettings) -> String| s.as_ref().map(f).unwrap_or_default();
    let tls = settings.as_ref().map_or(TlsMode::Starttls, |s| s.tls);
    let password_hint = if settings.as_ref().is_some_and(|s| s.has_password) { "(set; blank keeps it)" } else { "" };
    view! {
        <section class="panel">
            <h2>"SMTP server for e-mail channels"</h2>
            <ActionForm action=smtp attr:class="settings-form">
                <label class="field"><span>"Host"</span><input name="host" required value=value(|s| s.host.clone()) placeholder="smtp.example.com"/></label>
                <label class="field"><span>"Port"</span><input name="port" inputmode="numeric" value=value(|s| s.port.to_string()) placeholder="587"/></label>
                <label class="field"><span>"TLS"</span>
                    <select name="tls">
                        {TlsMode::ALL.iter().map(|m| view! { <option value=m.as_str() selected=*m == tls>{m.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field"><span>"User"</span><input name="username" value=value(|s| s.username.clone().unwrap_or_default()) autocomplete="off"/></label>
                <label class="field"><span>{format!("Password {password_hint}")}</span><input name="password" type="password" autocomplete="new-password"/></label>
                <label class="field"><span>"Sender"</span><input name="sender" required value=value(|s| s.sender.clone()) placeholder="Vigil <vigil@example.com>"/></label>
                <button type="submit" class="button primary">"Save"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Deliveries(deliveries: Vec<Delivery>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Deliveries"</h2>
            {if deliveries.is_empty() {
                view! { <p class="hint">"Nothing sent yet."</p> }.into_any()
            } else {
                view! {
                    <table class="events deliveries">
                        <thead><tr>
                            <th scope="col">"Queued"</th><th scope="col">"Channel"</th><th scope="col">"Notification"</th>
                            <th scope="col">"Attempts"</th><th scope="col">"Outcome"</th><th scope="col">"Response"</th>
                        </tr></thead>
                        <tbody>
                            {deliveries.into_iter().map(|d| view! {
                                <tr data-delivery=d.id>
                                    <td class="time"><Time at=d.created_at now/></td>
                                    <td>{d.channel.clone()}</td>
                                    <td>{d.rule.clone()}<span class="sub">{d.summary.clone()}</span></td>
                                    <td class="attempts">{d.attempts}</td>
                                    <td class="outcome">{delivery_outcome(&d, now)}</td>
                                    <td><code class="response">{d.last_status.map(|s| format!("{s} ")).unwrap_or_default()}{d.last_error.clone().or(d.last_response.clone()).unwrap_or_default()}</code></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

fn delivery_outcome(d: &Delivery, now: chrono::DateTime<chrono::Utc>) -> AnyView {
    match (d.delivered_at, d.failed_at) {
        (Some(at), _) => view! { <span class="badge outcome-success">"delivered"</span>" "<Time at now/> }.into_any(),
        (None, Some(at)) => view! { <span class="badge outcome-denied">"given up"</span>" "<Time at now/> }.into_any(),
        (None, None) if d.attempts == 0 => view! { <span class="badge">"queued"</span> }.into_any(),
        (None, None) => view! { <span class="badge outcome-failure">"retrying"</span>" next "<Time at=d.next_attempt_at now/> }.into_any(),
    }
}
