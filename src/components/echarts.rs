//! ECharts in the browser (`crate::assets`, never a CDN): drawing an
//! option into an element, and the instance methods the charts use.

use wasm_bindgen::prelude::*;

use crate::model::ChartOption;

#[wasm_bindgen]
extern "C" {
    /// An ECharts instance.
    pub type Instance;
    #[wasm_bindgen(js_namespace = echarts, js_name = init)]
    fn init(element: &web_sys::Element, theme: JsValue, options: JsValue) -> Instance;
    #[wasm_bindgen(method, js_name = on)]
    pub fn on(this: &Instance, event: &str, handler: &Closure<dyn FnMut(JsValue)>);
    #[wasm_bindgen(method, js_name = setOption)]
    pub fn set_option(this: &Instance, option: JsValue);
    #[wasm_bindgen(method, js_name = dispatchAction)]
    pub fn dispatch_action(this: &Instance, action: JsValue);
    #[wasm_bindgen(js_namespace = echarts, js_name = getInstanceByDom)]
    fn instance_of(element: &web_sys::Element) -> JsValue;
    #[wasm_bindgen(js_namespace = echarts, js_name = dispose)]
    fn dispose(element: &web_sys::Element);
}

/// Draw a chart into `element` as SVG, replacing a chart drawn there before,
/// its time axis labelled on the wall clock of `zone` (the browser's when
/// `None`), and mark the element `data-ready` for tests.
pub fn draw(element: &web_sys::Element, option: &ChartOption, zone: Option<&str>) -> Instance {
    let instance = fresh(element);
    let json = match &option.time_axis {
        None => option.json.clone(),
        Some(axis) => relabelled(&option.json, axis.labels(|t| crate::components::time::wall_clock(t, zone))),
    };
    // One `setOption`, so that ECharts lays the chart out once.
    instance.set_option(js_sys::JSON::parse(&json).unwrap_or(JsValue::NULL));
    let _ = element.set_attribute("data-ready", "true");
    instance
}

/// An option's JSON with its time axis labelled `labels`.
fn relabelled(json: &str, labels: Vec<String>) -> String {
    let Ok(mut option) = serde_json::from_str::<serde_json::Value>(json) else { return json.to_string() };
    if let Some(axis) = option.get_mut("xAxis").and_then(serde_json::Value::as_object_mut) {
        axis.insert("data".into(), labels.into());
    }
    option.to_string()
}

fn fresh(element: &web_sys::Element) -> Instance {
    if !instance_of(element).is_undefined() {
        dispose(element);
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"renderer".into(), &"svg".into());
    init(element, JsValue::NULL, options.into())
}

/// A JavaScript expression: a promise that ECharts has line charts and the
/// map's parts (`assets::ECHARTS_FULL` in `bundle`, loaded when the page
/// started with the build of bars only; `window.echartsFull` marks it in).
const FULL_BUILD: &str = "(window.echartsFull ? Promise.resolve() : new Promise((loaded, failed) => { \
     const script = document.createElement('script'); \
     script.src = bundle; script.onload = loaded; script.onerror = failed; \
     document.head.appendChild(script); }))";

/// Run `then` once ECharts has line charts and the map's parts (fetched once
/// per page load), or `failed` when they cannot be loaded.
pub fn with_full_build(then: impl FnOnce() + 'static, failed: impl FnOnce() + 'static) {
    let load = js_sys::Function::new_with_args("bundle", &format!("return {FULL_BUILD}"));
    after(load.call1(&JsValue::NULL, &JsValue::from_str(crate::assets::ECHARTS_FULL)), then, failed);
}

/// Run `then` once ECharts has the map's parts ([`with_full_build`]) and the
/// world outline (from the npm package world-atlas) is registered as the map
/// `world`, each fetched once per page load; `failed` runs instead when
/// either cannot be loaded.
pub fn with_world_map(then: impl FnOnce() + 'static, failed: impl FnOnce() + 'static) {
    let load = js_sys::Function::new_with_args(
        "bundle, world",
        &format!(
            "return {FULL_BUILD}.then(() => echarts.getMap('world') || \
               fetch(world).then(r => r.json()).then(g => echarts.registerMap('world', g)))"
        ),
    );
    let urls = (JsValue::from_str(crate::assets::ECHARTS_FULL), JsValue::from_str(crate::assets::WORLD));
    after(load.call2(&JsValue::NULL, &urls.0, &urls.1), then, failed);
}

/// Say in `element`, where a chart was to be drawn, that `what` could not be
/// loaded, and mark it `data-error` for tests.
pub fn unavailable(element: &web_sys::Element, what: &str) {
    element.set_text_content(Some(&format!("The {what} could not be loaded; reload the page to try again.")));
    let _ = element.set_attribute("data-error", "true");
}

/// Run `then` when the promise a call returned resolves, `failed` when it
/// rejects (or the call threw).
fn after(promise: Result<JsValue, JsValue>, then: impl FnOnce() + 'static, failed: impl FnOnce() + 'static) {
    let Ok(promise) = promise else { return failed() };
    let done = Closure::once(move |_: JsValue| then());
    let error = Closure::once(move |_: JsValue| failed());
    let _ = js_sys::Promise::from(promise).then2(&done, &error);
    done.forget();
    error.forget();
}
