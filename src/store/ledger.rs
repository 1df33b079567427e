//! The state of the ledger of committed batches, for the health endpoint and
//! the console: how far the deriving worker has come, and what, if anything,
//! holds the watermark back (a long write transaction anywhere in the cluster
//! keeps every follower of the ledger waiting; nothing is lost).

use chrono::{DateTime, DurationRound, Utc};
use sqlx::{PgConnection, PgPool};

pub use crate::model::{LedgerStatus, WatermarkHolder};
use crate::model::IngestActivity;

/// One committed batch as its followers read it: where it stands in the
/// ledger's order and where its events are.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Batch {
    pub xid: i64,
    pub batch_id: i64,
    pub seq_from: i64,
    pub seq_to: i64,
    pub first_occurred_at: DateTime<Utc>,
    pub last_occurred_at: DateTime<Utc>,
    pub events: i32,
    /// The root of its events' leaves (`store::seal`); absent for batches
    /// stored before sealing, or written unsealed.
    pub root_hash: Option<Vec<u8>>,
}

impl Batch {
    /// How many event numbers it spans (its events, where none were dropped).
    pub fn numbers(&self) -> i64 {
        self.seq_to - self.seq_from + 1
    }
}

/// Where a follower of the ledger stands: every batch up to (xid, batch_id) is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub xid: i64,
    pub batch_id: i64,
}

/// Where a follower (`derive`, `seal`) stands; lock its row of `ledger_positions`
/// in the caller's transaction only by updating it later.
pub async fn position(conn: &mut PgConnection, consumer: &str) -> sqlx::Result<Position> {
    sqlx::query_as("select xid::text::int8, batch_id from ledger_positions where consumer = $1")
        .bind(consumer)
        .fetch_one(conn)
        .await
        .map(|(xid, batch_id)| Position { xid, batch_id })
}

/// A version of what a follower has done, changing whenever it moves and every
/// minute: reads of what it derives may be kept until it changes
/// (`query::memo::Memo`).
pub async fn version(pool: &PgPool, consumer: &str) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "select concat(xid, '/', batch_id, '/', date_trunc('minute', now())) from ledger_positions where consumer = $1",
    )
    .bind(consumer)
    .fetch_optional(pool)
    .await
    .map(Option::unwrap_or_default)
}

/// The version of the counts before the UTC hour of `now` (hence of the
/// days before today too): it moves when one of them changes
/// ([`note_past_changed`]), and while committed batches with events of an
/// earlier hour wait for the worker (their number and the last of them:
/// reads that add such batches to the rollups, or read the events, count
/// them too). So a count over the past hours, from the rollups or from the
/// events, may be kept until it moves. The waiting batches are read from the
/// worker's position on, a few index entries when it keeps up.
pub async fn past_version(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<String> {
    sqlx::query_scalar(&format!(
        "select concat(p.past_version, '/', w.batches, '/', w.last) \
         from ledger_positions p, \
              (select count(*) as batches, max(b.batch_id) as last from ingest_batches b \
               where {UNDERIVED} and b.first_occurred_at < $1) w \
         where p.consumer = 'derive'"
    ))
    .bind(past_end(now))
    .fetch_optional(pool)
    .await
    .map(Option::unwrap_or_default)
}

/// Note, in the transaction that changes them, that counts of an hour before
/// the current one change (and with them [`past_version`]).
pub async fn note_past_changed(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("update ledger_positions set past_version = past_version + 1 where consumer = 'derive'")
        .execute(conn)
        .await
        .map(drop)
}

/// Whether events from `earliest` on change the counts of a past hour.
pub fn changes_past(earliest: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    earliest < past_end(now)
}

/// The end of the past hours as of `now`, give or take [`CLOCK_MARGIN`]: a
/// step that commits just before the hour counts as changing the hour before,
/// so that a reader whose clock is ahead (another instance) never keeps a
/// count that misses it.
fn past_end(now: DateTime<Utc>) -> DateTime<Utc> {
    (now + CLOCK_MARGIN).duration_trunc(chrono::TimeDelta::hours(1)).unwrap_or(now)
}

/// How far the clocks of the instances may differ.
const CLOCK_MARGIN: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Move a follower past `end`, in the transaction of the work it did.
pub async fn set_position(conn: &mut PgConnection, consumer: &str, end: Position) -> sqlx::Result<()> {
    sqlx::query(
        "update ledger_positions set xid = $1::text::xid8, batch_id = $2, updated_at = now() where consumer = $3",
    )
    .bind(end.xid.to_string())
    .bind(end.batch_id)
    .bind(consumer)
    .execute(conn)
    .await
    .map(drop)
}

/// The condition on `ingest_batches b` of the batches the follower named by
/// `$1` has not done yet: an index range from its position.
const AFTER_FOLLOWER: &str = "(b.xid, b.batch_id) > \
     ((select xid from ledger_positions where consumer = $1), (select batch_id from ledger_positions where consumer = $1))";

/// Whether a committed batch waits for this follower.
pub async fn pending(pool: &PgPool, consumer: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!("select exists (select from ingest_batches b where {AFTER_FOLLOWER})"))
        .bind(consumer)
        .fetch_one(pool)
        .await
}

/// Events in the committed batches this follower has not done yet.
pub async fn backlog_events(pool: &PgPool, consumer: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(&format!("select coalesce(sum(b.events), 0)::int8 from ingest_batches b where {AFTER_FOLLOWER}"))
        .bind(consumer)
        .fetch_one(pool)
        .await
}

/// The ledger rows after `position` whose transactions have all ended, in
/// order, up to about `max_events` events (at least one batch).
pub async fn next_batches(conn: &mut PgConnection, position: Position, max_events: i64) -> sqlx::Result<Vec<Batch>> {
    sqlx::query_as(&format!(
        "select {BATCH_COLUMNS}
         from (
             select *, sum(events) over (order by xid, batch_id) - events as before
             from (
                 select * from ingest_batches
                 where (xid, batch_id) > ($1::text::xid8, $2)
                   and xid < pg_snapshot_xmin(pg_current_snapshot())
                 order by xid, batch_id
                 limit 1000
             ) next
         ) counted
         where before < $3
         order by xid, batch_id"
    ))
    .bind(position.xid.to_string())
    .bind(position.batch_id)
    .bind(max_events)
    .fetch_all(conn)
    .await
}

/// The condition on `ingest_batches b` of the batches the deriving worker has
/// not derived yet. Two scalar subqueries, so that the comparison is an index
/// range from the worker's position, not a scan of the whole ledger.
pub const UNDERIVED: &str = "(b.xid, b.batch_id) > ((select xid from ledger_positions where consumer = 'derive'), \
     (select batch_id from ledger_positions where consumer = 'derive'))";

/// The events of one committed batch, whose sequence range is given by the
/// SQL expressions `from` and `to` (columns of a lateral row, usually): found
/// by the sequence index alone. `offset 0` keeps every other condition of the
/// reading query outside this lookup. Beside them, a generic plan (a
/// connection's sixth run of a statement) could prefer a filter's index: the
/// index of words intersected with the time index read every match of a
/// common word once per batch, past the 10 s timeout at 10 M events.
pub fn batch_events(from: &str, to: &str) -> String {
    format!("(select * from events where seq between {from} and {to} offset 0)")
}

/// The columns of [`Batch`] in a query of `ingest_batches`.
pub const BATCH_COLUMNS: &str =
    "xid::text::int8 as xid, batch_id, seq_from, seq_to, first_occurred_at, last_occurred_at, events, root_hash";

/// The worker's backlog and the watermark's holder, now.
pub async fn status(pool: &PgPool) -> sqlx::Result<LedgerStatus> {
    let (underived_since, underived_events): (Option<DateTime<Utc>>, i64) = sqlx::query_as(&format!(
        "select min(received_at), coalesce(sum(events), 0)::int8
         from (
             select b.received_at, b.events
             from ingest_batches b
             where {UNDERIVED}
             order by b.xid, b.batch_id
             limit 1000
         ) backlog"
    ))
    .fetch_one(pool)
    .await?;
    let holder: Option<(i32, f64, Option<String>, Option<String>)> = sqlx::query_as(
        "select pid, extract(epoch from now() - xact_start)::float8 as age_seconds, state, application_name
         from pg_stat_activity
         where backend_xid is not null and xact_start < now() - interval '1 second'
         order by age(backend_xid) desc
         limit 1",
    )
    .fetch_optional(pool)
    .await?;
    let holder = holder.map(|(pid, age_seconds, state, application_name)| WatermarkHolder { pid, age_seconds, state, application_name });
    Ok(LedgerStatus {
        underived_since,
        underived_events,
        export_lag_seconds: holder.as_ref().map_or(0.0, |h| h.age_seconds),
        watermark_holder: holder,
    })
}

/// What the ledger says the ingest API received (every instance's; Vigil's
/// own trail left out): events in the last minute, hour and day, batches in
/// the last day, and each environment that sent in the last 7 days with its
/// newest batch, the longest quiet first. Ranges of the receive-time index,
/// however long the ledger. The rejected are each instance's own (`metrics`).
pub async fn activity(pool: &PgPool) -> sqlx::Result<IngestActivity> {
    let (last_minute, last_hour, last_day, batches_last_day): (i64, i64, i64, i64) = sqlx::query_as(
        "select coalesce(sum(events) filter (where received_at > now() - interval '1 minute'), 0)::int8,
                coalesce(sum(events) filter (where received_at > now() - interval '1 hour'), 0)::int8,
                coalesce(sum(events), 0)::int8, count(*)
         from ingest_batches where received_at > now() - interval '1 day' and environments <> '{vigil}'",
    )
    .fetch_one(pool)
    .await?;
    let environments = sqlx::query_as(
        "select environment, max(received_at) as newest from ingest_batches, unnest(environments) environment
         where received_at > now() - interval '7 days' and environment <> 'vigil'
         group by environment order by newest, environment",
    )
    .fetch_all(pool)
    .await?;
    Ok(IngestActivity { last_minute, last_hour, last_day, batches_last_day, environments, ..IngestActivity::default() })
}

/// When the charts' counts are as of, if the worker lags by more than
/// `tolerance`: the receive time of the oldest batch it has not derived yet.
pub async fn counts_as_of(pool: &PgPool, tolerance: chrono::Duration) -> sqlx::Result<Option<DateTime<Utc>>> {
    let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(&format!(
        "select b.received_at from ingest_batches b where {UNDERIVED} order by b.xid, b.batch_id limit 1"
    ))
    .fetch_optional(pool)
    .await?;
    Ok(oldest.filter(|t| Utc::now() - *t > tolerance))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::changes_past;

    #[test]
    fn events_of_an_earlier_hour_change_the_past_and_so_does_a_step_just_before_the_hour() {
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        assert!(changes_past(at(2, 23, 0), at(3, 9, 0)));
        assert!(changes_past(at(3, 8, 59), at(3, 9, 0)));
        assert!(!changes_past(at(3, 9, 0), at(3, 9, 30)));
        assert!(changes_past(at(3, 9, 10), at(3, 9, 59)), "a reader's clock may be past the hour");
    }
}
