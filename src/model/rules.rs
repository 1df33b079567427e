//! Recording rules: which incoming events are not stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Outcome;

/// What a rule matches — each text a pattern where `*` is any text — and
/// what it does with a match.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RuleDefinition {
    pub environment: String,
    /// An organization's id or name.
    pub organization: String,
    /// An app's id or name.
    pub app: String,
    pub event_type: String,
    /// `None`: successes only — failures and denials are never dropped unless named.
    pub outcome: Option<Outcome>,
    /// `None`: drop every match; `Some(n)`: keep one in n.
    pub keep_one_in: Option<i32>,
}

/// One rule, as Settings lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RecordingRule {
    pub id: i64,
    #[cfg_attr(feature = "ssr", sqlx(flatten))]
    pub definition: RuleDefinition,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub dropped_today: i64,
    pub dropped_total: i64,
}

impl RuleDefinition {
    /// "drop", or "keep 1 in 10".
    pub fn action_label(&self) -> String {
        match self.keep_one_in {
            None => "drop".into(),
            Some(n) => format!("keep 1 in {n}"),
        }
    }

    /// What it matches, in words: `app.view in dev, successes`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("type {}", self.event_type)];
        for (label, value) in [("environment", &self.environment), ("organization", &self.organization), ("app", &self.app)] {
            if value != "*" {
                parts.push(format!("{label} {value}"));
            }
        }
        parts.push(match self.outcome {
            None => "successes".into(),
            Some(outcome) => format!("outcome {outcome}"),
        });
        parts.join(", ")
    }
}
