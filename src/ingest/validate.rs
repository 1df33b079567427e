//! One item of an ingest body → a `NewEvent`, checked part by part (type and
//! time, actor, organization and app, target, client, request and response,
//! changes), each rejection naming the field by its full path.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{NewEvent, Rejection};
use crate::model::{ActorType, Category, Location, Outcome};

const SHORT: usize = 256;
const LONG: usize = 4096;

const TOP_FIELDS: [&str; 16] = [
    "id", "occurred_at", "environment", "organization", "app", "type", "category", "outcome", "reason", "actor",
    "target", "changes", "request", "response", "client", "details",
];
const REQUEST_FIELDS: [&str; 10] =
    ["id", "method", "path", "endpoint", "query", "body", "status", "error", "started_at", "ended_at"];

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

fn parse_event(item: &Value, now: DateTime<Utc>) -> Result<NewEvent, FieldError> {
    let Value::Object(map) = item else {
        return fail("", "an event must be a JSON object");
    };
    let top = Obj { map, path: "" };
    top.only(&TOP_FIELDS)?;
    let event_type = event_type(&top)?;
    let occurred_at = occurred_at(&top, now)?;
    let actor = Actor::parse(&top)?;
    let organization = Named::parse(&top, "organization", &["id", "name"])?;
    let app = Named::parse(&top, "app", &["id", "name"])?;
    let target = Named::parse(&top, "target", &["type", "id", "name"])?;
    let client = Client::parse(&top)?;
    let request = RequestLine::parse(&top)?;
    let changes = changes(&top)?;
    if let Some(response) = top.object("response")? {
        response.only(&["body", "status"])?;
    }
    let category = top.choice("category", Category::parse, Category::choices)?.unwrap_or_else(|| category_of(&event_type));
    Ok(NewEvent {
        id: top.text("id", SHORT)?.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        occurred_at,
        environment: top.text("environment", 64)?.unwrap_or_else(|| "default".into()),
        organization_id: organization.id.unwrap_or_default(),
        organization_name: organization.name,
        app_id: app.id,
        app_name: app.name,
        event_type,
        category,
        outcome: top.choice("outcome", Outcome::parse, Outcome::choices)?.unwrap_or(Outcome::Success),
        reason: top.text("reason", LONG)?,
        actor_type: actor.kind,
        actor_id: actor.id,
        actor_name: actor.name,
        actor_email: actor.email,
        actor_role: actor.role,
        actor_session_id: actor.session_id,
        actor_api_key_id: actor.api_key_id,
        target_type: target.kind,
        target_id: target.id,
        target_name: target.name,
        changes,
        request_id: request.id,
        request_method: request.method,
        request_path: request.path,
        request_status: request.status,
        request: top.json("request")?,
        response: top.json("response")?,
        client_ip: client.ip,
        user_agent: client.user_agent,
        machine_id: client.machine_id,
        reported_location: client.location,
        details: top.json("details")?,
        client_info: None,
    })
}

/// `type`: required, a dotted lowercase name.
fn event_type(top: &Obj) -> Result<String, FieldError> {
    match top.text("type", 128)? {
        None => fail("type", "is required"),
        Some(t) if !is_event_type(&t) => {
            fail("type", "must be a dotted name of lowercase letters, digits and _ (e.g. \"app.update\")")
        }
        Some(t) => Ok(t),
    }
}

/// `occurred_at`: RFC 3339, from 1970 to a day ahead; the receive time when absent.
fn occurred_at(top: &Obj, now: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
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
    Ok(occurred_at)
}

/// `actor`: required, with at least an id, a name or an e-mail.
struct Actor {
    kind: ActorType,
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    session_id: Option<String>,
    api_key_id: Option<String>,
}

impl Actor {
    fn parse(top: &Obj) -> Result<Actor, FieldError> {
        let Some(actor) = top.object("actor")? else {
            return fail("actor", "is required");
        };
        actor.only(&["type", "id", "name", "email", "role", "session_id", "api_key_id"])?;
        let parsed = Actor {
            id: actor.text("id", SHORT)?,
            name: actor.text("name", SHORT)?,
            email: actor.text("email", SHORT)?,
            role: actor.text("role", SHORT)?,
            session_id: actor.text("session_id", SHORT)?,
            api_key_id: actor.text("api_key_id", SHORT)?,
            kind: actor.choice("type", ActorType::parse, ActorType::choices)?.unwrap_or(ActorType::User),
        };
        if parsed.id.is_none() && parsed.name.is_none() && parsed.email.is_none() {
            return fail("actor", "needs an id, a name or an email");
        }
        Ok(parsed)
    }
}

/// An optional object of short strings: `organization`, `app` or `target`.
#[derive(Default)]
struct Named {
    kind: Option<String>,
    id: Option<String>,
    name: Option<String>,
}

impl Named {
    fn parse(top: &Obj, key: &'static str, fields: &[&str]) -> Result<Named, FieldError> {
        let Some(object) = top.object(key)? else {
            return Ok(Named::default());
        };
        object.only(fields)?;
        Ok(Named { kind: object.text("type", SHORT)?, id: object.text("id", SHORT)?, name: object.text("name", SHORT)? })
    }
}

/// `client`: where the action came from; the IP is normalised.
#[derive(Default)]
struct Client {
    ip: Option<String>,
    user_agent: Option<String>,
    machine_id: Option<String>,
    location: Option<Location>,
}

impl Client {
    fn parse(top: &Obj) -> Result<Client, FieldError> {
        let Some(client) = top.object("client")? else {
            return Ok(Client::default());
        };
        client.only(&["ip", "user_agent", "machine_id", "location"])?;
        let ip = match client.text("ip", 64)? {
            Some(ip) => match ip.parse::<IpAddr>() {
                Ok(addr) => Some(addr.to_string()),
                Err(_) => return fail("client.ip", "not an IPv4 or IPv6 address"),
            },
            None => None,
        };
        Ok(Client {
            ip,
            user_agent: client.text("user_agent", LONG)?,
            machine_id: client.text("machine_id", SHORT)?,
            location: client.object("location")?.map(|l| reported_location(&l)).transpose()?,
        })
    }
}

/// `client.location`: where the sender says the client was. Coordinates come as a pair.
fn reported_location(location: &Obj) -> Result<Location, FieldError> {
    location.only(&["city", "region", "country", "country_code", "latitude", "longitude"])?;
    let country_code = location.text("country_code", 2)?.map(|c| c.to_uppercase());
    if country_code.as_ref().is_some_and(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic())) {
        return fail("location.country_code", "must be an ISO 3166-1 alpha-2 code such as DE");
    }
    let latitude = location.number("latitude", -90.0..=90.0)?;
    let longitude = location.number("longitude", -180.0..=180.0)?;
    if latitude.is_some() != longitude.is_some() {
        return fail("location.latitude", "give latitude and longitude together");
    }
    Ok(Location {
        city: location.text("city", SHORT)?,
        region: location.text("region", SHORT)?,
        country: location.text("country", SHORT)?,
        country_code,
        latitude,
        longitude,
    })
}

/// The searchable line of `request`: id, method, path and status (the whole
/// object is kept as JSON too).
#[derive(Default)]
struct RequestLine {
    id: Option<String>,
    method: Option<String>,
    path: Option<String>,
    status: Option<i32>,
}

impl RequestLine {
    fn parse(top: &Obj) -> Result<RequestLine, FieldError> {
        let Some(request) = top.object("request")? else {
            return Ok(RequestLine::default());
        };
        request.only(&REQUEST_FIELDS)?;
        let status = match request.map.get("status") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(s @ 100..=599) => Some(s as i32),
                _ => return fail("request.status", "must be an HTTP status code (100-599)"),
            },
            Some(_) => return fail("request.status", "must be a number"),
        };
        Ok(RequestLine {
            id: request.text("id", SHORT)?,
            method: request.text("method", 16)?.map(|m| m.to_ascii_uppercase()),
            path: request.text("path", LONG)?,
            status,
        })
    }
}

/// `changes`: an array of `{field, old, new}`.
fn changes(top: &Obj) -> Result<Option<Value>, FieldError> {
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
    Ok(changes)
}

/// `app.update`, `user_group.member_add`: lowercase segments joined by dots.
fn is_event_type(t: &str) -> bool {
    t.split('.').all(|segment| {
        !segment.is_empty() && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

/// The category an event type implies when the sender gives none: `session`
/// when any segment is `session` (`session.sign_in`, `user.session.start`) or
/// it starts with `auth`; `system` for `server.*` and `system.*`; `access` for
/// `api.*`, `data_query.*`, `policy.*` and types ending in a read or a
/// sign-on (`.view`, `.export`, `.login`, `.console_login`,
/// `.evaluate_sign_on`…); otherwise `change`.
pub fn category_of(event_type: &str) -> Category {
    const READS: [&str; 10] =
        ["view", "read", "access", "execute", "download", "export", "login", "console_login", "sign_on", "evaluate_sign_on"];
    let head = event_type.split('.').next().unwrap_or_default();
    let last = event_type.rsplit('.').next().unwrap_or_default();
    match head {
        _ if head == "auth" || event_type.split('.').any(|s| s == "session") => Category::Session,
        "server" | "system" => Category::System,
        "api" | "data_query" | "policy" => Category::Access,
        _ if READS.contains(&last) && event_type.contains('.') => Category::Access,
        _ => Category::Change,
    }
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
            Some(key) if self.path.is_empty() => fail(key, "unknown field; put custom data under \"details\""),
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

    /// One of a vocabulary's values, by its string (`parse` and `choices` of a `model` vocabulary).
    fn choice<T>(&self, key: &str, parse: fn(&str) -> Option<T>, choices: fn() -> String) -> Result<Option<T>, FieldError> {
        match self.text(key, SHORT)? {
            None => Ok(None),
            Some(text) => match parse(&text) {
                Some(value) => Ok(Some(value)),
                None => fail(&self.name(key), format!("must be one of {}", choices())),
            },
        }
    }

    /// A number within `range`.
    fn number(&self, key: &str, range: std::ops::RangeInclusive<f64>) -> Result<Option<f64>, FieldError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if range.contains(&x) => Ok(Some(x)),
                _ => fail(&self.name(key), format!("must be between {} and {}", range.start(), range.end())),
            },
            Some(_) => fail(&self.name(key), "must be a number"),
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
        assert_eq!(e.category, Category::Access);
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(e.actor_type, ActorType::User);
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
        assert_eq!(category_of("session.sign_in"), Category::Session);
        assert_eq!(category_of("server.start"), Category::System);
        assert_eq!(category_of("api.access"), Category::Access);
        assert_eq!(category_of("role.permission_add"), Category::Change);
        // Real-world names: Okta, GitHub, CloudTrail.
        assert_eq!(category_of("user.session.start"), Category::Session);
        assert_eq!(category_of("user.session.end"), Category::Session);
        assert_eq!(category_of("policy.evaluate_sign_on"), Category::Access);
        assert_eq!(category_of("user.login"), Category::Access);
        assert_eq!(category_of("signin.console_login"), Category::Access);
        assert_eq!(category_of("repo.create"), Category::Change);
        assert_eq!(category_of("login"), Category::Change, "a bare word says too little");
    }
}
