//! A small line chart drawn in the browser by ECharts from a chart built
//! with charming; the server renders its frame.

use charming::Chart;
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn LineChart(id: &'static str, chart: Chart, description: String) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    // Drawn once the element exists, however the page was reached.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(element) = node.get() {
            crate::components::echarts::draw(&element, &chart);
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
