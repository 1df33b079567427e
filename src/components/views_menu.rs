//! The "Views" menu of the top bar: the saved views the user may open, and
//! saving the page in view (the explorer or the compare page) under a name.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::hooks::use_location;

use crate::api::{list_views, SaveView};
use crate::components::server_data::{server_data, ServerData};
use crate::components::navigation::resource_source;
use crate::components::settings::action_error;
use crate::model::view_location;

/// What the menu shows and does: the list of views, reloaded after each save.
/// Made once, outside the top bar's suspense, so that re-rendering the menu
/// never leaves a load running for a menu that is gone.
#[derive(Clone, Copy)]
pub struct ViewsMenuState {
    save: ServerAction<SaveView>,
    views: ServerData<Result<Vec<crate::model::SavedView>, ServerFnError>>,
}

impl ViewsMenuState {
    pub fn new() -> Self {
        let save = ServerAction::<SaveView>::new();
        ViewsMenuState { save, views: server_data(resource_source(move || save.version().get()), |_| list_views()) }
    }
}

#[component]
pub fn ViewsMenu(state: ViewsMenuState, may_share: bool) -> impl IntoView {
    let ViewsMenuState { save, views } = state;
    let location = use_location();
    let url = move || format!("{}?{}", location.pathname.get(), location.search.get().trim_start_matches('?'));
    let saveable = move || view_location(&url()).is_some();
    let saved = move || matches!(save.value().get(), Some(Ok(_)));
    view! {
        <details class="views-menu">
            <summary>"Views"</summary>
            <div class="menu" role="menu">
                <Transition fallback=|| view! { <p class="loading" role="status">"Loading views…"</p> }>
                    {move || Suspend::new(async move {
                        views.await.map(|views| if views.is_empty() {
                            view! { <p class="hint">"No saved views yet."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="saved-views">
                                    {views.into_iter().map(|v| view! {
                                        <li>
                                            <a href=v.href() role="menuitem">{v.name.clone()}</a>
                                            {v.shared.then(|| view! { <span class="badge">"shared"</span> })}
                                            {v.is_default.then(|| view! { <span class="badge">"start"</span> })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        })
                    })}
                </Transition>
                <Show when=saveable fallback=|| view! { <p class="hint">"Open the explorer or the compare page to save a view."</p> }>
                    <ActionForm action=save attr:class="save-view">
                        <input type="hidden" name="url" prop:value=url/>
                        <label class="field">
                            <span>"Save this view as"</span>
                            <input name="name" required maxlength="100" placeholder="e.g. Failed sign-ins, production"/>
                        </label>
                        {may_share.then(|| view! {
                            <label class="check"><input type="checkbox" name="shared"/>"Share with everyone"</label>
                        })}
                        <button type="submit" class="button primary">"Save view"</button>
                    </ActionForm>
                    <Show when=saved><p class="hint" role="status">"Saved."</p></Show>
                    {action_error(move || save.value().get())}
                </Show>
                <a href="/views" class="manage">"Manage views…"</a>
            </div>
        </details>
    }
}
