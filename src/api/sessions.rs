//! Server functions behind the sessions pages, read in the signed-in user's scope.

use leptos::prelude::*;

/// Sessions for the sessions page, filtered by the URL query.
#[server]
pub async fn sessions_page(query: String) -> Result<crate::model::SessionList, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let mut filter = crate::model::SessionFilter::from_query(&query);
    filter.scope = principal.scope();
    let pool = state.reads(principal.read_after);
    crate::query::list_sessions(pool, &filter, state.session_idle_minutes, crate::model::SESSION_PAGE_LIMIT, &state.session_options)
        .await
        .map_err(crate::error::from_database)
}

/// One session with its timeline.
#[server]
pub async fn session_page(id: String) -> Result<Option<crate::model::SessionView>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    crate::query::session_view(state.reads(principal.read_after), &id, &principal.scope(), state.session_idle_minutes)
        .await
        .map_err(crate::error::from_database)
}
