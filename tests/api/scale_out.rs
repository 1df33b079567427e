//! Several instances on one database, and reads from a replica: the sign-in
//! lockout is shared, the deriving lease moves to a surviving instance when
//! its holder dies (no batch derived twice or skipped), reads fall back to the
//! primary when the replica is not usable, and the schema stays ready to be
//! distributed by organization.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use vigil::config::ServerConfig;

use crate::helpers::{database_url, spawn, spawn_instance, spawn_with, TestApp, EXPORT_KEY, KEY, PASSWORD, REQUEST_TIMEOUT};
use crate::write_path::{assert_derived_data_matches_a_recount, mixed_batch, post};

#[sqlx::test(migrations = false)]
async fn the_sign_in_lockout_holds_across_instances(pool: PgPool) {
    let a = spawn(pool.clone()).await;
    let b = spawn_instance(&pool, "b").await;
    a.add_user("ana@example.com", "viewer", &["*"], &["*"]).await;
    for _ in 0..5 {
        assert_eq!(a.try_sign_in("ana@example.com", "guess").await.0.status(), 401);
    }
    let (limited, _) = b.try_sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(limited.status(), 429, "the other instance knows the account is limited");
    let (other, _) = b.try_sign_in("bo@example.com", "guess").await;
    assert_eq!(other.status(), 401, "other accounts are not limited");
}

/// The instance holding the deriving lease, as the database says.
async fn deriving(app: &TestApp) -> Option<String> {
    vigil::store::replication::deployment(&app.state).await.unwrap().deriving
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < REQUEST_TIMEOUT, "waited too long for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Send `batches` mixed batches through `app`, acknowledged; none derived here.
async fn send(app: &TestApp, writer: usize, batches: usize) {
    for b in 0..batches {
        let batch: Vec<Value> = mixed_batch(writer, b, 40);
        assert_eq!(post(&app.client, &app.base, &batch).await.unwrap().status(), 200);
    }
}

#[sqlx::test(migrations = false)]
async fn the_deriving_lease_moves_to_the_survivor_when_its_holder_dies(pool: PgPool) {
    let a = spawn_instance(&pool, "a").await;
    let b = spawn_instance(&pool, "b").await;
    wait_for("an instance to take the lease", async || deriving(&a).await.is_some()).await;
    let holder = deriving(&a).await.unwrap();
    let (dying, survivor) = if holder == "a" { (a, b) } else { (b, a) };
    let names = vigil::store::replication::deployment(&survivor.state).await.unwrap().instances;
    assert_eq!(names, ["a", "b"], "both instances are connected");

    // Both take events while the holder derives; then the holder dies mid-load.
    tokio::join!(send(&dying, 0, 5), send(&survivor, 1, 5));
    dying.server.abort();
    dying.pool.close().await;
    for pool in [&dying.state.pool, &dying.state.writers, &dying.state.exports] {
        pool.close().await;
    }
    send(&survivor, 2, 5).await;

    let took = wait_for("the survivor to take the lease", async || deriving(&survivor).await.as_deref() == Some(survivor.state.instance.as_ref())).await;
    assert!(took < Duration::from_secs(5), "taken over within seconds ({took:?})");
    wait_for("every batch to be derived", async || {
        !vigil::store::ledger::pending(&survivor.pool, "derive").await.unwrap()
    })
    .await;
    assert_derived_data_matches_a_recount(&survivor.pool).await;
    let events: i64 = sqlx::query_scalar("select count(*) from events").fetch_one(&survivor.pool).await.unwrap();
    assert_eq!(events, 15 * 40, "every acknowledged event is stored");
}

#[sqlx::test(migrations = false)]
async fn reads_fall_back_to_the_primary_when_the_replica_is_not_usable(pool: PgPool) {
    // A primary is not a standby: it has no replayed WAL position to compare.
    let mut config = ServerConfig::with_keys(KEY, EXPORT_KEY);
    config.scale.read_database_url = Some(database_url(&pool));
    let app = spawn_with(pool, config).await;
    let replica = app.state.replica.clone().expect("a replica is configured");
    wait_for("the first replica check", async || replica.status().error.as_deref() != Some("not checked yet")).await;
    let status = replica.status();
    assert_eq!(status.reads_served_by, vigil::model::ReadsServedBy::PrimaryReplicaDown);
    assert!(status.error.unwrap().contains("not a streaming replica"));

    let health = app.get_json("/api/v1/health", EXPORT_KEY).await;
    assert_eq!(health["status"], "replica_down", "{health}");
    assert_eq!(health["deployment"]["replica"]["reads_served_by"], "primary_replica_down");

    // The console reads on, from the primary; a change marks the session for read-your-own-writes.
    let admin = app.console("admin").await;
    admin.call_ok("create_api_key", &[("name", "siem"), ("kind", "export"), ("environments", "*"), ("organizations", "*")]).await;
    let keys = admin.call_ok("list_api_keys", &[]).await;
    assert!(keys.to_string().contains("siem"), "the new key is listed: {keys}");
    let marked: i64 = sqlx::query_scalar("select count(*) from console_sessions where written_lsn is not null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(marked, 1, "the admin's session notes where their change is in the WAL");
    let explore = admin.call_ok("explore_events", &[("query", "range=24h")]).await;
    assert!(explore["histogram"].is_object(), "the explorer answers from the primary");
}

/// Tables whose rows are events or derived from them: distributed by
/// organization on Citus, so `organization_id` is in every primary key.
const BY_ORGANIZATION: [&str; 15] = [
    "events", "event_ids", "event_clients", "names", "sessions", "event_values", "event_counts", "event_counts_coarse",
    "event_counts_daily", "event_counts_daily_coarse", "event_counts_quarter", "event_counts_quarter_coarse",
    "actor_counts_daily", "term_counts_daily", "term_counts_hourly",
];

/// Tables that are not about single organizations' events: configuration and
/// console state (reference tables on Citus), the ledger and the seal chain
/// (coordinator tables; README, "Scaling Vigil"), and the recording rules'
/// counts of events they dropped and the items ingest refused (never stored).
const NOT_BY_ORGANIZATION: [&str; 28] = [
    "_sqlx_migrations", "alert_channels", "alert_deliveries", "alert_history", "alert_rules", "alert_states",
    "api_keys", "console_sessions", "console_users", "ingest_batches", "ingest_rejections", "ledger_positions", "maintenance_windows",
    "partition_archives", "partition_compactions", "purge_runs", "recording_rule_counts", "recording_rules", "retention_policies", "saved_views", "seal_chain",
    "seal_checkpoints", "server_secrets", "service_incidents", "service_results", "services", "sign_in_attempts",
    "smtp_settings",
];

#[sqlx::test(migrations = false)]
async fn the_schema_can_be_distributed_by_organization(pool: PgPool) {
    vigil::store::migrate(&pool).await.unwrap();
    let tables: Vec<(String, Option<String>)> = sqlx::query_as(
        "select c.relname::text, pg_get_constraintdef(k.oid) from pg_class c \
         join pg_namespace n on n.oid = c.relnamespace \
         left join pg_constraint k on k.conrelid = c.oid and k.contype = 'p' \
         where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (table, primary_key) in &tables {
        if BY_ORGANIZATION.contains(&table.as_str()) {
            let key = primary_key.as_deref().unwrap_or_default();
            assert!(key.contains("organization_id"), "{table}'s primary key has organization_id: {key}");
        } else {
            assert!(NOT_BY_ORGANIZATION.contains(&table.as_str()), "{table} is new: say whether it is distributed by organization");
        }
    }
    let into_events: Vec<String> = sqlx::query_scalar(
        "select conname::text from pg_constraint where contype = 'f' and confrelid::regclass::text = any($1)",
    )
    .bind(BY_ORGANIZATION.map(String::from).to_vec())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(into_events, Vec::<String>::new(), "no foreign key points into events or their derivatives");
}

#[sqlx::test(migrations = false)]
async fn instances_starting_together_migrate_one_at_a_time(pool: PgPool) {
    // Every `vigil serve` migrates at start; several started at once must not trip over each other.
    let other = sqlx::postgres::PgPoolOptions::new().connect_with((*pool.connect_options()).clone()).await.unwrap();
    for round in 0..10 {
        let (a, b, c) = tokio::join!(vigil::store::migrate(&pool), vigil::store::migrate(&other), vigil::store::migrate(&pool));
        for result in [a, b, c] {
            result.unwrap_or_else(|e| panic!("round {round}: {e:#}"));
        }
    }
}
