//! The SQL of recording rules: the rules in force, adding, changing,
//! reordering and deleting them, and counting what each dropped per day.

use chrono::NaiveDate;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgPool};

use crate::ingest::rules::Rules;
use crate::model::{Outcome, RecordingRule, RuleDefinition, CONSOLE_ENVIRONMENT};

/// The columns of a rule's definition, then its note, in the order of [`arguments`].
const COLUMNS: &str = "environment, organization, app, event_type, outcome, action, keep_one_in, note";

/// A rule's definition and note as the arguments `$1`–`$8` of a statement ([`COLUMNS`]).
fn arguments(rule: &RuleDefinition, note: Option<&str>) -> sqlx::Result<PgArguments> {
    let mut args = PgArguments::default();
    let action = if rule.keep_one_in.is_some() { "sample" } else { "drop" };
    let added = (|| {
        args.add(&rule.environment)?;
        args.add(&rule.organization)?;
        args.add(&rule.app)?;
        args.add(&rule.event_type)?;
        args.add(rule.outcome)?;
        args.add(action)?;
        args.add(rule.keep_one_in)?;
        args.add(note)
    })();
    added.map_err(sqlx::Error::Encode)?;
    Ok(args)
}

/// A group of recorded events as the daily counts keep them: what rules
/// match on, and how many.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Recorded {
    pub environment: String,
    pub organization_id: String,
    pub organization_name: Option<String>,
    pub app_id: String,
    pub app_name: Option<String>,
    pub event_type: String,
    pub outcome: Outcome,
    pub events: i64,
}

/// At most this many groups of recorded events are weighed against a rule.
const RECORDED_GROUPS: i64 = 200_000;

/// The events recorded since `since` (UTC days, derived ones), grouped by
/// what rules match on, with the names of their organizations and apps;
/// Vigil's own trail, which no rule applies to, left out.
pub async fn recorded(pool: &PgPool, since: NaiveDate) -> sqlx::Result<Vec<Recorded>> {
    sqlx::query_as(
        "select d.environment, d.organization_id, o.name as organization_name, d.app_id, a.name as app_name, \
                d.type as event_type, d.outcome, sum(d.events)::int8 as events \
         from event_counts_daily d \
         left join names o on (o.environment, o.organization_id, o.kind, o.id) = (d.environment, d.organization_id, 'organization', d.organization_id) \
         left join names a on (a.environment, a.organization_id, a.kind, a.id) = (d.environment, d.organization_id, 'app', d.app_id) \
         where d.day >= $1 and d.environment <> $2 \
         group by 1, 2, 3, 4, 5, 6, 7 limit $3",
    )
    .bind(since)
    .bind(CONSOLE_ENVIRONMENT)
    .bind(RECORDED_GROUPS)
    .fetch_all(pool)
    .await
}

/// A stored rule's id and definition.
#[derive(sqlx::FromRow)]
struct InForce {
    id: i64,
    #[sqlx(flatten)]
    definition: RuleDefinition,
}

/// The rules in force, in the order they apply.
pub async fn load(pool: &PgPool) -> sqlx::Result<Rules> {
    let rows: Vec<InForce> = sqlx::query_as(
        "select id, environment, organization, app, event_type, outcome, keep_one_in from recording_rules order by position, id",
    )
    .fetch_all(pool)
    .await?;
    Ok(Rules(rows.into_iter().map(|r| (r.id, r.definition)).collect()))
}

/// Every rule with what it dropped today (UTC) and in all.
pub async fn list(pool: &PgPool, today: NaiveDate) -> sqlx::Result<Vec<RecordingRule>> {
    sqlx::query_as(
        "select r.id, r.environment, r.organization, r.app, r.event_type, r.outcome, r.keep_one_in, r.note, \
                r.created_at, r.created_by, \
                coalesce(sum(c.dropped) filter (where c.day = $1), 0)::int8 as dropped_today, \
                coalesce(sum(c.dropped), 0)::int8 as dropped_total \
         from recording_rules r left join recording_rule_counts c on c.rule_id = r.id \
         group by r.id order by r.position, r.id",
    )
    .bind(today)
    .fetch_all(pool)
    .await
}

/// Add a rule after the others; its id.
pub async fn insert(pool: &PgPool, rule: &RuleDefinition, note: Option<&str>, by: &str) -> sqlx::Result<i64> {
    let mut args = arguments(rule, note)?;
    args.add(by).map_err(sqlx::Error::Encode)?;
    sqlx::query_scalar_with(
        &format!(
            "insert into recording_rules (position, {COLUMNS}, created_by) \
             values ((select coalesce(max(position), 0) + 1 from recording_rules), $1, $2, $3, $4, $5, $6, $7, $8, $9) returning id"
        ),
        args,
    )
    .fetch_one(pool)
    .await
}

/// A rule's definition and note, as they were before a change.
#[derive(sqlx::FromRow)]
struct Before {
    #[sqlx(flatten)]
    definition: RuleDefinition,
    note: Option<String>,
}

/// Change what a rule matches and does, and its note; the rule and note as
/// they were before, or `None` when there is no such rule. Its place in the
/// order and what it dropped so far stay.
pub async fn update(pool: &PgPool, id: i64, rule: &RuleDefinition, note: Option<&str>) -> sqlx::Result<Option<(RuleDefinition, Option<String>)>> {
    let mut args = arguments(rule, note)?;
    args.add(id).map_err(sqlx::Error::Encode)?;
    let before: Option<Before> = sqlx::query_as_with(
        &format!(
            "update recording_rules r set ({COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8) \
             from recording_rules before where r.id = $9 and before.id = r.id \
             returning before.environment, before.organization, before.app, before.event_type, before.outcome, before.keep_one_in, before.note"
        ),
        args,
    )
    .fetch_optional(pool)
    .await?;
    Ok(before.map(|b| (b.definition, b.note)))
}

/// Move a rule one place earlier (`earlier`) or later in the order in which
/// rules apply; its place before and after (1 is first), or `None` when
/// there is no such rule. The rules are numbered again from 1 under a lock,
/// so concurrent moves cannot leave two rules in one place.
pub async fn move_rule(pool: &PgPool, id: i64, earlier: bool) -> sqlx::Result<Option<(usize, usize)>> {
    let mut tx = pool.begin().await?;
    let mut order: Vec<i64> =
        sqlx::query_scalar("select id from recording_rules order by position, id for update").fetch_all(&mut *tx).await?;
    let Some(from) = order.iter().position(|&rule| rule == id) else {
        return Ok(None);
    };
    let to = if earlier { from.saturating_sub(1) } else { (from + 1).min(order.len() - 1) };
    order.swap(from, to);
    sqlx::query("update recording_rules r set position = o.position from unnest($1::int8[]) with ordinality as o(id, position) where r.id = o.id")
        .bind(&order)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((from + 1, to + 1)))
}

/// Delete a rule; whether there was one.
pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query("delete from recording_rules where id = $1").bind(id).execute(pool).await?.rows_affected() == 1)
}

/// Add what rules dropped to today's counts (rule ids sorted, so that
/// concurrent batches take the rows' locks in one order).
pub async fn count_dropped(pool: &PgPool, today: NaiveDate, dropped: &[(i64, i64)]) -> sqlx::Result<()> {
    let mut dropped = dropped.to_vec();
    dropped.sort_unstable();
    let (ids, counts): (Vec<i64>, Vec<i64>) = dropped.into_iter().unzip();
    sqlx::query(
        "insert into recording_rule_counts (rule_id, day, dropped) \
         select id, $1, n from unnest($2::int8[], $3::int8[]) as d(id, n) \
         where exists (select from recording_rules r where r.id = d.id) \
         on conflict (rule_id, day) do update set dropped = recording_rule_counts.dropped + excluded.dropped",
    )
    .bind(today)
    .bind(&ids)
    .bind(&counts)
    .execute(pool)
    .await
    .map(drop)
}
