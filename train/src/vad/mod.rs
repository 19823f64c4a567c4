//! Training the two voice-activity detectors of the data filter (paper Sec. 2.1.1): one for the
//! vocal/mixture energy ratio, one for the accompaniment/mixture ratio, on the same labeled
//! data and augmentation as the teacher.

pub mod config;
pub mod trainer;

pub use config::VadTrainConfig;
pub use trainer::{DetectedSource, train_detectors};
