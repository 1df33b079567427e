//! A chart as the browser receives it: an ECharts option in JSON, built on the
//! server with charming (`crate::charts`) and only drawn in the browser, so
//! charming and its option types never reach the browser's bundle.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// An ECharts option, as JSON text, and for a chart over time the times its
/// axis labels: the server writes the labels in UTC, the browser again in the
/// reader's zone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartOption {
    pub json: String,
    pub time_axis: Option<TimeAxis>,
}

impl ChartOption {
    pub fn new(json: String) -> ChartOption {
        ChartOption { json, time_axis: None }
    }
}

/// The start of each bar (or point) along a chart's time axis, and how its
/// label is written (a chrono format).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeAxis {
    pub starts: Vec<DateTime<Utc>>,
    pub format: String,
}

impl TimeAxis {
    /// The labels, each start read on `clock` (UTC, or a reader's wall clock).
    pub fn labels(&self, clock: impl Fn(DateTime<Utc>) -> NaiveDateTime) -> Vec<String> {
        self.starts.iter().map(|t| clock(*t).format(&self.format).to_string()).collect()
    }
}

/// A server function's reply together with the chart drawn from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Charted<T> {
    pub data: T,
    pub chart: ChartOption,
}
