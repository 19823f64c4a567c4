//! `svs self-train` configuration (TOML): the corpora, then one section per stage. Unknown keys
//! are errors that name the key. See configs/self-train-*.toml.

use crate::augment::AugmentConfig;
use crate::data::{DatasetKind, Split};
use crate::training::config::{ConfigError, LossSection, ModelSection, TrainingSection};
use crate::training::schedule::ScheduleConfig;
use crate::vad::config::DetectorSection;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTrainConfig {
    /// Every stage writes below this folder.
    pub output_dir: PathBuf,
    /// Student rounds at most: after the first, the student becomes the teacher again while
    /// the validation SDR keeps improving (paper Sec. 2.1: "until there is no gain").
    #[serde(default = "one")]
    pub rounds: usize,
    /// Generate the synthetic corpora first (CPU demo and tests).
    #[serde(default)]
    pub synth: Option<SynthSection>,
    /// Labeled training data (D_l): one or more corpora (`[[labeled]]`), sampled by weight.
    pub labeled: Vec<CorpusSection>,
    /// Held-out songs for validation during training.
    pub validation: ValidationSection,
    /// The unlabeled corpus (D_u).
    pub unlabeled: CorpusSection,
    /// Songs the report's SDRs are measured on.
    pub test: CorpusSection,
    pub teacher: SeparatorStage,
    pub vad: DetectorStage,
    #[serde(default)]
    pub filter: FilterSection,
    pub student: StudentStage,
}

fn one() -> usize {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusSection {
    pub dataset: DatasetKind,
    pub root: PathBuf,
    /// Splits used (labeled: train; test: test; unlabeled: all).
    #[serde(default)]
    pub splits: Vec<Split>,
    #[serde(default)]
    pub label: String,
    /// Sampling weight among the labeled corpora.
    #[serde(default = "one_f")]
    pub weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSection {
    pub dataset: DatasetKind,
    pub root: PathBuf,
    #[serde(default = "valid")]
    pub splits: Vec<Split>,
    /// At most this many songs (0 = all).
    #[serde(default)]
    pub songs: usize,
    /// Seconds of each song used.
    #[serde(default = "thirty")]
    pub seconds: f64,
}

fn valid() -> Vec<Split> {
    vec![Split::Valid]
}
fn thirty() -> f64 {
    30.0
}

/// `svs synth` runs: (folder, songs, test songs, seconds, seed) per corpus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthSection {
    pub labeled: SynthCorpus,
    pub validation: SynthCorpus,
    pub unlabeled: SynthCorpus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthCorpus {
    pub out: PathBuf,
    pub songs: usize,
    #[serde(default)]
    pub test_songs: usize,
    pub seconds: f32,
    pub seed: u64,
}

/// A separator's training, less its data and output folder (the pipeline fills those in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeparatorStage {
    pub model: ModelSection,
    #[serde(default)]
    pub augment: AugmentConfig,
    #[serde(default)]
    pub optimizer: ScheduleConfig,
    #[serde(default)]
    pub loss: LossSection,
    pub training: TrainingSection,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentStage {
    pub model: ModelSection,
    #[serde(default)]
    pub augment: AugmentConfig,
    #[serde(default)]
    pub optimizer: ScheduleConfig,
    #[serde(default)]
    pub loss: LossSection,
    pub training: TrainingSection,
    /// Sampling weight of all the labeled data together.
    #[serde(default = "one_f")]
    pub labeled_weight: f64,
    /// Sampling weight of the kept self-labeled data.
    #[serde(default = "one_f")]
    pub pseudo_label_weight: f64,
}

fn one_f() -> f64 {
    1.0
}

impl StudentStage {
    /// The separator-training part of the stage.
    pub fn separator(&self) -> SeparatorStage {
        SeparatorStage {
            model: self.model.clone(),
            augment: self.augment.clone(),
            optimizer: self.optimizer.clone(),
            loss: self.loss.clone(),
            training: self.training.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorStage {
    #[serde(default)]
    pub detector: DetectorSection,
    #[serde(default)]
    pub augment: AugmentConfig,
    #[serde(default)]
    pub optimizer: ScheduleConfig,
    pub training: TrainingSection,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterSection {
    pub threshold: f32,
    /// Fraction of the pseudo-labeled songs kept (the paper's best: 0.25).
    pub keep_top: f64,
}

impl Default for FilterSection {
    fn default() -> Self {
        Self { threshold: 0.5, keep_top: 0.25 }
    }
}

impl SelfTrainConfig {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
        config.validate().map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.labeled.is_empty() {
            return Err("at least one [[labeled]] corpus is needed".into());
        }
        if self.rounds == 0 {
            return Err("rounds must be at least 1".into());
        }
        for (name, stage) in [("teacher", &self.teacher), ("student", &self.student.separator())] {
            stage.training.validate().map_err(|e| format!("{name}.{e}"))?;
            stage.optimizer.validate().map_err(|e| format!("{name}.{e}"))?;
            stage.augment.validate(svs_core::MODEL_SAMPLE_RATE).map_err(|e| format!("{name}.augment: {e}"))?;
        }
        self.vad.training.validate().map_err(|e| format!("vad.{e}"))?;
        self.vad.detector.resolve().validate().map_err(|e| format!("vad.detector: {e}"))?;
        if !(0.0..1.0).contains(&self.filter.threshold) {
            return Err(format!("filter.threshold must be in [0, 1), got {}", self.filter.threshold));
        }
        if !(self.filter.keep_top > 0.0 && self.filter.keep_top <= 1.0) {
            return Err(format!("filter.keep_top must be in (0, 1], got {}", self.filter.keep_top));
        }
        for w in [self.student.labeled_weight, self.student.pseudo_label_weight] {
            if !(w > 0.0 && w.is_finite()) {
                return Err(format!("student weights must be positive, got {w}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configs_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        for name in ["self-train-paper.toml", "self-train-cpu-synthetic.toml"] {
            let c = SelfTrainConfig::from_file(&root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(c.filter.keep_top > 0.0);
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/self-train-cpu-synthetic.toml");
        let text = std::fs::read_to_string(&root).unwrap().replace("[filter]", "[filter]\nkeep_tpo = 0.3");
        let err = SelfTrainConfig::from_toml(&text, Path::new("s.toml")).unwrap_err().to_string();
        assert!(err.contains("keep_tpo"), "{err}");
    }
}
