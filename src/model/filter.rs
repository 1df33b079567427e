//! The explorer's filter, and its one home: the URL query string. Pages parse
//! it from the address bar, server functions receive the same string, and
//! links are built by changing a filter and printing it back.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{parse_query, to_query, Scope};

/// Relative time ranges offered as presets, newest events up to now.
pub const PRESETS: [(&str, &str, i64); 7] = [
    ("15m", "Last 15 minutes", 15 * 60),
    ("1h", "Last hour", 3600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
    ("30d", "Last 30 days", 30 * 86_400),
    ("90d", "Last 90 days", 90 * 86_400),
    ("1y", "Last year", 365 * 86_400),
];
pub const DEFAULT_RANGE: &str = "24h";

/// The environment (and organization) of Vigil's own audit trail: in the
/// console it is shown when chosen, and left out of views of every environment.
pub const CONSOLE_ENVIRONMENT: &str = "vigil";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeRange {
    /// One of `PRESETS`, by key: from `now - duration`, open at the top.
    Last(String),
    /// A fixed span: `from` inclusive, `to` exclusive.
    Between { from: DateTime<Utc>, to: DateTime<Utc> },
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange::Last(DEFAULT_RANGE.into())
    }
}

/// The preset with this key, or the default one.
fn preset(key: &str) -> &'static (&'static str, &'static str, i64) {
    let find = |k: &str| PRESETS.iter().find(|p| p.0 == k);
    find(key).or_else(|| find(DEFAULT_RANGE)).expect("the default range is a preset")
}

impl TimeRange {
    /// The concrete span at `now`: `(from, to)`, `to` being `now` for presets.
    pub fn span(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            TimeRange::Last(key) => (now - Duration::seconds(preset(key).2), now),
            TimeRange::Between { from, to } => (*from, *to),
        }
    }

    pub fn label(&self) -> String {
        match self {
            TimeRange::Last(key) => preset(key).1.into(),
            TimeRange::Between { from, to } => {
                format!("{} – {}", from.format("%Y-%m-%d %H:%M"), to.format("%Y-%m-%d %H:%M UTC"))
            }
        }
    }
}

/// Every filter of the explorer. Empty means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    pub environment: Option<String>,
    /// Organization id.
    pub organization: Option<String>,
    /// Actor id, e-mail or name (exact).
    pub user: Option<String>,
    /// App id.
    pub app: Option<String>,
    /// Event types; several mean "any of them".
    pub types: Vec<String>,
    pub category: Option<String>,
    pub outcome: Option<String>,
    /// Target id.
    pub target: Option<String>,
    pub ip: Option<String>,
    /// Free text over actor, target, type, path, reason and IP: whole words, all
    /// of them; a trailing `*` makes a word a prefix (`query::filter::SearchWords`).
    pub text: Option<String>,
    pub range: TimeRange,
    /// Rows per page of the table (not a filter, but part of the view).
    pub size: Option<u32>,
    /// What the reader may see; set on the server from who is asking, never
    /// read from a URL or sent to the browser.
    #[serde(skip)]
    pub scope: Scope,
    /// Leave out Vigil's own trail unless its environment is chosen (the
    /// console's explorer; the APIs read everything). Set on the server.
    #[serde(skip)]
    pub without_console: bool,
}

super::single_valued_filters!(EventFilter {
    environment: "env", "environment";
    organization: "org", "organization";
    user: "user", "user";
    app: "app", "app";
    category: "category", "category";
    outcome: "outcome", "outcome";
    target: "target", "target";
    ip: "ip", "IP";
    text: "q", "text";
});

impl EventFilter {
    /// Every filter parameter a URL or the API may carry, `type` included.
    pub fn params() -> impl Iterator<Item = &'static str> {
        Self::FIELDS.iter().map(|(key, _)| *key).chain(["type"])
    }

    /// A copy with one filter set (or cleared with `None`); `type` adds to the list.
    pub fn with(&self, key: &str, value: Option<&str>) -> Self {
        let mut next = self.clone();
        let value = value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        match key {
            "type" => match value {
                Some(t) if !next.types.contains(&t) => next.types.push(t),
                Some(_) => {}
                None => next.types.clear(),
            },
            "range" => next.range = TimeRange::Last(value.unwrap_or_else(|| DEFAULT_RANGE.into())),
            _ => {
                if let Some(slot) = next.slot(key) {
                    *slot = value;
                }
            }
        }
        next
    }

    pub fn without_type(&self, event_type: &str) -> Self {
        let mut next = self.clone();
        next.types.retain(|t| t != event_type);
        next
    }

    pub fn with_size(&self, size: u32) -> Self {
        EventFilter { size: Some(size), ..self.clone() }
    }

    pub fn with_span(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        EventFilter { range: TimeRange::Between { from, to }, ..self.clone() }
    }

    /// Whether any filter other than the time range is set.
    pub fn is_narrowed(&self) -> bool {
        !self.types.is_empty() || self.set_fields().next().is_some()
    }

    /// Parse a URL query (`env=production&type=a.b&type=c.d&range=7d`); unknown keys are ignored.
    pub fn from_query(query: &str) -> Self {
        let mut filter = EventFilter::default();
        let (mut from, mut to) = (None, None);
        for (key, value) in parse_query(query) {
            match key.as_str() {
                "type" => {
                    for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                        filter = filter.with("type", Some(t));
                    }
                }
                "range" => filter = filter.with("range", Some(&value)),
                "size" => filter.size = value.parse().ok(),
                "from" => from = parse_time(&value),
                "to" => to = parse_time(&value),
                other => filter = filter.with(other, Some(&value)),
            }
        }
        if let (Some(from), Some(to)) = (from, to) {
            if from < to {
                filter.range = TimeRange::Between { from, to };
            }
        }
        if let TimeRange::Last(key) = &filter.range {
            if !PRESETS.iter().any(|p| p.0 == key) {
                filter.range = TimeRange::default();
            }
        }
        filter
    }

    /// The URL query for this filter, without a leading `?`; defaults are left out.
    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = self.set_fields().map(|(key, value)| (key, value.clone())).collect();
        pairs.extend(self.types.iter().map(|t| ("type", t.clone())));
        match &self.range {
            TimeRange::Last(key) if key == DEFAULT_RANGE => {}
            TimeRange::Last(key) => pairs.push(("range", key.clone())),
            TimeRange::Between { from, to } => {
                pairs.push(("from", from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
                pairs.push(("to", to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
            }
        }
        if let Some(size) = self.size {
            pairs.push(("size", size.to_string()));
        }
        to_query(pairs.iter().map(|(k, v)| (*k, v.as_str())))
    }

    /// `/events?…` for this filter.
    pub fn href(&self) -> String {
        let query = self.to_query();
        if query.is_empty() { "/events".into() } else { format!("/events?{query}") }
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_survives_the_round_trip_through_the_url() {
        let filter = EventFilter::default()
            .with("env", Some("production"))
            .with("user", Some("ana silva@x.com"))
            .with("type", Some("app.view"))
            .with("type", Some("role.update"))
            .with("q", Some("100% & more"))
            .with_size(100)
            .with_span("2026-11-01T00:00:00Z".parse().unwrap(), "2026-11-02T00:00:00Z".parse().unwrap());
        assert_eq!(EventFilter::from_query(&filter.to_query()), filter);
    }

    #[test]
    fn defaults_stay_out_of_the_url_and_bad_values_fall_back() {
        assert_eq!(EventFilter::default().to_query(), "");
        assert_eq!(EventFilter::from_query("range=forever&from=x").range, TimeRange::default());
        assert_eq!(EventFilter::from_query("?range=7d").range, TimeRange::Last("7d".into()));
        assert_eq!(EventFilter::from_query("type=a.b,c.d").types, vec!["a.b", "c.d"]);
    }
}
