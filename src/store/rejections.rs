//! Items the ingest API refused, from every instance: the newest
//! [`KEPT_REJECTIONS`] are kept, to say on Settings → Write path why a
//! sender's events are missing.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::model::{RecentRejection, Rejection, KEPT_REJECTIONS};

/// Items of one batch kept at most (its first): a batch of nothing but
/// mistakes says what it has to say in these.
pub const KEPT_PER_BATCH: usize = 100;

/// Keep a batch's rejected items (its first [`KEPT_PER_BATCH`]), refused at
/// `at` by `instance` for the key `key` sent from `address`, and forget those
/// beyond the newest [`KEPT_REJECTIONS`].
pub async fn record(pool: &PgPool, instance: &str, (at, key, address): (DateTime<Utc>, &str, &str), rejected: &[Rejection]) -> sqlx::Result<()> {
    let rejected = &rejected[..rejected.len().min(KEPT_PER_BATCH)];
    let items: Vec<i32> = rejected.iter().map(|r| i32::try_from(r.index).unwrap_or(i32::MAX)).collect();
    let fields: Vec<Option<String>> = rejected.iter().map(|r| r.field.clone()).collect();
    let errors: Vec<String> = rejected.iter().map(|r| r.error.clone()).collect();
    sqlx::query(
        "with kept as (
             insert into ingest_rejections (at, instance, key_label, address, item, field, error)
             select $1, $2, $3, $4, r.item, r.field, r.error from unnest($5::int4[], $6::text[], $7::text[]) as r(item, field, error)
             returning id)
         delete from ingest_rejections where id <= (select max(id) from kept) - $8",
    )
    .bind(at)
    .bind(instance)
    .bind(key)
    .bind(address)
    .bind(items)
    .bind(fields)
    .bind(errors)
    .bind(KEPT_REJECTIONS)
    .execute(pool)
    .await
    .map(drop)
}

/// The newest `n` rejected items, newest batch first and a batch's items in
/// their order.
pub async fn newest(pool: &PgPool, n: i64) -> sqlx::Result<Vec<RecentRejection>> {
    let rows: Vec<(DateTime<Utc>, String, String, String, i32, Option<String>, String)> = sqlx::query_as(
        "select at, instance, key_label, address, item, field, error from ingest_rejections order by at desc, id limit $1",
    )
    .bind(n)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, instance, key, address, item, field, error)| RecentRejection {
            at,
            instance,
            key,
            address,
            rejection: Rejection { index: usize::try_from(item).unwrap_or_default(), field, error },
        })
        .collect())
}
