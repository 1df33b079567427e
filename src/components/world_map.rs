//! A world map drawn in the browser by ECharts over an offline outline of the
//! countries (`/world.json`, converted once from the npm package world-atlas
//! — Natural Earth data — with ISO codes as region names; no CDN): where
//! sessions come from, or the path of one session.

use leptos::html;
use leptos::prelude::*;
use serde_json::{json, Value};

use crate::model::{impossible_travel, PathPoint, Place};

const DOT: &str = "#2f5bea";
const WARNING: &str = "#c2410c";

/// The countries, drawn pale; regions are named by ISO code (`iso`).
fn outline() -> Value {
    json!({
        "map": "world", "roam": true, "nameProperty": "iso", "selectedMode": false, "triggerEvent": true,
        "itemStyle": {"areaColor": "#eef1f6", "borderColor": "#b8c2d6"},
        "emphasis": {"itemStyle": {"areaColor": "#dbe4fb"}, "label": {"show": false}},
        "tooltip": {"show": false}
    })
}

/// One dot per place, its area growing with its sessions; places with flagged
/// sessions in the warning colour.
pub fn places_option(places: &[Place]) -> Value {
    let dots = |flagged: bool| -> Vec<Value> {
        places
            .iter()
            .filter(|p| (p.flagged > 0) == flagged)
            .map(|p| {
                let flags = if p.flagged > 0 { format!(" ({} flagged)", p.flagged) } else { String::new() };
                let noun = if p.sessions == 1 { "session" } else { "sessions" };
                json!({
                    "name": format!("{}: {} {noun}{flags}", p.label, p.sessions),
                    "value": [p.longitude, p.latitude, p.sessions],
                    "country": p.country,
                    "symbolSize": (6.0 + 5.0 * (p.sessions as f64).ln_1p()).min(40.0),
                })
            })
            .collect()
    };
    json!({
        "animation": false,
        "tooltip": {"trigger": "item", "formatter": "{b}"},
        "geo": outline(),
        "series": [
            {"type": "scatter", "name": "sessions", "coordinateSystem": "geo", "data": dots(false), "itemStyle": {"color": DOT, "opacity": 0.75}},
            {"type": "scatter", "name": "flagged", "coordinateSystem": "geo", "data": dots(true), "itemStyle": {"color": WARNING, "opacity": 0.85}}
        ]
    })
}

/// The places of a session in time order, joined by lines; a leg faster than
/// an airliner drawn thick in the warning colour.
pub fn path_option(path: &[PathPoint]) -> Value {
    let at = |p: &PathPoint| [p.longitude, p.latitude];
    let points: Vec<Value> = path
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let when = p.at.format("%Y-%m-%d %H:%M UTC");
            let what = if p.previous_session { "previous session" } else { "this session" };
            json!({"name": format!("{}. {} — {when} ({what})", i + 1, p.label), "value": [p.longitude, p.latitude, i + 1]})
        })
        .collect();
    let legs: Vec<Value> = path
        .windows(2)
        .map(|pair| {
            let impossible = impossible_travel(&pair[0], &pair[1]);
            let style = if impossible {
                json!({"color": WARNING, "width": 3, "type": "solid"})
            } else {
                json!({"color": DOT, "width": 1.5, "type": "dashed"})
            };
            let name = if impossible { "impossible travel" } else { "travel" };
            json!({"name": name, "coords": [at(&pair[0]), at(&pair[1])], "lineStyle": style})
        })
        .collect();
    json!({
        "animation": false,
        "tooltip": {"trigger": "item", "formatter": "{b}"},
        "geo": outline(),
        "series": [
            {"type": "lines", "coordinateSystem": "geo", "data": legs, "symbol": ["none", "arrow"], "symbolSize": 8},
            {"type": "scatter", "coordinateSystem": "geo", "data": points, "symbolSize": 9, "itemStyle": {"color": DOT},
             "label": {"show": true, "formatter": "{@[2]}", "position": "right"}}
        ]
    })
}

/// The map; with `filter_by_country`, clicking a country or a dot filters the
/// sessions page to that country.
#[component]
pub fn WorldMap(
    id: &'static str,
    option: Value,
    description: String,
    #[prop(optional)] filter_by_country: bool,
) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let go = crate::components::navigation::navigator();
        let live = crate::components::navigation::live_view(crate::model::SessionFilter::from_query);
        Effect::new(move |_| {
            let Some(element) = node.get() else { return };
            let (option, go) = (option.clone(), go.clone());
            crate::components::echarts::with_world_map(move || {
                let chart = crate::components::echarts::draw(&element, &option.to_string());
                if filter_by_country {
                    on_country(&chart, move |iso| go(live().with("country", Some(&iso)).href()));
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (option, filter_by_country);
    view! {
        <figure class="chart map">
            <div node_ref=node id=id class="world-map" role="img" aria-label=description></div>
        </figure>
    }
}

/// Call `then` with the ISO code of a clicked country or dot.
#[cfg(feature = "hydrate")]
fn on_country(chart: &crate::components::echarts::Instance, then: impl Fn(String) + 'static) {
    use wasm_bindgen::prelude::*;
    let get = |value: &JsValue, key: &str| js_sys::Reflect::get(value, &key.into()).ok();
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |params: JsValue| {
        let from_geo = get(&params, "componentType").and_then(|c| c.as_string()).is_some_and(|c| c == "geo");
        let iso = if from_geo {
            get(&params, "name").and_then(|n| n.as_string())
        } else {
            get(&params, "data").and_then(|d| get(&d, "country")).and_then(|c| c.as_string())
        };
        if let Some(iso) = iso.filter(|i| !i.is_empty()) {
            then(iso);
        }
    });
    chart.on("click", &handler);
    handler.forget();
}
