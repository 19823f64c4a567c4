//! svs-train: the `svs` command-line tool and everything behind it that is not shared with the
//! plugin and the web app: datasets, augmentation, the synthetic corpus, training,
//! self-training, evaluation and reports.

pub mod augment;
pub mod commands;
pub mod config_file;
pub mod data;
pub mod dsp;
pub use svs_core::default_model;
pub mod eval;
pub mod heap;
pub mod huge_pages;
pub mod logging;
pub mod plotting;
pub mod progress;
pub mod random;
pub mod selftrain;
pub mod stats;
pub mod synth;
pub mod training;
pub mod vad;
