//! Noisy self-training (paper Sec. 2.1): the teacher pseudo-labels an unlabeled corpus
//! ([`label`]), the voice-activity detectors rank the pseudo-labeled songs and keep the best
//! ([`filter`]), a student trains on labeled plus kept data, and [`pipeline`] runs it all,
//! resumably, ending in a [`report`].

pub mod config;
pub mod diagnosis;
pub mod figure;
pub mod filter;
pub mod label;
pub mod pipeline;
pub mod report;
pub mod shard;
pub mod study;

pub use filter::{SongQuality, VadFilter};
pub use label::PseudoLabeler;
pub use shard::Shard;
