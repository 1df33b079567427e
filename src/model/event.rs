//! Events as the console shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of the events table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub environment: String,
    pub organization_id: Option<String>,
    pub organization: Option<String>,
    pub event_type: String,
    pub category: super::Category,
    pub outcome: super::Outcome,
    /// Display name of the actor.
    pub actor: String,
    /// The value that filters by this actor: its id, else e-mail, else name.
    pub actor_key: String,
    pub actor_email: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target: Option<String>,
    pub app_id: Option<String>,
    pub app: Option<String>,
    pub client_ip: Option<String>,
    /// ISO country of the client IP, when located.
    pub country_code: Option<String>,
}

/// A page of events, newest first, with the cursor to the next (older) page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// Server time when the page was read; relative times are computed against it.
    pub now: DateTime<Utc>,
    pub events: Vec<EventSummary>,
    /// Cursor of the last row, present when older events exist.
    pub next: Option<PageCursor>,
}

/// A keyset position in the newest-first order: rows strictly older than
/// `(occurred_at, id)` come next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub occurred_at: DateTime<Utc>,
    pub id: String,
}

impl PageCursor {
    /// URL form: `<microseconds since epoch>_<id>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.occurred_at.timestamp_micros(), self.id)
    }

    /// Parse the URL form; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('_')?;
        let occurred_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        (!id.is_empty()).then(|| PageCursor { occurred_at, id: id.to_string() })
    }
}

/// One change of a change event; `old` and `new` as compact JSON text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Everything stored about one event, for expanded rows and the detail page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventDetail {
    pub summary: EventSummary,
    pub seq: i64,
    pub received_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub actor_type: super::ActorType,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub actor_session_id: Option<String>,
    pub actor_api_key_id: Option<String>,
    pub changes: Vec<Change>,
    pub request_id: Option<String>,
    pub request_method: Option<String>,
    pub request_path: Option<String>,
    pub request_status: Option<i32>,
    /// Pretty-printed JSON of the request, response and details, when present.
    pub request: Option<String>,
    pub response: Option<String>,
    pub details: Option<String>,
    pub user_agent: Option<String>,
    pub machine_id: Option<String>,
    /// Browser, OS, device and location worked out on ingest.
    pub client: Option<super::ClientInfo>,
    /// The whole event as pretty-printed JSON.
    pub raw: String,
}

/// The detail page: the event, when it was read, and what relates to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub now: DateTime<Utc>,
    pub event: EventDetail,
    pub same_session: Vec<EventSummary>,
    pub same_request: Vec<EventSummary>,
}

/// Every event about one target, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetHistory {
    pub now: DateTime<Utc>,
    pub target_type: String,
    pub target_id: String,
    pub target_name: Option<String>,
    pub events: Vec<EventDetail>,
    /// Present when more events follow: `?after=` this cursor.
    pub next: Option<PageCursor>,
}

/// Default and largest number of rows per page in the console.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_ids_with_underscores() {
        let cursor = PageCursor {
            occurred_at: DateTime::from_timestamp_micros(1_763_000_000_123_456).unwrap(),
            id: "evt_01_x".into(),
        };
        assert_eq!(PageCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(PageCursor::decode("garbage"), None);
        assert_eq!(PageCursor::decode("12_"), None);
    }
}
