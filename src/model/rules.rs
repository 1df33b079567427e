//! Recording rules: which incoming events are not stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{thousands, Outcome};

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

/// Days of recorded events a rule — a recording rule, or an alert rule's
/// view — is weighed against before it applies.
pub const WEIGHED_DAYS: u32 = 7;

/// What a rule would have done to the events recorded in the last `days`
/// days (UTC, today included), placed where it is or would be in the order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleImpact {
    pub days: u32,
    /// Events recorded in those days (Vigil's own trail left out: rules never apply to it).
    pub recorded: i64,
    /// Of those, the events the rule matches.
    pub matched: i64,
    /// Of the matched, those an earlier rule decides first.
    pub decided_earlier: i64,
    /// What the rule would drop: every match it decides, or all but one in n (an estimate).
    pub dropped: i64,
}

impl RuleImpact {
    /// "Of the 18,971 events recorded in the last 7 days, this rule matches
    /// 1,204 (6.3 %) and would drop about 1,084."
    pub fn describe(&self) -> String {
        let days = format!("in the last {} days", self.days);
        if self.matched == 0 {
            return format!("No event recorded {days} ({} in all) matches this rule.", thousands(self.recorded));
        }
        let share = 100.0 * self.matched as f64 / self.recorded.max(1) as f64;
        let earlier = match self.decided_earlier {
            0 => String::new(),
            n => format!(", {} of them decided first by an earlier rule,", thousands(n)),
        };
        let about = if self.dropped < self.matched - self.decided_earlier { "about " } else { "" };
        format!(
            "Of the {} events recorded {days}, this rule matches {} ({share:.1} %){earlier} and would drop {about}{}.",
            thousands(self.recorded),
            thousands(self.matched),
            thousands(self.dropped)
        )
    }
}

/// What saving a rule gave: its id (none for a check that saved nothing) and its impact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRule {
    pub id: Option<i64>,
    pub impact: RuleImpact,
}

impl SavedRule {
    /// Whether the rule was stored (not only checked).
    pub fn stored(&self) -> bool {
        self.id.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::RuleImpact;

    #[test]
    fn an_impact_reads_as_a_sentence() {
        let impact = |matched, decided_earlier, dropped| RuleImpact { days: 7, recorded: 18_971, matched, decided_earlier, dropped };
        assert_eq!(impact(0, 0, 0).describe(), "No event recorded in the last 7 days (18,971 in all) matches this rule.");
        assert_eq!(
            impact(1_204, 0, 1_204).describe(),
            "Of the 18,971 events recorded in the last 7 days, this rule matches 1,204 (6.3 %) and would drop 1,204."
        );
        assert_eq!(
            impact(1_204, 200, 903).describe(),
            "Of the 18,971 events recorded in the last 7 days, this rule matches 1,204 (6.3 %), 200 of them decided first by an earlier rule, and would drop about 903."
        );
    }
}
