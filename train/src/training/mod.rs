//! Supervised training (the teacher, and the loop the student reuses).

pub mod checkpoint;
pub mod config;
pub mod cpu_step;
pub mod data;
pub mod metrics;
pub mod run_loop;
pub mod schedule;
pub mod trainer;
pub mod validation;

pub use config::TrainConfig;
pub use trainer::{TrainOptions, TrainSummary, train};
