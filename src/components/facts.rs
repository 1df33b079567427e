//! A titled list of facts (label → value); facts not recorded are left out.

use leptos::prelude::*;

#[component]
pub fn Facts(title: &'static str, facts: Vec<(&'static str, Option<String>)>) -> impl IntoView {
    let present: Vec<_> = facts.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    view! {
        <section class="facts">
            <h3>{title}</h3>
            {if present.is_empty() {
                view! { <p class="hint">"Not recorded"</p> }.into_any()
            } else {
                view! {
                    <dl>
                        {present.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    </dl>
                }.into_any()
            }}
        </section>
    }
}
