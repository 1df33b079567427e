//! Writes to the event store: connecting, migrating, creating monthly
//! partitions and inserting batches. The only place with INSERT. `access`
//! holds the SQL of console users, API keys and console sessions.

pub mod access;

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::DatabaseConfig;
use crate::ingest::NewEvent;

/// Connect, run pending migrations and make sure the coming months have partitions.
#[tracing::instrument(skip_all)]
pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    // JIT compilation costs tens of milliseconds per query that crosses its cost
    // threshold, more than it saves on the explorer's short queries.
    let options = PgConnectOptions::from_str(&config.database_url)?.options([("jit", "off")]);
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .connect_with(options)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Apply the migrations in `migrations/` and create partitions for this month and the next three.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!().run(pool).await?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone()).migrate().await?;
    let this_month = month_of(Utc::now().date_naive());
    let ahead: Vec<NaiveDate> = (0..4).map(|n| this_month + Months::new(n)).collect();
    ensure_partitions(pool, &ahead).await?;
    Ok(())
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// Create the monthly partitions that hold the given days, if missing. Safe to
/// call concurrently: the database function serialises creation per month.
#[tracing::instrument(skip_all)]
pub async fn ensure_partitions(pool: &PgPool, days: &[NaiveDate]) -> sqlx::Result<()> {
    let months: Vec<NaiveDate> =
        days.iter().map(|d| month_of(*d)).collect::<BTreeSet<_>>().into_iter().collect();
    sqlx::query("select vigil_ensure_month_partition(m) from unnest($1::date[]) as m")
        .bind(&months)
        .execute(pool)
        .await?;
    Ok(())
}

/// What happened to a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub inserted: u64,
    pub duplicates: u64,
}

/// Insert a batch in one statement (UNNEST of column arrays), together with its
/// rollups (counts per quarter hour, hour and day, each in full and coarse, per
/// actor and day, and the daily values of each dimension), the sessions it
/// touches and the names it mentions. An event whose id is already stored, or
/// repeated within the batch, is counted as a duplicate and not written again.
/// When this returns, the batch is committed.
///
/// Batches are written one at a time under a transaction-scoped advisory lock,
/// so ingestion sequence numbers become visible in order: a reader that sees
/// `seq = n` also sees every committed `seq < n`, which is what lets the export
/// cursor never skip an event.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn insert_events(pool: &PgPool, events: &[NewEvent]) -> sqlx::Result<InsertOutcome> {
    if events.is_empty() {
        return Ok(InsertOutcome::default());
    }
    let days: Vec<NaiveDate> = events.iter().map(|e| e.occurred_at.date_naive()).collect();
    ensure_partitions(pool, &days).await?;

    let mut seen = std::collections::HashSet::with_capacity(events.len());
    let unique: Vec<&NewEvent> = events.iter().filter(|e| seen.insert(e.id.as_str())).collect();
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)").bind(SEQUENCE_ORDER_LOCK).execute(&mut *tx).await?;
    let inserted = insert_batch(&mut *tx, &unique).await?;
    tx.commit().await?;
    Ok(InsertOutcome { inserted, duplicates: events.len() as u64 - inserted })
}

/// Advisory lock key that serialises batch inserts ("vigilseq").
const SEQUENCE_ORDER_LOCK: i64 = 0x7669_6769_6c73_6571;

async fn insert_batch(tx: &mut sqlx::PgConnection, unique: &[&NewEvent]) -> sqlx::Result<u64> {
    let c = Columns::from(unique);

    let inserted: i64 = sqlx::query_scalar(INSERT_BATCH)
    .bind(c.id)
    .bind(c.occurred_at)
    .bind(c.environment)
    .bind(c.organization_id)
    .bind(c.organization_name)
    .bind(c.app_id)
    .bind(c.app_name)
    .bind(c.event_type)
    .bind(c.category)
    .bind(c.outcome)
    .bind(c.reason)
    .bind(c.actor_type)
    .bind(c.actor_id)
    .bind(c.actor_name)
    .bind(c.actor_email)
    .bind(c.actor_role)
    .bind(c.actor_session_id)
    .bind(c.actor_api_key_id)
    .bind(c.target_type)
    .bind(c.target_id)
    .bind(c.target_name)
    .bind(c.changes)
    .bind(c.request_id)
    .bind(c.request_method)
    .bind(c.request_path)
    .bind(c.request_status)
    .bind(c.request)
    .bind(c.response)
    .bind(c.client_ip)
    .bind(c.user_agent)
    .bind(c.machine_id)
    .bind(c.details)
    .bind(c.client_info)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(FLAG_NEW_SESSIONS).execute(&mut *tx).await?;

    Ok(inserted as u64)
}

type Texts = Vec<Option<String>>;
type Jsons = Vec<Option<serde_json::Value>>;

/// A batch turned inside out: one array per column, for UNNEST.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    occurred_at: Vec<chrono::DateTime<Utc>>,
    environment: Vec<String>,
    organization_id: Vec<String>,
    organization_name: Texts,
    app_id: Texts,
    app_name: Texts,
    event_type: Vec<String>,
    category: Vec<String>,
    outcome: Vec<String>,
    reason: Texts,
    actor_type: Vec<String>,
    actor_id: Texts,
    actor_name: Texts,
    actor_email: Texts,
    actor_role: Texts,
    actor_session_id: Texts,
    actor_api_key_id: Texts,
    target_type: Texts,
    target_id: Texts,
    target_name: Texts,
    changes: Jsons,
    request_id: Texts,
    request_method: Texts,
    request_path: Texts,
    request_status: Vec<Option<i32>>,
    request: Jsons,
    response: Jsons,
    client_ip: Texts,
    user_agent: Texts,
    machine_id: Texts,
    details: Jsons,
    client_info: Jsons,
}

impl From<&[&NewEvent]> for Columns {
    fn from(events: &[&NewEvent]) -> Self {
        let mut c = Columns::default();
        for e in events.iter().copied().cloned() {
            c.id.push(e.id);
            c.occurred_at.push(e.occurred_at);
            c.environment.push(e.environment);
            c.organization_id.push(e.organization_id);
            c.organization_name.push(e.organization_name);
            c.app_id.push(e.app_id);
            c.app_name.push(e.app_name);
            c.event_type.push(e.event_type);
            c.category.push(e.category);
            c.outcome.push(e.outcome);
            c.reason.push(e.reason);
            c.actor_type.push(e.actor_type);
            c.actor_id.push(e.actor_id);
            c.actor_name.push(e.actor_name);
            c.actor_email.push(e.actor_email);
            c.actor_role.push(e.actor_role);
            c.actor_session_id.push(e.actor_session_id);
            c.actor_api_key_id.push(e.actor_api_key_id);
            c.target_type.push(e.target_type);
            c.target_id.push(e.target_id);
            c.target_name.push(e.target_name);
            c.changes.push(e.changes);
            c.request_id.push(e.request_id);
            c.request_method.push(e.request_method);
            c.request_path.push(e.request_path);
            c.request_status.push(e.request_status);
            c.request.push(e.request);
            c.response.push(e.response);
            c.client_ip.push(e.client_ip);
            c.user_agent.push(e.user_agent);
            c.machine_id.push(e.machine_id);
            c.details.push(e.details);
            c.client_info.push(e.client_info.map(|i| serde_json::to_value(i).expect("serialisable")));
        }
        c
    }
}

const INSERT_BATCH: &str = r#"
with batch as (
    select * from unnest(
        $1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
        $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
        $19::text[], $20::text[], $21::text[], $22::jsonb[], $23::text[], $24::text[],
        $25::text[], $26::int4[], $27::jsonb[], $28::jsonb[], $29::text[], $30::text[],
        $31::text[], $32::jsonb[], $33::jsonb[]
    ) as b(
        id, occurred_at, environment, organization_id, organization_name, app_id,
        app_name, type, category, outcome, reason, actor_type,
        actor_id, actor_name, actor_email, actor_role, actor_session_id, actor_api_key_id,
        target_type, target_id, target_name, changes, request_id, request_method,
        request_path, request_status, request, response, client_ip, user_agent,
        machine_id, details, client_info
    )
),
claimed as (
    insert into event_ids (id, organization_id, occurred_at)
    select id, organization_id, occurred_at from batch
    on conflict (id) do nothing
    returning id
),
inserted as (
    insert into events (
        id, occurred_at, environment, organization_id, organization_name, app_id,
        app_name, type, category, outcome, reason, actor_type,
        actor_id, actor_name, actor_email, actor_role, actor_session_id, actor_api_key_id,
        target_type, target_id, target_name, changes, request_id, request_method,
        request_path, request_status, request, response, client_ip, user_agent,
        machine_id, details, client_info, country_code, device_type
    )
    select
        id, occurred_at, environment, organization_id, organization_name, app_id,
        app_name, type, category, outcome, reason, actor_type,
        actor_id, actor_name, actor_email, actor_role, actor_session_id, actor_api_key_id,
        target_type, target_id, target_name, changes, request_id, request_method,
        request_path, request_status, request, response, client_ip::inet, user_agent,
        machine_id, details, client_info, client_info->>'country_code', client_info->>'device_type'
    from batch join claimed using (id)
    returning occurred_at, environment, organization_id, organization_name, app_id, app_name,
              type, category, outcome, actor_key, actor_id, actor_name, actor_email, actor_role,
              actor_session_id, client_ip, user_agent, machine_id, client_info, country_code,
              device_type, search_text
),
sessioned as (
    insert into sessions (
        environment, organization_id, session_id, organization_name, user_key, user_name,
        user_email, user_role, started_at, last_seen, ended_at, events, ip, user_agent,
        machine_id, client_info, country_code, device_type, device_key, latitude, longitude
    )
    select s.environment, s.organization_id, s.session_id, r.organization_name,
           r.actor_key, r.actor_name, r.actor_email,
           r.actor_role, s.started, s.last, s.ended, s.n, r.client_ip, r.user_agent,
           r.machine_id, r.client_info, r.country_code, r.device_type,
           nullif(concat_ws(' | ', r.device_type, r.client_info->>'os', r.client_info->>'browser', r.machine_id), ''),
           (r.client_info->>'latitude')::float8, (r.client_info->>'longitude')::float8
    from (
        select environment, organization_id, actor_session_id as session_id,
               min(occurred_at) as started, max(occurred_at) as last, count(*) as n,
               max(occurred_at) filter (where type in ('session.sign_out', 'session.end', 'session.revoke', 'session.expire')) as ended
        from inserted where actor_session_id is not null
        group by 1, 2, 3
    ) s
    join (
        select distinct on (environment, organization_id, actor_session_id) *
        from inserted where actor_session_id is not null
        order by environment, organization_id, actor_session_id,
                 (type = 'session.sign_in') desc, (client_ip is null), occurred_at
    ) r on (r.environment, r.organization_id, r.actor_session_id) = (s.environment, s.organization_id, s.session_id)
    order by 1, 2, 3
    on conflict (environment, organization_id, session_id) do update set
        started_at = least(sessions.started_at, excluded.started_at),
        last_seen = greatest(sessions.last_seen, excluded.last_seen),
        ended_at = greatest(sessions.ended_at, excluded.ended_at),
        events = sessions.events + excluded.events,
        organization_name = coalesce(sessions.organization_name, excluded.organization_name),
        user_name = coalesce(sessions.user_name, excluded.user_name),
        user_email = coalesce(sessions.user_email, excluded.user_email),
        user_role = coalesce(sessions.user_role, excluded.user_role),
        ip = coalesce(sessions.ip, excluded.ip),
        user_agent = coalesce(sessions.user_agent, excluded.user_agent),
        machine_id = coalesce(sessions.machine_id, excluded.machine_id),
        client_info = coalesce(sessions.client_info, excluded.client_info),
        country_code = coalesce(sessions.country_code, excluded.country_code),
        device_type = coalesce(sessions.device_type, excluded.device_type),
        device_key = coalesce(sessions.device_key, excluded.device_key),
        latitude = coalesce(sessions.latitude, excluded.latitude),
        longitude = coalesce(sessions.longitude, excluded.longitude)
),
per_quarter as (
    -- The batch counted once at the finest grain the count rollups share; each
    -- of them sums these few rows up to its own grain and dimensions.
    select date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00') as quarter,
           environment, organization_id, coalesce(app_id, '') as app_id, type, category, outcome,
           count(*) as events
    from inserted
    group by 1, 2, 3, 4, 5, 6, 7
),
counted_quarter as (
    insert into event_counts_quarter (quarter, environment, organization_id, app_id, type, category, outcome, events)
    select quarter, environment, organization_id, app_id, type, category, outcome, events
    from per_quarter
    order by 1, 2, 3, 4, 5, 6, 7
    on conflict (quarter, environment, organization_id, app_id, type, category, outcome)
    do update set events = event_counts_quarter.events + excluded.events
),
counted_quarter_coarse as (
    insert into event_counts_quarter_coarse (quarter, environment, organization_id, category, events)
    select quarter, environment, organization_id, category, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (quarter, environment, organization_id, category)
    do update set events = event_counts_quarter_coarse.events + excluded.events
),
counted as (
    insert into event_counts (hour, environment, organization_id, app_id, type, category, outcome, events)
    select date_trunc('hour', quarter, 'UTC'), environment, organization_id, app_id, type, category, outcome, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4, 5, 6, 7
    order by 1, 2, 3, 4, 5, 6, 7
    on conflict (hour, environment, organization_id, app_id, type, category, outcome)
    do update set events = event_counts.events + excluded.events
),
counted_coarse as (
    insert into event_counts_coarse (hour, environment, organization_id, category, events)
    select date_trunc('hour', quarter, 'UTC'), environment, organization_id, category, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (hour, environment, organization_id, category)
    do update set events = event_counts_coarse.events + excluded.events
),
counted_daily as (
    insert into event_counts_daily (day, environment, organization_id, app_id, type, category, outcome, events)
    select (quarter at time zone 'UTC')::date, environment, organization_id, app_id, type, category, outcome, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4, 5, 6, 7
    order by 1, 2, 3, 4, 5, 6, 7
    on conflict (day, environment, organization_id, app_id, type, category, outcome)
    do update set events = event_counts_daily.events + excluded.events
),
counted_daily_coarse as (
    insert into event_counts_daily_coarse (day, environment, organization_id, category, events)
    select (quarter at time zone 'UTC')::date, environment, organization_id, category, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (day, environment, organization_id, category)
    do update set events = event_counts_daily_coarse.events + excluded.events
),
valued as (
    insert into event_values (day, environment, dimension, value, events)
    select day, environment, dimension, value, sum(events)::int8
    from (
        select (quarter at time zone 'UTC')::date as day, environment, events,
               unnest(array['organization', 'app', 'type', 'category', 'outcome']) as dimension,
               unnest(array[organization_id, app_id, type, category, outcome]) as value
        from per_quarter
    ) v
    where value <> ''
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (day, environment, dimension, value)
    do update set events = event_values.events + excluded.events
),
per_term_quarter as (
    -- Single words only (no punctuation), each once per event; migration 10 says why.
    select term, date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00') as quarter,
           environment, organization_id, category, count(*) as events
    from inserted, lateral (select distinct term from unnest(vigil_terms(search_text)) as term) as terms
    where term !~ '[^[:alnum:]]'
    group by 1, 2, 3, 4, 5
),
counted_terms_quarter as (
    insert into term_counts_quarter (term, quarter, environment, organization_id, category, events)
    select term, quarter, environment, organization_id, category, events
    from per_term_quarter
    order by 1, 2, 3, 4, 5
    on conflict (term, quarter, environment, organization_id, category)
    do update set events = term_counts_quarter.events + excluded.events
),
counted_terms_daily as (
    insert into term_counts_daily (term, day, environment, organization_id, category, events)
    select term, (quarter at time zone 'UTC')::date, environment, organization_id, category, sum(events)::int8
    from per_term_quarter
    group by 1, 2, 3, 4, 5
    order by 1, 2, 3, 4, 5
    on conflict (term, day, environment, organization_id, category)
    do update set events = term_counts_daily.events + excluded.events
),
counted_per_actor as (
    insert into actor_counts_daily (actor_key, day, environment, organization_id, app_id, type, category, outcome, events)
    select actor_key, (occurred_at at time zone 'UTC')::date, environment, organization_id,
           coalesce(app_id, ''), type, category, outcome, count(*)
    from inserted
    where actor_key is not null
    group by 1, 2, 3, 4, 5, 6, 7, 8
    order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (actor_key, day, environment, organization_id, app_id, type, category, outcome)
    do update set events = actor_counts_daily.events + excluded.events
),
named as (
    insert into names (kind, id, name, email, last_seen)
    select distinct on (kind, id) kind, id, name, email, seen
    from (
        select 'organization' as kind, organization_id as id, organization_name as name,
               null::text as email, occurred_at as seen
        from inserted where organization_id <> ''
        union all
        select 'app', app_id, app_name, null, occurred_at from inserted where app_id is not null
        union all
        select 'actor', actor_key, actor_name, actor_email, occurred_at
        from inserted
    ) mentioned
    order by kind, id, seen desc
    on conflict (kind, id) do update set
        name = case when excluded.last_seen >= names.last_seen
                    then coalesce(excluded.name, names.name) else names.name end,
        email = case when excluded.last_seen >= names.last_seen
                     then coalesce(excluded.email, names.email) else names.email end,
        last_seen = greatest(names.last_seen, excluded.last_seen)
)
select count(*) from inserted
"#;

/// Flag sessions created by the batch against the same user's earlier sessions:
/// a country or a device not seen before, and travel faster than an airliner
/// (over 900 km/h across more than 500 km) since the previous sign-in.
const FLAG_NEW_SESSIONS: &str = r#"
with fresh as (
    select * from sessions where flags is null
),
computed as (
    select f.environment, f.organization_id, f.session_id, array_remove(array[
        case when f.country_code is not null
              and exists (select 1 from sessions p where p.user_key = f.user_key and p.started_at < f.started_at and p.country_code is not null)
              and not exists (select 1 from sessions p where p.user_key = f.user_key and p.started_at < f.started_at and p.country_code = f.country_code)
             then 'new_country' end,
        case when f.device_key is not null
              and exists (select 1 from sessions p where p.user_key = f.user_key and p.started_at < f.started_at and p.device_key is not null)
              and not exists (select 1 from sessions p where p.user_key = f.user_key and p.started_at < f.started_at and p.device_key = f.device_key)
             then 'new_device' end,
        case when f.latitude is not null and exists (
                 select 1 from (
                     select p.latitude, p.longitude, p.started_at from sessions p
                     where p.user_key = f.user_key and p.started_at < f.started_at and p.latitude is not null
                     order by p.started_at desc limit 1
                 ) previous
                 where vigil_distance_km(previous.latitude, previous.longitude, f.latitude, f.longitude) > 500
                   and vigil_distance_km(previous.latitude, previous.longitude, f.latitude, f.longitude)
                       / greatest(extract(epoch from f.started_at - previous.started_at) / 3600, 0.001) > 900)
             then 'impossible_travel' end
    ], null) as flags
    from fresh f
)
update sessions s set flags = c.flags
from computed c
where (s.environment, s.organization_id, s.session_id) = (c.environment, c.organization_id, c.session_id)
"#;
