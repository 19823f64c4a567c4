//! The separation worker: receives planar samples from the page, separates them window by
//! window with the core's streaming `Separator`, and posts progress and the two stems back.
//!
//! It runs in a module Web Worker (`www/worker.js`), so the page stays responsive; the page
//! cancels by terminating the worker. The input and the separated samples stay in JavaScript
//! arrays and only one window at a time is copied into wasm memory, so a long song needs little
//! more of the module's 4 GiB than its two encoded WAV files (see `limits`).

use crate::js;
use crate::progress::seconds_left;
use crate::protocol::{self, BackendChoice};
use burn::tensor::Device;
use js_sys::{Array, ArrayBuffer, Float32Array, Uint8Array};
use std::io::Cursor;
use svs_core::audio::{BitDepth, StemWriter};
use svs_core::separator::StemBlock;
use svs_core::{ModelFile, Separator, SeparatorConfig};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Installs the message handler and tells the page the worker is ready (messages posted before
/// the handler exists would be lost).
pub fn run() {
    install_panic_hook();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let data = event.data();
        if js::get_str(&data, "kind").as_deref() == Some(protocol::SEPARATE) {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(message) = separate(&data).await {
                    post_error(&message);
                }
            });
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    post(&js::message(protocol::READY), None);
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(message: &JsValue, transfer: Option<&Array>) {
    let result = match transfer {
        Some(transfer) => scope().post_message_with_transfer(message, transfer),
        None => scope().post_message(message),
    };
    if let Err(e) = result {
        web_sys::console::error_2(&"svs worker: cannot post a message".into(), &e);
    }
}

fn post_error(text: &str) {
    let message = js::message(protocol::ERROR);
    js::set(&message, "message", &text.into());
    post(&message, None);
}

/// A panic aborts the wasm instance; tell the page why first, in words, instead of leaving it
/// with a bare "unreachable" error.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("svs worker: {info}").into());
        // The words only; the source location is for the console.
        let what = info.payload_as_str().unwrap_or("unknown cause");
        post_error(&format!("The separation stopped because of an internal error: {what}"));
    }));
}

/// One separation job, from the `separate` message to the `done` message.
async fn separate(data: &JsValue) -> Result<(), String> {
    let started_job = js::now_ms();
    let sample_rate = js::get_f64(data, "sampleRate").ok_or("The page sent no sample rate.")? as u32;
    let channels = js::get_channels(data, "channels");
    if channels.is_empty() {
        return Err("The audio has no channels.".into());
    }
    // Since the page prepared the message (Separate), so the worker's start-up is included.
    js::log_phase("worker: received the samples", js::get_f64(data, "sentAt").unwrap_or_else(js::now_ms));
    let model = load_model(data)?;
    let model_name = match js::get_str(data, "modelName") {
        Some(name) if js::get(data, "model").is_instance_of::<ArrayBuffer>() => format!("model “{name}”"),
        _ => "built-in model".to_owned(),
    };
    let choice = BackendChoice::parse(&js::get_str(data, "backend").unwrap_or_default());
    let (device, label, note) = pick_device(choice).await;
    let message = js::message(protocol::BACKEND);
    js::set(&message, "name", &label.into());
    js::set(&message, "note", &note.map_or(JsValue::NULL, |n| n.into()));
    post(&message, None);

    let async_reads = label == protocol::WEBGPU_LABEL;
    let separator = Separator::from_model_file(&model, device, SeparatorConfig::default())
        .map_err(|e| format!("The model cannot be loaded: {e}"))?;
    // Test hook (the page's `?simulate=webgpu-loss`): headless browsers cannot lose a GPU on
    // demand, so the end-to-end tests make the WebGPU run die the way a lost device kills it (a
    // panic in the GPU backend, which ends the worker) with the model already on the GPU, to
    // check that the page falls back to the CPU.
    if async_reads && js::get(data, "simulateGpuLoss").as_bool() == Some(true) {
        panic!("the WebGPU device was lost (simulated by the page's ?simulate=webgpu-loss test hook)");
    }
    let started = js_sys::Date::now();
    js::log_phase("worker: loaded the model", started_job);
    let stems = run_stream(&separator, sample_rate, &channels, async_reads).await.map_err(|e| match e {
        Failure::Separation(e) => format!("The separation failed: {e}"),
        Failure::Encoding(e) => format!("The stems could not be written as WAV: {e}"),
    })?;

    let message = js::message(protocol::DONE);
    let transfer = Array::new();
    js::set(&message, "vocals", &js::channels_array(&stems.vocals, &transfer));
    js::set(&message, "accompaniment", &js::channels_array(&stems.accompaniment, &transfer));
    for (key, wav) in [("vocalsWav", &stems.vocals_wav), ("accompanimentWav", &stems.accompaniment_wav)] {
        js::set(&message, key, wav);
        transfer.push(&wav.buffer());
    }
    js::set(&message, "seconds", &((js_sys::Date::now() - started) / 1000.0).into());
    js::set(&message, "model", &model_name.into());
    js::set(&message, "sentAt", &js::now_ms().into());
    post(&message, Some(&transfer));
    js::log_phase("worker: separated and posted the stems", started);
    Ok(())
}

/// The model the page sent (a file the user chose), else the embedded default model.
fn load_model(data: &JsValue) -> Result<ModelFile, String> {
    let bytes = js::get(data, "model");
    if let Some(buffer) = bytes.dyn_ref::<ArrayBuffer>() {
        let name = js::get_str(data, "modelName").unwrap_or_else(|| "model file".into());
        return ModelFile::from_bytes(Uint8Array::new(buffer).to_vec(), &name)
            .map_err(|e| format!("This model file cannot be used: {e}"));
    }
    svs_core::default_model::default_model().map_err(|e| format!("The built-in model cannot be loaded: {e}"))
}

/// The device to run on, its label for the page, and a note when WebGPU was wanted but is not
/// available.
async fn pick_device(choice: BackendChoice) -> (Device, &'static str, Option<String>) {
    let cpu = Device::flex();
    if choice == BackendChoice::Cpu {
        return (cpu, protocol::CPU_LABEL, None);
    }
    match webgpu_device().await {
        Ok(device) => (device, protocol::WEBGPU_LABEL, None),
        Err(why) => (cpu, protocol::CPU_LABEL, Some(why)),
    }
}

#[cfg(feature = "webgpu")]
async fn webgpu_device() -> Result<Device, String> {
    // Ask the browser first: burn's initialisation is not meant to be the probe, and a missing
    // `navigator.gpu` or a null adapter is the common case (no GPU, WebGPU disabled).
    let navigator = js::get(&scope(), "navigator");
    let gpu = js::get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("This browser does not offer WebGPU, so the CPU is used (slower).".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("This browser's WebGPU has no requestAdapter, so the CPU is used.")?;
    let promise =
        request.call0(&gpu).map_err(|e| format!("WebGPU failed ({}), so the CPU is used.", js::error_text(&e)))?;
    let adapter = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| format!("WebGPU failed ({}), so the CPU is used.", js::error_text(&e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU is present but offers no graphics adapter here, so the CPU is used (slower).".into());
    }
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU could not be started ({e}), so the CPU is used."))
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu_device() -> Result<Device, String> {
    Err("This build of the app has no WebGPU support, so the CPU is used.".into())
}

/// The separated stems: samples for the players, WAV files for the downloads.
struct Output {
    vocals: Vec<Float32Array>,
    accompaniment: Vec<Float32Array>,
    vocals_wav: Uint8Array,
    accompaniment_wav: Uint8Array,
}

enum Failure {
    Separation(svs_core::SeparationError),
    Encoding(svs_core::audio::EncodeError),
}

impl From<svs_core::SeparationError> for Failure {
    fn from(e: svs_core::SeparationError) -> Self {
        Self::Separation(e)
    }
}
impl From<svs_core::audio::EncodeError> for Failure {
    fn from(e: svs_core::audio::EncodeError) -> Self {
        Self::Encoding(e)
    }
}

/// Feeds the input to the separator window by window, collecting the stems and posting progress.
async fn run_stream(
    separator: &Separator,
    sample_rate: u32,
    input: &[Float32Array],
    async_reads: bool,
) -> Result<Output, Failure> {
    let frames = input[0].length();
    let n_channels = input.len();
    let new_channels = || (0..n_channels).map(|_| Float32Array::new_with_length(frames)).collect::<Vec<_>>();
    let (vocals, accompaniment) = (new_channels(), new_channels());
    // Room for the whole file up front: growing by doubling would leave up to twice the file's
    // size in the module's memory (which never shrinks) for a long song.
    let wav_bytes = (frames as usize).saturating_mul(n_channels * 3).saturating_add(1024);
    let (mut vocals_file, mut accompaniment_file) =
        (Cursor::new(Vec::with_capacity(wav_bytes)), Cursor::new(Vec::with_capacity(wav_bytes)));
    {
        let mut vocals_wav = StemWriter::new(&mut vocals_file, "vocals.wav", sample_rate, n_channels, BitDepth::Int24)?;
        let mut accompaniment_wav =
            StemWriter::new(&mut accompaniment_file, "accompaniment.wav", sample_rate, n_channels, BitDepth::Int24)?;
        let started = js_sys::Date::now();
        let mut written = 0u32;
        let mut windows = 0u32;
        let mut collect = |block: StemBlock| -> Result<(), Failure> {
            let len = block.vocals[0].len() as u32;
            for c in 0..n_channels {
                vocals[c].subarray(written, written + len).copy_from(&block.vocals[c]);
                accompaniment[c].subarray(written, written + len).copy_from(&block.accompaniment[c]);
            }
            vocals_wav.write_planar(&block.vocals.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
            accompaniment_wav.write_planar(&block.accompaniment.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
            written += len;
            windows += 1;
            if windows % 10 == 0 {
                js::log_phase(&format!("worker: {windows} windows, {written} frames"), started);
            }
            post_progress(written as f64 / frames.max(1) as f64, (js_sys::Date::now() - started) / 1000.0);
            Ok(())
        };

        let mut stream = separator.stream(sample_rate, n_channels)?;
        let window = stream.window_len() as u32;
        let mut position = 0u32;
        while position < frames {
            let end = (position + window).min(frames);
            let block: Vec<Vec<f32>> = input.iter().map(|c| c.subarray(position, end).to_vec()).collect();
            let block: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
            let done = if async_reads { stream.push_async(&block).await? } else { stream.push(&block)? };
            for out in done {
                collect(out)?;
            }
            position = end;
        }
        let last = if async_reads { stream.finish_async().await? } else { stream.finish()? };
        if let Some(out) = last {
            collect(out)?;
        }
        vocals_wav.finalize()?;
        accompaniment_wav.finalize()?;
        js::log_phase("worker: separated", started);
    }
    let copy_started = js::now_ms();
    // Copy the WAV bytes out of wasm memory and free them before the next song.
    let to_js = |file: Cursor<Vec<u8>>| Uint8Array::from(file.into_inner().as_slice());
    let output =
        Output { vocals, accompaniment, vocals_wav: to_js(vocals_file), accompaniment_wav: to_js(accompaniment_file) };
    js::log_phase("worker: copied the WAV files out", copy_started);
    Ok(output)
}

fn post_progress(fraction: f64, elapsed_seconds: f64) {
    let message = js::message(protocol::PROGRESS);
    js::set(&message, "fraction", &fraction.into());
    js::set(&message, "secondsLeft", &seconds_left(elapsed_seconds, fraction).map_or(JsValue::NULL, JsValue::from));
    post(&message, None);
}
