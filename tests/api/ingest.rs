use serde_json::json;

use crate::helpers::{event, spawn, spawn_with, KEY};

#[sqlx::test(migrations = false)]
async fn a_valid_batch_is_stored_and_acknowledged(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let batch = json!([event("e1", "2026-11-01T10:00:00Z"), event("e2", "2026-11-01T10:00:01Z")]);

    let (status, reply) = app.ingest(&batch).await;

    assert_eq!(status, 200);
    assert_eq!(reply, json!({"accepted": 2, "duplicates": 0, "dropped": 0, "rejected": []}));
    assert_eq!(app.count("select count(*) from events").await, 2);
    let stored: (String, String, Option<String>, serde_json::Value) = sqlx::query_as(
        "select actor_name, category, host(client_ip), changes from events where id = 'e1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.0, "Ana Silva");
    assert_eq!(stored.1, "change");
    assert_eq!(stored.2.as_deref(), Some("81.2.69.160"));
    assert_eq!(stored.3[0]["new"], json!(["a", "b"]));
}

#[sqlx::test(migrations = false)]
async fn a_single_object_is_accepted(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, reply) = app.ingest(&json!({"type": "app.view", "actor": {"email": "x@y.z"}})).await;
    assert_eq!(status, 200);
    assert_eq!(reply["accepted"], 1);
    assert_eq!(app.count("select count(*) from events where environment = 'default'").await, 1);
}

#[sqlx::test(migrations = false)]
async fn valid_items_are_stored_even_when_others_are_rejected(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let mut bad_time = event("bad1", "2026-11-01T10:00:00Z");
    bad_time["occurred_at"] = json!("yesterday");
    let batch = json!([
        event("ok1", "2026-11-01T10:00:00Z"),
        bad_time,
        {"type": "app.view"},
        "not an object",
        event("ok2", "2026-11-01T10:00:02Z"),
    ]);

    let (status, reply) = app.ingest(&batch).await;

    assert_eq!(status, 200);
    assert_eq!(reply["accepted"], 2);
    assert_eq!(
        reply["rejected"],
        json!([
            {"index": 1, "field": "occurred_at", "error": "not an RFC 3339 timestamp"},
            {"index": 2, "field": "actor", "error": "is required"},
            {"index": 3, "field": null, "error": "an event must be a JSON object"},
        ])
    );
    assert_eq!(app.count("select count(*) from events where id in ('ok1', 'ok2')").await, 2);
}

#[sqlx::test(migrations = false)]
async fn a_batch_with_only_invalid_items_is_unprocessable(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, reply) = app.ingest(&json!([{"type": "x"}])).await;
    assert_eq!(status, 422);
    assert_eq!(reply["rejected"][0]["field"], "actor");
}

#[sqlx::test(migrations = false)]
async fn duplicate_ids_are_stored_once(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let first = json!([event("dup", "2026-11-01T10:00:00Z"), event("dup", "2026-11-01T10:00:00Z")]);
    let (_, reply) = app.ingest(&first).await;
    assert_eq!((reply["accepted"].as_u64(), reply["duplicates"].as_u64()), (Some(1), Some(1)));

    // The same id again, even with another time, is still the same event.
    let (status, reply) = app.ingest(&json!([event("dup", "2026-10-05T08:00:00Z")])).await;
    assert_eq!(status, 200);
    assert_eq!((reply["accepted"].as_u64(), reply["duplicates"].as_u64()), (Some(0), Some(1)));
    assert_eq!(app.count("select count(*) from events where id = 'dup'").await, 1);
}

#[sqlx::test(migrations = false)]
async fn malformed_json_is_a_400_with_a_json_error(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, reply) = app.ingest_raw("[{\"type\": ".into(), "application/json", Some(KEY)).await;
    assert_eq!(status, 400);
    assert_eq!(reply["error"]["code"], "bad_request");
    assert!(reply["error"]["message"].as_str().unwrap().starts_with("malformed JSON"));
    assert_eq!(app.count("select count(*) from events").await, 0);
}

#[sqlx::test(migrations = false)]
async fn a_missing_or_wrong_key_is_a_401(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let body = json!([event("k1", "2026-11-01T10:00:00Z")]).to_string();
    let (status, reply) = app.ingest_raw(body.clone(), "application/json", None).await;
    assert_eq!(status, 401);
    assert_eq!(reply["error"]["code"], "unauthorized");
    let (status, _) = app.ingest_raw(body, "application/json", Some("wrong-key")).await;
    assert_eq!(status, 401);
    assert_eq!(app.count("select count(*) from events").await, 0);
}

#[sqlx::test(migrations = false)]
async fn an_oversized_body_is_a_413(pool: sqlx::PgPool) {
    let mut config = vigil::config::ServerConfig::with_keys(KEY, crate::helpers::EXPORT_KEY);
    config.max_body_bytes = 1024;
    config.max_batch_events = 3;
    let app = spawn_with(pool, config).await;

    let mut big = event("big", "2026-11-01T10:00:00Z");
    big["details"] = json!({"blob": "x".repeat(4096)});
    let (status, reply) = app.ingest(&json!([big])).await;
    assert_eq!(status, 413);
    assert_eq!(reply["error"]["code"], "payload_too_large");

    let many: Vec<_> = (0..4).map(|i| json!({"type": "a.b", "actor": {"id": i}})).collect();
    let (status, reply) = app.ingest(&json!(many)).await;
    assert_eq!(status, 413);
    assert!(reply["error"]["message"].as_str().unwrap().contains("at most 3"));
    assert_eq!(app.count("select count(*) from events").await, 0);
}

/// POST `body` to the ingest API with `Content-Encoding: encoding`; the status and JSON reply.
async fn post_encoded(app: &crate::helpers::TestApp, body: Vec<u8>, content_type: &str, encoding: &str) -> (u16, serde_json::Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .header("content-encoding", encoding)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.expect("the reply is JSON"))
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[sqlx::test(migrations = false)]
async fn a_gzip_compressed_body_is_stored_within_the_decompressed_limit(pool: sqlx::PgPool) {
    let mut config = vigil::config::ServerConfig::with_keys(KEY, crate::helpers::EXPORT_KEY);
    config.max_body_bytes = 4096;
    let app = spawn_with(pool, config).await;

    let batch = json!([event("gz1", "2026-11-01T10:00:00Z"), event("gz2", "2026-11-01T10:00:01Z")]).to_string();
    let (status, reply) = post_encoded(&app, gzip(&batch), "application/json", "gzip").await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(2)), "{reply}");
    let lines = format!("{}\n{}\n", event("gz3", "2026-11-01T10:00:02Z"), event("gz4", "2026-11-01T10:00:03Z"));
    let (status, reply) = post_encoded(&app, gzip(&lines), "application/x-ndjson", "x-gzip").await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(2)), "{reply}");

    // Small when compressed, over the limit once decompressed: refused, nothing stored.
    let mut big = event("gz-big", "2026-11-01T10:00:04Z");
    big["details"] = json!({"blob": "x".repeat(8192)});
    let compressed = gzip(&json!([big]).to_string());
    assert!(compressed.len() < 1024);
    let (status, reply) = post_encoded(&app, compressed, "application/json", "gzip").await;
    assert_eq!(status, 413, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("once decompressed"), "{reply}");

    let (status, reply) = post_encoded(&app, b"not gzip at all".to_vec(), "application/json", "gzip").await;
    assert_eq!((status, reply["error"]["code"].as_str()), (400, Some("bad_request")), "{reply}");
    let (status, reply) = post_encoded(&app, batch.into_bytes(), "application/json", "br").await;
    assert_eq!((status, reply["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("content encoding br"), "{reply}");
    app.derived().await;
    assert_eq!(app.count("select count(*) from events where environment <> 'vigil'").await, 4);
}

#[sqlx::test(migrations = false)]
async fn ndjson_lines_are_events_and_bad_lines_are_rejected_alone(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let body = format!(
        "{}\n{{not json\n\n{}\n",
        event("n1", "2026-11-01T10:00:00Z"),
        event("n2", "2026-11-01T10:00:01Z")
    );
    let (status, reply) = app.ingest_raw(body, "application/x-ndjson", Some(KEY)).await;
    assert_eq!(status, 200);
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["rejected"][0]["index"], 1);
    assert_eq!(app.count("select count(*) from events").await, 2);
}

#[sqlx::test(migrations = false)]
async fn an_unsupported_content_type_is_a_415(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, reply) = app.ingest_raw("type=x".into(), "application/x-www-form-urlencoded", Some(KEY)).await;
    assert_eq!(status, 415);
    assert_eq!(reply["error"]["code"], "unsupported_media_type");
}

#[sqlx::test(migrations = false)]
async fn strings_postgres_cannot_store_are_rejected_not_a_500(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, reply) = app
        .ingest_raw(
            r#"[{"type":"a.b","actor":{"id":"u"},"reason":"nul\u0000here"}]"#.into(),
            "application/json",
            Some(KEY),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(reply["rejected"][0]["field"], "reason");
}
