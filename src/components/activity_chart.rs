//! The activity bar chart, drawn in the browser by ECharts (loaded from
//! `crate::assets`, never a CDN) from the option the server built
//! (`crate::charts::activity`). Clicking a bar, or brushing across several,
//! narrows the time range to them.

use leptos::prelude::*;

use crate::model::{absolute_time, ChartOption, Histogram};

#[component]
pub fn ActivityChart(histogram: Histogram, chart: ChartOption) -> impl IntoView {
    let description = format!(
        "Activity chart: {} events from {} in {} bars, stacked by {}.",
        histogram.total,
        histogram.buckets.first().map(|t| absolute_time(*t)).unwrap_or_default(),
        histogram.buckets.len(),
        histogram.stacked_by
    );

    #[cfg(not(feature = "hydrate"))]
    let _ = chart;
    #[cfg(feature = "hydrate")]
    {
        let go = crate::components::navigation::navigator();
        let live = crate::components::navigation::live_view(crate::model::EventFilter::from_query);
        let histogram = histogram.clone();
        Effect::new(move |_| draw(&histogram, &chart, live, go.clone()));
    }

    view! {
        <figure class="chart">
            <div id="activity-chart" role="img" aria-label=description></div>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
fn draw(
    histogram: &Histogram,
    option: &ChartOption,
    live: impl Fn() -> crate::model::EventFilter + Copy + 'static,
    go: impl Fn(String) + Clone + 'static,
) {
    use wasm_bindgen::prelude::*;

    let Some(element) = document().get_element_by_id("activity-chart") else { return };
    let chart = crate::components::echarts::draw(&element, option, crate::components::time::reader_zone().as_deref());

    // Brushing a span along the time axis is always on, clicking a bar too.
    let json = |text: &str| js_sys::JSON::parse(text).unwrap_or(JsValue::NULL);
    chart.set_option(json(r#"{"brush": {"xAxisIndex": 0, "brushType": "lineX", "brushMode": "single", "throttleType": "debounce"}}"#));
    chart.dispatch_action(json(
        r#"{"type": "takeGlobalCursor", "key": "brush", "brushOption": {"brushType": "lineX", "brushMode": "single"}}"#,
    ));

    let bars = histogram.clone();
    // From the address bar, as the filter bar does: a click made while another
    // change still loads keeps that change.
    let narrow = move |first: usize, last: usize| {
        let (Some(start), Some(end)) = (bars.buckets.get(first), bars.bucket_end(last)) else { return };
        go(live().with_span(*start, end).href());
    };
    let on_click = {
        let narrow = narrow.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |params: JsValue| {
            let index = js_sys::Reflect::get(&params, &"dataIndex".into()).ok().and_then(|v| v.as_f64());
            if let Some(i) = index {
                narrow(i as usize, i as usize);
            }
        })
    };
    chart.on("click", &on_click);
    on_click.forget();
    let on_brush = Closure::<dyn FnMut(JsValue)>::new(move |params: JsValue| {
        // params.areas[0].coordRange = [first bar index, last bar index]
        let range = js_sys::Reflect::get(&params, &"areas".into())
            .ok()
            .and_then(|areas| js_sys::Reflect::get(&areas, &0.into()).ok())
            .and_then(|area| js_sys::Reflect::get(&area, &"coordRange".into()).ok())
            .map(|v| js_sys::Array::from(&v));
        if let Some(range) = range.filter(|r| r.length() == 2) {
            let first = range.get(0).as_f64().unwrap_or(0.0).max(0.0) as usize;
            let last = range.get(1).as_f64().unwrap_or(0.0).max(0.0) as usize;
            narrow(first.min(last), first.max(last));
        }
    });
    chart.on("brushEnd", &on_brush);
    on_brush.forget();
}
