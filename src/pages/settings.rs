//! Settings (admins only): console users, API keys, live console sessions and
//! the write path's state.
//! Every change goes through a server action; secrets are shown once.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;

use crate::components::server_data::server_data;
use crate::components::navigation::{resource_source, url_query};
use crate::api::{
    list_api_keys, list_console_sessions, list_users, write_path_status, AddUser, CreateApiKey, ResetPassword, RevokeApiKey,
    RevokeConsoleSession, SetUserDisabled, UpdateUser,
};
use crate::components::current_user::CurrentUser;
use crate::components::settings::{action_error, cleared_after, shown_once, time_or_never, SettingsHead};
use crate::components::time::Time;
use crate::model::{events_label, thousands, Deployment, EventFilter, IngestActivity, LedgerStatus, ReadsServedBy, Role, Scope, KEPT_REJECTIONS};

/// What a user may read, in words; a viewer who may read nothing stands out.
fn scope_summary(role: Role, scope: &Scope) -> impl IntoView {
    let (text, class) = match role {
        Role::Viewer if scope.is_empty() => (scope.describe(), "sub scope-empty"),
        Role::Viewer => (scope.describe(), "sub"),
        Role::Admin | Role::Auditor => ("all data".to_string(), "sub"),
    };
    view! { <span class=class data-scope="">{text}</span> }
}

/// The role picker; `role` follows the choice, so that the fields of a
/// viewer's scope show for viewers only.
fn role_select(name: &'static str, role: RwSignal<Role>) -> impl IntoView {
    let current = role.get_untracked();
    view! {
        <select name=name aria-label="Role" on:change=move |ev| role.set(Role::parse(&event_target_value(&ev)).unwrap_or(current))>
            {Role::ALL.iter().copied().map(|r| view! { <option value=r.as_str() selected=r == current>{r.as_str()}</option> }).collect_view()}
        </select>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let me = expect_context::<CurrentUser>();
    let users = server_data(
        resource_source(move || (add.version().get(), update.version().get(), disable.version().get(), reset.version().get())),
        |_| list_users(),
    );
    view! {
        <Title text="Users · Settings"/>
        <SettingsHead/>
        <section class="panel">
            <h2>"Add a console user"</h2>
            <p class="hint">"Admins and auditors read everything. A viewer reads only the environments and organizations listed for them; * means all, and an empty list means nothing."</p>
            {cleared_after(move || add.value().get().is_some_and(|r| r.is_ok()), move || view! { <NewUserForm add/> })}
            {shown_once(move || add.value().get())}
            {shown_once(move || reset.value().get())}
            {action_error(move || update.value().get())}
            {action_error(move || disable.value().get())}
        </section>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                let own = me.email().await;
                users.await.map(|(now, users)| view! {
                    <table class="events settings-table">
                        <thead><tr>
                            <th scope="col">"User"</th><th scope="col">"Role and scope"</th>
                            <th scope="col">"Last sign-in"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>
                            {users.into_iter().map(|u| { let summary = scope_summary(u.role, &u.scope); let role = RwSignal::new(u.role); let yours = own.as_ref() == Some(&u.email); view! {
                                <tr data-user=u.email.clone()>
                                    <td>{u.email.clone()}{yours.then(|| view! { <span class="badge env">"you"</span> })}<span class="sub">"added "<Time at=u.created_at now/></span></td>
                                    <td>
                                        <ActionForm action=update attr:class="inline-form">
                                            <input type="hidden" name="id" value=u.id/>
                                            {role_select("role", role)}
                                            <input name="environments" aria-label="Environments" placeholder="environments or *" value=u.scope.environments.join(", ") hidden=move || role.get() != Role::Viewer/>
                                            <input name="organizations" aria-label="Organizations" placeholder="organizations or *" value=u.scope.organizations.join(", ") hidden=move || role.get() != Role::Viewer/>
                                            <button type="submit" class="button">"Save"</button>
                                        </ActionForm>
                                        {summary}
                                    </td>
                                    <td class="time">{time_or_never(u.last_sign_in_at, now)}</td>
                                    <td><span class=if u.disabled { "badge outcome-denied" } else { "badge outcome-success" }>{if u.disabled { "disabled" } else { "active" }}</span></td>
                                    // One's own account is not disabled or reset here (the server refuses): Preferences changes one's password.
                                    <td class="actions">{if yours {
                                        view! { <a href="/preferences">"Change your password"</a> }.into_any()
                                    } else {
                                        view! {
                                            <ActionForm action=disable attr:class="inline-form">
                                                <input type="hidden" name="id" value=u.id/>
                                                <input type="hidden" name="disabled" value=(!u.disabled).to_string()/>
                                                <button type="submit" class="button">{if u.disabled { "Enable" } else { "Disable" }}</button>
                                            </ActionForm>
                                            <ActionForm action=reset attr:class="inline-form">
                                                <input type="hidden" name="id" value=u.id/>
                                                <button type="submit" class="button">"Reset password"</button>
                                            </ActionForm>
                                        }.into_any()
                                    }}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                })
            })}
        </Transition>
    }
}

/// A new console user: the scope's fields show for viewers only.
#[component]
fn NewUserForm(add: ServerAction<AddUser>) -> impl IntoView {
    let new_role = RwSignal::new(Role::Viewer);
    view! {
        <ActionForm action=add attr:class="settings-form">
            <label class="field"><span>"E-mail"</span><input type="email" name="email" required/></label>
            <label class="field"><span>"Role"</span>{role_select("role", new_role)}</label>
            <label class="field" hidden=move || new_role.get() != Role::Viewer><span>"Environments (comma-separated)"</span><input name="environments" placeholder="production, or * for all"/></label>
            <label class="field" hidden=move || new_role.get() != Role::Viewer><span>"Organizations (comma-separated)"</span><input name="organizations" placeholder="acme, or * for all"/></label>
            <button type="submit" class="button primary">"Add user"</button>
        </ActionForm>
    }
}

/// A new API key: organizations are asked for export keys only.
#[component]
fn KeyForm(create: ServerAction<CreateApiKey>) -> impl IntoView {
    let export = RwSignal::new(false);
    view! {
        <ActionForm action=create attr:class="settings-form">
            <label class="field"><span>"Name"</span><input name="name" required placeholder="e.g. billing-service"/></label>
            <label class="field"><span>"Kind"</span>
                <select name="kind" on:change=move |ev| export.set(event_target_value(&ev) == "export")>
                    <option value="ingest">"ingest"</option><option value="export">"export"</option>
                </select>
            </label>
            <label class="field">
                <span>{move || if export.get() { "Environments (comma-separated)" } else { "Environment" }}</span>
                <input name="environments" placeholder=move || if export.get() { "production, or * for all" } else { "production" }/>
            </label>
            // Disabled while hidden: an ingest key is sent without organizations.
            <label class="field" hidden=move || !export.get()><span>"Organizations (comma-separated)"</span>
                <input name="organizations" placeholder="acme, or * for all" disabled=move || !export.get()/></label>
            <button type="submit" class="button primary">"Create key"</button>
        </ActionForm>
    }
}

#[component]
pub fn KeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = server_data(resource_source(move || (create.version().get(), revoke.version().get())), |_| list_api_keys());
    view! {
        <Title text="API keys · Settings"/>
        <SettingsHead/>
        <section class="panel">
            <h2>"Create an API key"</h2>
            <p class="hint">"Ingest keys send events to one environment. Export keys read events (list and export APIs) of the environments and organizations listed; * means all."</p>
            {cleared_after(move || create.value().get().is_some_and(|r| r.is_ok()), move || view! { <KeyForm create/> })}
            {shown_once(move || create.value().get())}
            {action_error(move || revoke.value().get())}
        </section>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                keys.await.map(|(now, keys)| if keys.is_empty() {
                    view! { <section class="empty-state"><h2>"No API keys yet"</h2><p>"Create one above; the operator keys from the configuration keep working."</p></section> }.into_any()
                } else {
                    view! {
                        <table class="events settings-table">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Kind"</th><th scope="col">"Scope"</th><th scope="col">"Key"</th>
                                <th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th><th scope="col"></th>
                            </tr></thead>
                            <tbody>
                                {keys.into_iter().map(|k| view! {
                                    <tr data-key=k.name.clone()>
                                        <td>{k.name.clone()}</td>
                                        <td>{k.kind.clone()}</td>
                                        <td>{k.scope.describe()}</td>
                                        <td><code>{format!("{}…", k.prefix)}</code></td>
                                        <td class="time"><Time at=k.created_at now/><span class="sub">{format!("by {}", k.created_by)}</span></td>
                                        <td class="time">{time_or_never(k.last_used_at, now)}</td>
                                        <td>{match k.revoked_at {
                                            Some(_) => view! { <span class="badge outcome-denied">"revoked"</span> }.into_any(),
                                            None => view! { <span class="badge outcome-success">"active"</span> }.into_any(),
                                        }}</td>
                                        <td>{k.revoked_at.is_none().then(|| view! {
                                            <ActionForm action=revoke attr:class="inline-form">
                                                <input type="hidden" name="id" value=k.id/>
                                                <button type="submit" class="button">"Revoke"</button>
                                            </ActionForm>
                                        })}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })
            })}
        </Transition>
    }
}

#[component]
pub fn ConsoleSessionsPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeConsoleSession>::new();
    // Also re-read when the URL changes (navigating here again).
    let query = url_query();
    let sessions = server_data(resource_source(move || (revoke.version().get(), query())), |_| list_console_sessions());
    view! {
        <Title text="Console sessions · Settings"/>
        <SettingsHead/>
        <p class="hint">"Everyone signed in to this console now. Revoking signs that browser out on its next request."</p>
        {action_error(move || revoke.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading sessions…"</p> }>
            {move || Suspend::new(async move {
                sessions.await.map(|(now, sessions)| view! {
                    <table class="events settings-table">
                        <thead><tr>
                            <th scope="col">"User"</th><th scope="col">"Signed in"</th><th scope="col">"Last seen"</th>
                            <th scope="col">"Device"</th><th scope="col">"IP"</th><th scope="col">"Location"</th><th scope="col"></th>
                        </tr></thead>
                        <tbody>
                            {sessions.into_iter().map(|s| view! {
                                <tr data-console-session=s.email.clone()>
                                    <td>{s.email.clone()}{s.current.then(|| view! { <span class="badge env">"this session"</span> })}</td>
                                    <td class="time"><Time at=s.created_at now/></td>
                                    <td class="time"><Time at=s.last_seen_at now/></td>
                                    <td class="device">{s.client.device_label().unwrap_or_default()}</td>
                                    <td class="ip">{s.ip.clone().unwrap_or_default()}</td>
                                    <td>{s.client.location_label().unwrap_or_default()}</td>
                                    <td>
                                        <ActionForm action=revoke attr:class="inline-form">
                                            <input type="hidden" name="id" value=s.id.clone()/>
                                            <button type="submit" class="button">"Revoke"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })
            })}
        </Transition>
    }
}

/// The instances sharing the database and where console reads go.
#[component]
fn DeploymentFacts(deployment: Deployment) -> impl IntoView {
    let deriving = deployment.deriving.unwrap_or_else(|| "no instance holds the lease".into());
    let reads = match &deployment.replica {
        None => "the primary (no replica configured)".to_string(),
        Some(replica) => {
            let lag = match (replica.lag_seconds, replica.lag_bytes) {
                (Some(seconds), Some(bytes)) => format!("lag {seconds:.1} s, {bytes} bytes"),
                (Some(seconds), None) => format!("lag {seconds:.1} s"),
                _ => String::new(),
            };
            match replica.reads_served_by {
                ReadsServedBy::Replica => format!("the replica ({lag})"),
                ReadsServedBy::PrimaryReplicaLagging => format!("the primary: the replica lags too far ({lag})"),
                ReadsServedBy::PrimaryReplicaDown => {
                    format!("the primary: the replica does not answer ({})", replica.error.clone().unwrap_or_default())
                }
            }
        }
    };
    let served_by = deployment.replica.as_ref().map(|r| format!("{:?}", r.reads_served_by));
    view! {
        <h2>"Instances"</h2>
        <section class="facts deployment">
            <dl>
                <dt>"This instance"</dt><dd>{deployment.instance}</dd>
                <dt>"Connected instances"</dt><dd data-instances=deployment.instances.len()>{deployment.instances.join(", ")}</dd>
                <dt>"Deriving"</dt><dd>{deriving}</dd>
                <dt>"Console reads from"</dt><dd data-reads=served_by>{reads}</dd>
            </dl>
        </section>
    }
}

/// The write path: how far the deriving worker lags, and what holds the
/// export's watermark back. Read again every few seconds while open.
#[component]
pub fn SystemPage() -> impl IntoView {
    let (tick, set_tick) = signal(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(move || set_tick.update(|t| *t += 1), std::time::Duration::from_secs(5));
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_tick;
    let status = server_data(resource_source(move || tick.get()), |_| write_path_status());
    view! {
        <Title text="Write path · Settings"/>
        <SettingsHead/>
        <p class="hint">
            "Batches commit in parallel; the deriving worker (counts, names, sessions) and the export follow them in commit order. "
            "A write transaction left open anywhere in the database holds both back: nothing is lost, they wait."
        </p>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                status.await.map(|w| view! {
                    <LedgerFacts ledger=w.ledger now=w.read_at/>
                    <IngestFacts ingest=w.ingest now=w.read_at/>
                    <DeploymentFacts deployment=w.deployment/>
                })
            })}
        </Transition>
    }
}

/// The deriving worker's backlog and what holds the export's watermark.
#[component]
fn LedgerFacts(ledger: LedgerStatus, now: DateTime<Utc>) -> impl IntoView {
    let worker = match ledger.underived_since {
        None => "caught up".to_string(),
        Some(_) => format!("{} behind, {:.1} s", events_label(ledger.underived_events), ledger.derive_lag_seconds(now)),
    };
    let holder = match &ledger.watermark_holder {
        None => "none".to_string(),
        Some(h) => format!(
            "backend {} ({}{}), transaction open for {:.1} s",
            h.pid,
            h.state.clone().unwrap_or_default(),
            h.application_name.as_deref().filter(|a| !a.is_empty()).map(|a| format!(", {a}")).unwrap_or_default(),
            h.age_seconds
        ),
    };
    view! {
        <section class="facts write-path">
            <dl>
                <dt>"Deriving worker"</dt><dd data-worker=worker.clone()>{worker.clone()}</dd>
                <dt>"Export lag"</dt><dd>{format!("{:.1} s", ledger.export_lag_seconds)}</dd>
                <dt>"Holding the watermark"</dt><dd>{holder}</dd>
                <dt>"Read at"</dt><dd><Time at=now now/></dd>
            </dl>
        </section>
    }
}

/// What ingest received lately, when each environment last sent, and the
/// events it rejected: why a sender's events are missing.
#[component]
fn IngestFacts(ingest: IngestActivity, now: DateTime<Utc>) -> impl IntoView {
    let rejected = ingest.rejected_since_start;
    view! {
        <h2>"Ingest"</h2>
        <section class="facts ingest-activity">
            <dl>
                <dt>"Last minute"</dt><dd>{format!("{} ({:.1}/s)", events_label(ingest.last_minute), ingest.last_minute as f64 / 60.0)}</dd>
                <dt>"Last hour"</dt><dd>{events_label(ingest.last_hour)}</dd>
                <dt>"Last 24 hours"</dt><dd>{format!("{} in {} batches", events_label(ingest.last_day), thousands(ingest.batches_last_day))}</dd>
            </dl>
        </section>
        {(!ingest.environments.is_empty()).then(|| view! {
            <table class="events settings-table received">
                <thead><tr><th scope="col">"Environment"</th><th scope="col">"Last received, past 7 days (quietest first)"</th></tr></thead>
                <tbody>
                    {ingest.environments.into_iter().map(|(environment, at)| {
                        let href = EventFilter { environment: Some(environment.clone()), ..EventFilter::default() }.href();
                        view! { <tr data-environment=environment.clone()><td><a href=href>{environment.clone()}</a></td><td class="time"><Time at now/></td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        <h3>"Rejected"</h3>
        <p class="hint rejections">
            {format!("This instance rejected {} since it started. ", events_label(rejected as i64))}
            {format!("The newest of every instance (the last {} are kept):", thousands(KEPT_REJECTIONS))}
        </p>
        {if ingest.rejections.is_empty() {
            view! { <p class="empty rejections">"No event rejected."</p> }.into_any()
        } else {
            view! {
                <table class="events settings-table rejections">
                    <thead><tr>
                        <th scope="col">"When"</th><th scope="col">"Instance"</th><th scope="col">"Key"</th><th scope="col">"From"</th>
                        <th scope="col">"Item"</th><th scope="col">"Field"</th><th scope="col">"Why"</th>
                    </tr></thead>
                    <tbody>
                        {ingest.rejections.into_iter().map(|r| view! {
                            <tr data-rejection="">
                                <td class="time"><Time at=r.at now/></td><td>{r.instance}</td><td>{r.key}</td><td><code>{r.address}</code></td>
                                <td>{format!("#{}", r.rejection.index)}</td><td><code>{r.rejection.field.unwrap_or_default()}</code></td>
                                <td>{r.rejection.error}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
