//! What the plugin tells its editor: the model that runs and where, and how well the separation
//! keeps up. Written by `activate()` (the model), the engines' workers (the load) and the audio
//! thread (late blocks; atomics only, so neither ever waits on the editor), read by the editor.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use svs_core::model_file::ModelMetadata;

/// The model `activate()` loaded, for the editor's model panel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelInfo {
    /// The file name, or "embedded default model".
    pub name: String,
    /// The file it came from; `None` for the embedded default.
    pub path: Option<String>,
    /// Trainable parameters of the separator.
    pub parameters: usize,
    /// Size of the model file in bytes.
    pub file_bytes: usize,
    pub metadata: ModelMetadata,
}

/// The model panel's content: the loaded model (if any), where it runs, and the load status line
/// (which says why a chosen file was refused).
#[derive(Clone, Debug, Default)]
pub struct LoadedModel {
    pub info: Option<ModelInfo>,
    pub device: String,
    pub status: String,
    /// The requested file could not be used (the status says why).
    pub fell_back: bool,
}

/// Shared between the plugin, its audio thread, the Quality worker and the editor.
#[derive(Debug, Default)]
pub struct PluginStatus {
    loaded: RwLock<Arc<LoadedModel>>,
    /// Separation time over audio time, smoothed (f32 bits): 1.0 is exactly real time.
    load: AtomicU32,
    /// Host blocks in which some output went out dry because the worker was late.
    late_blocks: AtomicU64,
}

/// How fast the load reading follows a change: the weight of each new measurement (the worker
/// measures every second of audio, so this averages over the last few seconds).
const LOAD_SMOOTHING: f32 = 0.3;

impl PluginStatus {
    /// Called from `activate()` (not the audio thread): publishes the model now running.
    pub fn set_loaded(&self, loaded: LoadedModel) {
        let loaded = Arc::new(loaded);
        match self.loaded.write() {
            Ok(mut slot) => *slot = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
    }

    pub fn loaded(&self) -> Arc<LoadedModel> {
        match self.loaded.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The smoothed load: separation time over audio time (1.0 = all of real time).
    pub fn load(&self) -> f32 {
        f32::from_bits(self.load.load(Ordering::Relaxed))
    }

    /// Folds one measurement (`busy` seconds of work for `audio` seconds of sound) into the
    /// load. Lock- and allocation-free: the audio thread and the worker call it.
    pub fn record_load(&self, busy: f64, audio: f64) {
        if audio <= 0.0 {
            return;
        }
        let now = (busy / audio) as f32;
        let before = self.load();
        let smoothed = if before == 0.0 { now } else { before + LOAD_SMOOTHING * (now - before) };
        self.load.store(smoothed.to_bits(), Ordering::Relaxed);
    }

    pub fn late_blocks(&self) -> u64 {
        self.late_blocks.load(Ordering::Relaxed)
    }

    pub fn record_late_block(&self) {
        self.late_blocks.fetch_add(1, Ordering::Relaxed);
    }

    /// A new activation: the readings of the previous one no longer apply.
    pub fn clear_readings(&self) {
        self.load.store(0, Ordering::Relaxed);
        self.late_blocks.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_starts_at_the_first_reading_and_then_follows_slowly() {
        let status = PluginStatus::default();
        assert_eq!(status.load(), 0.0);
        status.record_load(0.001, 0.01);
        assert!((status.load() - 0.1).abs() < 1e-6);
        status.record_load(0.01, 0.01);
        assert!((status.load() - (0.1 + LOAD_SMOOTHING * 0.9)).abs() < 1e-6, "{}", status.load());
        for _ in 0..100 {
            status.record_load(0.005, 0.01);
        }
        assert!((status.load() - 0.5).abs() < 1e-3, "{}", status.load());
        status.record_load(1.0, 0.0);
        assert!((status.load() - 0.5).abs() < 1e-3, "no audio: no reading");
        status.record_late_block();
        status.record_late_block();
        assert_eq!(status.late_blocks(), 2);
        status.clear_readings();
        assert_eq!((status.load(), status.late_blocks()), (0.0, 0));
    }

    #[test]
    fn the_loaded_model_is_replaced_whole() {
        let status = PluginStatus::default();
        assert!(status.loaded().info.is_none());
        let info = ModelInfo { name: "a.safetensors".into(), parameters: 10, ..Default::default() };
        status.set_loaded(LoadedModel { info: Some(info.clone()), device: "the CPU".into(), ..Default::default() });
        let loaded = status.loaded();
        assert_eq!(loaded.info.as_ref(), Some(&info));
        assert_eq!(loaded.device, "the CPU");
    }
}
