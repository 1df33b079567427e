//! Several instances on one primary, and a streaming replica for reads: the
//! replica watcher's samples and what the health endpoint and the settings
//! page say about the deployment. Instances are told apart by their
//! connections' application name ([`CONNECTION_PREFIX`] and the instance).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crate::model::Deployment;
use crate::state::replica::Replica;
use crate::state::{AppState, CONNECTION_PREFIX};

/// How often the replica is sampled.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// How long a sample may take before the replica counts as down.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Run until the process ends: sample the primary's and the replica's WAL
/// positions every second and let the replica decide whether it may answer.
pub async fn watch(primary: PgPool, replica: Arc<Replica>) {
    let mut was_serving = None;
    loop {
        let written = sample("select (pg_current_wal_lsn() - '0/0')::int8", &primary).await.ok();
        let replayed = sample("select (pg_last_wal_replay_lsn() - '0/0')::int8", &replica.pool).await;
        let status = replica.observe(chrono::Utc::now(), written, replayed);
        if was_serving != Some(status.reads_served_by) {
            tracing::info!(served_by = ?status.reads_served_by, error = status.error, "console reads");
            was_serving = Some(status.reads_served_by);
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// One WAL position, or why it could not be read (a replica not in recovery has none).
async fn sample(sql: &str, pool: &PgPool) -> Result<i64, String> {
    let position = tokio::time::timeout(SAMPLE_TIMEOUT, sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(pool)).await;
    match position {
        Err(_) => Err("no answer within 2 s".into()),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(None)) => Err("not a streaming replica (no replayed WAL position)".into()),
        Ok(Ok(Some(position))) => Ok(position),
    }
}

/// The instances connected to the primary, which one is deriving, and where reads go.
pub async fn deployment(state: &AppState) -> sqlx::Result<Deployment> {
    let instances = sqlx::query_scalar(
        "select distinct substr(application_name, length($1) + 1) from pg_stat_activity \
         where datname = current_database() and starts_with(application_name, $1) order by 1",
    )
    .bind(CONNECTION_PREFIX)
    .fetch_all(&state.pool)
    .await?;
    let deriving = super::lease::holder(&state.pool, super::derive::DERIVE_LEASE).await?;
    Ok(Deployment {
        instance: state.instance.to_string(),
        instances,
        deriving,
        replica: state.replica.as_ref().map(|r| r.status()),
    })
}
