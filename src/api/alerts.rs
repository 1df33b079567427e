//! Server functions of alerts: rules with their state and history
//! (administrators and auditors read; administrators change, under
//! `/api/admin`), channels, deliveries and the SMTP server. Every change is audited.

use leptos::prelude::*;

use crate::model::{AlertsOverview, ChannelsOverview, SavedAlertRule, ViewActivity};

#[cfg(feature = "ssr")]
mod server {
    pub use crate::api::form::{number, optional, text};
    pub use crate::audit::{record, Activity};
    pub use crate::auth::{require_admin, require_auditor};
    pub use crate::error::internal;
    pub use crate::model::{AlertKind, AlertRuleDefinition, Category, ChannelKind, GroupBy, TlsMode};
    pub use crate::state::AppState;
    pub use chrono::Utc;
    pub use serde_json::json;

    pub fn state() -> AppState {
        leptos::prelude::expect_context::<AppState>()
    }

    /// A rule naming a service that does not exist is the client's mistake.
    pub fn unknown_service(e: sqlx::Error) -> leptos::prelude::ServerFnError {
        match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => crate::error::not_found("no such service"),
            _ => internal(e),
        }
    }

    /// A count rule replayed on the last [`crate::model::WEIGHED_DAYS`] days
    /// of its view's events (the reads pool's time limit bounds it).
    pub async fn replay(reads: &sqlx::PgPool, rule: &AlertRuleDefinition) -> Result<crate::model::AlertReplay, leptos::prelude::ServerFnError> {
        // Only a count rule has them (the form's fields of other kinds are left out).
        let (Some(threshold), Some(window)) = (rule.threshold, rule.window_seconds) else {
            return Err(crate::error::invalid("only a count rule can be checked against past events"));
        };
        let days = crate::model::WEIGHED_DAYS;
        let now = Utc::now();
        let from = now - chrono::Duration::days(i64::from(days));
        let mut conn = reads.acquire().await.map_err(crate::error::from_database)?;
        let filter = crate::alerts::watched(&rule.query);
        let found = crate::query::alerts::replay_counts(&mut conn, &filter, rule.group_by, (from, now), window, i64::from(threshold))
            .await
            .map_err(crate::error::from_database)?;
        let most = found.most.zip(found.most_fired);
        Ok(crate::model::AlertReplay { days, condition: rule.count_condition(), per: rule.group_by, fired: found.fired, groups: found.groups, most, last: found.last })
    }

    /// The form's "Per": what a count rule counts, or a silence rule
    /// watches, separately (a silence rule only where events come from);
    /// nothing for the other kinds, whose form leaves it out.
    pub fn group_of(kind: AlertKind, per: &str) -> Result<Option<GroupBy>, leptos::prelude::ServerFnError> {
        let group = match per.trim() {
            "" => return Ok(None),
            g => GroupBy::parse(g).ok_or_else(|| crate::error::invalid(format!("group by must be {}", GroupBy::choices())))?,
        };
        match kind {
            AlertKind::Count => Ok(Some(group)),
            AlertKind::Silence if group.is_source() => Ok(Some(group)),
            AlertKind::Silence => Err(crate::error::invalid("a silence rule can watch each environment, organization or app, not each user or IP address")),
            _ => Ok(None),
        }
    }

    /// "3, 5" → [3, 5].
    pub fn ids(text: &str) -> Result<Vec<i64>, leptos::prelude::ServerFnError> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().map_err(|_| crate::error::invalid(format!("{t:?} is not a channel id"))))
            .collect()
    }
}

#[server]
pub async fn load_alerts() -> Result<AlertsOverview, ServerFnError> {
    use server::*;
    require_auditor().await?;
    let state = state();
    let rules = crate::store::alerts::list_rules(&state.pool).await.map_err(internal)?;
    let history = crate::store::alerts::history(&state.pool, None, 100).await.map_err(internal)?;
    let channels = crate::store::alerts::channels(&state.pool).await.map_err(internal)?;
    let services = crate::store::monitor::names(&state.pool).await.map_err(internal)?;
    let gather_seconds = state.config.monitor.alert_gather_seconds;
    Ok(AlertsOverview { now: Utc::now(), rules, history, channels, services, gather_seconds })
}

/// Add a rule (no `id`) or change one, from the new-alert form's fields
/// (those of other kinds are left out). `query` is an explorer query string
/// (match, count and silence rules); `channels` the channel ids, comma-separated. A
/// changed rule keeps what it fires for: groups it no longer finds resolve at
/// its next evaluation. With `dry_run`, a count rule is replayed on the last
/// [`crate::model::WEIGHED_DAYS`] days instead and nothing is saved.
#[server(prefix = "/api/admin")]
#[allow(clippy::too_many_arguments)]
pub async fn save_alert_rule(
    id: Option<i64>,
    dry_run: Option<String>,
    name: String,
    kind: String,
    query: String,
    threshold: String,
    window_minutes: String,
    group_by: String,
    service_id: String,
    channels: String,
    renotify_minutes: String,
    notify_resolved: Option<String>,
) -> Result<SavedAlertRule, ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let kind = AlertKind::parse(kind.trim()).ok_or_else(|| crate::error::invalid(format!("kind must be {}", AlertKind::choices())))?;
    let counts = kind == AlertKind::Count;
    let windowed = counts || kind == AlertKind::Silence;
    let definition = AlertRuleDefinition {
        // A check needs no name: it saves nothing.
        name: if dry_run.is_some() { name.trim().to_string() } else { text("name", &name, 200)? },
        kind,
        query: crate::model::EventFilter::from_query(query.trim().trim_start_matches('?')).to_query(),
        threshold: counts.then(|| number("threshold", &threshold, 20, 1..=1_000_000)).transpose()?,
        window_seconds: windowed.then(|| number("window (minutes)", &window_minutes, 10, 1..=10_080).map(|m| m * 60)).transpose()?,
        group_by: group_of(kind, &group_by)?,
        service_id: match service_id.trim() {
            "" => None,
            id => Some(id.parse().map_err(|_| crate::error::not_found("no such service"))?),
        }
        .filter(|_| matches!(kind, AlertKind::ServiceDown | AlertKind::Certificate)),
        channel_ids: ids(&channels)?,
        renotify_seconds: number("re-notify (minutes)", &renotify_minutes, 60, 1..=10_080)? * 60,
        notify_resolved: notify_resolved.is_some(),
    };
    let state = state();
    if dry_run.is_some() {
        let replay = replay(state.reads(admin.read_after), &definition).await?;
        return Ok(SavedAlertRule { id: None, replay: Some(replay) });
    }
    let (id, activity) = match id {
        None => {
            let id = crate::store::alerts::insert_rule(&state.pool, &definition, &admin.user.email).await.map_err(unknown_service)?;
            let created = Activity::new("alert_rule.create", Category::Change)
                .change("kind", serde_json::Value::Null, definition.kind.as_str())
                .change("query", serde_json::Value::Null, definition.query.clone())
                .change("channels", serde_json::Value::Null, serde_json::json!(definition.channel_ids));
            (id, created)
        }
        Some(id) => {
            let before = crate::store::alerts::update_rule(&state.pool, id, &definition)
                .await
                .map_err(unknown_service)?
                .ok_or_else(|| crate::error::not_found("no such rule"))?;
            (id, Activity::new("alert_rule.update", Category::Change).changed_fields(&AlertRuleDefinition::FIELDS, &before, &definition))
        }
    };
    record(&state, &admin.actor(), activity.target("alert_rule", id.to_string(), Some(definition.name.clone()))).await;
    Ok(SavedAlertRule { id: Some(id), replay: None })
}

/// What the view `query` matched on each of the last [`crate::model::WEIGHED_DAYS`]
/// days (UTC, today so far included), as a rule on it counts events: the
/// alert form says it, so that a threshold is chosen against real numbers.
#[server(prefix = "/api/admin")]
pub async fn count_view_matches(query: String) -> Result<ViewActivity, ServerFnError> {
    use server::*;
    const DAY: i64 = 86_400;
    let admin = require_admin().await?;
    let state = state();
    let now = Utc::now();
    let days = crate::model::WEIGHED_DAYS;
    let from = crate::model::bucket_start(now - chrono::Duration::days(i64::from(days) - 1), DAY);
    let span = crate::query::filter::Span { from, to: None, bucket_seconds: DAY };
    let filter = crate::alerts::watched(&query);
    let histogram = crate::query::histogram(state.reads(admin.read_after), &filter, span, now).await.map_err(crate::error::from_database)?;
    Ok(ViewActivity { days, total: histogram.total, busiest_day: histogram.highest_bar() })
}

#[server(prefix = "/api/admin")]
pub async fn delete_alert_rule(id: i64) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let name = crate::store::alerts::delete_rule(&state.pool, id).await.map_err(internal)?.ok_or_else(|| crate::error::not_found("no such rule"))?;
    record(&state, &admin.actor(), Activity::new("alert_rule.delete", Category::Change).target("alert_rule", id.to_string(), Some(name))).await;
    Ok(())
}

/// Mute a rule for some minutes (0 unmutes).
#[server(prefix = "/api/admin")]
pub async fn mute_alert_rule(id: i64, minutes: String) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let minutes = number("minutes", &minutes, 60, 0..=60 * 24 * 90)?;
    let until = (minutes > 0).then(|| Utc::now() + chrono::Duration::minutes(i64::from(minutes)));
    let state = state();
    let (name, before) =
        crate::store::alerts::mute_rule(&state.pool, id, until).await.map_err(internal)?.ok_or_else(|| crate::error::not_found("no such rule"))?;
    let event_type = if until.is_some() { "alert_rule.mute" } else { "alert_rule.unmute" };
    let activity = Activity::new(event_type, Category::Change)
        .target("alert_rule", id.to_string(), Some(name))
        .change("muted_until", serde_json::json!(before), serde_json::json!(until));
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

#[server(prefix = "/api/admin")]
pub async fn load_channels() -> Result<ChannelsOverview, ServerFnError> {
    use server::*;
    require_admin().await?;
    let state = state();
    let channels = crate::store::alerts::channels(&state.pool).await.map_err(internal)?;
    let used_by = crate::store::alerts::channel_rules(&state.pool).await.map_err(internal)?;
    let deliveries = crate::store::alerts::deliveries(&state.pool, None, 100).await.map_err(internal)?;
    let smtp = crate::store::alerts::smtp(&state.pool).await.map_err(internal)?.map(|(settings, _)| settings);
    Ok(ChannelsOverview { now: Utc::now(), channels, used_by, deliveries, smtp })
}

/// Add a channel (no `id`): a webhook URL (with an optional signing secret)
/// or e-mail recipients; or change one: its name and destination, and its
/// secret when one is given (blank keeps it). A channel's kind stays what it
/// was made with, and the rules that notify it keep notifying it.
#[server(prefix = "/api/admin")]
pub async fn save_channel(id: Option<i64>, name: String, kind: String, destination: String, secret: String) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let stored = match id {
        Some(id) => Some(crate::store::alerts::channel(&state.pool, id).await.map_err(internal)?.ok_or_else(|| crate::error::not_found("no such channel"))?),
        None => None,
    };
    let kind = match &stored {
        Some((_, kind, _, _)) => *kind,
        None => ChannelKind::parse(kind.trim()).ok_or_else(|| crate::error::invalid(format!("kind must be {}", ChannelKind::choices())))?,
    };
    let destination = text("destination", &destination, 1000)?;
    let valid = match kind {
        ChannelKind::Webhook => url::Url::parse(&destination).is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
        ChannelKind::Email => destination.split(',').all(|a| a.trim().parse::<lettre::Address>().is_ok()),
    };
    if !valid {
        let expected = if kind == ChannelKind::Webhook { "an http:// or https:// URL" } else { "e-mail addresses, comma-separated" };
        return Err(crate::error::invalid(format!("destination must be {expected}")));
    }
    let name = text("name", &name, 200)?;
    let secret = optional(&secret).filter(|_| kind == ChannelKind::Webhook);
    let name_taken = crate::error::name_taken("a channel with this name exists");
    let activity = match id {
        Some(id) => {
            let (old_name, old_destination, had_secret) = crate::store::alerts::update_channel(&state.pool, id, &name, &destination, secret.as_deref())
                .await
                .map_err(name_taken)?
                .ok_or_else(|| crate::error::not_found("no such channel"))?;
            let (before, after) = (json!({"name": old_name, "destination": old_destination}), json!({"name": name, "destination": destination}));
            let activity = Activity::new("alert_channel.update", Category::Change)
                .target("alert_channel", id.to_string(), Some(name.clone()))
                .changed_fields(&["name", "destination"], &before, &after);
            match secret {
                Some(_) => activity.change("secret", if had_secret { "(a secret)" } else { "(none)" }, "(a new secret)"),
                None => activity,
            }
        }
        None => {
            let id = crate::store::alerts::insert_channel(&state.pool, &name, kind, &destination, secret.as_deref(), &admin.user.email)
                .await
                .map_err(name_taken)?;
            Activity::new("alert_channel.create", Category::Change)
                .target("alert_channel", id.to_string(), Some(name))
                .change("destination", serde_json::Value::Null, destination)
                .change("signed", serde_json::Value::Null, secret.is_some())
        }
    };
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// Delete a channel; one that alert rules notify is kept (409 naming them),
/// so that no rule loses its notifications unnoticed.
#[server(prefix = "/api/admin")]
pub async fn delete_channel(id: i64) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let name = super::deleted(crate::store::alerts::delete_channel(&state.pool, id).await.map_err(internal)?, "channel")?;
    record(&state, &admin.actor(), Activity::new("alert_channel.delete", Category::Change).target("alert_channel", id.to_string(), Some(name))).await;
    Ok(())
}

/// Send a test notification through a channel now; what came of it.
#[server(prefix = "/api/admin")]
pub async fn test_channel(id: i64) -> Result<String, ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    let sent = crate::alerts::deliver::send_test(&state, id).await.map_err(internal)?.ok_or_else(|| crate::error::not_found("no such channel"))?;
    let mut activity = Activity::new("alert_channel.test", Category::Access).target("alert_channel", id.to_string(), None);
    if !sent.ok {
        activity = activity.outcome(crate::model::Outcome::Failure, sent.error.clone().unwrap_or_default());
    }
    record(&state, &admin.actor(), activity).await;
    Ok(match (sent.ok, sent.status, sent.error) {
        (true, status, _) => format!("Delivered{}", status.map(|s| format!(" (status {s})")).unwrap_or_default()),
        (false, _, Some(error)) => format!("Not delivered: {error}"),
        (false, status, None) => format!("Not delivered (status {})", status.unwrap_or_default()),
    })
}

/// Set the SMTP server; a blank password keeps the stored one.
#[server(prefix = "/api/admin")]
pub async fn set_smtp(host: String, port: String, tls: String, username: String, password: String, sender: String) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let tls = TlsMode::parse(tls.trim()).ok_or_else(|| crate::error::invalid(format!("TLS must be {}", TlsMode::choices())))?;
    let sender = text("sender", &sender, 300)?;
    if sender.parse::<lettre::message::Mailbox>().is_err() {
        return Err(crate::error::invalid("sender must be an e-mail address, e.g. Vigil <vigil@example.com>"));
    }
    let settings = crate::model::SmtpSettings {
        host: text("host", &host, 253)?,
        port: number("port", &port, 587, 1..=65_535)?,
        tls,
        username: optional(&username),
        has_password: false,
        sender,
    };
    let password = Some(password.as_str()).filter(|p| !p.is_empty());
    let state = state();
    crate::store::alerts::set_smtp(&state.pool, &settings, password, &admin.user.email).await.map_err(internal)?;
    let activity = Activity::new("smtp.update", Category::Change)
        .target("smtp", settings.host.clone(), None)
        .change("server", serde_json::Value::Null, format!("{}:{} ({})", settings.host, settings.port, settings.tls))
        .change("password_changed", serde_json::Value::Null, password.is_some());
    record(&state, &admin.actor(), activity).await;
    Ok(())
}
