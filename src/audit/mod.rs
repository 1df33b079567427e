//! Vigil auditing its own use: sign-ins, sign-outs, session revocations, user
//! and key changes, searches, event views and exports become events in
//! environment and organization "vigil", stored through the same ingest path
//! (validation, enrichment, redaction) as everyone else's events. Vigil's
//! own observations of others (a monitored service going down) are recorded
//! the same way in the environment they concern.

pub mod writer;

use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::ingest::NewEvent;
use crate::model::{ActorType, Category, Outcome};
use crate::state::AppState;

/// Environment and organization of Vigil's own events.
pub const VIGIL: &str = crate::model::CONSOLE_ENVIRONMENT;

/// Whether an environment is Vigil's own (in any case), which no key may write to.
pub fn is_reserved_environment(environment: &str) -> bool {
    environment.eq_ignore_ascii_case(VIGIL)
}

/// Who did it, and from where.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    /// Console user id, when known (not for a failed sign-in).
    pub user_id: Option<i64>,
    pub email: String,
    pub role: Option<String>,
    /// The console session, when signed in.
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How the browser came to the request (`Sec-Fetch-Site`), so that a search
    /// or view planted by a link on another site can be told from one made in
    /// the console.
    pub opened_from: Option<&'static str>,
    /// Vigil itself (a scheduled job), not a person.
    pub system: bool,
}

impl Actor {
    /// Vigil's own scheduled work (retention, checks).
    pub fn system() -> Self {
        Actor { email: "vigil".into(), system: true, ..Default::default() }
    }
}

/// One thing that happened in the console.
pub struct Activity {
    /// e.g. "session.sign_in", "event.view".
    pub event_type: &'static str,
    pub category: Category,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// (type, id, name)
    pub target: Option<(&'static str, String, Option<String>)>,
    /// (field, old, new)
    pub changes: Vec<(&'static str, Value, Value)>,
    pub details: Option<Value>,
    /// Where it is recorded when not in Vigil's own environment: (environment,
    /// app id, app name) — e.g. a monitored service's state change.
    pub recorded_in: Option<(String, &'static str, &'static str)>,
}

impl Activity {
    pub fn new(event_type: &'static str, category: Category) -> Self {
        Activity {
            event_type,
            category,
            outcome: Outcome::Success,
            reason: None,
            target: None,
            changes: Vec::new(),
            details: None,
            recorded_in: None,
        }
    }

    /// Record it in another environment, as done by another Vigil app.
    pub fn recorded_in(mut self, environment: impl Into<String>, app_id: &'static str, app_name: &'static str) -> Self {
        self.recorded_in = Some((environment.into(), app_id, app_name));
        self
    }

    pub fn outcome(mut self, outcome: Outcome, reason: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.reason = Some(reason.into());
        self
    }

    pub fn target(mut self, kind: &'static str, id: impl Into<String>, name: Option<String>) -> Self {
        self.target = Some((kind, id.into(), name));
        self
    }

    pub fn change(mut self, field: &'static str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        self.changes.push((field, old.into(), new.into()));
        self
    }

    /// Each of `fields` whose value differs between `before` and `after`
    /// (as they serialise), old and new: what an edit changed.
    pub fn changed_fields<T: serde::Serialize>(self, fields: &[&'static str], before: &T, after: &T) -> Self {
        let (old, new) = (serde_json::json!(before), serde_json::json!(after));
        fields.iter().filter(|field| old[**field] != new[**field]).fold(self, |a, field| a.change(field, old[*field].clone(), new[*field].clone()))
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// The event as the ingest API would receive it.
fn event_json(actor: &Actor, activity: &Activity) -> Value {
    let mut actor_json = Map::new();
    if actor.system {
        actor_json.insert("type".into(), json!(ActorType::System));
        actor_json.insert("id".into(), json!(VIGIL));
        actor_json.insert("name".into(), json!("Vigil"));
    } else {
        actor_json.insert("type".into(), json!(ActorType::User));
        actor_json.insert("email".into(), json!(actor.email));
    }
    if let Some(id) = actor.user_id {
        actor_json.insert("id".into(), json!(format!("console-user:{id}")));
    }
    for (key, value) in [("role", &actor.role), ("session_id", &actor.session_id)] {
        if let Some(v) = value {
            actor_json.insert(key.into(), json!(v));
        }
    }
    let (environment, app_id, app_name) = match &activity.recorded_in {
        Some((environment, app_id, app_name)) => (environment.as_str(), *app_id, *app_name),
        None => (VIGIL, "vigil-console", "Vigil console"),
    };
    let mut event = json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "occurred_at": Utc::now().to_rfc3339(),
        "environment": environment,
        "organization": {"id": VIGIL, "name": "Vigil"},
        "app": {"id": app_id, "name": app_name},
        "type": activity.event_type,
        "category": activity.category,
        "outcome": activity.outcome,
        "actor": actor_json,
        "client": {"ip": actor.ip, "user_agent": actor.user_agent},
    });
    if let Some(reason) = &activity.reason {
        event["reason"] = json!(reason);
    }
    if let Some((kind, id, name)) = &activity.target {
        event["target"] = json!({"type": kind, "id": id, "name": name});
    }
    if !activity.changes.is_empty() {
        event["changes"] =
            activity.changes.iter().map(|(field, old, new)| json!({"field": field, "old": old, "new": new})).collect();
    }
    if let Some(details) = &activity.details {
        event["details"] = details.clone();
    }
    if let Some(opened_from) = actor.opened_from {
        if !event["details"].is_object() {
            event["details"] = json!({});
        }
        event["details"]["opened_from"] = json!(opened_from);
    }
    strip_nulls(&mut event);
    event
}

fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}

/// Store a reader's activity (a search, a view, an export) without making the
/// request wait: it joins the queue of Vigil's own events, stored in batches.
pub fn record_in_background(state: &AppState, actor: Actor, activity: Activity) {
    if let Some(event) = prepared(state, &actor, &activity) {
        writer::enqueue(state, event);
    }
}

/// Store one activity and wait until it is committed; a failure is logged,
/// never shown to the user.
pub async fn record(state: &AppState, actor: &Actor, activity: Activity) {
    let Some(event) = prepared(state, actor, &activity) else { return };
    if !writer::store(state, event).await {
        return;
    }
    // A console user changed something: their reads wait for the replica to replay it.
    let changed = state.replica.is_some() && activity.category == Category::Change && !actor.system;
    if let Some(session) = actor.session_id.as_deref().filter(|_| changed) {
        if let Err(error) = crate::store::access::mark_written(&state.pool, session).await {
            tracing::error!(%error, "marking a console session's change failed");
        }
    }
}

/// The activity as an ingest event, validated, enriched and redacted.
fn prepared(state: &AppState, actor: &Actor, activity: &Activity) -> Option<NewEvent> {
    let item = event_json(actor, activity);
    match crate::ingest::validate(0, &item, Utc::now()) {
        Ok(mut event) => {
            state.pipeline.prepare(&mut event);
            Some(event)
        }
        Err(rejection) => {
            tracing::error!(?rejection, "self-audit event rejected");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_are_valid_ingest_events() {
        let actor = Actor {
            user_id: Some(7),
            email: "ana@example.com".into(),
            role: Some("admin".into()),
            session_id: Some("s1".into()),
            ip: Some("81.2.69.160".into()),
            user_agent: None,
            opened_from: None,
            system: false,
        };
        let activity = Activity::new("console_user.update", Category::Change)
            .target("console_user", "3", Some("bo@example.com".into()))
            .change("role", "viewer", "auditor")
            .details(json!({"query": "env=prod"}));
        let event = crate::ingest::validate(0, &event_json(&actor, &activity), Utc::now()).expect("valid");
        assert_eq!(event.environment, VIGIL);
        assert_eq!(event.organization_id, VIGIL);
        assert_eq!(event.actor_session_id.as_deref(), Some("s1"));
        assert_eq!(event.target_id.as_deref(), Some("3"));
    }
}
