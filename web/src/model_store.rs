//! The model file the user chose, kept in the browser (the origin-private file system, with its
//! name, size and measured SDR in local storage) so the next visit can offer it again. Nothing
//! leaves the computer. Written in JavaScript: the file-system calls are a few promise chains,
//! which web-sys exposes only behind its unstable-API flag.

use js_sys::ArrayBuffer;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const FILE = "chosen-model.safetensors";
const META = "svs-stored-model";
export async function storeModel(bytes, name, size, sdr) {
  const root = await navigator.storage.getDirectory();
  const handle = await root.getFileHandle(FILE, { create: true });
  const writable = await handle.createWritable();
  await writable.write(bytes);
  await writable.close();
  localStorage.setItem(META, JSON.stringify({ name, size, sdr }));
}
export function storedModel() {
  try { return JSON.parse(localStorage.getItem(META)); } catch { return null; }
}
export async function loadStoredModel() {
  const root = await navigator.storage.getDirectory();
  const file = await (await root.getFileHandle(FILE)).getFile();
  return await file.arrayBuffer();
}
export async function forgetStoredModel() {
  localStorage.removeItem(META);
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(FILE).catch(() => {});
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = storeModel)]
    async fn store_model_js(bytes: &ArrayBuffer, name: &str, size: &str, sdr: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = storedModel)]
    fn stored_model_js() -> JsValue;
    #[wasm_bindgen(catch, js_name = loadStoredModel)]
    async fn load_stored_model_js() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = forgetStoredModel)]
    async fn forget_stored_model_js() -> Result<JsValue, JsValue>;
}

/// What the page shows of a stored model before loading it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredModel {
    pub name: String,
    /// "1.6 MB"
    pub size: String,
    /// "SDR: vocals 5.69 dB, accompaniment 7.33 dB (…)"
    pub sdr: String,
}

/// Keeps `bytes` as the model to offer next time (replacing the one kept before).
pub async fn store(bytes: &ArrayBuffer, model: &StoredModel) -> Result<(), String> {
    store_model_js(bytes, &model.name, &model.size, &model.sdr)
        .await
        .map(drop)
        .map_err(|e| format!("The model could not be kept for the next visit: {}", crate::js::error_text(&e)))
}

/// The model kept by an earlier visit, if any.
pub fn stored() -> Option<StoredModel> {
    let meta = stored_model_js();
    let field = |key: &str| crate::js::get_str(&meta, key);
    Some(StoredModel {
        name: field("name")?,
        size: field("size").unwrap_or_default(),
        sdr: field("sdr").unwrap_or_default(),
    })
}

/// The kept model's bytes.
pub async fn load() -> Result<ArrayBuffer, String> {
    load_stored_model_js()
        .await
        .map(JsCast::unchecked_into)
        .map_err(|e| format!("The model kept from the last visit could not be read: {}", crate::js::error_text(&e)))
}

/// Forgets the kept model.
pub async fn forget() {
    let _ = forget_stored_model_js().await;
}
