//! The ECharts options of Vigil's charts and maps, built on the server and
//! sent with the data they show (`model::ChartOption`); the browser only draws
//! them (`components::echarts`). Charts are built with charming; the maps are
//! written as JSON, in ECharts' own terms (`geo`, `nameProperty`).

use charming::component::{Axis, Grid, Legend};
use charming::element::{AxisType, Tooltip, Trigger};
use charming::series::{Bar, Line};
use charming::Chart;

use serde_json::{json, Value};

use crate::model::{bar_label_format, impossible_travel, share, ChartOption, Comparison, Histogram, PathPoint, Place, ServiceDetail, TimeAxis};

/// The explorer's activity chart: stacked bars, one series per stack value.
pub fn activity(histogram: &Histogram) -> ChartOption {
    let axis = bars(histogram);
    let mut chart = frame(&axis, LEGEND)
        .legend(Legend::new().top(0))
        .y_axis(Axis::new().type_(AxisType::Value).min_interval(1));
    for (name, counts) in &histogram.series {
        chart = chart.series(Bar::new().name(name.as_str()).stack("events").data(counts.clone()));
    }
    over_time(&chart, axis, histogram.bucket_seconds)
}

/// One line per compared environment over the same bars: counts, or with
/// `shares` each bar's share of the environment's total (in %).
pub fn overlay(comparison: &Comparison, shares: bool) -> ChartOption {
    let axis = bars(&comparison.histogram);
    let mut chart = frame(&axis, LEGEND)
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
    over_time(&chart, axis, comparison.histogram.bucket_seconds)
}

/// A service's hourly mean latency.
pub fn latency(detail: &ServiceDetail) -> ChartOption {
    let axis = TimeAxis { starts: detail.latency.iter().map(|(t, ..)| *t).collect(), format: bar_label_format(3600).into() };
    let means: Vec<f64> = detail.latency.iter().map(|(_, mean, ..)| mean.unwrap_or(0.0).round()).collect();
    let chart = frame(&axis, 16)
        .y_axis(Axis::new().type_(AxisType::Value).name("ms"))
        .series(Line::new().name("latency (ms)").data(means));
    over_time(&chart, axis, 3600)
}

/// Room above the plot for a legend, in pixels.
const LEGEND: i64 = 36;

/// A chart over time, `top` pixels below its top edge, its axis labelled in
/// UTC; its tooltip shows every series of the bucket under the pointer.
fn frame(axis: &TimeAxis, top: i64) -> Chart {
    Chart::new()
        .animation(false)
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(Grid::new().left(56).right(16).top(top).bottom(28))
        .x_axis(Axis::new().type_(AxisType::Category).data(axis.labels(|t| t.naive_utc())))
}

/// The bars of a histogram: the day for daily bars, the time within a day otherwise.
fn bars(histogram: &Histogram) -> TimeAxis {
    TimeAxis { starts: histogram.buckets.clone(), format: bar_label_format(histogram.bucket_seconds).into() }
}

/// A chart over `axis`, whose bars are `bucket_seconds` wide: bars shorter
/// than a day are labelled again in the reader's zone; days and months are
/// UTC's (what they count), so their labels stay.
fn over_time(chart: &Chart, axis: TimeAxis, bucket_seconds: i64) -> ChartOption {
    ChartOption { time_axis: (bucket_seconds < 86_400).then_some(axis), ..option(chart) }
}

fn option(chart: &Chart) -> ChartOption {
    ChartOption::new(serde_json::to_string(chart).unwrap_or_default())
}

const DOT: &str = "#2f5bea";
const WARNING: &str = "#c2410c";

/// `series` drawn over the countries, which are pale and named by ISO code
/// (`iso`); each item's tooltip is its name.
fn map(series: Value) -> ChartOption {
    let outline = json!({
        "map": "world", "roam": true, "nameProperty": "iso", "selectedMode": false, "triggerEvent": true,
        "itemStyle": {"areaColor": "#eef1f6", "borderColor": "#b8c2d6"},
        "emphasis": {"itemStyle": {"areaColor": "#dbe4fb"}, "label": {"show": false}},
        "tooltip": {"show": false}
    });
    let option = json!({"animation": false, "tooltip": {"trigger": "item", "formatter": "{b}"}, "geo": outline, "series": series});
    ChartOption::new(option.to_string())
}

/// One dot per place, its area growing with its sessions; places with flagged
/// sessions in the warning colour.
pub fn places(places: &[Place]) -> ChartOption {
    let dots = |flagged: bool| -> Vec<Value> {
        places
            .iter()
            .filter(|p| (p.flagged > 0) == flagged)
            .map(|p| {
                let flags = if p.flagged > 0 { format!(" ({} flagged)", p.flagged) } else { String::new() };
                let noun = if p.sessions == 1 { "session" } else { "sessions" };
                json!({
                    "name": format!("{}: {} {noun}{flags}", p.label, p.sessions),
                    "value": [p.longitude, p.latitude, p.sessions],
                    "country": p.country,
                    "symbolSize": (6.0 + 5.0 * (p.sessions as f64).ln_1p()).min(40.0),
                })
            })
            .collect()
    };
    map(json!([
        {"type": "scatter", "name": "sessions", "coordinateSystem": "geo", "data": dots(false), "itemStyle": {"color": DOT, "opacity": 0.75}},
        {"type": "scatter", "name": "flagged", "coordinateSystem": "geo", "data": dots(true), "itemStyle": {"color": WARNING, "opacity": 0.85}}
    ]))
}

/// The places of a session in time order, joined by lines; a leg faster than
/// an airliner drawn thick in the warning colour.
pub fn path(path: &[PathPoint]) -> ChartOption {
    let at = |p: &PathPoint| [p.longitude, p.latitude];
    let points: Vec<Value> = path
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let when = p.at.format("%Y-%m-%d %H:%M UTC");
            let what = if p.previous_session { "previous session" } else { "this session" };
            json!({"name": format!("{}. {} — {when} ({what})", i + 1, p.label), "value": [p.longitude, p.latitude, i + 1]})
        })
        .collect();
    let legs: Vec<Value> = path
        .windows(2)
        .map(|pair| {
            let impossible = impossible_travel(&pair[0], &pair[1]);
            let style = if impossible {
                json!({"color": WARNING, "width": 3, "type": "solid"})
            } else {
                json!({"color": DOT, "width": 1.5, "type": "dashed"})
            };
            let name = if impossible { "impossible travel" } else { "travel" };
            json!({"name": name, "coords": [at(&pair[0]), at(&pair[1])], "lineStyle": style})
        })
        .collect();
    map(json!([
        {"type": "lines", "coordinateSystem": "geo", "data": legs, "symbol": ["none", "arrow"], "symbolSize": 8},
        {"type": "scatter", "coordinateSystem": "geo", "data": points, "symbolSize": 9, "itemStyle": {"color": DOT},
         "label": {"show": true, "formatter": "{@[2]}", "position": "right"}}
    ]))
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
        let option: serde_json::Value = serde_json::from_str(&activity(&histogram).json).unwrap();
        assert_eq!(option["xAxis"]["data"], serde_json::json!(["Mar 01", "Mar 02"]));
        let series = option["series"].as_array().unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[1]["type"], "bar");
        assert_eq!(series[1]["stack"], "events");
        assert_eq!(series[1]["data"], serde_json::json!([0, 5]));
        // Days are UTC's: the browser leaves their labels.
        assert_eq!(activity(&histogram).time_axis, None);
    }

    #[test]
    fn bars_within_a_day_carry_their_times_for_the_readers_zone() {
        let start = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 23, 45, 0).unwrap();
        let histogram = Histogram {
            bucket_seconds: 900,
            buckets: vec![start, start + chrono::Duration::minutes(15)],
            stacked_by: "category".into(),
            series: vec![("access".into(), vec![1, 2])],
            total: 3,
        };
        let chart = activity(&histogram);
        let option: serde_json::Value = serde_json::from_str(&chart.json).unwrap();
        assert_eq!(option["xAxis"]["data"], serde_json::json!(["23:45", "00:00"]));
        let axis = chart.time_axis.unwrap();
        assert_eq!(axis.starts, histogram.buckets);
        let tokyo = |t: chrono::DateTime<chrono::Utc>| (t + chrono::Duration::hours(9)).naive_utc();
        assert_eq!(axis.labels(tokyo), ["08:45", "09:00"]);
    }

    #[test]
    fn the_sessions_map_puts_flagged_places_in_their_own_series() {
        let place = |label: &str, sessions, flagged| Place {
            latitude: 52.5, longitude: 13.4, label: label.into(), country: Some("DE".into()), sessions, flagged,
        };
        let option: serde_json::Value = serde_json::from_str(&places(&[place("Berlin, DE", 3, 0), place("Bonn, DE", 2, 1)]).json).unwrap();
        assert_eq!(option["geo"]["map"], "world");
        let series = option["series"].as_array().unwrap();
        assert_eq!(series[0]["data"][0]["name"], "Berlin, DE: 3 sessions");
        assert_eq!(series[1]["data"][0]["name"], "Bonn, DE: 2 sessions (1 flagged)");
        assert_eq!(series[1]["data"][0]["country"], "DE");
    }

    #[test]
    fn a_session_path_draws_an_impossible_leg_thick_in_the_warning_colour() {
        let start = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let point = |minutes, latitude, longitude, label: &str| PathPoint {
            at: start + chrono::Duration::minutes(minutes), latitude, longitude, label: label.into(), previous_session: false,
        };
        // Berlin → Paris in five hours (possible), Paris → Tokyo in ten minutes (not).
        let path_points = [point(0, 52.5, 13.4, "Berlin"), point(300, 48.9, 2.35, "Paris"), point(310, 35.7, 139.7, "Tokyo")];
        let option: serde_json::Value = serde_json::from_str(&path(&path_points).json).unwrap();
        let legs = option["series"][0]["data"].as_array().unwrap();
        assert_eq!(legs.iter().map(|l| l["name"].as_str().unwrap()).collect::<Vec<_>>(), ["travel", "impossible travel"]);
        assert_eq!(legs[1]["lineStyle"]["color"], WARNING);
        assert_eq!(option["series"][1]["data"][2]["name"], "3. Tokyo — 2026-03-01 17:10 UTC (this session)");
    }
}
