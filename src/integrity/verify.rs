//! Verification: recompute every sealed batch's leaves and root from the
//! stored events, the chain's heads from the roots, and compare them with the
//! checkpoints signed by the seal key (from the database and from the
//! checkpoint log outside it). Reports each difference by what it is: an
//! edited event (by id), deleted events or batches (where), rows no batch
//! accounts for, a chain cut short of a checkpoint (truncation), a chain that
//! no longer reaches a checkpoint's head (reordered or rewritten entries), and
//! checkpoints or drop records whose signature does not hold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::VerifyingKey;
use sqlx::PgPool;

use super::{checkpoint_message, read_log};
use crate::model::{Finding, VerifyReport};
use crate::state::seal_key::{public_key_text, signed_by};
use crate::store::seal::{self, ChainEntry, Checkpoint, EntryKind, Hash, MonthPart, StoredEvent};
use crate::store::write::BATCH_SEQ_SPAN;

/// Chain entries read at once.
const PAGE: i64 = 500;

fn finding(kind: &str, message: String) -> Finding {
    Finding { kind: kind.into(), message, position: None, batch_id: None, event_id: None }
}

/// A finding about one position of the chain.
fn finding_at(kind: &str, position: i64, message: String) -> Finding {
    Finding { position: Some(position), ..finding(kind, message) }
}

/// Progress of a long run: entries done, entries in all, events checked.
pub type Progress<'a> = &'a mut (dyn FnMut(i64, i64, i64) + Send);

/// Verify the whole store against `key`, stopping (incomplete) after `limit`.
pub async fn verify(
    pool: &PgPool,
    key: &VerifyingKey,
    log: Option<&Path>,
    limit: Option<Duration>,
    progress: Progress<'_>,
) -> anyhow::Result<VerifyReport> {
    let started = Instant::now();
    let mut report = VerifyReport { public_key: public_key_text(key), ..Default::default() };
    let signed = check_checkpoints(pool, key, log, &mut report).await?;
    let pruned = check_prunes(pool, key, &mut report).await?;
    let (total, _, _) = seal::chain_end(&mut *pool.acquire().await?).await?;
    let mut walk = Walk { head: seal::GENESIS, position: 0, rows_seen: 0, signed: &signed, pruned: &pruned };
    report.complete = true;
    loop {
        let entries = seal::chain_entries(pool, walk.position, PAGE).await?;
        if entries.is_empty() {
            break;
        }
        walk.entries(pool, &entries, &mut report).await?;
        progress(walk.position, total, report.events);
        if limit.is_some_and(|l| started.elapsed() > l) {
            report.complete = false;
            break;
        }
    }
    if report.complete {
        walk.finish(pool, &mut report).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Check every checkpoint's signature; return the valid ones' heads by position.
async fn check_checkpoints(
    pool: &PgPool,
    key: &VerifyingKey,
    log: Option<&Path>,
    report: &mut VerifyReport,
) -> anyhow::Result<BTreeMap<i64, (Hash, String)>> {
    let stored = seal::checkpoints(pool).await?;
    let logged = log.map(read_log).transpose()?.unwrap_or_default();
    let mut signed = BTreeMap::new();
    let labelled = stored
        .iter()
        .enumerate()
        .map(|(n, c)| (format!("checkpoint #{} in the database", n + 1), c, true))
        .chain(logged.iter().enumerate().map(|(n, c)| (format!("checkpoint on line {} of the log", n + 1), c, false)));
    for (label, checkpoint, in_database) in labelled {
        let message = checkpoint_message(checkpoint.position, checkpoint.total_events, &checkpoint.head, checkpoint.signed_at);
        if !signed_by(key, &message, &checkpoint.signature) {
            report.findings.push(finding_at("bad_checkpoint", checkpoint.position, format!(
                "{label} (position {}, {}) is not signed by this key: it was edited, or signed with another key",
                checkpoint.position, checkpoint.signed_at
            )));
            continue;
        }
        if !in_database && !stored.iter().any(|s| same_checkpoint(s, checkpoint)) {
            report.findings.push(finding_at("missing_checkpoint", checkpoint.position, format!(
                "{label} (position {}, {}) is missing from the database: it was deleted there",
                checkpoint.position, checkpoint.signed_at
            )));
        }
        report.checkpoints += 1;
        if report.last_checkpoint.is_none_or(|(p, at)| (checkpoint.position, checkpoint.signed_at) > (p, at)) {
            report.last_checkpoint = Some((checkpoint.position, checkpoint.signed_at));
        }
        signed.insert(checkpoint.position, (seal::to_hash(&checkpoint.head), label));
    }
    Ok(signed)
}

fn same_checkpoint(a: &Checkpoint, b: &Checkpoint) -> bool {
    (a.position, &a.head, a.signed_at, &a.signature) == (b.position, &b.head, b.signed_at, &b.signature)
}

/// What retention drops recorded of each batch: its dropped month parts.
type Pruned = HashMap<i64, Vec<MonthPart>>;

/// Check every drop record's signature and root; collect the parts they dropped.
async fn check_prunes(pool: &PgPool, key: &VerifyingKey, report: &mut VerifyReport) -> anyhow::Result<Pruned> {
    let mut pruned = Pruned::new();
    for entry in seal::prune_entries(pool).await? {
        let record = entry.prune.clone().unwrap_or_default();
        let (bytes, root) = seal::prune_digest(&record);
        let signature = entry.signature.as_deref().unwrap_or_default();
        if !signed_by(key, &bytes, signature) || root[..] != entry.root[..] {
            report.findings.push(finding_at("bad_prune_record", entry.position, format!(
                "the retention drop at position {} does not match its signature: its record was edited or forged",
                entry.position
            )));
            continue;
        }
        report.prunes += 1;
        let record: seal::PruneRecord = serde_json::from_value(record)?;
        for seal::PrunedPart { batch_id, part } in record.parts {
            pruned.entry(batch_id).or_default().push(part);
        }
    }
    Ok(pruned)
}

/// The state of a walk along the chain.
struct Walk<'a> {
    head: Hash,
    position: i64,
    /// Event rows found in sealed batches.
    rows_seen: i64,
    signed: &'a BTreeMap<i64, (Hash, String)>,
    pruned: &'a Pruned,
}

impl Walk<'_> {
    async fn entries(&mut self, pool: &PgPool, entries: &[ChainEntry], report: &mut VerifyReport) -> anyhow::Result<()> {
        let ids: Vec<i64> = entries.iter().filter(|e| e.kind == EntryKind::Batch).map(|e| e.batch_id).collect();
        let ledger: HashMap<i64, seal::LedgerRow> =
            seal::ledger_rows(pool, &ids).await?.into_iter().map(|row| (row.batch_id, row)).collect();
        let mut conn = pool.acquire().await?;
        for entry in entries {
            if entry.position != self.position + 1 {
                report.findings.push(finding_at("truncated", self.position + 1, format!(
                    "the chain skips from position {} to {}: entries were deleted",
                    self.position, entry.position
                )));
            }
            if entry.kind == EntryKind::Batch {
                let row = ledger.get(&entry.batch_id);
                let (from, to) = row.map_or((entry.batch_id * BATCH_SEQ_SPAN, entry.batch_id * BATCH_SEQ_SPAN + entry.events - 1), |r| (r.seq_from, r.seq_to));
                let rows = seal::stored_events(&mut conn, from, to).await?;
                self.rows_seen += rows.len() as i64;
                report.events += rows.len() as i64;
                check_batch(entry, row, &rows, self.pruned.get(&entry.batch_id), report);
            }
            self.head = seal::next_head(&self.head, entry.kind, entry.batch_id, entry.events, &seal::to_hash(&entry.root));
            self.position = entry.position;
            report.entries += 1;
            self.check_head(entry, report);
        }
        Ok(())
    }

    /// Compare the recomputed head with a signed checkpoint at this position.
    fn check_head(&self, entry: &ChainEntry, report: &mut VerifyReport) {
        let Some((head, label)) = self.signed.get(&entry.position) else {
            return;
        };
        if *head != self.head {
            let since = self.signed.range(..entry.position).next_back().map_or(0, |(p, _)| *p);
            report.findings.push(finding_at("chain_diverges", entry.position, format!(
                "the chain recomputed up to position {} does not reach the head signed in {label}: entries \
                 between positions {} and {} were reordered, replaced or rewritten",
                entry.position, since + 1, entry.position
            )));
        }
    }

    /// After the last entry: the chain must reach every signed checkpoint, and
    /// every event row must belong to a sealed or a not-yet-sealed batch.
    async fn finish(&self, pool: &PgPool, report: &mut VerifyReport) -> anyhow::Result<()> {
        if let Some((&position, (_, label))) = self.signed.last_key_value().filter(|(p, _)| **p > self.position) {
            report.findings.push(finding_at("truncated", self.position + 1, format!(
                "the chain ends at position {} but {label} covers position {position}: the newest batches \
                 (or their chain entries) were deleted",
                self.position
            )));
        }
        let rows = seal::event_rows(pool).await?;
        let unsealed = crate::store::ledger::backlog_events(pool, "seal").await?;
        report.unsealed_events = unsealed;
        let unaccounted = rows - self.rows_seen - unsealed;
        if unaccounted > 0 {
            report.findings.push(finding("inserted_rows", format!(
                "{unaccounted} event rows belong to no batch of the ledger: they were inserted behind Vigil's back"
            )));
        }
        Ok(())
    }
}

/// The recomputed leaf of every row, by month; `edited` is told of each row
/// whose leaf differs from the one stored beside it.
fn leaves_of(rows: &[StoredEvent], mut edited: impl FnMut(&StoredEvent)) -> Vec<(String, Hash)> {
    rows.iter()
        .map(|stored| {
            let leaf = stored.canonical().leaf();
            if stored.leaf.as_deref().is_some_and(|l| l != leaf) {
                edited(stored);
            }
            (seal::month_of(stored.occurred_at), leaf)
        })
        .collect()
}

/// Check one sealed batch's events against its entry and ledger row.
fn check_batch(entry: &ChainEntry, row: Option<&seal::LedgerRow>, rows: &[StoredEvent], pruned: Option<&Vec<MonthPart>>, report: &mut VerifyReport) {
    let before = report.findings.len();
    let at = |mut f: Finding| {
        f.position = Some(entry.position);
        f.batch_id = Some(entry.batch_id);
        f
    };
    let pruned = pruned.map(Vec::as_slice).unwrap_or_default();
    if row.is_none() && rows.is_empty() && pruned.is_empty() {
        report.findings.push(at(finding("missing_batch", format!(
            "batch {} (position {}, {} events) is gone: its events and its ledger row were deleted",
            entry.batch_id, entry.position, entry.events
        ))));
        return;
    }
    let leaves = leaves_of(rows, |stored| {
        let mut f = at(finding("edited_event", format!(
            "event {} (batch {}, seq {}) was edited after it was stored",
            stored.id, entry.batch_id, stored.seq
        )));
        f.event_id = Some(stored.id.clone());
        report.findings.push(f);
    });
    let dropped: u64 = pruned.iter().map(|p| p.events).sum();
    let missing = entry.events - dropped as i64 - rows.len() as i64;
    if missing > 0 {
        let present: HashSet<i64> = rows.iter().map(|r| r.seq).collect();
        let first = row.map_or(entry.batch_id * BATCH_SEQ_SPAN, |r| r.seq_from);
        let gaps: Vec<String> = (first..first + entry.events).filter(|s| !present.contains(s)).take(10).map(|s| s.to_string()).collect();
        let detail = if pruned.is_empty() { format!(" (seq {})", gaps.join(", ")) } else { String::new() };
        report.findings.push(at(finding("deleted_events", format!(
            "{missing} of the {} events of batch {} were deleted{detail}",
            entry.events, entry.batch_id
        ))));
    }
    let mut parts = seal::month_parts(leaves);
    parts.retain(|p| !pruned.iter().any(|d| d.month == p.month));
    parts.extend(pruned.iter().cloned());
    parts.sort_by(|a, b| a.month.cmp(&b.month));
    let root = seal::batch_root(&parts);
    let recorded = row.and_then(|r| r.root_hash.as_deref());
    if report.findings.len() == before && (root[..] != entry.root[..] || recorded.is_some_and(|r| r != entry.root)) {
        report.findings.push(at(finding("altered_batch", format!(
            "batch {} (position {}) no longer hashes to the root it was sealed with",
            entry.batch_id, entry.position
        ))));
    }
}
