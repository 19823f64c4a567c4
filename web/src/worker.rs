//! The separation worker: receives planar samples from the page and separates them stretch by
//! stretch with the core's [`RangeSeparation`] (the song's stems bit for bit, whatever the
//! order), starting where the listener is and following their seeks (`focus` messages), then
//! filling in the rest. Each window's stems are posted as they come, so the page plays while the
//! separation runs ahead; the two WAV files follow once the whole song is done.
//!
//! It runs in a module Web Worker (`www/worker.js`), so the page stays responsive; the page
//! cancels by terminating the worker. The input and the separated samples stay in JavaScript
//! arrays and only one window at a time is copied into wasm memory, so a long song needs little
//! more of the module's 4 GiB than its two encoded WAV files (see `limits`).

use crate::coverage::{Coverage, quantum_start};
use crate::js;
use crate::progress::seconds_left;
use crate::protocol::{self, BackendChoice};
use burn::tensor::Device;
use js_sys::{Array, ArrayBuffer, Float32Array, Promise, Uint8Array};
use std::cell::Cell;
use std::io::Cursor;
use std::ops::Range;
use svs_core::audio::{BitDepth, StemFormat, StemWriter};
use svs_core::{ModelFile, PlacedBlock, RangeSeparation, Separator, SeparatorConfig};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

thread_local! {
    /// The built-in model loaded ahead of the job (see [`warm_up`]), and whether that is running.
    static WARM: std::cell::RefCell<Option<Warm>> = const { std::cell::RefCell::new(None) };
    static WARMING: Cell<bool> = const { Cell::new(false) };
    /// The finished stems (vocals, accompaniment, rate), for files in other formats.
    static FINISHED: std::cell::RefCell<Option<(Vec<Float32Array>, Vec<Float32Array>, u32)>> =
        const { std::cell::RefCell::new(None) };
    /// Where the listener is (`focus` messages): a count of the moves and the latest frame. The
    /// separation loop reads it between windows.
    static FOCUS: Cell<(u32, usize)> = const { Cell::new((0, 0)) };
}

/// Installs the message handler and tells the page the worker is ready (messages posted before
/// the handler exists would be lost).
pub fn run() {
    install_panic_hook();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let data = event.data();
        match js::get_str(&data, "kind").as_deref() {
            Some(protocol::SEPARATE) => wasm_bindgen_futures::spawn_local(async move {
                if let Err(message) = separate(&data).await {
                    post_error(&message);
                }
            }),
            Some(protocol::WARM) => {
                let choice = BackendChoice::parse(&js::get_str(&data, "backend").unwrap_or_default());
                wasm_bindgen_futures::spawn_local(warm_up(choice));
            }
            Some(protocol::ENCODE) => {
                if let Err(message) = encode_finished(StemFormat::Flac) {
                    post_error(&message);
                }
            }
            Some(protocol::FOCUS) => {
                let frame = quantum_start(js::get_f64(&data, "frame").unwrap_or(0.0).max(0.0) as usize);
                FOCUS.with(|f| f.set((f.get().0.wrapping_add(1), frame)));
                web_sys::console::info_1(&format!("svs: worker: the listener moved to frame {frame}").into());
            }
            _ => {}
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
    let choice = BackendChoice::parse(&js::get_str(data, "backend").unwrap_or_default());
    // A warm-up in progress finishes first (its work is what this job needs, most likely).
    while WARMING.with(Cell::get) {
        sleep_ms(5.0).await;
    }
    let warm = WARM.with(|w| w.borrow_mut().take()).filter(|w| w.choice == choice && js::get(data, "model").is_null());
    let Warm { separator, label, note, .. } = match warm {
        Some(warm) => warm,
        None => load(choice, load_model(data)?).await?,
    };
    let model_name = match js::get_str(data, "modelName") {
        Some(name) if js::get(data, "model").is_instance_of::<ArrayBuffer>() => format!("model “{name}”"),
        _ => "built-in model".to_owned(),
    };
    let message = js::message(protocol::BACKEND);
    js::set(&message, "name", &label.into());
    js::set(&message, "note", &note.map_or(JsValue::NULL, |n| n.into()));
    post(&message, None);
    let async_reads = label == protocol::WEBGPU_LABEL;
    // Test hook (the page's `?simulate=webgpu-loss`): headless browsers cannot lose a GPU on
    // demand, so the end-to-end tests make the WebGPU run die the way a lost device kills it (a
    // panic in the GPU backend, which ends the worker) with the model already on the GPU, to
    // check that the page falls back to the CPU.
    if async_reads && js::get(data, "simulateGpuLoss").as_bool() == Some(true) {
        panic!("the WebGPU device was lost (simulated by the page's ?simulate=webgpu-loss test hook)");
    }
    let started = js_sys::Date::now();
    js::log_phase("worker: loaded the model", started_job);
    let from = quantum_start(js::get_f64(data, "from").unwrap_or(0.0).max(0.0) as usize);
    FOCUS.with(|f| f.set((f.get().0, from)));
    let job =
        Job { sample_rate, input: &channels, async_reads, slowdown: js::get_f64(data, "slowdown").unwrap_or(0.0) };
    let stems = job.run(&separator).await.map_err(|e| match e {
        Failure::Separation(e) => format!("The separation failed: {e}"),
        Failure::Encoding(e) => format!("The stems could not be written as WAV: {e}"),
    })?;

    let message = js::message(protocol::DONE);
    let transfer = Array::new();
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

/// A separator on its device, with the device's label for the page and a note when WebGPU was
/// wanted but not available.
struct Warm {
    choice: BackendChoice,
    separator: Separator,
    label: &'static str,
    note: Option<String>,
}

/// Loads `model` on the device `choice` picks.
async fn load(choice: BackendChoice, model: ModelFile) -> Result<Warm, String> {
    let (device, label, note) = pick_device(choice).await;
    let separator = Separator::from_model_file(&model, device, SeparatorConfig::play_while_separating())
        .map_err(|e| format!("The model cannot be loaded: {e}"))?;
    Ok(Warm { choice, separator, label, note })
}

/// The page's `warm` message: the built-in model is loaded on the chosen device before any song
/// arrives, so a separation with it starts with its first window.
async fn warm_up(choice: BackendChoice) {
    let started = js::now_ms();
    WARMING.with(|w| w.set(true));
    let warm = match svs_core::default_model::default_model() {
        Ok(model) => load(choice, model).await.ok(),
        Err(_) => None,
    };
    WARM.with(|w| *w.borrow_mut() = warm);
    WARMING.with(|w| w.set(false));
    js::log_phase("worker: warmed up (the built-in model loaded)", started);
    post(&js::message(protocol::WARMED), None);
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

/// The separated stems as WAV files, for the downloads.
struct Output {
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

/// One song's separation.
struct Job<'a> {
    sample_rate: u32,
    input: &'a [Float32Array],
    async_reads: bool,
    /// Test hook (the page's `?simulate=slow-worker`): seconds of wall time to spend per second
    /// of audio at least, so the tests can make the separation fall behind playback.
    slowdown: f64,
}

impl Job<'_> {
    /// Separates the whole song, stretch by stretch from the listener's position, posting each
    /// window's stems; then encodes both stems as WAV.
    async fn run(&self, separator: &Separator) -> Result<Output, Failure> {
        let frames = self.input[0].length() as usize;
        let n_channels = self.input.len();
        let new_channels = || (0..n_channels).map(|_| Float32Array::new_with_length(frames as u32)).collect::<Vec<_>>();
        let (vocals, accompaniment) = (new_channels(), new_channels());
        let mut coverage = Coverage::new(frames);
        let started = js_sys::Date::now();
        let mut windows = 0u32;
        let read = |r: Range<usize>| -> Vec<Vec<f32>> {
            self.input.iter().map(|c| c.subarray(r.start as u32, r.end as u32).to_vec()).collect()
        };
        'song: loop {
            let (moves, focus) = FOCUS.with(Cell::get);
            let Some(gap) = coverage.next_gap(focus) else { break };
            web_sys::console::info_1(&format!("svs: worker: separating frames {gap:?}").into());
            let mut run = RangeSeparation::new(separator, self.sample_rate, n_channels, gap, frames, read)?;
            while !run.is_done() {
                let step_started = js_sys::Date::now();
                let blocks = if self.async_reads { run.step_async(read).await? } else { run.step(read)? };
                for block in blocks {
                    let len = block.stems.vocals[0].len();
                    for c in 0..n_channels {
                        let at = block.start as u32;
                        vocals[c].subarray(at, at + len as u32).copy_from(&block.stems.vocals[c]);
                        accompaniment[c].subarray(at, at + len as u32).copy_from(&block.stems.accompaniment[c]);
                    }
                    coverage.add(block.start..block.start + len);
                    post_block(&block);
                    if self.slowdown > 0.0 {
                        let due = step_started + 1000.0 * self.slowdown * len as f64 / self.sample_rate as f64;
                        sleep_ms(due - js_sys::Date::now()).await;
                    }
                }
                windows += 1;
                if windows % 10 == 0 {
                    js::log_phase(
                        &format!("worker: {windows} windows, {:.0} % separated", coverage.fraction() * 100.0),
                        started,
                    );
                }
                post_progress(coverage.fraction(), (js_sys::Date::now() - started) / 1000.0);
                // Let the page's messages in (a seek moves the focus), then follow a move.
                sleep_ms(0.0).await;
                if FOCUS.with(Cell::get).0 != moves {
                    continue 'song;
                }
            }
        }
        js::log_phase("worker: separated", started);
        let encode_started = js::now_ms();
        let output = Output {
            vocals_wav: encode(&vocals, self.sample_rate, "vocals.wav", StemFormat::Wav)?,
            accompaniment_wav: encode(&accompaniment, self.sample_rate, "accompaniment.wav", StemFormat::Wav)?,
        };
        js::log_phase("worker: encoded the WAV files", encode_started);
        // Kept for other formats the page may ask for (`encode` messages).
        FINISHED.with(|f| *f.borrow_mut() = Some((vocals, accompaniment, self.sample_rate)));
        Ok(output)
    }
}

/// Posts separated samples to the page (copies, transferred: the worker keeps its own for the
/// WAV files).
fn post_block(block: &PlacedBlock) {
    let message = js::message(protocol::BLOCK);
    let transfer = Array::new();
    let copy = |channels: &[Vec<f32>]| channels.iter().map(|c| Float32Array::from(c.as_slice())).collect::<Vec<_>>();
    js::set(&message, "start", &(block.start as f64).into());
    js::set(&message, "vocals", &js::channels_array(&copy(&block.stems.vocals), &transfer));
    js::set(&message, "accompaniment", &js::channels_array(&copy(&block.stems.accompaniment), &transfer));
    post(&message, Some(&transfer));
}

/// Waits `ms` milliseconds (at least one turn of the event loop, so queued messages run).
async fn sleep_ms(ms: f64) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.max(0.0) as i32);
    });
    let _ = JsFuture::from(promise).await;
}

/// `channels` as a 24-bit file of `format`, encoded a second at a time so only that much of the
/// samples is in wasm memory at once (the file itself is, until it is copied out).
fn encode(channels: &[Float32Array], sample_rate: u32, name: &str, format: StemFormat) -> Result<Uint8Array, Failure> {
    let frames = channels[0].length();
    // Room for the whole file up front: growing by doubling would leave up to twice the file's
    // size in the module's memory (which never shrinks) for a long song.
    let bytes = (frames as usize).saturating_mul(channels.len() * 3).saturating_add(1024);
    let mut file = Cursor::new(Vec::with_capacity(bytes));
    {
        let mut writer = StemWriter::new_as(&mut file, name, format, sample_rate, channels.len(), BitDepth::Int24)?;
        let mut at = 0u32;
        while at < frames {
            let end = (at + sample_rate).min(frames);
            let chunk: Vec<Vec<f32>> = channels.iter().map(|c| c.subarray(at, end).to_vec()).collect();
            writer.write_planar(&chunk.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
            at = end;
        }
        writer.finalize()?;
    }
    // Copied out of wasm memory, and freed there before the next file.
    Ok(Uint8Array::from(file.into_inner().as_slice()))
}

/// The page's `encode` message: the finished stems as FLAC files, posted as `files`.
fn encode_finished(format: StemFormat) -> Result<(), String> {
    let started = js::now_ms();
    let files = FINISHED.with(|f| -> Result<Option<[Uint8Array; 2]>, Failure> {
        let finished = f.borrow();
        let Some((vocals, accompaniment, rate)) = finished.as_ref() else { return Ok(None) };
        let name = |stem: &str| format!("{stem}.{}", format.extension());
        Ok(Some([
            encode(vocals, *rate, &name("vocals"), format)?,
            encode(accompaniment, *rate, &name("accompaniment"), format)?,
        ]))
    });
    let [vocals, accompaniment] = files
        .map_err(|e| match e {
            Failure::Encoding(e) => format!("The stems could not be written as {}: {e}", format.extension()),
            Failure::Separation(e) => format!("The separation failed: {e}"),
        })?
        .ok_or("There are no finished stems to write.")?;
    let message = js::message(protocol::FILES);
    js::set(&message, "format", &format.extension().into());
    js::set(&message, "vocals", &vocals);
    js::set(&message, "accompaniment", &accompaniment);
    let transfer = Array::of2(&vocals.buffer(), &accompaniment.buffer());
    post(&message, Some(&transfer));
    js::log_phase(&format!("worker: encoded the {} files", format.extension()), started);
    Ok(())
}

fn post_progress(fraction: f64, elapsed_seconds: f64) {
    let message = js::message(protocol::PROGRESS);
    js::set(&message, "fraction", &fraction.into());
    js::set(&message, "secondsLeft", &seconds_left(elapsed_seconds, fraction).map_or(JsValue::NULL, JsValue::from));
    post(&message, None);
}
