use serde_json::json;

use crate::helpers::{event, spawn};

#[sqlx::test(migrations = false)]
async fn events_of_any_month_land_in_their_monthly_partition(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let batch = json!([
        event("old", "2019-02-28T23:59:59Z"),
        event("mar", "2026-03-01T00:00:00Z"),
        event("feb", "2026-02-28T23:59:59.999999Z"),
        event("offset", "2026-06-30T22:30:00-03:00"),
    ]);

    let (status, reply) = app.ingest(&batch).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 4);

    let placed: Vec<(String, String)> =
        sqlx::query_as("select id, tableoid::regclass::text from events order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        placed,
        vec![
            ("feb".into(), "events_2026_02".into()),
            ("mar".into(), "events_2026_03".into()),
            ("offset".into(), "events_2026_07".into()),
            ("old".into(), "events_2019_02".into()),
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn concurrent_batches_for_a_new_month_all_succeed(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let sends = (0..8).map(|i| {
        let app = &app;
        async move { app.ingest(&json!([event(&format!("c{i}"), "2021-05-10T12:00:00Z")])).await }
    });
    for (status, reply) in futures::future::join_all(sends).await {
        assert_eq!(status, 200, "{reply}");
    }
    assert_eq!(app.count("select count(*) from events_2021_05").await, 8);
}
