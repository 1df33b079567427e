//! Alerts: rules evaluated on what Vigil sees, their state per group
//! (ok → firing → ok) and the notifications they queue.
//!
//! - "Any match" rules follow the ledger of committed batches in order (all
//!   rules in one pass over the new events), each batch exactly once:
//!   the position moves in the transaction that writes the history and queues
//!   the notifications. A rule's first match notifies at once; matches within
//!   the gathering interval after a notification are held in its state and
//!   notified together once the interval has passed (a steady trickle of
//!   matches notifies once a minute, not at every evaluation). The rule
//!   resolves after its re-notify interval passes without a notification.
//! - Count rules (events of a view within a window, per group), silence
//!   rules (no event of a view within a window; per environment,
//!   organization or app, each that sent such events lately and stopped) and
//!   service rules (a service is down, a certificate expires soon) are
//!   evaluated every few seconds: a group that starts firing notifies,
//!   re-notifies every interval while it fires, and notifies when it resolves.
//!
//! Muted rules keep their state and history but queue nothing. Delivery is in
//! `deliver`; the SQL in `store::alerts` and `query::alerts`.

pub mod deliver;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgConnection;

use crate::model::{AlertKind, EventFilter, GroupBy, CERTIFICATE_WARNING_DAYS};
use crate::query::alerts::IDS_PER_NOTIFICATION;
use crate::state::AppState;
use crate::store::alerts::{self as store, GroupState, NewHistory, RuleRow};
use crate::store::ledger::{self, Position};

/// Events one evaluation of the ledger covers at most (whole batches).
const STEP_EVENTS: i64 = 20_000;
/// How often count and service rules are evaluated.
pub const WINDOW_EVERY: Duration = Duration::from_secs(5);
/// The ledger follower's name.
const CONSUMER: &str = "alerts";

/// A rule's condition in one group, as found now.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub group: String,
    pub count: i64,
    pub event_ids: Vec<String>,
    pub summary: String,
}

/// Run until the process ends: follow the ledger, evaluate windows every
/// [`WINDOW_EVERY`], and send what is due.
pub async fn run(state: AppState) {
    let tick = Duration::from_millis(state.config.monitor.monitor_tick_ms.max(1));
    let deliverer = deliver::Deliverer::new(&state);
    let mut last_window: Option<Instant> = None;
    loop {
        let now = Utc::now();
        let followed = match follow_ledger(&state, now).await {
            Ok(batches) => batches,
            Err(error) => {
                tracing::warn!(%error, "alerts: evaluating new batches failed");
                0
            }
        };
        if last_window.is_none_or(|at| at.elapsed() >= WINDOW_EVERY) {
            if let Err(error) = evaluate_windows(&state, now).await {
                tracing::warn!(%error, "alerts: evaluating count and service rules failed");
            }
            last_window = Some(Instant::now());
        }
        if let Err(error) = deliverer.deliver_due(&state, Utc::now()).await {
            tracing::warn!(%error, "alerts: delivering notifications failed");
        }
        // A full step means more is waiting: go on at once. Otherwise wait a
        // tick, so that one evaluation covers what arrived meanwhile.
        if followed < STEP_EVENTS {
            tokio::time::sleep(tick).await;
        }
    }
}

/// Evaluate the any-match rules on the committed batches after the
/// evaluator's position; the number of events they held.
pub async fn follow_ledger(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let mut tx = state.pool.begin().await?;
    if !store::try_lock(&mut tx, store::MATCH_LOCK).await? {
        return Ok(0);
    }
    let position = ledger::position(&mut tx, CONSUMER).await?;
    let batches = ledger::next_batches(&mut tx, position, STEP_EVENTS).await?;
    let Some(last) = batches.last() else {
        return Ok(0);
    };
    let end = Position { xid: last.xid, batch_id: last.batch_id };
    let ranges: Vec<(i64, i64)> = batches.iter().map(|b| (b.seq_from, b.seq_to)).collect();
    let rules = store::rules(&mut tx, &[AlertKind::Match.as_str()]).await?;
    let filters: Vec<EventFilter> = rules.iter().map(|rule| watched(&rule.definition.query)).collect();
    let found = crate::query::alerts::matches_in(&mut tx, &filters, &ranges).await?;
    let gather = gather_interval(state);
    for (rule, (count, event_ids)) in rules.iter().zip(found) {
        if count > 0 {
            notify_matches(&mut tx, rule, gather, (count, event_ids), now).await?;
        }
    }
    ledger::set_position(&mut tx, CONSUMER, end).await?;
    tx.commit().await?;
    Ok(batches.iter().map(|b| i64::from(b.events)).sum())
}

/// Evaluate count and service rules at `now`, and resolve any-match rules
/// that have been quiet for their re-notify interval. One instance at a time.
pub async fn evaluate_windows(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<()> {
    let mut tx = state.pool.begin().await?;
    if !store::try_lock(&mut tx, store::WINDOW_LOCK).await? {
        return Ok(());
    }
    let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    let gather = gather_interval(state);
    for rule in store::rules(&mut tx, &kinds).await? {
        let findings = match rule.definition.kind {
            AlertKind::Match => {
                settle_matches(&mut tx, &rule, gather, now).await?;
                continue;
            }
            AlertKind::Count => count_findings(&mut tx, &rule, now).await?,
            AlertKind::Silence => silence_findings(state, &mut tx, &rule, now).await?,
            AlertKind::ServiceDown => service_findings(&mut tx, &rule).await?,
            AlertKind::Certificate => certificate_findings(&mut tx, &rule, now).await?,
        };
        apply(&mut tx, &rule, findings, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How long an any-match rule gathers matches after notifying.
fn gather_interval(state: &AppState) -> TimeDelta {
    TimeDelta::seconds(state.config.monitor.alert_gather_seconds)
}

async fn count_findings(conn: &mut PgConnection, rule: &RuleRow, now: DateTime<Utc>) -> sqlx::Result<Vec<Finding>> {
    let def = &rule.definition;
    let (Some(threshold), Some(window)) = (def.threshold, def.window_seconds) else {
        return Ok(Vec::new());
    };
    let filter = watched(&def.query);
    let from = now - chrono::Duration::seconds(i64::from(window));
    let groups = crate::query::alerts::counts_over(conn, &filter, def.group_by, from, now, i64::from(threshold)).await?;
    let keys: Vec<String> = groups.iter().map(|(group, ..)| group.clone()).collect();
    let of = for_group(conn, def.group_by, keys).await?;
    Ok(groups
        .into_iter()
        .map(|(group, count, event_ids)| {
            let of = of(&group);
            let (n, window) = (crate::model::thousands(count), crate::model::window_label(window));
            let summary = format!("{n} events in {window} (threshold {threshold}){of}: \"{}\"", def.name);
            Finding { group, count, event_ids, summary }
        })
        .collect())
}

/// A silence rule's findings at `now`: its one group when no event matched
/// its view within its window; per environment, organization or app, each
/// that went quiet (`query::alerts::quiet_sources`).
async fn silence_findings(state: &AppState, conn: &mut PgConnection, rule: &RuleRow, now: DateTime<Utc>) -> sqlx::Result<Vec<Finding>> {
    let def = &rule.definition;
    let Some(window) = def.window_seconds else {
        return Ok(Vec::new());
    };
    let from = now - chrono::Duration::seconds(i64::from(window));
    let filter = watched(&def.query);
    let quiet = match def.group_by {
        None if crate::query::alerts::any_in(conn, &filter, from, now).await? => Vec::new(),
        None => vec![String::new()],
        Some(per) => crate::query::alerts::quiet_sources(&state.pool, conn, &state.past_counts, &filter, per, (from, now)).await?,
    };
    let window = crate::model::window_label(window);
    let of = for_group(conn, def.group_by, quiet.clone()).await?;
    Ok(quiet
        .into_iter()
        .map(|group| {
            let of = of(&group);
            let summary = format!("no event in {window}{of}: \"{}\"", def.name);
            Finding { group, count: 0, event_ids: Vec::new(), summary }
        })
        .collect())
}

/// How a rule's summaries name one of its groups: " for " a user or an
/// address as its key, an environment as "environment production", an
/// organization or app by its name as last seen, with its id ("app Billing
/// Portal (app_billing)"); nothing for the one group of an ungrouped rule.
async fn for_group(conn: &mut PgConnection, per: Option<GroupBy>, groups: Vec<String>) -> sqlx::Result<impl Fn(&str) -> String> {
    let kind = match per {
        Some(GroupBy::Organization) => Some("organization"),
        Some(GroupBy::App) => Some("app"),
        _ => None,
    };
    let names = match kind {
        Some(kind) => crate::query::names_of(conn, &crate::model::Scope::everything(), kind, groups).await?,
        None => HashMap::new(),
    };
    Ok(move |group: &str| match (per, names.get(group)) {
        _ if group.is_empty() => String::new(),
        (Some(per), Some(name)) if name != group => format!(" for {} {name} ({group})", per.noun(1)),
        (Some(per), _) if per.is_source() => format!(" for {} {group}", per.noun(1)),
        _ => format!(" for {group}"),
    })
}

/// The view a rule watches, over all data (rules are administrators').
pub fn watched(query: &str) -> EventFilter {
    EventFilter { scope: crate::model::Scope::everything(), ..EventFilter::from_query(query) }
}

async fn service_findings(conn: &mut PgConnection, rule: &RuleRow) -> sqlx::Result<Vec<Finding>> {
    let down = crate::store::monitor::down(conn).await?;
    Ok(down
        .into_iter()
        .filter(|(id, ..)| rule.definition.service_id.is_none_or(|wanted| wanted == *id))
        .map(|(_, name, since, reason)| {
            let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
            let summary = format!("{name} is down since {} UTC{why}", since.format("%Y-%m-%d %H:%M"));
            Finding { group: name, count: 1, event_ids: Vec::new(), summary }
        })
        .collect())
}

async fn certificate_findings(conn: &mut PgConnection, rule: &RuleRow, now: DateTime<Utc>) -> sqlx::Result<Vec<Finding>> {
    let soon = now + chrono::Duration::days(CERTIFICATE_WARNING_DAYS);
    let expiring = crate::store::monitor::expiring_certificates(conn, soon).await?;
    Ok(expiring
        .into_iter()
        .filter(|(id, ..)| rule.definition.service_id.is_none_or(|wanted| wanted == *id))
        .map(|(_, name, _, expiry)| {
            let summary = format!("the TLS certificate of {name} expires {} UTC", expiry.format("%Y-%m-%d %H:%M"));
            Finding { group: name, count: 1, event_ids: Vec::new(), summary }
        })
        .collect())
}

fn muted(rule: &RuleRow, now: DateTime<Utc>) -> bool {
    rule.muted_until.is_some_and(|until| until > now)
}

/// Write a history line, queued for the rule's channels unless it is muted.
async fn note(conn: &mut PgConnection, rule: &RuleRow, kind: &'static str, finding: &Finding, now: DateTime<Utc>) -> sqlx::Result<()> {
    let quiet = kind == "resolved" && !rule.definition.notify_resolved;
    let channels: &[i64] = if quiet { &[] } else { &rule.definition.channel_ids };
    let history = NewHistory {
        rule_id: rule.id,
        group_key: &finding.group,
        kind,
        at: now,
        count: finding.count,
        event_ids: &finding.event_ids,
        summary: &finding.summary,
        muted: muted(rule, now),
    };
    store::record(conn, &history, channels).await.map(drop)
}

/// New matches of an any-match rule (how many, the first ids): notified at
/// once when the rule has not notified within the gathering interval
/// (`VIGIL_ALERT_GATHER_SECONDS`), with any it held; otherwise held for the
/// next notification ([`settle_matches`]).
async fn notify_matches(
    conn: &mut PgConnection,
    rule: &RuleRow,
    gather: TimeDelta,
    (count, event_ids): (i64, Vec<String>),
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let firing = store::firing(conn, rule.id).await?.into_iter().next();
    let mut state = firing.unwrap_or(GroupState { since: now, ..GroupState::default() });
    state.count += count;
    state.held += count;
    let room = (IDS_PER_NOTIFICATION as usize).saturating_sub(state.held_event_ids.len());
    state.held_event_ids.extend(event_ids.into_iter().take(room));
    if quiet_for(&state, gather, now) {
        notify_held(conn, rule, &mut state, now).await?;
    }
    store::set_firing(conn, rule.id, &state).await
}

/// Whether a group has not notified for `interval` (or ever) at `now`.
fn quiet_for(state: &GroupState, interval: TimeDelta, now: DateTime<Utc>) -> bool {
    state.last_notified_at.is_none_or(|at| now - at >= interval)
}

/// Notify of the matches a group holds, which it then holds no more.
async fn notify_held(conn: &mut PgConnection, rule: &RuleRow, state: &mut GroupState, now: DateTime<Utc>) -> sqlx::Result<()> {
    let noun = if state.held == 1 { "event matches" } else { "events match" };
    let summary = format!("{} new {noun} \"{}\"", crate::model::thousands(state.held), rule.definition.name);
    let event_ids = std::mem::take(&mut state.held_event_ids);
    let finding = Finding { group: state.group_key.clone(), count: std::mem::take(&mut state.held), event_ids, summary };
    note(conn, rule, "firing", &finding, now).await?;
    state.last_notified_at = Some(now);
    Ok(())
}

/// An any-match rule's groups at `now`: what a group holds is notified once
/// its gathering interval has passed; a group that holds nothing and has not
/// notified for its re-notify interval resolves.
async fn settle_matches(conn: &mut PgConnection, rule: &RuleRow, gather: TimeDelta, now: DateTime<Utc>) -> sqlx::Result<()> {
    let quiet = TimeDelta::seconds(i64::from(rule.definition.renotify_seconds));
    for mut group in store::firing(conn, rule.id).await? {
        if group.held > 0 && quiet_for(&group, gather, now) {
            notify_held(conn, rule, &mut group, now).await?;
            store::set_firing(conn, rule.id, &group).await?;
        } else if group.held == 0 && quiet_for(&group, quiet, now) {
            resolve(conn, rule, &group, now).await?;
        }
    }
    Ok(())
}

async fn resolve(conn: &mut PgConnection, rule: &RuleRow, group: &GroupState, now: DateTime<Utc>) -> sqlx::Result<()> {
    let of = for_group(conn, rule.definition.group_by, vec![group.group_key.clone()]).await?(&group.group_key);
    let summary = format!("\"{}\" resolved{of}", rule.definition.name);
    let finding = Finding { group: group.group_key.clone(), count: 0, event_ids: Vec::new(), summary };
    note(conn, rule, "resolved", &finding, now).await?;
    store::set_resolved(conn, rule.id, &group.group_key).await
}

/// Compare what a count or service rule finds now with its firing groups:
/// new groups fire, groups still firing re-notify after the interval, groups
/// no longer found resolve.
async fn apply(conn: &mut PgConnection, rule: &RuleRow, findings: Vec<Finding>, now: DateTime<Utc>) -> sqlx::Result<()> {
    let renotify = chrono::Duration::seconds(i64::from(rule.definition.renotify_seconds));
    let mut firing: HashMap<String, GroupState> = store::firing(conn, rule.id).await?.into_iter().map(|g| (g.group_key.clone(), g)).collect();
    for finding in findings {
        let (kind, since, notified) = match firing.remove(&finding.group) {
            None => (Some("firing"), now, Some(now)),
            Some(g) if quiet_for(&g, renotify, now) => (Some("renotify"), g.since, Some(now)),
            Some(g) => (None, g.since, g.last_notified_at),
        };
        if let Some(kind) = kind {
            note(conn, rule, kind, &finding, now).await?;
        }
        let state = GroupState { group_key: finding.group, since, last_notified_at: notified, count: finding.count, ..GroupState::default() };
        store::set_firing(conn, rule.id, &state).await?;
    }
    for (_, group) in firing {
        resolve(conn, rule, &group, now).await?;
    }
    Ok(())
}
