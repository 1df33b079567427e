//! The Alerts page (`/alerts`): every rule with its state (OK, or the
//! groups firing now), edit, mute and delete for administrators, and the
//! history of what fired and resolved; `/alerts/new?view=<explorer query>`
//! creates a rule from an explorer view, `/alerts/:id/edit` changes one.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_alerts, DeleteAlertRule, MuteAlertRule, SaveAlertRule};
use crate::components::current_user::{AdminLink, CurrentUser};
use crate::components::server_data::server_data;
use crate::components::navigation::{go_to_after, id_param, resource_source};
use crate::components::settings::{action_error, load_failed, no_such};
use crate::components::time::{ClockTime, Time, TimeZoneNote};
use crate::model::{
    bucket_label, path_segment, AlertHistoryEntry, Channel, AlertKind, AlertRule, AlertRuleDefinition, AlertsOverview, EventFilter, GroupBy, CERTIFICATE_WARNING_DAYS, QUIET_SOURCES_SEEN_DAYS, WEIGHED_DAYS,
};

#[component]
pub fn AlertsPage() -> impl IntoView {
    let mute = ServerAction::<MuteAlertRule>::new();
    let delete = ServerAction::<DeleteAlertRule>::new();
    let data = server_data(resource_source(move || (mute.version().get(), delete.version().get())), |_| load_alerts());
    let me = expect_context::<CurrentUser>();
    view! {
        <Title text="Alerts"/>
        <div class="page-head">
            <h1>"Alerts"</h1>
            <TimeZoneNote/>
            <AdminLink class="button primary" href="/alerts/new" text="New alert"/>
        </div>
        {action_error(move || mute.value().get())}
        {action_error(move || delete.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading alerts…"</p> }>
            {move || Suspend::new(async move {
                let may_change = me.is_admin().await;
                match data.await {
                    Err(e) => load_failed(&e),
                    Ok(overview) => view! { <AlertsView overview may_change mute delete/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The rules and the history; `may_change`: the reader may add, edit, mute
/// and delete rules (administrators), who get the controls.
#[component]
fn AlertsView(
    overview: AlertsOverview,
    may_change: bool,
    mute: ServerAction<MuteAlertRule>,
    delete: ServerAction<DeleteAlertRule>,
) -> impl IntoView {
    let now = overview.now;
    let rules = if overview.rules.is_empty() {
        let how = if may_change {
            view! { <p>"Open a view in the "<a href="/events">"explorer"</a>" and choose “Create alert”, or start from "<a href="/alerts/new">"a new alert"</a>"."</p> }.into_any()
        } else {
            view! { <p>"Administrators create alert rules from views of the explorer."</p> }.into_any()
        };
        view! {
            <section class="empty-state">
                <h2>"No alert rule yet"</h2>
                {how}
            </section>
        }
        .into_any()
    } else {
        view! {
            <table class="events alert-rules">
                <thead><tr>
                    <th scope="col">"Rule"</th><th scope="col">"State"</th><th scope="col">"Channels"</th>
                    {may_change.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr></thead>
                <tbody>
                    {overview.rules.iter().map(|r| view! { <RuleRow rule=r.clone() overview=overview.clone() may_change mute delete/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        {rules}
        <section class="panel">
            <h2>"History"</h2>
            <History entries=overview.history.clone() now/>
        </section>
    }
}

fn describe(rule: &AlertRule, overview: &AlertsOverview) -> String {
    let d = &rule.definition;
    let view = if d.query.is_empty() { "every event".to_string() } else { d.query.clone() };
    let service = || match d.service_id {
        Some(id) => overview.services.iter().find(|(s, _)| *s == id).map_or(format!("service #{id}"), |(_, n)| n.clone()),
        None => "any service".into(),
    };
    match d.kind {
        AlertKind::Match => format!("any new event matching {view}"),
        AlertKind::Count => format!("{} matching {view}", d.count_condition()),
        AlertKind::Silence => {
            let per = d.group_by.map(|g| format!(" from any {}", g.noun(1))).unwrap_or_default();
            format!("no event matching {view}{per} for {}", crate::model::window_label(d.window_seconds.unwrap_or(0)))
        }
        AlertKind::ServiceDown => format!("{} goes down", service()),
        AlertKind::Certificate => format!("TLS certificate of {} expires within 14 days", service()),
    }
}

#[component]
fn RuleRow(
    rule: AlertRule,
    overview: AlertsOverview,
    may_change: bool,
    mute: ServerAction<MuteAlertRule>,
    delete: ServerAction<DeleteAlertRule>,
) -> impl IntoView {
    let now = overview.now;
    let channels: Vec<String> = rule
        .definition
        .channel_ids
        .iter()
        .map(|id| overview.channels.iter().find(|c| c.id == *id).map_or(format!("#{id} (deleted)"), |c| c.name.clone()))
        .collect();
    let muted = rule.muted_until.filter(|until| *until > now);
    let link = rule.definition.kind.watches_view().then(|| EventFilter::from_query(&rule.definition.query).href());
    view! {
        <tr data-rule=rule.definition.name.clone() data-firing=(!rule.firing.is_empty()).to_string()>
            <td>
                {match link {
                    Some(href) => view! { <a href=href>{rule.definition.name.clone()}</a> }.into_any(),
                    None => view! { <a href="/services">{rule.definition.name.clone()}</a> }.into_any(),
                }}
                <span class="sub">{describe(&rule, &overview)}</span>
            </td>
            <td class="alert-state">
                {if rule.firing.is_empty() {
                    view! { <span class="badge outcome-success">"OK"</span> }.into_any()
                } else {
                    view! {
                        <span class="badge outcome-denied">"FIRING"</span>
                        {rule.firing.iter().map(|g| {
                            let counted = matches!(rule.definition.kind, AlertKind::Match | AlertKind::Count);
                            // A group of a view's rule leads to its events.
                            let group = match (rule.definition.group_by, g.group.is_empty()) {
                                (_, true) => None,
                                (None, false) => Some(view! { {g.group.clone()}" · " }.into_any()),
                                (Some(per), false) => {
                                    let href = EventFilter::from_query(&rule.definition.query).with(per.filter_key(), Some(&g.group)).href();
                                    Some(view! { <a href=href>{g.group.clone()}</a>" · " }.into_any())
                                }
                            };
                            let events = match g.count {
                                1 => "1 event · ".to_string(),
                                n => format!("{} events · ", crate::model::count_label(n)),
                            };
                            view! {
                                <span class="sub">
                                    {group}
                                    {counted.then_some(events)}"since "<Time at=g.since now/>
                                </span>
                            }
                        }).collect_view()}
                    }.into_any()
                }}
                {muted.map(|until| view! { <span class="badge">"muted"</span><span class="sub">"ends "<Time at=until now/></span> })}
            </td>
            <td>{if channels.is_empty() { "none (page only)".to_string() } else { channels.join(", ") }}</td>
            {may_change.then(|| view! { <RuleActions rule=rule.clone() now mute delete/> })}
        </tr>
    }
}

/// Mute or unmute, edit and delete: an administrator's cell of a rule's row.
#[component]
fn RuleActions(rule: AlertRule, now: chrono::DateTime<chrono::Utc>, mute: ServerAction<MuteAlertRule>, delete: ServerAction<DeleteAlertRule>) -> impl IntoView {
    let muted = rule.muted_until.filter(|until| *until > now);
    view! {
        <td class="actions">
            <ActionForm action=mute attr:class="inline-form">
                <input type="hidden" name="id" value=rule.id/>
                {if muted.is_some() {
                    view! { <input type="hidden" name="minutes" value="0"/><button type="submit" class="button">"Unmute"</button> }.into_any()
                } else {
                    view! {
                        <select name="minutes" aria-label="Mute for">
                            <option value="60">"1 hour"</option>
                            <option value="480">"8 hours"</option>
                            <option value="1440">"1 day"</option>
                            <option value="10080">"1 week"</option>
                        </select>
                        <button type="submit" class="button">"Mute"</button>
                    }.into_any()
                }}
            </ActionForm>
            <a class="button" href=format!("/alerts/{}/edit", rule.id)>"Edit"</a>
            <ActionForm action=delete attr:class="inline-form">
                <input type="hidden" name="id" value=rule.id/>
                <button type="submit" class="button">"Delete"</button>
            </ActionForm>
        </td>
    }
}

#[component]
fn History(entries: Vec<AlertHistoryEntry>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="hint">"Nothing has fired yet."</p> }.into_any();
    }
    view! {
        <table class="events alert-history">
            <thead><tr><th scope="col">"When"</th><th scope="col">"Rule"</th><th scope="col">"What"</th><th scope="col">"Events"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|h| {
                    let badge = match h.kind.as_str() {
                        "resolved" => "badge outcome-success",
                        "renotify" => "badge outcome-failure",
                        _ => "badge outcome-denied",
                    };
                    view! {
                        <tr data-history=h.kind.clone()>
                            <td class="time"><Time at=h.at now/></td>
                            <td>{h.rule_name.clone()}</td>
                            <td class="what"><span class=badge>{h.kind.clone()}</span>{h.muted.then_some(" (muted)")}" "{h.summary.clone()}</td>
                            <NamedEvents ids=h.event_ids.clone() count=h.count/>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Event ids a history line shows; the rest are counted (the ten it names
/// are listed on hover).
const SHOWN_IDS: usize = 3;

/// The events a history line names (the first ten of the `count` it is
/// about): the first few, each id shortened in its middle (ids of one source
/// often share their start), then how many more there were.
#[component]
fn NamedEvents(ids: Vec<String>, count: i64) -> impl IntoView {
    let shown = ids.len().min(SHOWN_IDS) as i64;
    let more = if ids.is_empty() { 0 } else { count.max(ids.len() as i64) - shown };
    let all = ids.join("\n");
    view! {
        <td class="named-events">
            {ids.into_iter().take(SHOWN_IDS).map(|id| view! {
                <a class="event-id" href=format!("/events/{}", path_segment(&id)) title=id.clone()>{short_id(&id)}</a>
            }).collect_view()}
            {(more > 0).then(|| view! { <span class="sub" title=all>{format!("and {} more", crate::model::thousands(more))}</span> })}
        </td>
    }
}

/// An id of at most 16 characters as it is; a longer one as its first 7 and
/// last 8 characters: "evt_661…e29da716".
fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 16 {
        return id.to_string();
    }
    let (head, tail) = (&chars[..7], &chars[chars.len() - 8..]);
    format!("{}…{}", head.iter().collect::<String>(), tail.iter().collect::<String>())
}

/// `/alerts/new?view=<explorer query>`, a rule from a view, and
/// `/alerts/:id/edit`, a rule's definition changed in the form it was made with.
#[component]
pub fn AlertFormPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let view_query = move || query.read().get("view").unwrap_or_default();
    let save = ServerAction::<SaveAlertRule>::new();
    let data = server_data(|| (), |_| load_alerts());
    let me = expect_context::<CurrentUser>();
    // A check saves nothing and stays on the form.
    go_to_after("/alerts", move || save.value().get().is_some_and(|r| r.is_ok_and(|saved| saved.stored())));
    let (title, crumb) = if id().is_some() { ("Edit alert", "Edit") } else { ("New alert", "New") };
    view! {
        <Title text=title/>
        <nav class="crumbs"><a href="/alerts">"Alerts"</a> " / " <span>{crumb}</span></nav>
        <div class="page-head"><h1>{title}</h1></div>
        {action_error(move || save.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || {
                let (id, view_query) = (id(), view_query());
                Suspend::new(async move {
                    if !me.is_admin().await {
                        return only_administrators();
                    }
                    let overview = match data.await {
                        Err(e) => return load_failed(&e),
                        Ok(overview) => overview,
                    };
                    let Some(id) = id else {
                        let rule = AlertRuleDefinition::new("", AlertKind::Match, view_query);
                        return view! { <AlertForm action=save overview rule id=None submit="Create alert"/> }.into_any();
                    };
                    match overview.rules.iter().find(|r| r.id == id).cloned() {
                        None => no_such("rule", "/alerts", "alerts"),
                        Some(rule) => view! { <AlertForm action=save overview rule=rule.definition id=Some(id) submit="Save changes"/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// What the new and edit pages show anyone but an administrator.
fn only_administrators() -> AnyView {
    view! { <p class="empty">"Only administrators can change alert rules. "<a href="/alerts">"Back to the alerts"</a></p> }.into_any()
}

/// A rule's form, filled from `rule` (`id`: the rule it changes, if any):
/// the fields of its kind show, and a sentence under them says what it will do.
#[component]
fn AlertForm(
    action: ServerAction<SaveAlertRule>,
    overview: AlertsOverview,
    rule: AlertRuleDefinition,
    id: Option<i64>,
    submit: &'static str,
) -> impl IntoView {
    let filter = EventFilter::from_query(&rule.query);
    let shown = if rule.query.is_empty() { "every event".to_string() } else { rule.query.clone() };
    let kind = RwSignal::new(rule.kind);
    let watches_view = move || kind.get().watches_view();
    let counts = move || kind.get() == AlertKind::Count;
    let silence = move || kind.get() == AlertKind::Silence;
    let group = RwSignal::new(rule.group_by);
    // A silence rule watches each environment, organization or app, not each user or IP.
    let choose_kind = move |chosen: AlertKind| {
        kind.set(chosen);
        if chosen == AlertKind::Silence && group.get_untracked().is_some_and(|g| !g.is_source()) {
            group.set(None);
        }
    };
    let watches_service = move || !watches_view();
    let gather_seconds = overview.gather_seconds;
    let number = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
    let matches = view_matches(rule.query.clone());
    view! {
        <section class="panel">
            <ActionForm action attr:class="settings-form">
                {id.map(|id| view! { <input type="hidden" name="id" value=id/> })}
                <p class="hint wide-hint" hidden=move || !watches_view()>"Watching the view: "<a href=filter.href()><code>{shown}</code></a>
                    " (its time range is ignored: match rules watch new events, count and silence rules their window). "
                    <span class="view-matches" aria-live="polite">{matches}</span>
                </p>
                <input type="hidden" name="query" value=rule.query.clone()/>
                <label class="field wide"><span>"Name"</span><input name="name" required placeholder="Failed sign-ins in production" value=rule.name.clone()/></label>
                <label class="field"><span>"Fire when"</span>
                    <select name="kind" on:change=move |ev| choose_kind(AlertKind::parse(&event_target_value(&ev)).unwrap_or(AlertKind::Match))>
                        {[
                            (AlertKind::Match, "any new event matches"),
                            (AlertKind::Count, "count over a window"),
                            (AlertKind::Silence, "no event within a window"),
                            (AlertKind::ServiceDown, "a service goes down"),
                            (AlertKind::Certificate, "a certificate expires soon"),
                        ]
                        .map(|(k, text)| view! { <option value=k.as_str() selected=k == rule.kind>{text}</option> })
                        .collect_view()}
                    </select>
                </label>
                <label class="field" hidden=move || !counts()><span>"Count at least"</span><input name="threshold" inputmode="numeric" placeholder="20" value=number(rule.threshold)/></label>
                <label class="field" hidden=move || !(counts() || silence())>
                    <span>{move || if silence() { "Quiet for (minutes)" } else { "Within (minutes)" }}</span>
                    <input name="window_minutes" inputmode="numeric" placeholder="10" value=number(rule.window_seconds.map(|s| s / 60))/></label>
                <label class="field" hidden=move || !(counts() || silence())><span>"Per"</span>
                    <select name="group_by" prop:value=move || group.get().map_or("", GroupBy::as_str)
                        on:change=move |ev| group.set(GroupBy::parse(&event_target_value(&ev)))>
                        <option value="">"(all together)"</option>
                        {GroupBy::ALL.iter().map(|g| {
                            let g = *g;
                            view! { <option value=g.as_str() selected=Some(g) == rule.group_by hidden=move || silence() && !g.is_source()>{g.noun(1)}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label class="field" hidden=move || !watches_service()><span>"Service"</span>
                    <select name="service_id">
                        <option value="">"(any service)"</option>
                        {overview.services.iter().map(|(id, name)| view! {
                            <option value=id.to_string() selected=Some(*id) == rule.service_id>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <ChannelChoice channels=overview.channels.clone() chosen=rule.channel_ids.clone()/>
                <label class="field"><span>{move || renotify_label(kind.get())}</span>
                    <input name="renotify_minutes" inputmode="numeric" placeholder="60" value=(rule.renotify_seconds / 60).to_string()/></label>
                <label class="field checkbox"><input type="checkbox" name="notify_resolved" value="on" checked=rule.notify_resolved/><span>"Notify when resolved"</span></label>
                // The save first: Enter in a field submits with the form's first button.
                <button type="submit" class="button primary">{submit}</button>
                <button type="submit" name="dry_run" value="yes" class="button" formnovalidate hidden=move || !counts()>
                    {format!("Check against the last {WEIGHED_DAYS} days")}
                </button>
                <p class="hint what-it-does wide-hint" aria-live="polite">{move || what_it_does(kind.get(), gather_seconds)}</p>
            </ActionForm>
            {move || action.value().get().and_then(Result::ok).and_then(|saved| saved.replay).filter(|_| counts()).map(|replay| view! {
                <p class="notice alert-replay" role="status">
                    {replay.describe()}
                    {replay.last.map(|at| view! { " The last time: " <ClockTime at/> "." })}
                </p>
            })}
        </section>
    }
}

/// What the view `query` matched lately, counted once the page is
/// interactive ("Counting its events…" until then; nothing if it fails).
fn view_matches(query: String) -> ReadSignal<String> {
    let (said, say) = signal("Counting its events…".to_string());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let query = query.clone();
        leptos::task::spawn_local(async move { say.set(crate::api::count_view_matches(query).await.map(|m| m.describe()).unwrap_or_default()) });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (query, say);
    said
}

/// "Notify": a box for each channel, none for this page only. The chosen ids
/// travel comma-separated in one field (what the form sends before the page
/// is interactive too); a channel deleted since is dropped.
#[component]
fn ChannelChoice(channels: Vec<Channel>, chosen: Vec<i64>) -> impl IntoView {
    let chosen = RwSignal::new(chosen.into_iter().filter(|id| channels.iter().any(|c| c.id == *id)).collect::<Vec<_>>());
    let listed = move || chosen.get().iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let none = channels.is_empty();
    let boxes = if none {
        view! { <span class="hint">"No channel yet: rules show on this page only. Add one under "<a href="/settings/channels">"Settings → Channels"</a>"."</span> }.into_any()
    } else {
        channels
            .into_iter()
            .map(|c| {
                let id = c.id;
                let toggle = move |ev: leptos::ev::Event| {
                    let on = event_target_checked(&ev);
                    chosen.update(|ids| {
                        ids.retain(|i| *i != id);
                        if on {
                            ids.push(id);
                        }
                    });
                };
                view! {
                    <label class="check">
                        <input type="checkbox" value=id checked=chosen.get_untracked().contains(&id) on:change=toggle/>
                        {format!("{} ({})", c.name, c.kind)}
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <fieldset class="choices channels">
            <legend>"Notify"</legend>
            <input type="hidden" name="channels" value=listed/>
            {boxes}
            // Said once: with no channel at all, the hint above says it.
            <span class="hint" hidden=move || none || !chosen.get().is_empty()>"(this page only)"</span>
        </fieldset>
    }
}

/// What the interval of a rule of `kind` means: an any-match rule resolves
/// after it; the others notify again after it while they fire.
fn renotify_label(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Match => "Resolve after (minutes without a match)",
        _ => "Re-notify every (minutes)",
    }
}

/// What a rule of `kind` will do, in a sentence under the form.
fn what_it_does(kind: AlertKind, gather_seconds: i64) -> String {
    match kind {
        AlertKind::Match if gather_seconds > 0 => format!(
            "The first new event that matches notifies at once; the matches of the next {} are gathered and sent in one notification. \
             The rule resolves when no event has matched for the interval above.",
            bucket_label(gather_seconds).trim_start_matches("1 ")
        ),
        AlertKind::Match => "Every evaluation that finds new matching events notifies (at most twice a second). \
            The rule resolves when no event has matched for the interval above."
            .into(),
        AlertKind::Count => "Fires when the view counts at least that many events within the window (for each user, IP, … when “Per” is set), \
            notifies again every interval while it fires, and resolves when the count drops below."
            .into(),
        AlertKind::Silence => format!(
            "Fires when no event matches the view for that many minutes (an application that stopped sending its audit events, a source \
             cut off); with “Per”, for each environment, organization or app that sent matching events in the {QUIET_SOURCES_SEEN_DAYS} days \
             before. It notifies again every interval while it stays quiet, and resolves with the next matching event."
        ),
        AlertKind::ServiceDown => "Fires when the service's checks find it down, and notifies again every interval while it stays down.".into(),
        AlertKind::Certificate => format!(
            "Fires when the service's TLS certificate expires within {CERTIFICATE_WARNING_DAYS} days, and notifies again every interval until it is renewed."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::short_id;

    #[test]
    fn long_ids_keep_their_start_and_their_end() {
        assert_eq!(short_id("evt_661cfde4d5b00_258ce29da716"), "evt_661…e29da716");
        assert_eq!(short_id("evt_1234"), "evt_1234");
        assert_eq!(short_id("ééééééééééééééééé"), "ééééééé…éééééééé");
    }
}
