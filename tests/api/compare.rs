//! Comparing environments on a known data set: types side by side, what only
//! one environment has seen, the latest state of roles per environment, and
//! a viewer who may see one environment only.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use vigil::model::{CompareView, Comparison, Scope};
use vigil::query::compare::compare;
use vigil::query::memo::Memo;

use crate::helpers::{spawn, TestApp};

fn minutes_ago(m: i64) -> String {
    (Utc::now() - Duration::minutes(m)).to_rfc3339()
}

fn event(id: &str, m: i64, environment: &str, event_type: &str, actor: &str, target: Value) -> Value {
    json!({"id": id, "occurred_at": minutes_ago(m), "environment": environment,
           "organization": {"id": "org_a", "name": "Acme"}, "type": event_type,
           "actor": {"id": actor}, "target": target})
}

/// Production: ten app views and an admin role renamed twice. Staging: one
/// app view by another actor in another app, the same role renamed
/// differently, and a permission added to a role production never touched.
async fn two_environments(app: &TestApp) {
    let mut events: Vec<Value> = (0..10)
        .map(|i| {
            let mut e = event(&format!("p{i}"), 10 + i, "production", "app.view", "u_ana", json!({"type": "app", "id": "insight"}));
            e["app"] = json!({"id": "insight", "name": "Insight"});
            e
        })
        .collect();
    let mut rename = |id: &str, m: i64, env: &str, old: &str, new: &str| {
        let mut e = event(id, m, env, "role.update", "u_ana", json!({"type": "role", "id": "role_admin", "name": "Admin"}));
        e["changes"] = json!([{"field": "description", "old": old, "new": new}, {"field": "members", "old": 1, "new": 2}]);
        events.push(e);
    };
    rename("p-r1", 50, "production", "x", "Administrators");
    rename("p-r2", 40, "production", "Administrators", "Full access");
    rename("s-r1", 30, "staging", "x", "Admins (staging)");
    let mut view = event("s1", 5, "staging", "app.view", "u_ben", json!({"type": "app", "id": "beta"}));
    view["app"] = json!({"id": "beta", "name": "Beta"});
    events.push(view);
    let mut add = event("s2", 4, "staging", "role.permission_add", "u_ben", json!({"type": "role", "id": "role_support", "name": "Support"}));
    add["changes"] = json!([{"field": "permissions", "old": ["a"], "new": ["a", "b"]}]);
    events.push(add);
    let (status, reply) = app.ingest(&json!(events)).await;
    assert_eq!(status, 200, "{reply}");
}

async fn compared(pool: &PgPool, query: &str, scope: Scope) -> Comparison {
    compare(pool, &CompareView::from_query(query), &scope, Utc::now(), &Memo::default()).await.unwrap()
}

fn only_in(c: &Comparison, dimension: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = c
        .only_in
        .iter()
        .filter(|o| o.dimension == dimension)
        .map(|o| (o.value.clone(), o.environment.clone()))
        .collect();
    found.sort();
    found
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[sqlx::test]
async fn types_and_what_only_one_environment_has_seen(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    two_environments(&app).await;

    let c = compared(&pool, "range=24h", Scope::everything()).await;
    assert_eq!(c.environments, ["production", "staging"], "by default every environment in range, largest first");
    assert_eq!(c.totals, [12, 3]);
    let counts = |t: &str| c.types.iter().find(|r| r.event_type == t).map(|r| (r.counts.clone(), r.difference));
    assert_eq!(counts("role.permission_add"), Some((vec![0, 1], 1.0)));
    assert_eq!(counts("app.view").map(|c| c.0), Some(vec![10, 1]));
    assert_eq!(c.types[0].difference, 1.0, "the largest difference first");
    assert_eq!(only_in(&c, "type"), pairs(&[("role.permission_add", "staging")]));
    assert_eq!(only_in(&c, "app"), pairs(&[("beta", "staging"), ("insight", "production")]));
    assert_eq!(only_in(&c, "user"), pairs(&[("u_ben", "staging")]));
    assert_eq!(only_in(&c, "target"), pairs(&[("beta", "staging"), ("insight", "production"), ("role_support", "staging")]));

    // The chart: one series per environment, in their order, summing to the totals.
    let series: Vec<(String, i64)> = c.histogram.series.iter().map(|(e, n)| (e.clone(), n.iter().sum())).collect();
    assert_eq!(series, [("production".to_string(), 12), ("staging".to_string(), 3)]);

    // Narrowed by an explorer filter, and to one chosen environment.
    let narrowed = compared(&pool, "env=staging&env=production&type=role.update", Scope::everything()).await;
    assert_eq!(narrowed.environments, ["staging", "production"]);
    assert_eq!(narrowed.totals, [1, 2]);
    assert!(only_in(&narrowed, "type").is_empty(), "role.update is in both");
    let one = compared(&pool, "env=staging", Scope::everything()).await;
    assert!(one.only_in.is_empty(), "nothing is 'only in' one of one");
}

#[sqlx::test]
async fn the_latest_state_of_each_role_per_environment(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    two_environments(&app).await;

    let c = compared(&pool, "kind=role", Scope::everything()).await;
    assert!(c.kinds.contains(&"role".to_string()) && c.kinds.contains(&"app".to_string()), "{:?}", c.kinds);
    let admin = c.states.iter().find(|s| s.id == "role_admin").expect("role_admin is compared");
    let field = |i: usize, f: &str| admin.states[i].as_ref().and_then(|s| s.get(f)).cloned();
    assert_eq!(field(0, "description").as_deref(), Some("\"Full access\""), "the newest change wins");
    assert_eq!(field(1, "description").as_deref(), Some("\"Admins (staging)\""));
    assert_eq!(field(0, "members"), field(1, "members"));
    assert_eq!(admin.differing, ["description"]);
    let support = c.states.iter().find(|s| s.id == "role_support").expect("role_support is compared");
    assert!(support.states[0].is_none() && support.states[1].is_some(), "known in staging only");
    assert!(!c.states_partial);
}

#[sqlx::test]
async fn a_viewer_compares_only_what_they_may_see(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    two_environments(&app).await;
    let production = Scope::new(vec!["production".into()], vec!["*".into()]);

    let c = compared(&pool, "env=production&env=staging&kind=role", production.clone()).await;
    assert_eq!(c.environments, ["production"], "staging is not theirs to compare");
    assert_eq!(c.available, ["production"]);
    assert!(c.only_in.is_empty());
    assert!(c.types.iter().all(|r| r.event_type != "role.permission_add"), "no staging type leaks");
    assert!(c.states.iter().all(|s| s.id != "role_support"), "no staging target leaks");

    // Through the server function, signed in as such a viewer.
    app.add_user("prod@example.com", "viewer", &["production"], &["*"]).await;
    let viewer = app.sign_in("prod@example.com").await;
    let reply = viewer.call_ok("compare_environments", &[("query", "env=staging&env=production")]).await;
    assert_eq!(reply["data"]["environments"], json!(["production"]));
    assert!(!reply.to_string().contains("u_ben"), "{reply}");
}

/// Over 30 days the counts of past days are kept between comparisons; a late
/// event of a past day and today's events are still counted on the next one.
#[sqlx::test]
async fn kept_counts_of_past_days_still_see_late_and_new_events(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let kept = Memo::default();
    let totals = || async {
        let c = compare(&pool, &CompareView::from_query("env=production&env=staging&range=30d"), &Scope::everything(), Utc::now(), &kept).await.unwrap();
        c.environments.iter().cloned().zip(c.totals).collect::<Vec<_>>()
    };
    let at = |days: i64| (Utc::now() - Duration::days(days)).to_rfc3339();
    let send = |id: &str, occurred_at: String, env: &str| json!([{"id": id, "occurred_at": occurred_at, "environment": env, "type": "app.view", "actor": {"id": "u"}}]);
    for (id, days, env) in [("a", 5, "production"), ("b", 4, "staging")] {
        assert_eq!(app.ingest(&send(id, at(days), env)).await.0, 200);
    }
    assert_eq!(totals().await, [("production".to_string(), 1), ("staging".to_string(), 1)]);
    assert_eq!(app.ingest(&send("late", at(2), "staging")).await.0, 200);
    assert_eq!(app.ingest(&send("now", Utc::now().to_rfc3339(), "staging")).await.0, 200);
    assert_eq!(totals().await, [("production".to_string(), 1), ("staging".to_string(), 3)]);
}
