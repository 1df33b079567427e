//! The SQL and the hashing of tamper evidence: an event's canonical form and
//! leaf, a batch's root, the chain of sealed batches and retention drops, and
//! the signed checkpoints of its head. Signing and verifying live in
//! `crate::integrity`; this module only hashes and stores.
//!
//! * leaf = SHA-256 of the RFC 8785 (JCS) form of [`Canonical`]: every stored
//!   field of the event, its `seq` included, integers as strings;
//! * a batch's root = SHA-256 over its [`MonthPart`]s, one per month its
//!   events fall in (month ‖ count ‖ Merkle root of that month's leaves in
//!   `seq` order), so that dropping one month's partition leaves the rest of
//!   the batch checkable against the part the drop recorded;
//! * head_n = SHA-256(head_{n-1} ‖ kind ‖ batch id ‖ count ‖ root), from 32 zero bytes.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use futures::TryStreamExt;

use super::clients::CLIENT_BY_KEY;
use super::ledger::{self, Batch, Position};
use super::retention::{Partition, IN_PARTITION};
use super::write::BATCH_SEQ_SPAN;
use crate::ingest::NewEvent;

pub type Hash = [u8; 32];

/// The fields of a stored event a leaf covers, as JCS writes them. Built from
/// the event being written ([`Canonical::of`]) and from the row read back
/// ([`StoredEvent::canonical`]); the two must agree for an untouched row.
#[derive(Serialize)]
pub struct Canonical<'a> {
    seq: String,
    id: &'a str,
    occurred_at: String,
    environment: &'a str,
    organization_id: &'a str,
    organization_name: Option<&'a str>,
    app_id: Option<&'a str>,
    app_name: Option<&'a str>,
    r#type: &'a str,
    category: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
    actor_type: &'a str,
    actor_id: Option<&'a str>,
    actor_name: Option<&'a str>,
    actor_email: Option<&'a str>,
    actor_role: Option<&'a str>,
    actor_session_id: Option<&'a str>,
    actor_api_key_id: Option<&'a str>,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    target_name: Option<&'a str>,
    changes: Option<&'a Value>,
    request_id: Option<&'a str>,
    request_method: Option<&'a str>,
    request_path: Option<&'a str>,
    request_status: Option<String>,
    request: Option<&'a Value>,
    response: Option<&'a Value>,
    client_ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    machine_id: Option<&'a str>,
    details: Option<&'a Value>,
    client_info: Option<Value>,
    country_code: Option<&'a str>,
    device_type: Option<&'a str>,
}

/// A time as the store keeps it: microseconds, cut off, never rounded up.
pub fn stored_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl<'a> Canonical<'a> {
    pub fn of(e: &'a NewEvent, seq: i64) -> Self {
        let info = e.client_info.as_ref();
        Canonical {
            seq: seq.to_string(),
            id: &e.id,
            occurred_at: stored_time(e.occurred_at),
            environment: &e.environment,
            organization_id: &e.organization_id,
            organization_name: e.organization_name.as_deref(),
            app_id: e.app_id.as_deref(),
            app_name: e.app_name.as_deref(),
            r#type: &e.event_type,
            category: e.category.as_str(),
            outcome: e.outcome.as_str(),
            reason: e.reason.as_deref(),
            actor_type: e.actor_type.as_str(),
            actor_id: e.actor_id.as_deref(),
            actor_name: e.actor_name.as_deref(),
            actor_email: e.actor_email.as_deref(),
            actor_role: e.actor_role.as_deref(),
            actor_session_id: e.actor_session_id.as_deref(),
            actor_api_key_id: e.actor_api_key_id.as_deref(),
            target_type: e.target_type.as_deref(),
            target_id: e.target_id.as_deref(),
            target_name: e.target_name.as_deref(),
            changes: e.changes.as_ref(),
            request_id: e.request_id.as_deref(),
            request_method: e.request_method.as_deref(),
            request_path: e.request_path.as_deref(),
            request_status: e.request_status.map(|s| s.to_string()),
            request: e.request.as_ref(),
            response: e.response.as_ref(),
            client_ip: e.client_ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            machine_id: e.machine_id.as_deref(),
            details: e.details.as_ref(),
            client_info: info.map(|i| serde_json::to_value(i).expect("client info serialises")),
            country_code: info.and_then(|i| i.place_country()),
            device_type: info.and_then(|i| i.device_type.as_deref()),
        }
    }

    pub fn leaf(&self) -> Hash {
        Sha256::digest(self.jcs()).into()
    }

    /// The RFC 8785 (JCS) form, written directly: the keys are ASCII, so
    /// their UTF-16 order is their byte order, written here in that order;
    /// strings are escaped as serde_json escapes them, which is JCS's escaping;
    /// nested JSON goes through `serde_json_canonicalizer`. A test holds it
    /// equal to that crate's form of the whole record (five times slower).
    fn jcs(&self) -> Vec<u8> {
        let mut out = Object::new(Vec::with_capacity(1024));
        out.text("actor_api_key_id", self.actor_api_key_id);
        out.text("actor_email", self.actor_email);
        out.text("actor_id", self.actor_id);
        out.text("actor_name", self.actor_name);
        out.text("actor_role", self.actor_role);
        out.text("actor_session_id", self.actor_session_id);
        out.text("actor_type", Some(self.actor_type));
        out.text("app_id", self.app_id);
        out.text("app_name", self.app_name);
        out.text("category", Some(self.category));
        out.json("changes", self.changes);
        out.json("client_info", self.client_info.as_ref());
        out.text("client_ip", self.client_ip);
        out.text("country_code", self.country_code);
        out.json("details", self.details);
        out.text("device_type", self.device_type);
        out.text("environment", Some(self.environment));
        out.text("id", Some(self.id));
        out.text("machine_id", self.machine_id);
        out.text("occurred_at", Some(&self.occurred_at));
        out.text("organization_id", Some(self.organization_id));
        out.text("organization_name", self.organization_name);
        out.text("outcome", Some(self.outcome));
        out.text("reason", self.reason);
        out.json("request", self.request);
        out.text("request_id", self.request_id);
        out.text("request_method", self.request_method);
        out.text("request_path", self.request_path);
        out.text("request_status", self.request_status.as_deref());
        out.json("response", self.response);
        out.text("seq", Some(&self.seq));
        out.text("target_id", self.target_id);
        out.text("target_name", self.target_name);
        out.text("target_type", self.target_type);
        out.text("type", Some(self.r#type));
        out.text("user_agent", self.user_agent);
        out.end()
    }
}

/// A JSON object written member by member, in the order given.
struct Object {
    out: Vec<u8>,
    first: bool,
}

impl Object {
    fn new(mut out: Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn text(&mut self, key: &str, value: Option<&str>) {
        self.key(key);
        serde_json::to_writer(&mut self.out, &value).expect("a string serialises");
    }

    fn json(&mut self, key: &str, value: Option<&Value>) {
        self.key(key);
        match value {
            None => self.out.extend_from_slice(b"null"),
            Some(value) => serde_json_canonicalizer::to_writer(value, &mut self.out).expect("JSON serialises"),
        }
    }

    fn end(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// An event row as stored, for recomputing its leaf.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub environment: String,
    pub organization_id: String,
    pub organization_name: Option<String>,
    pub app_id: Option<String>,
    pub app_name: Option<String>,
    pub r#type: String,
    pub category: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub actor_session_id: Option<String>,
    pub actor_api_key_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub changes: Option<Value>,
    pub request_id: Option<String>,
    pub request_method: Option<String>,
    pub request_path: Option<String>,
    pub request_status: Option<i32>,
    pub request: Option<Value>,
    pub response: Option<Value>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub machine_id: Option<String>,
    pub details: Option<Value>,
    pub client_info: Option<Value>,
    pub country_code: Option<String>,
    pub device_type: Option<String>,
    /// The leaf written beside the row (absent for rows stored before sealing).
    pub leaf: Option<Vec<u8>>,
}

/// The columns of [`StoredEvent`], every one as stored, but the two an event
/// may take from its client (`user_agent`, `client_info`: see `events_with_client`).
const STORED_COLUMNS: &str = "seq, id, occurred_at, environment, organization_id, organization_name, app_id, \
     app_name, type, category, outcome, reason, actor_type, actor_id, actor_name, actor_email, actor_role, \
     actor_session_id, actor_api_key_id, target_type, target_id, target_name, changes, request_id, \
     request_method, request_path, request_status, request, response, host(client_ip) as client_ip, \
     machine_id, details, country_code, device_type, leaf";

impl StoredEvent {
    pub fn canonical(&self) -> Canonical<'_> {
        Canonical {
            seq: self.seq.to_string(),
            id: &self.id,
            occurred_at: stored_time(self.occurred_at),
            environment: &self.environment,
            organization_id: &self.organization_id,
            organization_name: self.organization_name.as_deref(),
            app_id: self.app_id.as_deref(),
            app_name: self.app_name.as_deref(),
            r#type: &self.r#type,
            category: &self.category,
            outcome: &self.outcome,
            reason: self.reason.as_deref(),
            actor_type: &self.actor_type,
            actor_id: self.actor_id.as_deref(),
            actor_name: self.actor_name.as_deref(),
            actor_email: self.actor_email.as_deref(),
            actor_role: self.actor_role.as_deref(),
            actor_session_id: self.actor_session_id.as_deref(),
            actor_api_key_id: self.actor_api_key_id.as_deref(),
            target_type: self.target_type.as_deref(),
            target_id: self.target_id.as_deref(),
            target_name: self.target_name.as_deref(),
            changes: self.changes.as_ref(),
            request_id: self.request_id.as_deref(),
            request_method: self.request_method.as_deref(),
            request_path: self.request_path.as_deref(),
            request_status: self.request_status.map(|s| s.to_string()),
            request: self.request.as_ref(),
            response: self.response.as_ref(),
            client_ip: self.client_ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            machine_id: self.machine_id.as_deref(),
            details: self.details.as_ref(),
            client_info: self.client_info.clone(),
            country_code: self.country_code.as_deref(),
            device_type: self.device_type.as_deref(),
        }
    }
}

/// The events with `seq` in `from..=to` (one batch), in `seq` order, each
/// client looked up by its key (`clients::CLIENT_BY_KEY`: through the view a
/// batch of 5 000 took 67 ms at 10 M events, hashing every client and
/// sorting; 16–21 ms so).
pub async fn stored_events(conn: &mut PgConnection, from: i64, to: i64) -> sqlx::Result<Vec<StoredEvent>> {
    sqlx::query_as(&format!("select {STORED_COLUMNS}, {CLIENT_BY_KEY} where seq between $1 and $2 order by seq"))
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await
}

/// The month parts of every batch with events in one partition (a month),
/// from the stored rows: what a retention drop records before it drops them.
pub async fn partition_parts(conn: &mut PgConnection, partition: &Partition) -> sqlx::Result<Vec<(i64, MonthPart)>> {
    let sql = format!("select {STORED_COLUMNS}, user_agent, client_info from events_with_client where {IN_PARTITION} order by seq");
    let mut rows = sqlx::query_as::<_, StoredEvent>(&sql).bind(partition.from).bind(partition.to).fetch(conn);
    let mut batches: BTreeMap<i64, Vec<(String, Hash)>> = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let leaf = (month_of(row.occurred_at), row.canonical().leaf());
        batches.entry(row.seq / BATCH_SEQ_SPAN).or_default().push(leaf);
    }
    Ok(batches
        .into_iter()
        .flat_map(|(batch_id, leaves)| month_parts(leaves).into_iter().map(move |part| (batch_id, part)))
        .collect())
}

/// The `YYYY-MM` month of a time, the unit of partitions and of root parts.
pub fn month_of(time: DateTime<Utc>) -> String {
    time.format("%Y-%m").to_string()
}

/// One month's share of a batch: how many events, and the Merkle root of their leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthPart {
    pub month: String,
    pub events: u64,
    #[serde(with = "hex_hash")]
    pub root: Hash,
}

/// Group leaves (in `seq` order) by month into parts, months ascending.
pub fn month_parts(leaves: impl IntoIterator<Item = (String, Hash)>) -> Vec<MonthPart> {
    let mut months: BTreeMap<String, Vec<Hash>> = BTreeMap::new();
    for (month, leaf) in leaves {
        months.entry(month).or_default().push(leaf);
    }
    months
        .into_iter()
        .map(|(month, leaves)| MonthPart { month, events: leaves.len() as u64, root: merkle_root(&leaves) })
        .collect()
}

/// A batch's root from its month parts (months ascending).
pub fn batch_root(parts: &[MonthPart]) -> Hash {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.month.as_bytes());
        hash.update(part.events.to_be_bytes());
        hash.update(part.root);
    }
    hash.finalize().into()
}

/// SHA-256 Merkle root: pairs hashed level by level, an odd last node paired
/// with itself; the empty list's root is the hash of nothing.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = leaves.to_vec();
    if level.is_empty() {
        return Sha256::digest([]).into();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let right = pair.get(1).unwrap_or(&pair[0]);
                Sha256::new().chain_update(pair[0]).chain_update(right).finalize().into()
            })
            .collect();
    }
    level[0]
}

/// One batch's part of a dropped month, as a prune record lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrunedPart {
    pub batch_id: i64,
    #[serde(flatten)]
    pub part: MonthPart,
}

/// The record of a retention drop, signed and kept in its chain entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruneRecord {
    pub partition: String,
    pub from: String,
    pub to: String,
    /// How many events, as a string (integers are strings in signed forms).
    pub events: String,
    pub archive_sha256: Option<String>,
    pub parts: Vec<PrunedPart>,
}

/// A prune record's canonical bytes (what is signed) and their SHA-256 (its
/// chain entry's root), from the record as stored.
pub fn prune_digest(record: &Value) -> (Vec<u8>, Hash) {
    let bytes = serde_json_canonicalizer::to_vec(record).expect("JSON serialises");
    let root = Sha256::digest(&bytes).into();
    (bytes, root)
}

/// What a chain entry stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum EntryKind {
    Batch,
    Prune,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Batch => "batch",
            EntryKind::Prune => "prune",
        }
    }
}

/// The chain's next head.
pub fn next_head(previous: &Hash, kind: EntryKind, batch_id: i64, events: i64, root: &Hash) -> Hash {
    Sha256::new()
        .chain_update(previous)
        .chain_update(kind.as_str().as_bytes())
        .chain_update(batch_id.to_be_bytes())
        .chain_update(events.to_be_bytes())
        .chain_update(root)
        .finalize()
        .into()
}

/// The head before the first entry.
pub const GENESIS: Hash = [0; 32];

/// One entry of the chain as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChainEntry {
    pub position: i64,
    pub kind: EntryKind,
    pub batch_id: i64,
    pub events: i64,
    pub root: Vec<u8>,
    pub head: Vec<u8>,
    pub total_events: i64,
    pub prune: Option<Value>,
    pub signature: Option<Vec<u8>>,
    pub sealed_at: DateTime<Utc>,
}

/// The chain's last entry: (position, head, total events), or the genesis.
pub async fn chain_end(conn: &mut PgConnection) -> sqlx::Result<(i64, Hash, i64)> {
    let last: Option<(i64, Vec<u8>, i64)> =
        sqlx::query_as("select position, head, total_events from seal_chain order by position desc limit 1")
            .fetch_optional(conn)
            .await?;
    Ok(last.map_or((0, GENESIS, 0), |(position, head, total)| (position, to_hash(&head), total)))
}

/// A stored hash; a column of the wrong length (an edited row) reads as zeros,
/// which no real hash equals.
pub fn to_hash(bytes: &[u8]) -> Hash {
    bytes.try_into().unwrap_or([0; 32])
}

/// Advisory lock of whoever appends to the chain ("vigilsel").
const SEAL_LOCK: i64 = 0x7669_6769_6c73_656c;

/// Take the chain's lock for this transaction: one appender at a time, across instances.
pub async fn lock_chain(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock($1)").bind(SEAL_LOCK).execute(conn).await.map(drop)
}

/// Append one entry after `end`; returns the new end.
pub async fn append(
    conn: &mut PgConnection,
    end: (i64, Hash, i64),
    kind: EntryKind,
    batch_id: i64,
    events: i64,
    root: &Hash,
    prune: Option<(&Value, &[u8])>,
) -> sqlx::Result<(i64, Hash, i64)> {
    let (position, previous, total) = end;
    let head = next_head(&previous, kind, batch_id, events, root);
    let total = if kind == EntryKind::Batch { total + events } else { total };
    sqlx::query(
        "insert into seal_chain (position, kind, batch_id, events, root, head, total_events, prune, signature) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(position + 1)
    .bind(kind)
    .bind(batch_id)
    .bind(events)
    .bind(root.to_vec())
    .bind(head.to_vec())
    .bind(total)
    .bind(prune.map(|(record, _)| record))
    .bind(prune.map(|(_, signature)| signature))
    .execute(conn)
    .await?;
    Ok((position + 1, head, total))
}

/// Seal the next committed batches below the watermark, in ledger order, in
/// one transaction with the sealer's position. Returns how many batches.
pub async fn seal_step(pool: &PgPool, max_events: i64) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    sqlx::query("set local statement_timeout = '5min'").execute(&mut *tx).await?;
    lock_chain(&mut tx).await?;
    let position = ledger::position(&mut tx, "seal").await?;
    let batches = ledger::next_batches(&mut tx, position, max_events).await?;
    let Some(last) = batches.last() else {
        tx.rollback().await?;
        return Ok(0);
    };
    let mut end = chain_end(&mut tx).await?;
    for batch in &batches {
        let root = batch_root_of(&mut tx, batch).await?;
        end = append(&mut tx, end, EntryKind::Batch, batch.batch_id, batch.events as i64, &root, None).await?;
    }
    ledger::set_position(&mut tx, "seal", Position { xid: last.xid, batch_id: last.batch_id }).await?;
    tx.commit().await?;
    Ok(batches.len())
}

/// The root the writer recorded, or (for batches stored before sealing) one
/// computed now from the stored rows, and recorded.
async fn batch_root_of(conn: &mut PgConnection, batch: &Batch) -> sqlx::Result<Hash> {
    if let Some(root) = &batch.root_hash {
        return Ok(to_hash(root));
    }
    let rows = stored_events(&mut *conn, batch.seq_from, batch.seq_to).await?;
    let root = batch_root(&month_parts(rows.iter().map(|r| (month_of(r.occurred_at), r.canonical().leaf()))));
    sqlx::query("update ingest_batches set root_hash = $2 where batch_id = $1")
        .bind(batch.batch_id)
        .bind(root.to_vec())
        .execute(conn)
        .await?;
    Ok(root)
}

/// A signed statement of the chain's head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Checkpoint {
    pub position: i64,
    pub total_events: i64,
    #[serde(with = "hex_bytes")]
    pub head: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    pub public_key: String,
}

pub async fn insert_checkpoint(conn: &mut PgConnection, checkpoint: &Checkpoint) -> sqlx::Result<()> {
    sqlx::query(
        "insert into seal_checkpoints (position, total_events, head, signed_at, signature, public_key) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(checkpoint.position)
    .bind(checkpoint.total_events)
    .bind(&checkpoint.head)
    .bind(checkpoint.signed_at)
    .bind(&checkpoint.signature)
    .bind(&checkpoint.public_key)
    .execute(conn)
    .await
    .map(drop)
}

/// Every checkpoint in the database, oldest first.
pub async fn checkpoints(pool: &PgPool) -> sqlx::Result<Vec<Checkpoint>> {
    sqlx::query_as(
        &format!("select {CHECKPOINT_COLUMNS} from seal_checkpoints order by number"),
    )
    .fetch_all(pool)
    .await
}

/// The newest checkpoint, if any.
pub async fn last_checkpoint(conn: &mut PgConnection) -> sqlx::Result<Option<Checkpoint>> {
    sqlx::query_as(
        &format!("select {CHECKPOINT_COLUMNS} from seal_checkpoints order by number desc limit 1"),
    )
    .fetch_optional(conn)
    .await
}

/// The columns of [`ChainEntry`].
const CHAIN_COLUMNS: &str = "position, kind, batch_id, events, root, head, total_events, prune, signature, sealed_at";

/// The columns of [`Checkpoint`].
const CHECKPOINT_COLUMNS: &str = "position, total_events, head, signed_at, signature, public_key";

/// The chain's entries from `after` on, `limit` at a time, in order.
pub async fn chain_entries(pool: &PgPool, after: i64, limit: i64) -> sqlx::Result<Vec<ChainEntry>> {
    sqlx::query_as(
        &format!("select {CHAIN_COLUMNS} from seal_chain where position > $1 order by position limit $2"),
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A batch's ledger row, as verification compares it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LedgerRow {
    pub batch_id: i64,
    pub seq_from: i64,
    pub seq_to: i64,
    pub root_hash: Option<Vec<u8>>,
}

/// The ledger rows of these batches.
pub async fn ledger_rows(pool: &PgPool, batch_ids: &[i64]) -> sqlx::Result<Vec<LedgerRow>> {
    sqlx::query_as("select batch_id, seq_from, seq_to, root_hash from ingest_batches where batch_id = any($1)")
        .bind(batch_ids)
        .fetch_all(pool)
        .await
}

/// The chain's retention drops, in order.
pub async fn prune_entries(pool: &PgPool) -> sqlx::Result<Vec<ChainEntry>> {
    sqlx::query_as(
        &format!("select {CHAIN_COLUMNS} from seal_chain where kind = 'prune' order by position"),
    )
    .fetch_all(pool)
    .await
}

/// Every event row stored (a scan of the whole store: for verification only).
pub async fn event_rows(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from events").fetch_one(pool).await
}

/// Serde as lowercase hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod hex_hash {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &super::Hash, s: S) -> Result<S::Ok, S::Error> {
        super::hex_bytes::serialize(bytes, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<super::Hash, D::Error> {
        let bytes = super::hex_bytes::deserialize(d)?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("a hash has 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merkle_root_pairs_an_odd_last_leaf_with_itself() {
        let leaf = |b: u8| -> Hash { Sha256::digest([b]).into() };
        let pair = |l: Hash, r: Hash| -> Hash { Sha256::new().chain_update(l).chain_update(r).finalize().into() };
        assert_eq!(merkle_root(&[leaf(1)]), leaf(1));
        assert_eq!(merkle_root(&[leaf(1), leaf(2), leaf(3)]), pair(pair(leaf(1), leaf(2)), pair(leaf(3), leaf(3))));
    }

    #[test]
    fn the_written_form_is_the_canonical_form() {
        let mut e: NewEvent = crate::ingest::validate(
            0,
            &serde_json::json!({
                "id": "evt\u{1} \"quoted\" \\ é 𝄞", "occurred_at": "2026-11-20T10:00:00.123456789Z",
                "environment": "production", "organization": {"id": "org_1", "name": "Acme\n"},
                "app": {"id": "a", "name": "App"}, "type": "role.update", "outcome": "denied", "reason": "no",
                "actor": {"type": "user", "id": "u1", "name": "Ana", "email": "a@x.example", "role": "admin", "session_id": "s1"},
                "target": {"type": "role", "id": "r", "name": "Support"},
                "changes": [{"field": "z", "old": 1.0, "new": [1e21, -0.0, 3.14]}, {"field": "a", "old": null, "new": {"ü": 1, "a": 2, "\u{e9}": 3}}],
                "request": {"id": "q", "method": "POST", "path": "/x?y=1", "status": 403, "body": {"b": true}},
                "response": {"status": 403}, "client": {"ip": "81.2.69.160", "user_agent": "Mozilla/5.0", "machine_id": "m"},
                "details": {"k": "\t\u{7f}\u{2028}"}
            }),
            Utc::now(),
        )
        .expect("valid");
        e.client_info = Some(crate::model::ClientInfo { browser: Some("Chrome".into()), country_code: Some("GB".into()), ..Default::default() });
        let canonical = Canonical::of(&e, 123_456);
        assert_eq!(
            String::from_utf8(canonical.jcs()).unwrap(),
            serde_json_canonicalizer::to_string(&canonical).unwrap()
        );
        let bare = crate::ingest::validate(0, &serde_json::json!({"type": "app.view", "actor": {"id": "u"}}), Utc::now()).unwrap();
        let canonical = Canonical::of(&bare, 1);
        assert_eq!(canonical.jcs(), serde_json_canonicalizer::to_vec(&canonical).unwrap());
    }

    #[test]
    fn leaves_group_by_month_in_order() {
        let leaf = |b: u8| -> Hash { Sha256::digest([b]).into() };
        let parts = month_parts([("2026-02".into(), leaf(1)), ("2026-01".into(), leaf(2)), ("2026-02".into(), leaf(3))]);
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].month.as_str(), parts[0].events), ("2026-01", 1));
        assert_eq!(parts[1].root, merkle_root(&[leaf(1), leaf(3)]));
    }
}
