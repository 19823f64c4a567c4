//! svs-web: singing-voice separation in the browser.
//!
//! One wasm module serves two entry points: [`start_app`] (the page, a Leptos CSR app, called by
//! `www/main.js`) and [`start_worker`] (the separation, called by `www/worker.js` in a module Web
//! Worker so the page never freezes). The pure parts (progress estimate, memory budget, message
//! names) also build natively, so `cargo test --workspace` tests them without a browser.

pub mod coverage;
pub mod limits;
pub mod mix;
pub mod progress;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod decode;
#[cfg(target_arch = "wasm32")]
mod export;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod model_store;
#[cfg(target_arch = "wasm32")]
mod player;
#[cfg(target_arch = "wasm32")]
mod waveform;
#[cfg(target_arch = "wasm32")]
mod worker;
#[cfg(target_arch = "wasm32")]
mod worker_client;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::wasm_bindgen;

/// Mounts the page. Called by `www/main.js` after the module is initialised.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn start_app() {
    app::mount();
}

/// Runs the separation worker's message loop. Called by `www/worker.js` inside the worker.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn start_worker() {
    worker::run();
}
