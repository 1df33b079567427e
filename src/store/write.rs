//! The writer: one batch of validated events, committed with its ledger row.
//!
//! Writers run concurrently (no global lock). A batch claims its event ids
//! (unique per environment and organization), streams the claimed events into
//! `events` with `COPY` (their clients to `event_clients`, `store::clients`),
//! and adds its row to `ingest_batches` in the same transaction. Everything
//! derived from events (counts, names, terms, sessions) is the deriving
//! worker's job (`store::derive`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::clients::{self, Client};
use super::seal::{batch_root, month_of, month_parts, stored_time, Canonical, Hash};
use super::terms::Terms;
use crate::ingest::NewEvent;

/// Most events one ledger batch holds: its events are numbered
/// `batch_id * BATCH_SEQ_SPAN + i` (see migration 12).
pub const BATCH_SEQ_SPAN: i64 = 16_384;

/// What happened to a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub inserted: u64,
    pub duplicates: u64,
}

/// Store a batch; when this returns, it is committed. An event whose id is
/// already stored in its environment and organization, or repeated within the
/// batch, counts as a duplicate and is not written again.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn insert_events(pool: &PgPool, events: &[NewEvent]) -> sqlx::Result<InsertOutcome> {
    insert(pool, events, Sealing::On).await
}

/// Whether a batch's events get their leaves and the batch its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealing {
    On,
    /// Only to measure what sealing costs at ingest (`vigil demo --no-seal`):
    /// the sealer computes such a batch's root from its stored rows later.
    Off,
}

/// [`insert_events`], sealed or not.
pub async fn insert(pool: &PgPool, events: &[NewEvent], sealing: Sealing) -> sqlx::Result<InsertOutcome> {
    if events.is_empty() {
        return Ok(InsertOutcome::default());
    }
    let days: Vec<_> = events.iter().map(|e| e.occurred_at.date_naive()).collect();
    super::ensure_partitions(pool, &days).await?;
    let mut tx = pool.begin().await?;
    match write(&mut tx, events, sealing).await {
        Ok(outcome) => tx.commit().await.map(|()| outcome),
        Err(error) => {
            // Roll back now: a transaction left to roll back when its
            // connection is next used would hold the watermark back meanwhile.
            let _ = tx.rollback().await;
            Err(error)
        }
    }
}

/// Write a batch inside the caller's transaction (the months it touches must
/// have partitions). Exposed so a test can hold a writer's transaction open.
pub async fn write_batch(conn: &mut PgConnection, events: &[NewEvent]) -> sqlx::Result<InsertOutcome> {
    write(conn, events, Sealing::On).await
}

async fn write(conn: &mut PgConnection, events: &[NewEvent], sealing: Sealing) -> sqlx::Result<InsertOutcome> {
    let stored = claim_ids(conn, events).await?;
    for chunk in stored.chunks(BATCH_SEQ_SPAN as usize) {
        let batch_id: i64 = sqlx::query_scalar("select nextval('ingest_batch_seq')").fetch_one(&mut *conn).await?;
        let rows = CopyRows::encode(chunk, batch_id * BATCH_SEQ_SPAN, sealing);
        let mut copy = conn.copy_in_raw(COPY_EVENTS).await?;
        copy.send(rows.text).await?;
        copy.finish().await?;
        clients::record(conn, &rows.clients).await?;
        record_batch(conn, batch_id, chunk, rows.root).await?;
    }
    let inserted = stored.len() as u64;
    Ok(InsertOutcome { inserted, duplicates: events.len() as u64 - inserted })
}

type Key<'a> = (&'a str, &'a str, &'a str);

fn key(e: &NewEvent) -> Key<'_> {
    (e.id.as_str(), e.environment.as_str(), e.organization_id.as_str())
}

/// Claim the batch's ids in the id ledger and return the events to store: the
/// first of each id the batch claimed (its time is the one the ledger keeps). Claimed in key order, so that two
/// writers claiming overlapping ids cannot deadlock; the second of two racing
/// writers waits for the first to commit and then finds the id taken.
async fn claim_ids<'e>(conn: &mut PgConnection, events: &'e [NewEvent]) -> sqlx::Result<Vec<&'e NewEvent>> {
    let mut first: HashMap<Key<'e>, usize> = HashMap::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        first.entry(key(event)).or_insert(index);
    }
    let column = |f: fn(&NewEvent) -> &str| events.iter().map(f).collect::<Vec<_>>();
    let times: Vec<_> = events.iter().map(|e| e.occurred_at).collect();
    let claimed: Vec<(String, String, String)> = sqlx::query_as(
        "insert into event_ids (id, environment, organization_id, occurred_at) \
         select distinct on (id, environment, organization_id) id, environment, organization_id, occurred_at \
         from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) with ordinality \
             as b(id, environment, organization_id, occurred_at, n) \
         order by id, environment, organization_id, n \
         on conflict do nothing \
         returning id, environment, organization_id",
    )
    .bind(column(|e| &e.id))
    .bind(column(|e| &e.environment))
    .bind(column(|e| &e.organization_id))
    .bind(&times)
    .fetch_all(&mut *conn)
    .await?;
    let mut indexes: Vec<usize> =
        claimed.iter().filter_map(|(i, e, o)| first.get(&(i.as_str(), e.as_str(), o.as_str())).copied()).collect();
    indexes.sort_unstable();
    Ok(indexes.into_iter().map(|index| &events[index]).collect())
}

/// The batch's ledger row, in the batch's transaction (its `xid` defaults to
/// that transaction's id).
async fn record_batch(conn: &mut PgConnection, batch_id: i64, events: &[&NewEvent], root: Option<Hash>) -> sqlx::Result<()> {
    let first = events.iter().map(|e| e.occurred_at).min();
    let last = events.iter().map(|e| e.occurred_at).max();
    let distinct = |f: fn(&NewEvent) -> &str| {
        let set: std::collections::BTreeSet<&str> = events.iter().map(|e| f(e)).collect();
        set.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    sqlx::query(
        "insert into ingest_batches (batch_id, seq_from, seq_to, events, first_occurred_at, \
             last_occurred_at, environments, organizations, root_hash) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(batch_id)
    .bind(batch_id * BATCH_SEQ_SPAN)
    .bind(batch_id * BATCH_SEQ_SPAN + events.len() as i64 - 1)
    .bind(events.len() as i32)
    .bind(first)
    .bind(last)
    .bind(distinct(|e| &e.environment))
    .bind(distinct(|e| &e.organization_id))
    .bind(root.map(|r| r.to_vec()))
    .execute(conn)
    .await?;
    Ok(())
}

const COPY_EVENTS: &str = "copy events (
    organization_id, occurred_at, id, seq, environment, organization_name, app_id, app_name,
    type, category, outcome, reason, actor_type, actor_id, actor_name, actor_email, actor_role,
    actor_session_id, actor_api_key_id, target_type, target_id, target_name, changes,
    request_id, request_method, request_path, request_status, request, response, client_ip,
    client_key, machine_id, details, country_code, device_type, search_text, leaf
) from stdin";

/// A chunk of events in PostgreSQL's text `COPY` format, each with its leaf,
/// the chunk's root (see `store::seal`) and the clients its events refer to.
struct CopyRows<'a> {
    text: Vec<u8>,
    root: Option<Hash>,
    clients: Vec<Client<'a>>,
}

impl<'a> CopyRows<'a> {
    fn encode(events: &[&'a NewEvent], first_seq: i64, sealing: Sealing) -> Self {
        let mut text = Vec::with_capacity(events.len() * 1024);
        let mut leaves = Vec::with_capacity(events.len());
        let mut clients = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let seq = first_seq + i as i64;
            let client = Client::of(e);
            let line = Line::new(&mut text).event(e, seq, client.as_ref().map(|c| c.key.as_slice()));
            clients.extend(client);
            if sealing == Sealing::On {
                let leaf = Canonical::of(e, seq).leaf();
                line.bytea(Some(&leaf));
                leaves.push((month_of(e.occurred_at), leaf));
            } else {
                line.text(None);
            }
            text.push(b'\n');
        }
        let root = (sealing == Sealing::On).then(|| batch_root(&month_parts(leaves)));
        CopyRows { text, root, clients }
    }
}

/// One row being written: fields separated by tabs, `\N` for null.
struct Line<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Line<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Line { out, first: true }
    }

    fn event(self, e: &NewEvent, seq: i64, client: Option<&[u8]>) -> Self {
        let info = e.client_info.as_ref();
        self.text(Some(&e.organization_id))
            .time(e.occurred_at)
            .text(Some(&e.id))
            .raw(&seq.to_string())
            .text(Some(&e.environment))
            .text(e.organization_name.as_deref())
            .text(e.app_id.as_deref())
            .text(e.app_name.as_deref())
            .text(Some(&e.event_type))
            .text(Some(e.category.as_str()))
            .text(Some(e.outcome.as_str()))
            .text(e.reason.as_deref())
            .text(Some(e.actor_type.as_str()))
            .text(e.actor_id.as_deref())
            .text(e.actor_name.as_deref())
            .text(e.actor_email.as_deref())
            .text(e.actor_role.as_deref())
            .text(e.actor_session_id.as_deref())
            .text(e.actor_api_key_id.as_deref())
            .text(e.target_type.as_deref())
            .text(e.target_id.as_deref())
            .text(e.target_name.as_deref())
            .json(e.changes.as_ref())
            .text(e.request_id.as_deref())
            .text(e.request_method.as_deref())
            .text(e.request_path.as_deref())
            .text(e.request_status.map(|s| s.to_string()).as_deref())
            .json(e.request.as_ref())
            .json(e.response.as_ref())
            .text(e.client_ip.as_deref())
            .bytea(client)
            .text(e.machine_id.as_deref())
            .json(e.details.as_ref())
            .text(info.and_then(|i| i.place_country()))
            .text(info.and_then(|i| i.device_type.as_deref()))
            .text(Some(&Terms::of_event(e).stored()))
    }

    /// `\\x` and hex: a backslash escaped for `COPY`, then bytea's hex form.
    fn bytea(self, value: Option<&[u8]>) -> Self {
        match value {
            Some(value) => self.raw(&format!("\\\\x{}", hex::encode(value))),
            None => self.text(None),
        }
    }

    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b'\t');
        }
    }

    fn raw(mut self, value: &str) -> Self {
        self.separate();
        self.out.extend_from_slice(value.as_bytes());
        self
    }

    /// In microseconds, cut off as sqlx cuts off the times it binds (the
    /// ledger's time range), never rounded up past them.
    fn time(self, value: DateTime<Utc>) -> Self {
        self.raw(&stored_time(value))
    }

    fn text(mut self, value: Option<&str>) -> Self {
        self.separate();
        match value {
            None => self.out.extend_from_slice(b"\\N"),
            Some(text) => escape_into(self.out, text.as_bytes()),
        }
        self
    }

    fn json(mut self, value: Option<&serde_json::Value>) -> Self {
        self.separate();
        match value {
            None => self.out.extend_from_slice(b"\\N"),
            Some(value) => escape_into(self.out, serde_json::to_string(value).expect("JSON serialises").as_bytes()),
        }
        self
    }
}

/// The text `COPY` escapes: backslash, and the characters that end a field or a row.
fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_escape_what_would_end_them() {
        let mut out = Vec::new();
        Line::new(&mut out).text(Some("a\tb\nc\\d\re")).text(None).raw("7");
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re\t\\N\t7");
    }

    #[test]
    fn times_are_cut_to_microseconds_never_rounded_up() {
        let mut out = Vec::new();
        let time = DateTime::parse_from_rfc3339("2026-12-01T23:59:59.999999999Z").unwrap().to_utc();
        Line::new(&mut out).time(time);
        assert_eq!(out, b"2026-12-01T23:59:59.999999Z");
    }
}
