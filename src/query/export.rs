//! The export feed: every event exactly once, in a stable order, by following
//! the ledger of committed batches in (xid, batch_id) order below the
//! watermark, and each batch's events in sequence order (migration 12).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::events::{DetailRow, RawEvent, StoredJson, DETAIL_COLUMNS, SUMMARY_COLUMNS};
use super::filter::{push_conditions, query_of};
use super::pages::read_ahead;
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
pub async fn export_events(
    pool: &PgPool,
    filter: &EventFilter,
    after: ExportPosition,
    upto: ExportPosition,
    limit: u32,
) -> sqlx::Result<ExportPage> {
    export_page(pool, &mut Clients::default(), filter, after, upto, limit).await
}

/// The feed from `after` up to `upto`, a page of up to `limit` events at a
/// time, each read and made into `O` by `finish` in a task of its own while
/// the page before is sent. The clients read for a page go on to the next.
pub fn export_pages<O: Send + 'static>(
    pool: PgPool,
    filter: EventFilter,
    after: ExportPosition,
    upto: ExportPosition,
    limit: u32,
    finish: impl Fn(Vec<RawEvent>) -> O + Send + Sync + 'static,
) -> BoxStream<'static, sqlx::Result<O>> {
    let finish = Arc::new(finish);
    read_ahead((after, Clients::default()), move |(after, mut clients)| {
        let (pool, filter, finish) = (pool.clone(), filter.clone(), finish.clone());
        async move {
            let page = export_page(&pool, &mut clients, &filter, after, upto, limit).await?;
            let more = page.more.then_some((page.next, clients));
            Ok((more.is_some() || !page.events.is_empty()).then(|| (finish(page.events), more)))
        }
    })
}

/// [`export_events`], their clients from, and kept in, `clients`.
#[tracing::instrument(skip(pool, clients))]
async fn export_page(
    pool: &PgPool,
    clients: &mut Clients,
    filter: &EventFilter,
    after: ExportPosition,
    upto: ExportPosition,
    limit: u32,
) -> sqlx::Result<ExportPage> {
    let limit_events = i64::from(limit);
    let every_event = adds_no_condition(filter);
    let reads = if every_event { limit_events } else { limit_events * EXPORT_READS_PER_EVENT };
    let batches = page_batches(pool, after, upto, limit_events, reads).await?;
    let (mut rows, read_to) = if every_event {
        // The page is exactly the next `limit` event numbers: PostgreSQL
        // returns them without sorting whole rows (half its time per page).
        let page = first_events(batches, limit_events);
        (batch_events(pool, filter, &page, limit, Page::Whole).await?, page.last().map(end_of))
    } else {
        (batch_events(pool, filter, &batches, limit, Page::First).await?, batches.last().map(end_of))
    };
    let Some(read_to) = read_to else {
        return Ok(ExportPage { events: Vec::new(), next: after, more: false });
    };
    clients.fill(pool, &mut rows).await?;
    let next = match rows.last() {
        Some(last) if rows.len() == limit as usize => ExportPosition { xid: last.xid, batch_id: last.batch_id, seq: last.row.seq },
        _ => read_to,
    };
    Ok(ExportPage { events: rows.into_iter().map(|r| RawEvent(r.row)).collect(), next, more: next < upto })
}

/// Whether `filter` matches every event (no condition but time, which the
/// feed does not read).
fn adds_no_condition(filter: &EventFilter) -> bool {
    let mut conditions = QueryBuilder::<Postgres>::new("");
    push_conditions(&mut conditions, filter);
    conditions.sql().is_empty()
}

/// The position at the end of `batch`.
fn end_of(batch: &Batch) -> ExportPosition {
    ExportPosition { xid: batch.xid, batch_id: batch.batch_id, seq: batch.seq_to }
}

/// `batches` without what `after` has passed: the first may be partly exported.
fn unread(mut batches: Vec<Batch>, after: ExportPosition) -> Vec<Batch> {
    for batch in batches.iter_mut().filter(|b| (b.xid, b.batch_id) == (after.xid, after.batch_id)) {
        batch.seq_from = batch.seq_from.max(after.seq + 1);
    }
    batches
}

/// The batches a page reads. The ledger is looked at for [`FIRST_LOOK`]
/// batches first, which hold a page as a rule; only a page of small batches
/// reads up to `limit` of them (each holds at least one event). Reading
/// `limit` (2 000) ledger rows for every page was an eighth of an export's time.
async fn page_batches(pool: &PgPool, after: ExportPosition, upto: ExportPosition, limit: i64, reads: i64) -> sqlx::Result<Vec<Batch>> {
    let first_look = FIRST_LOOK.min(limit);
    let batches = export_batches(pool, after, upto, first_look, reads).await?;
    if (batches.len() as i64) < first_look || batches.iter().map(Batch::numbers).sum::<i64>() >= reads {
        return Ok(batches);
    }
    export_batches(pool, after, upto, limit, reads).await
}

/// How many ledger rows a page looks at first.
const FIRST_LOOK: i64 = 32;

/// The sequence ranges of the first `events` event numbers of `batches`. A
/// batch numbers its events without gaps, so they hold at most `events`
/// events (fewer where some were dropped).
fn first_events(batches: Vec<Batch>, mut events: i64) -> Vec<Batch> {
    let mut page = Vec::new();
    for mut batch in batches {
        if events <= 0 {
            break;
        }
        batch.seq_to = batch.seq_to.min(batch.seq_from + events - 1);
        events -= batch.numbers();
        page.push(batch);
    }
    page
}

/// The ledger's batches after `after`, up to `upto`, in feed order, made
/// [`unread`]: at most `limit` of them, and only as many as hold `reads`
/// events not yet exported.
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
    .map(|batches| unread(batches, after))
}

/// What a read of batches is: every event of them, or the first `limit` in
/// feed order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Whole,
    First,
}

/// The events of `batches` that match `filter`, in feed order, at most
/// `limit` (`page`: whether that limit must pick the first of them).
async fn batch_events(pool: &PgPool, filter: &EventFilter, batches: &[Batch], limit: u32, page: Page) -> sqlx::Result<Vec<ExportRow>> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: fn(&Batch) -> i64| batches.iter().map(f).collect::<Vec<_>>();
    let mut q = QueryBuilder::<Postgres>::new("select b.xid, b.batch_id, b.n, e.* from unnest(");
    // From `events`, not `events_with_client`: `clients` gives each event its client.
    q.push_bind(column(|b| b.xid))
        .push("::int8[], ")
        .push_bind(column(|b| b.batch_id))
        .push("::int8[], ")
        .push_bind(column(|b| b.seq_from))
        .push("::int8[], ")
        .push_bind(column(|b| b.seq_to))
        .push(format!(
            "::int8[]) with ordinality as b(xid, batch_id, seq_from, seq_to, n) \
             cross join lateral (select {SUMMARY_COLUMNS}, {DETAIL_COLUMNS}, client_key from events \
             where seq between b.seq_from and b.seq_to"
        ));
    push_conditions(&mut q, filter);
    // The limit in each batch keeps its clients looked up by key (without
    // it PostgreSQL hashes every client of the store).
    q.push(" order by seq limit ").push_bind(i64::from(limit)).push(") e");
    if page == Page::First {
        q.push(" order by b.n, e.seq limit ").push_bind(i64::from(limit));
    }
    let mut rows: Vec<ExportRow> = query_of(&mut q, filter).fetch_all(pool).await?;
    // A whole page comes without an outer order: put it in feed order here.
    if page == Page::Whole {
        rows.sort_by_key(|r| (r.n, r.row.seq));
    }
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    xid: i64,
    batch_id: i64,
    /// The batch's place in the read.
    n: i64,
    client_key: Option<Vec<u8>>,
    #[sqlx(flatten)]
    row: DetailRow,
}

/// The clients (user agent and enrichment, migration 28) an export has read,
/// by organization and key. Events share a few thousand clients, so an export
/// reads each once instead of with every event: joining them to each event
/// and sending their JSON was half of PostgreSQL's time per exported event.
#[derive(Default)]
struct Clients {
    by_organization: HashMap<String, HashMap<Vec<u8>, StoredClient>>,
    kept: usize,
}

/// The most clients an export keeps (about half a kilobyte each); it forgets
/// them all when it would keep more. A page of the demo data refers to about
/// 300; 4 096 exported as fast as 20 000.
const CLIENTS_KEPT: usize = 4_096;

struct StoredClient {
    user_agent: Option<String>,
    client_info: Option<StoredJson>,
}

impl Clients {
    /// Give `rows` their clients, reading those not kept yet.
    async fn fill(&mut self, pool: &PgPool, rows: &mut [ExportRow]) -> sqlx::Result<()> {
        let unknown: Vec<usize> = (0..rows.len()).filter(|&i| !self.give(&mut rows[i])).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let keys: BTreeSet<(&str, &[u8])> =
            unknown.iter().filter_map(|&i| Some((rows[i].row.organization_id(), rows[i].client_key.as_deref()?))).collect();
        let found = read_clients(pool, keys).await?;
        for &i in &unknown {
            found.give(&mut rows[i]);
        }
        self.keep(found);
        Ok(())
    }

    /// Give `row` its client if known here; false when it still needs one.
    fn give(&self, row: &mut ExportRow) -> bool {
        let Some(key) = &row.client_key else { return true };
        let client = self.by_organization.get(row.row.organization_id()).and_then(|clients| clients.get(key));
        client.inspect(|c| row.row.fill_client(c.user_agent.as_deref(), c.client_info.as_ref())).is_some()
    }

    fn keep(&mut self, clients: Clients) {
        if self.kept + clients.kept > CLIENTS_KEPT {
            *self = Clients::default();
        }
        for (organization, found) in clients.by_organization {
            let kept = self.by_organization.entry(organization).or_default();
            self.kept += found.len();
            kept.extend(found);
        }
    }
}

/// The stored clients of `keys` (organization, key).
async fn read_clients(pool: &PgPool, keys: BTreeSet<(&str, &[u8])>) -> sqlx::Result<Clients> {
    let (organizations, keys): (Vec<&str>, Vec<&[u8]>) = keys.into_iter().unzip();
    let rows: Vec<(String, Vec<u8>, Option<String>, Option<StoredJson>)> = sqlx::query_as(
        "select c.organization_id, c.key, c.user_agent, c.client_info \
         from unnest($1::text[], $2::bytea[]) as k(organization_id, key) \
         join event_clients c on c.organization_id = k.organization_id and c.key = k.key",
    )
    .bind(organizations)
    .bind(keys)
    .fetch_all(pool)
    .await?;
    let mut clients = Clients::default();
    for (organization, key, user_agent, client_info) in rows {
        clients.by_organization.entry(organization).or_default().insert(key, StoredClient { user_agent, client_info });
        clients.kept += 1;
    }
    Ok(clients)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(batch_id: i64, seq_from: i64, seq_to: i64) -> Batch {
        let at = chrono::DateTime::UNIX_EPOCH;
        let events = (seq_to - seq_from + 1) as i32;
        Batch { xid: 1, batch_id, seq_from, seq_to, first_occurred_at: at, last_occurred_at: at, events, root_hash: None }
    }

    fn ranges(batches: &[Batch]) -> Vec<(i64, i64, i64)> {
        batches.iter().map(|b| (b.batch_id, b.seq_from, b.seq_to)).collect()
    }

    #[test]
    fn a_whole_page_is_the_next_event_numbers_after_the_position() {
        let after = ExportPosition { xid: 1, batch_id: 1, seq: 11 };
        let batches = unread(vec![batch(1, 10, 14), batch(2, 20, 29)], after);
        assert_eq!(ranges(&batches), [(1, 12, 14), (2, 20, 29)]);
        assert_eq!(ranges(&first_events(batches.clone(), 2)), [(1, 12, 13)]);
        assert_eq!(ranges(&first_events(batches.clone(), 3)), [(1, 12, 14)]);
        assert_eq!(ranges(&first_events(batches.clone(), 7)), [(1, 12, 14), (2, 20, 23)]);
        assert_eq!(ranges(&first_events(batches, 100)), [(1, 12, 14), (2, 20, 29)]);
    }
}
