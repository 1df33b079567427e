//! Tamper evidence: the sealer that follows the ledger and chains every
//! committed batch, the signed checkpoints of the chain's head (in the
//! database and appended to a file outside it), and [`verify`], which
//! recomputes everything from the stored events and names what differs.
//! Hashing and SQL are in `store::seal`; the key in `state::seal_key`.

pub mod verify;

pub use verify::verify;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::config::LifecycleConfig;
use crate::state::seal_key::SealKey;
use crate::store::seal::{self, Checkpoint};

/// Events one sealing step covers at most (whole batches).
const STEP_EVENTS: i64 = 50_000;
/// A checkpoint is written at least this often, even when nothing arrived.
const HEARTBEAT: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// How long the sealer waits when it has caught up.
const IDLE: Duration = Duration::from_millis(500);

/// What a checkpoint's signature covers: its fields in canonical JSON.
pub fn checkpoint_message(position: i64, total_events: i64, head: &[u8], signed_at: DateTime<Utc>) -> Vec<u8> {
    let statement = json!({
        "position": position.to_string(),
        "total_events": total_events.to_string(),
        "head": hex::encode(head),
        "signed_at": seal::stored_time(signed_at),
    });
    serde_json_canonicalizer::to_vec(&statement).expect("a checkpoint serialises")
}

/// Where checkpoints are sent besides the log (`VIGIL_CHECKPOINT_WEBHOOK`).
pub struct Webhook {
    client: reqwest::Client,
    url: url::Url,
}

/// How long a webhook may take to take a checkpoint.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

impl Webhook {
    pub fn from_config(config: &LifecycleConfig) -> Option<Webhook> {
        let url = config.checkpoint_webhook.clone()?;
        let client = reqwest::Client::builder().timeout(WEBHOOK_TIMEOUT).build().expect("an HTTP client builds");
        Some(Webhook { client, url })
    }

    /// POST the checkpoint as JSON; a failure is logged, not fatal (the log
    /// and the database have it), and the next checkpoint is sent anyway.
    async fn send(&self, checkpoint: &Checkpoint) {
        let sent = self.client.post(self.url.clone()).json(checkpoint).send().await.and_then(|r| r.error_for_status());
        if let Err(error) = sent {
            tracing::warn!(%error, url = %self.url, "sending a checkpoint to the webhook failed");
        }
    }
}

/// Run until the process ends: seal what is committed, and checkpoint every
/// `checkpoint_seconds` while the chain grows (hourly while it does not).
pub async fn run(pool: PgPool, key: std::sync::Arc<SealKey>, config: LifecycleConfig) {
    let every = Duration::from_secs(config.checkpoint_seconds.max(1));
    let webhook = Webhook::from_config(&config);
    let mut last_check: Option<Instant> = None;
    loop {
        let sealed = match seal::seal_step(&pool, STEP_EVENTS).await {
            Ok(sealed) => sealed,
            Err(error) => {
                tracing::warn!(%error, "sealer: step failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if last_check.is_none_or(|at| at.elapsed() >= every) {
            let due = |last: &Checkpoint, end: i64, now: DateTime<Utc>| last.position != end || now - last.signed_at >= HEARTBEAT;
            if let Err(error) = checkpoint(&pool, &key, &config.checkpoint_log, webhook.as_ref(), due).await {
                tracing::warn!(%error, "sealer: writing a checkpoint failed");
            }
            last_check = Some(Instant::now());
        }
        if sealed == 0 {
            tokio::time::sleep(IDLE).await;
        }
    }
}

/// Seal every batch committed so far and write a checkpoint of the result
/// (tests). Waits while the watermark is held, up to `patience`.
pub async fn seal_now(
    pool: &PgPool,
    key: &SealKey,
    log: &Path,
    webhook: Option<&Webhook>,
    patience: Duration,
) -> anyhow::Result<Checkpoint> {
    let started = Instant::now();
    loop {
        while seal::seal_step(pool, STEP_EVENTS).await? > 0 {}
        let waiting = crate::store::ledger::pending(pool, "seal").await?;
        if !waiting {
            break;
        }
        anyhow::ensure!(started.elapsed() < patience, "batches still wait to be sealed after {patience:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = checkpoint(pool, key, log, webhook, |_, _, _| true).await?;
    Ok(written.expect("an unconditional checkpoint is written"))
}

/// Write a checkpoint of the chain's current head when `due(last, end, now)`
/// says so (or when there is none yet): appended to `log` first, then stored,
/// then sent to the webhook.
pub async fn checkpoint(
    pool: &PgPool,
    key: &SealKey,
    log: &Path,
    webhook: Option<&Webhook>,
    due: impl Fn(&Checkpoint, i64, DateTime<Utc>) -> bool,
) -> anyhow::Result<Option<Checkpoint>> {
    let mut tx = pool.begin().await?;
    seal::lock_chain(&mut tx).await?;
    let (position, head, total_events) = seal::chain_end(&mut tx).await?;
    let now = Utc::now();
    if let Some(last) = seal::last_checkpoint(&mut tx).await? {
        if !due(&last, position, now) {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    // As the database keeps times: microseconds.
    let signed_at = now.trunc_subsecs(6);
    let signature = key.sign(&checkpoint_message(position, total_events, &head, signed_at));
    let written = Checkpoint { position, total_events, head: head.to_vec(), signed_at, signature, public_key: key.public_key_text() };
    append_to_log(log, &written)?;
    seal::insert_checkpoint(&mut tx, &written).await?;
    tx.commit().await?;
    if let Some(webhook) = webhook {
        webhook.send(&written).await;
    }
    Ok(Some(written))
}

/// Append one checkpoint as a JSON line, synced before the database is told.
fn append_to_log(log: &Path, checkpoint: &Checkpoint) -> anyhow::Result<()> {
    if let Some(folder) = log.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| anyhow::anyhow!("opening the checkpoint log {}: {e}", log.display()))?;
    let mut line = serde_json::to_vec(checkpoint)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()?;
    Ok(())
}

/// The checkpoints of a log file; a line that does not parse is an error naming it.
pub fn read_log(log: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text = match std::fs::read_to_string(log) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => anyhow::bail!("reading the checkpoint log {}: {e}", log.display()),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{} line {}: {e}", log.display(), n + 1))
        })
        .collect()
}

/// The sealer's state: chain length, newest checkpoint, what waits to be sealed.
pub async fn status(pool: &PgPool, key: &SealKey, config: &LifecycleConfig) -> sqlx::Result<crate::model::IntegrityStatus> {
    let mut conn = pool.acquire().await?;
    let (chain_entries, _, sealed_events) = seal::chain_end(&mut conn).await?;
    let last = seal::last_checkpoint(&mut conn).await?;
    drop(conn);
    let unsealed_events = crate::store::ledger::backlog_events(pool, "seal").await?;
    Ok(crate::model::IntegrityStatus {
        public_key: key.public_key_text(),
        chain_entries,
        sealed_events,
        last_checkpoint: last.map(|c| (c.position, c.signed_at)),
        unsealed_events,
        checkpoint_log: config.checkpoint_log.display().to_string(),
        checkpoint_seconds: config.checkpoint_seconds,
    })
}
