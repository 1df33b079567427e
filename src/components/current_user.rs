//! The signed-in user, loaded once for the whole console: the top bar, the
//! time zone, and the controls only administrators get.

use leptos::prelude::*;

use crate::components::server_data::ServerData;
use crate::model::{Role, SignedInUser};

#[derive(Clone, Copy)]
pub struct CurrentUser(pub ServerData<Result<Option<SignedInUser>, ServerFnError>>);

impl CurrentUser {
    /// Whether the signed-in user administers Vigil (once they are loaded):
    /// controls the server would refuse are not shown to the others.
    pub async fn is_admin(self) -> bool {
        self.0.await.ok().flatten().is_some_and(|user| user.role == Role::Admin)
    }

    /// The signed-in user's e-mail (once they are loaded).
    pub async fn email(self) -> Option<String> {
        self.0.await.ok().flatten().map(|user| user.email)
    }
}

/// A link to a page only administrators may use, shown to them only.
#[component]
pub fn AdminLink(#[prop(into)] href: String, class: &'static str, text: &'static str) -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let href = href.clone();
                Suspend::new(async move { me.is_admin().await.then(|| view! { <a class=class href=href>{text}</a> }) })
            }}
        </Transition>
    }
}
