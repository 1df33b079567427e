use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use vigil::model::{EventFilter, PageCursor};
use vigil::query::list_events;

use crate::helpers::{reading_all, spawn};

/// 250 events in 25 groups that share a timestamp, ingested in shuffled order.
async fn load_ties(app: &crate::helpers::TestApp) -> Vec<String> {
    let base: DateTime<Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
    let mut events = Vec::new();
    for i in 0..250 {
        let at = base - Duration::seconds((i % 25) as i64);
        events.push(json!({"id": format!("t{:03}", (i * 37) % 250), "occurred_at": at.to_rfc3339(),
                           "type": "app.view", "actor": {"id": "u"}}));
    }
    let (status, reply) = app.ingest(&json!(events)).await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(250)));
    (0..250).map(|i| format!("t{i:03}")).collect()
}

/// Every page of `filter`, `size` events a page: (time, id) in page order, and the number of pages.
async fn all_pages(app: &crate::helpers::TestApp, filter: &EventFilter, size: u32) -> (Vec<(DateTime<Utc>, String)>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    let mut pages = 0;
    loop {
        let page = list_events(&app.pool, filter, None, None, cursor.as_ref(), size).await.unwrap();
        pages += 1;
        assert!(page.events.len() <= size as usize);
        seen.extend(page.events.iter().map(|e| (e.occurred_at, e.id.clone())));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return (seen, pages),
        }
    }
}

#[sqlx::test(migrations = false)]
async fn keyset_pages_have_no_gaps_or_repeats_across_equal_timestamps(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let all = load_ties(&app).await;

    let (seen, pages) = all_pages(&app, &reading_all(""), 7).await;
    assert_eq!(pages, 36, "250 rows at 7 a page");
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no event appears twice");
    assert_eq!(ids, all.into_iter().collect(), "every event appears");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties broken by id");
}

/// Vigil's own events are not in the time index (migration 24): a read that
/// includes them merges them with the others, newest first, page by page; the
/// explorer's default view leaves them out.
#[sqlx::test(migrations = false)]
async fn pages_merge_vigils_own_events_with_the_others(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let others = load_ties(&app).await;
    let base: DateTime<Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
    let own: Vec<_> = (0..30)
        .map(|i| {
            let event = json!({"id": format!("v{i:03}"), "occurred_at": (base - Duration::seconds(i % 26)).to_rfc3339(),
                               "environment": "vigil", "organization": {"id": "vigil"}, "type": "events.search",
                               "actor": {"id": "console-user:1"}});
            vigil::ingest::validate(0, &event, Utc::now()).unwrap()
        })
        .collect();
    vigil::store::insert_events(&app.state.writers, &own).await.unwrap();

    let (seen, _) = all_pages(&app, &reading_all(""), 7).await;
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no event appears twice");
    assert_eq!(ids.len(), 280, "the 250 others and Vigil's 30");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first across both, ties broken by id");

    let explorer = EventFilter { without_console: true, ..reading_all("") };
    let (shown, _) = all_pages(&app, &explorer, 7).await;
    let shown: HashSet<_> = shown.into_iter().map(|(_, id)| id).collect();
    assert_eq!(shown, others.into_iter().collect(), "the explorer's default leaves Vigil's own out");
}

#[sqlx::test(migrations = false)]
async fn the_last_page_has_no_next_cursor(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load_ties(&app).await;
    let page = list_events(&app.pool, &reading_all(""), None, None, None, 250).await.unwrap();
    assert_eq!(page.events.len(), 250);
    assert_eq!(page.next, None);
    let page = list_events(&app.pool, &reading_all(""), None, None, None, 249).await.unwrap();
    assert!(page.next.is_some());
}

#[sqlx::test(migrations = false)]
async fn the_events_page_renders_stored_events_on_the_server(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, _) = app
        .ingest(&json!({"type": "role.update", "actor": {"name": "<script>alert(1)</script>"},
                        "target": {"type": "role", "name": "Support"}}))
        .await;
    assert_eq!(status, 200);

    let html = app.console("auditor").await.get("/events").await;
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("role.update"));
    assert!(html.contains("role: Support"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "actor names are escaped");
    assert!(!html.contains("<script>alert(1)"));
}

#[sqlx::test(migrations = false)]
async fn an_unknown_api_path_or_method_is_a_json_error_not_a_page(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let bearer = format!("Bearer {}", crate::helpers::EXPORT_KEY);
    for path in ["/api/v1/sessions", "/api/v1/events/123/x", "/api/v1/nothing"] {
        let response = app.client.get(format!("{}{path}", app.base)).header("authorization", &bearer).send().await.unwrap();
        assert_eq!(response.status(), 404, "GET {path}");
        let reply: serde_json::Value = response.json().await.unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"));
        assert_eq!(reply["error"]["code"], "not_found", "GET {path}");
        assert!(reply["error"]["message"].as_str().unwrap().contains(path), "{reply}");
    }
    let wrong = [
        (reqwest::Method::DELETE, "/api/v1/events", "GET, HEAD, POST"),
        (reqwest::Method::POST, "/api/v1/events/export", "GET, HEAD"),
        (reqwest::Method::PUT, "/api/v1/health", "GET, HEAD"),
        (reqwest::Method::POST, "/api/v1/metrics", "GET, HEAD"),
        (reqwest::Method::GET, "/api/v1/heartbeats/some-token", "POST"),
    ];
    for (method, path, allow) in wrong {
        let response = app.client.request(method.clone(), format!("{}{path}", app.base)).header("authorization", &bearer).send().await.unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let reply: serde_json::Value = response.json().await.unwrap();
        assert_eq!(reply["error"]["code"], "method_not_allowed", "{method} {path}");
        assert_eq!(reply["error"]["message"], format!("{method} is not allowed here; use {allow}"));
    }
    assert_eq!(app.count("select count(*) from events where environment <> 'vigil'").await, 0);
}

#[sqlx::test(migrations = false)]
async fn an_unknown_address_is_a_404_page(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let response = app.console("viewer").await.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
