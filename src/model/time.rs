//! Human-readable times. Relative times are computed against a `now` supplied by
//! the server with the data, so the server and the browser render the same text.

use chrono::{DateTime, Utc};

/// "2026-11-21 14:03:22 UTC"
pub fn absolute_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// "just now", "4 minutes ago", "3 hours ago", "2 days ago", "in 5 minutes".
pub fn relative_time(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (amount, future) = if secs < 0 { (-secs, true) } else { (secs, false) };
    if amount < 45 {
        return "just now".into();
    }
    let (n, unit) = match amount {
        s if s < 90 * 60 => ((s + 30) / 60, "minute"),
        s if s < 36 * 3600 => ((s + 1800) / 3600, "hour"),
        s if s < 45 * 86400 => ((s + 43200) / 86400, "day"),
        s if s < 548 * 86400 => ((s + 15 * 86400) / (30 * 86400), "month"),
        s => ((s + 182 * 86400) / (365 * 86400), "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(relative_time(now, now - Duration::seconds(60)), "1 minute ago");
        assert_eq!(relative_time(now, now - Duration::minutes(4)), "4 minutes ago");
        assert_eq!(relative_time(now, now - Duration::hours(3)), "3 hours ago");
        assert_eq!(relative_time(now, now - Duration::days(2)), "2 days ago");
        assert_eq!(relative_time(now, now + Duration::minutes(5)), "in 5 minutes");
        assert_eq!(absolute_time(now), "2026-11-21 12:00:00 UTC");
    }

    #[test]
    fn typed_times_are_utc() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 14, 0, 0).unwrap();
        assert_eq!(parse_time_input(" 2026-12-02T14:00 "), Some(at));
        assert_eq!(parse_time_input("2026-12-02T15:00:00+01:00"), Some(at));
        assert_eq!(parse_time_input("tomorrow"), None);
    }
}

/// A time typed in a `datetime-local` field (`2026-12-02T14:00`, read as
/// UTC) or written in RFC 3339.
pub fn parse_time_input(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .map(|t| t.and_utc())
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc)))
}
