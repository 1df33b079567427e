//! What this instance counts of its own work, for Prometheus: the requests it
//! answered (by route and status class, with their durations) and the events
//! its ingest took, plus the write path's and the checks' state, read from
//! the database at each scrape. `GET /api/v1/metrics` renders it
//! (`api::metrics`); the router counts every request (`track`).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::model::LedgerStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    /// The route's pattern (`/events/{id}`), or `unmatched` (static files, 404s).
    route: String,
    /// `2xx` … `5xx`.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    /// `accepted`, `duplicate`, `dropped` (by a recording rule) or `rejected`.
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InState {
    state: String,
}

type Seconds = Gauge<f64, AtomicU64>;

/// The registry and the handles that fill it; one per instance (`AppState::metrics`).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<Answered, Counter>,
    durations: Family<Route, Histogram, fn() -> Histogram>,
    ingested: Family<Outcome, Counter>,
    database_up: Gauge,
    derive_lag: Seconds,
    export_lag: Seconds,
    underived: Gauge,
    services: Family<InState, Gauge>,
    alerts_firing: Gauge,
    undelivered: Gauge,
}

/// The checks' and the alerts' state as a scrape reads it.
#[derive(Debug)]
pub struct Snapshot {
    pub ledger: LedgerStatus,
    /// (state, services in it), paused ones left out.
    pub services: Vec<(String, i64)>,
    /// Alert rules firing for at least one group.
    pub alerts_firing: i64,
    /// Notifications neither delivered nor given up.
    pub undelivered: i64,
}

fn request_buckets() -> Histogram {
    // 1 ms to ≈ 15 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vigil");
        let requests = Family::<Answered, Counter>::default();
        let durations = Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(request_buckets);
        let ingested = Family::<Outcome, Counter>::default();
        let (database_up, underived) = (Gauge::default(), Gauge::default());
        let (alerts_firing, undelivered) = (Gauge::default(), Gauge::default());
        let (derive_lag, export_lag) = (Seconds::default(), Seconds::default());
        let services = Family::<InState, Gauge>::default();
        registry.register("http_requests", "HTTP requests answered, by route and status class", requests.clone());
        registry.register("http_request_duration_seconds", "Time to the response's head, by route", durations.clone());
        registry.register("ingest_events", "Events sent to the ingest API, by what became of them", ingested.clone());
        registry.register("database_up", "1 when the database answered this scrape", database_up.clone());
        registry.register("derive_lag_seconds", "Age of the oldest committed batch the deriving worker has not derived", derive_lag.clone());
        registry.register("export_lag_seconds", "How long the oldest open write transaction holds the export's watermark", export_lag.clone());
        registry.register("underived_events", "Events committed but not derived yet", underived.clone());
        registry.register("services", "Services checked (not paused), by state", services.clone());
        registry.register("alert_rules_firing", "Alert rules firing for at least one group", alerts_firing.clone());
        registry.register("notifications_undelivered", "Notifications neither delivered nor given up", undelivered.clone());
        Metrics { registry, requests, durations, ingested, database_up, derive_lag, export_lag, underived, services, alerts_firing, undelivered }
    }
}

impl Metrics {
    /// Count what became of a batch's events.
    pub fn ingested(&self, accepted: u64, duplicates: u64, dropped: u64, rejected: u64) {
        for (result, n) in [("accepted", accepted), ("duplicate", duplicates), ("dropped", dropped), ("rejected", rejected)] {
            self.ingested.get_or_create(&Outcome { result }).inc_by(n);
        }
    }

    /// Events rejected since this instance started.
    pub fn rejected_since_start(&self) -> u64 {
        self.ingested.get_or_create(&Outcome { result: "rejected" }).get()
    }

    /// The text a scrape gets, with the state read for it (`None`: the
    /// database did not answer; the last values stay, `database_up` says 0).
    pub fn render(&self, snapshot: Option<Snapshot>) -> String {
        self.database_up.set(snapshot.is_some() as i64);
        if let Some(s) = snapshot {
            self.derive_lag.set(s.ledger.derive_lag_seconds(chrono::Utc::now()));
            self.export_lag.set(s.ledger.export_lag_seconds);
            self.underived.set(s.ledger.underived_events);
            self.services.clear();
            for (state, n) in s.services {
                self.services.get_or_create(&InState { state }).set(n);
            }
            self.alerts_firing.set(s.alerts_firing);
            self.undelivered.set(s.undelivered);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String does not fail");
        text
    }
}

/// Count each request the router answers, and time it to its response's head.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.durations.get_or_create(&Route { route: route.clone() }).observe(started.elapsed().as_secs_f64());
    let status = format!("{}xx", response.status().as_u16() / 100);
    metrics.requests.get_or_create(&Answered { route, status }).inc();
    response
}
