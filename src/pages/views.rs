//! A user's own console: saved views (`/views`: open, rename or delete one's
//! own, choose the view `/` opens, see the shared ones) and preferences
//! (`/preferences`: the time zone times are shown in, and one's password).

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_meta::Title;

use crate::api::{list_views, ChangePassword, DeleteView, RenameView, SetDefaultView, SetTimeZone};
use crate::components::server_data::server_data;
use crate::components::navigation::resource_source;
use crate::components::current_user::CurrentUser;
use crate::components::time::ClockTime;
use crate::components::settings::{action_error, cleared_after, load_failed};
use crate::model::SavedView;

#[component]
pub fn ViewsPage() -> impl IntoView {
    let rename = ServerAction::<RenameView>::new();
    let delete = ServerAction::<DeleteView>::new();
    let start = ServerAction::<SetDefaultView>::new();
    let views = server_data(
        resource_source(move || (rename.version().get(), delete.version().get(), start.version().get())),
        |_| list_views(),
    );
    view! {
        <Title text="Saved views"/>
        <div class="page-head"><h1>"Saved views"</h1></div>
        <p class="hint">
            "A view keeps the filters, not the results: a relative range such as “last 24 hours” means the last 24 hours whenever it is opened. "
            "Save one from the Views menu on the explorer or the compare page. Shared views (saved by admins) are listed for everyone, who see in them only what they may see."
        </p>
        {action_error(move || rename.value().get())}
        {action_error(move || delete.value().get())}
        {action_error(move || start.value().get())}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading views…"</p> }>
            {move || Suspend::new(async move {
                match views.await {
                    Err(e) => load_failed(&e),
                    Ok(views) if views.is_empty() => view! {
                        <section class="empty-state"><h2>"No saved views"</h2><p>"Use the Views menu at the top to save the explorer or the compare page as it is."</p></section>
                    }.into_any(),
                    Ok(views) => view! { <ViewsTable views rename delete start/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ViewsTable(
    views: Vec<SavedView>,
    rename: ServerAction<RenameView>,
    delete: ServerAction<DeleteView>,
    start: ServerAction<SetDefaultView>,
) -> impl IntoView {
    let any_default = views.iter().any(|v| v.is_default);
    view! {
        <table class="events settings-table saved-views">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Page"</th><th scope="col">"Filters"</th>
                <th scope="col">"Sharing"</th><th scope="col">"Opens at start"</th><th scope="col"></th>
            </tr></thead>
            <tbody>
                {views.into_iter().map(|v| {
                    let page = if v.path == "/compare" { "Compare" } else { "Explorer" };
                    let sharing = match (v.shared, v.mine) {
                        (true, true) => "shared by you".to_string(),
                        (true, false) => format!("shared by {}", v.owner_email),
                        _ => "private".to_string(),
                    };
                    let name = v.name.clone();
                    view! {
                        <tr data-view=v.name.clone()>
                            <td><a href=v.href()>{v.name.clone()}</a></td>
                            <td>{page}</td>
                            <td><code>{if v.query.is_empty() { "(none)".to_string() } else { v.query.clone() }}</code></td>
                            <td>{sharing}</td>
                            <td>
                                // Without an id, the form puts the explorer back at the start.
                                <ActionForm action=start attr:class="inline-form">
                                    {(!v.is_default).then(|| view! { <input type="hidden" name="id" value=v.id/> })}
                                    {v.is_default.then(|| view! { <span class="badge">"yes"</span> })}
                                    <button type="submit" class="link-button">
                                        {if v.is_default { "Open the explorer instead" } else { "Open at start" }}
                                    </button>
                                </ActionForm>
                            </td>
                            <td class="actions">
                                {v.mine.then(|| view! {
                                    <ActionForm action=rename attr:class="inline-form">
                                        <input type="hidden" name="id" value=v.id/>
                                        <input name="name" required maxlength="100" value=name aria-label="New name"/>
                                        <button type="submit" class="button">"Rename"</button>
                                    </ActionForm>
                                    <ActionForm action=delete attr:class="inline-form">
                                        <input type="hidden" name="id" value=v.id/>
                                        <button type="submit" class="button">"Delete"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {(!any_default).then(|| view! { <p class="hint">"The Vigil logo opens the explorer; choose “Open at start” to open a view instead."</p> })}
    }
}

#[component]
pub fn PreferencesPage() -> impl IntoView {
    let set = ServerAction::<SetTimeZone>::new();
    let me = expect_context::<CurrentUser>().0;
    // The whole console reads the zone once per page load: load again once saved.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if matches!(set.value().get(), Some(Ok(()))) {
            let _ = window().location().reload();
        }
    });
    let sample = chrono::DateTime::parse_from_rfc3339("2026-07-01T12:00:00Z").expect("a valid time").to_utc();
    view! {
        <Title text="Preferences"/>
        <div class="page-head"><h1>"Preferences"</h1></div>
        <section class="panel">
            <h2>"Time zone"</h2>
            <p class="hint">"Times are shown in this zone, with UTC on hover. By default, your browser's zone."</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let chosen = me.await.ok().flatten().and_then(|u| u.time_zone).unwrap_or_default();
                    view! {
                        <ActionForm action=set attr:class="settings-form">
                            <label class="field">
                                <span>"Show times in"</span>
                                <select name="zone">
                                    <option value="" selected=chosen.is_empty()>"My browser's time zone"</option>
                                    {crate::model::TIME_ZONES.iter().map(|z| view! {
                                        <option value=*z selected=chosen == *z>{*z}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <button type="submit" class="button primary">"Save"</button>
                        </ActionForm>
                    }
                })}
            </Transition>
            {action_error(move || set.value().get())}
            <p class="hint">"For example, 1 July 2026 12:00 UTC is shown as " <ClockTime at=sample/> "."</p>
        </section>
        <PasswordForm/>
    }
}

/// Change one's own password: the current one, the new one twice.
#[component]
fn PasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let least = crate::model::MIN_PASSWORD_CHARS;
    view! {
        <section class="panel">
            <h2>"Password"</h2>
            <p class="hint">{format!("At least {least} characters. Changing it signs out your other sessions; this one stays signed in.")}</p>
            {cleared_after(move || matches!(change.value().get(), Some(Ok(()))), move || view! {
                <ActionForm action=change attr:class="settings-form">
                    <label class="field"><span>"Current password"</span>
                        <input name="current" type="password" required autocomplete="current-password"/></label>
                    <label class="field"><span>"New password"</span>
                        <input name="new" type="password" required minlength=least autocomplete="new-password"/></label>
                    <label class="field"><span>"New password again"</span>
                        <input name="again" type="password" required minlength=least autocomplete="new-password"/></label>
                    <button type="submit" class="button primary">"Change password"</button>
                </ActionForm>
            })}
            {action_error(move || change.value().get())}
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! {
                <p class="notice" role="status">"Password changed. Your other sessions are signed out."</p>
            })}
        </section>
    }
}
