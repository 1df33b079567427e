//! How a service looks everywhere it is shown: its state badge, its check in
//! words, the bar of its recent results, and its uptime.

use leptos::prelude::*;

use crate::model::{absolute_time, CheckResult, ServiceDefinition, ServiceState};

#[component]
pub fn StateBadge(state: ServiceState, paused: bool) -> impl IntoView {
    let (class, label) = match (paused, state) {
        (true, _) => ("badge state-paused", "paused"),
        (_, ServiceState::Up) => ("badge state-up", "up"),
        (_, ServiceState::Down) => ("badge state-down", "down"),
        (_, ServiceState::Unknown) => ("badge state-unknown", "no data yet"),
    };
    view! { <span class=class data-state=state.as_str()>{label}</span> }
}

/// One mark per result, oldest first, coloured by outcome; the tooltip has
/// the time, latency and error.
#[component]
pub fn ResultBar(results: Vec<CheckResult>) -> impl IntoView {
    let total = results.len();
    let failed = results.iter().filter(|r| !r.ok).count();
    let label = format!("last {total} checks: {failed} failed");
    view! {
        <div class="result-bar" role="img" aria-label=label data-results=total>
            {results.into_iter().map(|r| {
                let class = match (r.ok, r.in_maintenance) {
                    (true, _) => "mark ok",
                    (false, true) => "mark maintenance",
                    (false, false) => "mark failed",
                };
                let latency = r.latency_ms.map(|l| format!(" · {l} ms")).unwrap_or_default();
                let status = r.status.map(|s| format!(" · HTTP {s}")).unwrap_or_default();
                let error = r.error.as_ref().map(|e| format!("\n{e}")).unwrap_or_default();
                let title = format!("{}{latency}{status}{error}", absolute_time(r.checked_at));
                view! { <span class=class title=title></span> }
            }).collect_view()}
        </div>
    }
}

/// "99.95 %", or a dash before the window began.
pub fn uptime_label(uptime: Option<f64>) -> String {
    match uptime {
        Some(u) if u >= 0.99995 => "100 %".into(),
        Some(u) => format!("{:.2} %", (u * 100.0).max(0.0)),
        None => "—".into(),
    }
}

/// "http https://… · every 60 s"; "heartbeat · every 60 s".
pub fn describe_check(d: &ServiceDefinition) -> String {
    let what = if d.target.is_empty() { d.kind.to_string() } else { format!("{} {}", d.kind, d.target) };
    format!("{what} · every {} s", d.interval_seconds)
}
