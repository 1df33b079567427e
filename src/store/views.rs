//! The SQL of saved views: a user's own and the shared ones, saving, renaming,
//! deleting, and the view `/` opens for a user.

use sqlx::PgPool;

use crate::model::SavedView;

const COLUMNS: &str = "v.id, v.name, v.path, v.query, v.shared, u.email as owner_email, \
                       v.owner_id = $1 as mine, coalesce(me.default_view = v.id, false) as is_default";

/// The views `user` may open: their own and every shared one, by name.
pub async fn list(pool: &PgPool, user: i64) -> sqlx::Result<Vec<SavedView>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from saved_views v join console_users u on u.id = v.owner_id \
         left join console_users me on me.id = $1 \
         where v.owner_id = $1 or v.shared order by lower(v.name), v.id"
    ))
    .bind(user)
    .fetch_all(pool)
    .await
}

/// Save a view for `owner`; a view of the same name is replaced. Its id.
pub async fn save(pool: &PgPool, owner: i64, name: &str, path: &str, query: &str, shared: bool) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into saved_views (owner_id, name, path, query, shared) values ($1, $2, $3, $4, $5) \
         on conflict (owner_id, name) do update set path = excluded.path, query = excluded.query, \
             shared = excluded.shared, updated_at = now() \
         returning id",
    )
    .bind(owner)
    .bind(name)
    .bind(path)
    .bind(query)
    .bind(shared)
    .fetch_one(pool)
    .await
}

/// Rename one of `owner`'s views; whether it was theirs.
pub async fn rename(pool: &PgPool, owner: i64, id: i64, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("update saved_views set name = $3, updated_at = now() where id = $2 and owner_id = $1")
        .bind(owner)
        .bind(id)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Delete a view: `owner`'s own, or, when `any_shared`, any shared one. Its name when it was deleted.
pub async fn delete(pool: &PgPool, owner: i64, id: i64, any_shared: bool) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("delete from saved_views where id = $2 and (owner_id = $1 or ($3 and shared)) returning name")
        .bind(owner)
        .bind(id)
        .bind(any_shared)
        .fetch_optional(pool)
        .await
}

/// Make a view `user` may open their landing view (or none); whether it was one they may open.
pub async fn set_default(pool: &PgPool, user: i64, id: Option<i64>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update console_users set default_view = $2 where id = $1 \
         and ($2::int8 is null or exists (select from saved_views where id = $2 and (owner_id = $1 or shared)))",
    )
    .bind(user)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The view `/` opens for `user`, while they may still open it.
pub async fn landing(pool: &PgPool, user: i64) -> sqlx::Result<Option<SavedView>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from console_users me join saved_views v on v.id = me.default_view \
         join console_users u on u.id = v.owner_id \
         where me.id = $1 and (v.owner_id = $1 or v.shared)"
    ))
    .bind(user)
    .fetch_optional(pool)
    .await
}
