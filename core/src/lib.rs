//! svs-core: everything the `svs` CLI, the plugin and the web app share.
//!
//! - [`audio`]: decoding (symphonia), WAV encoding (hound), planar buffers.
//! - [`dsp`]: resampling (rubato), a CPU STFT (realfft) and the differentiable tensor STFT.
//! - [`model`]: the PoCoNet separator, its loss, and the voice-activity detector.
//! - [`model_file`]: the safetensors model file (configuration + weights + metadata).
//! - [`separator`]: chunked, bounded-memory inference at any rate and channel count.
//! - [`range_separation`]: any stretch of a song, separated exactly as the whole song would be.
//! - [`device`]: picking a burn device (CPU `flex`, wgpu) at run time.
//! - [`default_model`]: the embedded default separator (`models/default.safetensors`).

pub mod audio;
pub mod default_model;
pub mod device;
pub mod dsp;
pub mod live;
pub mod model;
pub mod model_file;
pub mod range_separation;
pub mod separator;

pub use audio::AudioBuffer;
pub use device::BackendKind;
pub use live::{LiveConfig, LiveSeparator};
pub use model::{PoCoNet, PoCoNetConfig, Preset};
pub use model_file::{ModelFile, ModelFileError, ModelMetadata};
pub use range_separation::{PlacedBlock, RangeSeparation};
pub use separator::{LoadSeparatorError, MaskMode, SeparationError, Separator, SeparatorConfig, Stems};

/// The model's sample rate (paper Sec. 3.2): every song is separated at 16 kHz mono.
pub const MODEL_SAMPLE_RATE: u32 = 16_000;
/// FFT size of the model's STFT (paper Sec. 3.2).
pub const N_FFT: usize = 1024;
/// Hop of the model's STFT (paper Sec. 3.2).
pub const HOP: usize = 256;
