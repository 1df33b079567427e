//! Compare environments (`/compare`): their activity overlaid on one time
//! axis, event types side by side with the largest differences first, what
//! only one environment has seen, and the latest state of a type of target
//! in each. The URL holds the whole view; every count links to its events.

use leptos::prelude::*;

use crate::components::server_data::server_data;
use crate::components::time::TimeZoneNote;
use leptos_meta::Title;

use crate::api::compare_environments;
use crate::components::errors::error_list;
use crate::components::line_chart::LineChart;
use crate::components::navigation::{live_view, navigator, range_select, url_query};
use crate::model::{count_label, share, thousands, ChartOption, CompareView, Comparison, OnlyIn, TargetStates};

#[component]
pub fn ComparePage() -> impl IntoView {
    let search = url_query();
    let data = server_data(search.clone(), compare_environments);
    let (pending, set_pending) = signal(false);

    view! {
        <Title text="Compare environments"/>
        <div class="page-head">
            <h1>"Compare environments"</h1>
            <TimeZoneNote/>
            <Show when=move || pending.get()>
                <span class="loading" role="status">"Loading…"</span>
            </Show>
        </div>
        <Transition fallback=|| view! { <p class="loading" role="status">"Comparing…"</p> } set_pending>
            <ErrorBoundary fallback=error_list("Could not compare environments. ")>
                {move || {
                    // Read before waiting: after it, the page may be gone.
                    let view = CompareView::from_query(&search());
                    Suspend::new(async move { data.await.map(|charted| view! { <Compared view comparison=charted.data chart=charted.chart/> }) })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Compared(view: CompareView, comparison: Comparison, chart: ChartOption) -> impl IntoView {
    let envs = comparison.environments.clone();
    let few = envs.len() < 2;
    let description = format!(
        "Activity of {} over {}, one line per environment{}.",
        envs.join(", "),
        view.filter.range.label(),
        if view.share { ", as a share of its own total" } else { "" }
    );
    let totals: Vec<String> =
        envs.iter().zip(&comparison.totals).map(|(e, n)| format!("{e}: {}", count_label(*n))).collect();
    view! {
        <CompareControls view=view.clone() available=comparison.available.clone() compared=envs.clone()/>
        {few.then(|| view! {
            <p class="notice" role="status">"Choose two or more environments to compare; there is little to set side by side with one."</p>
        })}
        <p class="summary">{format!("{} · {}", view.filter.range.label(), totals.join(" · "))}</p>
        <LineChart id="compare-chart" chart description/>
        <TypeTable view=view.clone() comparison=comparison.clone()/>
        <OnlyInLists view=view.clone() only_in=comparison.only_in.clone() few/>
        <States comparison/>
    }
}

/// Which environments, the range, and whether to chart shares; each a navigation.
#[component]
fn CompareControls(view: CompareView, available: Vec<String>, compared: Vec<String>) -> impl IntoView {
    let live = live_view(CompareView::from_query);
    let go = navigator();
    let mut choices = available;
    for e in &compared {
        if !choices.contains(e) {
            choices.push(e.clone());
        }
    }
    let boxes = choices
        .into_iter()
        .map(|env| {
            let label = env.clone();
            let checked = compared.contains(&env);
            let compared = compared.clone();
            let go = go.clone();
            let toggle = move |_| {
                let mut next: Vec<String> = compared.iter().filter(|e| **e != env).cloned().collect();
                if !checked {
                    next.push(env.clone());
                }
                go(live().with_environments(next).href());
            };
            view! {
                <label class="check">
                    <input type="checkbox" name="env" value=label.clone() checked=checked on:change=toggle/>
                    {label}
                </label>
            }
        })
        .collect_view();
    let toggle_share = move |_| {
        let next = live();
        go(CompareView { share: !next.share, ..next }.href());
    };
    let narrowed = view.filter.is_narrowed().then(|| {
        let all = CompareView { filter: crate::model::EventFilter { range: view.filter.range.clone(), ..Default::default() }, ..view.clone() };
        view! {
            <p class="hint">
                "Narrowed by the explorer's filters (" {view.filter.to_query()} "). "
                <a href=all.href()>"Compare everything"</a>
            </p>
        }
    });
    view! {
        <section class="filters" aria-label="What to compare">
            <div class="filter-row">
                <fieldset class="choices">
                    <legend>"Environments"</legend>
                    {boxes}
                </fieldset>
                {range_select(&view.filter.range, view.filter.range.label(), move |key| {
                    let mut next = live();
                    next.filter = next.filter.with("range", Some(key));
                    next.href()
                })}
                <label class="check">
                    <input type="checkbox" name="share" checked=view.share on:change=toggle_share/>
                    "Share of its own total"
                </label>
                <a class="button-link" href=view.filter.href()>"Back to the explorer"</a>
            </div>
            {narrowed}
        </section>
    }
}

/// Event types × environments, the largest relative difference first; each
/// count opens the explorer on that type and environment.
#[component]
fn TypeTable(view: CompareView, comparison: Comparison) -> impl IntoView {
    let envs = comparison.environments.clone();
    let rows = comparison
        .types
        .iter()
        .map(|row| {
            let cells = envs
                .iter()
                .zip(&row.counts)
                .zip(&comparison.totals)
                .map(|((env, n), total)| {
                    let text = if view.share { format!("{} ({:.1} %)", thousands(*n), share(*n, *total) * 100.0) } else { thousands(*n) };
                    let href = view.explorer_href(env, "type", &row.event_type);
                    view! { <td class="num"><a href=href>{text}</a></td> }
                })
                .collect_view();
            view! {
                <tr>
                    <td class="type"><code>{row.event_type.clone()}</code></td>
                    {cells}
                    <td class="num difference">{format!("{:.0} %", row.difference * 100.0)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Event types"</h2>
            <p class="hint">"Difference: how far the environments' shares of their own totals are apart (100 % when a type occurs in some and not in others)."</p>
            {if comparison.types.is_empty() {
                view! { <p class="empty">"No events in this range."</p> }.into_any()
            } else {
                view! {
                    <table class="events compare-types">
                        <thead>
                            <tr>
                                <th scope="col">"Event type"</th>
                                {envs.iter().map(|e| view! { <th scope="col" class="num">{e.clone()}</th> }).collect_view()}
                                <th scope="col" class="num">"Difference"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Values listed per kind before "n more".
const ONLY_IN_FIRST: usize = 12;

/// Types, apps, actors and targets seen in one environment and not in the others.
#[component]
fn OnlyInLists(view: CompareView, only_in: Vec<OnlyIn>, few: bool) -> impl IntoView {
    let groups = ["type", "app", "user", "target"].map(|dimension| {
        let mut items: Vec<OnlyIn> = only_in.iter().filter(|o| o.dimension == dimension).cloned().collect();
        let view = view.clone();
        view! {
            <div class="only-in-group" data-dimension=dimension>
                <h3>{OnlyIn::heading(dimension)}</h3>
                {if items.is_empty() {
                    view! { <p class="hint">"None."</p> }.into_any()
                } else {
                    let item = move |o: OnlyIn| {
                        let href = view.explorer_href(&o.environment, &o.dimension, &o.value);
                        view! {
                            <li>
                                <a href=href>{o.label}</a>
                                " " <span class="badge env">{format!("only in {}", o.environment)}</span>
                            </li>
                        }
                    };
                    let more = items.split_off(items.len().min(ONLY_IN_FIRST));
                    let item_more = item.clone();
                    view! {
                        <ul>{items.into_iter().map(item).collect_view()}</ul>
                        {(!more.is_empty()).then(|| view! {
                            <details class="more">
                                <summary>{format!("{} more", more.len())}</summary>
                                <ul>{more.into_iter().map(item_more).collect_view()}</ul>
                            </details>
                        })}
                    }.into_any()
                }}
            </div>
        }
    });
    view! {
        <section class="panel only-in">
            <h2>"Only in one environment"</h2>
            {if few {
                view! { <p class="hint">"Needs two or more environments."</p> }.into_any()
            } else {
                view! {
                    <p class="hint">"Event types and apps: in the range. Actors and targets: last seen since the range began."</p>
                    <div class="only-in-groups">{groups}</div>
                }.into_any()
            }}
        </section>
    }
}

/// The latest known state of each target of the chosen type, per environment,
/// with the fields that differ highlighted.
#[component]
fn States(comparison: Comparison) -> impl IntoView {
    let envs = comparison.environments.clone();
    let live = live_view(CompareView::from_query);
    let go = navigator();
    let chosen = comparison.kind.clone();
    let pick_kind = move |ev: leptos::ev::Event| {
        let kind = event_target_value(&ev);
        go(CompareView { kind: Some(kind).filter(|k| !k.is_empty()), ..live() }.href());
    };
    let kinds = comparison
        .kinds
        .iter()
        .map(|k| view! { <option value=k.clone() selected=chosen.as_ref() == Some(k)>{k.clone()}</option> })
        .collect_view();
    let partial = comparison.states_partial.then(|| {
        view! { <p class="hint">{format!("Folded from the newest {} changes of this type.", crate::model::STATE_EVENTS)}</p> }
    });
    view! {
        <section class="panel states">
            <h2>"Latest state per environment"</h2>
            <label class="field inline">
                <span>"Target type"</span>
                <select name="kind" on:change=pick_kind>{kinds}</select>
            </label>
            <p class="hint">"Each field's newest value from the changes recorded up to the end of the range; fields that differ are highlighted."</p>
            {partial}
            {if comparison.states.is_empty() {
                view! { <p class="empty">"No recorded changes to targets of this type."</p> }.into_any()
            } else {
                view! {
                    <table class="events compare-states">
                        <thead>
                            <tr>
                                <th scope="col">"Target"</th>
                                {envs.iter().map(|e| view! { <th scope="col">{e.clone()}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {comparison.states.into_iter().map(|target| view! { <StateRow target kind=chosen.clone().unwrap_or_default()/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn StateRow(target: TargetStates, kind: String) -> impl IntoView {
    let href = format!("/targets/{}/{}", crate::model::path_segment(&kind), crate::model::path_segment(&target.id));
    let differs = !target.differing.is_empty() || target.is_partial();
    let cells = target
        .states
        .iter()
        .map(|state| match state {
            None => view! { <td class="absent">"not known here"</td> }.into_any(),
            Some(fields) => view! {
                <td>
                    <dl class="state">
                        {fields.iter().map(|(field, value)| {
                            let class = if target.differing.contains(field) { "differs" } else { "" };
                            view! { <dt class=class>{field.clone()}</dt><dd class=class>{value.clone()}</dd> }
                        }).collect_view()}
                    </dl>
                </td>
            }.into_any(),
        })
        .collect_view();
    view! {
        <tr class:differs=differs>
            <td class="target"><a href=href>{target.name.clone().unwrap_or_else(|| target.id.clone())}</a></td>
            {cells}
        </tr>
    }
}
