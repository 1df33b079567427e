//! The event explorer: filter bar, activity chart, and the table of events with
//! expandable rows. The URL query holds the whole view (filters, range, page),
//! so a copied address reopens it and the back button walks through changes.

use leptos::prelude::*;

use crate::components::server_data::server_data;
use crate::components::navigation::url_query;
use crate::components::current_user::CurrentUser;
use crate::components::time::{Time, TimeZoneNote};
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::api::{explore_events, landing_view};
use crate::components::activity_chart::ActivityChart;
use crate::components::errors::error_list;
use crate::components::event_table::EventTable;
use crate::components::filter_bar::FilterBar;
use crate::model::{bucket_label, count_label, CompareView, EventFilter};

#[component]
pub fn EventsPage() -> impl IntoView {
    let search = url_query();
    let data = server_data(search.clone(), explore_events);
    let filter = Memo::new({
        let search = search.clone();
        move |_| EventFilter::from_query(&search())
    });
    let (pending, set_pending) = signal(false);
    let me = expect_context::<CurrentUser>();

    view! {
        <Title text="Events"/>
        <div class="page-head">
            <h1>"Events"</h1>
            <TimeZoneNote/>
            <Show when=move || pending.get()>
                <span class="loading" role="status">"Loading…"</span>
            </Show>
        </div>
        <Transition
            fallback=|| view! { <p class="loading" role="status">"Loading events…"</p> }
            set_pending
        >
            <ErrorBoundary fallback=error_list("Could not load events. ")>
                {move || {
                    // Read before waiting: after it, the page may be gone
                    // (a reader who left mid-render).
                    let filter = filter.get();
                    let is_first_page = crate::model::is_first_page(&search());
                    Suspend::new(async move {
                        let may_alert = me.is_admin().await;
                        data.await.map(|explore| {
                        let summary = format!(
                            "{} events · {} · {} bars",
                            count_label(explore.histogram.total),
                            filter.range.label(),
                            bucket_label(explore.histogram.bucket_seconds),
                        );
                        let export = |format: &str| {
                            let query = filter.to_query();
                            format!("/events/export?{query}&format={format}")
                        };
                        let create_alert = may_alert.then(|| format!(
                            "/alerts/new?view={}",
                            form_urlencoded::byte_serialize(filter.to_query().as_bytes()).collect::<String>()
                        ));
                        let compare = CompareView::of_explorer(&filter).href();
                        let counts_as_of = explore.counts_as_of.map(|t| {
                            view! {
                                <span class="hint counts-as-of" role="status" title="New events are listed at once; their counts follow as Vigil catches up">
                                    "Counts as of "<Time at=t now=explore.page.now/>" (catching up)"
                                </span>
                            }
                        });
                        view! {
                            <FilterBar filter=filter.clone() options=explore.options/>
                            <div class="summary-row">
                                <p class="summary" data-total=explore.histogram.total>{summary}</p>
                                {filter.environment.is_none().then(|| view! {
                                    <span class="hint console-hidden">"Vigil's own activity is left out (environment vigil)"</span>
                                })}
                                {counts_as_of}
                                <span class="downloads">
                                    "Download: "
                                    <a href=export("csv") download rel="external">"CSV"</a>
                                    " · "
                                    <a href=export("ndjson") download rel="external">"NDJSON"</a>
                                    {create_alert.map(|href| view! { " · " <a class="create-alert" href=href>"Create alert"</a> })}
                                    " · "
                                    <a class="compare" href=compare>"Compare environments"</a>
                                </span>
                            </div>
                            <ActivityChart histogram=explore.histogram chart=explore.chart/>
                            <EventTable page=explore.page filter is_first_page/>
                        }
                    }) })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

/// `/`: the user's landing view when they chose one, otherwise the explorer.
#[component]
pub fn LandingPage() -> impl IntoView {
    let location = use_location();
    let landing = server_data(|| (), |_| landing_view());
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let plain = location.search.get_untracked().trim_start_matches('?').is_empty();
                match landing.await {
                    Ok(Some(href)) if plain => view! { <Redirect path=href/> }.into_any(),
                    _ => view! { <EventsPage/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
