//! `svs train-vad` configuration (TOML): the detector's layers, then the same data,
//! augmentation, optimiser and training sections as a separator's configuration.

use crate::augment::AugmentConfig;
use crate::config_file::{ConfigFile, InvalidConfig};
use crate::training::config::{DataSection, TrainingSection, fix_relative_paths};
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

impl ConfigFile for VadTrainConfig {
    fn validate(&self) -> Result<(), InvalidConfig> {
        self.detector.resolve().validate().map_err(|e| InvalidConfig::new("detector", e.to_string()))?;
        self.training.validate_with_output()?;
        self.data.validate()?;
        self.optimizer.validate()?;
        self.augment.validate(svs_core::MODEL_SAMPLE_RATE).map_err(|e| InvalidConfig::new("augment", e.to_string()))
    }

    fn resolve_paths(&mut self, base: &Path) {
        fix_relative_paths(&mut self.data, base);
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
    fn the_shipped_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/vad-cpu-synthetic.toml");
        let c = VadTrainConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.detector.channels, vec![8, 16, 16]);
    }

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
