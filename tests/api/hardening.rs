//! Findings of the security review, each pinned by a test that failed before
//! its fix: what one environment's sender can do to another, the reserved
//! `vigil` environment, scopes that fail closed, bounds on expensive requests.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use vigil::config::ServerConfig;

use crate::helpers::{spawn, spawn_with, TestApp, EXPORT_KEY, KEY};

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
    let refused = admin
        .call("create_api_key", &[("name", "v"), ("kind", "ingest"), ("environments", "vigil"), ("organizations", "")])
        .await;
    assert!(refused.text().await.unwrap().contains("reserved"), "no ingest key is bound to `vigil`");
    let forged = app.count("select count(*) from events where environment ilike 'vigil' and type = 'session.sign_in' and actor_email is null").await;
    assert_eq!(forged, 0);
}

/// Events in production and staging, one organization each.
async fn two_environments(app: &TestApp) {
    let events: Vec<Value> = ["production", "staging"]
        .iter()
        .map(|env| json!({"environment": env, "type": "role.update", "organization": {"id": "org_a"},
                          "actor": {"id": "u", "session_id": format!("s-{env}")}}))
        .collect();
    assert_eq!(app.ingest(&json!(events)).await.0, 200);
}

#[sqlx::test(migrations = false)]
async fn an_empty_scope_sees_nothing_and_all_data_is_an_explicit_choice(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    two_environments(&app).await;

    // A viewer nobody gave a scope (what `vigil user add` makes without --env/--org).
    app.add_user("empty@example.com", "viewer", &[], &[]).await;
    app.add_user("half@example.com", "viewer", &["production"], &[]).await;
    app.add_user("all@example.com", "viewer", &["*"], &["*"]).await;
    for (email, expected) in [("empty@example.com", 0), ("half@example.com", 0), ("all@example.com", 2)] {
        let viewer = app.sign_in(email).await;
        let explored = viewer.call_ok("explore_events", &[("query", "type=role.update&range=24h")]).await;
        assert_eq!(explored["histogram"]["total"], expected, "{email}");
        assert_eq!(explored["page"]["events"].as_array().unwrap().len(), expected as usize, "{email}");
        let sessions = viewer.call_ok("sessions_page", &[("query", "status=all")]).await;
        assert_eq!(sessions["data"]["sessions"].as_array().unwrap().is_empty(), expected == 0, "{email}");
        let export = viewer.get("/events/export?format=ndjson&type=role.update").await.text().await.unwrap();
        assert_eq!(export.lines().count(), expected as usize, "{email}");
    }

    // In Settings, a viewer's or export key's lists must be given; `*` is "all".
    let admin = app.console("admin").await;
    for (name, form) in [
        ("add_user", [("email", "v@example.com"), ("role", "viewer"), ("environments", ""), ("organizations", "")]),
        ("add_user", [("email", "v@example.com"), ("role", "viewer"), ("environments", "production"), ("organizations", " ")]),
        ("create_api_key", [("name", "siem"), ("kind", "export"), ("environments", ""), ("organizations", "")]),
        ("create_api_key", [("name", "siem"), ("kind", "export"), ("environments", "*"), ("organizations", "")]),
    ] {
        let response = admin.call(name, &form).await;
        assert!(!response.status().is_success(), "{name} {form:?} is refused");
        assert!(response.text().await.unwrap().contains("or * for all"));
    }
    let users = admin.call_ok("list_users", &[]).await;
    let scopes: Vec<(String, Value)> = users[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["email"].as_str().unwrap().to_string(), u["scope"].clone()))
        .collect();
    assert!(scopes.iter().any(|(e, s)| e == "empty@example.com" && s["environments"] == json!([])));

    let secret = admin
        .call_ok("create_api_key", &[("name", "siem"), ("kind", "export"), ("environments", "staging, *"), ("organizations", "*")])
        .await;
    let (status, page) = read_with(&app, secret["value"].as_str().unwrap(), "/api/v1/events?range=24h&type=role.update").await;
    assert_eq!((status, page["events"].as_array().unwrap().len()), (200, 2), "`*` anywhere in a list means all");

    // An export key stored with an empty scope (as older versions allowed) reads nothing.
    sqlx::query("update api_keys set environments = '{}', organizations = '{}'").execute(&app.pool).await.unwrap();
    let (status, page) = read_with(&app, secret["value"].as_str().unwrap(), "/api/v1/events?range=24h").await;
    assert_eq!((status, page["events"].as_array().unwrap().len()), (200, 0));
}

async fn read_with(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let response = app.client.get(format!("{}{path}", app.base)).bearer_auth(key).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[sqlx::test(migrations = false)]
async fn expensive_requests_are_refused_or_stopped_with_a_clear_answer(pool: sqlx::PgPool) {
    let config = ServerConfig { statement_timeout_ms: 300, ..ServerConfig::with_keys(KEY, EXPORT_KEY) };
    let app = spawn_with(pool, config).await;
    two_environments(&app).await;

    let cases = [
        ("/api/v1/events?from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z", "from", "between 1970"),
        ("/api/v1/events?from=0001-01-01T00:00:00Z", "from", "between 1970"),
        ("/api/v1/events?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", "from", "at most 1100 days"),
        ("/api/v1/events?q=a*", "q", "at least 3 letters"),
        ("/api/v1/events?q=*", "q", "at least 3 letters"),
        ("/api/v1/events?q=a%20b%20c%20d%20e%20f%20g%20h%20i", "q", "at most 8 words"),
        ("/api/v1/events/export?q=ab*", "q", "at least 3 letters"),
    ];
    // Found by schemathesis: a NUL byte in a filter was a 500.
    for url in ["/api/v1/events?app=%00", "/api/v1/events/export?user=a%00b"] {
        let (status, reply) = read_with(&app, EXPORT_KEY, url).await;
        assert_eq!(status, 400, "{url}: {reply}");
        assert!(reply["error"]["message"].as_str().unwrap().contains("NUL"), "{url}: {reply}");
    }
    for (url, field, message) in cases {
        let (status, reply) = read_with(&app, EXPORT_KEY, url).await;
        assert_eq!(status, 400, "{url}: {reply}");
        assert_eq!(reply["error"]["field"], field, "{url}");
        assert!(reply["error"]["message"].as_str().unwrap().contains(message), "{url}: {reply}");
    }
    let auditor = app.console("auditor").await;
    let refused = auditor.call("explore_events", &[("query", "q=a*")]).await.text().await.unwrap();
    assert!(refused.contains("at least 3 letters"), "{refused}");
    let refused = auditor.call("sessions_page", &[("query", "env=%00")]).await.text().await.unwrap();
    assert!(refused.contains("NUL"), "{refused}");
    let refused = auditor.get("/events/export?format=csv&from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z").await;
    assert_eq!(refused.status(), 400);

    // A read that runs past the time limit (here: held up by a lock) is
    // stopped and says so, in the console and in the API; then all is well again.
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("lock table events in access exclusive mode").execute(&mut *lock).await.unwrap();
    let started = std::time::Instant::now();
    let stopped = auditor.call("explore_events", &[("query", "range=24h")]).await.text().await.unwrap();
    assert!(stopped.contains("time limit"), "{stopped}");
    let (status, reply) = read_with(&app, EXPORT_KEY, "/api/v1/events?range=24h").await;
    assert_eq!((status, reply["error"]["code"].as_str()), (503, Some("timeout")), "{reply}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopped at the limit, not later");
    lock.rollback().await.unwrap();
    let (status, reply) = read_with(&app, EXPORT_KEY, "/api/v1/events?range=24h&type=role.update").await;
    assert_eq!((status, reply["events"].as_array().map(Vec::len)), (200, Some(2)));
}

#[sqlx::test(migrations = false)]
async fn an_oversized_event_is_rejected_by_field_and_the_rest_of_its_batch_stored(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let big = "x".repeat(70 * 1024);
    let batch = json!([
        {"id": "small-1", "type": "app.view", "actor": {"id": "u"}},
        {"id": "huge", "type": "app.view", "actor": {"id": "u"}, "details": {"blob": big}},
        {"id": "small-2", "type": "app.view", "actor": {"id": "u"}},
    ]);
    let (status, reply) = app.ingest(&batch).await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(2)), "{reply}");
    let rejection = &reply["rejected"][0];
    assert_eq!((rejection["index"].as_u64(), rejection["field"].as_str()), (Some(1), Some("details")));
    assert!(rejection["error"].as_str().unwrap().contains("more than the limit of 65536"), "{rejection}");
    assert_eq!(app.count("select count(*) from events where id = 'huge'").await, 0);
}

#[sqlx::test(migrations = false)]
async fn wrong_keys_are_throttled_and_right_ones_write_nothing_per_request(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let mut statuses = Vec::new();
    for i in 0..25 {
        let (status, _) = read_with_raw(&app, &format!("vigil_export_guess{i:04}"), "/api/v1/events").await;
        statuses.push(status);
    }
    assert_eq!(statuses[..20], [401; 20], "{statuses:?}");
    assert_eq!(statuses[20..], [429; 5], "past 20 failures from one address: {statuses:?}");
    let (status, _) = read_with_raw(&app, EXPORT_KEY, "/api/v1/events").await;
    assert_eq!(status, 429, "that address waits, whatever key it sends now");

    // A key's last use is written at most once a minute, not on every request.
    let other = spawn(app.pool.clone()).await;
    let admin = other.console("admin").await;
    let secret = admin
        .call_ok("create_api_key", &[("name", "siem"), ("kind", "export"), ("environments", "*"), ("organizations", "*")])
        .await;
    let key = secret["value"].as_str().unwrap();
    let version = || async { other.count("select xmin::text::int8 from api_keys where name = 'siem'").await };
    assert_eq!(read_with_raw(&other, key, "/api/v1/events").await.0, 200);
    let after_first = version().await;
    for _ in 0..3 {
        assert_eq!(read_with_raw(&other, key, "/api/v1/events").await.0, 200);
    }
    assert_eq!(version().await, after_first, "no UPDATE per request");
}

#[sqlx::test(migrations = false)]
async fn a_console_session_cannot_call_server_functions_without_limit(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let auditor = app.console("auditor").await;
    // All at once, so that a slow machine cannot refill the bucket between calls.
    let calls = (0..200).map(|_| auditor.call("current_user", &[]));
    let statuses: Vec<u16> = futures::future::join_all(calls).await.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 200).count() >= 100, "the burst is served: {statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let other = app.console("viewer").await;
    assert_eq!(other.call("current_user", &[]).await.status(), 200, "per session");
}

async fn read_with_raw(app: &TestApp, key: &str, path: &str) -> (u16, String) {
    let response = app.client.get(format!("{}{path}", app.base)).bearer_auth(key).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Behind a reverse proxy: the public origin guards changes, cookies are
/// Secure, client addresses come from trusted proxies only, and a stranger's
/// guesses do not lock the owner of an account out.
#[sqlx::test(migrations = false)]
async fn behind_a_proxy_the_public_origin_and_forwarded_addresses_are_used(pool: sqlx::PgPool) {
    let config = ServerConfig {
        public_url: Some("https://vigil.example.com".parse().unwrap()),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..ServerConfig::with_keys(KEY, EXPORT_KEY)
    };
    let app = spawn_with(pool, config).await;
    app.add_user("ana@example.com", "auditor", &["*"], &["*"]).await;
    let sign_in = |origin: &'static str, from: &'static str, password: &'static str| {
        let base = app.base.clone();
        async move {
            crate::helpers::browser()
                .post(format!("{base}/login"))
                .header("origin", origin)
                .header("x-forwarded-for", format!("10.9.9.9, {from}"))
                .form(&[("email", "ana@example.com"), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    let refused = crate::helpers::browser()
        .post(format!("{}/login", app.base))
        .header("origin", &app.base)
        .form(&[("email", "ana@example.com"), ("password", crate::helpers::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "the address Vigil listens on is not the public origin");

    // A stranger guessing from one address is limited there; Ana, elsewhere, is not.
    for _ in 0..6 {
        sign_in("https://vigil.example.com", "198.51.100.1", "guess").await;
    }
    assert_eq!(sign_in("https://vigil.example.com", "198.51.100.1", crate::helpers::PASSWORD).await.status(), 303);
    let signed_in = sign_in("https://vigil.example.com", "203.0.113.7", crate::helpers::PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/events");
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "https public URL: {cookie}");

    let addresses: Vec<(String, String)> = sqlx::query_as(
        "select host(client_ip), coalesce(reason, 'signed in') from events where environment = 'vigil' and type = 'session.sign_in' order by seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(addresses.last().unwrap().0, "203.0.113.7", "{addresses:?}");
    assert!(addresses[..6].iter().all(|(ip, _)| ip == "198.51.100.1"), "the proxy's own hop (10.9.9.9) is not the client: {addresses:?}");
    assert_eq!(addresses[6].1, "too many attempts for this account", "{addresses:?}");

    // An event refused through the proxy is the forwarding client's, on the Write path page.
    let refused = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(KEY)
        .header("x-forwarded-for", "10.9.9.9, 198.51.100.23")
        .json(&serde_json::json!([{"id": "proxied"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let newest = vigil::store::rejections::newest(&app.pool, 1).await.unwrap();
    assert_eq!(newest[0].address, "198.51.100.23");
}

#[sqlx::test(migrations = false)]
async fn forwarded_addresses_from_untrusted_peers_are_ignored(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, reply) = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth("wrong")
        .header("x-forwarded-for", "203.0.113.99")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 401, "{:?}", reply.text().await);
    // Twenty more failures "from elsewhere" still count against 127.0.0.1.
    for i in 0..20 {
        let forged = format!("203.0.113.{i}");
        app.client.get(format!("{}/api/v1/events", app.base)).bearer_auth("wrong").header("x-forwarded-for", forged).send().await.unwrap();
    }
    let (status, _) = read_with_raw(&app, EXPORT_KEY, "/api/v1/events").await;
    assert_eq!(status, 429);
}

/// A search or view opened by a link on another site is marked as such in the audit trail.
#[sqlx::test(migrations = false)]
async fn reads_planted_by_a_link_from_another_site_say_so(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let auditor = app.console("auditor").await;
    let page = auditor.client.get(format!("{}/events?q=planted", app.base)).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(page.status(), 200);
    auditor.client.get(format!("{}/events?q=mine", app.base)).header("sec-fetch-site", "same-origin").send().await.unwrap();
    let mut searches: Vec<(String, Option<String>)> = Vec::new();
    for _ in 0..50 {
        searches = sqlx::query_as(
            "select details->>'filter', details->>'opened_from' from events where environment = 'vigil' and type = 'events.search' order by seq",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if searches.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(searches.contains(&("q=planted".into(), Some("a link on another site".into()))), "{searches:?}");
    assert!(searches.contains(&("q=mine".into(), Some("the console".into()))), "{searches:?}");
}

#[sqlx::test(migrations = false)]
async fn the_token_secret_is_long_enough_and_generated_once_when_not_configured(pool: sqlx::PgPool) {
    vigil::store::migrate(&pool).await.unwrap();
    let first = vigil::store::access::token_secret(&pool).await.unwrap();
    assert!(first.len() >= 32);
    assert_eq!(vigil::store::access::token_secret(&pool).await.unwrap(), first, "kept, not drawn again");
    let short = ServerConfig { secret: Some("hunter2".into()), ..ServerConfig::with_keys(KEY, EXPORT_KEY) };
    let options = leptos::config::LeptosOptions::builder().output_name("vigil").build();
    let refused = vigil::state::AppState::new(options, pool, short, &crate::helpers::ingest_config());
    assert!(refused.err().unwrap().to_string().contains("at least 32 bytes"));
}

/// A batch the database cannot finish (here: the disk is "full" at its fifth
/// event) is answered 503 with Retry-After, and nothing of it is stored.
#[sqlx::test(migrations = false)]
async fn a_batch_the_database_cannot_finish_is_refused_whole(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    sqlx::raw_sql(
        "create function vigil_test_disk_full() returns trigger language plpgsql as $$
         begin if new.id = 'boom' then raise exception 'could not extend file' using errcode = 'disk_full'; end if;
         return new; end $$;
         create trigger disk_full before insert on events for each row execute function vigil_test_disk_full();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let batch: Vec<Value> = (0..10)
        .map(|i| json!({"id": if i == 4 { "boom".to_string() } else { format!("ok-{i}") }, "type": "app.view", "actor": {"id": "u"}}))
        .collect();
    let response = app.client.post(format!("{}/api/v1/events", app.base)).bearer_auth(KEY).json(&batch).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let reply: Value = response.json().await.unwrap();
    assert!(reply["error"]["message"].as_str().unwrap().contains("nothing of it was applied"), "{reply}");
    assert_eq!(app.count("select count(*) from events where environment <> 'vigil'").await, 0, "nothing half-written");
    assert_eq!(app.count("select count(*) from event_ids where environment <> 'vigil'").await, 0, "no id claimed");

    sqlx::query("drop trigger disk_full on events").execute(&app.pool).await.unwrap();
    let (status, reply) = app.ingest(&json!(batch)).await;
    assert_eq!((status, reply["accepted"].as_u64()), (200, Some(10)), "the same batch, sent again, is stored whole");
}

/// `vigil user add --reset`, as `make run` calls it for the demo administrator.
fn cli_reset(pool: &sqlx::PgPool, email: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["user", "add", email, "--admin", "--password-stdin", "--reset"])
        .env("DATABASE_URL", crate::helpers::database_url(pool))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", crate::helpers::PASSWORD).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[sqlx::test(migrations = false)]
async fn a_password_reset_from_the_command_line_ends_sessions_and_never_re_enables(pool: sqlx::PgPool) {
    let app = spawn(pool.clone()).await;
    let bo = app.console("auditor").await;
    assert_eq!(bo.get("/events").await.status(), 200);
    cli_reset(&pool, "auditor@example.com");
    assert_eq!(bo.get("/events").await.status(), 303, "the old sign-in ended with the reset");

    let admin = app.console("admin").await;
    let users = admin.call_ok("list_users", &[]).await;
    let id = users[1].as_array().unwrap().iter().find(|u| u["email"] == "auditor@example.com").unwrap()["id"].to_string();
    admin.call_ok("set_user_disabled", &[("id", &id), ("disabled", "true")]).await;
    let said = cli_reset(&pool, "auditor@example.com");
    assert!(said.contains("is disabled"), "{said}");
    let (refused, _) = app.try_sign_in("auditor@example.com", crate::helpers::PASSWORD).await;
    assert_eq!(refused.status(), 401, "a disabled user stays disabled after make run");
}
