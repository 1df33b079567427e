//! Saved views: private and shared, a relative range kept relative, the
//! landing view, and a shared view opened by a viewer of another environment.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{event, spawn, Console};

async fn views(console: &Console) -> Vec<Value> {
    console.call_ok("list_views", &[]).await.as_array().cloned().unwrap_or_default()
}

fn names(views: &[Value]) -> Vec<&str> {
    views.iter().map(|v| v["name"].as_str().unwrap()).collect()
}

#[sqlx::test]
async fn private_views_stay_private_and_shared_ones_are_everyones(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let auditor = app.console("auditor").await;

    let shared = [("name", "Prod failures"), ("url", "/events?env=production&outcome=failure&range=24h"), ("shared", "on")];
    admin.call_ok("save_view", &shared).await;
    admin.call_ok("save_view", &[("name", "Mine"), ("url", "http://localhost:3000/compare?env=a&env=b")]).await;
    let mine = views(&admin).await;
    assert_eq!(names(&mine), ["Mine", "Prod failures"]);
    let failures = mine.iter().find(|v| v["name"] == "Prod failures").unwrap();
    assert_eq!(failures["query"], "env=production&outcome=failure&range=24h", "a relative range stays relative");
    assert_eq!(failures["path"], "/events");

    let theirs = views(&auditor).await;
    assert_eq!(names(&theirs), ["Prod failures"], "the private view is not listed for others");
    assert_eq!(theirs[0]["mine"], false);

    // Only admins share; nobody renames or deletes another's view; only explorer or compare pages.
    // Client mistakes are answered 400 (or 404 for another's view), never 500.
    let refused = auditor.call("save_view", &[("name", "x"), ("url", "/events"), ("shared", "on")]).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("only admins may share"));
    let id = failures["id"].to_string();
    let hijacked = auditor.call("rename_view", &[("id", &id), ("name", "Hijacked")]).await;
    assert_eq!(hijacked.status(), 404);
    assert!(hijacked.text().await.unwrap().contains("no such view"));
    assert!(auditor.call("delete_view", &[("id", &id)]).await.text().await.unwrap().contains("no such view"));
    assert!(auditor.call("save_view", &[("name", "x"), ("url", "/settings/keys")]).await.text().await.unwrap().contains("only the explorer"));
    assert!(auditor.call("save_view", &[("name", " "), ("url", "/events")]).await.text().await.unwrap().contains("give the view a name"));

    // Rename, and saving under a name one already has replaces that view.
    admin.call_ok("rename_view", &[("id", &id), ("name", "Production failures")]).await;
    admin.call_ok("save_view", &[("name", "Mine"), ("url", "/events?range=7d")]).await;
    let mine = views(&admin).await;
    assert_eq!(names(&mine), ["Mine", "Production failures"]);
    assert_eq!(mine[0]["query"], "range=7d");
    // Renaming onto a name one already has is a conflict.
    let taken = admin.call("rename_view", &[("id", &id), ("name", "Mine")]).await;
    assert_eq!(taken.status(), 409);
    assert!(taken.text().await.unwrap().contains("you already have a view of that name"));
    admin.call_ok("delete_view", &[("id", &mine[0]["id"].to_string())]).await;
    assert_eq!(names(&views(&admin).await), ["Production failures"]);
}

#[sqlx::test]
async fn the_landing_view_opens_at_start_while_it_may_be_opened(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let viewer = app.console("viewer").await;
    let id = admin.call_ok("save_view", &[("name", "Roles"), ("url", "/events?type=role.update&range=7d"), ("shared", "on")]).await;
    let private = admin.call_ok("save_view", &[("name", "Private"), ("url", "/events?range=1h")]).await;

    assert_eq!(viewer.call_ok("landing_view", &[]).await, Value::Null, "the explorer by default");
    assert!(viewer.call("set_default_view", &[("id", &private.to_string())]).await.text().await.unwrap().contains("no such view"));
    viewer.call_ok("set_default_view", &[("id", &id.to_string())]).await;
    assert_eq!(viewer.call_ok("landing_view", &[]).await, json!("/events?type=role.update&range=7d"));
    // `/` answers with a redirect to it, before any page is sent.
    let landing = viewer.get("/").await;
    assert_eq!(landing.status(), 302);
    assert_eq!(landing.headers()["location"], "/events?type=role.update&range=7d");

    // Unshared by its owner, it no longer opens for others.
    admin.call_ok("save_view", &[("name", "Roles"), ("url", "/events?type=role.update&range=7d")]).await;
    assert_eq!(viewer.call_ok("landing_view", &[]).await, Value::Null);
    assert_eq!(viewer.get("/").await.status(), 200);
}

#[sqlx::test]
async fn a_shared_view_shows_a_viewer_only_what_they_may_see(pool: PgPool) {
    let app = spawn(pool).await;
    let mut staging = event("s1", &chrono::Utc::now().to_rfc3339());
    staging["environment"] = json!("staging");
    let (status, _) = app.ingest(&json!([event("p1", &chrono::Utc::now().to_rfc3339()), staging])).await;
    assert_eq!(status, 200);
    let admin = app.console("admin").await;
    admin.call_ok("save_view", &[("name", "Staging"), ("url", "/events?env=staging"), ("shared", "on")]).await;
    app.add_user("prod@example.com", "viewer", &["production"], &["*"]).await;
    let viewer = app.sign_in("prod@example.com").await;

    let view = &views(&viewer).await[0];
    assert_eq!(view["name"], "Staging");
    let opened = viewer.call_ok("explore_events", &[("query", view["query"].as_str().unwrap())]).await;
    assert_eq!(opened["histogram"]["total"], 0, "staging is outside the viewer's scope");
    assert!(opened["page"]["events"].as_array().unwrap().is_empty());
    let everything = admin.call_ok("explore_events", &[("query", view["query"].as_str().unwrap())]).await;
    assert_eq!(everything["histogram"]["total"], 1);
}
