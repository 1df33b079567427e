//! The ECharts options of Vigil's charts, built with charming on the server
//! and sent with the data they show (`model::ChartOption`); the browser only
//! draws them (`components::echarts`).

use charming::component::{Axis, Grid, Legend};
use charming::element::{AxisType, Tooltip, Trigger};
use charming::series::{Bar, Line};
use charming::Chart;

use crate::model::{share, ChartOption, Comparison, Histogram, ServiceDetail, MONTH};

/// The explorer's activity chart: stacked bars, one series per stack value.
pub fn activity(histogram: &Histogram) -> ChartOption {
    let mut chart = frame(bucket_labels(histogram), LEGEND)
        .legend(Legend::new().top(0))
        .y_axis(Axis::new().type_(AxisType::Value).min_interval(1));
    for (name, counts) in &histogram.series {
        chart = chart.series(Bar::new().name(name.as_str()).stack("events").data(counts.clone()));
    }
    option(&chart)
}

/// One line per compared environment over the same bars: counts, or with
/// `shares` each bar's share of the environment's total (in %).
pub fn overlay(comparison: &Comparison, shares: bool) -> ChartOption {
    let mut chart = frame(bucket_labels(&comparison.histogram), LEGEND)
        .legend(Legend::new().top(0))
        .y_axis(Axis::new().type_(AxisType::Value).name(if shares { "% of its total" } else { "events" }));
    for ((name, counts), total) in comparison.histogram.series.iter().zip(&comparison.totals) {
        let line = Line::new().name(name.as_str()).show_symbol(false);
        chart = chart.series(if shares {
            line.data(counts.iter().map(|n| (share(*n, *total) * 1000.0).round() / 10.0).collect::<Vec<f64>>())
        } else {
            line.data(counts.clone())
        });
    }
    option(&chart)
}

/// A service's hourly mean latency.
pub fn latency(detail: &ServiceDetail) -> ChartOption {
    let labels: Vec<String> = detail.latency.iter().map(|(t, ..)| t.format("%b %d %H:00").to_string()).collect();
    let means: Vec<f64> = detail.latency.iter().map(|(_, mean, ..)| mean.unwrap_or(0.0).round()).collect();
    let chart = frame(labels, 16)
        .y_axis(Axis::new().type_(AxisType::Value).name("ms"))
        .series(Line::new().name("latency (ms)").data(means));
    option(&chart)
}

/// Room above the plot for a legend, in pixels.
const LEGEND: i64 = 36;

/// A chart over labelled time buckets, `top` pixels below its top edge; its
/// tooltip shows every series of the bucket under the pointer.
fn frame(labels: Vec<String>, top: i64) -> Chart {
    Chart::new()
        .animation(false)
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(Grid::new().left(56).right(16).top(top).bottom(28))
        .x_axis(Axis::new().type_(AxisType::Category).data(labels))
}

/// The label under each bar: the day for daily bars, the time within a day otherwise.
fn bucket_labels(histogram: &Histogram) -> Vec<String> {
    let format = match histogram.bucket_seconds {
        MONTH => "%b %Y",
        s if s >= 86_400 => "%b %d",
        s if s >= 3600 => "%b %d %H:%M",
        _ => "%H:%M:%S",
    };
    histogram.buckets.iter().map(|t| t.format(format).to_string()).collect()
}

fn option(chart: &Chart) -> ChartOption {
    ChartOption(serde_json::to_string(chart).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_activity_chart_stacks_one_bar_series_per_value_under_readable_labels() {
        let start = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let histogram = Histogram {
            bucket_seconds: 86_400,
            buckets: vec![start, start + chrono::Duration::days(1)],
            stacked_by: "category".into(),
            series: vec![("access".into(), vec![1, 2]), ("change".into(), vec![0, 5])],
            total: 8,
        };
        let option: serde_json::Value = serde_json::from_str(&activity(&histogram).0).unwrap();
        assert_eq!(option["xAxis"]["data"], serde_json::json!(["Mar 01", "Mar 02"]));
        let series = option["series"].as_array().unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[1]["type"], "bar");
        assert_eq!(series[1]["stack"], "events");
        assert_eq!(series[1]["data"], serde_json::json!([0, 5]));
    }
}
