//! A world map drawn in the browser by ECharts over an offline outline of the
//! countries (`/world.json`, converted once from the npm package world-atlas
//! — Natural Earth data — with ISO codes as region names; no CDN): where
//! sessions come from, or the path of one session. Its option is built on
//! the server (`crate::charts::places`, `crate::charts::path`).

use leptos::html;
use leptos::prelude::*;

use crate::model::ChartOption;

/// The map; with `filter_by_country`, clicking a country or a dot filters the
/// sessions page to that country.
#[component]
pub fn WorldMap(
    id: &'static str,
    option: ChartOption,
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
            let unavailable = element.clone();
            crate::components::echarts::with_world_map(
                move || {
                    let chart = crate::components::echarts::draw(&element, &option, None);
                    if filter_by_country {
                        on_country(&chart, move |iso| go(live().with("country", Some(&iso)).href()));
                    }
                },
                move || crate::components::echarts::unavailable(&unavailable, "map"),
            );
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
