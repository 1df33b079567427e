//! Leases for background work that one instance at a time should do: a
//! session-level advisory lock held on a connection of its own (not pooled),
//! so it ends with the connection — when the instance stops or dies, the
//! database releases it and another instance takes over at its next try. The
//! holder is visible in `pg_locks` by its connection's application name.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, PgPool};

/// A held lease; dropping it closes its connection and so releases it.
pub struct Lease {
    connection: PgConnection,
}

impl Lease {
    /// Take the lease `key` if no one holds it, on a new connection made like the pool's.
    pub async fn try_acquire(pool: &PgPool, key: i64) -> sqlx::Result<Option<Lease>> {
        let mut connection = PgConnection::connect_with(&pool.connect_options()).await?;
        let taken: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)").bind(key).fetch_one(&mut connection).await?;
        if !taken {
            connection.close().await?;
            return Ok(None);
        }
        Ok(Some(Lease { connection }))
    }

    /// Whether the lease is still held (its connection still answers).
    pub async fn held(&mut self) -> bool {
        self.connection.ping().await.is_ok()
    }
}

/// The application name (instance) of the connection holding the lease `key`, if any.
pub async fn holder(pool: &PgPool, key: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select substr(a.application_name, length($2) + 1) from pg_locks l join pg_stat_activity a on a.pid = l.pid \
         where l.locktype = 'advisory' and l.granted and l.objsubid = 1 \
           and l.database = (select oid from pg_database where datname = current_database()) \
           and ((l.classid::int8 << 32) | l.objid::int8) = $1 and starts_with(a.application_name, $2)",
    )
    .bind(key)
    .bind(crate::state::CONNECTION_PREFIX)
    .fetch_optional(pool)
    .await
}
