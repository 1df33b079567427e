//! Server functions of data lifecycle: recording rules and retention
//! (administrators, under `/api/admin`), and the integrity status and
//! verification (administrators and auditors). Every change is audited.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::model::{IntegrityStatus, PurgeHealth, RecordingRule, SavedRule, VerifyReport};

#[cfg(feature = "ssr")]
mod server {
    pub use crate::audit::{record, Activity};
    pub use crate::auth::{require_admin, require_auditor};
    pub use crate::error::internal;
    pub use crate::model::{Category, Outcome, RuleDefinition, RuleImpact};
    pub use crate::state::AppState;

    pub fn state() -> AppState {
        leptos::prelude::expect_context::<AppState>()
    }

    /// What the trail records of a rule, in [`audited`]'s fields.
    pub const AUDITED: [&str; 7] = ["environment", "organization", "app", "event_type", "outcome", "keep_one_in", "note"];

    /// A rule and its note as the trail records them: "successes only" for
    /// a rule without an outcome, no `keep_one_in` for one that drops all.
    pub fn audited(rule: &crate::model::RuleDefinition, note: &Option<String>) -> serde_json::Value {
        let outcome = rule.outcome.map_or("successes only".to_string(), |o| o.to_string());
        serde_json::json!({
            "environment": rule.environment, "organization": rule.organization, "app": rule.app,
            "event_type": rule.event_type, "outcome": outcome, "keep_one_in": rule.keep_one_in, "note": note,
        })
    }

    /// What `rule` would have done to the events of the last [`crate::model::WEIGHED_DAYS`]
    /// days, after the rules in force before rule `id` (all of them for a new
    /// rule); the counts read from `reads` (a replica when it may serve).
    pub async fn impact(state: &AppState, reads: &sqlx::PgPool, id: Option<i64>, rule: &RuleDefinition) -> Result<RuleImpact, leptos::prelude::ServerFnError> {
        let days = crate::model::WEIGHED_DAYS;
        let since = chrono::Utc::now().date_naive() - chrono::Days::new(u64::from(days - 1));
        let (rules, recorded) = tokio::try_join!(crate::store::rules::load(&state.pool), crate::store::rules::recorded(reads, since))
            .map_err(crate::error::from_database)?;
        let place = match id {
            None => rules.0.len(),
            Some(id) => rules.0.iter().position(|(rule_id, _)| *rule_id == id).ok_or_else(|| crate::error::not_found("no such rule"))?,
        };
        let earlier = rules.0[..place].iter().map(|(_, rule)| rule);
        Ok(crate::ingest::rules::impact(earlier, rule, &recorded, days))
    }

    /// A rule's pattern field: `*` when blank, at most 200 characters.
    pub fn pattern(label: &str, text: &str) -> Result<String, leptos::prelude::ServerFnError> {
        let text = text.trim();
        if text.chars().count() > 200 {
            return Err(crate::error::invalid(format!("the {label} pattern is longer than 200 characters")));
        }
        Ok(if text.is_empty() { "*".into() } else { text.into() })
    }
}

/// Every recording rule with its counts, and when they were read.
#[server(prefix = "/api/admin")]
pub async fn list_recording_rules() -> Result<(DateTime<Utc>, Vec<RecordingRule>), ServerFnError> {
    use server::*;
    require_admin().await?;
    let now = Utc::now();
    let rules = crate::store::rules::list(&state().pool, now.date_naive()).await.map_err(internal)?;
    Ok((now, rules))
}

/// Add a rule (no `id`) or change one: blank patterns match everything; a
/// blank outcome means successes only; a blank `keep_one_in` drops every
/// match. A changed rule keeps its place in the order and its counts. With
/// `dry_run`, nothing is saved. Either way, the rule's id (none for a dry
/// run) and what it would have done to the events of the last
/// [`crate::model::WEIGHED_DAYS`] days, in its place in the order (a new rule goes last).
#[server(prefix = "/api/admin")]
#[allow(clippy::too_many_arguments)]
pub async fn save_recording_rule(
    id: Option<i64>,
    dry_run: Option<String>,
    environment: String,
    organization: String,
    app: String,
    event_type: String,
    outcome: String,
    keep_one_in: String,
    note: String,
) -> Result<SavedRule, ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let rule = crate::model::RuleDefinition {
        environment: pattern("environment", &environment)?,
        organization: pattern("organization", &organization)?,
        app: pattern("app", &app)?,
        event_type: pattern("event type", &event_type)?,
        outcome: match outcome.trim() {
            "" => None,
            text => Some(Outcome::parse(text).ok_or_else(|| crate::error::invalid(format!("outcome must be {}", Outcome::choices())))?),
        },
        keep_one_in: match keep_one_in.trim() {
            "" => None,
            text => match text.parse::<i32>() {
                Ok(n) if (2..=1_000_000).contains(&n) => Some(n),
                _ => return Err(crate::error::invalid("keep one in n: n must be a whole number from 2 to 1 000 000")),
            },
        },
    };
    let note = Some(note.trim()).filter(|n| !n.is_empty()).map(|n| n.chars().take(500).collect::<String>());
    let state = state();
    let impact = impact(&state, state.reads(admin.read_after), id, &rule).await?;
    if dry_run.is_some() {
        return Ok(SavedRule { id: None, impact });
    }
    let (id, activity) = match id {
        None => {
            let id = crate::store::rules::insert(&state.pool, &rule, note.as_deref(), &admin.user.email).await.map_err(internal)?;
            (id, Activity::new("recording_rule.create", Category::Change).changed_fields(&AUDITED, &serde_json::Value::Null, &audited(&rule, &note)))
        }
        Some(id) => {
            let (before, before_note) = crate::store::rules::update(&state.pool, id, &rule, note.as_deref())
                .await
                .map_err(internal)?
                .ok_or_else(|| crate::error::not_found("no such rule"))?;
            let activity = Activity::new("recording_rule.update", Category::Change);
            (id, activity.changed_fields(&AUDITED, &audited(&before, &before_note), &audited(&rule, &note)))
        }
    };
    state.recording_rules.invalidate();
    record(&state, &admin.actor(), activity.target("recording_rule", id.to_string(), Some(rule.describe()))).await;
    Ok(SavedRule { id: Some(id), impact })
}

/// Move a rule one place `up` (applied earlier) or `down` in the order in
/// which rules apply; the first matching rule decides.
#[server(prefix = "/api/admin")]
pub async fn move_recording_rule(id: i64, direction: String) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let earlier = match direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(crate::error::invalid("direction must be up or down")),
    };
    let state = state();
    let (from, to) = crate::store::rules::move_rule(&state.pool, id, earlier)
        .await
        .map_err(internal)?
        .ok_or_else(|| crate::error::not_found("no such rule"))?;
    if from == to {
        return Ok(());
    }
    state.recording_rules.invalidate();
    let activity = Activity::new("recording_rule.move", Category::Change)
        .target("recording_rule", id.to_string(), None)
        .change("position", from, to);
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// Delete a rule; what it dropped is no longer listed.
#[server(prefix = "/api/admin")]
pub async fn delete_recording_rule(id: i64) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let state = state();
    if !crate::store::rules::delete(&state.pool, id).await.map_err(internal)? {
        return Err(crate::error::not_found("no such rule"));
    }
    state.recording_rules.invalidate();
    let activity = Activity::new("recording_rule.delete", Category::Change).target("recording_rule", id.to_string(), None);
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// Retention and purge health, and when they were read.
#[server(prefix = "/api/admin")]
pub async fn data_status() -> Result<(DateTime<Utc>, PurgeHealth), ServerFnError> {
    use server::*;
    require_admin().await?;
    let now = Utc::now();
    let health = crate::lifecycle::health(&state(), now).await.map_err(internal)?;
    Ok((now, health))
}

/// Set an environment's retention: days (1 to 36 500), or `forever`.
#[server(prefix = "/api/admin")]
pub async fn set_retention(environment: String, days: String) -> Result<(), ServerFnError> {
    use server::*;
    let admin = require_admin().await?;
    let environment = environment.trim().to_string();
    if environment.is_empty() || environment.len() > 200 {
        return Err(crate::error::invalid("name the environment"));
    }
    let days = match days.trim().to_lowercase().as_str() {
        "forever" => None,
        text => match text.parse::<i32>() {
            Ok(n) if (1..=36_500).contains(&n) => Some(n),
            _ => return Err(crate::error::invalid("retention is a number of days from 1 to 36 500, or forever")),
        },
    };
    let state = state();
    let previous = crate::store::retention::set_policy(&state.pool, &environment, days, &admin.user.email).await.map_err(internal)?;
    let shown = |days: Option<i32>| days.map_or("forever".to_string(), |d| format!("{d} days"));
    let old = previous.map_or(format!("{} (default)", shown(Some(state.config.lifecycle.retention_days))), shown);
    let activity = Activity::new("retention.policy_change", Category::Change)
        .target("environment", environment.clone(), Some(environment))
        .change("retention", old, shown(days));
    record(&state, &admin.actor(), activity).await;
    Ok(())
}

/// The sealer's state and the public key, and when they were read.
#[server]
pub async fn seal_status() -> Result<(DateTime<Utc>, IntegrityStatus), ServerFnError> {
    use server::*;
    require_auditor().await?;
    let state = state();
    let status = crate::integrity::status(&state.pool, &state.seal_key, &state.config.lifecycle).await.map_err(internal)?;
    Ok((Utc::now(), status))
}

/// Verify the store (at most a minute here; `vigil verify` has no limit).
#[server]
pub async fn run_verification() -> Result<VerifyReport, ServerFnError> {
    use server::*;
    let reader = require_auditor().await?;
    let state = state();
    let key = state.seal_key.public_key();
    let log = Some(state.config.lifecycle.checkpoint_log.as_path());
    let limit = Some(std::time::Duration::from_secs(60));
    let report = crate::integrity::verify(&state.pool, &key, log, limit, &mut |_, _, _| {}).await.map_err(internal)?;
    let mut activity = Activity::new("integrity.verify", Category::Access)
        .details(serde_json::json!({"events": report.events, "findings": report.findings.len(), "complete": report.complete}));
    if !report.is_clean() {
        activity = activity.outcome(Outcome::Failure, format!("{} findings", report.findings.len()));
    }
    record(&state, &reader.actor(), activity).await;
    Ok(report)
}
