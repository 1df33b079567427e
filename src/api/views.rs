//! Server functions of a user's own console: saved views (list, save —
//! private, or shared by an admin — rename, delete, the landing view) and the
//! time zone they read times in. Each acts as the signed-in user; view changes
//! are audited.

use leptos::prelude::*;

use crate::model::SavedView;

/// The views the signed-in user may open: their own and the shared ones.
#[server]
pub async fn list_views() -> Result<Vec<SavedView>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    crate::store::views::list(state.reads(principal.read_after), principal.user.id).await.map_err(crate::error::internal)
}

/// Save the page at `url` (the explorer or compare page) as `name`; sharing needs an admin.
#[server]
pub async fn save_view(name: String, url: String, shared: Option<String>) -> Result<i64, ServerFnError> {
    use crate::audit::{record, Activity};
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let name = view_name(&name)?;
    let (path, query) = crate::model::view_location(&url)
        .ok_or_else(|| crate::error::invalid("only the explorer and the compare page can be saved as a view"))?;
    if query.len() > crate::model::MAX_VIEW_QUERY {
        return Err(crate::error::invalid("this view's address is too long to save"));
    }
    let shared = shared.is_some_and(|s| s == "on" || s == "true");
    if shared && principal.user.role != crate::model::Role::Admin {
        return Err(crate::error::invalid("only admins may share a view; save it privately"));
    }
    let id = crate::store::views::save(&state.pool, principal.user.id, &name, &path, &query, shared)
        .await
        .map_err(crate::error::internal)?;
    let activity = Activity::new("view.save", crate::model::Category::Change)
        .target("view", id.to_string(), Some(name))
        .details(serde_json::json!({"path": path, "query": query, "shared": shared}));
    record(&state, &principal.actor(), activity).await;
    Ok(id)
}

/// Rename one of the signed-in user's views.
#[server]
pub async fn rename_view(id: i64, name: String) -> Result<(), ServerFnError> {
    use crate::audit::{record, Activity};
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let name = view_name(&name)?;
    let renamed = crate::store::views::rename(&state.pool, principal.user.id, id, &name)
        .await
        .map_err(crate::error::name_taken("you already have a view of that name"))?;
    if !renamed {
        return Err(crate::error::not_found("no such view of yours"));
    }
    record(&state, &principal.actor(), Activity::new("view.rename", crate::model::Category::Change).target("view", id.to_string(), Some(name))).await;
    Ok(())
}

/// Delete one of the signed-in user's views (admins: any shared view too).
#[server]
pub async fn delete_view(id: i64) -> Result<(), ServerFnError> {
    use crate::audit::{record, Activity};
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let admin = principal.user.role == crate::model::Role::Admin;
    let name = crate::store::views::delete(&state.pool, principal.user.id, id, admin)
        .await
        .map_err(crate::error::internal)?
        .ok_or_else(|| crate::error::not_found("no such view of yours"))?;
    record(&state, &principal.actor(), Activity::new("view.delete", crate::model::Category::Change).target("view", id.to_string(), Some(name))).await;
    Ok(())
}

/// Make a view the signed-in user may open their landing page (`id` absent: the explorer).
#[server]
pub async fn set_default_view(id: Option<i64>) -> Result<(), ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    if !crate::store::views::set_default(&state.pool, principal.user.id, id).await.map_err(crate::error::internal)? {
        return Err(crate::error::not_found("no such view"));
    }
    Ok(())
}

/// Where `/` takes the signed-in user: their landing view, if any.
#[server]
pub async fn landing_view() -> Result<Option<String>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let view = crate::store::views::landing(&state.pool, principal.user.id).await.map_err(crate::error::internal)?;
    Ok(view.map(|v| v.href()))
}

/// Read times in `zone` (one of `TIME_ZONES`), or in the browser's zone when empty.
#[server]
pub async fn set_time_zone(zone: String) -> Result<(), ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let zone = Some(zone.trim()).filter(|z| !z.is_empty());
    if zone.is_some_and(|z| !crate::model::TIME_ZONES.contains(&z)) {
        return Err(crate::error::invalid("choose one of the listed time zones"));
    }
    crate::store::access::set_time_zone(&state.pool, principal.user.id, zone).await.map_err(crate::error::internal)
}

/// Change the signed-in user's own password: the current one, then the new
/// one twice. Their other console sessions end; this one goes on.
#[server]
pub async fn change_password(current: String, new: String, again: String) -> Result<(), ServerFnError> {
    use crate::audit::{record, Activity};
    use crate::auth::{hash_password, verify_password};
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let least = crate::model::MIN_PASSWORD_CHARS;
    if new != again {
        return Err(crate::error::invalid("the new password and its repetition differ"));
    }
    if new.chars().count() < least {
        return Err(crate::error::invalid(format!("the new password must have at least {least} characters")));
    }
    if new == current {
        return Err(crate::error::invalid("choose a new password other than the current one"));
    }
    let stored = crate::store::access::user_for_sign_in(&state.pool, &principal.user.email).await.map_err(crate::error::internal)?;
    let (user, stored_hash) = stored.ok_or_else(|| crate::error::forbidden("your account is gone"))?;
    let checked = tokio::task::spawn_blocking(move || verify_password(&current, &stored_hash).then(|| hash_password(&new)));
    let Some(new_hash) = checked.await.map_err(crate::error::internal)? else {
        return Err(crate::error::invalid("the current password is not right"));
    };
    let by = format!("{} (own password change)", user.email);
    crate::store::access::set_password(&state.pool, user.id, &new_hash, &by, Some(&principal.session_id)).await.map_err(crate::error::internal)?;
    let activity = Activity::new("console_user.password_change", crate::model::Category::Change).target("console_user", user.id.to_string(), Some(user.email));
    record(&state, &principal.actor(), activity).await;
    Ok(())
}

/// A view's name, trimmed; an error when empty or too long.
#[cfg(feature = "ssr")]
fn view_name(name: &str) -> Result<String, ServerFnError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(crate::error::invalid("give the view a name")),
        n if n > crate::model::MAX_VIEW_NAME => {
            Err(crate::error::invalid(format!("a view's name may have at most {} characters", crate::model::MAX_VIEW_NAME)))
        }
        _ => Ok(name.to_string()),
    }
}
