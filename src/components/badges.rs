//! Small labels: an event's outcome, a session's status and its flags.

use leptos::prelude::*;

use crate::model::{flag_label, Outcome};

#[component]
pub fn OutcomeBadge(outcome: Outcome) -> impl IntoView {
    view! { <span class=format!("badge outcome-{outcome}")>{outcome.as_str()}</span> }
}

/// "active", "signed out" or "timed out".
#[component]
pub fn StatusBadge(status: &'static str) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.replace(' ', "-"))>{status}</span> }
}

/// Flag badges of a session.
#[component]
pub fn Flags(flags: Vec<String>) -> impl IntoView {
    flags.into_iter().map(|f| view! { <span class="badge flag">{flag_label(&f)}</span> }).collect_view()
}
