//! Raw input → validated events. Parses an ingest body (JSON array, single
//! object or NDJSON) and checks each item field by field, so a client learns
//! which item, which field and why. No SQL and no HTTP here.

pub mod enrich;
pub mod redact;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

/// An event that passed validation, ready for the store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub environment: String,
    pub organization_id: String,
    pub organization_name: Option<String>,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    pub event_type: String,
    pub category: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub actor_session_id: Option<String>,
    pub actor_api_key_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub changes: Option<Value>,
    pub request_id: Option<String>,
    pub request_method: Option<String>,
    pub request_path: Option<String>,
    pub request_status: Option<i32>,
    pub request: Option<Value>,
    pub response: Option<Value>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub machine_id: Option<String>,
    pub details: Option<Value>,
    /// Added by `Pipeline::prepare`.
    pub client_info: Option<crate::model::ClientInfo>,
}

/// What happens to every valid event before it is stored: secrets redacted,
/// client enriched.
#[derive(Clone)]
pub struct Pipeline {
    pub enricher: Arc<enrich::Enricher>,
    pub redactor: redact::Redactor,
}

impl Pipeline {
    pub fn new(config: &crate::config::IngestConfig) -> anyhow::Result<Self> {
        Ok(Pipeline {
            enricher: Arc::new(enrich::Enricher::new(config.geoip_db.as_deref())?),
            redactor: redact::Redactor::with_defaults(&config.redact_keys),
        })
    }

    pub fn prepare(&self, event: &mut NewEvent) {
        for value in [&mut event.request, &mut event.response, &mut event.details].into_iter().flatten() {
            self.redactor.redact(value);
        }
        if let Some(changes) = &mut event.changes {
            self.redactor.redact_changes(changes);
        }
        if let Some((clean, _)) = event.request_path.as_deref().and_then(|path| self.redactor.redact_text(path)) {
            event.request_path = Some(clean);
        }
        event.client_info = self.enricher.client_info(event.user_agent.as_deref(), event.client_ip.as_deref());
    }
}

/// Why one item of a batch was not stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub index: usize,
    pub field: Option<String>,
    pub error: String,
}

/// The body could not be read as events at all.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("expected a JSON array of events or a single event object")]
    NotAnEventOrArray,
    #[error("the batch has {found} events; at most {limit} are accepted per request")]
    TooManyEvents { found: usize, limit: usize },
}

pub const CATEGORIES: [&str; 4] = ["access", "change", "session", "system"];
pub const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];
pub const ACTOR_TYPES: [&str; 5] = ["user", "api_key", "service", "workflow", "system"];

const SHORT: usize = 256;
const LONG: usize = 4096;

/// Split a body into items. NDJSON lines that are not JSON become rejections of
/// that line only; a JSON body that does not parse fails as a whole.
pub fn split_body(
    body: &[u8],
    ndjson: bool,
    max_events: usize,
) -> Result<Vec<Result<Value, Rejection>>, BodyError> {
    let items: Vec<Result<Value, Rejection>> = if ndjson {
        let text = std::str::from_utf8(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(index, line)| {
                serde_json::from_str(line).map_err(|e| Rejection {
                    index,
                    field: None,
                    error: format!("malformed JSON: {e}"),
                })
            })
            .collect()
    } else {
        match serde_json::from_slice(body).map_err(|e| BodyError::Malformed(e.to_string()))? {
            Value::Array(items) => items.into_iter().map(Ok).collect(),
            object @ Value::Object(_) => vec![Ok(object)],
            _ => return Err(BodyError::NotAnEventOrArray),
        }
    };
    if items.len() > max_events {
        return Err(BodyError::TooManyEvents { found: items.len(), limit: max_events });
    }
    Ok(items)
}

/// Refuse an item larger than `max_bytes` of JSON, naming its largest field.
pub fn check_size(index: usize, item: &Value, max_bytes: usize) -> Result<(), Rejection> {
    let size = json_size(item);
    if size <= max_bytes {
        return Ok(());
    }
    let largest = item.as_object().and_then(|map| map.iter().max_by_key(|(_, v)| json_size(v)));
    let (field, detail) = match largest {
        Some((name, value)) => (Some(name.clone()), format!("; {name} alone is {} bytes", json_size(value))),
        None => (None, String::new()),
    };
    Err(Rejection {
        index,
        field,
        error: format!("the event is {size} bytes of JSON, more than the limit of {max_bytes} per event{detail}"),
    })
}

/// About how many bytes a value takes as JSON, without writing it out.
fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
    }
}

/// Validate one item. `now` is the receive time: the default `occurred_at`.
pub fn validate(index: usize, item: &Value, now: DateTime<Utc>) -> Result<NewEvent, Rejection> {
    parse_event(item, now).map_err(|FieldError(field, error)| Rejection {
        index,
        field: (!field.is_empty()).then_some(field),
        error,
    })
}

struct FieldError(String, String);

fn fail<T>(field: &str, error: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError(field.to_string(), error.into()))
}

/// Accessor over one JSON object that names fields by their full path.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'static str,
}

impl<'a> Obj<'a> {
    fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) if self.path.is_empty() => {
                fail(key, "unknown field; put custom data under \"details\"")
            }
            Some(key) => fail(&self.name(key), "unknown field"),
            None => Ok(()),
        }
    }

    fn object(&self, key: &'static str) -> Result<Option<Obj<'a>>, FieldError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map, path: key })),
            Some(_) => fail(&self.name(key), "must be an object"),
        }
    }

    /// A string of at most `max` characters; numbers are accepted as identifiers.
    fn text(&self, key: &str, max: usize) -> Result<Option<String>, FieldError> {
        let text = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return fail(&self.name(key), "must be a string"),
        };
        if text.chars().count() > max {
            return fail(&self.name(key), format!("longer than {max} characters"));
        }
        if text.contains('\0') {
            return fail(&self.name(key), "contains a NUL character");
        }
        Ok((!text.is_empty()).then_some(text))
    }

    fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, FieldError> {
        match self.text(key, SHORT)? {
            Some(v) if !allowed.contains(&v.as_str()) => {
                fail(&self.name(key), format!("must be one of {}", allowed.join(", ")))
            }
            v => Ok(v),
        }
    }

    fn json(&self, key: &str) -> Result<Option<Value>, FieldError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) if contains_nul(v) => fail(&self.name(key), "contains a NUL character"),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

fn parse_event(item: &Value, now: DateTime<Utc>) -> Result<NewEvent, FieldError> {
    let Value::Object(map) = item else {
        return fail("", "an event must be a JSON object");
    };
    let top = Obj { map, path: "" };
    top.only(&[
        "id", "occurred_at", "environment", "organization", "app", "type", "category", "outcome",
        "reason", "actor", "target", "changes", "request", "response", "client", "details",
    ])?;

    let event_type = match top.text("type", 128)? {
        None => return fail("type", "is required"),
        Some(t) if !is_event_type(&t) => {
            return fail("type", "must be a dotted name of lowercase letters, digits and _ (e.g. \"app.update\")")
        }
        Some(t) => t,
    };
    let occurred_at = match top.text("occurred_at", 64)? {
        None => now,
        Some(text) => match DateTime::parse_from_rfc3339(&text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => return fail("occurred_at", "not an RFC 3339 timestamp"),
        },
    };
    if occurred_at.timestamp() < 0 {
        return fail("occurred_at", "before 1970-01-01");
    }
    if occurred_at > now + Duration::days(1) {
        return fail("occurred_at", "more than a day in the future");
    }

    let Some(actor) = top.object("actor")? else {
        return fail("actor", "is required");
    };
    actor.only(&["type", "id", "name", "email", "role", "session_id", "api_key_id"])?;
    let actor_id = actor.text("id", SHORT)?;
    let actor_name = actor.text("name", SHORT)?;
    let actor_email = actor.text("email", SHORT)?;
    if actor_id.is_none() && actor_name.is_none() && actor_email.is_none() {
        return fail("actor", "needs an id, a name or an email");
    }

    let organization = top.object("organization")?;
    if let Some(o) = &organization {
        o.only(&["id", "name"])?;
    }
    let app = top.object("app")?;
    if let Some(a) = &app {
        a.only(&["id", "name"])?;
    }
    let target = top.object("target")?;
    if let Some(t) = &target {
        t.only(&["type", "id", "name"])?;
    }
    let client = top.object("client")?;
    if let Some(c) = &client {
        c.only(&["ip", "user_agent", "machine_id"])?;
    }
    let client_ip = match client.as_ref().map(|c| c.text("ip", 64)).transpose()?.flatten() {
        Some(ip) => match ip.parse::<IpAddr>() {
            Ok(addr) => Some(addr.to_string()),
            Err(_) => return fail("client.ip", "not an IPv4 or IPv6 address"),
        },
        None => None,
    };

    let request = top.object("request")?;
    let (request_id, request_method, request_path, request_status) = match &request {
        None => (None, None, None, None),
        Some(r) => {
            r.only(&[
                "id", "method", "path", "endpoint", "query", "body", "status", "error",
                "started_at", "ended_at",
            ])?;
            let status = match r.map.get("status") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(s @ 100..=599) => Some(s as i32),
                    _ => return fail("request.status", "must be an HTTP status code (100-599)"),
                },
                Some(_) => return fail("request.status", "must be a number"),
            };
            let method = r.text("method", 16)?.map(|m| m.to_ascii_uppercase());
            (r.text("id", SHORT)?, method, r.text("path", LONG)?, status)
        }
    };

    let changes = top.json("changes")?;
    if let Some(list) = &changes {
        let Value::Array(items) = list else {
            return fail("changes", "must be an array of {field, old, new}");
        };
        for item in items {
            match item {
                Value::Object(c) if c.get("field").is_some_and(Value::is_string) => {
                    Obj { map: c, path: "changes" }.only(&["field", "old", "new"])?
                }
                _ => return fail("changes", "each change must be an object with a string \"field\""),
            }
        }
    }
    let response = top.object("response")?;
    if let Some(r) = &response {
        r.only(&["body", "status"])?;
    }

    let category = match top.one_of("category", &CATEGORIES)? {
        Some(c) => c,
        None => category_of(&event_type).to_string(),
    };
    let id = match top.text("id", SHORT)? {
        Some(id) => id,
        None => uuid::Uuid::now_v7().to_string(),
    };

    Ok(NewEvent {
        id,
        occurred_at,
        environment: top.text("environment", 64)?.unwrap_or_else(|| "default".into()),
        organization_id: organization.as_ref().map(|o| o.text("id", SHORT)).transpose()?.flatten().unwrap_or_default(),
        organization_name: organization.as_ref().map(|o| o.text("name", SHORT)).transpose()?.flatten(),
        app_id: app.as_ref().map(|a| a.text("id", SHORT)).transpose()?.flatten(),
        app_name: app.as_ref().map(|a| a.text("name", SHORT)).transpose()?.flatten(),
        event_type,
        category,
        outcome: top.one_of("outcome", &OUTCOMES)?.unwrap_or_else(|| "success".into()),
        reason: top.text("reason", LONG)?,
        actor_type: actor.one_of("type", &ACTOR_TYPES)?.unwrap_or_else(|| "user".into()),
        actor_id,
        actor_name,
        actor_email,
        actor_role: actor.text("role", SHORT)?,
        actor_session_id: actor.text("session_id", SHORT)?,
        actor_api_key_id: actor.text("api_key_id", SHORT)?,
        target_type: target.as_ref().map(|t| t.text("type", SHORT)).transpose()?.flatten(),
        target_id: target.as_ref().map(|t| t.text("id", SHORT)).transpose()?.flatten(),
        target_name: target.as_ref().map(|t| t.text("name", SHORT)).transpose()?.flatten(),
        changes,
        request_id,
        request_method,
        request_path,
        request_status,
        request: top.json("request")?,
        response: top.json("response")?,
        client_ip,
        user_agent: client.as_ref().map(|c| c.text("user_agent", LONG)).transpose()?.flatten(),
        machine_id: client.as_ref().map(|c| c.text("machine_id", SHORT)).transpose()?.flatten(),
        details: top.json("details")?,
        client_info: None,
    })
}

/// `app.update`, `user_group.member_add`: lowercase segments joined by dots.
fn is_event_type(t: &str) -> bool {
    t.split('.').all(|segment| {
        !segment.is_empty()
            && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

/// The category an event type implies when the sender gives none.
pub fn category_of(event_type: &str) -> &'static str {
    let (head, action) = event_type.split_once('.').unwrap_or((event_type, ""));
    match (head, action) {
        ("session" | "auth", _) => "session",
        ("server" | "system", _) => "system",
        ("api" | "data_query", _) => "access",
        (_, "view" | "read" | "access" | "execute" | "download" | "export") => "access",
        _ => "change",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_minimal_event_gets_defaults() {
        let e = validate(0, &json!({"type": "app.view", "actor": {"id": "u1"}}), now()).unwrap();
        assert_eq!(e.environment, "default");
        assert_eq!(e.category, "access");
        assert_eq!(e.outcome, "success");
        assert_eq!(e.actor_type, "user");
        assert_eq!(e.occurred_at, now());
        assert!(!e.id.is_empty());
    }

    #[test]
    fn rejections_name_the_field() {
        let cases = [
            (json!({"actor": {"id": "u"}}), "type"),
            (json!({"type": "App Update", "actor": {"id": "u"}}), "type"),
            (json!({"type": "a.b"}), "actor"),
            (json!({"type": "a.b", "actor": {"role": "x"}}), "actor"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "occurred_at": "yesterday"}), "occurred_at"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "outcome": "maybe"}), "outcome"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "client": {"ip": "300.1.1.1"}}), "client.ip"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "request": {"status": 42}}), "request.status"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "colour": "red"}), "colour"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "changes": {"x": 1}}), "changes"),
            (json!({"type": "a.b", "actor": {"id": "u"}, "details": {"x": "a\u{0}b"}}), "details"),
        ];
        for (item, field) in cases {
            let rejection = validate(7, &item, now()).unwrap_err();
            assert_eq!(rejection.index, 7);
            assert_eq!(rejection.field.as_deref(), Some(field), "{item}");
        }
    }

    #[test]
    fn categories_follow_the_type() {
        assert_eq!(category_of("session.sign_in"), "session");
        assert_eq!(category_of("server.start"), "system");
        assert_eq!(category_of("api.access"), "access");
        assert_eq!(category_of("role.permission_add"), "change");
    }

    #[test]
    fn bodies_split_into_items() {
        assert_eq!(split_body(b"[{}, {}]", false, 10).unwrap().len(), 2);
        assert_eq!(split_body(b"{}", false, 10).unwrap().len(), 1);
        assert_eq!(split_body(b"3", false, 10), Err(BodyError::NotAnEventOrArray));
        assert!(matches!(split_body(b"[{", false, 10), Err(BodyError::Malformed(_))));
        let lines = split_body(b"{}\n\nnot json\n{}\n", true, 10).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].as_ref().unwrap_err().index, 1);
        assert!(matches!(split_body(b"[{}, {}]", false, 1), Err(BodyError::TooManyEvents { .. })));
    }
}
