//! Signal processing shared by every front end.

pub mod mixing;
pub mod resample;
pub mod stft;
pub mod tensor_stft;

pub use mixing::{StemControl, db_to_gain, stem_gains};
pub use resample::{ResampleError, resample, resample_to_len};
pub use stft::{Spectrogram, Stft, hann_window};
