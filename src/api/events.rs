//! Server functions behind the explorer, the event-detail and the target-history
//! pages. Each reads as the signed-in user: their scope goes into every query,
//! and searches and event views are audited.

use leptos::prelude::*;

use crate::model::{EventDetail, EventView, Explore, TargetHistory};

/// Everything the explorer shows for the URL query `query`: the page of events,
/// the histogram and the option lists, computed at one instant so they agree.
#[server]
pub async fn explore_events(query: String) -> Result<Explore, ServerFnError> {
    use crate::audit::{record_in_background, Activity};
    use crate::model::{query_param, EventFilter, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
    use crate::query::{filter::resolve_span, filter_options, histogram_keeping_past, list_events};

    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let mut filter = EventFilter::from_query(&query);
    filter.scope = principal.scope();
    filter.without_console = true;
    if let Some((_, message)) = crate::query::filter::out_of_bounds(&filter, chrono::Utc::now()) {
        return Err(crate::error::invalid(message));
    }
    let before = super::cursor_param(query_param(&query, "before").as_deref(), crate::model::PageCursor::decode)?;
    let size = filter.size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);

    let now = chrono::Utc::now();
    let span = resolve_span(&filter, now);
    let pool = state.reads(principal.read_after);
    let past = crate::store::ledger::past_version(pool, now).await.map_err(crate::error::from_database)?;
    let (mut page, histogram, options, counts_as_of) = tokio::try_join!(
        list_events(pool, &filter, Some(span.from), span.to, before.as_ref(), size),
        histogram_keeping_past(pool, &filter, span, now, &state.past_chart_counts, &past),
        filter_options(pool, &filter, span.from, span.to, now, &state.past_value_counts, &past),
        crate::store::ledger::counts_as_of(pool, COUNTS_LAG_TOLERANCE),
    )
    .map_err(crate::error::from_database)?;
    page.now = now;
    let search = Activity::new("events.search", crate::model::Category::Access)
        .details(serde_json::json!({"filter": filter.to_query(), "matched": histogram.total}));
    record_in_background(&state, principal.actor(), search);
    let chart = crate::charts::activity(&histogram);
    Ok(Explore { page, histogram, options, counts_as_of, chart })
}

/// How far the deriving worker may lag before the explorer says how old its counts are.
#[cfg(feature = "ssr")]
const COUNTS_LAG_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// One event, for an expanded row.
#[server]
pub async fn get_event(id: String) -> Result<Option<EventDetail>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let event = crate::query::get_event(state.reads(principal.read_after), &id, &principal.scope()).await.map_err(crate::error::from_database)?;
    audit_view(&state, &principal, &id, event.is_some(), "expanded row");
    Ok(event)
}

/// One event with its related events, for the detail page.
#[server]
pub async fn event_page(id: String) -> Result<Option<EventView>, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let view = crate::query::event_view(state.reads(principal.read_after), &id, &principal.scope()).await.map_err(crate::error::from_database)?;
    audit_view(&state, &principal, &id, view.is_some(), "detail page");
    Ok(view)
}

/// Record who looked at which event (or tried to: out of scope or unknown is "not found").
#[cfg(feature = "ssr")]
fn audit_view(state: &crate::state::AppState, principal: &crate::auth::Principal, id: &str, found: bool, from: &str) {
    use crate::audit::{record_in_background, Activity};
    let mut view = Activity::new("event.view", crate::model::Category::Access).target("event", id, None).details(serde_json::json!({"from": from}));
    if !found {
        view = view.outcome(crate::model::Outcome::Failure, "no such event in the reader's scope");
    }
    record_in_background(state, principal.actor(), view);
}

/// Every event about one target, oldest first, 100 at a time.
#[server]
pub async fn target_history_page(
    target_type: String,
    target_id: String,
    after: Option<String>,
) -> Result<TargetHistory, ServerFnError> {
    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let after = super::cursor_param(after.as_deref(), crate::model::PageCursor::decode)?;
    crate::query::target_history(state.reads(principal.read_after), &target_type, &target_id, &principal.scope(), after.as_ref(), 100)
        .await
        .map_err(crate::error::from_database)
}

/// The compare page for the URL query `query` (`CompareView`), as the reader may see it.
#[server]
pub async fn compare_environments(query: String) -> Result<crate::model::Charted<crate::model::Comparison>, ServerFnError> {
    use crate::audit::{record_in_background, Activity};
    use crate::model::CompareView;

    let principal = crate::auth::principal().await?;
    let state = expect_context::<crate::state::AppState>();
    let view = CompareView::from_query(&query);
    let now = chrono::Utc::now();
    if let Some((_, message)) = crate::query::filter::out_of_bounds(&view.filter, now) {
        return Err(crate::error::invalid(message));
    }
    let comparison = crate::query::compare::compare(state.reads(principal.read_after), &view, &principal.scope(), now, &state.past_counts)
        .await
        .map_err(crate::error::from_database)?;
    let search = Activity::new("events.compare", crate::model::Category::Access)
        .details(serde_json::json!({"view": view.to_query(), "environments": comparison.environments}));
    record_in_background(&state, principal.actor(), search);
    let chart = crate::charts::overlay(&comparison, view.share);
    Ok(crate::model::Charted { data: comparison, chart })
}
