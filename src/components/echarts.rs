//! ECharts in the browser (`crate::assets`, never a CDN): drawing an
//! option into an element, and the instance methods the charts use.

use wasm_bindgen::prelude::*;

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

/// Draw an ECharts option, written as JSON, into `element` as SVG, replacing
/// a chart drawn there before, and mark the element `data-ready` for tests.
pub fn draw(element: &web_sys::Element, option: &str) -> Instance {
    let instance = fresh(element);
    instance.set_option(js_sys::JSON::parse(option).unwrap_or(JsValue::NULL));
    let _ = element.set_attribute("data-ready", "true");
    instance
}

fn fresh(element: &web_sys::Element) -> Instance {
    if !instance_of(element).is_undefined() {
        dispose(element);
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"renderer".into(), &"svg".into());
    init(element, JsValue::NULL, options.into())
}

/// Run `then` once ECharts has the map's parts (`assets::ECHARTS_MAP`, loaded
/// here when the page started with the build without them) and the world
/// outline (from the npm package world-atlas) is registered as the map
/// `world`; each is fetched once per page load. `failed` runs instead when
/// either cannot be loaded.
pub fn with_world_map(then: impl FnOnce() + 'static, failed: impl FnOnce() + 'static) {
    let load = js_sys::Function::new_with_args(
        "bundle, world",
        "const parts = window.echartsMap ? Promise.resolve() : new Promise((loaded, failed) => { \
           const script = document.createElement('script'); \
           script.src = bundle; script.onload = loaded; script.onerror = failed; \
           document.head.appendChild(script); }); \
         return parts.then(() => echarts.getMap('world') || \
           fetch(world).then(r => r.json()).then(g => echarts.registerMap('world', g)))",
    );
    let urls = (JsValue::from_str(crate::assets::ECHARTS_MAP), JsValue::from_str(crate::assets::WORLD));
    let Ok(promise) = load.call2(&JsValue::NULL, &urls.0, &urls.1) else { return };
    let done = Closure::once(move |_: JsValue| then());
    let error = Closure::once(move |_: JsValue| failed());
    let _ = js_sys::Promise::from(promise).then2(&done, &error);
    done.forget();
    error.forget();
}
