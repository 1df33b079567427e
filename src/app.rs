//! The HTML shell and the route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use crate::api::current_user;
use crate::pages::data::{DataPage, EditRecordingRulePage, RecordingRulesPage};
use crate::pages::settings::{ConsoleSessionsPage, KeysPage, SystemPage, UsersPage};
use crate::pages::verify::VerifyPage;
use crate::pages::views::{PreferencesPage, ViewsPage};
use crate::components::server_data::server_data;
use crate::components::current_user::CurrentUser;
use crate::components::views_menu::{ViewsMenu, ViewsMenuState};
use crate::pages::alerts::{AlertFormPage, AlertsPage};
use crate::pages::compare::ComparePage;
use crate::pages::monitoring::{ChannelsPage, EditChannelPage, EditServicePage, ServicesSettingsPage};
use crate::pages::services::{ServicePage, ServicesPage};
use crate::components::errors::NotFound;
use crate::pages::{
    event::EventPage, events::{EventsPage, LandingPage}, login::LoginPage, session::SessionPage,
    sessions::SessionsPage, target::TargetPage,
};

/// The document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.ico"/>
                {echarts_script()}
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The ECharts build the requested page draws with (`assets::echarts_for`).
fn echarts_script() -> Option<impl IntoView> {
    // The request's URL, made absolute by leptos_axum (`http://leptos.dev/…`).
    let url = use_context::<leptos_router::location::RequestUrl>()?.parse().ok()?;
    crate::assets::echarts_for(url.path()).map(|src| view! { <script src=src></script> })
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();
    provide_context(CurrentUser(server_data(|| (), |_| current_user())));

    view! {
        <Title formatter=|page: String| if page.is_empty() { "Vigil".to_string() } else { format!("{page} · Vigil") }/>
        <Router>
            <TopBar/>
            <main>
                <Routes fallback=NotFound>
                    // Async: a landing view redirects before the headers go out.
                    <Route path=path!("/") view=LandingPage ssr=SsrMode::Async/>
                    <Route path=path!("/events") view=EventsPage/>
                    // Async: the status (404 for an unknown id) is known before the headers go out.
                    <Route path=path!("/compare") view=ComparePage/>
                    <Route path=path!("/events/:id") view=EventPage ssr=SsrMode::Async/>
                    <Route path=path!("/targets/:kind/:id") view=TargetPage/>
                    <Route path=path!("/sessions") view=SessionsPage/>
                    <Route path=path!("/sessions/:id") view=SessionPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/settings") view=UsersPage/>
                    <Route path=path!("/settings/keys") view=KeysPage/>
                    <Route path=path!("/settings/sessions") view=ConsoleSessionsPage/>
                    <Route path=path!("/settings/system") view=SystemPage/>
                    <Route path=path!("/settings/data") view=DataPage/>
                    <Route path=path!("/settings/rules") view=RecordingRulesPage/>
                    <Route path=path!("/settings/rules/:id/edit") view=EditRecordingRulePage/>
                    <Route path=path!("/verify") view=VerifyPage/>
                    <Route path=path!("/views") view=ViewsPage/>
                    <Route path=path!("/preferences") view=PreferencesPage/>
                    <Route path=path!("/services") view=ServicesPage/>
                    <Route path=path!("/services/:id") view=ServicePage/>
                    <Route path=path!("/alerts") view=AlertsPage/>
                    <Route path=path!("/alerts/new") view=AlertFormPage/>
                    <Route path=path!("/alerts/:id/edit") view=AlertFormPage/>
                    <Route path=path!("/settings/services") view=ServicesSettingsPage/>
                    <Route path=path!("/settings/services/:id/edit") view=EditServicePage/>
                    <Route path=path!("/settings/channels") view=ChannelsPage/>
                    <Route path=path!("/settings/channels/:id/edit") view=EditChannelPage/>
                </Routes>
            </main>
            <footer class="footer">
                "IP geolocation by "
                <a href="https://db-ip.com" rel="external">"DB-IP"</a>
                " (CC BY 4.0). Browser, OS and device detection: uap-core (Apache 2.0). "
                "Map outline: Natural Earth via world-atlas (public domain; ISC)."
            </footer>
        </Router>
    }
}

/// The top bar: navigation, and who is signed in (with sign-out) once someone is.
#[component]
fn TopBar() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let views = ViewsMenuState::new();
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">"Vigil"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|user| {
                        let admin = user.role == crate::model::Role::Admin;
                        let auditor = admin || user.role == crate::model::Role::Auditor;
                        view! {
                            <nav>
                                <A href="/events">"Events"</A>
                                <A href="/compare">"Compare"</A>
                                <A href="/sessions">"Sessions"</A>
                                <A href="/services">"Services"</A>
                                {auditor.then(|| view! { <A href="/alerts">"Alerts"</A> })}
                                {auditor.then(|| view! { <A href="/verify">"Integrity"</A> })}
                                {auditor.then(|| view! { <a href=console_activity()>"Console activity"</a> })}
                                {admin.then(|| view! { <A href="/settings">"Settings"</A> })}
                            </nav>
                            <ViewsMenu state=views may_share=admin/>
                            <div class="who">
                                <a class="user" href="/preferences" title=format!("{} · preferences", user.scope.describe())>{user.email.clone()}</a>
                                <span class="badge role">{user.role.as_str()}</span>
                                <form method="post" action="/logout" class="sign-out">
                                    <button type="submit" class="link-button">"Sign out"</button>
                                </form>
                            </div>
                        }
                    })
                })}
            </Transition>
        </header>
    }
}

/// The explorer on Vigil's own audit trail (searches, views, sign-ins, changes).
fn console_activity() -> String {
    crate::model::EventFilter::default().with("env", Some(crate::model::CONSOLE_ENVIRONMENT)).href()
}

/// Set `data-hydrated` on `<body>` once the browser has taken over the page;
/// Effects run only in the browser, so end-to-end tests can wait for it.
fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
