//! Integrity (administrators and auditors): the seal key's public half, how
//! far the chain and its checkpoints reach, and a verification run on demand.

use leptos::prelude::*;

use crate::components::server_data::server_data;
use crate::components::time::TimeZoneNote;
use leptos::server::ServerAction;
use leptos_meta::Title;

use crate::api::{seal_status, RunVerification};
use crate::components::copy_button::CopyButton;
use crate::components::navigation::resource_source;
use crate::components::settings::{action_error, time_or_never};
use crate::model::{events_label, thousands, IntegrityStatus, VerifyReport};

#[component]
pub fn VerifyPage() -> impl IntoView {
    let run = ServerAction::<RunVerification>::new();
    let status = server_data(resource_source(move || run.version().get()), |_| seal_status());
    view! {
        <Title text="Integrity"/>
        <div class="page-head"><h1>"Integrity"</h1><TimeZoneNote/></div>
        <p class="hint">
            "Every stored event is hashed; batches are chained in commit order and the chain's head is signed every minute "
            "with a key kept outside the database. Verifying recomputes all of it from the stored events."
        </p>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move { status.await.map(|(now, status)| view! { <SealFacts status now/> }) })}
        </Transition>
        <ActionForm action=run attr:class="verify-form">
            <button type="submit" class="button primary" disabled=move || run.pending().get()>
                {move || if run.pending().get() { "Verifying…" } else { "Run verification" }}
            </button>
        </ActionForm>
        {move || run.pending().get().then(|| view! { <p class="loading" role="status">"Recomputing leaves, roots and the chain…"</p> })}
        {action_error(move || run.value().get())}
        {move || run.value().get().and_then(Result::ok).map(|report| view! { <VerifyResult report/> })}
    }
}

#[component]
fn SealFacts(status: IntegrityStatus, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <section class="panel facts seal-facts" data-unsealed=status.unsealed_events.to_string()><dl>
            <dt>"Public key"</dt>
            <dd><code class="hash">{status.public_key.clone()}</code><CopyButton text=status.public_key.clone()/></dd>
            <dt>"Sealed"</dt><dd>{format!("{} in {} chain entries", events_label(status.sealed_events), thousands(status.chain_entries))}</dd>
            <dt>"Newest checkpoint"</dt><dd>{time_or_never(status.last_checkpoint.map(|(_, at)| at), now)}</dd>
            <dt>"Not sealed yet"</dt><dd>{events_label(status.unsealed_events)}</dd>
            <dt>"Checkpoint log"</dt><dd><code>{status.checkpoint_log.clone()}</code>{format!(" (every {} s)", status.checkpoint_seconds)}</dd>
        </dl></section>
    }
}

#[component]
fn VerifyResult(report: VerifyReport) -> impl IntoView {
    let summary = format!(
        "{} in {} batches and {} retention drops, against {} signed checkpoints, in {:.1} s.",
        events_label(report.events),
        report.entries - report.prunes,
        report.prunes,
        report.checkpoints,
        report.seconds
    );
    let clean = report.is_clean();
    view! {
        <section class=if clean { "panel verify-result clean" } else { "panel verify-result tampered" } role="status"
            data-verify=if clean { "clean" } else { "tampered" }>
            <h2>{if clean { "Nothing was altered, deleted or forged" } else { "The store was tampered with" }}</h2>
            <p>{summary}</p>
            {(!report.complete).then(|| view! { <p class="bad">"Stopped at its one-minute limit before the end: run vigil verify on the server for the whole store."</p> })}
            {(report.unsealed_events > 0).then(|| view! { <p class="hint">{format!("{} newer than the last checkpoint, not covered yet.", events_label(report.unsealed_events))}</p> })}
            {(!clean).then(|| view! {
                <ul class="findings">
                    {report.findings.into_iter().map(|f| view! {
                        <li data-finding=f.kind.clone()>
                            <span class="badge outcome-denied">{f.kind.replace('_', " ")}</span>" "
                            {f.message.clone()}
                            {f.event_id.clone().map(|id| view! { " " <a href=format!("/events/{}", crate::model::path_segment(&id))>"open the event"</a> })}
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}
