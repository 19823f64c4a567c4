//! Small helpers for the plain JavaScript objects exchanged with the worker and for turning
//! JavaScript exceptions into readable text.

use js_sys::{Array, Float32Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A fresh object with `kind` set.
pub fn message(kind: &str) -> Object {
    let object = Object::new();
    set(&object, "kind", &kind.into());
    object
}

pub fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object cannot fail.
    let _ = Reflect::set(object, &key.into(), value);
}

pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_str(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

pub fn get_f64(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key).as_f64()
}

/// `key` as an array of `Float32Array`s (planar channels).
pub fn get_channels(object: &JsValue, key: &str) -> Vec<Float32Array> {
    let value = get(object, key);
    if !Array::is_array(&value) {
        return Vec::new();
    }
    Array::from(&value).iter().filter_map(|v| v.dyn_into::<Float32Array>().ok()).collect()
}

/// Planar channels as a JS array, plus the list of their buffers to transfer.
pub fn channels_array(channels: &[Float32Array], transfer: &Array) -> Array {
    let array = Array::new();
    for channel in channels {
        array.push(channel);
        transfer.push(&channel.buffer());
    }
    array
}

/// The text of a JavaScript exception or rejection (`Error.message`, or the value as a string).
pub fn error_text(error: &JsValue) -> String {
    if let Some(message) = get_str(error, "message").filter(|m| !m.is_empty()) {
        return message;
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// Channel `c` of a Web Audio buffer as a view on the browser's own samples (web-sys's
/// `get_channel_data` would copy the whole channel into wasm memory).
pub fn channel_view(buffer: &web_sys::AudioBuffer, c: u32) -> Float32Array {
    let view = Reflect::get(buffer, &"getChannelData".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(buffer, &c.into()).ok())
        .and_then(|v| v.dyn_into::<Float32Array>().ok());
    view.unwrap_or_else(|| Float32Array::new_with_length(buffer.length()))
}

/// Milliseconds on the page's (or worker's) clock, for the phase timings below.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Logs how long a phase took (`svs: decoded: 1234 ms`) on the console, where a developer (or
/// the end-to-end tests, through WebDriver's browser log) can see where a long song's time goes.
pub fn log_phase(what: &str, started_ms: f64) {
    web_sys::console::info_1(&format!("svs: {what}: {:.0} ms", now_ms() - started_ms).into());
}

/// Sets `window.svsPlayer[key]`: what the end-to-end tests read of the player (when Play was
/// pressed, the first audible sample, the output level, the separated stretches).
pub fn test_hook(key: &str, value: &JsValue) {
    let Some(window) = web_sys::window() else { return };
    let mut hooks = get(&window, "svsPlayer");
    if !hooks.is_object() {
        hooks = Object::new().into();
        let _ = Reflect::set(&window, &"svsPlayer".into(), &hooks);
    }
    let _ = Reflect::set(&hooks, &key.into(), value);
}
