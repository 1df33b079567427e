//! The sign-in page: a plain form posted to `/login`, so it works before (and
//! without) the WebAssembly bundle. One generic message for wrong credentials.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let message = move || match param("error").as_str() {
        "invalid" => Some(("error", "E-mail or password is incorrect.")),
        "limited" => Some(("error", "Too many sign-in attempts. Wait a minute and try again.")),
        _ if !param("signed_out").is_empty() => Some(("notice", "You are signed out.")),
        _ => None,
    };
    view! {
        <Title text="Sign in"/>
        <section class="sign-in">
            <h1>"Sign in to Vigil"</h1>
            {move || message().map(|(class, text)| view! { <p class=class role="alert">{text}</p> })}
            <form method="post" action="/login" class="sign-in-form">
                <input type="hidden" name="next" value=move || param("next")/>
                <label class="field">
                    <span>"E-mail"</span>
                    <input type="email" name="email" autocomplete="username" required autofocus/>
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" class="button primary">"Sign in"</button>
            </form>
        </section>
    }
}
