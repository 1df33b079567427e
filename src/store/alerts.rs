//! The SQL of alerts: rules, their state per group and history, channels,
//! the SMTP settings, and the outbox of deliveries the delivery worker sends.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection, PgPool};

use crate::model::{AlertHistoryEntry, AlertRule, AlertRuleDefinition, Channel, ChannelKind, Delivery, FiringGroup, SmtpSettings, TlsMode};

/// Advisory locks: one evaluator of new batches, and one of windows, across instances.
pub const MATCH_LOCK: i64 = 0x5649_474c_414c_3031;
pub const WINDOW_LOCK: i64 = 0x5649_474c_414c_3032;

/// Take an advisory lock for this transaction, if no one holds it.
pub async fn try_lock(conn: &mut PgConnection, lock: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select pg_try_advisory_xact_lock($1)").bind(lock).fetch_one(conn).await
}

/// The columns of [`AlertRuleDefinition`] (its fields), each after `prefix`.
fn rule_columns(prefix: &str) -> String {
    super::columns(&AlertRuleDefinition::FIELDS, prefix)
}

/// A rule as the evaluator reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RuleRow {
    pub id: i64,
    pub muted_until: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub definition: AlertRuleDefinition,
}

pub async fn insert_rule(pool: &PgPool, r: &AlertRuleDefinition, by: &str) -> sqlx::Result<i64> {
    let mut args = rule_arguments(r)?;
    args.add(by).map_err(sqlx::Error::Encode)?;
    let (columns, values) = (rule_columns(""), super::placeholders(1..=AlertRuleDefinition::FIELDS.len()));
    sqlx::query_scalar_with(&format!("insert into alert_rules ({columns}, created_by) values ({values}, $11) returning id"), args)
        .fetch_one(pool)
        .await
}

/// Replace a rule's definition; the definition before, if there is such a rule.
pub async fn update_rule(pool: &PgPool, id: i64, r: &AlertRuleDefinition) -> sqlx::Result<Option<AlertRuleDefinition>> {
    let mut args = rule_arguments(r)?;
    args.add(id).map_err(sqlx::Error::Encode)?;
    let (columns, values, before) = (rule_columns(""), super::placeholders(1..=AlertRuleDefinition::FIELDS.len()), rule_columns("before."));
    sqlx::query_as_with(
        &format!("update alert_rules r set ({columns}) = ({values}) from alert_rules before where r.id = $11 and before.id = r.id returning {before}"),
        args,
    )
    .fetch_optional(pool)
    .await
}

/// A definition's values in the order of [`rule_columns`], as the arguments `$1`–`$10` of a statement.
fn rule_arguments(r: &AlertRuleDefinition) -> sqlx::Result<PgArguments> {
    let mut args = PgArguments::default();
    let added = (|| {
        args.add(&r.name)?;
        args.add(r.kind)?;
        args.add(&r.query)?;
        args.add(r.threshold)?;
        args.add(r.window_seconds)?;
        args.add(r.group_by)?;
        args.add(r.service_id)?;
        args.add(&r.channel_ids)?;
        args.add(r.renotify_seconds)?;
        args.add(r.notify_resolved)
    })();
    added.map_err(sqlx::Error::Encode)?;
    Ok(args)
}

/// Delete a rule with its state and history; its name, if there was one.
pub async fn delete_rule(pool: &PgPool, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("delete from alert_rules where id = $1 returning name").bind(id).fetch_optional(pool).await
}

/// Mute a rule until a time (or unmute with `None`); its name and the previous mute.
pub async fn mute_rule(pool: &PgPool, id: i64, until: Option<DateTime<Utc>>) -> sqlx::Result<Option<(String, Option<DateTime<Utc>>)>> {
    sqlx::query_as(
        "update alert_rules r set muted_until = $2 from alert_rules old \
         where r.id = $1 and old.id = r.id returning r.name, old.muted_until",
    )
    .bind(id)
    .bind(until)
    .fetch_optional(pool)
    .await
}

/// The rules of these kinds, as the evaluator reads them.
pub async fn rules(conn: &mut PgConnection, kinds: &[&str]) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as(&format!("select id, muted_until, {} from alert_rules where kind = any($1) order by id", rule_columns("")))
        .bind(kinds)
        .fetch_all(conn)
        .await
}

/// Every rule with its firing groups, for the Alerts page.
pub async fn list_rules(pool: &PgPool) -> sqlx::Result<Vec<AlertRule>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        rule: RuleRow,
        created_at: DateTime<Utc>,
        created_by: String,
    }
    let rows: Vec<Row> =
        sqlx::query_as(&format!("select id, muted_until, created_at, created_by, {} from alert_rules order by name, id", rule_columns("")))
            .fetch_all(pool)
            .await?;
    let states: Vec<(i64, String, DateTime<Utc>, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select rule_id, group_key, since, count, last_notified_at from alert_states where firing order by rule_id, group_key",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| AlertRule {
            id: row.rule.id,
            firing: states
                .iter()
                .filter(|s| s.0 == row.rule.id)
                .map(|(_, group, since, count, last_notified_at)| FiringGroup {
                    group: group.clone(),
                    since: *since,
                    count: *count,
                    last_notified_at: *last_notified_at,
                })
                .collect(),
            definition: row.rule.definition,
            muted_until: row.rule.muted_until,
            created_at: row.created_at,
            created_by: row.created_by,
        })
        .collect())
}

/// A rule's state in one group.
#[derive(Clone, Debug, Default, PartialEq, sqlx::FromRow)]
pub struct GroupState {
    pub group_key: String,
    pub since: DateTime<Utc>,
    pub last_notified_at: Option<DateTime<Utc>>,
    pub count: i64,
    /// Matches of an any-match rule not notified yet, and the first ids of them.
    pub held: i64,
    pub held_event_ids: Vec<String>,
}

/// The groups of a rule that are firing, locked for this transaction.
pub async fn firing(conn: &mut PgConnection, rule_id: i64) -> sqlx::Result<Vec<GroupState>> {
    sqlx::query_as(
        "select group_key, since, last_notified_at, count, held, held_event_ids from alert_states \
         where rule_id = $1 and firing order by group_key for update",
    )
    .bind(rule_id)
    .fetch_all(conn)
    .await
}

/// Mark a group firing (or still firing) with its count and last notification.
pub async fn set_firing(conn: &mut PgConnection, rule_id: i64, state: &GroupState) -> sqlx::Result<()> {
    sqlx::query(
        "insert into alert_states (rule_id, group_key, firing, since, last_notified_at, count, held, held_event_ids) \
         values ($1, $2, true, $3, $4, $5, $6, $7) \
         on conflict (rule_id, group_key) do update set firing = true, since = excluded.since, \
             last_notified_at = excluded.last_notified_at, count = excluded.count, \
             held = excluded.held, held_event_ids = excluded.held_event_ids",
    )
    .bind(rule_id)
    .bind(&state.group_key)
    .bind(state.since)
    .bind(state.last_notified_at)
    .bind(state.count)
    .bind(state.held)
    .bind(&state.held_event_ids)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_resolved(conn: &mut PgConnection, rule_id: i64, group_key: &str) -> sqlx::Result<()> {
    sqlx::query("delete from alert_states where rule_id = $1 and group_key = $2")
        .bind(rule_id)
        .bind(group_key)
        .execute(conn)
        .await
        .map(drop)
}

/// One line of a rule's history, as written.
pub struct NewHistory<'a> {
    pub rule_id: i64,
    pub group_key: &'a str,
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub count: i64,
    pub event_ids: &'a [String],
    pub summary: &'a str,
    pub muted: bool,
}

/// Write a history line and, unless muted, queue it for each channel.
pub async fn record(conn: &mut PgConnection, h: &NewHistory<'_>, channel_ids: &[i64]) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "insert into alert_history (rule_id, group_key, kind, at, count, event_ids, summary, muted) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(h.rule_id)
    .bind(h.group_key)
    .bind(h.kind)
    .bind(h.at)
    .bind(h.count)
    .bind(h.event_ids)
    .bind(h.summary)
    .bind(h.muted)
    .fetch_one(&mut *conn)
    .await?;
    if !h.muted {
        sqlx::query(
            "insert into alert_deliveries (history_id, channel_id, next_attempt_at) \
             select $1, c.id, $3 from alert_channels c where c.id = any($2)",
        )
        .bind(id)
        .bind(channel_ids)
        .bind(h.at)
        .execute(conn)
        .await?;
    }
    Ok(id)
}

/// The newest history lines (of one rule, when given).
pub async fn history(pool: &PgPool, rule_id: Option<i64>, limit: i64) -> sqlx::Result<Vec<AlertHistoryEntry>> {
    let rows: Vec<(i64, i64, String, String, String, DateTime<Utc>, i64, Vec<String>, String, bool)> = sqlx::query_as(
        "select h.id, h.rule_id, r.name, h.group_key, h.kind, h.at, h.count, h.event_ids, h.summary, h.muted \
         from alert_history h join alert_rules r on r.id = h.rule_id \
         where $1::int8 is null or h.rule_id = $1 order by h.at desc, h.id desc limit $2",
    )
    .bind(rule_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, rule_id, rule_name, group, kind, at, count, event_ids, summary, muted)| AlertHistoryEntry {
            id,
            rule_id,
            rule_name,
            group,
            kind,
            at,
            count,
            event_ids,
            summary,
            muted,
        })
        .collect())
}

pub async fn insert_channel(pool: &PgPool, name: &str, kind: ChannelKind, destination: &str, secret: Option<&str>, by: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("insert into alert_channels (name, kind, destination, secret, created_by) values ($1, $2, $3, $4, $5) returning id")
        .bind(name)
        .bind(kind)
        .bind(destination)
        .bind(secret)
        .bind(by)
        .fetch_one(pool)
        .await
}

/// Change a channel's name and destination, and its secret when `secret` is
/// given (its kind stays); its name, destination and whether it had a secret
/// before, if there is such a channel.
pub async fn update_channel(pool: &PgPool, id: i64, name: &str, destination: &str, secret: Option<&str>) -> sqlx::Result<Option<(String, String, bool)>> {
    sqlx::query_as(
        "update alert_channels c set name = $2, destination = $3, secret = coalesce($4, c.secret) from alert_channels before \
         where c.id = $1 and before.id = c.id returning before.name, before.destination, before.secret is not null",
    )
    .bind(id)
    .bind(name)
    .bind(destination)
    .bind(secret)
    .fetch_optional(pool)
    .await
}

/// Delete a channel no alert rule notifies.
pub async fn delete_channel(pool: &PgPool, id: i64) -> sqlx::Result<super::Deletion> {
    super::delete_unless_used(&mut *pool.acquire().await?, "alert_channels", "$1 = any (channel_ids)", id).await
}

/// One channel's kind, destination and secret.
pub async fn channel(pool: &PgPool, id: i64) -> sqlx::Result<Option<(String, ChannelKind, String, Option<String>)>> {
    sqlx::query_as("select name, kind, destination, secret from alert_channels where id = $1").bind(id).fetch_optional(pool).await
}

/// (channel id, rule name) for every channel a rule notifies, by rule name.
pub async fn channel_rules(pool: &PgPool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("select unnest(channel_ids), name from alert_rules order by name").fetch_all(pool).await
}

pub async fn channels(pool: &PgPool) -> sqlx::Result<Vec<Channel>> {
    let rows: Vec<(i64, String, ChannelKind, String, DateTime<Utc>, String)> =
        sqlx::query_as("select id, name, kind, destination, created_at, created_by from alert_channels order by name")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kind, destination, created_at, created_by)| Channel { id, name, kind, destination, created_at, created_by })
        .collect())
}

/// The newest deliveries (to one channel, when given).
pub async fn deliveries(pool: &PgPool, channel_id: Option<i64>, limit: i64) -> sqlx::Result<Vec<Delivery>> {
    type Row = (i64, String, String, String, DateTime<Utc>, i32, Option<DateTime<Utc>>, Option<DateTime<Utc>>, DateTime<Utc>, Option<i32>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "select d.id, c.name, r.name, h.summary, d.created_at, d.attempts, d.delivered_at, d.failed_at, d.next_attempt_at, \
                d.last_status, d.last_response, d.last_error \
         from alert_deliveries d join alert_channels c on c.id = d.channel_id \
              join alert_history h on h.id = d.history_id join alert_rules r on r.id = h.rule_id \
         where $1::int8 is null or d.channel_id = $1 order by d.created_at desc, d.id desc limit $2",
    )
    .bind(channel_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, channel, rule, summary, created_at, attempts, delivered_at, failed_at, next_attempt_at, last_status, last_response, last_error)| Delivery {
            id,
            channel,
            rule,
            summary,
            created_at,
            attempts,
            delivered_at,
            failed_at,
            next_attempt_at,
            last_status,
            last_response,
            last_error,
        })
        .collect())
}

/// A delivery the worker has claimed, with what it needs to send it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub attempts: i32,
    pub channel_name: String,
    pub channel_kind: ChannelKind,
    pub destination: String,
    pub secret: Option<String>,
    pub rule_id: i64,
    pub rule_name: String,
    pub rule_kind: crate::model::AlertKind,
    pub rule_query: String,
    pub state: String,
    pub group_key: String,
    pub at: DateTime<Utc>,
    pub count: i64,
    pub event_ids: Vec<String>,
    pub summary: String,
}

/// Claim up to `limit` deliveries due at `now`: each is leased for `lease`
/// (another instance takes it up only if this one dies while sending).
pub async fn claim_deliveries(pool: &PgPool, now: DateTime<Utc>, lease: chrono::Duration, limit: i64) -> sqlx::Result<Vec<Outgoing>> {
    sqlx::query_as(
        "with due as (
             select id from alert_deliveries
             where delivered_at is null and failed_at is null and next_attempt_at <= $1
             order by next_attempt_at for update skip locked limit $3
         )
         update alert_deliveries d set next_attempt_at = $1 + $2, attempts = d.attempts + 1
         from due, alert_channels c, alert_history h, alert_rules r
         where d.id = due.id and c.id = d.channel_id and h.id = d.history_id and r.id = h.rule_id
         returning d.id, d.attempts, c.name as channel_name, c.kind as channel_kind, c.destination, c.secret,
                   r.id as rule_id, r.name as rule_name, r.kind as rule_kind, r.query as rule_query,
                   h.kind as state, h.group_key, h.at, h.count, h.event_ids, h.summary",
    )
    .bind(now)
    .bind(lease)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What one attempt came to.
pub struct Attempt<'a> {
    pub status: Option<i32>,
    pub response: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Delivered, or when to try again (`None` with an error: given up).
    pub delivered: bool,
    pub retry_at: Option<DateTime<Utc>>,
}

pub async fn finish_attempt(pool: &PgPool, id: i64, now: DateTime<Utc>, a: &Attempt<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "update alert_deliveries set last_status = $3, last_response = $4, last_error = $5, \
             delivered_at = case when $6 then $2 end, \
             failed_at = case when not $6 and $7::timestamptz is null then $2 end, \
             next_attempt_at = coalesce($7, next_attempt_at) \
         where id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(a.status)
    .bind(a.response)
    .bind(a.error)
    .bind(a.delivered)
    .bind(a.retry_at)
    .execute(pool)
    .await
    .map(drop)
}

/// Alert rules firing for at least one group.
pub async fn rules_firing(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(distinct rule_id) from alert_states where firing").fetch_one(pool).await
}

/// Deliveries not yet delivered nor given up.
pub async fn undelivered(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from alert_deliveries where delivered_at is null and failed_at is null")
        .fetch_one(pool)
        .await
}

/// From an event's receipt to the delivery of the notification naming it,
/// for the events received since `since`: (events, p50 s, p99 s, max s).
pub async fn notification_latency(pool: &PgPool, since: DateTime<Utc>) -> sqlx::Result<(i64, f64, f64, f64)> {
    sqlx::query_as(
        "select count(*), coalesce(percentile_cont(0.5) within group (order by s), 0)::float8,
                coalesce(percentile_cont(0.99) within group (order by s), 0)::float8, coalesce(max(s), 0)::float8
         from (
             select extract(epoch from d.delivered_at - e.received_at) as s
             from alert_deliveries d
             join alert_history h on h.id = d.history_id
             cross join unnest(h.event_ids) as named(id)
             join event_ids i on i.id = named.id
             join events e on (e.organization_id, e.occurred_at, e.id) = (i.organization_id, i.occurred_at, i.id)
             where d.delivered_at is not null and e.received_at >= $1
         ) latencies",
    )
    .bind(since)
    .fetch_one(pool)
    .await
}

/// The SMTP settings and password, if set.
pub async fn smtp(pool: &PgPool) -> sqlx::Result<Option<(SmtpSettings, Option<String>)>> {
    let row: Option<(String, i32, TlsMode, Option<String>, Option<String>, String)> =
        sqlx::query_as("select host, port, tls, username, password, sender from smtp_settings")
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(host, port, tls, username, password, sender)| {
        (SmtpSettings { host, port, tls, username, has_password: password.is_some(), sender }, password)
    }))
}

/// Set the SMTP settings; a `None` password keeps the stored one.
pub async fn set_smtp(pool: &PgPool, s: &SmtpSettings, password: Option<&str>, by: &str) -> sqlx::Result<()> {
    sqlx::query(
        "insert into smtp_settings (host, port, tls, username, password, sender, updated_by) values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (singleton) do update set host = $1, port = $2, tls = $3, username = $4, \
             password = coalesce($5, smtp_settings.password), sender = $6, updated_at = now(), updated_by = $7",
    )
    .bind(&s.host)
    .bind(s.port)
    .bind(s.tls)
    .bind(&s.username)
    .bind(password)
    .bind(&s.sender)
    .bind(by)
    .execute(pool)
    .await
    .map(drop)
}
