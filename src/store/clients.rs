//! The clients of events (migration 28): a user agent and what enrichment
//! found for it, stored once per organization and month in `event_clients`;
//! the event row keeps only the client's key. Readers see an event with its
//! client through the view `events_with_client`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::ingest::NewEvent;

/// From `events e`, each event's client as `events_with_client` gives it:
/// the two columns `user_agent` and `client_info`, with `e`'s own first, the
/// client found by one probe of its key. Through the view PostgreSQL may hash
/// every client (15 000 at 10 M events, ≈30 ms) whatever the number of events
/// read; `derive.sql` looks clients up the same way.
pub const CLIENT_BY_KEY: &str = "coalesce(e.user_agent, c.user_agent) as user_agent, \
    coalesce(e.client_info, c.client_info) as client_info \
    from events e left join lateral (select c.user_agent, c.client_info from event_clients c \
    where c.organization_id = e.organization_id and c.key = e.client_key offset 0) c on true";

/// The first 16 bytes of the SHA-256 of a client's month, user agent and
/// enrichment: computed by the writer, so a new client needs no round trip
/// before its events are written.
pub type ClientKey = [u8; 16];

/// An event's client as it is stored.
pub struct Client<'a> {
    pub key: ClientKey,
    pub organization_id: &'a str,
    pub month: NaiveDate,
    pub user_agent: Option<&'a str>,
    /// The enrichment, as JSON text.
    pub info: Option<String>,
}

impl<'a> Client<'a> {
    /// The client of an event, if it has a user agent or an enrichment.
    pub fn of(e: &'a NewEvent) -> Option<Self> {
        if e.user_agent.is_none() && e.client_info.is_none() {
            return None;
        }
        let info = e.client_info.as_ref().map(|i| serde_json::to_string(i).expect("client info serialises"));
        let month = super::month_of(e.occurred_at.date_naive());
        let mut hash = Sha256::new();
        hash.update(month.to_string());
        for part in [e.user_agent.as_deref(), info.as_deref()] {
            match part {
                None => hash.update([0]),
                Some(text) => {
                    hash.update([1]);
                    hash.update((text.len() as u64).to_be_bytes());
                    hash.update(text);
                }
            }
        }
        let key = hash.finalize()[..16].try_into().expect("16 of 32 bytes");
        Some(Client { key, organization_id: &e.organization_id, month, user_agent: e.user_agent.as_deref(), info })
    }
}

/// Store the clients a batch refers to, in the batch's transaction: each
/// (organization, key) once, in key order, so that two writers adding the
/// same new client cannot deadlock (the second waits for the first and then
/// finds it). A known client is left as it is.
pub async fn record(conn: &mut PgConnection, clients: &[Client<'_>]) -> sqlx::Result<()> {
    let distinct: BTreeMap<(&str, ClientKey), &Client> = clients.iter().map(|c| ((c.organization_id, c.key), c)).collect();
    if distinct.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Client) -> Option<String>| distinct.values().map(|c| f(c)).collect::<Vec<_>>();
    let organizations: Vec<&str> = distinct.keys().map(|(organization, _)| *organization).collect();
    sqlx::query(
        "insert into event_clients (organization_id, key, month, user_agent, client_info) \
         select organization_id, key, month, user_agent, client_info::jsonb \
         from unnest($1::text[], $2::bytea[], $3::date[], $4::text[], $5::text[]) \
             as c(organization_id, key, month, user_agent, client_info) \
         order by organization_id, key \
         on conflict do nothing",
    )
    .bind(organizations)
    .bind(distinct.values().map(|c| c.key.to_vec()).collect::<Vec<_>>())
    .bind(distinct.values().map(|c| c.month).collect::<Vec<_>>())
    .bind(column(|c| c.user_agent.map(str::to_string)))
    .bind(column(|c| c.info.clone()))
    .execute(conn)
    .await?;
    Ok(())
}
