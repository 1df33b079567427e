//! A small line chart drawn in the browser by ECharts from the option the
//! server built (`crate::charts`); the server renders its frame. Line charts
//! are in ECharts' full build, loaded on the way when the page started
//! without it.

use leptos::html;
use leptos::prelude::*;

use crate::model::ChartOption;

#[component]
pub fn LineChart(id: &'static str, chart: ChartOption, description: String) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    // Drawn once the element exists, however the page was reached.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(element) = node.get() else { return };
        let (option, unavailable) = (chart.clone(), element.clone());
        let zone = crate::components::time::reader_zone();
        crate::components::echarts::with_full_build(
            move || drop(crate::components::echarts::draw(&element, &option, zone.as_deref())),
            move || crate::components::echarts::unavailable(&unavailable, "chart"),
        );
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = chart;
    view! {
        <figure class="chart small">
            <div node_ref=node id=id class="line-chart" role="img" aria-label=description></div>
        </figure>
    }
}
