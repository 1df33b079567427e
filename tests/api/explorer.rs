//! The explorer's questions on a known data set: each filter, combinations,
//! and the chart agreeing with the table.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use vigil::model::Histogram;
use vigil::query::filter::{resolve_span, Span};
use vigil::query::{histogram, list_events};

use vigil::query::memo::Memo;

use crate::helpers::{reading_all, spawn, TestApp};

fn at(hours_ago: i64) -> String {
    (Utc::now() - Duration::hours(hours_ago) + Duration::minutes(7)).to_rfc3339()
}

fn now_hour() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap()
}

/// Six events that differ in every dimension the explorer filters on.
async fn known_events(app: &TestApp) {
    let events = json!([
        {"id": "e1", "occurred_at": at(1), "environment": "production", "organization": {"id": "org_a", "name": "Acme"},
         "app": {"id": "insight", "name": "Insight"}, "type": "app.view",
         "actor": {"id": "u_ana", "name": "Ana Silva", "email": "ana@acme.example"},
         "target": {"type": "app", "id": "insight", "name": "Insight"}, "client": {"ip": "81.2.69.160"}},
        {"id": "e2", "occurred_at": at(2), "environment": "staging", "organization": {"id": "org_b", "name": "Globex"},
         "app": {"id": "billing", "name": "Billing"}, "type": "role.update", "outcome": "denied",
         "reason": "role viewer lacks permission Manage Users",
         "actor": {"id": "u_ben", "name": "Ben Okafor", "email": "ben@globex.example"},
         "target": {"type": "role", "id": "role_support", "name": "Support"},
         "request": {"method": "PATCH", "path": "/api/roles/support", "status": 403}},
        {"id": "e3", "occurred_at": at(3), "environment": "production", "organization": {"id": "org_a", "name": "Acme"},
         "app": {"id": "insight", "name": "Insight"}, "type": "role.permission_add", "outcome": "failure",
         "actor": {"email": "ben@globex.example"},
         "target": {"type": "role", "id": "role_support", "name": "Support"},
         "changes": [{"field": "permissions", "old": ["a"], "new": ["a", "b"]}]},
        {"id": "e4", "occurred_at": at(5), "environment": "production", "organization": {"id": "org_b", "name": "Globex"},
         "type": "session.sign_in", "actor": {"id": "u_carla", "name": "Carla Mendes"}, "client": {"ip": "2001:db8::1"}},
        {"id": "e5", "occurred_at": at(30), "environment": "production", "organization": {"id": "org_a"},
         "type": "app.view", "actor": {"id": "u_ana", "name": "Ana Silva"}},
        {"id": "e6", "occurred_at": at(24 * 10), "environment": "development", "type": "server.start",
         "actor": {"type": "system", "id": "agent"}},
    ]);
    let (status, reply) = app.ingest(&events).await;
    assert_eq!((status, reply["accepted"].clone()), (200, json!(6)), "{reply}");
}

async fn ids(pool: &PgPool, query: &str) -> BTreeSet<String> {
    let filter = reading_all(query);
    let now = Utc::now();
    let Span { from, to, .. } = resolve_span(&filter, now);
    let page = list_events(pool, &filter, Some(from), to, None, 500).await.unwrap();
    page.events.into_iter().map(|e| e.id).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[sqlx::test(migrations = false)]
async fn each_filter_selects_exactly_its_events(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;

    assert_eq!(ids(p, "").await, set(&["e1", "e2", "e3", "e4"]), "default range is the last 24 hours");
    assert_eq!(ids(p, "range=30d").await, set(&["e1", "e2", "e3", "e4", "e5", "e6"]));
    assert_eq!(ids(p, "range=1h").await, set(&["e1"]));
    assert_eq!(ids(p, "env=production").await, set(&["e1", "e3", "e4"]));
    assert_eq!(ids(p, "org=org_b").await, set(&["e2", "e4"]));
    assert_eq!(ids(p, "user=u_ana&range=7d").await, set(&["e1", "e5"]), "by id");
    assert_eq!(ids(p, "user=ben@globex.example").await, set(&["e2", "e3"]), "by e-mail");
    assert_eq!(ids(p, "user=Carla%20Mendes").await, set(&["e4"]), "by name");
    assert_eq!(ids(p, "app=insight").await, set(&["e1", "e3"]));
    assert_eq!(ids(p, "type=app.view&type=session.sign_in").await, set(&["e1", "e4"]), "several types");
    assert_eq!(ids(p, "category=session").await, set(&["e4"]));
    assert_eq!(ids(p, "outcome=denied").await, set(&["e2"]));
    assert_eq!(ids(p, "target=role_support").await, set(&["e2", "e3"]));
    assert_eq!(ids(p, "ip=81.2.69.160").await, set(&["e1"]));
    assert_eq!(ids(p, "ip=2001:0db8:0:0:0:0:0:1").await, set(&["e4"]), "IPv6 in any notation");
    assert_eq!(ids(p, "ip=not-an-ip").await, set(&[]), "a bad IP matches nothing, no error");
}

#[sqlx::test(migrations = false)]
async fn free_text_searches_actor_target_type_path_reason_and_ip(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;

    assert_eq!(ids(p, "q=SILVA").await, set(&["e1"]), "actor name, any case");
    assert_eq!(ids(p, "q=support").await, set(&["e2", "e3"]), "target name and path");
    assert_eq!(ids(p, "q=role.permission_add").await, set(&["e3"]), "type as written");
    assert_eq!(ids(p, "q=permission").await, set(&["e2", "e3"]), "a word of a type or a reason");
    assert_eq!(ids(p, "q=/api/roles/support").await, set(&["e2"]), "request path");
    assert_eq!(ids(p, "q=Manage%20lacks").await, set(&["e2"]), "every word, in any order");
    assert_eq!(ids(p, "q=lacks%20silva").await, set(&[]), "not any word");
    assert_eq!(ids(p, "q=81.2.69.160").await, set(&["e1"]), "IP");
    assert_eq!(ids(p, "q=ana@acme.example,").await, set(&["e1"]), "e-mail, punctuation at the ends cut off");
    assert_eq!(ids(p, "q=100%25").await, set(&[]), "LIKE wildcards are literal");
}

#[sqlx::test(migrations = false)]
async fn free_text_matches_whole_words_and_prefixes_with_a_star(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;

    assert_eq!(ids(p, "q=upd").await, set(&[]), "part of a word");
    assert_eq!(ids(p, "q=acme.example").await, set(&[]), "part of an e-mail");
    assert_eq!(ids(p, "q=upd*").await, set(&["e2"]));
    assert_eq!(ids(p, "q=/api/roles*").await, set(&["e2"]), "the start of a path");
    assert_eq!(ids(p, "q=81.2.69*").await, set(&["e1"]), "the start of an IP");
    assert_eq!(ids(p, "q=2001:db8*").await, set(&["e4"]), "the start of an IPv6 address");
    assert_eq!(ids(p, "q=per*%20sup*").await, set(&["e2", "e3"]), "every prefix");
    assert_eq!(ids(p, "q=carl*").await, set(&["e4"]), "the first term of an event's text");
    assert_eq!(ids(p, "q=ana@acme*").await, set(&["e1"]), "the first term with punctuation");
    assert_eq!(ids(p, "q=anage*").await, set(&[]), "the inside of a word (manage) starts no term");
    assert_eq!(ids(p, "q=acme.example*").await, set(&[]), "the inside of an e-mail starts no term");
    assert_eq!(ids(p, "q=2.69*").await, set(&[]), "nor the inside of an IP");
    assert_eq!(ids(p, "q=%25*").await, set(&["e1", "e2", "e3", "e4"]), "a star alone matches every event");
    assert_eq!(ids(p, "q=...").await, set(&[]), "no word: nothing");
}

/// Events stored before migration 25 had their terms split by the database
/// (`vigil_search_text`); newer ones are split by Vigil. Both must agree, or
/// a search would find old and new events differently.
#[sqlx::test(migrations = false)]
async fn the_database_and_vigil_split_free_text_into_the_same_terms(pool: PgPool) {
    let app = spawn(pool).await;
    let texts = [
        "Ana Silva ana@acme.example usr_1 role.permission_add Support role_9 /api/roles/support lacks Manage 81.2.69.160",
        "  (leading) and trailing...  --- ... one-time,  a.b.c role role ROLE 2001:db8::1 ",
        "Zoë Ærø-Öst über_straße 東京 tokyo/東京",
        "",
        "tab\tand\nnewline",
    ];
    for text in texts {
        let stored: String =
            sqlx::query_scalar("select vigil_search_text($1)").bind(text).fetch_one(&app.pool).await.unwrap();
        assert_eq!(stored, vigil::store::terms::Terms::of(text).stored(), "{text:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn filters_combine_with_and(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;

    assert_eq!(ids(p, "env=production&org=org_a").await, set(&["e1", "e3"]));
    assert_eq!(ids(p, "env=production&org=org_a&outcome=failure").await, set(&["e3"]));
    assert_eq!(ids(p, "user=ben@globex.example&env=staging&q=support").await, set(&["e2"]));
    assert_eq!(ids(p, "app=insight&type=app.view&range=7d").await, set(&["e1"]));
    assert_eq!(ids(p, "env=development&range=30d&category=system").await, set(&["e6"]));
    assert_eq!(ids(p, "env=staging&org=org_a").await, set(&[]));
}

fn table_by_bucket(events: &[vigil::model::EventSummary], h: &Histogram) -> Vec<i64> {
    let mut counts = vec![0; h.buckets.len()];
    for e in events {
        let i = h.buckets.iter().rposition(|b| *b <= e.occurred_at).expect("inside the chart");
        counts[i] += 1;
    }
    counts
}

fn chart_by_bucket(h: &Histogram) -> Vec<i64> {
    (0..h.buckets.len()).map(|i| h.series.iter().map(|(_, c)| c[i]).sum()).collect()
}

#[sqlx::test(migrations = false)]
async fn the_chart_counts_exactly_what_the_table_lists(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;
    let now = Utc::now();

    for query in ["", "range=30d", "range=7d&env=production", "org=org_a", "user=u_ana&range=30d",
                  "q=support", "type=app.view&range=30d", "outcome=denied", "range=1y&category=system"] {
        let filter = reading_all(query);
        let span = resolve_span(&filter, now);
        let (from, to, bucket) = (span.from, span.to, span.bucket_seconds);
        let page = list_events(p, &filter, Some(from), to, None, 500).await.unwrap();
        let h = histogram(p, &filter, span, now).await.unwrap();

        assert_eq!(h.total as usize, page.events.len(), "{query}: total");
        assert_eq!(chart_by_bucket(&h), table_by_bucket(&page.events, &h), "{query}: per bucket");
        assert_eq!(h.bucket_seconds, bucket);
    }
}

#[sqlx::test(migrations = false)]
async fn the_rollups_and_the_events_give_the_same_histogram(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;
    let now = Utc::now();
    let today = now.duration_trunc(Duration::days(1)).unwrap();

    // Day-aligned spans with day (and week) bars are answered from the daily
    // rollups (per actor for a user), hour-aligned ones with hour bars from the
    // hourly rollups, quarter hours from theirs; the coarse ones without app,
    // type or outcome, the full ones with them; one word from the daily or
    // quarter-hour rollup of words.
    let spans = [
        Span { from: today - Duration::days(12), to: None, bucket_seconds: 86_400 },
        Span { from: today - Duration::days(14), to: Some(today + Duration::days(7)), bucket_seconds: 7 * 86_400 },
        Span { from: now_hour() - Duration::days(12), to: None, bucket_seconds: 3600 },
        Span { from: now_hour() - Duration::days(12), to: Some(now_hour() + Duration::hours(3)), bucket_seconds: 3 * 3600 },
        Span { from: now_hour() - Duration::days(12), to: None, bucket_seconds: 900 },
    ];
    for span in spans {
        let queries = [
            ("", 6),
            ("type=app.view", 2),
            ("env=production&outcome=failure", 1),
            ("app=insight", 2),
            ("user=u_ana", 2),
            ("user=ben@globex.example&type=role.update", 1),
            ("q=support", 2),
            ("env=production&q=Silva", 2),
        ];
        for (query, expected) in queries {
            let rollup = histogram(p, &reading_all(query), span, now).await.unwrap();
            // The same search plus a lone star (any event) counts the events.
            let raw = match query.contains("q=") {
                true => format!("{query}%20*"),
                false => format!("{query}&q=*"),
            };
            let raw = histogram(p, &reading_all(&raw), span, now).await.unwrap();
            assert_eq!(rollup.total, expected, "{query} over {span:?}");
            assert_eq!(rollup, raw, "{query} over {span:?}");
        }
    }
}

/// Each rollup is really read where it fits: counts added to it (in this
/// test's own database) show up in the chart.
#[sqlx::test(migrations = false)]
async fn each_rollup_answers_the_charts_it_fits(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let p = &app.pool;
    let now = Utc::now();
    let today = now.duration_trunc(Duration::days(1)).unwrap();
    let days = Span { from: today - Duration::days(12), to: None, bucket_seconds: 86_400 };
    let hours = Span { from: now_hour() - Duration::days(12), to: None, bucket_seconds: 3600 };
    let quarters = Span { from: now_hour() - Duration::days(12), to: None, bucket_seconds: 900 };
    let recent_hours = Span { from: now_hour() - Duration::days(7), to: None, bucket_seconds: 3 * 3600 };
    let recent_quarters = Span { from: now_hour() - Duration::hours(24), to: None, bucket_seconds: 900 };
    for (query, span, table, column) in [
        ("", days, "event_counts_daily_coarse", "events"),
        ("type=app.view", days, "event_counts_daily", "events"),
        ("user=u_ana", days, "actor_counts_daily", "events"),
        ("", hours, "event_counts_coarse", "events"),
        ("type=app.view", hours, "event_counts", "events"),
        ("", quarters, "event_counts_quarter_coarse", "events"),
        ("type=app.view", quarters, "event_counts_quarter", "events"),
        ("q=support", days, "term_counts_daily", "events"),
        ("q=support", recent_hours, "term_counts_hourly", "events"),
        ("q=support", recent_quarters, "term_counts_hourly", "quarters[1]"),
    ] {
        let filter = reading_all(query);
        let before = histogram(p, &filter, span, now).await.unwrap().total;
        let bump = |delta: i64| format!("update {table} set {column} = {column} + {delta}");
        sqlx::query(&bump(1000)).execute(p).await.unwrap();
        let after = histogram(p, &filter, span, now).await.unwrap().total;
        sqlx::query(&bump(-1000)).execute(p).await.unwrap();
        assert!(after >= before + 1000, "{query:?} with {}-second bars reads {table}.{column}", span.bucket_seconds);
    }
}

/// A chart read from a rollup adds the events of batches the worker has not
/// derived yet (no worker runs here), reading them only when one of those
/// batches may hold events it counts: Vigil's own, which the explorer leaves
/// out, or another environment or organization than the filter's, may not.
#[sqlx::test]
async fn a_chart_counts_the_batches_not_derived_yet_that_it_covers(pool: PgPool) {
    let now = Utc::now();
    let event = |id: &str, environment: &str| {
        let event = json!({"id": id, "occurred_at": (now - Duration::minutes(30)).to_rfc3339(), "environment": environment,
                           "organization": {"id": "org_a"}, "type": "app.view", "actor": {"id": "u_ana"}});
        vigil::ingest::validate(0, &event, now).unwrap()
    };
    vigil::store::insert_events(&pool, &[event("own", "vigil")]).await.unwrap();
    vigil::store::insert_events(&pool, &[event("p1", "production"), event("p2", "production")]).await.unwrap();
    let span = Span { from: now_hour() - Duration::hours(24), to: None, bucket_seconds: 900 };
    let total = |query: &'static str, without_console: bool, scope: vigil::model::Scope| {
        let pool = pool.clone();
        async move {
            let filter = vigil::model::EventFilter { without_console, scope, ..reading_all(query) };
            histogram(&pool, &filter, span, now).await.unwrap().total
        }
    };
    let everything = vigil::model::Scope::everything;
    let staging = || vigil::model::Scope { environments: vec!["staging".into()], organizations: vec!["*".into()] };
    for derived in [false, true] {
        assert_eq!(total("", true, everything()).await, 2, "the explorer's chart (derived: {derived})");
        assert_eq!(total("", false, everything()).await, 3, "with Vigil's own");
        assert_eq!(total("env=vigil", true, everything()).await, 1, "Vigil's own, asked for");
        assert_eq!(total("env=production", true, everything()).await, 2);
        assert_eq!(total("env=staging", true, everything()).await, 0);
        assert_eq!(total("org=org_a", true, everything()).await, 2);
        assert_eq!(total("org=org_b", true, everything()).await, 0);
        assert_eq!(total("", true, staging()).await, 0, "out of scope");
        vigil::store::derive::catch_up(&pool, std::time::Duration::from_secs(30)).await.unwrap();
    }
}

#[sqlx::test(migrations = false)]
async fn a_day_older_than_the_quarter_hour_counts_by_type_is_counted_from_its_events(pool: PgPool) {
    let app = spawn(pool).await;
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(vigil::store::retention::QUARTER_COUNTS_DAYS + 5);
    let old = |id: &str, event_type: &str| json!({"id": id, "occurred_at": (day + Duration::hours(10)).to_rfc3339(),
        "environment": "production", "type": event_type, "actor": {"id": "u_ana"}});
    let (status, reply) = app.ingest(&json!([old("o1", "app.view"), old("o2", "app.view"), old("o3", "role.update")])).await;
    assert_eq!(status, 200, "{reply}");
    app.derived().await;
    let full = app.count("select count(*) from event_counts_quarter where environment = 'production'").await;
    assert_eq!(full, 0, "no quarter-hour counts by type for a day that old");
    let coarse = app.count("select coalesce(sum(events), 0)::int8 from event_counts_quarter_coarse where environment = 'production'").await;
    assert_eq!(coarse, 3, "the coarse ones are written");

    let span = Span { from: day, to: Some(day + Duration::days(1)), bucket_seconds: 900 };
    let now = Utc::now();
    let total = |query: &'static str| {
        let pool = app.pool.clone();
        async move { histogram(&pool, &reading_all(query), span, now).await.unwrap().total }
    };
    assert_eq!(total("type=app.view").await, 2, "counted from the events");
    assert_eq!(total("").await, 3);
    // A stray row (as left by a build before this one) is not read for that day.
    sqlx::query("insert into event_counts_quarter values ($1, 'production', '', '', 'app.view', 'change', 'success', 1000)")
        .bind(day + Duration::hours(10))
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(total("type=app.view").await, 2);

    // The retention run deletes such rows; recent ones stay.
    sqlx::query("insert into event_counts_quarter values ($1, 'production', '', '', 'app.view', 'change', 'success', 1)")
        .bind(now_hour())
        .execute(&app.pool)
        .await
        .unwrap();
    vigil::lifecycle::purge(&app.state, now).await.unwrap();
    let left: Vec<DateTime<Utc>> = sqlx::query_scalar("select quarter from event_counts_quarter where environment = 'production'").fetch_all(&app.pool).await.unwrap();
    assert_eq!(left, [now_hour()]);
    assert_eq!(total("").await, 3, "the coarse counts are kept");
}

/// One word's chart in hours or quarter hours over recent days is read from
/// the counts of words per hour or quarter hour, and equals a count of its
/// events.
#[sqlx::test(migrations = false)]
async fn a_word_in_hours_of_recent_days_is_counted_as_its_events_are(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let now = Utc::now();
    let spans = [
        Span { from: now_hour() - Duration::days(7), to: None, bucket_seconds: 3 * 3600 },
        Span { from: now_hour() - Duration::days(2), to: Some(now_hour() + Duration::hours(3)), bucket_seconds: 3600 },
        Span { from: now_hour() - Duration::minutes(23 * 60 + 45), to: None, bucket_seconds: 900 },
        Span { from: now_hour() - Duration::hours(6), to: Some(now_hour() + Duration::minutes(45)), bucket_seconds: 900 },
    ];
    for span in spans {
        for query in ["q=support", "env=production&q=Silva", "org=org_a&category=change&q=support"] {
            let rollup = histogram(&app.pool, &reading_all(query), span, now).await.unwrap();
            let raw = histogram(&app.pool, &reading_all(&format!("{query}%20*")), span, now).await.unwrap();
            assert!(rollup.total > 0, "{query} over {span:?}");
            assert_eq!(rollup, raw, "{query} over {span:?}");
        }
    }
}

/// Hours older than the hourly counts of words are kept
/// (`retention::TERM_HOURS_DAYS`) are counted from the events, in bars of
/// hours and of quarter hours, and the retention run deletes their counts.
#[sqlx::test(migrations = false)]
async fn an_hour_older_than_the_hourly_word_counts_is_counted_from_its_events(pool: PgPool) {
    let app = spawn(pool).await;
    let day = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(vigil::store::retention::TERM_HOURS_DAYS + 2);
    let event = |id: &str, at: DateTime<Utc>| json!({"id": id, "occurred_at": at.to_rfc3339(), "environment": "production",
        "type": "role.update", "actor": {"id": "u_ana"}, "target": {"type": "role", "id": "r1", "name": "Support"}});
    let recent = now_hour() - Duration::hours(2);
    let (status, reply) = app.ingest(&json!([event("o1", day + Duration::hours(10)), event("r1", recent)])).await;
    assert_eq!(status, 200, "{reply}");
    app.derived().await;
    let hours = "select hour from term_counts_hourly where term = 'support' order by hour";
    let written: Vec<DateTime<Utc>> = sqlx::query_scalar(hours).fetch_all(&app.pool).await.unwrap();
    assert_eq!(written, [recent], "no hourly word counts for a day that old");

    let now = Utc::now();
    let stray = "insert into term_counts_hourly values ('support', $1, 'production', '', 'change', 1000, '{1000,0,0,0}')";
    sqlx::query(stray).bind(day + Duration::hours(10)).execute(&app.pool).await.unwrap();
    for bucket_seconds in [3600, 900] {
        let span = Span { from: day, to: Some(day + Duration::hours(20)), bucket_seconds };
        let total = histogram(&app.pool, &reading_all("q=support"), span, now).await.unwrap().total;
        assert_eq!(total, 1, "counted from the events in {bucket_seconds}-second bars, the stray row not read");
    }

    vigil::lifecycle::purge(&app.state, now).await.unwrap();
    let left: Vec<DateTime<Utc>> = sqlx::query_scalar(hours).fetch_all(&app.pool).await.unwrap();
    assert_eq!(left, [recent], "the retention run deletes the old hour's counts, not the recent ones");
}

#[sqlx::test(migrations = false)]
async fn the_chart_stacks_by_environment_when_several_are_shown(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let now = Utc::now();
    let span = resolve_span(&reading_all(""), now);
    assert_eq!(span.bucket_seconds, 900);

    let all = histogram(&app.pool, &reading_all(""), span, now).await.unwrap();
    assert_eq!(all.stacked_by, "environment");
    let names: Vec<_> = all.series.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["production", "staging"]);

    let production = reading_all("env=production");
    let one = histogram(&app.pool, &production, span, now).await.unwrap();
    assert_eq!(one.stacked_by, "category");
    assert!((96..=97).contains(&one.buckets.len()), "24 hours of 15-minute bars, the current one included");
}

#[sqlx::test(migrations = false)]
async fn option_lists_come_from_the_data_in_range(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let now = Utc::now();
    let values = |list: &[vigil::model::FilterOption]| list.iter().map(|o| o.value.clone()).collect::<BTreeSet<_>>();

    let kept = Memo::default();
    let filter = reading_all("");
    let Span { from, to, .. } = resolve_span(&filter, now);
    let version = vigil::store::ledger::past_version(&app.pool, now).await.unwrap();
    let options = vigil::query::filter_options(&app.pool, &filter, from, to, now, &kept, &version).await.unwrap();
    assert_eq!(values(&options.environments), set(&["production", "staging"]));
    assert_eq!(values(&options.apps), set(&["billing", "insight"]));
    let acme = options.organizations.iter().find(|o| o.value == "org_a").unwrap();
    assert_eq!(acme.label, "Acme");
    assert!(acme.events >= 2, "counted over the whole days the range touches");

    let staging = reading_all("env=staging");
    let options = vigil::query::filter_options(&app.pool, &staging, from, to, now, &kept, &version).await.unwrap();
    assert_eq!(values(&options.environments), set(&["production", "staging"]), "all environments stay choosable");
    assert_eq!(values(&options.types), set(&["role.update"]), "other lists follow the environment");
}

/// The counts of past days are kept between reads; each read still sees
/// today's new events, and a late event of a past day, and a dropped month.
#[sqlx::test(migrations = false)]
async fn option_counts_of_past_days_are_kept_until_one_of_those_days_changes(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let kept = Memo::default();
    let options = |query: &'static str| {
        let (pool, kept) = (&app.pool, &kept);
        async move {
            let filter = reading_all(query);
            let now = Utc::now();
            let Span { from, to, .. } = resolve_span(&filter, now);
            let version = vigil::store::ledger::past_version(pool, now).await.unwrap();
            vigil::query::filter_options(pool, &filter, from, to, now, kept, &version).await.unwrap()
        }
    };
    let events_of = |options: &vigil::model::FilterOptions, value: &str| {
        options.apps.iter().chain(&options.types).find(|o| o.value == value).map(|o| o.events)
    };
    let before = options("range=30d").await;
    assert_eq!(events_of(&before, "server.start"), Some(1), "ten days ago");

    let late = (Utc::now() - Duration::days(3)).to_rfc3339();
    let today = Utc::now().to_rfc3339();
    for (id, at, app_id) in [("late", &late, "late_app"), ("now", &today, "new_app")] {
        let mut event = crate::helpers::event(id, at);
        event["app"] = json!({"id": app_id});
        event["type"] = json!("server.start");
        assert_eq!(app.ingest(&json!([event])).await.0, 200);
    }
    let after = options("range=30d").await;
    assert_eq!(events_of(&after, "new_app"), Some(1), "today's events are read each time");
    assert_eq!(events_of(&after, "late_app"), Some(1), "a late event of a past day is not hidden by the kept counts");
    assert_eq!(events_of(&after, "server.start"), Some(3));

    let ten_days_ago = Utc::now() - Duration::days(10) + Duration::minutes(7);
    let month = vigil::store::retention::partitions(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.from <= ten_days_ago && ten_days_ago < p.to)
        .expect("the month of the oldest event");
    let mut tx = app.pool.begin().await.unwrap();
    vigil::store::retention::drop_partition(&mut tx, &month).await.unwrap();
    tx.commit().await.unwrap();
    let left = [ten_days_ago.to_rfc3339(), late, today]
        .iter()
        .filter(|at| !(month.from..month.to).contains(&DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc)))
        .count() as i64;
    let dropped = options("range=30d").await;
    assert_eq!(events_of(&dropped, "server.start"), Some(left).filter(|n| *n > 0), "a dropped month's values go");
}

/// The explorer chart's counts of past hours are kept between reads and
/// equal a chart counted afresh; each read still counts the current hour's
/// new events, and a late event of a past hour, whether the worker has
/// derived it yet or not.
#[sqlx::test(migrations = false)]
async fn chart_counts_of_past_hours_are_kept_until_one_of_those_hours_changes(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;
    let kept = Memo::default();
    let chart = |query: &'static str| {
        let (pool, kept) = (&app.pool, &kept);
        async move {
            let filter = vigil::model::EventFilter { without_console: true, ..reading_all(query) };
            let now = Utc::now();
            let span = resolve_span(&filter, now);
            let version = vigil::store::ledger::past_version(pool, now).await.unwrap();
            let kept = vigil::query::histogram_keeping_past(pool, &filter, span, now, kept, &version).await.unwrap();
            assert_eq!(kept, histogram(pool, &filter, span, now).await.unwrap(), "{query:?} as counted afresh");
            kept.total
        }
    };
    let queries = ["", "range=7d", "range=30d", "q=support", "env=production&range=24h"];
    let mut before = Vec::new();
    for query in queries {
        before.push(chart(query).await);
    }
    assert!(before.iter().all(|total| *total > 0), "{before:?}");

    let past_quarters = "update event_counts_quarter_coarse set events = events + $1 where quarter < date_trunc('hour', now())";
    sqlx::query(past_quarters).bind(1000).execute(&app.pool).await.unwrap();
    let filter = vigil::model::EventFilter { without_console: true, ..reading_all("") };
    let (now, version) = (Utc::now(), vigil::store::ledger::past_version(&app.pool, Utc::now()).await.unwrap());
    let span = resolve_span(&filter, now);
    let served = vigil::query::histogram_keeping_past(&app.pool, &filter, span, now, &kept, &version).await.unwrap();
    sqlx::query(past_quarters).bind(-1000).execute(&app.pool).await.unwrap();
    assert_eq!(served.total, before[0], "the past hours' counts are kept, not read again");

    let event = |id: &str, at: DateTime<Utc>| crate::helpers::event(id, &at.to_rfc3339());
    let hour = now_hour();
    assert_eq!(app.ingest(&json!([event("now", Utc::now()), event("late", hour - Duration::hours(2))])).await.0, 200);
    let waiting = vigil::ingest::validate(0, &event("waiting", hour - Duration::hours(3)), Utc::now()).unwrap();
    vigil::store::insert_events(&app.state.writers, &[waiting]).await.unwrap();
    for (query, total) in queries.into_iter().zip(before) {
        assert_eq!(chart(query).await, total + 3, "{query:?}: the current hour's event and two late ones");
    }
}

#[sqlx::test(migrations = false)]
async fn an_event_and_its_target_history_are_complete(pool: PgPool) {
    let app = spawn(pool).await;
    known_events(&app).await;

    let view = vigil::query::event_view(&app.pool, "e3", &vigil::model::Scope::everything()).await.unwrap().expect("e3 exists");
    assert_eq!(view.event.changes[0].field, "permissions");
    assert_eq!(view.event.changes[0].old.as_deref(), Some(r#"["a"]"#));
    let raw: Value = serde_json::from_str(&view.event.raw).unwrap();
    assert_eq!(raw["actor"]["email"], "ben@globex.example");
    assert_eq!(raw["changes"][0]["new"], json!(["a", "b"]));
    assert!(vigil::query::event_view(&app.pool, "nope", &vigil::model::Scope::everything()).await.unwrap().is_none());

    let history = vigil::query::target_history(&app.pool, "role", "role_support", &vigil::model::Scope::everything(), None, 100).await.unwrap();
    let order: Vec<_> = history.events.iter().map(|e| e.summary.id.as_str()).collect();
    assert_eq!(order, ["e3", "e2"], "oldest first");
    assert_eq!(history.target_name.as_deref(), Some("Support"));
}

#[sqlx::test]
async fn a_year_is_drawn_in_calendar_months(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    known_events(&app).await;
    let filter = reading_all("range=1y");
    let now = Utc::now();
    let span = resolve_span(&filter, now);
    let chart: Histogram = histogram(&pool, &filter, span, now).await.unwrap();
    assert_eq!(chart.bucket_seconds, vigil::model::MONTH);
    assert!((12..=13).contains(&chart.buckets.len()), "{} bars", chart.buckets.len());
    assert!(chart.buckets.iter().all(|b| b.format("%d %H:%M:%S").to_string() == "01 00:00:00"), "bars start on the 1st");
    assert_eq!(chart.total, 6);
    let last = chart.buckets.len() - 1;
    assert!(chart.bucket_end(last).unwrap() > now, "the last bar holds now");
}
