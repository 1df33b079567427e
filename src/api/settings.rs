//! Server functions of the settings pages: console users, API keys and console
//! sessions. All live under `/api/admin`, which the guard opens to admins only;
//! each also checks the role itself, and every change is audited.

use leptos::prelude::*;

use chrono::{DateTime, Utc};

use crate::model::{ApiKey, ConsoleSession, ConsoleUser, Secret, SignedInUser, WritePath};

/// A settings list and the instant it was read (for relative times).
pub type Listing<T> = (DateTime<Utc>, Vec<T>);

#[cfg(feature = "ssr")]
mod admin {
    pub use crate::audit::{record, Activity};
    pub use crate::error::internal;
    pub use crate::model::{ConsoleUser, Role, Scope};
    pub use crate::auth::{generate_password, hash_password, require_admin};
    pub use crate::state::AppState;
    pub use crate::store::access;

    pub fn state() -> AppState {
        leptos::prelude::expect_context::<AppState>()
    }

    pub fn parse_role(text: &str) -> Result<Role, leptos::prelude::ServerFnError> {
        Role::parse(text).ok_or_else(|| crate::error::invalid(format!("role must be {}", Role::choices())))
    }

    /// The user with this id, or an error saying there is none.
    pub async fn user(state: &AppState, id: i64) -> Result<ConsoleUser, leptos::prelude::ServerFnError> {
        access::find_user(&state.pool, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| crate::error::not_found("no such user"))
    }

    /// The scope typed for a viewer or an export key. Both lists must be given
    /// (`*` for all), so a blank field never means "everything" — nor, by
    /// mistake, "nothing". Admins and auditors read everything.
    pub fn reader_scope(role: Role, environments: &str, organizations: &str) -> Result<Scope, leptos::prelude::ServerFnError> {
        if role != Role::Viewer {
            return Ok(Scope::everything());
        }
        let scope = Scope::from_lists(environments, organizations);
        let missing = |what: &str| {
            Err(crate::error::invalid(format!("list the {what} it may read, or * for all")))
        };
        if scope.environments.is_empty() {
            return missing("environments");
        }
        if scope.organizations.is_empty() {
            return missing("organizations");
        }
        Ok(scope)
    }

    /// Hash off the async threads: argon2 takes tens of milliseconds on purpose.
    pub async fn hash(password: String) -> Result<String, leptos::prelude::ServerFnError> {
        tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(internal)
    }
}

/// The signed-in user, for the header; `None` when nobody is.
#[server]
pub async fn current_user() -> Result<Option<SignedInUser>, ServerFnError> {
    Ok(crate::auth::principal().await.ok().map(|p| p.signed_in_user()))
}

#[server(prefix = "/api/admin")]
pub async fn list_users() -> Result<Listing<ConsoleUser>, ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    Ok((Utc::now(), access::list_users(state().reads(admin.read_after)).await.map_err(internal)?))
}

/// Add a console user with a generated password, shown once.
#[server(prefix = "/api/admin")]
pub async fn add_user(email: String, role: String, environments: String, organizations: String) -> Result<Secret, ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(crate::error::invalid("enter the user's e-mail address"));
    }
    let role = parse_role(&role)?;
    let scope = reader_scope(role, &environments, &organizations)?;
    let password = generate_password();
    let state = state();
    let created = access::upsert_user(&state.pool, &email, &hash(password.clone()).await?, role, &scope, false)
        .await
        .map_err(internal)?
        .ok_or_else(|| crate::error::conflict(format!("{email} already has an account")))?;
    let activity = Activity::new("console_user.create", crate::model::Category::Change)
        .target("console_user", created.id.to_string(), Some(email.clone()))
        .change("role", serde_json::Value::Null, role.as_str())
        .change("scope", serde_json::Value::Null, scope.describe());
    record(&state, &admin.actor(), activity).await;
    Ok(Secret { label: format!("Password for {email}"), value: password })
}

/// Change a user's role and scope.
#[server(prefix = "/api/admin")]
pub async fn update_user(id: i64, role: String, environments: String, organizations: String) -> Result<(), ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    let role = parse_role(&role)?;
    let scope = reader_scope(role, &environments, &organizations)?;
    let state = state();
    let before = user(&state, id).await?;
    if before.id == admin.user.id && role != Role::Admin {
        return Err(crate::error::invalid("you cannot take away your own admin role"));
    }
    if (before.role, before.scope.describe()) == (role, scope.describe()) {
        return Ok(());
    }
    access::update_user_access(&state.pool, id, role, &scope).await.map_err(internal)?;
    let access = |role: Role, scope: &Scope| serde_json::json!({"role": role.as_str(), "scope": scope.describe()});
    let activity = Activity::new("console_user.update", crate::model::Category::Change)
        .target("console_user", id.to_string(), Some(before.email))
        .changed_fields(&["role", "scope"], &access(before.role, &before.scope), &access(role, &scope));
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// Disable a user (ending their sessions at once) or enable them again.
#[server(prefix = "/api/admin")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<(), ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    if id == admin.user.id && disabled {
        return Err(crate::error::invalid("you cannot disable yourself"));
    }
    let state = state();
    let user = user(&state, id).await?;
    access::set_user_disabled(&state.pool, id, disabled, &admin.user.email).await.map_err(internal)?;
    let kind = if disabled { "console_user.disable" } else { "console_user.enable" };
    let activity = Activity::new(kind, crate::model::Category::Change)
        .target("console_user", id.to_string(), Some(user.email))
        .change("disabled", user.disabled, disabled);
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// Give a user a new generated password (shown once) and end their sessions.
/// Not one's own: that would sign the administrator out with a password they
/// never saw typed; Preferences changes one's own.
#[server(prefix = "/api/admin")]
pub async fn reset_password(id: i64) -> Result<Secret, ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    if id == admin.user.id {
        return Err(crate::error::invalid("change your own password under Preferences"));
    }
    let state = state();
    let user = user(&state, id).await?;
    let password = generate_password();
    access::set_password(&state.pool, id, &hash(password.clone()).await?, &admin.user.email, None).await.map_err(internal)?;
    let activity =
        Activity::new("console_user.password_reset", crate::model::Category::Change).target("console_user", id.to_string(), Some(user.email.clone()));
    record(&state, &admin.actor(), activity).await;
    Ok(Secret { label: format!("New password for {}", user.email), value: password })
}

#[server(prefix = "/api/admin")]
pub async fn list_api_keys() -> Result<Listing<ApiKey>, ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    Ok((Utc::now(), access::list_api_keys(state().reads(admin.read_after)).await.map_err(internal)?))
}

/// Create an API key; the key itself is returned this once and only its hash kept.
#[server(prefix = "/api/admin")]
pub async fn create_api_key(name: String, kind: String, environments: String, organizations: Option<String>) -> Result<Secret, ServerFnError> {
    use crate::api::auth::{key_hash, new_key, KeyKind};
    use admin::*;
    let admin = require_admin().await?;
    // The form leaves the field out for ingest keys.
    let organizations = organizations.unwrap_or_default();
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(crate::error::invalid("give the key a name, e.g. the service that will use it"));
    }
    let kind = KeyKind::parse(&kind).ok_or_else(|| crate::error::invalid("kind must be ingest or export"))?;
    let scope = match kind {
        KeyKind::Ingest => {
            let scope = Scope::from_lists(&environments, "");
            match scope.single_environment() {
                None => return Err(crate::error::invalid("an ingest key is bound to exactly one environment")),
                Some(env) if crate::audit::is_reserved_environment(env) => {
                    return Err(crate::error::invalid("the environment vigil is reserved for Vigil's own audit trail"))
                }
                Some(_) if !organizations.trim().is_empty() => {
                    return Err(crate::error::invalid("an ingest key is bound to an environment, not to organizations"))
                }
                Some(_) => scope,
            }
        }
        KeyKind::Export => reader_scope(Role::Viewer, &environments, &organizations)?,
    };
    let key = new_key(kind);
    let state = state();
    let record_row = access::NewApiKey {
        name: &name,
        kind: kind.as_str(),
        prefix: &key[..key.len().min(crate::api::auth::KEY_PREFIX_CHARS)],
        key_hash: &key_hash(&key),
        scope: &scope,
        created_by: &admin.user.email,
    };
    let created = access::create_api_key(&state.pool, &record_row).await.map_err(internal)?;
    let activity = Activity::new("api_key.create", crate::model::Category::Change)
        .target("api_key", created.id.to_string(), Some(name.clone()))
        .details(serde_json::json!({"kind": kind.as_str(), "scope": scope.describe()}));
    record(&state, &admin.actor(), activity).await;
    Ok(Secret { label: format!("{} key \"{name}\"", kind.as_str()), value: key })
}

/// Revoke an API key; it stops working on its next request.
#[server(prefix = "/api/admin")]
pub async fn revoke_api_key(id: i64) -> Result<(), ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    let state = state();
    let key = access::revoke_api_key(&state.pool, id, &admin.user.email)
        .await
        .map_err(internal)?
        .ok_or_else(|| crate::error::not_found("no live key with this id"))?;
    let activity = Activity::new("api_key.revoke", crate::model::Category::Change).target("api_key", id.to_string(), Some(key.name));
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

#[server(prefix = "/api/admin")]
pub async fn list_console_sessions() -> Result<Listing<ConsoleSession>, ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    let state = state();
    let idle_seconds = state.config.console_idle_seconds();
    let sessions = access::live_console_sessions(&state.pool, idle_seconds, &admin.session_id).await.map_err(internal)?;
    Ok((Utc::now(), sessions))
}

/// End a console session; its browser is signed out on its very next request.
#[server(prefix = "/api/admin")]
pub async fn revoke_console_session(id: String) -> Result<(), ServerFnError> {
    use admin::*;
    let admin = require_admin().await?;
    let state = state();
    if !access::revoke_console_session(&state.pool, &id, &admin.user.email).await.map_err(internal)? {
        return Err(crate::error::invalid("this session has already ended"));
    }
    let activity = Activity::new("console_session.revoke", crate::model::Category::Change).target("console_session", id, None);
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// The write path's state (deriving worker, export watermark), what ingest
/// received and rejected lately, the instances and the read replica.
#[server(prefix = "/api/admin")]
pub async fn write_path_status() -> Result<WritePath, ServerFnError> {
    use admin::*;
    require_admin().await?;
    let state = state();
    let ledger = crate::store::ledger::status(&state.pool).await.map_err(internal)?;
    let mut ingest = crate::store::ledger::activity(&state.pool).await.map_err(internal)?;
    ingest.rejected_since_start = state.metrics.rejected_since_start();
    ingest.rejections = crate::store::rejections::newest(&state.pool, crate::model::RECENT_REJECTIONS).await.map_err(internal)?;
    let deployment = crate::store::replication::deployment(&state).await.map_err(internal)?;
    Ok(WritePath { read_at: Utc::now(), ledger, ingest, deployment })
}
