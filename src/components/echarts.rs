//! ECharts in the browser (`/echarts.min.js`, never a CDN): drawing an
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

/// Run `then` once the world outline (`/world.json`, from the npm package
/// world-atlas) is registered with ECharts as the map `world`; fetched once per page load.
pub fn with_world_map(then: impl FnOnce() + 'static) {
    let load = js_sys::Function::new_no_args(
        "return echarts.getMap('world') ? Promise.resolve() : \
         fetch('/world.json').then(r => r.json()).then(g => echarts.registerMap('world', g))",
    );
    let Ok(promise) = load.call0(&JsValue::NULL) else { return };
    let done = Closure::once(move |_: JsValue| then());
    let _ = js_sys::Promise::from(promise).then(&done);
    done.forget();
}
