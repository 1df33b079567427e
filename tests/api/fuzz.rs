//! Generated ingest bodies against the running server: malformed JSON, wrong
//! types, huge numbers, deep nesting, long strings, invalid UTF-8, NUL bytes,
//! mixed valid and invalid batches, NDJSON edge cases. Not one answer may be a
//! 5xx, every answer is JSON, and every rejection says why (and which field,
//! for an item). `VIGIL_FUZZ_BODIES` sets how many (5 000 by default;
//! `make reliability` sends 100 000). The seed is printed, and `VIGIL_FUZZ_SEED`
//! replays a run.

use futures::StreamExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{spawn_with, KEY};

const FIELDS: [&str; 12] =
    ["id", "occurred_at", "environment", "type", "outcome", "category", "reason", "actor", "target", "changes", "request", "details"];

/// A valid event to start from.
fn valid(rng: &mut SmallRng) -> Value {
    let event_type = ["app.view", "role.update", "session.sign_in"][rng.gen_range(0..3)];
    let environment = ["production", "staging"][rng.gen_range(0..2)];
    json!({
        "id": format!("fz-{}", rng.gen::<u64>()),
        "type": event_type,
        "environment": environment,
        "actor": {"id": format!("u{}", rng.gen_range(0..50)), "name": "Ana"},
        "target": {"type": "role", "id": "r1"},
    })
}

/// A value of a random JSON type, some of them hostile.
fn odd_value(rng: &mut SmallRng) -> Value {
    match rng.gen_range(0..14) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>() * 1e300),
        4 => json!(""),
        5 => json!("x".repeat(rng.gen_range(1..200_000))),
        6 => json!("nul\u{0}byte"),
        7 => json!([1, "two", null, {"three": 3}]),
        8 => json!({"nested": {"deeper": [1, 2, 3]}}),
        9 => json!("2026-13-45T99:99:99Z"),
        10 => json!("\u{202e}rtl \u{feff}bom \u{1f600}"),
        11 => json!("<script>alert(1)</script>"),
        12 => json!(u64::MAX),
        _ => json!(-0.0),
    }
}

/// One event, valid or broken in one or more ways.
fn event(rng: &mut SmallRng) -> Value {
    let mut event = valid(rng);
    for _ in 0..rng.gen_range(0..3) {
        let field = FIELDS[rng.gen_range(0..FIELDS.len())];
        event[field] = odd_value(rng);
    }
    if rng.gen_bool(0.1) {
        event[format!("unknown_{}", rng.gen_range(0..5))] = json!(1);
    }
    if rng.gen_bool(0.05) {
        event["actor"] = json!({"id": "u", "name": "a\u{0}b"});
    }
    event
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// A request body and its content type.
fn body(rng: &mut SmallRng) -> (Vec<u8>, &'static str) {
    const JSON: &str = "application/json";
    const NDJSON: &str = "application/x-ndjson";
    let batch = |rng: &mut SmallRng| (0..rng.gen_range(1..20)).map(|_| event(rng)).collect::<Vec<_>>();
    match rng.gen_range(0..12) {
        0 => (json!(batch(rng)).to_string().into_bytes(), JSON),
        1 => (event(rng).to_string().into_bytes(), JSON),
        2 => {
            let text = json!(batch(rng)).to_string();
            let cut = rng.gen_range(0..text.len());
            (text.as_bytes()[..cut].to_vec(), JSON)
        }
        3 => ((0..rng.gen_range(0..512)).map(|_| rng.gen::<u8>()).collect(), JSON),
        4 => {
            let mut bytes = json!(batch(rng)).to_string().into_bytes();
            let at = rng.gen_range(0..bytes.len());
            bytes.insert(at, 0xff);
            (bytes, JSON)
        }
        5 => (nested(rng.gen_range(100..20_000)).into_bytes(), JSON),
        6 => (format!("{{\"type\":\"app.view\",\"actor\":{{\"id\":\"u\"}},\"details\":{}}}", nested(rng.gen_range(50..5_000))).into_bytes(), JSON),
        7 => {
            let lines: Vec<String> = batch(rng).iter().map(Value::to_string).collect();
            let separator = ["\n", "\r\n", "\n\n", "\n \n"][rng.gen_range(0..4)];
            let mut text = lines.join(separator);
            if rng.gen_bool(0.3) {
                text.push_str("\n{not json");
            }
            if rng.gen_bool(0.2) {
                text.insert(0, '\u{feff}');
            }
            (text.into_bytes(), NDJSON)
        }
        8 => (b"[{\"type\":\"app.view\",\"actor\":{\"id\":1e400},\"details\":{\"n\":-1e-400,\"m\":123456789012345678901234567890}}]".to_vec(), JSON),
        9 => (b"{\"type\":\"app.view\",\"actor\":{\"id\":\"u\"},\"occurred_at\":123456789012345678901234567890}".to_vec(), JSON),
        10 => (json!([]).to_string().into_bytes(), if rng.gen_bool(0.5) { JSON } else { "text/plain" }),
        _ => (json!([valid(rng), "a string", 42, null, [], valid(rng)]).to_string().into_bytes(), JSON),
    }
}

/// Why an answer is not acceptable, if it is not.
fn fault(status: u16, text: &str) -> Option<String> {
    if status >= 500 {
        return Some(format!("status {status}"));
    }
    let Ok(reply) = serde_json::from_str::<Value>(text) else { return Some("not JSON".into()) };
    if status == 200 || status == 422 {
        for rejection in reply["rejected"].as_array().into_iter().flatten() {
            if rejection["error"].as_str().is_none_or(str::is_empty) || !rejection["index"].is_u64() {
                return Some(format!("a rejection without a reason: {rejection}"));
            }
        }
        return (!reply["accepted"].is_u64()).then(|| "no accepted count".into());
    }
    reply["error"]["message"].as_str().is_none_or(str::is_empty).then(|| "an error without a message".into())
}

#[sqlx::test(migrations = false)]
async fn generated_bodies_never_get_a_server_error(pool: sqlx::PgPool) {
    let bodies: usize = std::env::var("VIGIL_FUZZ_BODIES").ok().and_then(|n| n.parse().ok()).unwrap_or(5_000);
    let seed: u64 = std::env::var("VIGIL_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(rand::random);
    println!("fuzz: {bodies} bodies, VIGIL_FUZZ_SEED={seed}");
    let config = vigil::config::ServerConfig { api_rate: 1e6, api_burst: 1e6, ..vigil::config::ServerConfig::with_keys(KEY, "x") };
    let app = spawn_with(pool, config).await;
    let mut rng = SmallRng::seed_from_u64(seed);
    let requests: Vec<(usize, Vec<u8>, &str)> = (0..bodies).map(|i| { let (b, t) = body(&mut rng); (i, b, t) }).collect();
    let started = std::time::Instant::now();
    let faults: Vec<String> = futures::stream::iter(requests)
        .map(|(i, bytes, content_type)| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/events", app.base);
            async move {
                let sent = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                let response = client.post(url).bearer_auth(KEY).header("content-type", content_type).body(bytes).send().await;
                let (status, text) = match response {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(e) => return Some(format!("body {i}: no answer ({e}); sent {sent}")),
                };
                fault(status, &text).map(|why| format!("body {i}: {why}: {}; sent {sent}", text.chars().take(300).collect::<String>()))
            }
        })
        .buffer_unordered(8)
        .filter_map(|fault| async move { fault })
        .collect()
        .await;
    let rate = bodies as f64 / started.elapsed().as_secs_f64();
    println!("fuzz: {bodies} bodies in {:.1} s ({rate:.0}/s), {} faults", started.elapsed().as_secs_f64(), faults.len());
    assert!(faults.is_empty(), "{} of {bodies} answers were faults (seed {seed}):\n{}", faults.len(), faults[..faults.len().min(10)].join("\n"));
    let stored = app.count("select count(*) from events where environment <> 'vigil'").await;
    assert!(stored > 0, "some valid events were stored");
}
