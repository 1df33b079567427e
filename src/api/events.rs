//! Server functions behind the explorer, the event-detail and the target-history pages.

use leptos::prelude::*;

use crate::model::{EventDetail, EventView, Explore, TargetHistory};

/// Everything the explorer shows for the URL query `query`: the page of events,
/// the histogram and the option lists, computed at one instant so they agree.
#[server]
pub async fn explore_events(query: String) -> Result<Explore, ServerFnError> {
    use crate::model::{bucket_seconds, parse_query, EventFilter, PageCursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
    use crate::query::{filter::resolve_span, filter_options, histogram, list_events};

    let state = expect_context::<crate::server::AppState>();
    let filter = EventFilter::from_query(&query);
    let params = parse_query(&query);
    let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let before = match param("before").filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(PageCursor::decode(text).ok_or_else(|| ServerFnError::new("invalid page cursor"))?),
    };
    let size = filter.size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);

    let now = chrono::Utc::now();
    let (from, to) = filter.range.span(now);
    let bucket = bucket_seconds((to - from).num_seconds());
    let (from, to) = resolve_span(&filter, now, bucket);
    let pool = &state.pool;
    let (mut page, histogram, options) = tokio::try_join!(
        list_events(pool, &filter, Some(from), to, before.as_ref(), size),
        histogram(pool, &filter, from, to, bucket, now),
        filter_options(pool, &filter, from, to),
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
    let after = match after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(
            crate::model::PageCursor::decode(text).ok_or_else(|| ServerFnError::new("invalid page cursor"))?,
        ),
    };
    crate::query::target_history(&state.pool, &target_type, &target_id, after.as_ref(), 100)
        .await
        .map_err(crate::error::internal)
}

