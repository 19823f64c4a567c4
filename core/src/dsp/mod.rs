//! Signal processing shared by every front end.

pub mod resample;
pub mod stft;
pub mod tensor_stft;

pub use resample::{ResampleError, resample};
pub use stft::{Spectrogram, Stft};
