//! The read API: listing with page tokens, the gap-free export cursor, formats,
//! rate limits and the OpenAPI description.

use std::collections::{BTreeSet, HashSet};

use serde_json::{json, Value};
use vigil::config::ServerConfig;

use crate::helpers::{spawn, spawn_with, TestApp, EXPORT_KEY, KEY};

impl TestApp {
    pub async fn read(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .bearer_auth(EXPORT_KEY)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

pub fn ids(page: &Value) -> Vec<String> {
    page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

/// 120 events in 12 groups sharing a timestamp, two environments.
async fn load(app: &TestApp) {
    let now = chrono::Utc::now();
    let events: Vec<Value> = (0..120)
        .map(|i| {
            let at = now - chrono::Duration::minutes(10 + (i % 12) as i64);
            json!({"id": format!("ev{i:03}"), "occurred_at": at.to_rfc3339(), "type": "app.view",
                   "environment": if i % 3 == 0 { "staging" } else { "production" },
                   "actor": {"id": format!("u{}", i % 5), "name": "=2+3 \"quoted\", name"}})
        })
        .collect();
    let (status, _) = app.ingest(&json!(events)).await;
    assert_eq!(status, 200);
}

#[sqlx::test(migrations = false)]
async fn page_tokens_walk_every_matching_event_once(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;

    let mut seen = Vec::new();
    let mut url = "/api/v1/events?env=production&page_size=7".to_string();
    loop {
        let (status, page) = app.read(&url).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["events"].as_array().unwrap().len() <= 7);
        seen.extend(ids(&page));
        match page["next_page_token"].as_str() {
            Some(token) => url = format!("/api/v1/events?env=production&page_size=7&page_token={token}"),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    assert_eq!(seen.len(), 80, "every production event");
}

/// `from` without `to` is open-ended; its next page still works a few seconds later.
#[sqlx::test(migrations = false)]
async fn a_token_for_an_open_ended_range_outlives_the_second_it_was_made(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let first = format!("/api/v1/events?from={from}&page_size=50");
    let (status, page) = app.read(&first).await;
    assert_eq!(status, 200, "{page}");
    let mut seen = ids(&page);
    let token = page["next_page_token"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, page) = app.read(&format!("{first}&page_token={token}")).await;
    assert_eq!(status, 200, "{page}");
    seen.extend(ids(&page));
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 100);
    let (_, last) = app.read(&format!("{first}&page_token={}", page["next_page_token"].as_str().unwrap())).await;
    seen.extend(ids(&last));
    assert_eq!((seen.len(), last["next_page_token"].as_str()), (120, None));
}

#[sqlx::test(migrations = false)]
async fn bad_foreign_or_tampered_tokens_and_sizes_are_400s(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let (_, page) = app.read("/api/v1/events?env=production&page_size=5").await;
    let token = page["next_page_token"].as_str().unwrap().to_string();

    let cases = [
        (format!("/api/v1/events?env=staging&page_size=5&page_token={token}"), "page_token", "different query"),
        (format!("/api/v1/events?env=production&page_token={}x", &token[..token.len() - 1]), "page_token", "not valid"),
        ("/api/v1/events?page_token=garbage".to_string(), "page_token", "not valid"),
        ("/api/v1/events?page_size=0".to_string(), "page_size", "1 to 10000"),
        ("/api/v1/events?page_size=10001".to_string(), "page_size", "1 to 10000"),
        ("/api/v1/events?page_size=ten".to_string(), "page_size", "1 to 10000"),
        ("/api/v1/events?from=yesterday".to_string(), "from", "RFC 3339"),
        ("/api/v1/events?range=forever".to_string(), "range", "one of"),
        ("/api/v1/events/export?cursor=abc".to_string(), "cursor", "not valid"),
        ("/api/v1/events/export?format=xml".to_string(), "format", "json, ndjson or csv"),
    ];
    for (url, field, message) in cases {
        let (status, reply) = app.read(&url).await;
        assert_eq!(status, 400, "{url}: {reply}");
        assert_eq!(reply["error"]["field"], field, "{url}");
        assert!(reply["error"]["message"].as_str().unwrap().contains(message), "{url}: {reply}");
    }
    let (status, reply) = app.read("/api/v1/events?colour=red").await;
    assert_eq!((status, reply["error"]["code"].as_str()), (400, Some("bad_request")));
    let (status, _) = app.read("/api/v1/events?page_size=10000").await;
    assert_eq!(status, 200, "the largest page size is allowed");
}

#[sqlx::test(migrations = false)]
async fn reading_needs_the_export_key(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    for url in ["/api/v1/events", "/api/v1/events/export"] {
        let response = app.client.get(format!("{}{url}", app.base)).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let response = app.client.get(format!("{}{url}", app.base)).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(response.status(), 401, "the ingest key cannot read");
    }
}

#[sqlx::test(migrations = false)]
async fn an_export_cursor_kept_from_before_versioned_tokens_still_goes_on(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    // The unversioned form an earlier Vigil signed: the canonical query, then xid.batch.seq.
    let secret = ServerConfig::with_keys(KEY, EXPORT_KEY).secret.unwrap();
    let signer = vigil::state::token::Signer::new(&secret).unwrap();
    let start = signer.sign("export", "env=staging\n0.0.0");
    let (status, page) = app.read(&format!("/api/v1/events/export?env=staging&cursor={start}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page).len(), 40, "every staging event from the start");
    let other_query = signer.sign("export", "env=production\n0.0.0");
    let (status, _) = app.read(&format!("/api/v1/events/export?env=staging&cursor={other_query}")).await;
    assert_eq!(status, 400, "still bound to its query");
}

/// Follow the export cursor in JSON pages of 137 until `has_more` is false.
pub async fn follow(app: &TestApp, cursor: &mut Option<String>, seen: &mut Vec<String>) -> usize {
    let pages = follow_pages(app, "", 137, cursor).await;
    seen.extend(pages.concat());
    pages.len()
}

/// Follow the export of `query` (`&name=value…`) in JSON pages of `page_size` from `cursor`
/// (the start when `None`) until `has_more` is false: each page's ids.
/// `cursor` ends where the last page did.
async fn follow_pages(app: &TestApp, query: &str, page_size: u32, cursor: &mut Option<String>) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (status, page) = app.read(&format!("/api/v1/events/export?page_size={page_size}{query}{after}")).await;
        assert_eq!(status, 200, "{page}");
        pages.push(ids(&page));
        *cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        if !page["has_more"].as_bool().unwrap() {
            return pages;
        }
    }
}

/// An app whose read API lets a test follow many pages at once.
async fn spawn_for_paging(pool: sqlx::PgPool) -> TestApp {
    let mut config = ServerConfig::with_keys(KEY, EXPORT_KEY);
    config.api_burst = 1000.0;
    spawn_with(pool, config).await
}

/// A page reads the batches holding at most 25 times its size in events (at
/// least one batch): a narrow filter gets short pages with more to come, and
/// still every match once. Without a filter a page reads exactly its events.
#[sqlx::test(migrations = false)]
async fn an_export_page_reads_a_bounded_part_of_the_store(pool: sqlx::PgPool) {
    let app = spawn_for_paging(pool).await;
    let id = |n: usize| format!("n{n:04}");
    // 12 batches of 100 events, one of each in staging.
    for batch in 0..12 {
        let events: Vec<Value> = (batch * 100..batch * 100 + 100)
            .map(|n| json!({"id": id(n), "type": "a.b", "actor": {"id": "x"},
                            "environment": if n % 100 == 7 { "staging" } else { "production" }}))
            .collect();
        assert_eq!(app.ingest(&json!(events)).await.0, 200);
    }

    // Pages of 2 read 50 events' worth of batches: one batch each.
    let pages = follow_pages(&app, "&env=staging", 2, &mut None).await;
    assert_eq!(pages.concat(), (0..1200).filter(|n| n % 100 == 7).map(id).collect::<Vec<_>>(), "every match once, in order");
    assert!(pages.iter().all(|page| page.len() == 1), "one batch a page: {pages:?}");

    // A broad filter fills its pages, starting within a batch where the last one ended.
    let pages = follow_pages(&app, "&env=production", 7, &mut None).await;
    assert!(pages[..pages.len() - 1].iter().all(|page| page.len() == 7), "{pages:?}");
    assert_eq!(pages.concat(), (0..1200).filter(|n| n % 100 != 7).map(id).collect::<Vec<_>>());

    // Without a filter a page is the next 7 event numbers, across batches too.
    let pages = follow_pages(&app, "", 7, &mut None).await;
    assert!(pages[..pages.len() - 1].iter().all(|page| page.len() == 7), "{pages:?}");
    assert_eq!(pages.concat(), (0..1200).map(id).collect::<Vec<_>>());
}

/// A page looks at the ledger's first 32 batches, then, when they hold too
/// few events, at as many as the page may read: batches of one event each
/// still fill a page.
#[sqlx::test(migrations = false)]
async fn a_page_of_many_small_batches_is_full(pool: sqlx::PgPool) {
    let app = spawn_for_paging(pool).await;
    let id = |n: usize| format!("s{n:03}");
    for n in 0..45 {
        let event = json!([{"id": id(n), "type": "a.b", "actor": {"id": "x"}, "environment": "production"}]);
        assert_eq!(app.ingest(&event).await.0, 200);
    }
    let every = (0..45).map(id).collect::<Vec<_>>();
    for query in ["", "&env=production"] {
        let pages = follow_pages(&app, query, 40, &mut None).await;
        assert_eq!(pages[0].len(), 40, "{query}: {pages:?}");
        assert_eq!(pages.concat(), every, "{query}");
    }
}

#[sqlx::test(migrations = false)]
async fn since_starts_the_export_at_a_time(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let middle = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.ingest(&json!([{"id": "late", "type": "a.b", "actor": {"id": "x"}}])).await;

    let since = vigil::model::query_value(&middle.to_rfc3339());
    let (status, page) = app.read(&format!("/api/v1/events/export?since={since}")).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), ["late"]);
}

#[sqlx::test(migrations = false)]
async fn csv_export_neutralises_formulas_and_ndjson_streams_everything(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;

    let csv = app.client.get(format!("{}/api/v1/events/export?format=csv", app.base)).bearer_auth(EXPORT_KEY).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
    assert!(csv.headers().contains_key("vigil-next-cursor"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 121, "header and 120 rows");
    assert!(lines[0].starts_with("id,occurred_at,received_at,seq,"));
    assert!(lines[1].contains(r#""'=2+3 ""quoted"", name""#), "{}", lines[1]);

    // Thousands of events, more than one streamed chunk (4 000), each line a whole
    // event, with the client they share (the later chunks take it from the
    // export's clients, not from the store).
    let client = json!({"ip": "81.2.69.160", "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"});
    let many: Vec<Value> =
        (0..4500).map(|i| json!({"id": format!("m{i}"), "type": "a.b", "actor": {"id": "x"}, "client": client})).collect();
    assert_eq!(app.ingest(&json!(many)).await.0, 200);
    let ndjson = app.client.get(format!("{}/api/v1/events/export?format=ndjson", app.base)).bearer_auth(EXPORT_KEY).send().await.unwrap();
    let cursor = ndjson.headers()["vigil-next-cursor"].to_str().unwrap().to_string();
    let body = ndjson.text().await.unwrap();
    let events: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 4620);
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ingestion order");
    let clients: Vec<(&Value, &Value)> =
        events.iter().filter(|e| e["id"].as_str().unwrap().starts_with('m')).map(|e| (&e["client"]["user_agent"], &e["enrichment"])).collect();
    assert_eq!(clients.len(), 4500);
    assert!(clients.iter().all(|c| *c == (&client["user_agent"], clients[0].1) && c.1["browser"] == "Firefox"), "{:?}", clients[0]);

    // Compressed for a client that asks (as browsers do), the same lines whole:
    // the compression reads the body once more after its end.
    let gzip = app.client.get(format!("{}/api/v1/events/export?format=ndjson", app.base)).bearer_auth(EXPORT_KEY);
    let gzip = gzip.header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let mut unzipped = String::new();
    let bytes = gzip.bytes().await.expect("the compressed stream ends cleanly");
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, body);

    // The header cursor continues after the stream: nothing new yet.
    let (_, page) = app.read(&format!("/api/v1/events/export?cursor={cursor}")).await;
    assert_eq!(ids(&page), Vec::<String>::new());
}

#[sqlx::test(migrations = false)]
async fn the_console_download_is_exactly_the_current_filter(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let response = app.console("auditor").await.get("/events/export?env=staging&format=ndjson").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"vigil-events-"));
    let body = response.text().await.unwrap();
    let envs: BTreeSet<String> =
        body.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["environment"].as_str().unwrap().to_string()).collect();
    assert_eq!(body.lines().count(), 40);
    assert_eq!(envs, BTreeSet::from(["staging".to_string()]));
}

#[sqlx::test(migrations = false)]
async fn over_the_rate_limit_is_a_429_with_retry_after(pool: sqlx::PgPool) {
    let mut config = ServerConfig::with_keys(KEY, EXPORT_KEY);
    config.api_rate = 0.5;
    config.api_burst = 2.0;
    let app = spawn_with(pool, config).await;
    assert_eq!(app.read("/api/v1/events").await.0, 200);
    assert_eq!(app.read("/api/v1/events").await.0, 200);
    let response = app.client.get(format!("{}/api/v1/events", app.base)).bearer_auth(EXPORT_KEY).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["error"]["code"], "rate_limited");
}

#[sqlx::test(migrations = false)]
async fn the_openapi_spec_describes_the_real_routes(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let spec: Value = app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.clone(), path.clone()));
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        [
            ("get".into(), "/api/v1/events".into()),
            ("get".into(), "/api/v1/events/export".into()),
            ("get".into(), "/api/v1/health".into()),
            ("get".into(), "/api/v1/metrics".into()),
            ("post".into(), "/api/v1/events".into()),
            ("post".into(), "/api/v1/heartbeats/{token}".into())
        ]
    );
    // Each documented operation exists: without a key it is a 401, not a 404 or 405.
    for (method, path) in operations {
        let path = path.replace("{token}", "no-such-token");
        let request = app.client.request(method.to_uppercase().parse().unwrap(), format!("{}{path}", app.base));
        assert_eq!(request.send().await.unwrap().status(), 401, "{method} {path}");
    }
}
