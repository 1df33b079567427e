//! Availability checks: the scheduler that claims due checks (a lease in
//! the database, so that with several instances each check runs once), runs
//! them with bounded concurrency, and records each result with the state it
//! leads to. A service goes down after `down_after` failures in a row and up
//! again after `up_after` successes; failures inside a maintenance window
//! change nothing. State changes and expiring certificates become events in
//! the service's environment. The checks are in `probe`, the SQL in `store::monitor`.

pub mod probe;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::audit::{Activity, Actor};
use crate::model::{Category, Outcome, ServiceState, CERTIFICATE_WARNING_DAYS};
use crate::state::AppState;
use crate::store::monitor::{self as store, Counters, DueCheck};
pub use probe::Prober;

/// Most checks claimed in one look.
const CLAIM_LIMIT: i64 = 500;

/// What a result did to a service's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Down,
    Up,
}

/// The counters after one result, and the state change it makes, if any.
/// A first success makes an unknown service up without a change to report.
pub fn next(c: &Counters, ok: bool, in_maintenance: bool, down_after: i32, up_after: i32, now: DateTime<Utc>) -> (Counters, Option<Change>) {
    let mut n = c.clone();
    if ok {
        n.successes_in_row += 1;
        n.failures_in_row = 0;
    } else {
        n.failures_in_row += 1;
        n.successes_in_row = 0;
    }
    let change = match c.state {
        ServiceState::Down if ok && n.successes_in_row >= up_after => Some(Change::Up),
        ServiceState::Unknown if ok => {
            n.state = ServiceState::Up;
            n.state_since = now;
            None
        }
        ServiceState::Up | ServiceState::Unknown if !ok && !in_maintenance && n.failures_in_row >= down_after => Some(Change::Down),
        _ => None,
    };
    if let Some(change) = change {
        n.state = if change == Change::Up { ServiceState::Up } else { ServiceState::Down };
        n.state_since = now;
    }
    (n, change)
}

/// The certificate expiry to raise an event for at `at`: one that expires
/// within [`CERTIFICATE_WARNING_DAYS`] and was not raised yet (a renewed
/// certificate that expires soon again is raised again).
pub fn to_warn(expires_at: Option<DateTime<Utc>>, warned_for: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    expires_at.filter(|expiry| *expiry - at < chrono::Duration::days(CERTIFICATE_WARNING_DAYS) && warned_for != Some(*expiry))
}

/// Run until the process ends: every tick, claim what is due and start it.
pub async fn run(state: AppState) {
    let tick = Duration::from_millis(state.config.monitor.monitor_tick_ms.max(1));
    let prober = Prober::default();
    let slots = Arc::new(Semaphore::new(state.config.monitor.check_concurrency.max(1)));
    loop {
        let free = slots.available_permits() as i64;
        if free > 0 {
            match store::claim_due(&state.pool, Utc::now(), free.min(CLAIM_LIMIT)).await {
                Ok(due) => {
                    for check in due {
                        let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
                        let (state, prober) = (state.clone(), prober.clone());
                        tokio::spawn(async move {
                            run_one(&state, &prober, check, None).await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "checks: claiming due checks failed"),
            }
        }
        tokio::time::sleep(tick).await;
    }
}

/// Run every check due at `now` and wait for them (tests, with a set clock);
/// how many ran.
pub async fn check_now(state: &AppState, prober: &Prober, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let due = store::claim_due(&state.pool, now, CLAIM_LIMIT).await?;
    let count = due.len();
    futures::future::join_all(due.into_iter().map(|check| run_one(state, prober, check, Some(now)))).await;
    Ok(count)
}

/// Check one service and record what it found; `now` is the clock's time
/// (the real one when `None`).
async fn run_one(state: &AppState, prober: &Prober, due: DueCheck, now: Option<DateTime<Utc>>) {
    let started = now.unwrap_or_else(Utc::now);
    let late_ms = (started - due.scheduled_for).num_milliseconds().clamp(0, i64::from(i32::MAX)) as i32;
    let mut probe = prober.check(&due.definition, due.last_heartbeat_at, started).await;
    if now.is_none() {
        probe.result.checked_at = Utc::now().max(started);
    }
    if let Err(error) = record(state, &due, probe, late_ms).await {
        tracing::warn!(%error, service = %due.definition.name, "checks: recording a result failed");
    }
}

/// Store a result with the counters and incident it leads to, then raise the
/// events of a state change or an expiring certificate.
async fn record(state: &AppState, due: &DueCheck, mut probe: probe::Probe, late_ms: i32) -> anyhow::Result<()> {
    let at = probe.result.checked_at;
    let mut tx = state.pool.begin().await?;
    let Some((counters, in_maintenance)) = store::lock_counters(&mut tx, due.id, at).await? else {
        return Ok(());
    };
    probe.result.in_maintenance = in_maintenance;
    let def = &due.definition;
    let (mut next_counters, change) = next(&counters, probe.result.ok, probe.result.in_maintenance, def.down_after, def.up_after, at);
    let expiring = to_warn(probe.certificate_expires_at, counters.certificate_warned_for, at);
    if let Some(expiry) = expiring {
        next_counters.certificate_warned_for = Some(expiry);
    }
    store::insert_result(&mut tx, due.id, &probe.result, late_ms).await?;
    let reason = probe.result.error.clone().unwrap_or_default();
    match change {
        Some(Change::Down) => store::open_incident(&mut tx, due.id, at, &reason).await?,
        Some(Change::Up) => store::close_incident(&mut tx, due.id, at).await?,
        None => {}
    }
    store::save_counters(&mut tx, due.id, &next_counters, probe.certificate_expires_at).await?;
    tx.commit().await?;
    if let Some(change) = change {
        let activity = state_change(due, change, &probe.result, counters.state, at - counters.state_since);
        crate::audit::record(state, &Actor::system(), activity).await;
    }
    if let Some(expiry) = expiring {
        let activity = service_activity(due, "service.certificate_expiring", Outcome::Failure)
            .outcome(Outcome::Failure, format!("the TLS certificate expires {}", expiry.format("%Y-%m-%d %H:%M UTC")))
            .details(json!({"expires_at": expiry, "url": def.target}));
        crate::audit::record(state, &Actor::system(), activity).await;
    }
    Ok(())
}

fn service_activity(due: &DueCheck, event_type: &'static str, outcome: Outcome) -> Activity {
    let mut activity = Activity::new(event_type, Category::System)
        .target("service", due.id.to_string(), Some(due.definition.name.clone()))
        .recorded_in(due.definition.environment.clone(), "vigil-checks", "Vigil availability checks");
    activity.outcome = outcome;
    activity
}

fn state_change(due: &DueCheck, change: Change, result: &crate::model::CheckResult, previous: ServiceState, previous_lasted: chrono::Duration) -> Activity {
    let details = json!({
        "check": due.definition.kind,
        "target": due.definition.target,
        "latency_ms": result.latency_ms,
        "status": result.status,
        "previous_state_seconds": previous_lasted.num_seconds(),
    });
    match change {
        Change::Down => service_activity(due, "service.down", Outcome::Failure)
            .outcome(Outcome::Failure, result.error.clone().unwrap_or_else(|| "check failed".into()))
            .change("state", previous.as_str(), "down")
            .details(details),
        Change::Up => service_activity(due, "service.up", Outcome::Success)
            .change("state", "down", "up")
            .details(details),
    }
}

/// What the database keeps of a heartbeat token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// Results' partitions: this month and the next three exist, those past the
/// retention (`VIGIL_CHECK_RESULTS_DAYS`) are dropped. As the owner.
pub async fn keep_results(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let today = now.date_naive();
    let months: Vec<chrono::NaiveDate> = (0..4).map(|n| today + chrono::Months::new(n)).collect();
    store::ensure_result_partitions(&state.owner, &months).await?;
    let dropped = store::drop_old_results(&state.owner, now - chrono::Duration::days(state.config.monitor.check_results_days)).await?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(state: ServiceState) -> Counters {
        Counters { state, state_since: DateTime::UNIX_EPOCH, failures_in_row: 0, successes_in_row: 0, certificate_warned_for: None }
    }

    fn run(mut c: Counters, results: &[bool], maintenance: bool) -> (Counters, Vec<Change>) {
        let mut changes = Vec::new();
        for ok in results {
            let (n, change) = next(&c, *ok, maintenance, 3, 2, Utc::now());
            changes.extend(change);
            c = n;
        }
        (c, changes)
    }

    #[test]
    fn down_after_three_failures_up_after_two_successes() {
        let (c, changes) = run(counters(ServiceState::Up), &[false, false], false);
        assert_eq!((c.state, changes.len()), (ServiceState::Up, 0));
        let (c, changes) = run(c, &[false], false);
        assert_eq!((c.state, changes), (ServiceState::Down, vec![Change::Down]));
        let (c, changes) = run(c, &[false, true, false, true], false);
        assert_eq!((c.state, changes.len()), (ServiceState::Down, 0), "successes must be in a row");
        let (c, changes) = run(c, &[true], false);
        assert_eq!((c.state, changes), (ServiceState::Up, vec![Change::Up]));
    }

    #[test]
    fn a_certificate_is_raised_once_per_expiry_within_fourteen_days() {
        let at = Utc::now();
        let soon = at + chrono::Duration::days(13);
        assert_eq!(to_warn(Some(soon), None, at), Some(soon));
        assert_eq!(to_warn(Some(soon), Some(soon), at), None, "raised already");
        assert_eq!(to_warn(Some(at + chrono::Duration::days(15)), None, at), None);
        assert_eq!(to_warn(None, None, at), None);
        let renewed = at + chrono::Duration::days(10);
        assert_eq!(to_warn(Some(renewed), Some(soon), at), Some(renewed));
    }

    #[test]
    fn the_expiry_is_read_from_the_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2027, 1, 15);
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let expiry = probe::not_after(certificate.der()).unwrap();
        assert_eq!(expiry.format("%Y-%m-%d").to_string(), "2027-01-15");
        assert_eq!(probe::not_after(b"not a certificate"), None);
    }

    #[test]
    fn maintenance_keeps_a_failing_service_up_and_unknown_becomes_up_quietly() {
        let (c, changes) = run(counters(ServiceState::Up), &[false; 5], true);
        assert_eq!((c.state, changes.len()), (ServiceState::Up, 0));
        let (c, changes) = run(counters(ServiceState::Unknown), &[true], false);
        assert_eq!((c.state, changes.len()), (ServiceState::Up, 0));
        let (c, changes) = run(counters(ServiceState::Unknown), &[false; 3], false);
        assert_eq!((c.state, changes), (ServiceState::Down, vec![Change::Down]));
    }
}
