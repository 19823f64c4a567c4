//! The page: a Leptos client-side app. `State` holds every signal; the components in the
//! submodules read and write it; `jobs` connects it to the separation worker.

mod jobs;
mod picker;
mod player;
mod separate;

use crate::coverage::Coverage;
use crate::decode::Decoded;
use crate::mix::MixSettings;
use crate::player::Player;
use crate::protocol::BackendChoice;
use crate::worker_client::{Block, Job, Spare};
use js_sys::ArrayBuffer;
use leptos::prelude::*;

pub fn mount() {
    install_panic_hook();
    leptos::mount::mount_to_body(App);
}

/// A panic aborts the page's wasm instance, after which nothing on the page responds; say so in
/// words instead of leaving the page silently frozen (written to the DOM directly: the app can
/// no longer run).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("svs page: {info}").into());
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(banner) = document.create_element("div") else { return };
        banner.set_id("fatal-error");
        banner.set_class_name("banner error");
        banner.set_attribute("role", "alert").ok();
        banner.set_text_content(Some(&format!(
            "The page stopped because of an internal error ({}). Reload the page to start again.",
            info.payload_as_str().unwrap_or("unknown cause")
        )));
        if let Some(body) = document.body() {
            body.prepend_with_node_1(&banner).ok();
        }
    }));
}

/// The FLAC downloads, made on request once the separation is done.
#[derive(Clone, Debug, PartialEq)]
pub enum Flac {
    NotAsked,
    Preparing,
    Ready { vocals_url: String, accompaniment_url: String },
}

/// What the user picked, as shown on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct FileInfo {
    pub name: String,
    pub seconds: f64,
    pub sample_rate: u32,
    pub channels: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// No song yet (or the last one could not be decoded).
    Empty,
    Decoding,
    Ready,
    Separating {
        fraction: f64,
        seconds_left: Option<f64>,
    },
    Done,
}

/// The finished separation, as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub vocals_url: String,
    pub accompaniment_url: String,
    pub seconds: f64,
    pub backend: String,
    /// "built-in model" or "model “name”".
    pub model: String,
}

/// All of the page's state. Copy: every field is a handle into Leptos's arena, so components and
/// callbacks take it by value. Browser objects (buffers, the worker, the audio context) are not
/// `Send`, so they live in local `StoredValue`s and only plain data lives in signals.
#[derive(Clone, Copy)]
pub struct State {
    pub file: RwSignal<Option<FileInfo>>,
    pub decoded: StoredValue<Option<Decoded>, LocalStorage>,
    pub phase: RwSignal<Phase>,
    /// The error shown in the red banner, in plain words.
    pub error: RwSignal<Option<String>>,
    /// A neutral note (WebGPU unavailable, cancelled, …).
    pub notice: RwSignal<Option<String>>,
    pub choice: RwSignal<BackendChoice>,
    /// The backend the current or last separation runs on.
    pub backend: RwSignal<Option<String>>,
    pub model: StoredValue<Option<(ArrayBuffer, String)>, LocalStorage>,
    pub model_name: RwSignal<Option<String>>,
    pub job: StoredValue<Option<Job>, LocalStorage>,
    /// A worker started ahead of the next job (see [`Spare`]).
    pub spare: StoredValue<Option<Spare>, LocalStorage>,
    pub outcome: RwSignal<Option<Outcome>>,
    pub flac: RwSignal<Flac>,
    /// The player of the current song (started right after the separation).
    pub player: StoredValue<Option<Player>, LocalStorage>,
    pub player_ready: RwSignal<bool>,
    /// Stems that arrived before the player was started, handed to it when it is.
    pub early_blocks: StoredValue<Vec<Block>, LocalStorage>,
    /// What the current separation has done so far.
    pub coverage: RwSignal<Coverage>,
    /// The waveform's peaks, one per column.
    pub peaks: RwSignal<Vec<f32>>,
    pub mix: RwSignal<MixSettings>,
    pub playing: RwSignal<bool>,
    /// Playing, but held where the separation has not got to yet.
    pub waiting: RwSignal<bool>,
    pub position: RwSignal<f64>,
}

impl State {
    fn new() -> Self {
        Self {
            file: RwSignal::new(None),
            decoded: StoredValue::new_local(None),
            phase: RwSignal::new(Phase::Empty),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            choice: RwSignal::new(BackendChoice::Auto),
            backend: RwSignal::new(None),
            model: StoredValue::new_local(None),
            model_name: RwSignal::new(None),
            job: StoredValue::new_local(None),
            spare: StoredValue::new_local(Spare::start(BackendChoice::Auto).ok()),
            outcome: RwSignal::new(None),
            flac: RwSignal::new(Flac::NotAsked),
            player: StoredValue::new_local(None),
            player_ready: RwSignal::new(false),
            early_blocks: StoredValue::new_local(Vec::new()),
            coverage: RwSignal::new(Coverage::default()),
            peaks: RwSignal::new(Vec::new()),
            mix: RwSignal::new(MixSettings::default()),
            playing: RwSignal::new(false),
            waiting: RwSignal::new(false),
            position: RwSignal::new(0.0),
        }
    }

    /// Forgets the separation's results (the stems in the player, the download links); the
    /// song and the playing position stay.
    pub fn clear_results(&self) {
        self.player.with_value(|p| p.as_ref().map(Player::clear_stems));
        self.early_blocks.set_value(Vec::new());
        self.coverage.set(Coverage::new(self.coverage.get_untracked().total()));
        if let Some(old) = self.outcome.get_untracked() {
            crate::export::release(&old.vocals_url);
            crate::export::release(&old.accompaniment_url);
        }
        self.outcome.set(None);
        if let Flac::Ready { vocals_url, accompaniment_url } = self.flac.get_untracked() {
            crate::export::release(&vocals_url);
            crate::export::release(&accompaniment_url);
        }
        self.flac.set(Flac::NotAsked);
    }

    /// Forgets the song: its player and results.
    pub fn close_song(&self) {
        self.clear_results();
        self.player.set_value(None);
        self.player_ready.set(false);
        self.playing.set(false);
        self.waiting.set(false);
        self.position.set(0.0);
        self.coverage.set(Coverage::default());
        self.peaks.set(Vec::new());
    }

    pub fn fail(&self, message: String) {
        self.error.set(Some(message));
    }
}

#[component]
fn App() -> impl IntoView {
    let state = State::new();
    view! {
        <header class="top">
            <div class="brand">
                <span class="logo" aria-hidden="true">"♪"</span>
                <div>
                    <h1>"Karaoke stems"</h1>
                    <p class="tagline">
                        "Split a song into vocals and accompaniment, right here in your browser."
                    </p>
                </div>
            </div>
            <p class="privacy">
                <svg class="lock" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                    <path
                        fill="currentColor"
                        d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 1 1 6 0v3H9z"
                    ></path>
                </svg>
                "Your music never leaves this computer: the separation runs on your own CPU or GPU, "
                "and nothing is uploaded."
            </p>
        </header>
        <main class="content">
            <Show when=move || state.error.get().is_some()>
                <div id="error" class="banner error" role="alert">
                    <strong>"Something went wrong. "</strong>
                    <span id="error-text">{move || state.error.get().unwrap_or_default()}</span>
                    <button class="dismiss" on:click=move |_| state.error.set(None) aria-label="Dismiss">
                        "×"
                    </button>
                </div>
            </Show>
            <Show when=move || state.notice.get().is_some()>
                <div id="notice" class="banner notice" role="status">
                    {move || state.notice.get().unwrap_or_default()}
                </div>
            </Show>
            <picker::Picker state />
            <separate::SeparatePanel state />
            <player::Results state />
        </main>
        <footer class="bottom">
            "svs · PoCoNet singing-voice separation, compiled to WebAssembly · works offline once loaded"
        </footer>
    }
}
