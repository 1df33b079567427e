//! A small line chart drawn in the browser by ECharts from the option the
//! server built (`crate::charts`); the server renders its frame.

use leptos::html;
use leptos::prelude::*;

use crate::model::ChartOption;

#[component]
pub fn LineChart(id: &'static str, chart: ChartOption, description: String) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    // Drawn once the element exists, however the page was reached.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(element) = node.get() {
            crate::components::echarts::draw(&element, &chart.0);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = chart;
    view! {
        <figure class="chart small">
            <div node_ref=node id=id class="line-chart" role="img" aria-label=description></div>
        </figure>
    }
}
