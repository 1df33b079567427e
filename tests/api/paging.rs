use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use vigil::model::PageCursor;
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

#[sqlx::test(migrations = false)]
async fn keyset_pages_have_no_gaps_or_repeats_across_equal_timestamps(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let all = load_ties(&app).await;

    let mut seen = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    let mut pages = 0;
    loop {
        let page = list_events(&app.pool, &reading_all(""), None, None, cursor.as_ref(), 7).await.unwrap();
        pages += 1;
        assert!(page.events.len() <= 7);
        seen.extend(page.events.iter().map(|e| (e.occurred_at, e.id.clone())));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(pages, 36, "250 rows at 7 a page");
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no event appears twice");
    assert_eq!(ids, all.into_iter().collect(), "every event appears");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties broken by id");
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
async fn an_unknown_address_is_a_404_page(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let response = app.console("viewer").await.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
