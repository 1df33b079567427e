//! Raw input → validated events. Parses an ingest body (JSON array, single
//! object or NDJSON) and checks each item field by field, so a client learns
//! which item, which field and why. No SQL and no HTTP here.

pub mod enrich;
pub mod redact;
pub mod rules;
mod validate;

pub use validate::{category_of, validate};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{ActorType, Category, Outcome};

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
    pub category: Category,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub actor_type: ActorType,
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
    /// `client.location`: where the sender says the client was.
    pub reported_location: Option<crate::model::Location>,
    /// Added by `Pipeline::prepare` (with the reported location in it).
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
        if let Some(place) = event.reported_location.take() {
            event.client_info.get_or_insert_with(Default::default).reported = Some(place);
        }
    }
}

pub use crate::model::Rejection;

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

#[cfg(test)]
mod tests {
    use super::*;

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
