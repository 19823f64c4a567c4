//! Signal processing shared by augmentation and the synthetic corpus (what the front ends
//! share lives in `svs_core::dsp`).
//!
//! - [`biquad`]: RBJ-cookbook second-order sections and the filter that runs them.
//! - [`convolve`]: linear convolution with a long impulse response (realfft overlap-add).

pub mod biquad;
pub mod convolve;

pub use convolve::convolve;
