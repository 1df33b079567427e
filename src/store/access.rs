//! Console users, API keys and console sign-in sessions: all their SQL.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};

use crate::model::{ApiKey, ConsoleSession, ConsoleUser, Role, Scope};

#[derive(FromRow)]
struct UserRow {
    id: i64,
    email: String,
    role: String,
    environments: Vec<String>,
    organizations: Vec<String>,
    disabled: bool,
    created_at: DateTime<Utc>,
    last_sign_in_at: Option<DateTime<Utc>>,
    time_zone: Option<String>,
}

impl From<UserRow> for ConsoleUser {
    fn from(r: UserRow) -> Self {
        ConsoleUser {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or_default(),
            scope: Scope { environments: r.environments, organizations: r.organizations },
            disabled: r.disabled,
            created_at: r.created_at,
            last_sign_in_at: r.last_sign_in_at,
            time_zone: r.time_zone,
        }
    }
}

const USER_COLUMNS: &str = "id, email, role, environments, organizations, disabled, created_at, last_sign_in_at, time_zone";

pub async fn list_users(pool: &PgPool) -> sqlx::Result<Vec<ConsoleUser>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!("select {USER_COLUMNS} from console_users order by email"))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Set the time zone a user reads times in (`None`: their browser's).
pub async fn set_time_zone(pool: &PgPool, id: i64, zone: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("update console_users set time_zone = $2 where id = $1").bind(id).bind(zone).execute(pool).await?;
    Ok(())
}

pub async fn find_user(pool: &PgPool, id: i64) -> sqlx::Result<Option<ConsoleUser>> {
    let row: Option<UserRow> = sqlx::query_as(&format!("select {USER_COLUMNS} from console_users where id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(Into::into))
}

#[derive(FromRow)]
struct SignInRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// A user and their password hash, for signing in.
pub async fn user_for_sign_in(pool: &PgPool, email: &str) -> sqlx::Result<Option<(ConsoleUser, String)>> {
    let row: Option<SignInRow> =
        sqlx::query_as(&format!("select {USER_COLUMNS}, password_hash from console_users where email = $1"))
            .bind(email)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|r| (r.user.into(), r.password_hash)))
}

/// Create a user, or with `replace` give an existing one this password, role
/// and scope and end their console sessions (a disabled user stays disabled:
/// only an administrator enables them again). `None` when the user exists and
/// `replace` is false.
pub async fn upsert_user(
    pool: &PgPool,
    email: &str,
    password_hash: &str,
    role: Role,
    scope: &Scope,
    replace: bool,
) -> sqlx::Result<Option<ConsoleUser>> {
    let conflict = if replace {
        "do update set password_hash = excluded.password_hash, role = excluded.role, \
         environments = excluded.environments, organizations = excluded.organizations"
    } else {
        "do nothing"
    };
    let mut tx = pool.begin().await?;
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "insert into console_users (email, password_hash, role, environments, organizations) \
         values ($1, $2, $3, $4, $5) on conflict (email) {conflict} returning {USER_COLUMNS}"
    ))
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(&scope.environments)
    .bind(&scope.organizations)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user) = &row {
        revoke_user_sessions(&mut tx, user.id, "vigil user add --reset", None).await?;
    }
    tx.commit().await?;
    Ok(row.map(Into::into))
}

pub async fn update_user_access(pool: &PgPool, id: i64, role: Role, scope: &Scope) -> sqlx::Result<()> {
    sqlx::query("update console_users set role = $2, environments = $3, organizations = $4 where id = $1")
        .bind(id)
        .bind(role.as_str())
        .bind(&scope.environments)
        .bind(&scope.organizations)
        .execute(pool)
        .await?;
    Ok(())
}

/// Disable or enable a user; disabling also ends their console sessions.
pub async fn set_user_disabled(pool: &PgPool, id: i64, disabled: bool, by: &str) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("update console_users set disabled = $2 where id = $1").bind(id).bind(disabled).execute(&mut *tx).await?;
    if disabled {
        revoke_user_sessions(&mut tx, id, by, None).await?;
    }
    tx.commit().await
}

/// Replace a user's password and end their console sessions, all but
/// `keep` (the session of a user changing their own).
pub async fn set_password(pool: &PgPool, id: i64, password_hash: &str, by: &str, keep: Option<&str>) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("update console_users set password_hash = $2 where id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
    revoke_user_sessions(&mut tx, id, by, keep).await?;
    tx.commit().await
}

async fn revoke_user_sessions(tx: &mut sqlx::PgConnection, user_id: i64, by: &str, keep: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "update console_sessions set revoked_at = now(), revoked_by = $2 \
         where user_id = $1 and revoked_at is null and ($3::text is null or id <> $3)",
    )
    .bind(user_id)
    .bind(by)
    .bind(keep)
    .execute(tx)
    .await?;
    Ok(())
}

// ---- console sessions ----

/// What a new sign-in records about the browser.
pub struct NewConsoleSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<&'a str>,
    pub client_info: Option<serde_json::Value>,
}

pub async fn create_console_session(pool: &PgPool, s: &NewConsoleSession<'_>) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "insert into console_sessions (id, user_id, expires_at, ip, user_agent, client_info) \
         values ($1, $2, $3, $4::inet, $5, $6)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.expires_at)
    .bind(&s.ip)
    .bind(s.user_agent)
    .bind(&s.client_info)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update console_users set last_sign_in_at = now() where id = $1").bind(s.user_id).execute(&mut *tx).await?;
    tx.commit().await
}

/// The user of a console session that is still valid: not revoked, not past its
/// absolute expiry, seen within `idle_seconds`, and its user not disabled.
/// Marks the session as seen (at most every 15 s, to spare writes).
pub async fn live_session_user(pool: &PgPool, session_id: &str, idle_seconds: i64) -> sqlx::Result<Option<LiveSession>> {
    let row: Option<LiveSessionRow> = sqlx::query_as(&format!(
        "with live as ( \
           select s.id as session_id, s.last_seen_at, s.written_lsn, u.* from console_sessions s \
           join console_users u on u.id = s.user_id \
           where s.id = $1 and s.revoked_at is null and not u.disabled \
             and s.expires_at > now() and s.last_seen_at > now() - make_interval(secs => $2)), \
         touch as ( \
           update console_sessions set last_seen_at = now() \
           where id = (select session_id from live where last_seen_at < now() - interval '15 seconds')) \
         select {USER_COLUMNS}, (written_lsn - '0/0')::int8 as written_lsn from live"
    ))
    .bind(session_id)
    .bind(idle_seconds as f64)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| LiveSession { user: row.user.into(), written_lsn: row.written_lsn }))
}

/// A live console session: its user, and where the primary's WAL stood after
/// they last changed something (see [`mark_written`]).
pub struct LiveSession {
    pub user: ConsoleUser,
    pub written_lsn: Option<i64>,
}

#[derive(FromRow)]
struct LiveSessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    written_lsn: Option<i64>,
}

/// Note on the console session that its holder just changed something: the
/// primary's current WAL position, which a replica must have replayed before
/// it answers their reads.
pub async fn mark_written(pool: &PgPool, session_id: &str) -> sqlx::Result<()> {
    sqlx::query("update console_sessions set written_lsn = pg_current_wal_lsn() where id = $1")
        .bind(session_id)
        .execute(pool)
        .await
        .map(drop)
}

/// Take one sign-in attempt from the bucket of `attempt` (an account and an
/// address), shared by every instance: `burst` at once, then `per_second`.
/// False when the bucket is empty (nothing is taken then).
pub async fn take_sign_in_attempt(pool: &PgPool, attempt: &str, per_second: f64, burst: f64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "insert into sign_in_attempts as a (attempt, tokens, allowed) values (sha256(convert_to($1, 'UTF8')), $3 - 1, true) \
         on conflict (attempt) do update set (allowed, tokens, updated_at) = ( \
           select refilled >= 1, refilled - case when refilled >= 1 then 1 else 0 end, now() \
           from (select least($3, a.tokens + extract(epoch from now() - a.updated_at)::float8 * $2) as refilled) r) \
         returning allowed",
    )
    .bind(attempt)
    .bind(per_second)
    .bind(burst)
    .fetch_one(pool)
    .await
}

/// Forget sign-in buckets untouched for a day (full again by then).
pub async fn prune_sign_in_attempts(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query("delete from sign_in_attempts where updated_at < now() - interval '1 day'").execute(pool).await?;
    Ok(done.rows_affected())
}

/// Revoke one console session; false when it was not live.
pub async fn revoke_console_session(pool: &PgPool, session_id: &str, by: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("update console_sessions set revoked_at = now(), revoked_by = $2 where id = $1 and revoked_at is null")
        .bind(session_id)
        .bind(by)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Console sessions that are neither revoked nor expired, most recently seen first.
pub async fn live_console_sessions(pool: &PgPool, idle_seconds: i64, current: &str) -> sqlx::Result<Vec<ConsoleSession>> {
    let rows: Vec<(String, String, DateTime<Utc>, DateTime<Utc>, Option<String>, Option<serde_json::Value>)> = sqlx::query_as(
        "select s.id, u.email, s.created_at, s.last_seen_at, host(s.ip), s.client_info \
         from console_sessions s join console_users u on u.id = s.user_id \
         where s.revoked_at is null and not u.disabled and s.expires_at > now() \
           and s.last_seen_at > now() - make_interval(secs => $1) \
         order by s.last_seen_at desc limit 500",
    )
    .bind(idle_seconds as f64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, created_at, last_seen_at, ip, client)| ConsoleSession {
            current: id == current,
            id,
            email,
            created_at,
            last_seen_at,
            ip,
            client: client.and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default(),
        })
        .collect())
}

// ---- API keys ----

#[derive(FromRow)]
struct KeyRow {
    id: i64,
    name: String,
    kind: String,
    prefix: String,
    environments: Vec<String>,
    organizations: Vec<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for ApiKey {
    fn from(r: KeyRow) -> Self {
        ApiKey {
            id: r.id,
            name: r.name,
            kind: r.kind,
            prefix: r.prefix,
            scope: Scope { environments: r.environments, organizations: r.organizations },
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

const KEY_COLUMNS: &str =
    "id, name, kind, prefix, environments, organizations, created_by, created_at, last_used_at, revoked_at";

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scope: &'a Scope,
    pub created_by: &'a str,
}

pub async fn create_api_key(pool: &PgPool, k: &NewApiKey<'_>) -> sqlx::Result<ApiKey> {
    let row: KeyRow = sqlx::query_as(&format!(
        "insert into api_keys (name, kind, prefix, key_hash, environments, organizations, created_by) \
         values ($1, $2, $3, $4, $5, $6, $7) returning {KEY_COLUMNS}"
    ))
    .bind(k.name)
    .bind(k.kind)
    .bind(k.prefix)
    .bind(k.key_hash)
    .bind(&k.scope.environments)
    .bind(&k.scope.organizations)
    .bind(k.created_by)
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

pub async fn list_api_keys(pool: &PgPool) -> sqlx::Result<Vec<ApiKey>> {
    let rows: Vec<KeyRow> =
        sqlx::query_as(&format!("select {KEY_COLUMNS} from api_keys order by revoked_at is not null, created_at desc"))
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The live key of `kind` with this hash, marked as used (at most once a minute).
pub async fn use_api_key(pool: &PgPool, kind: &str, key_hash: &str) -> sqlx::Result<Option<ApiKey>> {
    let row: Option<KeyRow> = sqlx::query_as(&format!(
        "select {KEY_COLUMNS} from api_keys where key_hash = $1 and kind = $2 and revoked_at is null"
    ))
    .bind(key_hash)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    // The last use, to the minute: no write for every request.
    let stale = row.last_used_at.is_none_or(|at| at < Utc::now() - chrono::Duration::minutes(1));
    if stale {
        sqlx::query("update api_keys set last_used_at = now() where id = $1").bind(row.id).execute(pool).await?;
    }
    Ok(Some(row.into()))
}

/// Revoke a key; the key as it was, or `None` when there is no live key with this id.
pub async fn revoke_api_key(pool: &PgPool, id: i64, by: &str) -> sqlx::Result<Option<ApiKey>> {
    let row: Option<KeyRow> = sqlx::query_as(&format!(
        "update api_keys set revoked_at = now(), revoked_by = $2 where id = $1 and revoked_at is null returning {KEY_COLUMNS}"
    ))
    .bind(id)
    .bind(by)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}

// ---- the token secret ----

/// The secret that signs page tokens and export cursors when none is
/// configured: drawn on the first start and kept, so tokens survive restarts
/// and every instance signs alike. Drawn by PostgreSQL's strong random source:
/// two version-4 UUIDs, 244 random bits as 64 hex digits.
pub async fn token_secret(pool: &PgPool) -> sqlx::Result<String> {
    sqlx::query(
        "insert into server_secrets (name, value) \
         values ('token_signer', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')) \
         on conflict (name) do nothing",
    )
        .execute(pool)
        .await?;
    sqlx::query_scalar("select value from server_secrets where name = 'token_signer'").fetch_one(pool).await
}
