//! Events: pages of the explorer, one event with what relates to it, and the
//! history of a target.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};

use super::filter::{push_conditions, push_events_by_time, push_scope, push_span, query_of};
use super::{decoded, split_page, InOrder};
use crate::model::{ActorType, Category, Change, EventDetail, EventFilter, EventPage, EventSummary, EventView, Outcome, PageCursor, Scope, TargetHistory};

/// The columns of `EventSummary`, as a select list over `events`, in the
/// order [`SummaryRow`] reads them.
pub(super) const SUMMARY_COLUMNS: &str = "id, occurred_at, environment, nullif(organization_id, '') as organization_id, \
    coalesce(organization_name, nullif(organization_id, '')) as organization, type as event_type, category, outcome, \
    coalesce(actor_name, actor_email, actor_id, actor_type) as actor, \
    coalesce(actor_id, actor_email, actor_name, '') as actor_key, actor_email, \
    target_type, target_id, coalesce(target_name, target_id) as target, \
    app_id, coalesce(app_name, app_id) as app, host(client_ip) as client_ip, country_code";

/// An event's summary as read, its text borrowed from the row it came in.
pub(super) struct SummaryRow<'r> {
    id: &'r str,
    occurred_at: DateTime<Utc>,
    environment: &'r str,
    organization_id: Option<&'r str>,
    organization: Option<&'r str>,
    event_type: &'r str,
    category: Category,
    outcome: Outcome,
    actor: &'r str,
    actor_key: &'r str,
    actor_email: Option<&'r str>,
    target_type: Option<&'r str>,
    target_id: Option<&'r str>,
    target: Option<&'r str>,
    app_id: Option<&'r str>,
    app: Option<&'r str>,
    client_ip: Option<&'r str>,
    country_code: Option<&'r str>,
}

impl<'r> FromRow<'r, PgRow> for SummaryRow<'r> {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        SummaryRow::take(&mut InOrder::new(row))
    }
}

impl<'r> SummaryRow<'r> {
    /// The values of [`SUMMARY_COLUMNS`], in their order.
    fn take(c: &mut InOrder<'r>) -> sqlx::Result<Self> {
        Ok(SummaryRow {
            id: c.take("id")?,
            occurred_at: c.take("occurred_at")?,
            environment: c.take("environment")?,
            organization_id: c.take("organization_id")?,
            organization: c.take("organization")?,
            event_type: c.take("event_type")?,
            category: c.take("category")?,
            outcome: c.take("outcome")?,
            actor: c.take("actor")?,
            actor_key: c.take("actor_key")?,
            actor_email: c.take("actor_email")?,
            target_type: c.take("target_type")?,
            target_id: c.take("target_id")?,
            target: c.take("target")?,
            app_id: c.take("app_id")?,
            app: c.take("app")?,
            client_ip: c.take("client_ip")?,
            country_code: c.take("country_code")?,
        })
    }

    /// The keyset position of this row.
    fn cursor(&self) -> PageCursor {
        PageCursor { occurred_at: self.occurred_at, id: self.id.to_owned() }
    }
}

/// Borrowed text, owned.
fn owned(text: Option<&str>) -> Option<String> {
    text.map(str::to_owned)
}

impl From<SummaryRow<'_>> for EventSummary {
    fn from(r: SummaryRow<'_>) -> Self {
        EventSummary {
            id: r.id.to_owned(),
            occurred_at: r.occurred_at,
            environment: r.environment.to_owned(),
            organization_id: owned(r.organization_id),
            organization: owned(r.organization),
            event_type: r.event_type.to_owned(),
            category: r.category,
            outcome: r.outcome,
            actor: r.actor.to_owned(),
            actor_key: r.actor_key.to_owned(),
            actor_email: owned(r.actor_email),
            target_type: owned(r.target_type),
            target_id: owned(r.target_id),
            target: owned(r.target),
            app_id: owned(r.app_id),
            app: owned(r.app),
            client_ip: owned(r.client_ip),
            country_code: owned(r.country_code),
        }
    }
}

/// Newest events matching the filter in `[from, to)`, strictly older than
/// `before` when given. Keyset paging on `(occurred_at, id)`: stable under
/// inserts, no gaps or repeats between pages.
#[tracing::instrument(skip(pool))]
pub async fn list_events(
    pool: &PgPool,
    filter: &EventFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    before: Option<&PageCursor>,
    limit: u32,
) -> sqlx::Result<EventPage> {
    let mut q = newest_first(SUMMARY_COLUMNS, filter, from, to, before, limit);
    let rows = query_of(&mut q, filter).fetch_all(pool).await?;
    let (rows, next) = split_page(decoded::<SummaryRow>(&rows)?, limit as usize, SummaryRow::cursor);
    Ok(EventPage { now: Utc::now(), events: rows.into_iter().map(Into::into).collect(), next })
}

/// Like `list_events`, but whole events in the shape of the ingest API.
#[tracing::instrument(skip(pool))]
pub async fn list_full_events(
    pool: &PgPool,
    filter: &EventFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    before: Option<&PageCursor>,
    limit: u32,
) -> sqlx::Result<(ReadEvents, Option<PageCursor>)> {
    let columns = format!("{SUMMARY_COLUMNS}, {DETAIL_COLUMNS}");
    let mut q = newest_first(&columns, filter, from, to, before, limit);
    let rows = query_of(&mut q, filter).fetch_all(pool).await?;
    let (rows, next) = split_page(rows, limit as usize, |row| SummaryRow::from_row(row).map(|r| r.cursor()));
    Ok((ReadEvents { rows, clients: Vec::new() }, next.transpose()?))
}

/// The newest `limit` + 1 events of the filter, before `before` (when Vigil's
/// own events may be among them, the newest of those and of the others, merged:
/// [`push_events_by_time`]).
fn newest_first<'a>(
    columns: &str,
    filter: &'a EventFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    before: Option<&'a PageCursor>,
    limit: u32,
) -> QueryBuilder<'a, Postgres> {
    let mut q = QueryBuilder::<Postgres>::new("select * from ");
    push_events_by_time(&mut q, columns, filter, |q| push_newest(q, filter, from, to, before, limit));
    q.push(" newest order by occurred_at desc, id desc limit ").push_bind(i64::from(limit) + 1);
    q
}

/// The span, the filter and the cursor's conditions, newest first.
fn push_newest<'a>(
    q: &mut QueryBuilder<'a, Postgres>,
    filter: &'a EventFilter,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    before: Option<&'a PageCursor>,
    limit: u32,
) {
    if let Some(from) = from {
        push_span(q, from, to);
    }
    push_conditions(q, filter);
    if let Some(cursor) = before {
        q.push(" and (occurred_at, id) < (")
            .push_bind(cursor.occurred_at)
            .push(", ")
            .push_bind(&cursor.id)
            .push(")");
    }
    q.push(" order by occurred_at desc, id desc limit ").push_bind(i64::from(limit) + 1);
}

/// How many events the store holds (from the hourly rollup, so it is quick).
pub async fn event_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select coalesce(sum(events), 0)::int8 from event_counts").fetch_one(pool).await
}

/// Whether the store holds any event (the demo loads only into an empty store).
pub async fn has_events(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists(select 1 from events)").fetch_one(pool).await
}

/// An event as Vigil holds it, in the shape of the ingest API plus what Vigil
/// added (`seq`, `received_at`, `enrichment`): what the list and export APIs
/// send and the detail page shows as raw JSON. Its text is borrowed from the
/// row it came in, and it is written straight from there: the stored JSON
/// columns pass through as PostgreSQL gives them, with no JSON tree and no
/// copy of a string per event (an export writes millions).
pub struct RawEvent<'r> {
    summary: SummaryRow<'r>,
    pub(super) seq: i64,
    received_at: DateTime<Utc>,
    organization_name: Option<&'r str>,
    app_name: Option<&'r str>,
    reason: Option<&'r str>,
    actor_type: ActorType,
    actor_id: Option<&'r str>,
    actor_name: Option<&'r str>,
    actor_role: Option<&'r str>,
    actor_session_id: Option<&'r str>,
    actor_api_key_id: Option<&'r str>,
    target_name: Option<&'r str>,
    changes: Option<&'r RawValue>,
    request_id: Option<&'r str>,
    request_method: Option<&'r str>,
    request_path: Option<&'r str>,
    request_status: Option<i32>,
    request: Option<&'r RawValue>,
    response: Option<&'r RawValue>,
    user_agent: Option<&'r str>,
    machine_id: Option<&'r str>,
    details: Option<&'r RawValue>,
    client_info: Option<&'r RawValue>,
}

/// Read from [`SUMMARY_COLUMNS`] and [`DETAIL_COLUMNS`], in that order, first in the row.
impl<'r> FromRow<'r, PgRow> for RawEvent<'r> {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let c = &mut InOrder::new(row);
        Ok(RawEvent {
            summary: SummaryRow::take(c)?,
            seq: c.take("seq")?,
            received_at: c.take("received_at")?,
            organization_name: c.take("organization_name")?,
            app_name: c.take("app_name")?,
            reason: c.take("reason")?,
            actor_type: c.take("actor_type")?,
            actor_id: c.take("actor_id")?,
            actor_name: c.take("actor_name")?,
            actor_role: c.take("actor_role")?,
            actor_session_id: c.take("actor_session_id")?,
            actor_api_key_id: c.take("actor_api_key_id")?,
            target_name: c.take("target_name")?,
            changes: c.take("changes")?,
            request_id: c.take("request_id")?,
            request_method: c.take("request_method")?,
            request_path: c.take("request_path")?,
            request_status: c.take("request_status")?,
            request: c.take("request")?,
            response: c.take("response")?,
            user_agent: c.take("user_agent")?,
            machine_id: c.take("machine_id")?,
            details: c.take("details")?,
            client_info: c.take("client_info")?,
        })
    }
}

/// The rest of a whole event, after [`SUMMARY_COLUMNS`], in the order
/// [`RawEvent`] reads them.
pub(super) const DETAIL_COLUMNS: &str = "seq, received_at, organization_name, app_name, reason, actor_type, \
    actor_id, actor_name, actor_role, actor_session_id, actor_api_key_id, target_name, changes, \
    request_id, request_method, request_path, request_status, request, response, user_agent, \
    machine_id, details, client_info";

/// Whole events as read and not yet decoded, to be written (as JSON, NDJSON
/// or CSV) where they are sent, straight from their rows.
pub struct ReadEvents {
    pub(super) rows: Vec<PgRow>,
    /// The client of each row, where the event refers to a stored one
    /// (empty when read from `events_with_client`, which joins them).
    pub(super) clients: Vec<Option<Arc<StoredClient>>>,
}

/// A client as stored (migration 28): what events of the same client share.
pub(super) struct StoredClient {
    pub(super) user_agent: Option<String>,
    pub(super) client_info: Option<Box<RawValue>>,
}

impl ReadEvents {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The events written by `write`.
    pub fn write<O>(&self, write: impl FnOnce(&[RawEvent<'_>]) -> O) -> sqlx::Result<O> {
        let mut events: Vec<RawEvent> = decoded(&self.rows)?;
        for (event, client) in events.iter_mut().zip(&self.clients) {
            if let Some(client) = client {
                // Where the event keeps none of its own, as `events_with_client` does.
                event.user_agent = event.user_agent.or(client.user_agent.as_deref());
                event.client_info = event.client_info.or(client.client_info.as_deref());
            }
        }
        Ok(write(&events))
    }
}

impl From<RawEvent<'_>> for EventDetail {
    fn from(r: RawEvent<'_>) -> Self {
        let pretty = |v: Option<&RawValue>| v.map(pretty_json);
        let raw = serde_json::to_value(&r).map(|v| serde_json::to_string_pretty(&v).unwrap_or_default()).unwrap_or_default();
        let changes = match r.changes.and_then(|v| serde_json::from_str(v.get()).ok()) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|c| Change {
                    field: c["field"].as_str().unwrap_or_default().to_string(),
                    old: c.get("old").filter(|v| !v.is_null()).map(Value::to_string),
                    new: c.get("new").filter(|v| !v.is_null()).map(Value::to_string),
                })
                .collect(),
            _ => Vec::new(),
        };
        EventDetail {
            seq: r.seq,
            received_at: r.received_at,
            reason: owned(r.reason),
            actor_type: r.actor_type,
            actor_id: owned(r.actor_id),
            actor_name: owned(r.actor_name),
            actor_role: owned(r.actor_role),
            actor_session_id: owned(r.actor_session_id),
            actor_api_key_id: owned(r.actor_api_key_id),
            changes,
            request_id: owned(r.request_id),
            request_method: owned(r.request_method),
            request_path: owned(r.request_path),
            request_status: r.request_status,
            request: pretty(r.request),
            response: pretty(r.response),
            details: pretty(r.details),
            user_agent: owned(r.user_agent),
            machine_id: owned(r.machine_id),
            client: r.client_info.and_then(|v| serde_json::from_str(v.get()).ok()),
            raw,
            summary: r.summary.into(),
        }
    }
}

/// Stored JSON, indented for reading.
fn pretty_json(raw: &RawValue) -> String {
    serde_json::from_str::<Value>(raw.get()).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|_| raw.get().to_string())
}

impl Serialize for RawEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (r, s) = (self, &self.summary);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &s.id)?;
        map.serialize_entry("occurred_at", &s.occurred_at)?;
        map.serialize_entry("received_at", &r.received_at)?;
        map.serialize_entry("seq", &r.seq)?;
        map.serialize_entry("environment", &s.environment)?;
        object(&mut map, "organization", &[("id", s.organization_id), ("name", r.organization_name)])?;
        object(&mut map, "app", &[("id", s.app_id), ("name", r.app_name)])?;
        map.serialize_entry("type", &s.event_type)?;
        map.serialize_entry("category", &s.category)?;
        map.serialize_entry("outcome", &s.outcome)?;
        present(&mut map, "reason", &r.reason)?;
        let actor = [
            ("type", Some(r.actor_type.as_str())),
            ("id", r.actor_id),
            ("name", r.actor_name),
            ("email", s.actor_email),
            ("role", r.actor_role),
            ("session_id", r.actor_session_id),
            ("api_key_id", r.actor_api_key_id),
        ];
        object(&mut map, "actor", &actor)?;
        let target = [("type", s.target_type), ("id", s.target_id), ("name", r.target_name)];
        object(&mut map, "target", &target)?;
        present(&mut map, "changes", &r.changes)?;
        present(&mut map, "request", &r.request)?;
        present(&mut map, "response", &r.response)?;
        let client = [("ip", s.client_ip), ("user_agent", r.user_agent), ("machine_id", r.machine_id)];
        object(&mut map, "client", &client)?;
        present(&mut map, "details", &r.details)?;
        present(&mut map, "enrichment", &r.client_info)?;
        map.end()
    }
}

/// An entry, left out when it has no value.
fn present<M: SerializeMap, V: Serialize>(map: &mut M, key: &str, value: &Option<V>) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(key, value),
        None => Ok(()),
    }
}

/// A nested object of text fields, left out when none has a value.
fn object<M: SerializeMap>(map: &mut M, key: &str, fields: &[(&str, Option<&str>)]) -> Result<(), M::Error> {
    if fields.iter().all(|(_, value)| value.is_none()) {
        return Ok(());
    }
    map.serialize_entry(key, &Fields(fields))
}

struct Fields<'a>(&'a [(&'a str, Option<&'a str>)]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.0 {
            present(&mut map, key, value)?;
        }
        map.end()
    }
}

/// One event by id, found through the id ledger (which names its partition);
/// the newest in `scope` when the id recurs in several environments or
/// organizations. Out of `scope`, an event does not exist.
#[tracing::instrument(skip(pool))]
pub async fn get_event(pool: &PgPool, id: &str, scope: &Scope) -> sqlx::Result<Option<EventDetail>> {
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "select {SUMMARY_COLUMNS}, {DETAIL_COLUMNS} from events_with_client \
         where (organization_id, occurred_at, id, environment) = \
               (select organization_id, occurred_at, id, environment from event_ids where id = "
    ));
    q.push_bind(id);
    push_scope(&mut q, scope);
    q.push(" order by occurred_at desc limit 1)");
    let row = q.build().fetch_optional(pool).await?;
    row.as_ref().map(|row| RawEvent::from_row(row).map(Into::into)).transpose()
}

/// The detail page: one event, the rest of its session and of its request.
pub async fn event_view(pool: &PgPool, id: &str, scope: &Scope) -> sqlx::Result<Option<EventView>> {
    let Some(event) = get_event(pool, id, scope).await? else {
        return Ok(None);
    };
    let related = |column: &'static str, value: Option<String>| async move {
        let Some(value) = value else { return Ok(Vec::new()) };
        let mut q = QueryBuilder::<Postgres>::new(format!("select {SUMMARY_COLUMNS} from events where {column} = "));
        q.push_bind(value);
        push_scope(&mut q, scope);
        q.push(" order by occurred_at, id limit 200");
        let rows = q.build().fetch_all(pool).await?;
        Ok::<_, sqlx::Error>(decoded::<SummaryRow>(&rows)?.into_iter().map(Into::into).collect())
    };
    let (same_session, same_request) = tokio::try_join!(
        related("actor_session_id", event.actor_session_id.clone()),
        related("request_id", event.request_id.clone()),
    )?;
    Ok(Some(EventView { now: Utc::now(), event, same_session, same_request }))
}

/// Every event about one target, oldest first, after the `after` cursor.
#[tracing::instrument(skip(pool))]
pub async fn target_history(
    pool: &PgPool,
    target_type: &str,
    target_id: &str,
    scope: &Scope,
    after: Option<&PageCursor>,
    limit: u32,
) -> sqlx::Result<TargetHistory> {
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "select {SUMMARY_COLUMNS}, {DETAIL_COLUMNS} from events_with_client where target_id = "
    ));
    q.push_bind(target_id).push(" and target_type = ").push_bind(target_type);
    push_scope(&mut q, scope);
    if let Some(cursor) = after {
        q.push(" and (occurred_at, id) > (")
            .push_bind(cursor.occurred_at)
            .push(", ")
            .push_bind(&cursor.id)
            .push(")");
    }
    q.push(" order by occurred_at, id limit ").push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(pool).await?;
    let (rows, next) = split_page(decoded::<RawEvent>(&rows)?, limit as usize, |r| r.summary.cursor());
    let target_name = owned(rows.iter().rev().find_map(|r| r.target_name));
    Ok(TargetHistory {
        now: Utc::now(),
        target_type: target_type.to_string(),
        target_id: target_id.to_string(),
        target_name,
        events: rows.into_iter().map(Into::into).collect(),
        next,
    })
}
