//! Findings of the security review, each pinned by a test that failed before
//! its fix: what one environment's sender can do to another, the reserved
//! `vigil` environment.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn, TestApp};

/// A key bound to `dev`, made by an admin in Settings.
async fn dev_ingest_key(app: &TestApp) -> String {
    let admin = app.console("admin").await;
    let secret = admin
        .call_ok("create_api_key", &[("name", "dev"), ("kind", "ingest"), ("environments", "dev"), ("organizations", "")])
        .await;
    secret["value"].as_str().unwrap().to_string()
}

fn label(options: &Value, list: &str, value: &str) -> Option<String> {
    options[list].as_array()?.iter().find(|o| o["value"] == value).map(|o| o["label"].as_str().unwrap().to_string())
}

#[sqlx::test(migrations = false)]
async fn a_sender_in_one_environment_cannot_rename_anyone_elsewhere(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let event = |env: &str, minutes: i64, name: &str, email: &str, org: &str| {
        json!({"environment": env, "occurred_at": (Utc::now() - Duration::minutes(minutes)).to_rfc3339(),
               "type": "role.update", "organization": {"id": "org_a", "name": org},
               "app": {"id": "crm", "name": format!("{org} CRM")},
               "actor": {"id": "u1", "name": name, "email": email}})
    };
    let (status, _) = app.ingest(&json!([event("production", 30, "Ana", "ana@acme.example", "Acme")])).await;
    assert_eq!(status, 200);
    let dev_key = dev_ingest_key(&app).await;
    let forged = json!([event("dev", 1, "Mallory", "mallory@evil.example", "Evil Corp")]).to_string();
    let (status, reply) = app.ingest_raw(forged, "application/json", Some(&dev_key)).await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(1)), "{reply}");

    let admin = app.console("auditor").await;
    let explored = admin.call_ok("explore_events", &[("query", "env=production&range=24h")]).await;
    let options = &explored["options"];
    assert_eq!(label(options, "users", "u1").as_deref(), Some("Ana <ana@acme.example>"), "{options}");
    assert_eq!(label(options, "organizations", "org_a").as_deref(), Some("Acme"));
    assert_eq!(label(options, "apps", "crm").as_deref(), Some("Acme CRM"));
    let found = admin.call_ok("explore_events", &[("query", "env=production&range=24h&user=ana@acme.example")]).await;
    assert_eq!(found["histogram"]["total"], 1, "the production user is still found by their e-mail");

    // The dev environment has its own names.
    let dev = admin.call_ok("explore_events", &[("query", "env=dev&range=24h")]).await;
    assert_eq!(label(&dev["options"], "organizations", "org_a").as_deref(), Some("Evil Corp"));
}

#[sqlx::test(migrations = false)]
async fn nobody_can_send_events_into_the_console_audit_trail(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    for env in ["vigil", "VIGIL", "Vigil"] {
        let (status, reply) = app.ingest(&json!([{"type": "session.sign_in", "environment": env, "actor": {"id": "x"}}])).await;
        assert_eq!(status, 422, "{env}: {reply}");
        assert_eq!(reply["rejected"][0]["field"], "environment");
        assert!(reply["rejected"][0]["error"].as_str().unwrap().contains("reserved"), "{reply}");
    }
    let admin = app.console("admin").await;
    let secret = admin
        .call_ok("create_api_key", &[("name", "v"), ("kind", "ingest"), ("environments", "vigil"), ("organizations", "")])
        .await;
    let bound = secret["value"].as_str().unwrap();
    let (status, reply) =
        app.ingest_raw(json!([{"type": "session.sign_in", "actor": {"id": "x"}}]).to_string(), "application/json", Some(bound)).await;
    assert_eq!(status, 422, "a key bound to `vigil` writes nothing there either: {reply}");
    let forged = app.count("select count(*) from events where environment ilike 'vigil' and type = 'session.sign_in' and actor_email is null").await;
    assert_eq!(forged, 0);
}
