//! What the explorer screen shows for one filter: the page of events, the
//! activity histogram and the option lists, all computed at one `now`.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use super::EventPage;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explore {
    pub page: EventPage,
    pub histogram: Histogram,
    pub options: FilterOptions,
    /// Set while the deriving worker lags by more than a few seconds: the
    /// receive time up to which the chart's and the lists' counts are complete.
    pub counts_as_of: Option<DateTime<Utc>>,
    /// The activity chart of `histogram`.
    pub chart: super::ChartOption,
}

/// Event counts per time bucket, stacked by one dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub bucket_seconds: i64,
    /// Start of each bucket, oldest first.
    pub buckets: Vec<DateTime<Utc>>,
    /// "category" or "environment".
    pub stacked_by: String,
    /// One series per stack value: its name and a count per bucket.
    pub series: Vec<(String, Vec<i64>)>,
    /// Events in the whole range (exact: the sum of the bars).
    pub total: i64,
}

impl Histogram {
    /// Where bar `i` ends (exclusive).
    pub fn bucket_end(&self, i: usize) -> Option<DateTime<Utc>> {
        self.buckets.get(i).map(|start| next_bucket(*start, self.bucket_seconds))
    }

    /// The most events of one bucket, all stacks together (0 for none).
    pub fn highest_bar(&self) -> i64 {
        let bar = |i: usize| self.series.iter().map(|(_, counts)| counts.get(i).copied().unwrap_or(0)).sum::<i64>();
        (0..self.buckets.len()).map(bar).max().unwrap_or(0)
    }
}

/// One choice in a filter's option list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterOption {
    pub value: String,
    pub label: String,
    pub events: i64,
}

/// The values that occur in the chosen environment and time range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterOptions {
    pub environments: Vec<FilterOption>,
    pub organizations: Vec<FilterOption>,
    pub apps: Vec<FilterOption>,
    pub types: Vec<FilterOption>,
    pub categories: Vec<FilterOption>,
    pub outcomes: Vec<FilterOption>,
    /// Recently seen actors, as suggestions for the user box.
    pub users: Vec<FilterOption>,
}

/// The bar width that stands for calendar months (a month's bars start on
/// its first day, 00:00 UTC, and are 28 to 31 days wide).
pub const MONTH: i64 = 30 * 86_400;

/// Bar width for a span: from 30 seconds to a week, about 30 to 100 bars (17
/// to 100 of a day, so that the daily rollups answer from 30 days up); from
/// 200 days, calendar months ([`MONTH`]: 7 to 37 bars over the longest range).
pub fn bucket_seconds(span_seconds: i64) -> i64 {
    const HOUR: i64 = 3600;
    match span_seconds {
        s if s <= 30 * 60 => 30,
        s if s <= HOUR => 60,
        s if s <= 6 * HOUR => 5 * 60,
        s if s <= 24 * HOUR => 15 * 60,
        s if s <= 3 * 24 * HOUR => HOUR,
        s if s <= 8 * 24 * HOUR => 3 * HOUR,
        s if s <= 16 * 24 * HOUR => 6 * HOUR,
        s if s <= 100 * 24 * HOUR => 24 * HOUR,
        s if s < 200 * 24 * HOUR => 7 * 24 * HOUR,
        _ => MONTH,
    }
}

/// The start of the bar `t` falls in.
pub fn bucket_start(t: DateTime<Utc>, bucket_seconds: i64) -> DateTime<Utc> {
    if bucket_seconds == MONTH {
        let day = t.date_naive().with_day(1).expect("every month has a first day");
        return day.and_time(chrono::NaiveTime::MIN).and_utc();
    }
    let start = t.timestamp().div_euclid(bucket_seconds) * bucket_seconds;
    DateTime::from_timestamp(start, 0).unwrap_or(t)
}

/// The start of the bar after the one starting at `start`.
pub fn next_bucket(start: DateTime<Utc>, bucket_seconds: i64) -> DateTime<Utc> {
    if bucket_seconds == MONTH {
        return start.checked_add_months(chrono::Months::new(1)).unwrap_or(start);
    }
    start + chrono::Duration::seconds(bucket_seconds)
}

/// How the label of a bar `bucket_seconds` wide is written (a chrono format):
/// the month, the day, or the time within a day.
pub fn bar_label_format(bucket_seconds: i64) -> &'static str {
    match bucket_seconds {
        MONTH => "%b %Y",
        s if s >= 86_400 => "%b %d",
        s if s >= 3600 => "%b %d %H:%M",
        s if s % 60 == 0 => "%H:%M",
        _ => "%H:%M:%S",
    }
}

/// "30 seconds", "15 minutes", "3 hours", "1 day".
pub fn bucket_label(seconds: i64) -> String {
    if seconds == MONTH {
        return "1 month".into();
    }
    let (n, unit) = match seconds {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// "1,234", or "about 1.2 M" for large counts.
pub fn count_label(n: i64) -> String {
    match n {
        n if n >= 1_000_000 => format!("about {:.1} M", n as f64 / 1e6),
        n if n >= 100_000 => format!("about {} k", (n + 500) / 1000),
        n => thousands(n),
    }
}

/// "1 event", "10,305 events".
pub fn events_label(n: i64) -> String {
    if n == 1 { "1 event".into() } else { format!("{} events", thousands(n)) }
}

/// A count exactly, its digits in groups of three: "10,305,014".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = if n < 0 { String::from("-") } else { String::new() };
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_fit_the_range() {
        assert_eq!(bucket_seconds(15 * 60), 30);
        assert_eq!(bucket_seconds(3600), 60);
        assert_eq!(bucket_seconds(86_400), 900);
        assert_eq!(bucket_seconds(7 * 86_400), 3 * 3600);
        assert_eq!(bucket_seconds(14 * 86_400), 6 * 3600);
        assert_eq!(bucket_seconds(30 * 86_400), 86_400);
        assert_eq!(bucket_seconds(90 * 86_400), 86_400);
        assert_eq!(bucket_seconds(180 * 86_400), 7 * 86_400);
        assert_eq!(bucket_seconds(365 * 86_400), MONTH);
        assert_eq!(bucket_label(900), "15 minutes");
        assert_eq!(bucket_label(MONTH), "1 month");
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(bucket_start(t("2026-02-17T13:00:00Z"), MONTH), t("2026-02-01T00:00:00Z"));
        assert_eq!(next_bucket(t("2026-02-01T00:00:00Z"), MONTH), t("2026-03-01T00:00:00Z"));
        assert_eq!(bucket_start(t("2026-02-17T13:10:00Z"), 900), t("2026-02-17T13:00:00Z"));
        assert_eq!(bucket_label(86_400), "1 day");
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(count_label(999), "999");
        assert_eq!(count_label(12_345), "12,345");
        assert_eq!(count_label(250_400), "about 250 k");
        assert_eq!(count_label(1_234_567), "about 1.2 M");
        assert_eq!(thousands(10_305_014), "10,305,014");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(-1_500), "-1,500");
    }
}
