//! Comparing environments: the view (`/compare?env=staging&env=production&…`,
//! every explorer filter but the environment, plus `share` and `kind`) and
//! what the compare page shows for it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{parse_query, to_query, EventFilter, Histogram};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareView {
    /// Every explorer filter but the environment (which is `environments`).
    pub filter: EventFilter,
    /// The environments compared, in URL order; empty means every one in range.
    pub environments: Vec<String>,
    /// Chart each environment as a share of its own total.
    pub share: bool,
    /// The target type whose latest state is laid side by side.
    pub kind: Option<String>,
}

impl CompareView {
    pub fn from_query(query: &str) -> CompareView {
        let mut filter = EventFilter::from_query(query);
        filter.environment = None;
        let mut view = CompareView { filter, ..CompareView::default() };
        for (key, value) in parse_query(query) {
            let value = value.trim().to_string();
            match key.as_str() {
                "env" if !value.is_empty() && !view.environments.contains(&value) => view.environments.push(value),
                "share" => view.share = value == "1",
                "kind" if !value.is_empty() => view.kind = Some(value),
                _ => {}
            }
        }
        view
    }

    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self.environments.iter().map(|e| ("env", e.as_str())).collect();
        if self.share {
            pairs.push(("share", "1"));
        }
        if let Some(kind) = &self.kind {
            pairs.push(("kind", kind));
        }
        let own = to_query(pairs);
        let filter = self.filter.to_query();
        [filter, own].into_iter().filter(|q| !q.is_empty()).collect::<Vec<_>>().join("&")
    }

    pub fn href(&self) -> String {
        let query = self.to_query();
        if query.is_empty() { "/compare".into() } else { format!("/compare?{query}") }
    }

    /// The same view comparing `environments`.
    pub fn with_environments(&self, environments: Vec<String>) -> CompareView {
        CompareView { environments, ..self.clone() }
    }

    /// The compare view of an explorer filter: the same filters, every environment.
    pub fn of_explorer(filter: &EventFilter) -> CompareView {
        CompareView { filter: EventFilter { environment: None, ..filter.clone() }, ..CompareView::default() }
    }

    /// The explorer for one environment of this view, narrowed by one more filter.
    pub fn explorer_href(&self, environment: &str, key: &str, value: &str) -> String {
        self.filter.with("env", Some(environment)).with(key, Some(value)).href()
    }
}

/// What the compare page shows for one view, computed at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The environments compared (those of the view the reader may see, or
    /// by default every one with events in range but Vigil's own).
    pub environments: Vec<String>,
    /// Every environment with events in range that the reader may see.
    pub available: Vec<String>,
    /// One series per compared environment, every one present.
    pub histogram: Histogram,
    /// Events per compared environment in the range.
    pub totals: Vec<i64>,
    /// Event types with their counts per compared environment, largest relative difference first.
    pub types: Vec<TypeCounts>,
    /// Values seen in exactly one of the compared environments.
    pub only_in: Vec<OnlyIn>,
    /// Target types that have targets in the compared environments.
    pub kinds: Vec<String>,
    /// The target type whose states are shown: the view's, else roles, else the first.
    pub kind: Option<String>,
    /// The latest state of the view's target type per environment.
    pub states: Vec<TargetStates>,
    /// Whether the states were folded from only the newest `STATE_EVENTS` changes.
    pub states_partial: bool,
    pub now: DateTime<Utc>,
}

/// The most change events the latest states are folded from.
pub const STATE_EVENTS: i64 = 2_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeCounts {
    pub event_type: String,
    /// Per compared environment, in order.
    pub counts: Vec<i64>,
    /// Spread of the environments' shares of their own totals, from 0 (the
    /// same share everywhere) to 1 (absent somewhere, present elsewhere).
    pub difference: f64,
}

impl TypeCounts {
    /// Counts per environment, with each environment's share of its total and the spread of those shares.
    pub fn new(event_type: String, counts: Vec<i64>, totals: &[i64]) -> TypeCounts {
        let shares: Vec<f64> = counts.iter().zip(totals).map(|(n, t)| share(*n, *t)).collect();
        let max = shares.iter().cloned().fold(0.0, f64::max);
        let min = shares.iter().cloned().fold(f64::INFINITY, f64::min);
        let difference = if max > 0.0 { (max - min) / max } else { 0.0 };
        TypeCounts { event_type, counts, difference }
    }
}

/// `n` as a share of `total` (0 when there is nothing).
pub fn share(n: i64, total: i64) -> f64 {
    if total > 0 { n as f64 / total as f64 } else { 0.0 }
}

/// A value seen in only one of the compared environments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlyIn {
    /// "type", "app", "user" or "target" (the explorer's filter key).
    pub dimension: String,
    pub value: String,
    pub label: String,
    pub environment: String,
}

impl OnlyIn {
    pub fn heading(dimension: &str) -> &'static str {
        match dimension {
            "type" => "Event types",
            "app" => "Apps",
            "user" => "Actors",
            _ => "Targets",
        }
    }
}

/// One target's latest known fields per compared environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStates {
    pub id: String,
    pub name: Option<String>,
    /// Per compared environment: its fields (name → value as JSON text), or
    /// `None` when no change to it is known there.
    pub states: Vec<Option<BTreeMap<String, String>>>,
    /// Fields whose values differ between the environments that know the target.
    pub differing: Vec<String>,
}

impl TargetStates {
    pub fn new(id: String, name: Option<String>, states: Vec<Option<BTreeMap<String, String>>>) -> TargetStates {
        let known: Vec<&BTreeMap<String, String>> = states.iter().flatten().collect();
        let fields: std::collections::BTreeSet<&String> = known.iter().flat_map(|s| s.keys()).collect();
        let differing = fields
            .into_iter()
            .filter(|field| known.iter().any(|s| s.get(*field) != known[0].get(*field)))
            .cloned()
            .collect();
        TargetStates { id, name, states, differing }
    }

    /// Known in some compared environments and not in others.
    pub fn is_partial(&self) -> bool {
        self.states.iter().any(Option::is_none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compare_view_survives_the_url_and_keeps_the_explorer_filters() {
        let view = CompareView::from_query("env=staging&env=production&type=role.update&range=30d&share=1&kind=role");
        assert_eq!(view.environments, ["staging", "production"]);
        assert_eq!(view.filter.types, ["role.update"]);
        assert!(view.share);
        assert_eq!(view.kind.as_deref(), Some("role"));
        assert_eq!(CompareView::from_query(&view.to_query()), view);
        assert_eq!(CompareView::default().href(), "/compare");
        let explorer = EventFilter::from_query("env=production&q=ana");
        assert_eq!(CompareView::of_explorer(&explorer).href(), "/compare?q=ana");
    }

    #[test]
    fn differences_are_between_shares_of_each_environments_total() {
        let same = TypeCounts::new("a".into(), vec![10, 100], &[100, 1000]);
        assert_eq!(same.difference, 0.0, "10 % of each");
        let absent = TypeCounts::new("b".into(), vec![0, 5], &[100, 1000]);
        assert_eq!(absent.difference, 1.0);
        let states = TargetStates::new(
            "r1".into(),
            None,
            vec![
                Some(BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])),
                Some(BTreeMap::from([("a".into(), "1".into()), ("b".into(), "3".into())])),
                None,
            ],
        );
        assert_eq!(states.differing, ["b"]);
        assert!(states.is_partial());
    }
}
