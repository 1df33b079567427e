//! Reads for the console and the API: one function per question a screen asks.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};

use crate::model::{EventPage, EventSummary, PageCursor};

#[derive(FromRow)]
struct SummaryRow {
    id: String,
    occurred_at: DateTime<Utc>,
    environment: String,
    organization: Option<String>,
    event_type: String,
    category: String,
    outcome: String,
    actor: String,
    actor_email: Option<String>,
    target_type: Option<String>,
    target: Option<String>,
    app: Option<String>,
    client_ip: Option<String>,
}

impl From<SummaryRow> for EventSummary {
    fn from(r: SummaryRow) -> Self {
        EventSummary {
            id: r.id,
            occurred_at: r.occurred_at,
            environment: r.environment,
            organization: r.organization,
            event_type: r.event_type,
            category: r.category,
            outcome: r.outcome,
            actor: r.actor,
            actor_email: r.actor_email,
            target_type: r.target_type,
            target: r.target,
            app: r.app,
            client_ip: r.client_ip,
        }
    }
}

/// Newest events first, strictly older than `before` when given. Keyset paging
/// on `(occurred_at, id)`: stable under inserts, no gaps or repeats between pages.
#[tracing::instrument(skip(pool))]
pub async fn list_events(
    pool: &PgPool,
    before: Option<&PageCursor>,
    limit: u32,
) -> sqlx::Result<EventPage> {
    let mut q = QueryBuilder::<Postgres>::new(
        r#"select id, occurred_at, environment,
                  coalesce(organization_name, nullif(organization_id, '')) as organization,
                  type as event_type, category, outcome,
                  coalesce(actor_name, actor_email, actor_id, actor_type) as actor, actor_email,
                  target_type, coalesce(target_name, target_id) as target,
                  coalesce(app_name, app_id) as app, host(client_ip) as client_ip
           from events where true"#,
    );
    if let Some(cursor) = before {
        q.push(" and (occurred_at, id) < (")
            .push_bind(cursor.occurred_at)
            .push(", ")
            .push_bind(&cursor.id)
            .push(")");
    }
    q.push(" order by occurred_at desc, id desc limit ").push_bind(i64::from(limit) + 1);

    let mut rows: Vec<SummaryRow> = q.build_query_as().fetch_all(pool).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| PageCursor { occurred_at: r.occurred_at, id: r.id.clone() })
    } else {
        None
    };
    Ok(EventPage { now: Utc::now(), events: rows.into_iter().map(Into::into).collect(), next })
}

/// Whether the store holds any event (the demo loads only into an empty store).
pub async fn has_events(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists(select 1 from events)").fetch_one(pool).await
}
