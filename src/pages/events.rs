//! The events page: the newest events, paged to older ones with a keyset cursor
//! kept in the URL (`?before=…`), so every page can be linked and the back
//! button walks back through pages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::list_events;
use crate::components::event_table::EventTable;

#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || query.read().get("before");
    let page = Resource::new(before, |before| list_events(before, None));
    let (pending, set_pending) = signal(false);

    view! {
        <Title text="Events"/>
        <div class="page-head">
            <h1>"Events"</h1>
            <span class="hint">"All times in UTC"</span>
            <Show when=move || pending.get()>
                <span class="loading" role="status">"Loading…"</span>
            </Show>
        </div>
        <Transition
            fallback=|| view! { <p class="loading" role="status">"Loading events…"</p> }
            set_pending
        >
            <ErrorBoundary fallback=|errors| {
                view! {
                    <div class="error" role="alert">
                        <strong>"Could not load events. "</strong>
                        {move || errors.get().into_iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; ")}
                    </div>
                }
            }>
                {move || Suspend::new(async move {
                    page.await.map(|page| {
                        let is_first_page = before().is_none();
                        view! { <EventTable page is_first_page/> }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
