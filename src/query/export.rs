//! The export feed: every event exactly once, in a stable order, by following
//! the ledger of committed batches in (xid, batch_id) order below the
//! watermark, and each batch's events in sequence order (migration 12).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::events::{DetailRow, RawEvent, DETAIL_COLUMNS, SUMMARY_COLUMNS};
use super::filter::{push_conditions, query_of};
use crate::model::EventFilter;
use crate::store::ledger::{Batch, BATCH_COLUMNS};

/// A place in the feed: everything before batch (xid, batch_id) and, of that
/// batch, the events up to `seq` are behind it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ExportPosition {
    pub xid: i64,
    pub batch_id: i64,
    pub seq: i64,
}

/// One page of the feed.
pub struct ExportPage {
    pub events: Vec<RawEvent>,
    /// Where the next page starts.
    pub next: ExportPosition,
    /// Whether batches up to `upto` remain after `next`.
    pub more: bool,
}

/// The end of the feed now: the last batch below the watermark.
pub async fn export_upto(pool: &PgPool) -> sqlx::Result<ExportPosition> {
    let last: Option<(i64, i64, i64)> = sqlx::query_as(
        "select xid::text::int8, batch_id, seq_to from ingest_batches
         where xid < pg_snapshot_xmin(pg_current_snapshot())
         order by xid desc, batch_id desc limit 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(last.map(|(xid, batch_id, seq)| ExportPosition { xid, batch_id, seq }).unwrap_or_default())
}

/// The position just before the first batch received at or after `since`.
pub async fn export_position_at(pool: &PgPool, since: DateTime<Utc>) -> sqlx::Result<ExportPosition> {
    let first: Option<(i64, i64, i64)> = sqlx::query_as(
        "select xid::text::int8, batch_id, seq_from - 1 from ingest_batches
         where received_at >= $1 order by xid, batch_id limit 1",
    )
    .bind(since)
    .fetch_optional(pool)
    .await?;
    match first {
        Some((xid, batch_id, seq)) => Ok(ExportPosition { xid, batch_id, seq }),
        None => export_upto(pool).await,
    }
}

/// A page of the feed reads the batches holding at most this many times its
/// size in events (at least one batch): a page of a narrow filter ends there,
/// short and with more to come, instead of reading the store to its end.
const EXPORT_READS_PER_EVENT: i64 = 25;

/// Up to `limit` events after `after` and no further than `upto`, whole, in
/// feed order.
#[tracing::instrument(skip(pool))]
pub async fn export_events(
    pool: &PgPool,
    filter: &EventFilter,
    after: ExportPosition,
    upto: ExportPosition,
    limit: u32,
) -> sqlx::Result<ExportPage> {
    let limit_events = i64::from(limit);
    let batches = export_batches(pool, after, upto, limit_events, limit_events * EXPORT_READS_PER_EVENT).await?;
    let Some(last) = batches.last() else {
        return Ok(ExportPage { events: Vec::new(), next: after, more: false });
    };
    let end_of_batches = ExportPosition { xid: last.xid, batch_id: last.batch_id, seq: last.seq_to };
    let rows = batch_events(pool, filter, &batches, after, limit).await?;
    let full = rows.len() == limit as usize;
    let next = match rows.last() {
        Some((xid, batch_id, row)) if full => ExportPosition { xid: *xid, batch_id: *batch_id, seq: row.seq },
        _ => end_of_batches,
    };
    Ok(ExportPage { events: rows.into_iter().map(|(_, _, r)| RawEvent(r)).collect(), next, more: next < upto })
}

/// The ledger's batches after `after`, up to `upto`, in feed order: at most
/// `limit` of them, and only as many as hold `reads` events not yet exported.
async fn export_batches(
    pool: &PgPool,
    after: ExportPosition,
    upto: ExportPosition,
    limit: i64,
    reads: i64,
) -> sqlx::Result<Vec<Batch>> {
    // `next` orders by the table's `xid` (its index); BATCH_COLUMNS renames
    // a cast of it to `xid`, which an `order by` beside it would sort instead.
    sqlx::query_as(&format!(
        "select {BATCH_COLUMNS}
         from (
             select *, sum(unread) over (order by xid, batch_id) - unread as before
             from (
                 select *, seq_to - case when (xid, batch_id) = ($1::text::xid8, $2) then $5 else seq_from - 1 end as unread
                 from ingest_batches
                 where (xid, batch_id) >= ($1::text::xid8, $2) and (xid, batch_id) <= ($3::text::xid8, $4)
                   and ((xid, batch_id) > ($1::text::xid8, $2) or seq_to > $5)
                 order by xid, batch_id
                 limit $6
             ) next
         ) counted
         where before < $7
         order by counted.xid, batch_id"
    ))
    .bind(after.xid.to_string())
    .bind(after.batch_id)
    .bind(upto.xid.to_string())
    .bind(upto.batch_id)
    .bind(after.seq)
    .bind(limit)
    .bind(reads)
    .fetch_all(pool)
    .await
}

/// The events of `batches` that match `filter`, after `after`, in feed order.
async fn batch_events(
    pool: &PgPool,
    filter: &EventFilter,
    batches: &[Batch],
    after: ExportPosition,
    limit: u32,
) -> sqlx::Result<Vec<(i64, i64, DetailRow)>> {
    let column = |f: fn(&Batch) -> i64| batches.iter().map(f).collect::<Vec<_>>();
    // The first batch may be partly exported already: start after `after.seq` there.
    let from: Vec<i64> = batches
        .iter()
        .map(|b| if (b.xid, b.batch_id) == (after.xid, after.batch_id) { b.seq_from.max(after.seq + 1) } else { b.seq_from })
        .collect();
    let mut q = QueryBuilder::<Postgres>::new("select b.xid, b.batch_id, e.* from unnest(");
    q.push_bind(column(|b| b.xid))
        .push("::int8[], ")
        .push_bind(column(|b| b.batch_id))
        .push("::int8[], ")
        .push_bind(from)
        .push("::int8[], ")
        .push_bind(column(|b| b.seq_to))
        .push(format!(
            "::int8[]) with ordinality as b(xid, batch_id, seq_from, seq_to, n) \
             cross join lateral (select {SUMMARY_COLUMNS}, {DETAIL_COLUMNS} from events_with_client \
             where seq between b.seq_from and b.seq_to"
        ));
    push_conditions(&mut q, filter);
    q.push(" order by seq limit ").push_bind(i64::from(limit));
    q.push(") e order by b.n, e.seq limit ").push_bind(i64::from(limit));
    let rows: Vec<ExportRow> = query_of(&mut q, filter).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (r.xid, r.batch_id, r.row)).collect())
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    xid: i64,
    batch_id: i64,
    #[sqlx(flatten)]
    row: DetailRow,
}
