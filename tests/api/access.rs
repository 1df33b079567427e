//! Access control: sign-in, expiry, revocation, rate limits, roles against every
//! protected path, viewer scopes on every read path, CSRF, API keys, self-audit.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use vigil::config::ServerConfig;

use crate::helpers::{browser, server_fn_path, spawn, spawn_with, TestApp, EXPORT_KEY, KEY, PASSWORD};

/// Self-audit events of a type, oldest first, as (actor e-mail, outcome, reason).
async fn audit(app: &TestApp, event_type: &str) -> Vec<(Option<String>, String, Option<String>)> {
    sqlx::query_as(
        "select actor_email, outcome, reason from events \
         where environment = 'vigil' and organization_id = 'vigil' and type = $1 order by seq",
    )
    .bind(event_type)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Six events: production (org_a, org_b) and staging (org_a), each in its own user session.
async fn load(app: &TestApp) {
    let now = Utc::now();
    let events: Vec<Value> = [("p-a", "production", "org_a"), ("p-b", "production", "org_b"), ("s-a", "staging", "org_a")]
        .iter()
        .flat_map(|(id, env, org)| {
            (0..2).map(move |n| {
                json!({
                    "id": format!("{id}-{n}"),
                    "occurred_at": (now - Duration::minutes(10 + n)).to_rfc3339(),
                    "environment": env,
                    "organization": {"id": org},
                    "app": {"id": format!("app-{org}")},
                    "type": "role.update",
                    "actor": {"id": format!("user-{id}"), "session_id": format!("sess-{id}")},
                    "target": {"type": "role", "id": "role_shared"},
                })
            })
        })
        .collect();
    let (status, reply) = app.ingest(&Value::Array(events)).await;
    assert_eq!(status, 200, "{reply}");
}

#[test]
fn passwords_are_hashed_with_a_salt_and_verified() {
    use vigil::auth::{hash_password, verify_password};
    let first = hash_password("hunter2 hunter2");
    let second = hash_password("hunter2 hunter2");
    assert!(first.starts_with("$argon2id$"), "{first}");
    assert_ne!(first, second, "each hash has its own salt");
    assert!(verify_password("hunter2 hunter2", &first));
    assert!(verify_password("hunter2 hunter2", &second));
    assert!(!verify_password("hunter2 hunter3", &first));
    assert!(!verify_password("", &first));
}

#[sqlx::test(migrations = false)]
async fn wrong_credentials_get_one_generic_answer_and_are_audited(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    app.add_user("ana@example.com", "auditor", &[], &[]).await;

    let (wrong_password, _) = app.try_sign_in("ana@example.com", "not the password").await;
    let (unknown_user, _) = app.try_sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status(), 401);
    assert_eq!(unknown_user.status(), 401);
    assert_eq!(wrong_password.text().await.unwrap(), unknown_user.text().await.unwrap(), "nothing tells them apart");

    // A browser form goes back to the sign-in page with the generic message.
    let response = browser()
        .post(format!("{}/login", app.base))
        .header("origin", &app.base)
        .form(&[("email", "ana@example.com"), ("password", "nope"), ("next", "/sessions")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?error=invalid&next=%2Fsessions");

    let console = app.sign_in("ana@example.com").await;
    assert_eq!(console.get("/events").await.status(), 200);

    let sign_ins = audit(&app, "session.sign_in").await;
    assert_eq!(
        sign_ins,
        vec![
            (Some("ana@example.com".into()), "failure".into(), Some("wrong password".into())),
            (Some("nobody@example.com".into()), "failure".into(), Some("unknown e-mail".into())),
            (Some("ana@example.com".into()), "failure".into(), Some("wrong password".into())),
            (Some("ana@example.com".into()), "success".into(), None),
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn a_browser_sign_in_goes_on_to_next_but_never_off_site(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    app.add_user("ana@example.com", "viewer", &[], &[]).await;
    let cases = [
        ("/sessions?env=prod", "/sessions?env=prod"),
        ("//evil.example/x", "/events"),
        ("https://evil.example", "/events"),
        ("/\t/evil.example", "/events"),
        ("/\n/evil.example", "/events"),
        ("/ /evil.example", "/events"),
        ("/\\evil.example", "/events"),
        ("/..//evil.example", "/events"),
        ("/x/../..//evil.example", "/events"),
        ("/sessions/../events?q=a", "/events?q=a"),
    ];
    for (next, expected) in cases {
        assert_eq!(vigil::server::auth::safe_next(next), expected, "next={next:?}");
    }
    // The per-account sign-in limit allows a few of these through the real form.
    let cases = [cases[0], cases[3], cases[7]];
    for (next, expected) in cases {
        let response = browser()
            .post(format!("{}/login", app.base))
            .header("origin", &app.base)
            .form(&[("email", "ANA@example.com "), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], expected);
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("vigil_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "not over plain HTTP by default: {cookie}");
    }
}

/// Every page (from the route table), every server function and every other
/// console route answers 401 or sends to the sign-in page without a session.
#[sqlx::test(migrations = false)]
async fn every_route_and_server_function_needs_sign_in(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let client = browser();
    let pages: Vec<String> = leptos_axum::generate_route_list(vigil::app::App)
        .iter()
        .map(|route| route.path().split('/').map(|part| if part.starts_with([':', '{']) { "x" } else { part }).collect::<Vec<_>>().join("/"))
        .filter(|path| !vigil::server::auth::is_public(path))
        .collect();
    assert!(pages.len() >= 9 && pages.iter().any(|p| p == "/settings/keys"), "{pages:?}");
    for path in pages.iter().map(String::as_str).chain(["/events/export?format=csv", "/no/such/page"]) {
        let response = client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(response.status(), 303, "GET {path}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login?next="), "GET {path} → {location}");
    }

    let server_fns: Vec<&str> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
    assert!(server_fns.len() >= 15, "{server_fns:?}");
    for path in server_fns.into_iter().chain(["/logout"]) {
        let response = client.post(format!("{}{path}", app.base)).header("origin", &app.base).send().await.unwrap();
        assert_eq!(response.status(), 401, "POST {path}");
        let body = response.text().await.unwrap();
        assert!(body.contains("you are signed out"), "the page can show why: {body}");
        let response = client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert!([401, 303].contains(&response.status().as_u16()), "GET {path}: {}", response.status());
    }

    // The only ways in without a session: the sign-in page, static files, the key-authenticated API.
    let public: Vec<&str> = ["/login", "/favicon.ico", "/api/openapi.json", "/pkg/vigil.js", "/api/v1/events"]
        .into_iter()
        .filter(|p| vigil::server::auth::is_public(p))
        .collect();
    assert_eq!(public.len(), 5);
    let pages = ["/", "/events", "/settings", "/api/explore_events", "/api/admin/list_users", "/logout", "/sessions/x"];
    // The charts and the map outline are for signed-in pages only: the sign-in page loads neither.
    for path in pages.into_iter().chain(["/echarts.min.js", "/echarts-full.min.js", "/world.json"]) {
        assert!(!vigil::server::auth::is_public(path), "{path} must need sign-in");
    }
    // Path tricks that would let a public prefix reach a protected page, sent
    // as raw bytes (an HTTP client library would normalise them first).
    let tricks = [
        "/pkg/../settings", "/./settings", "/pkg/%2e%2e/settings", "/pkg/%2E./settings", "/api/v1/../../settings",
        "//settings", "/pkg//../settings", "/settings%2fkeys", "/pkg/..%2fsettings",
    ];
    for path in tricks {
        let (status, body) = raw_get(&app.base, path).await;
        assert_eq!(status, 400, "GET {path}: {body}");
        assert!(body.contains("bad_path") && !body.contains("<html"), "GET {path}: {body}");
    }
    assert_ne!(raw_get(&app.base, "/pkg/vigil.js").await.0, 400, "a canonical public path still passes");
}

/// A GET with the path sent exactly as given; the status and body.
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, reply)
}

#[sqlx::test(migrations = false)]
async fn each_role_reaches_exactly_its_paths(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let admin = app.console("admin").await;
    let auditor = app.console("auditor").await;
    let viewer = app.console("viewer").await;

    let readable = ["/", "/events", "/events/p-a-0", "/targets/role/role_shared", "/sessions", "/sessions/sess-p-a", "/events/export?format=csv"];
    let admin_pages = ["/settings", "/settings/keys", "/settings/sessions", "/settings/system"];
    let admin_fns = ["list_users", "list_api_keys", "list_console_sessions", "write_path_status"];
    for (console, is_admin) in [(&admin, true), (&auditor, false), (&viewer, false)] {
        for path in readable {
            assert_eq!(console.get(path).await.status(), 200, "{} GET {path}", console.email);
        }
        for path in admin_pages {
            assert_eq!(console.get(path).await.status(), if is_admin { 200 } else { 403 }, "{} GET {path}", console.email);
        }
        for name in admin_fns {
            assert_eq!(console.call(name, &[]).await.status(), if is_admin { 200 } else { 403 }, "{} {name}", console.email);
        }
        assert_eq!(console.get("/login").await.status(), 303, "signed in, the sign-in page moves on");
        let explored = console.call_ok("explore_events", &[("query", "type=role.update&range=24h")]).await;
        assert_eq!(explored["histogram"]["total"], 6, "{} reads all six events", console.email);
    }
    // Changing anything is for admins only.
    let changes: [(&str, &[(&str, &str)]); 7] = [
        ("add_user", &[("email", "x@example.com"), ("role", "admin"), ("environments", ""), ("organizations", "")]),
        ("create_api_key", &[("name", "k"), ("kind", "export"), ("environments", ""), ("organizations", "")]),
        ("revoke_console_session", &[("id", "whatever")]),
        ("set_user_disabled", &[("id", "1"), ("disabled", "true")]),
        ("save_channel", &[("id", "1"), ("name", "x"), ("kind", "webhook"), ("destination", "https://example.com"), ("secret", "")]),
        ("save_service", &[("id", "1"), ("name", "x"), ("environment", "x"), ("kind", "tcp"), ("target", "a:1")]),
        ("end_maintenance", &[("id", "1")]),
    ];
    for (name, form) in changes {
        assert_eq!(auditor.call(name, form).await.status(), 403, "auditor {name}");
        assert_eq!(viewer.call(name, form).await.status(), 403, "viewer {name}");
    }
}

#[sqlx::test(migrations = false)]
async fn a_viewer_sees_nothing_outside_their_scope_by_any_path(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    app.add_user("prod@example.com", "viewer", &["production"], &["*"]).await;
    app.add_user("orga@example.com", "viewer", &["*"], &["org_a"]).await;
    let prod = app.sign_in("prod@example.com").await;
    let org_a = app.sign_in("orga@example.com").await;

    // By URL: the detail page, the expanded row, the session page.
    assert_eq!(prod.get("/events/p-a-0").await.status(), 200);
    assert_eq!(prod.get("/events/s-a-0").await.status(), 404);
    assert_eq!(prod.call_ok("get_event", &[("id", "s-a-0")]).await, Value::Null);
    assert_eq!(prod.call_ok("get_event", &[("id", "p-b-0")]).await["summary"]["id"], "p-b-0");
    assert_eq!(prod.get("/sessions/sess-s-a").await.status(), 404);
    assert_eq!(prod.get("/sessions/sess-p-a").await.status(), 200);
    assert_eq!(org_a.get("/events/p-b-0").await.status(), 404);
    assert_eq!(org_a.get("/events/s-a-1").await.status(), 200);

    // By filter and by chart: asking for staging gives nothing; the chart counts only the scope.
    let ids = |explored: &Value| -> BTreeSet<String> {
        explored["page"]["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
    };
    let staging = prod.call_ok("explore_events", &[("query", "env=staging&range=24h")]).await;
    assert!(ids(&staging).is_empty());
    assert_eq!(staging["histogram"]["total"], 0);
    let all = prod.call_ok("explore_events", &[("query", "range=24h")]).await;
    assert_eq!(ids(&all), BTreeSet::from(["p-a-0", "p-a-1", "p-b-0", "p-b-1"].map(String::from)));
    assert_eq!(all["histogram"]["total"], 4);
    let envs: Vec<&str> = all["options"]["environments"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()).collect();
    assert_eq!(envs, ["production"], "option lists stay in scope too");
    let by_org = org_a.call_ok("explore_events", &[("query", "range=7d")]).await;
    assert_eq!(ids(&by_org), BTreeSet::from(["p-a-0", "p-a-1", "s-a-0", "s-a-1"].map(String::from)));
    let orgs: Vec<&str> = by_org["options"]["organizations"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()).collect();
    assert_eq!(orgs, ["org_a"]);
    let apps: Vec<&str> = by_org["options"]["apps"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()).collect();
    assert_eq!(apps, ["app-org_a"]);

    // Target history: one target shared by all environments.
    let history = prod.call_ok("target_history_page", &[("target_type", "role"), ("target_id", "role_shared")]).await;
    assert_eq!(history["events"].as_array().unwrap().len(), 4);

    // By export.
    let body = prod.get("/events/export?format=ndjson").await.text().await.unwrap();
    let exported: BTreeSet<String> =
        body.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["environment"].as_str().unwrap().to_string()).collect();
    assert_eq!(body.lines().count(), 4);
    assert_eq!(exported, BTreeSet::from(["production".to_string()]));

    // By sessions list.
    let sessions = prod.call_ok("sessions_page", &[("query", "")]).await;
    let listed: BTreeSet<&str> = sessions["data"]["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(listed, BTreeSet::from(["sess-p-a", "sess-p-b"]));
}

#[sqlx::test(migrations = false)]
async fn a_user_changes_their_own_password_and_their_other_sessions_end(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let here = app.console("viewer").await;
    let elsewhere = app.sign_in("viewer@example.com").await;
    let new = "a much longer passphrase";
    let change = |current: &'static str, new: &'static str, again: &'static str| [("current", current), ("new", new), ("again", again)];
    for (form, why) in [
        (change("wrong password here", new, new), "the current password is not right"),
        (change(PASSWORD, new, "something else entirely"), "differ"),
        (change(PASSWORD, "short", "short"), "at least 12 characters"),
        (change(PASSWORD, PASSWORD, PASSWORD), "other than the current one"),
    ] {
        let refused = here.call("change_password", &form).await;
        assert_eq!(refused.status(), 400, "{why}");
        assert!(refused.text().await.unwrap().contains(why), "{why}");
    }
    assert_eq!(elsewhere.get("/events").await.status(), 200, "a refused change ends nothing");

    here.call_ok("change_password", &change(PASSWORD, new, new)).await;
    assert_eq!(here.get("/events").await.status(), 200, "this session goes on");
    assert_eq!(elsewhere.get("/events").await.status(), 303, "the other one is signed out");
    assert_eq!(app.try_sign_in("viewer@example.com", PASSWORD).await.0.status(), 401);
    assert_eq!(app.try_sign_in("viewer@example.com", new).await.0.status(), 200);
    assert_eq!(audit(&app, "console_user.password_change").await, vec![(Some("viewer@example.com".into()), "success".into(), None)]);
    let trail: String = sqlx::query_scalar("select string_agg(coalesce(details::text, '') || coalesce(changes::text, ''), ' ') from events").fetch_one(&app.pool).await.unwrap();
    assert!(!trail.contains(new), "no password in the audit trail");
}

#[sqlx::test(migrations = false)]
async fn idle_and_absolute_expiry_and_revocation_end_a_session_at_once(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let viewer = app.console("viewer").await;
    assert_eq!(viewer.get("/events").await.status(), 200);

    // Revoked by an admin: the very next request is refused.
    let sessions = admin.call_ok("list_console_sessions", &[]).await;
    let entries = sessions[1].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let theirs = entries.iter().find(|s| s["email"] == "viewer@example.com").unwrap();
    assert_eq!(theirs["current"], false);
    assert_eq!(entries.iter().find(|s| s["email"] == "admin@example.com").unwrap()["current"], true);
    admin.call_ok("revoke_console_session", &[("id", theirs["id"].as_str().unwrap())]).await;
    assert_eq!(viewer.get("/events").await.status(), 303);
    assert_eq!(viewer.call("explore_events", &[("query", "")]).await.status(), 401);
    assert_eq!(audit(&app, "console_session.revoke").await, vec![(Some("admin@example.com".into()), "success".into(), None)]);

    // Idle for longer than the idle limit.
    let idle = app.sign_in("viewer@example.com").await;
    assert_eq!(idle.get("/events").await.status(), 200);
    sqlx::query("update console_sessions set last_seen_at = now() - interval '31 minutes' where revoked_at is null and user_id = (select id from console_users where email = 'viewer@example.com')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(idle.get("/events").await.status(), 303);

    // Past the absolute limit, however active.
    let old = app.sign_in("viewer@example.com").await;
    sqlx::query("update console_sessions set expires_at = now() - interval '1 second' where revoked_at is null and user_id = (select id from console_users where email = 'viewer@example.com')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(old.get("/events").await.status(), 303);

    // Disabling a user ends their sessions too; signing out ends one's own.
    let again = app.sign_in("viewer@example.com").await;
    let users = admin.call_ok("list_users", &[]).await;
    let id = users[1].as_array().unwrap().iter().find(|u| u["email"] == "viewer@example.com").unwrap()["id"].to_string();
    admin.call_ok("set_user_disabled", &[("id", &id), ("disabled", "true")]).await;
    assert_eq!(again.get("/events").await.status(), 303);
    assert_eq!(app.try_sign_in("viewer@example.com", PASSWORD).await.0.status(), 401);

    let response = admin.client.post(format!("{}/logout", app.base)).header("origin", &app.base).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(admin.get("/events").await.status(), 303);
    assert_eq!(audit(&app, "session.sign_out").await.len(), 1);
}

#[sqlx::test(migrations = false)]
async fn sign_in_attempts_are_limited_per_account_and_per_ip(pool: sqlx::PgPool) {
    let app = spawn(pool.clone()).await;
    app.add_user("ana@example.com", "admin", &[], &[]).await;
    for _ in 0..5 {
        assert_eq!(app.try_sign_in("ana@example.com", "guess").await.0.status(), 401);
    }
    let (limited, _) = app.try_sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(limited.status(), 429, "even the right password waits once the account is limited");
    assert_eq!(app.try_sign_in("other@example.com", "guess").await.0.status(), 401, "other accounts are not limited");
    let reasons = audit(&app, "session.sign_in").await;
    assert_eq!(reasons[5].2.as_deref(), Some("too many attempts for this account"));

    let config = ServerConfig { sign_in_ip_burst: 3, ..ServerConfig::with_keys(KEY, EXPORT_KEY) };
    let app = spawn_with(pool, config).await;
    for n in 0..3 {
        assert_eq!(app.try_sign_in(&format!("user{n}@example.com"), "guess").await.0.status(), 401);
    }
    let (limited, _) = app.try_sign_in("user9@example.com", "guess").await;
    assert_eq!(limited.status(), 429, "the address is limited across accounts");
    assert!(limited.headers().contains_key("retry-after"));
}

#[sqlx::test(migrations = false)]
async fn cross_origin_state_changes_are_refused(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let path = format!("{}{}", app.base, server_fn_path("add_user"));
    let form = [("email", "mallory@example.com"), ("role", "admin"), ("environments", ""), ("organizations", "")];
    let evil = admin.client.post(&path).header("origin", "http://evil.example").form(&form).send().await.unwrap();
    assert_eq!(evil.status(), 403);
    let no_origin = admin.client.post(&path).form(&form).send().await.unwrap();
    assert_eq!(no_origin.status(), 403, "no Origin and no Referer is refused");
    let by_referer = admin.client.post(&path).header("referer", format!("{}/settings", app.base)).form(&form).send().await.unwrap();
    assert_eq!(by_referer.status(), 200, "a same-origin Referer is enough");
    let logout = admin.client.post(format!("{}/logout", app.base)).header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(logout.status(), 403);
    let login = browser()
        .post(format!("{}/login", app.base))
        .header("origin", "http://evil.example")
        .form(&[("email", "admin@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403, "no login CSRF");
    assert_eq!(app.count("select count(*) from console_users where email = 'mallory@example.com'").await, 1);
}

#[sqlx::test(migrations = false)]
async fn api_keys_are_shown_once_stored_hashed_bound_and_revocable(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let admin = app.console("admin").await;
    let secret = admin
        .call_ok("create_api_key", &[("name", "billing"), ("kind", "ingest"), ("environments", "staging"), ("organizations", "")])
        .await;
    let key = secret["value"].as_str().unwrap().to_string();
    assert!(key.starts_with("vigil_ingest_"), "{key}");
    assert_eq!(app.count(&format!("select count(*) from api_keys where key_hash like '%{key}%' or prefix = '{key}'")).await, 0);
    let listed = admin.call_ok("list_api_keys", &[]).await;
    assert!(!listed.to_string().contains(&key), "listing never shows the key");

    let staging = json!({"type": "app.update", "environment": "staging", "actor": {"id": "u"}});
    let production = json!({"type": "app.update", "environment": "production", "actor": {"id": "u"}});
    let unnamed = json!({"id": "no-env", "type": "app.update", "actor": {"id": "u"}});
    let (status, reply) = app.ingest_raw(json!([staging, production, unnamed]).to_string(), "application/json", Some(&key)).await;
    assert_eq!(status, 200);
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["rejected"].as_array().unwrap().len(), 1);
    assert_eq!(reply["rejected"][0]["index"], 1);
    assert_eq!(reply["rejected"][0]["field"], "environment");
    assert_eq!(app.count("select count(*) from events where id = 'no-env' and environment = 'staging'").await, 1, "the key's environment is filled in");
    let used = admin.call_ok("list_api_keys", &[]).await;
    assert!(used[1][0]["last_used_at"].is_string(), "last use is recorded");

    let id = used[1][0]["id"].to_string();
    admin.call_ok("revoke_api_key", &[("id", &id)]).await;
    let (status, _) = app.ingest_raw(json!([staging]).to_string(), "application/json", Some(&key)).await;
    assert_eq!(status, 401, "a revoked key stops working at once");

    // Export keys read their scope only.
    let secret = admin
        .call_ok("create_api_key", &[("name", "siem"), ("kind", "export"), ("environments", "production"), ("organizations", "org_b")])
        .await;
    let export_key = secret["value"].as_str().unwrap();
    let page = app.get_json("/api/v1/events?range=24h", export_key).await;
    let ids: BTreeSet<&str> = page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["p-b-0", "p-b-1"]));
    let exported = app.client.get(format!("{}/api/v1/events/export?format=ndjson", app.base)).bearer_auth(export_key).send().await.unwrap();
    assert_eq!(exported.text().await.unwrap().lines().count(), 2);
    let (status, _) = app.ingest_raw("[]".into(), "application/json", Some(export_key)).await;
    assert_eq!(status, 401, "an export key cannot ingest");

    let changes: Vec<String> = sqlx::query_scalar("select type from events where environment = 'vigil' and category = 'change' order by seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(changes, ["api_key.create", "api_key.revoke", "api_key.create"]);
}

/// A search is audited even while writes take longer than they may: its event
/// waits and is stored once writes go through again (such events were dropped).
#[sqlx::test(migrations = false)]
async fn searches_are_audited_through_a_write_stall(pool: sqlx::PgPool) {
    let mut config = ServerConfig::with_keys(KEY, EXPORT_KEY);
    config.export_statement_timeout_ms = 300;
    let app = spawn_with(pool, config).await;
    let auditor = app.console("auditor").await;
    // Every batch write waits on this lock past its time limit, for two seconds.
    let mut stall = app.pool.begin().await.unwrap();
    sqlx::query("lock table ingest_batches in share mode").execute(&mut *stall).await.unwrap();
    let forms: Vec<[(&str, String); 1]> = (0..20).map(|i| [("query", format!("q=stall{i}"))]).collect();
    let auditor = &auditor;
    let searches = forms.iter().map(|[(name, query)]| async move { auditor.call_ok("explore_events", &[(name, query)]).await });
    futures::future::join_all(searches).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    stall.rollback().await.unwrap();

    let audited = "select count(*) from events where environment = 'vigil' and type = 'events.search' \
                   and details->>'filter' like 'q=stall%'";
    let mut stored = 0;
    for _ in 0..100 {
        stored = app.count(audited).await;
        if stored == 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 20, "every search of the stall is in the audit trail");
}

#[sqlx::test(migrations = false)]
async fn vigil_audits_searches_views_exports_and_user_changes(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    load(&app).await;
    let admin = app.console("admin").await;
    let auditor = app.console("auditor").await;

    auditor.call_ok("explore_events", &[("query", "env=production&q=role")]).await;
    assert_eq!(auditor.get("/events/p-a-0").await.status(), 200);
    auditor.get("/events/export?env=staging&format=csv").await.text().await.unwrap();
    let added = admin
        .call_ok("add_user", &[("email", "New@Example.com"), ("role", "viewer"), ("environments", "production"), ("organizations", "*")])
        .await;
    let password = added["value"].as_str().unwrap();
    assert_eq!(app.try_sign_in("new@example.com", password).await.0.status(), 200, "the generated password works");
    let users = admin.call_ok("list_users", &[]).await;
    let id = users[1].as_array().unwrap().iter().find(|u| u["email"] == "new@example.com").unwrap()["id"].to_string();
    admin.call_ok("update_user", &[("id", &id), ("role", "auditor"), ("environments", ""), ("organizations", "")]).await;
    // Saved again unchanged: nothing to audit.
    admin.call_ok("update_user", &[("id", &id), ("role", "auditor"), ("environments", ""), ("organizations", "")]).await;
    let reset = admin.call_ok("reset_password", &[("id", &id)]).await;
    assert_ne!(reset["value"], added["value"]);

    // Reads are audited in the background; give those inserts a moment.
    for _ in 0..50 {
        let read_audits = app
            .count("select count(distinct type) from events where environment = 'vigil' and type in ('events.search', 'event.view', 'events.export')")
            .await;
        if read_audits == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let search: Value = sqlx::query_scalar(
        "select details from events where environment = 'vigil' and type = 'events.search' and actor_email = 'auditor@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(search["filter"], "env=production&q=role");
    assert_eq!(search["matched"], 4);
    let viewed: (Option<String>, Option<String>) =
        sqlx::query_as("select actor_email, target_id from events where environment = 'vigil' and type = 'event.view'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(viewed, (Some("auditor@example.com".into()), Some("p-a-0".into())));
    let export: Value = sqlx::query_scalar("select details from events where environment = 'vigil' and type = 'events.export'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(export, json!({"filter": "env=staging", "format": "csv"}));
    let change: Value = sqlx::query_scalar("select changes from events where environment = 'vigil' and type = 'console_user.update'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(change[0], json!({"field": "role", "old": "viewer", "new": "auditor"}));
    assert_eq!(change[1]["field"], "scope");
    assert_eq!(change.as_array().unwrap().len(), 2);
    assert_eq!(audit(&app, "console_user.create").await.len(), 1);
    assert_eq!(audit(&app, "console_user.password_reset").await.len(), 1);

    // Who looked at what is in the same explorer, for auditors.
    let own = auditor.call_ok("explore_events", &[("query", "env=vigil&type=event.view&range=1h")]).await;
    assert_eq!(own["page"]["events"][0]["environment"], "vigil");
    // …and only there: a view of every environment leaves Vigil's own trail out.
    app.derived().await;
    let everything = auditor.call_ok("explore_events", &[("query", "range=1y&size=200")]).await;
    let stored = app.count("select count(*) from events where environment <> 'vigil'").await;
    assert_eq!(everything["histogram"]["total"], json!(stored), "the chart counts no console event");
    let listed = everything["page"]["events"].as_array().unwrap();
    assert!(!listed.is_empty() && listed.iter().all(|e| e["environment"] != "vigil"));
    let environments = everything["options"]["environments"].as_array().unwrap();
    assert!(environments.iter().any(|e| e["value"] == "vigil"), "it can still be chosen");
}

#[sqlx::test(migrations = false)]
async fn an_administrator_cannot_lock_themselves_out(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let users = admin.call_ok("list_users", &[]).await;
    let own = users[1].as_array().unwrap().iter().find(|u| u["email"] == "admin@example.com").unwrap()["id"].to_string();
    let refusals = [
        ("set_user_disabled", vec![("id", own.as_str()), ("disabled", "true")], "you cannot disable yourself"),
        ("update_user", vec![("id", own.as_str()), ("role", "viewer"), ("environments", "*"), ("organizations", "*")], "your own admin role"),
        ("reset_password", vec![("id", own.as_str())], "under Preferences"),
    ];
    for (function, form, why) in refusals {
        let response = admin.call(function, &form).await;
        assert_eq!(response.status(), 400, "{function}");
        assert!(response.text().await.unwrap().contains(why), "{function} says why");
    }
    assert_eq!(admin.get("/events").await.status(), 200, "still signed in, still an administrator");
    assert_eq!(app.try_sign_in("admin@example.com", PASSWORD).await.0.status(), 200, "the password still works");
    assert_eq!(app.count("select count(*) from events where environment = 'vigil' and type like 'console_user.%'").await, 0);
}
