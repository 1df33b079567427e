//! Server functions behind the sessions pages, read in the signed-in user's scope.

use leptos::prelude::*;

/// Sessions for the sessions page, filtered by the URL query, and the map of their places.
#[server]
pub async fn sessions_page(query: String) -> Result<crate::model::Charted<crate::model::SessionList>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let mut filter = crate::model::SessionFilter::from_query(&query);
    filter.scope = principal.scope();
    let after = super::cursor_param(crate::model::query_param(&query, "before").as_deref(), crate::model::SessionCursor::decode)?;
    let pool = state.reads(principal.read_after);
    let limit = crate::model::SESSION_PAGE_LIMIT;
    let list = crate::query::list_sessions(pool, &filter, state.session_idle_minutes, limit, after.as_ref(), &state.session_options)
        .await
        .map_err(crate::error::from_database)?;
    let chart = crate::charts::places(&list.places);
    Ok(crate::model::Charted { data: list, chart })
}

/// One session with its timeline, and the map of its places.
#[server]
pub async fn session_page(id: String) -> Result<Option<crate::model::Charted<crate::model::SessionView>>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let view = crate::query::session_view(state.reads(principal.read_after), &id, &principal.scope(), state.session_idle_minutes)
        .await
        .map_err(crate::error::from_database)?;
    Ok(view.map(|view| {
        let chart = crate::charts::path(&view.path);
        crate::model::Charted { data: view, chart }
    }))
}
