//! Data augmentation for building training examples (Wang et al. 2021, Sec. 2.1.2 and 3.3).
//!
//! An example is a random T-second window of a segment's two sources (vocals, accompaniment),
//! optionally *randomly mixed* (the vocals of one song over the accompaniment of another), with a
//! random gain (dynamic mixing ratio), pitch shift, low-pass filter and EQ drawn independently
//! per source; the mixture is the exact sum of the two augmented sources. Every transform is
//! configurable ([`AugmentConfig`]) and deterministic for a given rng state.
//!
//! - [`config`]: the configuration, with the paper's best teacher as default (T = 10 s, p = 1).
//! - [`filters`]: gain, Butterworth low-pass, random-band EQ as pure functions.
//! - [`pitch`]: duration-preserving pitch shift (phase vocoder + rubato resampling).
//! - [`window`]: random window and random-mixing pairing.
//! - [`example`]: the [`Augmenter`] that composes them.

pub mod config;
pub mod error;
pub mod example;
pub mod filters;
pub mod pitch;
pub mod window;

#[cfg(test)]
mod tests;

pub use config::{AugmentConfig, EqConfig, GainConfig, HeadroomConfig, LowpassConfig, PitchConfig, RandomMixConfig};
pub use error::AugmentError;
pub use example::{
    Augmenter, ExamplePlan, SegmentSource, SourceEffects, SourcePair, TrainingExample, draw_effects, fit_headroom,
};
pub use filters::{EqBand, EqKind, apply_gain_db, eq, lowpass};
pub use pitch::{VocoderParams, pitch_shift, pitch_shift_with, time_stretch};
pub use window::{MixPair, crop, draw_window_start, random_mix};
