//! A small line chart drawn in the browser by ECharts (`/echarts.min.js`)
//! from a chart built with charming; the server renders its frame.

use charming::Chart;
use leptos::prelude::*;

#[component]
pub fn LineChart(id: &'static str, chart: Chart, description: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let renderer = charming::WasmRenderer::new_opt(None, None);
        if renderer.render(id, &chart).is_ok() {
            if let Some(element) = document().get_element_by_id(id) {
                let _ = element.set_attribute("data-ready", "true");
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = chart;
    view! {
        <figure class="chart small">
            <div id=id class="line-chart" role="img" aria-label=description></div>
        </figure>
    }
}
