//! The SQL of recording rules: the rules in force, adding, changing,
//! reordering and deleting them, and counting what each dropped per day.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use crate::ingest::rules::Rules;
use crate::model::{Outcome, RecordingRule, RuleDefinition};

/// The rules in force, in the order they apply.
pub async fn load(pool: &PgPool) -> sqlx::Result<Rules> {
    let rows: Vec<(i64, String, String, String, String, Option<Outcome>, Option<i32>)> = sqlx::query_as(
        "select id, environment, organization, app, event_type, outcome, keep_one_in \
         from recording_rules order by position, id",
    )
    .fetch_all(pool)
    .await?;
    Ok(Rules(
        rows.into_iter()
            .map(|(id, environment, organization, app, event_type, outcome, keep_one_in)| {
                (id, RuleDefinition { environment, organization, app, event_type, outcome, keep_one_in })
            })
            .collect(),
    ))
}

/// Every rule with what it dropped today (UTC) and in all.
pub async fn list(pool: &PgPool, today: NaiveDate) -> sqlx::Result<Vec<RecordingRule>> {
    type Row = (i64, String, String, String, String, Option<Outcome>, Option<i32>, Option<String>, DateTime<Utc>, String, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "select r.id, r.environment, r.organization, r.app, r.event_type, r.outcome, r.keep_one_in, r.note, \
                r.created_at, r.created_by, \
                coalesce(sum(c.dropped) filter (where c.day = $1), 0)::int8, coalesce(sum(c.dropped), 0)::int8 \
         from recording_rules r left join recording_rule_counts c on c.rule_id = r.id \
         group by r.id order by r.position, r.id",
    )
    .bind(today)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, environment, organization, app, event_type, outcome, keep_one_in, note, created_at, created_by, dropped_today, dropped_total)| {
            let definition = RuleDefinition { environment, organization, app, event_type, outcome, keep_one_in };
            RecordingRule { id, definition, note, created_at, created_by, dropped_today, dropped_total }
        })
        .collect())
}

/// Add a rule after the others; its id.
pub async fn insert(pool: &PgPool, rule: &RuleDefinition, note: Option<&str>, by: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into recording_rules (position, environment, organization, app, event_type, outcome, action, keep_one_in, note, created_by) \
         values ((select coalesce(max(position), 0) + 1 from recording_rules), $1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(&rule.environment)
    .bind(&rule.organization)
    .bind(&rule.app)
    .bind(&rule.event_type)
    .bind(rule.outcome)
    .bind(action(rule))
    .bind(rule.keep_one_in)
    .bind(note)
    .bind(by)
    .fetch_one(pool)
    .await
}

/// Change what a rule matches and does, and its note; the rule and note as
/// they were before, or `None` when there is no such rule. Its place in the
/// order and what it dropped so far stay.
pub async fn update(pool: &PgPool, id: i64, rule: &RuleDefinition, note: Option<&str>) -> sqlx::Result<Option<(RuleDefinition, Option<String>)>> {
    let before: Option<(String, String, String, String, Option<Outcome>, Option<i32>, Option<String>)> = sqlx::query_as(
        "update recording_rules r \
         set (environment, organization, app, event_type, outcome, action, keep_one_in, note) = ($2, $3, $4, $5, $6, $7, $8, $9) \
         from recording_rules before where r.id = $1 and before.id = r.id \
         returning before.environment, before.organization, before.app, before.event_type, before.outcome, before.keep_one_in, before.note",
    )
    .bind(id)
    .bind(&rule.environment)
    .bind(&rule.organization)
    .bind(&rule.app)
    .bind(&rule.event_type)
    .bind(rule.outcome)
    .bind(action(rule))
    .bind(rule.keep_one_in)
    .bind(note)
    .fetch_optional(pool)
    .await?;
    Ok(before.map(|(environment, organization, app, event_type, outcome, keep_one_in, note)| {
        (RuleDefinition { environment, organization, app, event_type, outcome, keep_one_in }, note)
    }))
}

/// The stored action of a rule: `sample` when it keeps one in n.
fn action(rule: &RuleDefinition) -> &'static str {
    if rule.keep_one_in.is_some() { "sample" } else { "drop" }
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
