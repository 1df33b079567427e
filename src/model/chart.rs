//! A chart as the browser receives it: an ECharts option in JSON, built on the
//! server with charming (`crate::charts`) and only drawn in the browser, so
//! charming and its option types never reach the browser's bundle.

use serde::{Deserialize, Serialize};

/// An ECharts option, as JSON text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChartOption(pub String);

/// A server function's reply together with the chart drawn from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Charted<T> {
    pub data: T,
    pub chart: ChartOption,
}
