//! Tamper evidence: a sealed store verifies clean, and each way of altering it
//! behind Vigil's back is found and named.

use serde_json::json;

use crate::helpers::{event, spawn, TestApp};

/// Three batches (5, 4 and 3 events), sealed and checkpointed.
async fn sealed_store(pool: sqlx::PgPool) -> TestApp {
    let app = spawn(pool).await;
    for (batch, size) in [(1, 5), (2, 4), (3, 3)] {
        let events: Vec<_> = (0..size).map(|i| event(&format!("b{batch}e{i}"), "2026-11-20T10:00:00Z")).collect();
        let (status, reply) = app.ingest(&json!(events)).await;
        assert_eq!(status, 200, "{reply}");
    }
    app.seal().await;
    app
}

fn kinds(report: &vigil::model::VerifyReport) -> Vec<&str> {
    report.findings.iter().map(|f| f.kind.as_str()).collect()
}

#[sqlx::test(migrations = false)]
async fn an_untouched_store_verifies_clean(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    let report = app.verify().await;
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!((report.events, report.entries), (12, 3));
    assert!(report.checkpoints >= 2, "the checkpoint in the database and in the log");
    assert_eq!(report.unsealed_events, 0);
    let leaves = app.count("select count(*) from events where leaf is not null").await;
    assert_eq!(leaves, 12, "every event keeps its leaf");
}

#[sqlx::test(migrations = false)]
async fn an_edited_field_names_its_event(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    sqlx::query("update events set actor_name = 'Mallory' where id = 'b2e1'").execute(&app.pool).await.unwrap();
    let report = app.verify().await;
    assert_eq!(kinds(&report), ["edited_event"]);
    assert_eq!(report.findings[0].event_id.as_deref(), Some("b2e1"));

    // Rewriting the stored leaf too does not hide it: the batch no longer hashes to its root.
    sqlx::query("update events set leaf = null where id = 'b2e1'").execute(&app.pool).await.unwrap();
    assert_eq!(kinds(&app.verify().await), ["altered_batch"]);
}

#[sqlx::test(migrations = false)]
async fn a_deleted_event_is_found_where_it_was(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    let seq: i64 = sqlx::query_scalar("delete from events where id = 'b1e3' returning seq").fetch_one(&app.pool).await.unwrap();
    let report = app.verify().await;
    assert_eq!(kinds(&report), ["deleted_events"]);
    assert!(report.findings[0].message.contains(&seq.to_string()), "{}", report.findings[0].message);
}

async fn delete_newest_batch(app: &TestApp) -> i64 {
    let batch: i64 = sqlx::query_scalar("delete from ingest_batches where batch_id = (select max(batch_id) from ingest_batches) returning batch_id")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("delete from events where seq / 16384 = $1").bind(batch).execute(&app.pool).await.unwrap();
    batch
}

#[sqlx::test(migrations = false)]
async fn a_deleted_newest_batch_is_missing(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    let batch = delete_newest_batch(&app).await;
    let report = app.verify().await;
    assert_eq!(kinds(&report), ["missing_batch"]);
    assert_eq!(report.findings[0].batch_id, Some(batch));
}

#[sqlx::test(migrations = false)]
async fn a_chain_cut_short_of_its_checkpoints_is_truncated(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    delete_newest_batch(&app).await;
    sqlx::query("delete from seal_chain where position = 3").execute(&app.pool).await.unwrap();
    sqlx::query("delete from seal_checkpoints").execute(&app.pool).await.unwrap();
    let report = app.verify().await;
    let found: std::collections::BTreeSet<_> = kinds(&report).into_iter().collect();
    assert_eq!(found, ["missing_checkpoint", "truncated"].into(), "{:?}", report.findings);
}

#[sqlx::test(migrations = false)]
async fn reordered_batches_no_longer_reach_the_signed_head(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    sqlx::query(
        "update seal_chain c set batch_id = o.batch_id, events = o.events, root = o.root \
         from (select * from seal_chain where position in (1, 2)) o where c.position in (1, 2) and o.position = 3 - c.position",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let report = app.verify().await;
    let found: std::collections::BTreeSet<_> = kinds(&report).into_iter().collect();
    assert_eq!(found, ["chain_diverges"].into(), "{:?}", report.findings);
    assert!(report.findings.iter().any(|f| f.position == Some(3)));
}

#[sqlx::test(migrations = false)]
async fn an_edited_checkpoint_fails_its_signature(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    sqlx::query("update seal_checkpoints set total_events = total_events - 3").execute(&app.pool).await.unwrap();
    let report = app.verify().await;
    assert!(kinds(&report).contains(&"bad_checkpoint"), "{:?}", report.findings);
    assert!(report.findings[0].message.contains("in the database"), "{}", report.findings[0].message);
}

#[sqlx::test(migrations = false)]
async fn a_checkpoint_signed_with_another_key_is_refused(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    let other = vigil::config::LifecycleConfig::in_temp_folder();
    let forger = vigil::state::seal_key::SealKey::load_or_create(&other.seal_key).unwrap();
    // A forger who controls the database appends a checkpoint of a shorter chain.
    vigil::integrity::seal_now(&app.pool, &forger, &other.checkpoint_log, None, std::time::Duration::from_secs(10)).await.unwrap();
    let report = app.verify().await;
    assert_eq!(kinds(&report), ["bad_checkpoint"], "{:?}", report.findings);
    assert!(report.findings[0].message.contains("another key"));
}

#[sqlx::test(migrations = false)]
async fn rows_slipped_in_behind_vigils_back_are_found(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    sqlx::query(
        "insert into events (organization_id, occurred_at, id, seq, environment, type, category, outcome, actor_type) \
         values ('org_1', '2026-11-20T09:00:00Z', 'forged', 1, 'production', 'user.login', 'access', 'success', 'user')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds(&app.verify().await), ["inserted_rows"]);
}

/// The database URL of the test's own database.
async fn database_url(pool: &sqlx::PgPool) -> String {
    let name: String = sqlx::query_scalar("select current_database()").fetch_one(pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").unwrap();
    let (before, after) = base.split_once('?').map_or((base.as_str(), None), |(b, a)| (b, Some(a)));
    let server = &before[..before.rfind('/').unwrap()];
    format!("{server}/{name}{}", after.map(|a| format!("?{a}")).unwrap_or_default())
}

#[sqlx::test(migrations = false)]
async fn vigil_verify_exits_non_zero_and_names_the_problem(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    let run = |url: String| {
        let lifecycle = app.lifecycle.clone();
        async move {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"));
            command.args(["verify", "--seal-key"]).arg(&lifecycle.seal_key);
            command.arg("--checkpoint-log").arg(&lifecycle.checkpoint_log).env("DATABASE_URL", url);
            tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
        }
    };
    let url = database_url(&app.pool).await;
    let clean = run(url.clone()).await;
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{stdout}{}", String::from_utf8_lossy(&clean.stderr));
    assert!(stdout.contains("OK: nothing was altered"), "{stdout}");

    sqlx::query("update events set type = 'user.logout' where id = 'b3e2'").execute(&app.pool).await.unwrap();
    let tampered = run(url).await;
    let stdout = String::from_utf8_lossy(&tampered.stdout);
    assert_eq!(tampered.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FOUND edited_event: event b3e2"), "{stdout}");
}

#[sqlx::test(migrations = false)]
async fn the_servers_own_connections_cannot_alter_or_remove_what_is_sealed(pool: sqlx::PgPool) {
    let app = sealed_store(pool).await;
    for pool in [&app.state.writers, &app.state.pool, &app.state.exports] {
        let role: String = sqlx::query_scalar("select current_user::text").fetch_one(pool).await.unwrap();
        assert_eq!(role, "vigil_app");
        for statement in [
            "update events set actor_name = 'Mallory'",
            "delete from events",
            "truncate events",
            "delete from event_ids",
            "update ingest_batches set events = 0",
            "delete from seal_chain",
            "update seal_checkpoints set total_events = 0",
            "drop table events_2026_11",
        ] {
            let refused = sqlx::query(statement).execute(pool).await.expect_err(statement);
            let code = refused.as_database_error().and_then(|e| e.code()).map(|c| c.to_string());
            assert!(matches!(code.as_deref(), Some("42501")), "{statement}: {refused}");
        }
    }
    // Reading, ingesting and sealing keep working as that role.
    let (status, reply) = app.ingest(&json!([event("after", "2026-11-21T10:00:00Z")])).await;
    assert_eq!(status, 200, "{reply}");
    app.seal().await;
    assert!(app.verify().await.is_clean());
}

#[sqlx::test(migrations = false)]
async fn each_checkpoint_is_also_sent_to_the_webhook(pool: sqlx::PgPool) {
    use axum::routing::post;
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let hook = axum::Router::new().route(
        "/checkpoints",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let sender = sender.clone();
            async move { sender.send(body).unwrap() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/checkpoints", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let mut config = vigil::config::ServerConfig::with_keys(crate::helpers::KEY, crate::helpers::EXPORT_KEY);
    config.lifecycle.checkpoint_webhook = Some(url.parse().unwrap());
    let app = crate::helpers::spawn_with(pool, config).await;
    let (status, _) = app.ingest(&json!([event("w1", "2026-11-20T10:00:00Z")])).await;
    assert_eq!(status, 200);
    let written = app.seal().await;

    // The server's own sealer may have sent one at its start; the last one is ours.
    let mut last = received.recv().await.unwrap();
    while let Ok(next) = received.try_recv() {
        last = next;
    }
    let sent: vigil::store::seal::Checkpoint = serde_json::from_value(last).unwrap();
    assert_eq!(sent, written);
    let message = vigil::integrity::checkpoint_message(sent.position, sent.total_events, &sent.head, sent.signed_at);
    assert!(vigil::state::seal_key::signed_by(&app.seal_key().public_key(), &message, &sent.signature));
}
