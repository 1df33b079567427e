//! Retention: whole monthly partitions dropped once every environment in them
//! has passed its period, archived first when asked, recorded in the chain.

use std::io::Read;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::helpers::{event, spawn, spawn_with, TestApp, KEY, EXPORT_KEY};

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).unwrap().to_utc()
}

fn in_env(id: &str, time: &str, environment: &str) -> serde_json::Value {
    let mut e = event(id, time);
    e["environment"] = json!(environment);
    e
}

/// production (default 400 days) in 2024-01, 2024-06 and 2025-06 — one batch
/// spans 2024-06 and 2025-06 —, staging (30 days) in 2025-03 and 2025-06,
/// legal (forever) in 2023-01.
async fn store_history(app: &TestApp) {
    vigil::store::retention::set_policy(&app.pool, "staging", Some(30), "test").await.unwrap();
    vigil::store::retention::set_policy(&app.pool, "legal", None, "test").await.unwrap();
    let batches = [
        json!([in_env("p1", "2024-01-10T10:00:00Z", "production"), in_env("l1", "2023-01-10T10:00:00Z", "legal")]),
        json!([in_env("p2", "2024-06-10T10:00:00Z", "production"), in_env("p3", "2025-06-10T10:00:00Z", "production")]),
        json!([in_env("s1", "2025-03-10T10:00:00Z", "staging"), in_env("s2", "2025-06-11T10:00:00Z", "staging")]),
    ];
    for batch in batches {
        let (status, reply) = app.ingest(&batch).await;
        assert_eq!(status, 200, "{reply}");
    }
    app.seal().await;
}

async fn partitions(app: &TestApp) -> Vec<String> {
    vigil::store::retention::partitions(&app.pool).await.unwrap().into_iter().map(|p| p.name).collect()
}

#[sqlx::test(migrations = false)]
async fn partitions_past_every_period_are_dropped_and_nothing_younger(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    store_history(&app).await;
    let run = vigil::lifecycle::purge(&app.state, at("2025-08-15T00:00:00Z")).await.unwrap();
    assert_eq!(run.ok, Some(true), "{:?}", run.error);
    assert_eq!(run.dropped, ["events_2024_01", "events_2024_06", "events_2025_03"]);
    assert!(run.bytes_reclaimed > 0);
    assert!(run.created_ahead.contains(&"events_2025_11".to_string()), "{:?}", run.created_ahead);

    let left = partitions(&app).await;
    for kept in ["events_2023_01", "events_2025_06"] {
        assert!(left.contains(&kept.to_string()), "{kept} is kept: {left:?}");
    }
    let ids: Vec<String> = sqlx::query_scalar("select id from events where environment <> 'vigil' order by id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(ids, ["l1", "p3", "s2"]);
    let counted = app.count("select coalesce(sum(events), 0)::int8 from event_counts_daily where day < '2025-04-01' and environment <> 'legal'").await;
    assert_eq!(counted, 0, "the chart no longer counts dropped months");
    let clients = |months: &str| format!("select count(*) from event_clients where month in ({months})");
    assert_eq!(app.count(&clients("'2024-01-01', '2024-06-01', '2025-03-01'")).await, 0, "the clients of dropped months go with them");
    assert_eq!(app.count(&clients("'2023-01-01', '2025-06-01'")).await, 2, "those of kept months stay");
    let dropped_events = app.count("select count(*) from events where environment = 'vigil' and type = 'retention.partition_dropped'").await;
    assert_eq!(dropped_events, 3, "each drop is an event in Vigil's own environment");

    // The drops are in the chain: the store still verifies, the half-dropped batch included.
    app.seal().await;
    let report = app.verify().await;
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.prunes, 3);

    // A second run finds nothing more to drop.
    let again = vigil::lifecycle::purge(&app.state, at("2025-08-15T01:00:00Z")).await.unwrap();
    assert!(again.dropped.is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_partition_is_archived_read_back_and_hashed_before_it_is_dropped(pool: sqlx::PgPool) {
    let mut config = vigil::config::ServerConfig::with_keys(KEY, EXPORT_KEY);
    let dir = config.lifecycle.checkpoint_log.parent().unwrap().join("archive");
    config.lifecycle.archive_dir = Some(dir.clone());
    let app = spawn_with(pool, config).await;
    store_history(&app).await;
    vigil::lifecycle::purge(&app.state, at("2025-08-15T00:00:00Z")).await.unwrap();

    let archives = vigil::store::retention::archives(&app.pool).await.unwrap();
    let january = archives.iter().find(|a| a.partition == "events_2024_01").expect("January was archived");
    assert!(january.dropped_at.is_some() && january.error.is_none());
    let path = dir.join("events_2024_01.ndjson.gz");
    let bytes = std::fs::read(&path).unwrap();
    use sha2::Digest;
    assert_eq!(january.sha256.as_deref(), Some(hex_of(&sha2::Sha256::digest(&bytes)).as_str()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice()).read_to_string(&mut text).unwrap();
    let rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len() as i64, january.rows.unwrap());
    assert_eq!(rows[0]["id"], "p1");
    assert_eq!(rows[0]["user_agent"], "Mozilla/5.0", "an archived event has its client");
    assert!(rows[0].get("client_key").is_none());
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[sqlx::test(migrations = false)]
async fn a_failing_archive_keeps_the_partition_and_shows_in_purge_health(pool: sqlx::PgPool) {
    let mut config = vigil::config::ServerConfig::with_keys(KEY, EXPORT_KEY);
    let folder = config.lifecycle.checkpoint_log.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a-file"), b"not a folder").unwrap();
    config.lifecycle.archive_dir = Some(folder.join("a-file").join("archive"));
    let app = spawn_with(pool, config).await;
    store_history(&app).await;
    let now = at("2025-08-15T00:00:00Z");
    let run = vigil::lifecycle::purge(&app.state, now).await.unwrap();
    assert_eq!(run.ok, Some(false));
    assert!(run.dropped.is_empty());
    assert!(partitions(&app).await.contains(&"events_2024_01".to_string()), "nothing is dropped unarchived");

    let health = vigil::lifecycle::health(&app.state, now).await.unwrap();
    assert_eq!(health.status, "failing");
    assert_eq!(health.consecutive_failures, 1);
    assert!(health.last_error.as_deref().unwrap().contains("archiving failed"), "{:?}", health.last_error);
    assert_eq!(health.pending().count(), 3);
    let production = health.environments.iter().find(|e| e.environment == "production").unwrap();
    assert_eq!((production.days, production.is_default), (Some(400), true));
    assert!(production.overdue_days > 100, "{production:?}");
    let legal = health.environments.iter().find(|e| e.environment == "legal").unwrap();
    assert_eq!((legal.days, legal.overdue_days), (None, 0));
    assert!(health.archives.iter().all(|a| a.error.is_some() && a.dropped_at.is_none()));
    let raised = app.count("select count(*) from events where environment = 'vigil' and type = 'retention.purge_failed'").await;
    assert_eq!(raised, 1, "a failing purge is an event in the explorer");
}

#[sqlx::test(migrations = false)]
async fn a_closed_month_has_its_indexes_rebuilt_once_with_the_rollups_and_leftovers_of_a_failed_rebuild_go(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let batch: Vec<_> = (0..300).map(|n| event(&format!("c{n:03}"), &format!("2025-01-{:02}T10:00:00Z", n % 28 + 1))).collect();
    let (status, reply) = app.ingest(&json!(batch)).await;
    assert_eq!(status, 200, "{reply}");
    sqlx::query("analyze events_2025_01").execute(&app.pool).await.unwrap();
    // What a rebuild that failed half way leaves: an invalid index named `…_ccnew`.
    let failed = sqlx::query("create unique index concurrently events_2025_01_type_ccnew on events_2025_01 (type)")
        .execute(&app.pool)
        .await;
    assert!(failed.is_err(), "the demo index fails on duplicate types");
    let invalid = "select count(*) from pg_index where not indisvalid and indrelid = 'events_2025_01'::regclass";
    assert_eq!(app.count(invalid).await, 1);

    // Not a day after the month ended: too early (the sessions' indexes,
    // never rebuilt yet, are due).
    let run = vigil::lifecycle::purge(&app.state, at("2025-02-01T12:00:00Z")).await.unwrap();
    assert_eq!(run.ok, Some(true), "{:?}", run.error);
    assert_eq!(run.compacted, ["sessions"]);

    let rollup_index = "select 'event_counts_daily_pkey'::regclass::oid::int8";
    let rollup_index_before = app.count(rollup_index).await;
    let run = vigil::lifecycle::purge(&app.state, at("2025-02-03T00:00:00Z")).await.unwrap();
    assert_eq!(run.ok, Some(true), "{:?}", run.error);
    assert_eq!(run.compacted, ["events_2025_01"]);
    assert_eq!(app.count(invalid).await, 0, "the leftover is dropped and every rebuilt index is valid");
    assert_ne!(app.count(rollup_index).await, rollup_index_before, "the rollups' indexes are rebuilt with the month's");
    assert_eq!(app.count("select count(*) from pg_index where not indisvalid").await, 0);
    let indexes = "select count(*) from pg_index where indrelid = 'events_2025_01'::regclass";
    let parent_indexes = "select count(*) from pg_partitioned_table p join pg_index x on x.indrelid = p.partrelid \
                          where p.partrelid = 'events'::regclass";
    assert_eq!(app.count(indexes).await, app.count(parent_indexes).await, "each index of events has its rebuilt twin");
    let recorded = app.count("select count(*) from partition_compactions where partition = 'events_2025_01' and rows >= 300").await;
    assert_eq!(recorded, 1);
    let health = vigil::lifecycle::health(&app.state, at("2025-02-03T00:00:00Z")).await.unwrap();
    let month = health.partitions.iter().find(|p| p.name == "events_2025_01").unwrap();
    assert!(month.compacted_at.is_some());
    assert_eq!(health.last_run.unwrap().compacted, ["events_2025_01"]);

    // The rebuilt indexes answer: a page by type, newest first, through the API.
    let reply = app
        .get_json("/api/v1/events?type=role.permission_add&from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z&page_size=5", EXPORT_KEY)
        .await;
    assert_eq!(reply["events"].as_array().map(Vec::len), Some(5), "{reply}");

    // Once is enough until the month grows by a tenth.
    let again = vigil::lifecycle::purge(&app.state, at("2025-02-04T00:00:00Z")).await.unwrap();
    assert!(again.compacted.is_empty(), "{:?}", again.compacted);
}

/// The retention run rebuilds the sessions' indexes once a day: their rows are
/// written again as sessions go on, which leaves the index by last seen
/// sparse (`retention::compact_sessions`); for the same reason autovacuum
/// comes sooner for them than for other tables.
#[sqlx::test(migrations = false)]
async fn the_sessions_indexes_are_rebuilt_once_a_day(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let now = Utc::now();
    let batch: Vec<_> = (0..50)
        .map(|n| json!({"id": format!("s{n}"), "occurred_at": (now - chrono::Duration::minutes(n)).to_rfc3339(),
                        "environment": "production", "type": "app.view",
                        "actor": {"id": format!("u{}", n % 5), "session_id": format!("sess{}", n % 5)}}))
        .collect();
    let (status, reply) = app.ingest(&json!(batch)).await;
    assert_eq!(status, 200, "{reply}");
    app.derived().await;
    let index = "select 'sessions_last_seen_idx'::regclass::oid::int8";
    let first = app.count(index).await;

    let run = vigil::lifecycle::purge(&app.state, now).await.unwrap();
    assert_eq!(run.ok, Some(true), "{:?}", run.error);
    assert_eq!(run.compacted, ["sessions"]);
    let rebuilt = app.count(index).await;
    assert_ne!(rebuilt, first, "the index by last seen is a new one");
    assert_eq!(app.count("select count(*) from pg_index where not indisvalid").await, 0);
    assert_eq!(app.count("select count(*) from partition_compactions where partition = 'sessions'").await, 1);
    assert_eq!(app.count("select count(*) from sessions").await, 5, "the sessions stay");
    let vacuumed_sooner = "select count(*) from pg_class where relname = 'sessions' \
                           and 'autovacuum_vacuum_scale_factor=0.01' = any(reloptions)";
    assert_eq!(app.count(vacuumed_sooner).await, 1, "autovacuum comes at a hundredth of the sessions dead (migration 36)");

    let later = vigil::lifecycle::purge(&app.state, now + chrono::Duration::hours(12)).await.unwrap();
    assert!(later.compacted.is_empty(), "not again the same day: {:?}", later.compacted);
    assert_eq!(app.count(index).await, rebuilt);
    let next_day = vigil::lifecycle::purge(&app.state, now + chrono::Duration::hours(25)).await.unwrap();
    assert_eq!(next_day.compacted, ["sessions"], "a day later");
    assert_ne!(app.count(index).await, rebuilt);
}

#[sqlx::test(migrations = false)]
async fn the_data_page_counts_each_months_events_before_postgresql_has_analysed_it(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    store_history(&app).await;
    app.derived().await;
    let health = vigil::lifecycle::health(&app.state, at("2025-08-15T00:00:00Z")).await.unwrap();
    let events = |name: &str| health.partitions.iter().find(|p| p.name == name).map(|p| p.events);
    let expected = [("events_2023_01", 1), ("events_2024_01", 1), ("events_2024_06", 1), ("events_2025_03", 1), ("events_2025_06", 2)];
    for (name, count) in expected {
        assert_eq!(events(name), Some(count), "{name}: counted, not the planner's estimate (0 before ANALYZE)");
    }
}
