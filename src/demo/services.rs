//! The demo's availability checks and alerts: the console itself (up), a
//! legacy billing service with three days of flapping history that goes down
//! again a few minutes after the server starts, and alert rules that fire on
//! the demo's events and on that service.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;

use crate::model::{AlertKind, AlertRuleDefinition, CheckKind, CheckResult, GroupBy, ServiceDefinition, ServiceState};
use crate::store::monitor::{Counters, SeededHistory};

/// Days of results seeded before now, one every [`SEEDED_EVERY`].
const SEEDED_DAYS: i64 = 3;
const SEEDED_EVERY: Duration = Duration::minutes(5);

fn definition(name: &str, environment: &str, kind: CheckKind, target: String, keyword: Option<&str>) -> ServiceDefinition {
    ServiceDefinition { keyword: keyword.map(String::from), timeout_ms: 3_000, ..ServiceDefinition::new(name, environment, kind, target) }
}

/// Seed the demo services and rules, unless a service exists already.
pub async fn seed(pool: &PgPool, console_addr: &str, seed: u64) -> anyhow::Result<()> {
    if crate::store::monitor::any(pool).await? {
        return Ok(());
    }
    let now = Utc::now();
    let since = now - Duration::days(SEEDED_DAYS);
    let days: Vec<_> = (0..=SEEDED_DAYS).map(|d| (since + Duration::days(d)).date_naive()).collect();
    crate::store::monitor::ensure_result_partitions(pool, &days).await?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let console = definition("Vigil console", "production", CheckKind::Http, format!("http://{console_addr}/login"), Some("Vigil"));
    let console_id = crate::store::monitor::insert(pool, &console, None, now, "demo").await?;
    crate::store::monitor::seed_history(pool, console_id, &history(&console, since, now, &mut rng, 0.0)).await?;
    // Port 9 (discard) is closed here: the live checks fail, as they did now and then before.
    let billing = definition("Legacy billing", "staging", CheckKind::Tcp, "127.0.0.1:9".into(), None);
    let billing_id = crate::store::monitor::insert(pool, &billing, None, now, "demo").await?;
    crate::store::monitor::seed_history(pool, billing_id, &history(&billing, since, now, &mut rng, 0.02)).await?;
    let rules = rules(billing_id);
    for rule in &rules {
        crate::store::alerts::insert_rule(pool, rule, "demo").await?;
    }
    println!("demo: added 2 services (Vigil console, Legacy billing) and {} alert rules", rules.len());
    Ok(())
}

/// Results of `service` every few minutes from `since` to `now`; outages
/// start with probability `flakiness` per result and last 10 to 40 minutes,
/// all over before `now`. The service is left in the state its results lead
/// to (up), as the checker would.
fn history(service: &ServiceDefinition, since: DateTime<Utc>, now: DateTime<Utc>, rng: &mut SmallRng, flakiness: f64) -> SeededHistory {
    let unknown = Counters { state: ServiceState::Unknown, state_since: since, failures_in_row: 0, successes_in_row: 0, certificate_warned_for: None };
    let mut seeded = SeededHistory { created_at: since, results: Vec::new(), incidents: Vec::new(), counters: unknown };
    let mut at = since;
    let mut down_until: Option<DateTime<Utc>> = None;
    while at < now - SEEDED_EVERY {
        if down_until.is_none() && rng.gen_bool(flakiness) {
            let until = at + Duration::minutes(rng.gen_range(10..=40));
            // Every seeded outage is over: what is down now, the live checks find.
            if until < now - SEEDED_EVERY * 2 {
                seeded.incidents.push((at, until, "connection refused (os error 111)".to_string()));
                down_until = Some(until);
            }
        }
        let ok = down_until.is_none_or(|until| at >= until);
        if ok {
            down_until = None;
        }
        seeded.results.push(CheckResult {
            checked_at: at,
            ok,
            latency_ms: Some(if ok { rng.gen_range(2..40) } else { 3_000 }),
            status: None,
            error: (!ok).then(|| "connection refused (os error 111)".to_string()),
            in_maintenance: false,
        });
        at += SEEDED_EVERY;
    }
    seeded.counters = seeded.results.iter().fold(seeded.counters.clone(), |counters, r| {
        crate::monitor::next(&counters, r.ok, r.in_maintenance, service.down_after, service.up_after, r.checked_at).0
    });
    seeded
}

fn rules(billing_id: i64) -> Vec<AlertRuleDefinition> {
    vec![
        AlertRuleDefinition::new("Access denied in production", AlertKind::Match, "env=production&outcome=denied"),
        AlertRuleDefinition {
            threshold: Some(5),
            window_seconds: Some(86_400),
            ..AlertRuleDefinition::new("Failed sign-ins over a day", AlertKind::Count, "type=session.sign_in&outcome=failure")
        },
        AlertRuleDefinition { service_id: Some(billing_id), ..AlertRuleDefinition::new("Legacy billing is down", AlertKind::ServiceDown, "") },
        AlertRuleDefinition { window_seconds: Some(3 * 3600), ..AlertRuleDefinition::new("Development went quiet", AlertKind::Silence, "env=development") },
        AlertRuleDefinition {
            window_seconds: Some(2 * 3600),
            group_by: Some(GroupBy::App),
            ..AlertRuleDefinition::new("A production app went quiet", AlertKind::Silence, "env=production")
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_history_leaves_its_service_up_with_every_outage_over() {
        let now = Utc::now();
        let since = now - Duration::days(SEEDED_DAYS);
        let service = definition("Flaky", "staging", CheckKind::Tcp, "127.0.0.1:9".into(), None);
        let seeded = history(&service, since, now, &mut SmallRng::seed_from_u64(7), 0.3);
        assert!(seeded.incidents.len() > 20, "only {} outages", seeded.incidents.len());
        assert!(seeded.incidents.iter().all(|(_, ended, _)| *ended < now));
        assert_eq!(seeded.counters.state, ServiceState::Up);
        let last_failure = seeded.results.iter().rev().find(|r| !r.ok).map(|r| r.checked_at);
        assert!(last_failure.is_some_and(|at| seeded.counters.state_since > at), "up since the last outage ended");
    }
}
