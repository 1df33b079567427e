//! Availability checks and alerts as the console shows them: services with
//! their recent results, incidents and uptime; alert rules with their state,
//! history and channels.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AlertKind, ChannelKind, CheckKind, GroupBy, ServiceState, TlsMode};

/// Results a service's bar shows.
pub const RESULT_BAR: usize = 90;
/// A certificate expiring sooner than this is raised.
pub const CERTIFICATE_WARNING_DAYS: i64 = 14;
/// A silence rule per environment, organization or app watches those that
/// sent matching events within this many days before its window.
pub const QUIET_SOURCES_SEEN_DAYS: i64 = 7;

/// What to check and when a service counts as down or up again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ServiceDefinition {
    pub name: String,
    pub environment: String,
    pub kind: CheckKind,
    /// URL (http), host:port (tcp), a name (dns); empty for heartbeats.
    pub target: String,
    pub http_method: String,
    pub status_min: i32,
    pub status_max: i32,
    /// Text the response body must contain (http).
    pub keyword: Option<String>,
    /// An address the name must resolve to (dns).
    pub expected_address: Option<String>,
    pub timeout_ms: i32,
    pub interval_seconds: i32,
    /// Failures in a row that make it down.
    pub down_after: i32,
    /// Successes in a row that make it up again.
    pub up_after: i32,
}

impl ServiceDefinition {
    /// Its fields by name, as they are serialised and as `services` names
    /// their columns (the audit of a change and the store's SQL read them).
    pub const FIELDS: [&'static str; 13] = [
        "name", "environment", "kind", "target", "http_method", "status_min", "status_max", "keyword", "expected_address",
        "timeout_ms", "interval_seconds", "down_after", "up_after",
    ];

    /// A check with the documented defaults: GET, status 200–399, a 10 s
    /// timeout, every 60 s, down after 3 failures, up after 2 successes.
    pub fn new(name: impl Into<String>, environment: impl Into<String>, kind: CheckKind, target: impl Into<String>) -> Self {
        ServiceDefinition {
            name: name.into(),
            environment: environment.into(),
            kind,
            target: target.into(),
            http_method: "GET".into(),
            status_min: 200,
            status_max: 399,
            keyword: None,
            expected_address: None,
            timeout_ms: 10_000,
            interval_seconds: 60,
            down_after: 3,
            up_after: 2,
        }
    }
}

/// One check run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub checked_at: DateTime<Utc>,
    pub ok: bool,
    pub latency_ms: Option<i32>,
    /// HTTP status, when there was a response.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub in_maintenance: bool,
}

/// A time a service was down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub reason: String,
}

/// A planned time during which failures do not take a service down or alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// A service as the Services page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    pub id: i64,
    pub definition: ServiceDefinition,
    pub state: ServiceState,
    pub state_since: DateTime<Utc>,
    pub paused: bool,
    /// The newest results, oldest first (at most [`RESULT_BAR`]).
    pub recent: Vec<CheckResult>,
    /// Share of successful checks over 24 hours, 7 days and 30 days.
    pub uptime: [Option<f64>; 3],
    pub incident: Option<Incident>,
    pub certificate_expires_at: Option<DateTime<Utc>>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub in_maintenance: bool,
}

/// One service in full: its latencies, incidents and maintenance windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub summary: ServiceSummary,
    /// (hour, mean latency ms, checks, failures) over the last 7 days.
    pub latency: Vec<(DateTime<Utc>, Option<f64>, i64, i64)>,
    pub incidents: Vec<Incident>,
    pub maintenance: Vec<MaintenanceWindow>,
}

/// What an alert rule watches and whom it tells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AlertRuleDefinition {
    pub name: String,
    pub kind: AlertKind,
    /// The explorer query string it watches (match, count).
    pub query: String,
    /// Count rules: fire at this many events within the window.
    pub threshold: Option<i32>,
    pub window_seconds: Option<i32>,
    pub group_by: Option<GroupBy>,
    /// Service rules: one service, or all.
    pub service_id: Option<i64>,
    pub channel_ids: Vec<i64>,
    pub renotify_seconds: i32,
    pub notify_resolved: bool,
}

/// What the view of an alert rule matched over the last `days` days (UTC),
/// counted as the rule counts: every environment the view names, Vigil's own too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewActivity {
    pub days: u32,
    pub total: i64,
    /// The most events of one day.
    pub busiest_day: i64,
}

impl ViewActivity {
    /// "It matched 1,204 events in the last 7 days, at most 450 in a day."
    pub fn describe(&self) -> String {
        match self.total {
            0 => format!("It matched no event in the last {} days.", self.days),
            total => format!(
                "It matched {} events in the last {} days, at most {} in a day.",
                super::thousands(total),
                self.days,
                super::thousands(self.busiest_day)
            ),
        }
    }
}

/// A count rule replayed on the last `days` days of its view's events: each
/// time a group's count within the window reached the threshold from below
/// (the window sliding from event to event), as the rule would have started
/// firing. Re-notifications while it fires are not counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertReplay {
    pub days: u32,
    /// What was replayed: "≥ 5 events in 10 min per user".
    pub condition: String,
    pub per: Option<GroupBy>,
    /// Times a group started firing.
    pub fired: i64,
    /// Groups that fired (one for a rule that does not group).
    pub groups: i64,
    /// The group that fired most often, and how often.
    pub most: Option<(String, i64)>,
    /// When it would have started firing last.
    pub last: Option<DateTime<Utc>>,
}

impl AlertReplay {
    /// "With ≥ 5 events in 10 min per user, it would have fired 12 times in
    /// the last 7 days, for 4 users, most often for ann@example.com (5
    /// times)."; the page adds when it fired last.
    pub fn describe(&self) -> String {
        let (condition, days) = (&self.condition, format!("in the last {} days", self.days));
        let times = |n: i64| match n {
            1 => "once".to_string(),
            2 => "twice".to_string(),
            n => format!("{} times", super::thousands(n)),
        };
        match (self.fired, self.per, &self.most) {
            (0, ..) => format!("With {condition}, it would not have fired {days}."),
            (fired, Some(per), Some((group, most))) => {
                let noun = per.noun(self.groups);
                let group = if group.is_empty() { "events without one" } else { group };
                let most = match (self.groups, *most) {
                    (1, _) => format!(" ({group})"),
                    (_, 1) => String::new(),
                    (_, most) => format!(", most often for {group} ({})", times(most)),
                };
                format!("With {condition}, it would have fired {} {days}, for {} {noun}{most}.", times(fired), super::thousands(self.groups))
            }
            (fired, ..) => format!("With {condition}, it would have fired {} {days}.", times(fired)),
        }
    }
}

/// What saving an alert rule gave: its id (none for a check that saved
/// nothing) and, for a check, how the rule would have fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedAlertRule {
    pub id: Option<i64>,
    pub replay: Option<AlertReplay>,
}

impl SavedAlertRule {
    /// Whether the rule was stored (not only checked).
    pub fn stored(&self) -> bool {
        self.id.is_some()
    }
}

impl GroupBy {
    /// What `n` groups are: "user", "users", "IP addresses".
    pub fn noun(self, n: i64) -> &'static str {
        match (self, n) {
            (GroupBy::User, 1) => "user",
            (GroupBy::User, _) => "users",
            (GroupBy::Ip, 1) => "IP address",
            (GroupBy::Ip, _) => "IP addresses",
            (GroupBy::Environment, 1) => "environment",
            (GroupBy::Environment, _) => "environments",
            (GroupBy::Organization, 1) => "organization",
            (GroupBy::Organization, _) => "organizations",
            (GroupBy::App, 1) => "app",
            (GroupBy::App, _) => "apps",
        }
    }
}

/// A count rule's window as people say it: "15 min", "2 h", "1 day", "7 days".
pub fn window_label(seconds: i32) -> String {
    let minutes = seconds / 60;
    match minutes {
        m if m >= 1440 && m % 1440 == 0 => match m / 1440 {
            1 => "1 day".into(),
            days => format!("{days} days"),
        },
        m if m >= 60 && m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

impl AlertRuleDefinition {
    /// Its fields by name, as they are serialised and as `alert_rules` names
    /// their columns (the audit of a change and the store's SQL read them).
    pub const FIELDS: [&'static str; 10] =
        ["name", "kind", "query", "threshold", "window_seconds", "group_by", "service_id", "channel_ids", "renotify_seconds", "notify_resolved"];

    /// A count rule's condition: "≥ 5 events in 10 min per user".
    pub fn count_condition(&self) -> String {
        let per = self.group_by.map(|g| format!(" per {}", g.noun(1))).unwrap_or_default();
        let threshold = self.threshold.unwrap_or(0);
        let events = if threshold == 1 { "event" } else { "events" };
        format!("≥ {threshold} {events} in {}{per}", window_label(self.window_seconds.unwrap_or(0)))
    }

    /// A rule with the documented defaults: no channel (the Alerts page
    /// only), re-notify hourly, notify when resolved.
    pub fn new(name: impl Into<String>, kind: AlertKind, query: impl Into<String>) -> Self {
        AlertRuleDefinition {
            name: name.into(),
            kind,
            query: query.into(),
            threshold: None,
            window_seconds: None,
            group_by: None,
            service_id: None,
            channel_ids: Vec::new(),
            renotify_seconds: 3600,
            notify_resolved: true,
        }
    }
}

/// One group of a rule that is firing now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiringGroup {
    /// '' when the rule is not grouped.
    pub group: String,
    pub since: DateTime<Utc>,
    pub count: i64,
    pub last_notified_at: Option<DateTime<Utc>>,
}

/// A rule as the Alerts page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: i64,
    pub definition: AlertRuleDefinition,
    pub muted_until: Option<DateTime<Utc>>,
    pub firing: Vec<FiringGroup>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A rule started or kept firing, or resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub group: String,
    /// firing, renotify or resolved.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub count: i64,
    pub event_ids: Vec<String>,
    pub summary: String,
    /// Recorded while the rule was muted: nobody was told.
    pub muted: bool,
}

/// Where notifications go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    /// The webhook's URL or the recipients.
    pub destination: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// One notification to one channel, with the last attempt's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub channel: String,
    pub rule: String,
    pub summary: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
}

/// The SMTP server e-mail channels use (the password is never sent back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: i32,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub has_password: bool,
    pub sender: String,
}

/// What the Alerts page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsOverview {
    pub now: DateTime<Utc>,
    pub rules: Vec<AlertRule>,
    pub history: Vec<AlertHistoryEntry>,
    pub channels: Vec<Channel>,
    /// (id, name) of every service, for service rules.
    pub services: Vec<(i64, String)>,
    /// How long an any-match rule gathers matches after notifying (0: it does not).
    pub gather_seconds: i64,
}

/// What Settings → Channels shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelsOverview {
    pub now: DateTime<Utc>,
    pub channels: Vec<Channel>,
    /// (channel id, rule name): the rules that notify each channel.
    pub used_by: Vec<(i64, String)>,
    pub deliveries: Vec<Delivery>,
    pub smtp: Option<SmtpSettings>,
}

#[cfg(test)]
mod tests {
    use super::{window_label, GroupBy};

    #[test]
    fn a_views_activity_reads_as_a_sentence() {
        let activity = |total, busiest_day| super::ViewActivity { days: 7, total, busiest_day }.describe();
        assert_eq!(activity(0, 0), "It matched no event in the last 7 days.");
        assert_eq!(activity(1_204, 450), "It matched 1,204 events in the last 7 days, at most 450 in a day.");
    }

    #[test]
    fn a_replayed_rule_reads_as_a_sentence() {
        let replay = |per: Option<GroupBy>, fired, groups, most: Option<(&str, i64)>| {
            let most = most.map(|(g, n)| (g.to_string(), n));
            let mut rule = super::AlertRuleDefinition::new("", super::AlertKind::Count, "");
            (rule.threshold, rule.window_seconds, rule.group_by) = (Some(5), Some(600), per);
            super::AlertReplay { days: 7, condition: rule.count_condition(), per, fired, groups, most, last: None }.describe()
        };
        assert_eq!(replay(None, 0, 0, None), "With ≥ 5 events in 10 min, it would not have fired in the last 7 days.");
        assert_eq!(replay(None, 1, 1, Some(("", 1))), "With ≥ 5 events in 10 min, it would have fired once in the last 7 days.");
        assert_eq!(replay(None, 1_204, 1, Some(("", 1_204))), "With ≥ 5 events in 10 min, it would have fired 1,204 times in the last 7 days.");
        assert_eq!(
            replay(Some(GroupBy::User), 12, 4, Some(("ann@example.com", 5))),
            "With ≥ 5 events in 10 min per user, it would have fired 12 times in the last 7 days, for 4 users, most often for ann@example.com (5 times)."
        );
        assert_eq!(
            replay(Some(GroupBy::Ip), 2, 1, Some(("10.0.0.1", 2))),
            "With ≥ 5 events in 10 min per IP address, it would have fired twice in the last 7 days, for 1 IP address (10.0.0.1)."
        );
        assert_eq!(
            replay(Some(GroupBy::Ip), 2, 2, Some(("10.0.0.1", 1))),
            "With ≥ 5 events in 10 min per IP address, it would have fired twice in the last 7 days, for 2 IP addresses."
        );
        assert_eq!(
            replay(Some(GroupBy::User), 3, 2, Some(("", 2))),
            "With ≥ 5 events in 10 min per user, it would have fired 3 times in the last 7 days, for 2 users, most often for events without one (twice)."
        );
    }

    #[test]
    fn a_count_condition_reads_as_people_say_it() {
        let condition = |threshold, window, per| {
            let mut rule = super::AlertRuleDefinition::new("", super::AlertKind::Count, "");
            (rule.threshold, rule.window_seconds, rule.group_by) = (Some(threshold), Some(window), per);
            rule.count_condition()
        };
        assert_eq!(condition(1, 180, Some(GroupBy::User)), "≥ 1 event in 3 min per user");
        assert_eq!(condition(20, 86_400, Some(GroupBy::Ip)), "≥ 20 events in 1 day per IP address");
        assert_eq!(condition(5, 3_600, None), "≥ 5 events in 1 h");
    }

    #[test]
    fn a_window_reads_in_the_largest_whole_unit() {
        let labels: Vec<String> = [300, 5_400, 3_600, 7_200, 86_400, 604_800, 90_000].into_iter().map(window_label).collect();
        assert_eq!(labels, ["5 min", "90 min", "1 h", "2 h", "1 day", "7 days", "25 h"]);
    }
}
