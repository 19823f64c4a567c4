//! `svs train-vad` configuration (TOML): the detector's layers, then the same data,
//! augmentation, optimiser and training sections as a separator's configuration.

use crate::augment::AugmentConfig;
use crate::training::config::{ConfigError, DataSection, TrainingSection, fix_relative_paths};
use crate::training::schedule::ScheduleConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;
use svs_core::model::VadConfig;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VadTrainConfig {
    #[serde(default)]
    pub detector: DetectorSection,
    pub data: DataSection,
    #[serde(default)]
    pub augment: AugmentConfig,
    #[serde(default)]
    pub optimizer: ScheduleConfig,
    pub training: TrainingSection,
}

/// The detector's layers (defaults: blocks of 16, 32, 32 channels; 64 GRU units a direction).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSection {
    pub channels: Vec<usize>,
    pub hidden: usize,
}

impl Default for DetectorSection {
    fn default() -> Self {
        let d = VadConfig::new();
        Self { channels: d.channels, hidden: d.hidden }
    }
}

impl DetectorSection {
    pub fn resolve(&self) -> VadConfig {
        VadConfig::new().with_channels(self.channels.clone()).with_hidden(self.hidden)
    }
}

impl VadTrainConfig {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut config = Self::from_toml(&text, path)?;
        fix_relative_paths(&mut config.data, path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
        config.validate().map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.detector.resolve().validate().map_err(|e| format!("detector: {e}"))?;
        self.training.validate()?;
        if self.training.output_dir.as_os_str().is_empty() {
            return Err("training.output_dir is required".into());
        }
        self.data.validate()?;
        self.optimizer.validate()?;
        self.augment.validate(svs_core::MODEL_SAMPLE_RATE).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[data]
train = [{ cache = "c" }]
validation = "c"
[training]
batch_size = 4
iterations = 10
validate_every = 5
checkpoint_every = 5
output_dir = "runs/vad"
"#;

    #[test]
    fn defaults_and_errors() {
        let c = VadTrainConfig::from_toml(MINIMAL, Path::new("v.toml")).unwrap();
        assert_eq!(c.detector.resolve(), VadConfig::new());
        let bad = MINIMAL.replace("[data]", "[detector]\nchannels = [8, 8, 8, 8, 8]\n[data]");
        let err = VadTrainConfig::from_toml(&bad, Path::new("v.toml")).unwrap_err().to_string();
        assert!(err.contains("v.toml") && err.contains("blocks"), "{err}");
        let bad = MINIMAL.replace("[data]", "[detector]\nhiden = 3\n[data]");
        let err = VadTrainConfig::from_toml(&bad, Path::new("v.toml")).unwrap_err().to_string();
        assert!(err.contains("hiden"), "{err}");
    }
}
