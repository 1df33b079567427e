//! Events as the console shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of the events table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub environment: String,
    pub organization: Option<String>,
    pub event_type: String,
    pub category: String,
    pub outcome: String,
    pub actor: String,
    pub actor_email: Option<String>,
    pub target_type: Option<String>,
    pub target: Option<String>,
    pub app: Option<String>,
    pub client_ip: Option<String>,
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

    pub fn decode(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('_')?;
        let occurred_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        (!id.is_empty()).then(|| PageCursor { occurred_at, id: id.to_string() })
    }
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
