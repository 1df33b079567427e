//! Recording rules: what is not recorded, decided at ingest before storage.

use serde_json::{json, Value};

use crate::helpers::{event, spawn};

fn typed(id: &str, environment: &str, event_type: &str, outcome: &str) -> Value {
    let mut e = event(id, "2026-11-20T10:00:00Z");
    e["environment"] = json!(environment);
    e["type"] = json!(event_type);
    e["outcome"] = json!(outcome);
    if outcome != "success" {
        e["reason"] = json!("refused");
    }
    e
}

#[sqlx::test(migrations = false)]
async fn rules_drop_and_sample_but_keep_failures_and_count_what_they_dropped(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let rule = |environment: &'static str, event_type: &'static str, keep: &'static str| {
        [("environment", environment), ("organization", ""), ("app", ""), ("event_type", event_type), ("outcome", ""), ("keep_one_in", keep), ("note", "")]
    };
    admin.call_ok("add_recording_rule", &rule("dev", "app.*", "")).await;
    admin.call_ok("add_recording_rule", &rule("*", "query.execute", "10")).await;

    let mut batch = vec![
        typed("v1", "dev", "app.view", "success"),
        typed("v2", "dev", "app.view", "success"),
        typed("v3", "dev", "app.view", "success"),
        typed("vf", "dev", "app.view", "failure"),
        typed("vp", "production", "app.view", "success"),
    ];
    batch.extend((0..100).map(|i| typed(&format!("q{i}"), "production", "query.execute", "success")));
    batch.extend((0..5).map(|i| typed(&format!("qd{i}"), "production", "query.execute", "denied")));
    let (status, reply) = app.ingest(&json!(batch)).await;
    assert_eq!(status, 200, "{reply}");
    let sampled_out = reply["dropped"].as_u64().unwrap() - 3;
    assert!((70..=99).contains(&sampled_out), "about 9 in 10 queries are not kept: {reply}");
    assert_eq!(reply["accepted"].as_u64().unwrap(), 2 + (100 - sampled_out) + 5, "{reply}");
    let stored = |id: &str| format!("select count(*) from events where id = '{id}'");
    assert_eq!(app.count(&stored("v1")).await, 0);
    for kept in ["vf", "vp", "qd0"] {
        assert_eq!(app.count(&stored(kept)).await, 1, "{kept} is stored: failures, denials and other environments are kept");
    }

    // A retried batch is sampled the same way: nothing new stored, the same dropped.
    let (_, again) = app.ingest(&json!(batch)).await;
    assert_eq!((again["accepted"].as_u64(), again["dropped"].as_u64()), (Some(0), reply["dropped"].as_u64()), "{again}");
    assert_eq!(again["duplicates"], reply["accepted"]);

    let (_, rules): (Value, Vec<Value>) = serde_json::from_value(admin.call_ok("list_recording_rules", &[]).await).unwrap();
    assert_eq!((rules[0]["dropped_today"].as_i64(), rules[0]["dropped_total"].as_i64()), (Some(6), Some(6)));
    assert_eq!(rules[1]["dropped_total"].as_u64(), Some(2 * sampled_out));

    // Rule changes are audited; a deleted rule drops nothing more.
    let id = rules[0]["id"].to_string();
    admin.call_ok("delete_recording_rule", &[("id", id.as_str())]).await;
    let (_, after) = app.ingest(&json!([typed("v4", "dev", "app.view", "success")])).await;
    assert_eq!((after["accepted"].as_u64(), after["dropped"].as_u64()), (Some(1), Some(0)), "{after}");
    let audited = app.count("select count(*) from events where environment = 'vigil' and type like 'recording_rule.%'").await;
    assert_eq!(audited, 3);
}

#[sqlx::test(migrations = false)]
async fn only_administrators_change_rules_and_bad_rules_are_explained(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let auditor = app.console("auditor").await;
    let form = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", ""), ("keep_one_in", ""), ("note", "")];
    assert_eq!(auditor.call("add_recording_rule", &form).await.status(), 403);
    let admin = app.console("admin").await;
    let bad = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", "maybe"), ("keep_one_in", ""), ("note", "")];
    let response = admin.call("add_recording_rule", &bad).await;
    assert_eq!(response.status(), 400, "a client's mistake is a 400, not a 500");
    assert!(response.text().await.unwrap().contains("outcome must be"));
    let sample_one = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", ""), ("keep_one_in", "1"), ("note", "")];
    assert!(admin.call("add_recording_rule", &sample_one).await.text().await.unwrap().contains("from 2 to"));
    assert_eq!(app.count("select count(*) from recording_rules").await, 0);
}
