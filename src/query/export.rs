//! The export feed: every event exactly once, in a stable order, by following
//! the ledger of committed batches in (xid, batch_id) order below the
//! watermark, and each batch's events in sequence order (migration 12).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde_json::value::RawValue;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::decoded;
use super::events::{RawEvent, ReadEvents, StoredClient, DETAIL_COLUMNS, SUMMARY_COLUMNS};
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
    pub events: ReadEvents,
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
/// time, each written as `O` by `write` while the next is read and the one
/// before is sent ([`read_ahead`]). The clients read for a page go on to the next.
pub fn export_pages<O: Send + 'static>(
    pool: PgPool,
    filter: EventFilter,
    after: ExportPosition,
    upto: ExportPosition,
    limit: u32,
    write: impl Fn(&[RawEvent<'_>]) -> O + Send + Sync + 'static,
) -> BoxStream<'static, sqlx::Result<O>> {
    let read = move |(after, mut clients)| {
        let (pool, filter) = (pool.clone(), filter.clone());
        async move {
            let page = export_page(&pool, &mut clients, &filter, after, upto, limit).await?;
            let more = page.more.then_some((page.next, clients));
            Ok((more.is_some() || !page.events.is_empty()).then_some((page.events, more)))
        }
    };
    read_ahead((after, Clients::default()), read, move |events: ReadEvents| events.write(|events| write(events)))
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
    let (rows, read_to) = if every_event {
        // The page is exactly the next `limit` event numbers: PostgreSQL
        // returns them without sorting whole rows (half its time per page).
        let page = first_events(batches, limit_events);
        (in_feed_order(batch_events(pool, filter, &page, limit, Page::Whole).await?)?, page.last().map(end_of))
    } else {
        (batch_events(pool, filter, &batches, limit, Page::First).await?, batches.last().map(end_of))
    };
    let Some(read_to) = read_to else {
        return Ok(ExportPage { events: ReadEvents { rows, clients: Vec::new() }, next: after, more: false });
    };
    let places: Vec<FeedPlace> = decoded(&rows)?;
    clients.read_missing(pool, &places).await?;
    let next = match places.last() {
        Some(last) if places.len() == limit as usize => ExportPosition { xid: last.xid, batch_id: last.batch_id, seq: last.seq },
        _ => read_to,
    };
    let event_clients = places.iter().map(|place| clients.of(place)).collect();
    Ok(ExportPage { events: ReadEvents { rows, clients: event_clients }, next, more: next < upto })
}

/// `rows` of a whole page in feed order: by their batch's place in the read,
/// then by sequence.
fn in_feed_order(rows: Vec<PgRow>) -> sqlx::Result<Vec<PgRow>> {
    let places = rows.iter().map(|row| Ok((row.try_get::<i64, _>("n")?, row.try_get::<i64, _>("seq")?)));
    let mut rows: Vec<((i64, i64), PgRow)> = places.collect::<sqlx::Result<Vec<_>>>()?.into_iter().zip(rows).collect();
    rows.sort_unstable_by_key(|(place, _)| *place);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
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

/// The events of `batches` that match `filter` (with their [`FeedPlace`]), at most
/// `limit` (`page`: whether that limit must pick the first of them, which
/// also puts them in feed order).
async fn batch_events(pool: &PgPool, filter: &EventFilter, batches: &[Batch], limit: u32, page: Page) -> sqlx::Result<Vec<PgRow>> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: fn(&Batch) -> i64| batches.iter().map(f).collect::<Vec<_>>();
    let mut q = QueryBuilder::<Postgres>::new("select e.*, b.xid, b.batch_id, b.n from unnest(");
    // From `events`, not `events_with_client`: `clients` gives each event its
    // client. The event's columns first, where `RawEvent` reads them.
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
    query_of(&mut q, filter).fetch_all(pool).await
}

/// Where an event read for the feed is in it, and which stored client it
/// refers to.
#[derive(sqlx::FromRow)]
struct FeedPlace<'r> {
    xid: i64,
    batch_id: i64,
    seq: i64,
    organization_id: Option<&'r str>,
    client_key: Option<&'r [u8]>,
}

impl<'r> FeedPlace<'r> {
    /// The organization and key of the event's stored client.
    fn client(&self) -> Option<(&'r str, &'r [u8])> {
        Some((self.organization_id.unwrap_or_default(), self.client_key?))
    }
}

/// The clients (user agent and enrichment, migration 28) an export has read,
/// by organization and key. Events share a few thousand clients, so an export
/// reads each once instead of with every event: joining them to each event
/// and sending their JSON was half of PostgreSQL's time per exported event.
#[derive(Default)]
struct Clients {
    by_organization: HashMap<String, HashMap<Vec<u8>, Arc<StoredClient>>>,
    kept: usize,
}

/// The most clients an export keeps (about half a kilobyte each); it forgets
/// them all when it would keep more. A page of the demo data refers to about
/// 300; 4 096 exported as fast as 20 000.
const CLIENTS_KEPT: usize = 4_096;

impl Clients {
    /// Read the clients `places` refer to that are not kept yet (all of them
    /// when keeping them too would keep too many).
    async fn read_missing(&mut self, pool: &PgPool, places: &[FeedPlace<'_>]) -> sqlx::Result<()> {
        let mut missing = self.missing(places);
        if missing.is_empty() {
            return Ok(());
        }
        if self.kept + missing.len() > CLIENTS_KEPT {
            *self = Clients::default();
            missing = self.missing(places);
        }
        for (organization, key, client) in read_clients(pool, missing).await? {
            self.by_organization.entry(organization).or_default().insert(key, Arc::new(client));
            self.kept += 1;
        }
        Ok(())
    }

    /// The (organization, key) of the clients `places` refer to, not kept here.
    fn missing<'r>(&self, places: &[FeedPlace<'r>]) -> BTreeSet<(&'r str, &'r [u8])> {
        places.iter().filter_map(FeedPlace::client).filter(|&(organization, key)| self.get(organization, key).is_none()).collect()
    }

    fn get(&self, organization: &str, key: &[u8]) -> Option<&Arc<StoredClient>> {
        self.by_organization.get(organization)?.get(key)
    }

    /// The stored client the event at `place` refers to.
    fn of(&self, place: &FeedPlace<'_>) -> Option<Arc<StoredClient>> {
        place.client().and_then(|(organization, key)| self.get(organization, key)).cloned()
    }
}

/// The stored clients of `keys` (organization, key).
async fn read_clients(pool: &PgPool, keys: BTreeSet<(&str, &[u8])>) -> sqlx::Result<Vec<(String, Vec<u8>, StoredClient)>> {
    let (organizations, keys): (Vec<&str>, Vec<&[u8]>) = keys.into_iter().unzip();
    let rows: Vec<(String, Vec<u8>, Option<String>, Option<sqlx::types::Json<Box<RawValue>>>)> = sqlx::query_as(
        "select c.organization_id, c.key, c.user_agent, c.client_info \
         from unnest($1::text[], $2::bytea[]) as k(organization_id, key) \
         join event_clients c on c.organization_id = k.organization_id and c.key = k.key",
    )
    .bind(organizations)
    .bind(keys)
    .fetch_all(pool)
    .await?;
    let stored = |(organization, key, user_agent, client_info): (_, _, _, Option<sqlx::types::Json<_>>)| {
        (organization, key, StoredClient { user_agent, client_info: client_info.map(|json| json.0) })
    };
    Ok(rows.into_iter().map(stored).collect())
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
