//! Recording rules: what is not recorded, decided at ingest before storage.

use serde_json::{json, Value};

use crate::helpers::{event, spawn};

/// The rule form's fields for environment dev; no id adds a rule.
fn rule<'a>(id: &'a str, event_type: &'a str, keep: &'a str, note: &'a str) -> Vec<(&'static str, &'a str)> {
    let form = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", event_type), ("outcome", ""), ("keep_one_in", keep), ("note", note)];
    Some(("id", id)).filter(|_| !id.is_empty()).into_iter().chain(form).collect()
}

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
    admin.call_ok("save_recording_rule", &rule("dev", "app.*", "")).await;
    admin.call_ok("save_recording_rule", &rule("*", "query.execute", "10")).await;

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
    assert_eq!(auditor.call("save_recording_rule", &form).await.status(), 403);
    let admin = app.console("admin").await;
    let bad = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", "maybe"), ("keep_one_in", ""), ("note", "")];
    let response = admin.call("save_recording_rule", &bad).await;
    assert_eq!(response.status(), 400, "a client's mistake is a 400, not a 500");
    assert!(response.text().await.unwrap().contains("outcome must be"));
    let sample_one = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", ""), ("keep_one_in", "1"), ("note", "")];
    assert!(admin.call("save_recording_rule", &sample_one).await.text().await.unwrap().contains("from 2 to"));
    assert_eq!(app.count("select count(*) from recording_rules").await, 0);
}

#[sqlx::test(migrations = false)]
async fn rules_are_edited_and_reordered_in_place_and_the_order_decides(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    // A broad rule first: every app.* event in dev is dropped; a narrower one after it never applies.
    let broad = admin.call_ok("save_recording_rule", &rule("", "app.*", "", "")).await["id"].to_string();
    let narrow = admin.call_ok("save_recording_rule", &rule("", "app.view", "", "keep views")).await["id"].to_string();
    let (_, first) = app.ingest(&json!([typed("e1", "dev", "app.view", "success")])).await;
    assert_eq!(first["dropped"], 1, "{first}");
    let dropped_by = |rules: &[Value]| rules.iter().map(|r| (r["id"].to_string(), r["dropped_total"].as_i64().unwrap())).collect::<Vec<_>>();
    let list = || async { serde_json::from_value::<(Value, Vec<Value>)>(admin.call_ok("list_recording_rules", &[]).await).unwrap().1 };
    assert_eq!(dropped_by(&list().await), vec![(broad.clone(), 1), (narrow.clone(), 0)]);

    // The narrow rule, changed to keep one in two, then moved above the broad one, decides for views.
    admin.call_ok("save_recording_rule", &rule(&narrow, "app.view", "2", "half the views")).await;
    admin.call_ok("move_recording_rule", &[("id", narrow.as_str()), ("direction", "up")]).await;
    let rules = list().await;
    assert_eq!(dropped_by(&rules), vec![(narrow.clone(), 0), (broad.clone(), 1)], "moved first, counts kept");
    assert_eq!((rules[0]["definition"]["keep_one_in"].as_i64(), rules[0]["note"].as_str()), (Some(2), Some("half the views")));
    let views: Vec<Value> = (0..40).map(|i| typed(&format!("v{i}"), "dev", "app.view", "success")).collect();
    let (_, reply) = app.ingest(&json!(views)).await;
    let kept = reply["accepted"].as_u64().unwrap();
    assert!((8..=32).contains(&kept), "about half the views are kept once the sampling rule is first: {reply}");
    let (_, other) = app.ingest(&json!([typed("c1", "dev", "app.click", "success")])).await;
    assert_eq!(other["dropped"], 1, "the broad rule still drops the rest: {other}");

    // Moving the first up changes nothing and audits nothing; moving it down puts it back.
    admin.call_ok("move_recording_rule", &[("id", narrow.as_str()), ("direction", "up")]).await;
    admin.call_ok("move_recording_rule", &[("id", narrow.as_str()), ("direction", "down")]).await;
    assert_eq!(list().await.iter().map(|r| r["id"].to_string()).collect::<Vec<_>>(), vec![broad.clone(), narrow.clone()]);

    // Mistakes and strangers change nothing.
    assert_eq!(admin.call("move_recording_rule", &[("id", narrow.as_str()), ("direction", "sideways")]).await.status(), 400);
    assert_eq!(admin.call("move_recording_rule", &[("id", "999999"), ("direction", "up")]).await.status(), 404);
    assert_eq!(admin.call("save_recording_rule", &rule("999999", "x.*", "", "")).await.status(), 404);
    let bad = admin.call("save_recording_rule", &rule(&broad, "app.*", "1", "")).await;
    assert_eq!(bad.status(), 400);
    let auditor = app.console("auditor").await;
    assert_eq!(auditor.call("save_recording_rule", &rule(&broad, "zzz", "", "")).await.status(), 403);
    assert_eq!(auditor.call("move_recording_rule", &[("id", broad.as_str()), ("direction", "down")]).await.status(), 403);
    let rules = list().await;
    assert_eq!((rules[0]["definition"]["event_type"].as_str(), rules[0]["definition"]["keep_one_in"].as_i64()), (Some("app.*"), None));

    // The trail names what changed, old and new, and each move.
    app.derived().await;
    let trail: Vec<(String, Value)> = sqlx::query_as("select type, changes from events where environment = 'vigil' and type in ('recording_rule.update', 'recording_rule.move') order by seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        trail,
        vec![
            ("recording_rule.update".into(), json!([{"field": "keep_one_in", "old": null, "new": 2}, {"field": "note", "old": "keep views", "new": "half the views"}])),
            ("recording_rule.move".into(), json!([{"field": "position", "old": 2, "new": 1}])),
            ("recording_rule.move".into(), json!([{"field": "position", "old": 1, "new": 2}])),
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn a_rule_is_checked_against_the_last_days_before_it_drops_anything(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let now = chrono::Utc::now().to_rfc3339();
    let at_now = |id: String, environment: &str, event_type: &str, outcome: &str| {
        let mut e = typed(&id, environment, event_type, outcome);
        e["occurred_at"] = json!(now);
        e
    };
    let mut batch: Vec<Value> = (0..10).map(|i| at_now(format!("v{i}"), "dev", "app.view", "success")).collect();
    batch.extend((0..5).map(|i| at_now(format!("f{i}"), "dev", "app.view", "failure")));
    batch.extend((0..20).map(|i| at_now(format!("q{i}"), "production", "query.execute", "success")));
    let mut old = typed("old", "dev", "app.view", "success");
    old["occurred_at"] = json!("2020-01-01T00:00:00Z");
    batch.push(old);
    assert_eq!(app.ingest(&json!(batch)).await.0, 200);
    app.derived().await;
    let broad = admin.call_ok("save_recording_rule", &rule("", "app.*", "", "")).await;
    assert_eq!(broad["impact"], json!({"days": 7, "recorded": 35, "matched": 10, "decided_earlier": 0, "dropped": 10}), "a save says what it would have done");

    // A check saves nothing; placed after the broad rule, a narrower one decides nothing.
    let mut check = rule("", "app.view", "2", "");
    check.push(("dry_run", "yes"));
    let checked = admin.call_ok("save_recording_rule", &check).await;
    assert_eq!(checked["id"], Value::Null);
    assert_eq!(checked["impact"], json!({"days": 7, "recorded": 35, "matched": 10, "decided_earlier": 10, "dropped": 0}));
    assert_eq!(app.count("select count(*) from recording_rules").await, 1);

    // The broad rule checked in its own place (first), sampling, and a rule for production.
    let id = broad["id"].to_string();
    let mut again = rule(&id, "app.*", "2", "");
    again.push(("dry_run", "yes"));
    assert_eq!(admin.call_ok("save_recording_rule", &again).await["impact"]["dropped"], 5, "keeping one in two drops half");
    let production = [("environment", "production"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", ""), ("keep_one_in", ""), ("note", ""), ("dry_run", "yes")];
    assert_eq!(admin.call_ok("save_recording_rule", &production).await["impact"]["matched"], 20);
    let failures = [("environment", "dev"), ("organization", ""), ("app", ""), ("event_type", "*"), ("outcome", "failure"), ("keep_one_in", ""), ("note", ""), ("dry_run", "yes")];
    assert_eq!(admin.call_ok("save_recording_rule", &failures).await["impact"]["matched"], 5, "failures only when named");
    let mut unknown = rule("999999", "x", "", "");
    unknown.push(("dry_run", "yes"));
    assert_eq!(admin.call("save_recording_rule", &unknown).await.status(), 404);
    assert_eq!(app.count("select count(*) from events where environment = 'vigil' and type like 'recording_rule.%'").await, 1, "checks are not changes");
}
