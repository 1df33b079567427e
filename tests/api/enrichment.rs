//! Enrichment, redaction and sessions, through the real ingest API.

use serde_json::{json, Value};
use vigil::ingest::enrich::Enricher;

use vigil::model::Scope;

use crate::helpers::{event, sessions_reading_all, spawn, EXPORT_KEY};

fn enricher() -> Enricher {
    let path = std::env::var("VIGIL_GEOIP_DB").expect("make test installs the location database and sets VIGIL_GEOIP_DB");
    Enricher::new(Some(std::path::Path::new(&path))).unwrap()
}

#[test]
fn real_user_agents_are_parsed() {
    let e = enricher();
    let cases = [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
         ("Chrome", "Windows", "desktop", "Blink")),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
         ("Safari", "Mac OS X", "desktop", "WebKit")),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
         ("Firefox", "Linux", "desktop", "Gecko")),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
         ("Mobile Safari", "iOS", "mobile", "WebKit")),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
         ("Chrome Mobile", "Android", "mobile", "Blink")),
        ("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
         ("Mobile Safari", "iOS", "tablet", "WebKit")),
    ];
    for (ua, (browser, os, device, engine)) in cases {
        let info = e.parse_user_agent(ua);
        assert_eq!(info.browser.as_deref(), Some(browser), "{ua}");
        assert_eq!(info.os.as_deref(), Some(os), "{ua}");
        assert_eq!(info.device_type.as_deref(), Some(device), "{ua}");
        assert_eq!(info.engine.as_deref(), Some(engine), "{ua}");
        assert!(!info.bot);
    }

    let webview = e.parse_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.40.93;FBBV/612349013;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/5]");
    assert_eq!(webview.browser.as_deref(), Some("Facebook"), "an in-app webview");
    assert_eq!(webview.device_brand.as_deref(), Some("Apple"));

    let pixel = e.parse_user_agent("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36");
    assert_eq!((pixel.device_brand.as_deref(), pixel.device_model.as_deref()), (Some("Google"), Some("Pixel 8")));

    let bot = e.parse_user_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
    assert!(bot.bot);
    assert_eq!(bot.device_type.as_deref(), Some("bot"));
    assert_eq!(bot.browser.as_deref(), Some("Googlebot"));
}

#[test]
fn public_addresses_are_located_and_private_ones_labelled() {
    let e = enricher();
    let place = |ip: &str| e.client_info(None, Some(ip)).unwrap();

    let london = place("81.2.69.160");
    assert_eq!(london.country_code.as_deref(), Some("GB"));
    assert_eq!(london.country.as_deref(), Some("United Kingdom"));
    assert!(london.latitude.is_some() && london.longitude.is_some());
    assert_eq!(place("8.8.8.8").country_code.as_deref(), Some("US"));
    assert_eq!(place("126.0.1.1").city.as_deref(), Some("Tokyo"));
    assert!(place("2001:4860:4860::8888").country_code.is_some(), "IPv6 is located too");

    for (ip, network) in [("10.1.2.3", "private"), ("192.168.0.10", "private"), ("127.0.0.1", "loopback"), ("::1", "loopback"), ("fd12::1", "private"), ("100.64.0.1", "carrier-grade NAT")] {
        let info = place(ip);
        assert_eq!(info.network.as_deref(), Some(network), "{ip}");
        assert_eq!(info.country_code, None, "{ip} is not guessed");
    }
}

#[sqlx::test(migrations = false)]
async fn secrets_never_reach_the_database(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, _) = app
        .ingest(&json!([{
            "id": "secretive", "type": "user.update", "actor": {"id": "u1"},
            "request": {"method": "POST", "path": "/login?token=tok-SECRET-1&next=/home",
                        "body": {"user": "ana", "password": "hunter2-SECRET-2", "headers": {"Authorization": "Bearer SECRET-3"}}},
            "response": {"body": {"session": {"api_key": "SECRET-4", "card": "4111-1111-1111-1111"}}},
            "details": {"nested": [{"client_secret": "SECRET-5"}], "note": "kept"},
            "changes": [{"field": "password_hash", "old": "SECRET-6", "new": "SECRET-7"}, {"field": "name", "old": "a", "new": "b"}]
        }]))
        .await;
    assert_eq!(status, 200);

    let leaks: i64 = sqlx::query_scalar(
        "select count(*) from events_with_client e where e::text like '%SECRET%' or e::text like '%hunter2%' or e::text like '%4111%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(leaks, 0, "no secret is stored anywhere in the row");
    let (details, path): (Value, String) = sqlx::query_as("select details, request_path from events where id = 'secretive'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(details["note"], "kept");
    assert_eq!(details["nested"][0]["client_secret"], "[REDACTED]");
    assert_eq!(path, "/login?token=[REDACTED]&next=/home");
}

/// Each way a secret slipped past redaction before, each scanned for in the whole stored row.
#[sqlx::test(migrations = false)]
async fn secrets_in_header_lists_urls_fragments_numbers_and_text_bodies_are_redacted(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let cases: Vec<(&str, Value)> = vec![
        ("card as a number", json!({"details": {"card": 4111111111111111u64}})),
        ("header list of objects", json!({"details": {"headers": [{"name": "Authorization", "value": "Bearer SECRET-A"}]}})),
        ("header list of pairs", json!({"response": {"body": {"headers": [["Cookie", "sid=SECRET-B"]]}}})),
        ("a URL", json!({"details": {"url": "https://api.example/v1?api_key=SECRET-C&page=2"}})),
        ("request.query", json!({"request": {"query": "page=2&access_token=SECRET-D"}})),
        ("any URL", json!({"details": {"callback": "https://app.example/cb?code=1&client_secret=SECRET-E"}})),
        ("JSON body as a string", json!({"request": {"body": "{\"user\":\"ana\",\"password\":\"SECRET-F\"}"}})),
        ("URL fragment", json!({"details": {"redirect": "https://app.example/#access_token=SECRET-G&type=bearer"}})),
        ("percent-encoded name", json!({"request": {"path": "/reset?pass%77ord=SECRET-H"}})),
        ("auth", json!({"details": {"auth": "SECRET-I"}})),
        ("pwd", json!({"details": {"pwd": "SECRET-J"}})),
        ("passphrase", json!({"details": {"passphrase": "SECRET-K"}})),
        ("credentials", json!({"details": {"credentials": {"user": "SECRET-L"}}})),
        ("bearer", json!({"details": {"bearer": "SECRET-M"}})),
        ("jwt", json!({"details": {"jwt": "SECRET-N"}})),
        ("api.key", json!({"details": {"api.key": "SECRET-O"}})),
        ("x-api-key", json!({"details": {"headers": {"x-api-key": "SECRET-P"}}})),
        ("a JWT under any key", json!({"details": {"note": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.c2lnbmF0dXJl"}})),
        ("form body as a string", json!({"request": {"body": "user=ana&password=SECRET-Q"}})),
        ("header lines", json!({"request": {"body": "Host: example.com\nAuthorization: Basic SECRET-R"}})),
    ];
    let events: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (_, fields))| {
            let mut event = json!({"id": format!("leak-{i}"), "type": "user.update", "actor": {"id": "u1"}});
            for (k, v) in fields.as_object().unwrap() {
                event[k] = v.clone();
            }
            event
        })
        .collect();
    let (status, reply) = app.ingest(&json!(events)).await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(cases.len() as u64)), "{reply}");
    for (i, (case, _)) in cases.iter().enumerate() {
        let row: String = sqlx::query_scalar("select e::text from events e where id = $1")
            .bind(format!("leak-{i}"))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        for secret in ["SECRET", "4111111111111111", "eyJzdWIi"] {
            assert!(!row.contains(secret), "{case}: {secret} stored in {row}");
        }
        assert!(row.contains("[REDACTED]"), "{case}: {row}");
    }
}

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

fn session_event(session: &str, event_type: &str, minutes_ago: i64, ip: &str, ua: &str) -> Value {
    json!({"type": event_type, "occurred_at": (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339(),
           "environment": "production", "organization": {"id": "org_a", "name": "Acme"},
           "actor": {"id": "u_ana", "name": "Ana", "email": "ana@acme.example", "role": "admin", "session_id": session},
           "client": {"ip": ip, "user_agent": ua, "machine_id": "mach-1"}})
}

#[sqlx::test(migrations = false)]
async fn sessions_start_collect_activity_end_and_time_out(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    app.ingest(&json!([
        session_event("s-live", "session.sign_in", 20, "81.2.69.160", CHROME_WINDOWS),
        session_event("s-live", "app.view", 10, "81.2.69.160", CHROME_WINDOWS),
        session_event("s-done", "session.sign_in", 300, "81.2.69.160", CHROME_WINDOWS),
        session_event("s-done", "session.sign_out", 290, "81.2.69.160", CHROME_WINDOWS),
        session_event("s-idle", "session.sign_in", 240, "81.2.69.160", CHROME_WINDOWS),
    ]))
    .await;
    // Activity arriving in a later batch extends the session.
    app.ingest(&json!([session_event("s-live", "data_query.execute", 1, "81.2.69.160", CHROME_WINDOWS)])).await;

    let active = vigil::query::list_sessions(&app.pool, &sessions_reading_all(""), 30, 100, None, &Default::default()).await.unwrap();
    let ids: Vec<_> = active.sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["s-live"], "only the live session is active");
    let live = &active.sessions[0];
    assert_eq!(live.events, 3);
    assert_eq!(live.device.as_deref(), Some("Chrome 131 on Windows 10 (desktop)"));
    assert_eq!(live.place.as_deref(), Some("London, England, United Kingdom"));
    assert!(live.client.is_none(), "the list sends the labels, not the whole client");

    let recent = vigil::query::list_sessions(&app.pool, &sessions_reading_all("status=all"), 30, 100, None, &Default::default()).await.unwrap();
    let status: Vec<_> = recent.sessions.iter().map(|s| (s.session_id.as_str(), s.status())).collect();
    assert_eq!(status, [("s-live", "active"), ("s-idle", "timed out"), ("s-done", "signed out")]);

    let view = vigil::query::session_view(&app.pool, "s-live", &vigil::model::Scope::everything(), 30).await.unwrap().unwrap();
    let client = view.session.client.as_ref().expect("a session's page has its whole client");
    assert_eq!((client.browser.as_deref(), client.country_code.as_deref()), (Some("Chrome"), Some("GB")));
    let timeline: Vec<_> = view.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(timeline, ["session.sign_in", "app.view", "data_query.execute"]);
}

/// The sessions list pages by a keyset on its order: every session once and
/// in order, sessions last seen at the same instant and one session id in two
/// organizations included, a user's sessions (read per key) too; a cursor
/// that is not one is refused.
#[sqlx::test(migrations = false)]
async fn the_sessions_list_pages_through_every_session_once(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let base = chrono::Utc::now() - chrono::Duration::hours(2);
    let mut events = Vec::new();
    for i in 0..13 {
        for organization in ["org_a", "org_b"] {
            if i % 3 == 0 && organization == "org_b" {
                continue;
            }
            events.push(json!({"type": "app.view", "occurred_at": (base + chrono::Duration::minutes(i / 4)).to_rfc3339(),
                               "environment": "production", "organization": {"id": organization},
                               "actor": {"id": "u_ana", "session_id": format!("s{i:02}")}}));
        }
    }
    assert_eq!(app.ingest(&json!(events)).await.0, 200);
    let key = |s: &vigil::model::SessionSummary| (s.last_seen, s.session_id.clone(), s.organization_id.clone());
    for query in ["status=all", "status=all&user=u_ana"] {
        let filter = sessions_reading_all(query);
        let everything = vigil::query::list_sessions(&app.pool, &filter, 30, 100, None, &Default::default()).await.unwrap();
        assert!(everything.next.is_none(), "{query}: one page holds them all");
        let all: Vec<_> = everything.sessions.iter().map(key).collect();
        assert_eq!(all.len(), 21, "{query}");
        let (mut paged, mut after, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = vigil::query::list_sessions(&app.pool, &filter, 30, 4, after.as_ref(), &Default::default()).await.unwrap();
            assert!(page.sessions.len() <= 4);
            paged.extend(page.sessions.iter().map(key));
            pages += 1;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(paged, all, "{query}: each session once, in the list's order");
        assert_eq!(pages, 6, "{query}: five full pages and one of a single session");
    }
    let auditor = app.console("auditor").await;
    let refused = auditor.call("sessions_page", &[("query", "status=all&before=yesterday")]).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("invalid page cursor"));
}

#[sqlx::test(migrations = false)]
async fn a_users_sessions_are_found_by_their_id_email_or_name_in_the_list_and_on_the_map(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let mut bob = session_event("s-bob", "session.sign_in", 5, "81.2.69.160", SAFARI_IPHONE);
    bob["actor"] = json!({"id": "u_bob", "name": "Bob", "email": "bob@acme.example", "session_id": "s-bob"});
    let mut elsewhere = session_event("s-ana-staging", "session.sign_in", 15, "81.2.69.160", CHROME_WINDOWS);
    elsewhere["environment"] = json!("staging");
    let (status, reply) = app
        .ingest(&json!([
            session_event("s-ana-old", "session.sign_in", 30, "81.2.69.160", CHROME_WINDOWS),
            session_event("s-ana-new", "app.view", 10, "81.2.69.160", CHROME_WINDOWS),
            elsewhere,
            bob,
        ]))
        .await;
    assert_eq!(status, 200, "{reply}");

    let sessions = |query: String| {
        let pool = app.pool.clone();
        async move { vigil::query::list_sessions(&pool, &sessions_reading_all(&query), 30, 100, None, &Default::default()).await.unwrap() }
    };
    for user in ["u_ana", "ana@acme.example", "Ana"] {
        let list = sessions(format!("status=all&user={}", vigil::model::query_value(user))).await;
        let ids: Vec<_> = list.sessions.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, ["s-ana-new", "s-ana-staging", "s-ana-old"], "by {user}: newest first, in every environment");
        assert_eq!(list.places.iter().map(|p| p.sessions).sum::<i64>(), 3, "by {user}: the map shows the same sessions");
    }
    let staging = sessions("status=all&user=Ana&env=staging".into()).await;
    assert_eq!(staging.sessions.iter().map(|s| s.session_id.as_str()).collect::<Vec<_>>(), ["s-ana-staging"]);
    let active = sessions("user=Bob".into()).await;
    assert_eq!(active.sessions.iter().map(|s| s.session_id.as_str()).collect::<Vec<_>>(), ["s-bob"]);
    let nobody = sessions("status=all&user=u_nobody".into()).await;
    assert!(nobody.sessions.is_empty() && nobody.places.is_empty());
}

#[sqlx::test(migrations = false)]
async fn the_sessions_filter_choices_are_kept_only_until_the_sessions_change(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let kept = vigil::query::memo::Memo::default();
    let active = sessions_reading_all("");
    let list = || vigil::query::list_sessions(&app.pool, &active, 30, 100, None, &kept);
    let choices = |options: &[vigil::model::FilterOption]| {
        let mut values: Vec<_> = options.iter().map(|o| o.value.clone()).collect();
        values.sort();
        values
    };
    app.ingest(&json!([session_event("s1", "session.sign_in", 5, "81.2.69.160", CHROME_WINDOWS)])).await;
    let first = list().await.unwrap();
    assert_eq!(choices(&first.environments), ["production"]);
    assert_eq!(choices(&first.device_types), ["desktop"]);

    let mut staging = session_event("s2", "session.sign_in", 1, "8.8.8.8", SAFARI_IPHONE);
    staging["environment"] = json!("staging");
    app.ingest(&json!([staging])).await;
    let second = list().await.unwrap();
    assert_eq!(choices(&second.environments), ["production", "staging"], "a new session's environment is a choice at once");
    assert_eq!(choices(&second.device_types), ["desktop", "mobile"]);

    // Kept while nothing changes (the version also turns with the minute: try again if it just did).
    let version = || vigil::store::ledger::version(&app.pool, vigil::store::derive::FOLLOWER);
    for attempt in 0.. {
        let before = version().await.unwrap();
        list().await.unwrap();
        if before == version().await.unwrap() {
            let again = kept.get(&vigil::model::Scope::everything(), &before).expect("the choices are kept");
            assert_eq!(choices(&again[0]), ["production", "staging"]);
            break;
        }
        assert!(attempt < 2, "the version keeps changing with nothing ingested");
    }
}

#[sqlx::test(migrations = false)]
async fn new_country_new_device_and_impossible_travel_are_flagged(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    // London, then New York an hour later on the same device, then an iPhone in London.
    app.ingest(&json!([session_event("s1", "session.sign_in", 180, "81.2.69.160", CHROME_WINDOWS)])).await;
    app.ingest(&json!([session_event("s2", "session.sign_in", 120, "8.8.8.8", CHROME_WINDOWS)])).await;
    app.ingest(&json!([session_event("s3", "session.sign_in", 60 * 24 * 3, "81.2.69.160", CHROME_WINDOWS)])).await;
    app.ingest(&json!([session_event("s4", "session.sign_in", 10, "81.2.69.160", SAFARI_IPHONE)])).await;

    let all = sessions_reading_all("status=all");
    let list = vigil::query::list_sessions(&app.pool, &all, 30, 100, None, &Default::default()).await.unwrap();
    let flags = |id: &str| list.sessions.iter().find(|s| s.session_id == id).unwrap().flags.clone();
    assert_eq!(flags("s1"), Vec::<String>::new(), "the first session is the baseline");
    assert_eq!(flags("s2"), ["new_country", "impossible_travel"]);
    assert_eq!(flags("s4"), ["new_device", "impossible_travel"], "New York to London in under two hours");

    for (flag, expected) in [("new_device", &["s4"][..]), ("new_country", &["s2"]), ("impossible_travel", &["s4", "s2"]), ("unknown", &[])] {
        let flagged = vigil::query::list_sessions(&app.pool, &all.with("flag", Some(flag)), 30, 100, None, &Default::default()).await.unwrap();
        let ids: Vec<_> = flagged.sessions.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, expected, "flag={flag}");
        assert_eq!(flagged.places.iter().map(|p| p.sessions).sum::<i64>(), expected.len() as i64, "the map of flag={flag}");
    }
    let by_device = vigil::query::list_sessions(&app.pool, &all.with("device", Some("mobile")), 30, 100, None, &Default::default()).await.unwrap();
    assert_eq!(by_device.sessions[0].session_id, "s4");
    let by_country = vigil::query::list_sessions(&app.pool, &all.with("country", Some("US")), 30, 100, None, &Default::default()).await.unwrap();
    assert_eq!(by_country.sessions[0].session_id, "s2");

    // The map: one place per location, with its sessions and flagged ones.
    let places: Vec<(Option<&str>, i64, i64)> =
        list.places.iter().map(|p| (p.country.as_deref(), p.sessions, p.flagged)).collect();
    assert_eq!(places, [(Some("GB"), 3, 1), (Some("US"), 1, 1)]);
    assert_eq!(by_country.places.len(), 1, "the map follows the filter");
    let london = &list.places[0];
    assert_eq!(london.label, "London, GB", "a place is named by its city, kept from the client");
    for degrees in [london.latitude, london.longitude] {
        assert_eq!((degrees * 10.0).round() / 10.0, degrees, "places are a tenth of a degree apart");
    }

    // A session's path starts where the user's previous session was; the leg is impossible.
    let view = vigil::query::session_view(&app.pool, "s2", &vigil::model::Scope::everything(), 30).await.unwrap().unwrap();
    let path: Vec<(Option<String>, bool)> =
        view.path.iter().map(|p| (p.label.rsplit(", ").next().map(String::from), p.previous_session)).collect();
    assert_eq!(path, [(Some("GB".into()), true), (Some("US".into()), false)]);
    assert!(vigil::model::impossible_travel(&view.path[0], &view.path[1]));
}

#[sqlx::test(migrations = false)]
async fn a_location_reported_by_the_source_is_kept_shown_and_used_for_flags(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    // Okta's geographicalContext, as a sender maps it: Berlin, while the IP is in London.
    let berlin = json!({"city": "Berlin", "region": "Land Berlin", "country": "Germany", "country_code": "de",
                        "latitude": 52.52, "longitude": 13.40});
    let sydney = json!({"city": "Sydney", "country": "Australia", "country_code": "AU", "latitude": -33.87, "longitude": 151.21});
    let mut first = session_event("r1", "session.sign_in", 90, "81.2.69.160", CHROME_WINDOWS);
    first["client"]["location"] = berlin;
    let mut second = session_event("r2", "session.sign_in", 30, "81.2.69.160", CHROME_WINDOWS);
    second["client"]["location"] = sydney;
    let (status, reply) = app.ingest(&json!([first])).await;
    assert_eq!(status, 200, "{reply}");
    app.ingest(&json!([second])).await;

    let (country, reported): (Option<String>, Value) =
        sqlx::query_as("select country_code, client_info->'reported' from events_with_client where actor_session_id = 'r1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(country.as_deref(), Some("DE"), "the reported country wins over the lookup (GB)");
    assert_eq!(reported["city"], "Berlin");
    let list = vigil::query::list_sessions(&app.pool, &sessions_reading_all("status=all"), 30, 100, None, &Default::default()).await.unwrap();
    let r2 = list.sessions.iter().find(|s| s.session_id == "r2").unwrap();
    assert_eq!(r2.flags, ["new_country", "impossible_travel"], "Berlin to Sydney in an hour, by the reported places");
    assert_eq!(r2.place.as_deref(), Some("Sydney, Australia (reported by the source)"));
    let r2 = vigil::query::session_view(&app.pool, "r2", &vigil::model::Scope::everything(), 30).await.unwrap().unwrap().session;
    let client = r2.client.as_ref().unwrap();
    assert_eq!(client.reported_label().as_deref(), Some("Sydney, Australia (reported by the source)"));
    assert_eq!(client.country_code.as_deref(), Some("GB"), "Vigil's own lookup is kept beside it");
    // Sealed as stored: the reported country in the row is what the leaf covers.
    app.seal().await;
    let report = app.verify().await;
    assert!(report.is_clean(), "{:?}", report.findings);

    // A bad location is rejected by field, and nothing else of the batch is lost.
    let mut far = session_event("r3", "app.view", 1, "81.2.69.160", CHROME_WINDOWS);
    far["client"]["location"] = json!({"latitude": 91, "longitude": 0});
    let mut half = session_event("r4", "app.view", 1, "81.2.69.160", CHROME_WINDOWS);
    half["client"]["location"] = json!({"latitude": 10});
    let (status, reply) = app.ingest(&json!([far, half, session_event("r5", "app.view", 1, "81.2.69.160", CHROME_WINDOWS)])).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 1);
    let fields: Vec<&str> = reply["rejected"].as_array().unwrap().iter().map(|r| r["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["location.latitude", "location.latitude"]);
}

#[sqlx::test(migrations = false)]
async fn a_client_is_stored_once_per_organization_and_month_and_read_back_with_each_event(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let in_org = |id: &str, time: &str, organization: &str| {
        let mut e = event(id, time);
        e["organization"] = json!({"id": organization});
        e["client"] = json!({"ip": "81.2.69.160", "user_agent": CHROME_WINDOWS});
        e["actor"]["session_id"] = json!(format!("s-{organization}"));
        e
    };
    let mut bare = event("bare", "2026-11-02T10:00:00Z");
    bare.as_object_mut().unwrap().remove("client");
    let batch = json!([
        in_org("a1", "2026-11-02T10:00:00Z", "org_a"),
        in_org("a2", "2026-11-03T10:00:00Z", "org_a"),
        in_org("b1", "2026-11-02T10:00:00Z", "org_b"),
        in_org("a3", "2026-10-30T10:00:00Z", "org_a"),
        bare,
    ]);
    let (status, reply) = app.ingest(&batch).await;
    assert_eq!(status, 200, "{reply}");

    let clients: Vec<(String, chrono::NaiveDate)> =
        sqlx::query_as("select organization_id, month from event_clients order by 1, 2").fetch_all(&app.pool).await.unwrap();
    let month = |m: &str| chrono::NaiveDate::parse_from_str(m, "%Y-%m-%d").unwrap();
    assert_eq!(
        clients,
        [("org_a".to_string(), month("2026-10-01")), ("org_a".into(), month("2026-11-01")), ("org_b".into(), month("2026-11-01"))],
        "one client per organization and month"
    );
    let inline = app.count("select count(*) from events where user_agent is not null or client_info is not null").await;
    assert_eq!(inline, 0, "the event rows keep only the key");
    assert_eq!(app.count("select count(*) from events where client_key is not null").await, 4);
    app.seal().await;
    let report = app.verify().await;
    assert!(report.is_clean(), "the leaves cover the client as sent: {:?}", report.findings);

    // Stored before the dictionary: the row's own client.
    sqlx::query("update events set user_agent = 'Legacy/1.0', client_info = '{\"browser\": \"Legacy\"}', client_key = null where id = 'a2'")
        .execute(&app.pool)
        .await
        .unwrap();
    let page = app.get_json("/api/v1/events/export?since=2000-01-01T00:00:00Z", EXPORT_KEY).await;
    let by_id = |id: &str| page["events"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap().clone();
    for id in ["a1", "b1", "a3"] {
        let e = by_id(id);
        assert_eq!(e["client"]["user_agent"], CHROME_WINDOWS, "{id}");
        assert_eq!(e["enrichment"]["browser"], "Chrome", "{id}");
        assert_eq!(e["enrichment"]["country_code"], "GB", "{id}");
    }
    assert_eq!(by_id("a2")["client"]["user_agent"], "Legacy/1.0");
    assert_eq!(by_id("a2")["enrichment"]["browser"], "Legacy");
    assert!(by_id("bare").get("enrichment").is_none() && by_id("bare")["client"].get("user_agent").is_none());

    let detail = vigil::query::get_event(&app.pool, "b1", &Scope::everything()).await.unwrap().unwrap();
    assert_eq!(detail.user_agent.as_deref(), Some(CHROME_WINDOWS));
    assert_eq!(detail.client.and_then(|c| c.browser).as_deref(), Some("Chrome"));
    app.derived().await;
    let sessions = app.count("select count(*) from sessions where client_info->>'browser' = 'Chrome' and device_type = 'desktop'").await;
    assert_eq!(sessions, 2, "sessions take their device from the client");

    // Editing a stored client shows as an edit of the events that refer to it.
    sqlx::query("update event_clients set user_agent = 'Forged/1.0' where organization_id = 'org_b'").execute(&app.pool).await.unwrap();
    let page = app.get_json("/api/v1/events/export?since=2000-01-01T00:00:00Z", EXPORT_KEY).await;
    let mut agents: Vec<(&str, &str)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["id"].as_str()?, e["client"]["user_agent"].as_str()?)))
        .collect();
    agents.sort();
    let expected = [("a1", CHROME_WINDOWS), ("a2", "Legacy/1.0"), ("a3", CHROME_WINDOWS), ("b1", "Forged/1.0")];
    assert_eq!(agents, expected, "each organization's own client, as stored");
    let mut edited: Vec<_> = app.verify().await.findings.into_iter().filter_map(|f| f.event_id).collect();
    edited.sort();
    assert_eq!(edited, ["a2", "b1"]);
}
