//! The checks themselves: an HTTP(S) request, a TCP connection, a DNS
//! lookup, or whether a heartbeat arrived in time. Each ends in a result,
//! never an error: a failure is a result with its reason.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::model::{CheckKind, CheckResult, ServiceDefinition};

/// The most of a response body read to look for the keyword.
const BODY_LIMIT: usize = 1024 * 1024;

/// What one check found.
#[derive(Clone, Debug)]
pub struct Probe {
    pub result: CheckResult,
    /// When the server's TLS certificate expires (HTTPS).
    pub certificate_expires_at: Option<DateTime<Utc>>,
}

/// Runs checks; one HTTP client for all of them.
#[derive(Clone)]
pub struct Prober {
    client: reqwest::Client,
}

impl Default for Prober {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .tls_info(true)
            .user_agent(concat!("Vigil-Check/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client builds");
        Prober { client }
    }
}

impl Prober {
    /// Check `service` at `now`; a heartbeat service is fine when its last
    /// heartbeat is at most one interval old.
    pub async fn check(&self, service: &ServiceDefinition, last_heartbeat_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Probe {
        let timeout = Duration::from_millis(service.timeout_ms.max(1) as u64);
        let started = Instant::now();
        let outcome = match service.kind {
            CheckKind::Http => self.http(service, timeout).await,
            CheckKind::Tcp => tcp(&service.target, timeout).await,
            CheckKind::Dns => dns(&service.target, service.expected_address.as_deref(), timeout).await,
            CheckKind::Heartbeat => heartbeat(last_heartbeat_at, service.interval_seconds, now),
        };
        let latency_ms = (service.kind != CheckKind::Heartbeat).then(|| started.elapsed().as_millis().min(i32::MAX as u128) as i32);
        let (ok, status, error, certificate_expires_at) = match outcome {
            Ok(found) => (true, found.status, None, found.certificate),
            Err(failed) => (false, failed.status, Some(failed.error), failed.certificate),
        };
        let result = CheckResult { checked_at: now, ok, latency_ms, status, error, in_maintenance: false };
        Probe { result, certificate_expires_at }
    }

    async fn http(&self, service: &ServiceDefinition, timeout: Duration) -> Result<Found, Failed> {
        let method = reqwest::Method::from_bytes(service.http_method.as_bytes()).map_err(|_| Failed::new("invalid HTTP method"))?;
        let mut response = self
            .client
            .request(method, &service.target)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Failed::new(describe(&e)))?;
        let status = i32::from(response.status().as_u16());
        let certificate = response.extensions().get::<reqwest::tls::TlsInfo>().and_then(|info| info.peer_certificate()).and_then(not_after);
        let found = Found { status: Some(status), certificate };
        if !(service.status_min..=service.status_max).contains(&status) {
            let error = format!("status {status}, expected {}–{}", service.status_min, service.status_max);
            return Err(Failed { status: Some(status), error, certificate });
        }
        if let Some(keyword) = service.keyword.as_deref().filter(|k| !k.is_empty()) {
            let mut body = Vec::new();
            while body.len() < BODY_LIMIT {
                match tokio::time::timeout(timeout, response.chunk()).await {
                    Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
                    Ok(Ok(None)) => break,
                    Ok(Err(e)) => return Err(Failed { status: Some(status), error: describe(&e), certificate }),
                    Err(_) => return Err(Failed { status: Some(status), error: "timed out reading the body".into(), certificate }),
                }
            }
            if !String::from_utf8_lossy(&body).contains(keyword) {
                return Err(Failed { status: Some(status), error: format!("the body does not contain \"{keyword}\""), certificate });
            }
        }
        Ok(found)
    }
}

struct Found {
    status: Option<i32>,
    certificate: Option<DateTime<Utc>>,
}

struct Failed {
    status: Option<i32>,
    error: String,
    certificate: Option<DateTime<Utc>>,
}

impl Failed {
    fn new(error: impl Into<String>) -> Self {
        Failed { status: None, error: error.into(), certificate: None }
    }
}

/// A request error as one line, with its cause (e.g. "connection refused").
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".into();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// The expiry of a DER certificate.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
}

async fn tcp(target: &str, timeout: Duration) -> Result<Found, Failed> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(target)).await {
        Ok(Ok(_)) => Ok(Found { status: None, certificate: None }),
        Ok(Err(e)) => Err(Failed::new(e.to_string())),
        Err(_) => Err(Failed::new("timed out")),
    }
}

async fn dns(name: &str, expected: Option<&str>, timeout: Duration) -> Result<Found, Failed> {
    let addresses: Vec<std::net::IpAddr> = match tokio::time::timeout(timeout, tokio::net::lookup_host((name, 0))).await {
        Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
        Ok(Err(e)) => return Err(Failed::new(format!("{name} does not resolve: {e}"))),
        Err(_) => return Err(Failed::new("timed out")),
    };
    match expected.filter(|e| !e.is_empty()) {
        Some(expected) if !addresses.iter().any(|a| a.to_string() == expected) => {
            let found: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
            Err(Failed::new(format!("{name} resolves to {}, not {expected}", found.join(", "))))
        }
        _ => Ok(Found { status: None, certificate: None }),
    }
}

fn heartbeat(last: Option<DateTime<Utc>>, interval_seconds: i32, now: DateTime<Utc>) -> Result<Found, Failed> {
    let allowed = chrono::Duration::seconds(i64::from(interval_seconds));
    match last {
        Some(at) if now - at <= allowed => Ok(Found { status: None, certificate: None }),
        Some(at) => Err(Failed::new(format!("no heartbeat for {} s (expected every {interval_seconds} s)", (now - at).num_seconds()))),
        None => Err(Failed::new("no heartbeat yet")),
    }
}
