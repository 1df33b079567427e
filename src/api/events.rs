//! Server functions behind the explorer, the event-detail and the target-history pages.

use leptos::prelude::*;

use crate::model::{EventDetail, EventView, Explore, PageCursor, TargetHistory};

/// A page cursor from the URL: absent or empty is none, anything unreadable an error.
fn cursor_param(text: Option<&str>) -> Result<Option<PageCursor>, ServerFnError> {
    text.filter(|t| !t.is_empty())
        .map(|t| PageCursor::decode(t).ok_or_else(|| ServerFnError::new("invalid page cursor")))
        .transpose()
}

/// Everything the explorer shows for the URL query `query`: the page of events,
/// the histogram and the option lists, computed at one instant so they agree.
#[server]
pub async fn explore_events(query: String) -> Result<Explore, ServerFnError> {
    use crate::model::{parse_query, EventFilter, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
    use crate::query::{filter::resolve_span, filter_options, histogram, list_events};

    let state = expect_context::<crate::server::AppState>();
    let filter = EventFilter::from_query(&query);
    let before = parse_query(&query).into_iter().find(|(k, _)| k == "before").map(|(_, v)| v);
    let before = cursor_param(before.as_deref())?;
    let size = filter.size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);

    let now = chrono::Utc::now();
    let span = resolve_span(&filter, now);
    let pool = &state.pool;
    let (mut page, histogram, options) = tokio::try_join!(
        list_events(pool, &filter, Some(span.from), span.to, before.as_ref(), size),
        histogram(pool, &filter, span, now),
        filter_options(pool, &filter, span.from, span.to),
    )
    .map_err(crate::error::internal)?;
    page.now = now;
    Ok(Explore { page, histogram, options })
}

/// One event, for an expanded row.
#[server]
pub async fn get_event(id: String) -> Result<Option<EventDetail>, ServerFnError> {
    let state = expect_context::<crate::server::AppState>();
    crate::query::get_event(&state.pool, &id).await.map_err(crate::error::internal)
}

/// One event with its related events, for the detail page.
#[server]
pub async fn event_page(id: String) -> Result<Option<EventView>, ServerFnError> {
    let state = expect_context::<crate::server::AppState>();
    crate::query::event_view(&state.pool, &id).await.map_err(crate::error::internal)
}

/// Every event about one target, oldest first, 100 at a time.
#[server]
pub async fn target_history_page(
    target_type: String,
    target_id: String,
    after: Option<String>,
) -> Result<TargetHistory, ServerFnError> {
    let state = expect_context::<crate::server::AppState>();
    let after = cursor_param(after.as_deref())?;
    crate::query::target_history(&state.pool, &target_type, &target_id, after.as_ref(), 100)
        .await
        .map_err(crate::error::internal)
}
