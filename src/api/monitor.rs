//! Server functions of availability checks: the Services pages (every
//! signed-in user, viewers for the environments of their scope) and the
//! services' settings (administrators, under `/api/admin`). Every change is audited.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::model::{Charted, Secret, ServiceDetail, ServiceSummary};

#[cfg(feature = "ssr")]
mod server {
    pub use crate::api::form::{number, optional, text};
    pub use crate::audit::{record, Activity};
    pub use crate::auth::{principal, require_admin};
    pub use crate::error::internal;
    pub use crate::model::{Category, CheckKind, Scope, ServiceDefinition};
    pub use crate::state::AppState;
    use leptos::prelude::ServerFnError;

    pub fn state() -> AppState {
        leptos::prelude::expect_context::<AppState>()
    }

    /// The environments a scope may see: `None` for all.
    pub fn environments(scope: &Scope) -> Option<Vec<String>> {
        (!scope.any_environment()).then(|| if scope.is_empty() { Vec::new() } else { scope.environments.clone() })
    }

    /// What a check's target must look like for its kind.
    pub fn check_target(kind: CheckKind, target: &str) -> Result<String, ServerFnError> {
        let target = target.trim().to_string();
        let fine = match kind {
            CheckKind::Http => url::Url::parse(&target).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()),
            CheckKind::Tcp => target.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)),
            CheckKind::Dns => !target.is_empty() && target.len() <= 253 && !target.contains(['/', ' ', ':']),
            CheckKind::Heartbeat => return Ok(String::new()),
        };
        if !fine {
            let expected = match kind {
                CheckKind::Http => "an http:// or https:// URL",
                CheckKind::Tcp => "host:port",
                _ => "a host name",
            };
            return Err(crate::error::invalid(format!("the target of a {kind} check must be {expected}")));
        }
        Ok(target)
    }

    /// "200-399" or "200".
    pub fn status_range(text: &str) -> Result<(i32, i32), ServerFnError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok((200, 399));
        }
        let (low, high) = text.split_once('-').unwrap_or((text, text));
        match (low.trim().parse::<i32>(), high.trim().parse::<i32>()) {
            (Ok(low), Ok(high)) if (100..=599).contains(&low) && (low..=599).contains(&high) => Ok((low, high)),
            _ => Err(crate::error::invalid("expected status: a code like 200 or a range like 200-399")),
        }
    }
}

/// Every service the user may see, and when they were read.
#[server]
pub async fn list_services() -> Result<(DateTime<Utc>, Vec<ServiceSummary>), ServerFnError> {
    use server::*;
    let reader = principal().await?;
    let now = Utc::now();
    let environments = environments(&reader.scope());
    let services = crate::store::monitor::list(&state().pool, environments.as_deref(), now).await.map_err(internal)?;
    Ok((now, services))
}

/// One service with its latencies, incidents and maintenance windows.
#[server]
pub async fn load_service(id: i64) -> Result<(DateTime<Utc>, Charted<ServiceDetail>), ServerFnError> {
    use server::*;
    let reader = principal().await?;
    let now = Utc::now();
    let state = state();
    let environments = environments(&reader.scope());
    let summary = crate::store::monitor::summary(&state.pool, environments.as_deref(), id, now)
        .await
        .map_err(internal)?
        .ok_or_else(|| crate::error::not_found("no such service"))?;
    let latency = crate::store::monitor::latency(&state.pool, id, now).await.map_err(internal)?;
    let incidents = crate::store::monitor::incidents(&state.pool, id).await.map_err(internal)?;
    let maintenance = crate::store::monitor::maintenance(&state.pool, id, now).await.map_err(internal)?;
    let detail = ServiceDetail { summary, latency, incidents, maintenance };
    let chart = crate::charts::latency(&detail);
    Ok((now, Charted { data: detail, chart }))
}

/// Add a service (no `id`) or change one, its check too; a new heartbeat
/// address, shown once: a service added or changed to a heartbeat gets one,
/// and a heartbeat a new one when `new_heartbeat_address` is set (the old one
/// stops working). A changed service keeps its results, incidents and state.
#[server(prefix = "/api/admin")]
#[allow(clippy::too_many_arguments)]
pub async fn save_service(
    id: Option<i64>,
    name: String,
    environment: String,
    kind: String,
    target: String,
    http_method: String,
    expected_status: String,
    keyword: String,
    expected_address: String,
    timeout_ms: String,
    interval_seconds: String,
    down_after: String,
    up_after: String,
    new_heartbeat_address: Option<String>,
) -> Result<Option<Secret>, ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let kind = CheckKind::parse(kind.trim()).ok_or_else(|| crate::error::invalid(format!("check must be {}", CheckKind::choices())))?;
    let defaults = ServiceDefinition::new(text("name", &name, 200)?, text("environment", &environment, 200)?, kind, check_target(kind, &target)?);
    // The fields of other checks (typed before another was chosen) are left out.
    let http = kind == CheckKind::Http;
    let (status_min, status_max) = if http { status_range(&expected_status)? } else { (defaults.status_min, defaults.status_max) };
    let method = match http_method.trim().to_uppercase() {
        m if m.is_empty() || !http => defaults.http_method.clone(),
        m if ["GET", "HEAD", "POST", "OPTIONS"].contains(&m.as_str()) => m,
        _ => return Err(crate::error::invalid("method must be GET, HEAD, POST or OPTIONS")),
    };
    let definition = ServiceDefinition {
        http_method: method,
        status_min,
        status_max,
        keyword: optional(&keyword).filter(|_| http),
        expected_address: optional(&expected_address).filter(|_| kind == CheckKind::Dns),
        timeout_ms: number("timeout (ms)", &timeout_ms, defaults.timeout_ms, 100..=60_000)?,
        interval_seconds: number("interval (s)", &interval_seconds, defaults.interval_seconds, 15..=86_400)?,
        down_after: number("failures before down", &down_after, defaults.down_after, 1..=100)?,
        up_after: number("successes before up", &up_after, defaults.up_after, 1..=100)?,
        ..defaults
    };
    let name_taken = crate::error::name_taken("a service with this name exists");
    // The address a heartbeat would get; the update decides, by the check it had.
    let token = (kind == CheckKind::Heartbeat).then(|| crate::auth::random_token(24));
    let hash = token.as_deref().map(crate::monitor::token_hash);
    if let Some(id) = id {
        let replace = new_heartbeat_address.is_some();
        let before = crate::store::monitor::update(&state.pool, id, &definition, hash.as_deref(), replace)
            .await
            .map_err(name_taken)?
            .ok_or_else(|| crate::error::not_found("no such service"))?;
        let was_heartbeat = before.kind == CheckKind::Heartbeat;
        let issued = token.filter(|_| !was_heartbeat || replace);
        let mut activity = Activity::new("service.update", Category::Change)
            .target("service", id.to_string(), Some(definition.name.clone()))
            .changed_fields(&ServiceDefinition::FIELDS, &before, &definition);
        if was_heartbeat && issued.is_some() {
            activity = activity.change("heartbeat_address", "previous", "new");
        }
        record(&state, &admin.actor(), activity).await;
        return Ok(issued.map(heartbeat_address));
    }
    let id = crate::store::monitor::insert(&state.pool, &definition, hash.as_deref(), Utc::now(), &admin.user.email).await.map_err(name_taken)?;
    let activity = Activity::new("service.create", Category::Change)
        .target("service", id.to_string(), Some(definition.name.clone()))
        .change("environment", serde_json::Value::Null, definition.environment.clone())
        .change("check", serde_json::Value::Null, format!("{} {}", definition.kind, definition.target))
        .change("interval_seconds", serde_json::Value::Null, definition.interval_seconds);
    record(&state, &admin.actor(), activity).await;
    Ok(token.map(heartbeat_address))
}

/// The address a heartbeat service calls, as shown once.
#[cfg(feature = "ssr")]
fn heartbeat_address(token: String) -> Secret {
    Secret { label: "Heartbeat address: the service POSTs to it at least every interval".into(), value: format!("/api/v1/heartbeats/{token}") }
}

/// Delete a service with its results and incidents; one that alert rules
/// watch is kept (409 naming them), so that no rule is lost with it.
#[server(prefix = "/api/admin")]
pub async fn delete_service(id: i64) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let name = super::deleted(crate::store::monitor::delete(&state.pool, id).await.map_err(internal)?, "service")?;
    record(&state, &admin.actor(), Activity::new("service.delete", Category::Change).target("service", id.to_string(), Some(name))).await;
    Ok(())
}

/// Pause or resume a service's checks.
#[server(prefix = "/api/admin")]
pub async fn pause_service(id: i64, paused: bool) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let name = crate::store::monitor::set_paused(&state.pool, id, paused).await.map_err(internal)?.ok_or_else(|| crate::error::not_found("no such service"))?;
    let event_type = if paused { "service.pause" } else { "service.resume" };
    let activity = Activity::new(event_type, Category::Change).target("service", id.to_string(), Some(name)).change("paused", !paused, paused);
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// Plan a maintenance window: from now (or `starts`) for `minutes`.
#[server(prefix = "/api/admin")]
pub async fn add_maintenance(service_id: i64, starts: String, minutes: String, note: String) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let starts_at = match starts.trim() {
        "" => Utc::now(),
        text => crate::model::parse_time_input(text).ok_or_else(|| crate::error::invalid("start: a UTC date and time like 2026-12-02T14:00"))?,
    };
    let minutes = number("duration (minutes)", &minutes, 60, 1..=60 * 24 * 31)?;
    let ends_at = starts_at + chrono::Duration::minutes(i64::from(minutes));
    let state = state();
    let note = optional(&note);
    crate::store::monitor::add_maintenance(&state.pool, service_id, starts_at, ends_at, note.as_deref(), &admin.user.email)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => crate::error::not_found("no such service"),
            _ => internal(e),
        })?;
    let activity = Activity::new("service.maintenance_planned", Category::Change)
        .target("service", service_id.to_string(), None)
        .details(serde_json::json!({"starts_at": starts_at, "ends_at": ends_at, "note": note}));
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// End a maintenance window now (one not begun yet is called off): the
/// service's failures count again from now on.
#[server(prefix = "/api/admin")]
pub async fn end_maintenance(id: i64) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let now = Utc::now();
    let (service_id, ended_at) = crate::store::monitor::end_maintenance(&state.pool, id, now)
        .await
        .map_err(internal)?
        .ok_or_else(|| crate::error::not_found("no such maintenance window, or it has ended"))?;
    let activity = Activity::new("service.maintenance_ended", Category::Change)
        .target("service", service_id.to_string(), None)
        .change("ends_at", serde_json::json!(ended_at), serde_json::json!(now))
        .details(serde_json::json!({"window": id}));
    record(&state, &admin.actor(), activity).await;
    Ok(())
}
