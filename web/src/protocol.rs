//! The messages between the page and the separation worker: plain JavaScript objects whose
//! `kind` field is one of these names, so both sides (and a reader of the browser's devtools)
//! see the same vocabulary. Sample arrays travel as transferred `Float32Array`s, not copies.
//!
//! page → worker: `separate` {sampleRate, channels: Float32Array[], from (the frame to start
//! at), backend: "auto"|"cpu", model: ArrayBuffer|null, modelName, simulateGpuLoss,
//! slowdown (test hook: seconds of wall time per second of audio, 0 for none)}; `focus`
//! {frame} (the listener moved: separate from there next); `warm` {backend} (load the built-in
//! model on that backend now, before a song arrives); `encode` (after `done`: the stems as FLAC
//! files).
//! worker → page: `ready`; `warmed` (after `warm`); `backend` {name, note}; `block` {start, vocals: Float32Array[],
//! accompaniment: Float32Array[]} (separated samples from frame `start`); `progress`
//! {fraction, secondsLeft|null}; `done` {vocalsWav: Uint8Array, accompanimentWav: Uint8Array,
//! seconds, model}; `files` {format: "flac", vocals: Uint8Array, accompaniment: Uint8Array};
//! `error` {message}.

pub const SEPARATE: &str = "separate";
pub const FOCUS: &str = "focus";
pub const WARM: &str = "warm";
pub const WARMED: &str = "warmed";
pub const READY: &str = "ready";
pub const BACKEND: &str = "backend";
pub const BLOCK: &str = "block";
pub const PROGRESS: &str = "progress";
pub const DONE: &str = "done";
pub const ENCODE: &str = "encode";
pub const FILES: &str = "files";
pub const ERROR: &str = "error";

/// Which inference backend the page asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// WebGPU when the browser offers an adapter, else the CPU.
    Auto,
    /// The CPU backend (burn's `flex`, in wasm) only.
    Cpu,
}

impl BackendChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "cpu" { Self::Cpu } else { Self::Auto }
    }
}

/// Label shown on the page for the CPU backend.
pub const CPU_LABEL: &str = "CPU (WebAssembly)";
/// Label shown on the page for the WebGPU backend.
pub const WEBGPU_LABEL: &str = "WebGPU";
