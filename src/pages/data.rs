//! Settings → Data (admins): retention per environment, purge health,
//! partitions and archives; Settings → Recording rules: what is not recorded.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;

use crate::api::{data_status, list_recording_rules, DeleteRecordingRule, MoveRecordingRule, SaveRecordingRule, SetRetention};
use crate::components::server_data::server_data;
use crate::components::navigation::resource_source;
use crate::components::settings::{action_error, cleared_after, edit_page, time_or, time_or_never, SettingsHead, SettingsList};
use crate::components::time::Time;
use crate::model::{count_label, EnvironmentRetention, Outcome, PartitionArchive, PartitionState, PurgeHealth, RecordingRule, RuleDefinition, SavedRule, WEIGHED_DAYS};

/// Bytes as people read them: 1.4 MB.
fn size(bytes: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", units[unit]) }
}

fn period(days: Option<i32>) -> String {
    days.map_or("forever".into(), |d| format!("{d} days"))
}

#[component]
pub fn DataPage() -> impl IntoView {
    let set = ServerAction::<SetRetention>::new();
    let status = server_data(resource_source(move || set.version().get()), |_| data_status());
    view! {
        <Title text="Data · Settings"/>
        <SettingsHead/>
        <p class="hint">
            "Each environment keeps its events for a period, then a job inside the server drops them a whole month at a time "
            "(never row by row). A month that holds events of several environments is dropped only when every one of them has passed its period. "
            "A day after a month ends, the same job rebuilds its indexes and those of the rollups, which then take about a third less space."
        </p>
        {action_error(move || set.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading purge health…"</p> }>
            {move || Suspend::new(async move {
                status.await.map(|(now, health)| view! {
                    <PurgeSummary health=health.clone() now/>
                    <RetentionTable environments=health.environments.clone() default_days=health.default_days set now/>
                    <PartitionsTable partitions=health.partitions.clone() now/>
                    <ArchivesTable archives=health.archives.clone() folder=health.archive_dir.clone() now/>
                })
            })}
        </Transition>
    }
}

#[component]
fn PurgeSummary(health: PurgeHealth, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let badge = match health.status.as_str() {
        "ok" => "badge outcome-success",
        "overdue" => "badge outcome-failure",
        _ => "badge outcome-denied",
    };
    let failures_class = if health.consecutive_failures > 0 { "bad" } else { "" };
    let last = health.last_run.clone();
    let last_result = last.as_ref().map(|run| match (run.ok, &run.error) {
        (Some(true), _) => {
            let compacted = if run.compacted.is_empty() {
                String::new()
            } else {
                format!("; compacted {}, saved {}", run.compacted.join(", "), size(run.bytes_compacted))
            };
            format!("ok — dropped {}, reclaimed {}{compacted}", run.dropped.len(), size(run.bytes_reclaimed))
        }
        (Some(false), Some(error)) => format!("failed: {error}"),
        _ => "running".into(),
    });
    view! {
        <section class="panel purge-health" data-purge-status=health.status.clone()>
            <h2>"Purge health " <span class=badge>{health.status.clone()}</span></h2>
            <div class="facts"><dl>
                <dt>"Last run"</dt><dd>{time_or_never(last.as_ref().map(|r| r.started_at), now)}" "{last_result}</dd>
                <dt>"Next run"</dt><dd>{time_or(health.next_run, now, "not scheduled (VIGIL_PURGE_MINUTES is 0)")}</dd>
                <dt>"Failures in a row"</dt><dd class=failures_class>{health.consecutive_failures}</dd>
                <dt>"Last error"</dt>{match health.last_error.clone() {
                    Some(error) => view! { <dd class="bad">{error}</dd> }.into_any(),
                    None => view! { <dd>"none"</dd> }.into_any(),
                }}
                <dt>"Pending drop"</dt><dd>{names_or_none(health.pending())}</dd>
                <dt>"Created ahead"</dt><dd>{names_or_none(health.ahead())}</dd>
            </dl></div>
        </section>
    }
}

/// The partitions' names, or "none".
fn names_or_none<'a>(partitions: impl Iterator<Item = &'a PartitionState>) -> String {
    let names: Vec<&str> = partitions.map(|p| p.name.as_str()).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

#[component]
fn RetentionTable(
    environments: Vec<EnvironmentRetention>,
    default_days: i32,
    set: ServerAction<SetRetention>,
    now: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Retention per environment"</h2>
            <p class="hint">{format!("Without a setting of its own an environment keeps {}. Type a number of days or forever.", period(Some(default_days)))}</p>
            <table class="events settings-table retention">
                <thead><tr>
                    <th scope="col">"Environment"</th><th scope="col">"Kept for"</th><th scope="col">"Oldest event"</th><th scope="col">"Change"</th>
                </tr></thead>
                <tbody>
                    {environments.into_iter().map(|e| { let label = format!("Retention of {}", e.environment); let name = e.environment.clone(); view! {
                        <tr data-environment=e.environment.clone()>
                            <td>{e.environment.clone()}</td>
                            <td>
                                {period(e.days)}
                                {e.is_default.then(|| view! { <span class="sub">"default"</span> })}
                                {e.days.is_none().then(|| view! { <span class="badge outcome-failure" title="The disk only grows">"kept forever"</span> })}
                            </td>
                            <td class="time">
                                {time_or(e.oldest_event, now, "none")}
                                {(e.overdue_days > 0).then(|| view! { <span class="badge outcome-denied">{format!("overdue by {} days", e.overdue_days)}</span> })}
                            </td>
                            <td>
                                <ActionForm action=set attr:class="inline-form">
                                    <input type="hidden" name="environment" value=name/>
                                    <input name="days" aria-label=label value=e.days.map_or("forever".into(), |d| d.to_string()) size="8"/>
                                    <button type="submit" class="button">"Save"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
            <ActionForm action=set attr:class="settings-form">
                <label class="field"><span>"Another environment"</span><input name="environment" required placeholder="staging"/></label>
                <label class="field"><span>"Days, or forever"</span><input name="days" required placeholder="90"/></label>
                <button type="submit" class="button">"Set retention"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PartitionsTable(partitions: Vec<PartitionState>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Monthly partitions"</h2>
            <table class="events settings-table partitions">
                <thead><tr>
                    <th scope="col">"Month"</th><th scope="col">"Events"</th><th scope="col">"Size"</th>
                    <th scope="col">"Environments"</th><th scope="col">"Dropped after"</th><th scope="col">"State"</th>
                </tr></thead>
                <tbody>
                    {partitions.into_iter().rev().map(|p| {
                        let state = if p.pending { "pending drop" } else if p.ahead { "created ahead" } else { "kept" };
                        view! {
                            <tr data-partition=p.name.clone()>
                                <td>{p.from.format("%Y-%m").to_string()}<span class="sub">{p.name.clone()}</span></td>
                                <td>{count_label(p.events)}</td>
                                <td>{size(p.bytes)}</td>
                                <td>{p.environments.join(", ")}</td>
                                <td class="time">{time_or(p.drop_after, now, "never (an environment keeps forever)")}</td>
                                <td>
                                    <span class=if p.pending { "badge outcome-failure" } else { "badge" }>{state}</span>
                                    {p.compacted_at.map(|at| view! { <span class="sub">"indexes compacted "<Time at now/></span> })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn ArchivesTable(archives: Vec<PartitionArchive>, folder: Option<String>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let about = match folder {
        Some(folder) => format!("Each partition is written to {folder} as gzip NDJSON, read back and hashed before it is dropped."),
        None => "No archive folder is set (VIGIL_ARCHIVE_DIR): partitions are dropped without a copy.".into(),
    };
    view! {
        <section class="panel">
            <h2>"Archives"</h2>
            <p class="hint">{about}</p>
            {(!archives.is_empty()).then(|| view! {
                <table class="events settings-table archives">
                    <thead><tr>
                        <th scope="col">"Partition"</th><th scope="col">"Rows"</th><th scope="col">"Size"</th>
                        <th scope="col">"SHA-256"</th><th scope="col">"Archived"</th><th scope="col">"Dropped"</th>
                    </tr></thead>
                    <tbody>
                        {archives.into_iter().map(|a| view! {
                            <tr data-archive=a.partition.clone()>
                                <td>{a.partition.clone()}<span class="sub">{a.path.clone().unwrap_or_default()}</span></td>
                                <td>{a.rows.map(|r| r.to_string()).unwrap_or_default()}</td>
                                <td>{a.bytes.map(size).unwrap_or_default()}</td>
                                <td><code class="hash">{a.sha256.clone().unwrap_or_default()}</code></td>
                                <td class="time">{match &a.error {
                                    Some(error) => view! { <span class="bad">{format!("failed: {error}")}</span> }.into_any(),
                                    None => time_or_never(a.archived_at, now),
                                }}</td>
                                <td class="time">{time_or_never(a.dropped_at, now)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

#[component]
pub fn RecordingRulesPage() -> impl IntoView {
    let add = ServerAction::<SaveRecordingRule>::new();
    let reorder = ServerAction::<MoveRecordingRule>::new();
    let delete = ServerAction::<DeleteRecordingRule>::new();
    let rules = server_data(
        resource_source(move || (add.version().get(), reorder.version().get(), delete.version().get())),
        |_| list_recording_rules(),
    );
    view! {
        <Title text="Recording rules · Settings"/>
        <SettingsHead/>
        <p class="hint">
            "Rules decide, before anything is stored, which incoming events are not recorded. Rules apply in the order listed: "
            "the first matching rule decides, so put narrower rules above broader ones. "
            "* matches any text. Failures and denials are never dropped unless a rule names their outcome. "
            "Senders see dropped events counted separately in the ingest reply."
        </p>
        <section class="panel">
            <h2>"Add a rule"</h2>
            {cleared_after(move || add.value().get().is_some_and(|r| r.is_ok_and(|saved| saved.stored())), move || view! { <RuleForm action=add rule=None submit="Add rule"/> })}
        </section>
        {action_error(move || add.value().get())}
        {action_error(move || reorder.value().get())}
        {action_error(move || delete.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading rules…"</p> }>
            {move || Suspend::new(async move {
                rules.await.map(|(now, rules)| if rules.is_empty() {
                    view! { <section class="empty-state"><h2>"Every event is recorded"</h2><p>"No rule drops or samples anything."</p></section> }.into_any()
                } else {
                    view! { <RulesTable rules now reorder delete/> }.into_any()
                })
            })}
        </Transition>
    }
}

/// `/settings/rules/:id/edit`: a rule changed in the form it was added with;
/// it keeps its place in the order and what it dropped so far.
#[component]
pub fn EditRecordingRulePage() -> impl IntoView {
    let save = ServerAction::<SaveRecordingRule>::new();
    let list = SettingsList { name: "Recording rules", path: "/settings/rules", item: "recording rule" };
    let find = |(_, rules): (_, Vec<RecordingRule>), id| rules.into_iter().find(|r| r.id == id);
    let form = move |rule: RecordingRule| view! {
        <section class="panel">
            <h2>{format!("Edit the rule for {}", rule.definition.describe())}</h2>
            <RuleForm action=save rule=Some(rule) submit="Save changes"/>
        </section>
    }.into_any();
    edit_page(list, move || save.value().get(), SavedRule::stored, server_data(|| (), |_| list_recording_rules()), find, form)
}

/// A rule's form, filled from `rule` when it changes one (a pattern of `*`
/// shows blank: blank matches anything). "Check" weighs the rule against the
/// events of the last days and saves nothing; what it, or a save, found is
/// said under the form.
#[component]
fn RuleForm(action: ServerAction<SaveRecordingRule>, rule: Option<RecordingRule>, submit: &'static str) -> impl IntoView {
    let id = rule.as_ref().map(|r| r.id);
    let note = rule.as_ref().and_then(|r| r.note.clone()).unwrap_or_default();
    let rule = rule.map(|r| r.definition);
    let text = |field: fn(&RuleDefinition) -> &String| rule.as_ref().map(field).filter(|v| *v != "*").cloned().unwrap_or_default();
    let (environment, organization, app) = (text(|r| &r.environment), text(|r| &r.organization), text(|r| &r.app));
    let event_type = rule.as_ref().map(|r| r.event_type.clone());
    let outcome = rule.as_ref().and_then(|r| r.outcome);
    let keep_one_in = rule.as_ref().and_then(|r| r.keep_one_in).map(|n| n.to_string()).unwrap_or_default();
    view! {
        <ActionForm action attr:class="settings-form">
            {id.map(|id| view! { <input type="hidden" name="id" value=id/> })}
            <label class="field"><span>"Event type"</span>
                <input name="event_type" required placeholder="app.view or query.*" value=event_type/></label>
            <label class="field"><span>"Environment"</span><input name="environment" placeholder="* (any)" value=environment/></label>
            <label class="field"><span>"Organization"</span><input name="organization" placeholder="* (any)" value=organization/></label>
            <label class="field"><span>"App"</span><input name="app" placeholder="* (any)" value=app/></label>
            <label class="field"><span>"Outcome"</span>
                <select name="outcome">
                    <option value="" selected=outcome.is_none()>"successes only"</option>
                    {Outcome::ALL.iter().map(|o| view! { <option value=o.as_str() selected=outcome == Some(*o)>{o.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field"><span>"Keep one in (blank: drop all)"</span><input name="keep_one_in" inputmode="numeric" placeholder="10" value=keep_one_in/></label>
            <label class="field"><span>"Note"</span><input name="note" placeholder="why" value=note/></label>
            // The save first: Enter in a field submits with the form's first button.
            <button type="submit" class="button primary">{submit}</button>
            <button type="submit" name="dry_run" value="yes" class="button">{format!("Check against the last {WEIGHED_DAYS} days")}</button>
        </ActionForm>
        {move || action.value().get().and_then(|r| r.ok()).map(|saved| view! {
            <p class="notice rule-impact" role="status">{if saved.stored() { "Saved. " } else { "" }}{saved.impact.describe()}</p>
        })}
    }
}

#[component]
fn RulesTable(
    rules: Vec<RecordingRule>,
    now: chrono::DateTime<chrono::Utc>,
    reorder: ServerAction<MoveRecordingRule>,
    delete: ServerAction<DeleteRecordingRule>,
) -> impl IntoView {
    let last = rules.len();
    let move_button = move |id: i64, direction: &'static str, label: &'static str, disabled: bool| view! {
        <ActionForm action=reorder attr:class="inline-form">
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="direction" value=direction/>
            <button type="submit" class="button" disabled=disabled>{label}</button>
        </ActionForm>
    };
    view! {
        <table class="events settings-table rules">
            <thead><tr>
                <th scope="col">"Order"</th><th scope="col">"Matches"</th><th scope="col">"Action"</th><th scope="col">"Dropped today"</th>
                <th scope="col">"Dropped in all"</th><th scope="col">"Added"</th><th scope="col"></th>
            </tr></thead>
            <tbody>
                {rules.into_iter().enumerate().map(|(i, r)| view! {
                    <tr data-rule=r.definition.event_type.clone()>
                        <td class="order">{i + 1}</td>
                        <td>{r.definition.describe()}{r.note.clone().map(|n| view! { <span class="sub">{n}</span> })}</td>
                        <td>{r.definition.action_label()}</td>
                        <td class="dropped-today">{r.dropped_today}</td>
                        <td>{r.dropped_total}</td>
                        <td class="time"><Time at=r.created_at now/><span class="sub">{format!("by {}", r.created_by)}</span></td>
                        <td class="actions">
                            {move_button(r.id, "up", "Move up", i == 0)}
                            {move_button(r.id, "down", "Move down", i + 1 == last)}
                            <a class="button" href=format!("/settings/rules/{}/edit", r.id)>"Edit"</a>
                            <ActionForm action=delete attr:class="inline-form">
                                <input type="hidden" name="id" value=r.id/>
                                <button type="submit" class="button">"Delete"</button>
                            </ActionForm>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
