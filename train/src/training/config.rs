//! The training configuration (TOML). Unknown keys are errors that name the key.

use super::schedule::ScheduleConfig;
use crate::augment::AugmentConfig;
use crate::config_file::{ConfigFile, InvalidConfig};
use crate::data::Split;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use svs_core::model::{PoCoNetConfig, Preset, SeparationLossConfig};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelSection,
    pub data: DataSection,
    #[serde(default)]
    pub augment: AugmentConfig,
    #[serde(default)]
    pub optimizer: ScheduleConfig,
    #[serde(default)]
    pub loss: LossSection,
    pub training: TrainingSection,
}

/// A preset, optionally with explicit overrides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub preset: Preset,
    pub levels: Option<usize>,
    pub max_channels: Option<usize>,
    pub base_channels: Option<usize>,
}

impl ModelSection {
    pub fn resolve(&self) -> PoCoNetConfig {
        let mut config = self.preset.config();
        if let Some(v) = self.levels {
            config.levels = v;
        }
        if let Some(v) = self.max_channels {
            config.max_channels = v;
        }
        if let Some(v) = self.base_channels {
            config.base_channels = v;
        }
        config
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// A cache directory written by `svs prepare`.
    pub cache: PathBuf,
    /// Relative probability of drawing an example from this dataset.
    #[serde(default = "one")]
    pub weight: f64,
    /// Splits of the cache used for training.
    #[serde(default = "train_split")]
    pub splits: Vec<Split>,
    /// Free text for reports ("MUSDB18 train", "DAMP pseudo-labels top 25%").
    #[serde(default)]
    pub label: String,
}

/// Serde defaults shared with the other configuration files (`selftrain::config`).
pub(crate) fn one() -> f64 {
    1.0
}
fn train_split() -> Vec<Split> {
    vec![Split::Train]
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub train: Vec<DatasetEntry>,
    /// Cache holding the held-out songs.
    pub validation: PathBuf,
    #[serde(default = "valid_split")]
    pub validation_splits: Vec<Split>,
    /// At most this many validation songs (0 = all).
    #[serde(default)]
    pub validation_songs: usize,
    /// Seconds of each validation song used (from its start).
    #[serde(default = "thirty")]
    pub validation_seconds: f64,
}

pub(crate) fn valid_split() -> Vec<Split> {
    vec![Split::Valid]
}
pub(crate) fn thirty() -> f64 {
    30.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossSection {
    pub lambda_audio: f32,
    pub lambda_spec: f32,
    pub lambda_vocals: f32,
    pub lambda_accompaniment: f32,
}

impl Default for LossSection {
    fn default() -> Self {
        Self { lambda_audio: 1.0, lambda_spec: 1.0, lambda_vocals: 1.0, lambda_accompaniment: 1.0 }
    }
}

impl LossSection {
    pub fn resolve(&self) -> SeparationLossConfig {
        SeparationLossConfig::new()
            .with_lambda_audio(self.lambda_audio)
            .with_lambda_spec(self.lambda_spec)
            .with_lambda_vocals(self.lambda_vocals)
            .with_lambda_accompaniment(self.lambda_accompaniment)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSection {
    /// Examples per step (the paper: 4, 2, 1 for 2.5, 5, 10-second windows).
    pub batch_size: usize,
    pub iterations: u64,
    #[serde(default)]
    pub seed: u64,
    pub validate_every: u64,
    pub checkpoint_every: u64,
    #[serde(default = "ten")]
    pub log_every: u64,
    /// Early stopping: training ends once this many validations in a row have not beaten the
    /// best score (the best model is kept). None: train all `iterations`.
    #[serde(default)]
    pub patience: Option<u64>,
    /// Required in `svs train`; filled in by `svs self-train` for its stages.
    #[serde(default)]
    pub output_dir: PathBuf,
}

fn ten() -> u64 {
    10
}

impl TrainingSection {
    /// Whether early stopping ends a run that stands at `state`: its last `patience`
    /// validations did not improve on the best one. Decided from the state alone, so a resumed
    /// run stops where an uninterrupted one would.
    pub fn stops_early(&self, state: &super::checkpoint::TrainingState) -> bool {
        match (self.patience, state.best_iteration) {
            (Some(patience), Some(best)) => {
                state.iteration >= best.saturating_add(patience.saturating_mul(self.validate_every))
            }
            _ => false,
        }
    }

    /// Whether a run that stands at `state` is done: all iterations, or stopped early.
    pub fn is_finished(&self, state: &super::checkpoint::TrainingState) -> bool {
        state.iteration >= self.iterations || self.stops_early(state)
    }

    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.batch_size == 0 {
            return Err(InvalidConfig::new("training.batch_size", "must be at least 1"));
        }
        for (key, every) in [
            ("validate_every", self.validate_every),
            ("checkpoint_every", self.checkpoint_every),
            ("log_every", self.log_every),
        ] {
            if every == 0 {
                return Err(InvalidConfig::new(format!("training.{key}"), "must be at least 1"));
            }
        }
        if self.patience == Some(0) {
            return Err(InvalidConfig::new("training.patience", "must be at least 1 (or left out)"));
        }
        Ok(())
    }

    /// As [`Self::validate`], and `output_dir` must be set (`svs train`, `svs train-vad`).
    pub fn validate_with_output(&self) -> Result<(), InvalidConfig> {
        self.validate()?;
        if self.output_dir.as_os_str().is_empty() {
            return Err(InvalidConfig::new("training.output_dir", "is required"));
        }
        Ok(())
    }
}

impl DataSection {
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.train.is_empty() {
            return Err(InvalidConfig::new("data.train", "needs at least one dataset"));
        }
        if let Some(bad) = self.train.iter().find(|d| !(d.weight > 0.0 && d.weight.is_finite())) {
            return Err(InvalidConfig::new(
                "data.train.weight",
                format!("must be positive, got {} for {}", bad.weight, bad.cache.display()),
            ));
        }
        Ok(())
    }
}

/// Makes the data paths relative to the config file's directory... unless they exist relative
/// to the working directory (configs are usually run from the repository root).
pub fn fix_relative_paths(data: &mut DataSection, base: &Path) {
    let fix = |p: &mut PathBuf| {
        if p.is_relative() && !p.exists() && base.join(&*p).exists() {
            *p = base.join(&*p);
        }
    };
    for entry in &mut data.train {
        fix(&mut entry.cache);
    }
    fix(&mut data.validation);
}

impl ConfigFile for TrainConfig {
    fn validate(&self) -> Result<(), InvalidConfig> {
        self.training.validate_with_output()?;
        self.data.validate()?;
        self.optimizer.validate()?;
        self.augment.validate(svs_core::MODEL_SAMPLE_RATE).map_err(|e| InvalidConfig::new("augment", e.to_string()))?;
        let levels = self.model.resolve().levels;
        if levels == 0 || levels > 8 {
            return Err(InvalidConfig::new("model.levels", format!("must be 1 to 8, got {levels}")));
        }
        Ok(())
    }

    /// See [`fix_relative_paths`].
    fn resolve_paths(&mut self, base: &Path) {
        fix_relative_paths(&mut self.data, base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[model]
preset = "small"
[data]
train = [{ cache = "c" }]
validation = "c"
[training]
batch_size = 2
iterations = 10
validate_every = 5
checkpoint_every = 5
output_dir = "runs/x"
"#;

    #[test]
    fn invalid_values_name_their_key() {
        let bad = MINIMAL.replace("validate_every = 5", "validate_every = 0");
        match TrainConfig::from_toml(&bad, Path::new("t.toml")) {
            Err(crate::config_file::ConfigError::Invalid { invalid, .. }) => {
                assert_eq!(invalid.key, "training.validate_every")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn minimal_config_gets_the_papers_defaults() {
        let c = TrainConfig::from_toml(MINIMAL, Path::new("t.toml")).unwrap();
        assert_eq!(c.optimizer.learning_rate, 1e-4);
        assert_eq!(c.optimizer.halve_every, 100_000);
        assert_eq!(c.augment.window_seconds, 10.0);
        assert_eq!(c.loss.lambda_audio, 1.0);
        assert_eq!(c.data.train[0].weight, 1.0);
        assert_eq!(c.model.resolve(), Preset::Small.config());
    }

    #[test]
    fn unknown_and_invalid_keys_are_named() {
        let bad = MINIMAL.replace("batch_size = 2", "batch_size = 2\nbatchsize = 3");
        let err = TrainConfig::from_toml(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(err.contains("batchsize"), "{err}");
        let bad = MINIMAL.replace("batch_size = 2", "batch_size = 0");
        let err = TrainConfig::from_toml(&bad, Path::new("t.toml")).unwrap_err().to_string();
        assert!(err.contains("batch_size"), "{err}");
        let bad = MINIMAL.replace("[training]", "[augment]\nwindow_seconds = -1\n[training]");
        assert!(TrainConfig::from_toml(&bad, Path::new("t.toml")).is_err());
    }
}
