//! Sending notifications from the outbox: webhooks (JSON, signed with the
//! channel's secret: `Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
//! of "<t>.<body>">`) and e-mail over SMTP. A failed attempt is retried after
//! `VIGIL_ALERT_RETRY_SECONDS`, doubling each time; after [`MAX_ATTEMPTS`] the
//! delivery is given up and an `alert.delivery_failed` event is recorded.
//! Every attempt's status and response stay visible per channel.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::audit::{Activity, Actor};
use crate::model::{AlertKind, Category, ChannelKind, Outcome, SmtpSettings, TlsMode};
use crate::state::AppState;
use crate::store::alerts::{self as store, Attempt, Outgoing};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 6;
/// How long one attempt may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries sent in one look.
const BATCH: i64 = 20;
/// The most of a response kept.
const RESPONSE_LIMIT: usize = 500;

/// What an attempt came to, before it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    pub ok: bool,
    pub status: Option<i32>,
    pub response: Option<String>,
    pub error: Option<String>,
}

/// Sends notifications; one HTTP client for all webhooks.
pub struct Deliverer {
    client: reqwest::Client,
    console: String,
}

impl Deliverer {
    pub fn new(state: &AppState) -> Self {
        let client = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .user_agent(concat!("Vigil-Alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client builds");
        Deliverer { client, console: state.config.console_base(state.leptos_options.site_addr) }
    }

    /// Send what is due at `now`; the number of deliveries attempted.
    pub async fn deliver_due(&self, state: &AppState, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let lease = chrono::Duration::seconds(120);
        let due = store::claim_deliveries(&state.pool, now, lease, BATCH).await?;
        let count = due.len();
        let sent = futures::future::join_all(due.iter().map(|d| self.send(state, d))).await;
        for (delivery, sent) in due.iter().zip(sent) {
            self.finish(state, delivery, sent, now).await?;
        }
        Ok(count)
    }

    async fn finish(&self, state: &AppState, d: &Outgoing, sent: Sent, now: DateTime<Utc>) -> anyhow::Result<()> {
        let base = state.config.monitor.alert_retry_seconds.max(1);
        let retry_at = (!sent.ok && d.attempts < MAX_ATTEMPTS).then(|| now + chrono::Duration::seconds(base << (d.attempts - 1).clamp(0, 20)));
        let attempt = Attempt {
            status: sent.status,
            response: sent.response.as_deref(),
            error: sent.error.as_deref(),
            delivered: sent.ok,
            retry_at,
        };
        store::finish_attempt(&state.pool, d.id, now, &attempt).await?;
        if !sent.ok && retry_at.is_none() {
            let why = sent.error.clone().or_else(|| sent.status.map(|s| format!("status {s}"))).unwrap_or_default();
            let activity = Activity::new("alert.delivery_failed", Category::System)
                .outcome(Outcome::Failure, format!("gave up after {} attempts: {why}", d.attempts))
                .target("alert_channel", d.channel_name.clone(), Some(d.channel_name.clone()))
                .details(json!({"rule": d.rule_name, "delivery_id": d.id, "status": sent.status}));
            crate::audit::record(state, &Actor::system(), activity).await;
        }
        Ok(())
    }

    /// One attempt of one delivery.
    pub async fn send(&self, state: &AppState, d: &Outgoing) -> Sent {
        match d.channel_kind {
            ChannelKind::Webhook => self.webhook(d).await,
            ChannelKind::Email => match store::smtp(&state.pool).await {
                Ok(Some((settings, password))) => email(&settings, password, d, &self.link(d)).await,
                Ok(None) => failed("no SMTP server is set up (Settings → Channels)"),
                Err(error) => {
                    tracing::warn!(%error, "alerts: reading the SMTP settings failed");
                    failed("the SMTP settings could not be read; retrying")
                }
            },
        }
    }

    /// Where the notification points: the rule's view, or the Services page.
    pub fn link(&self, d: &Outgoing) -> String {
        match d.rule_kind.watches_view() {
            true if !d.rule_query.is_empty() => format!("{}/events?{}", self.console, d.rule_query),
            true => format!("{}/events", self.console),
            false => format!("{}/services", self.console),
        }
    }

    async fn webhook(&self, d: &Outgoing) -> Sent {
        let body = payload(d, &self.link(d)).to_string();
        let mut request = self.client.post(&d.destination).header("content-type", "application/json");
        if let Some(secret) = d.secret.as_deref() {
            request = request.header("Vigil-Signature", signature(secret, Utc::now().timestamp(), &body));
        }
        match request.body(body).send().await {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                Sent {
                    ok: status.is_success(),
                    status: Some(i32::from(status.as_u16())),
                    response: Some(text.chars().take(RESPONSE_LIMIT).collect()),
                    error: (!status.is_success()).then(|| format!("the webhook answered {status}")),
                }
            }
            Err(e) => failed(if e.is_timeout() { "timed out".to_string() } else { format!("{e}") }),
        }
    }
}

/// Send a test notification through a channel at once (not queued); `None`
/// when there is no such channel.
pub async fn send_test(state: &AppState, channel_id: i64) -> sqlx::Result<Option<Sent>> {
    let Some((channel_name, channel_kind, destination, secret)) = store::channel(&state.pool, channel_id).await? else {
        return Ok(None);
    };
    let test = Outgoing {
        id: 0,
        attempts: 1,
        channel_name,
        channel_kind,
        destination,
        secret,
        rule_id: 0,
        rule_name: "Test notification".into(),
        rule_kind: AlertKind::Match,
        rule_query: String::new(),
        state: "test".into(),
        group_key: String::new(),
        at: Utc::now(),
        count: 0,
        event_ids: Vec::new(),
        summary: "A test notification from Vigil: this channel works.".into(),
    };
    Ok(Some(Deliverer::new(state).send(state, &test).await))
}

fn failed(error: impl Into<String>) -> Sent {
    Sent { ok: false, status: None, response: None, error: Some(error.into()) }
}

/// The JSON a webhook receives.
pub fn payload(d: &Outgoing, link: &str) -> Value {
    json!({
        "rule": {"id": d.rule_id, "name": d.rule_name, "kind": d.rule_kind},
        "state": d.state,
        "group": d.group_key,
        "summary": d.summary,
        "count": d.count,
        "event_ids": d.event_ids,
        "link": link,
        "at": d.at,
        "delivery_id": d.id,
    })
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The subject line of a notification.
pub fn subject(d: &Outgoing) -> String {
    let state = match d.state.as_str() {
        "resolved" => "RESOLVED",
        "renotify" => "STILL FIRING",
        _ => "FIRING",
    };
    let group = if d.group_key.is_empty() { String::new() } else { format!(" ({})", d.group_key) };
    format!("[Vigil] {state}: {}{group}", d.rule_name)
}

async fn email(settings: &SmtpSettings, password: Option<String>, d: &Outgoing, link: &str) -> Sent {
    let message = match message(settings, d, link) {
        Ok(message) => message,
        Err(error) => return failed(error),
    };
    let transport = match transport(settings, password) {
        Ok(transport) => transport,
        Err(error) => return failed(error),
    };
    match transport.send(message).await {
        Ok(response) => Sent {
            ok: response.is_positive(),
            status: Some(i32::from(u16::from(response.code()))),
            response: Some(response.message().collect::<Vec<_>>().join(" ").chars().take(RESPONSE_LIMIT).collect()),
            error: None,
        },
        Err(e) => Sent { ok: false, status: e.status().map(|c| i32::from(u16::from(c))), response: None, error: Some(e.to_string()) },
    }
}

fn message(settings: &SmtpSettings, d: &Outgoing, link: &str) -> Result<Message, String> {
    let from: Mailbox = settings.sender.parse().map_err(|e| format!("sender {:?}: {e}", settings.sender))?;
    let mut builder = Message::builder().from(from).subject(subject(d));
    for to in d.destination.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        builder = builder.to(to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?);
    }
    let ids = if d.event_ids.is_empty() { String::new() } else { format!("\nEvents: {}\n", d.event_ids.join(", ")) };
    let body = format!(
        "{}\n\nRule: {} ({})\nAt: {} UTC\nCount: {}\n{ids}\nOpen in Vigil:\n{link}\n",
        d.summary,
        d.rule_name,
        d.rule_kind,
        d.at.format("%Y-%m-%d %H:%M:%S"),
        d.count
    );
    builder.header(lettre::message::header::ContentType::TEXT_PLAIN).body(body).map_err(|e| e.to_string())
}

fn transport(settings: &SmtpSettings, password: Option<String>) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match settings.tls {
        TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
        TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host).map_err(|e| e.to_string())?,
        TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder.port(settings.port as u16).timeout(Some(SEND_TIMEOUT));
    if let Some(user) = settings.username.clone().filter(|u| !u.is_empty()) {
        builder = builder.credentials(Credentials::new(user, password.unwrap_or_default()));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        let a = signature("secret", 1_700_000_000, "{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, signature("secret", 1_700_000_001, "{}"));
        assert_ne!(a, signature("other", 1_700_000_000, "{}"));
        assert_ne!(a, signature("secret", 1_700_000_000, "{ }"));
    }
}
