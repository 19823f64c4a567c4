//! `svs self-train` configuration (TOML): the corpora, then one section per stage. Unknown keys
//! are errors that name the key. See configs/self-train-*.toml.

use crate::augment::AugmentConfig;
use crate::config_file::{ConfigFile, InvalidConfig};
use crate::data::{DatasetKind, Split};
use crate::training::config::{LossSection, ModelSection, TrainingSection, one as one_f64, thirty, valid_split};
use crate::training::schedule::ScheduleConfig;
use crate::vad::config::DetectorSection;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    #[serde(default = "one_f64")]
    pub weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSection {
    pub dataset: DatasetKind,
    pub root: PathBuf,
    #[serde(default = "valid_split")]
    pub splits: Vec<Split>,
    /// At most this many songs (0 = all).
    #[serde(default)]
    pub songs: usize,
    /// Seconds of each song used.
    #[serde(default = "thirty")]
    pub seconds: f64,
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
    /// DAMP-like corpus only: also write the truth inside each recording (see
    /// `synth::corpus::CorpusOptions::truth`).
    #[serde(default)]
    pub truth: bool,
    /// Recorded voice clips for some songs' voices (see
    /// `synth::corpus::CorpusOptions::voice_clips`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_clips: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_voice_probability: Option<f32>,
    /// Songs sung by the SoundFont's sampled voices (see
    /// `synth::corpus::CorpusOptions::sampled_voice_probability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_voice_probability: Option<f32>,
    /// Songs through the mix bus (see `synth::corpus::CorpusOptions::bus_probability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus_probability: Option<f32>,
    /// Songs with a harmony singer in their choruses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harmony_probability: Option<f32>,
    /// The vocal-to-accompaniment range, `[low, high]` in dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocal_to_accompaniment_db: Option<(f32, f32)>,
    /// Recorded instrumental music layered into some songs' accompaniment (see
    /// `synth::corpus::CorpusOptions::music_clips`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_clips: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_layer_probability: Option<f32>,
    /// Accompaniment parts playing any melodic General MIDI instrument (see
    /// `synth::corpus::CorpusOptions::wide_palette_probability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wide_palette_probability: Option<f32>,
    /// Songs with an instrumental line over the voice (see
    /// `synth::corpus::CorpusOptions::instrument_line_probability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument_line_probability: Option<f32>,
    /// Instrumental songs: the melody played by an instrument, the vocals silent (see
    /// `synth::corpus::CorpusOptions::instrumental_probability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrumental_probability: Option<f32>,
    /// The General MIDI SoundFont that renders the instruments, or a list of them that each
    /// song draws one of (default: the one `synth::default_soundfont_path` finds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soundfont: Option<SoundFonts>,
    /// Drum kits that may play a song's drums (see `synth::corpus::CorpusOptions::drum_soundfonts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drum_soundfont: Option<SoundFonts>,
}

/// One SoundFont, or several that each song draws one of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SoundFonts {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl SoundFonts {
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            SoundFonts::One(path) => vec![path.clone()],
            SoundFonts::Many(paths) => paths.clone(),
        }
    }
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
    #[serde(default = "one_f64")]
    pub labeled_weight: f64,
    /// Sampling weight of the kept self-labeled data.
    #[serde(default = "one_f64")]
    pub pseudo_label_weight: f64,
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
    /// The same pipeline with every training stage (teacher, detectors, students) under `seed`:
    /// repeats of one configuration under several seeds. The corpora keep their own seeds (the
    /// data stay the same).
    pub fn with_training_seed(mut self, seed: u64) -> Self {
        self.teacher.training.seed = seed;
        self.vad.training.seed = seed;
        self.student.training.seed = seed;
        self
    }
}

impl ConfigFile for SelfTrainConfig {
    fn validate(&self) -> Result<(), InvalidConfig> {
        if self.labeled.is_empty() {
            return Err(InvalidConfig::new("labeled", "at least one [[labeled]] corpus is needed"));
        }
        if self.rounds == 0 {
            return Err(InvalidConfig::new("rounds", "must be at least 1"));
        }
        for (name, stage) in [("teacher", &self.teacher), ("student", &self.student.separator())] {
            stage.training.validate().map_err(|e| e.within(name))?;
            stage.optimizer.validate().map_err(|e| e.within(name))?;
            stage
                .augment
                .validate(svs_core::MODEL_SAMPLE_RATE)
                .map_err(|e| InvalidConfig::new(format!("{name}.augment"), e.to_string()))?;
        }
        self.vad.training.validate().map_err(|e| e.within("vad"))?;
        self.vad.detector.resolve().validate().map_err(|e| InvalidConfig::new("vad.detector", e.to_string()))?;
        if !(0.0..1.0).contains(&self.filter.threshold) {
            let reason = format!("must be in [0, 1), got {}", self.filter.threshold);
            return Err(InvalidConfig::new("filter.threshold", reason));
        }
        if !(self.filter.keep_top > 0.0 && self.filter.keep_top <= 1.0) {
            let reason = format!("must be in (0, 1], got {}", self.filter.keep_top);
            return Err(InvalidConfig::new("filter.keep_top", reason));
        }
        for (key, w) in
            [("labeled_weight", self.student.labeled_weight), ("pseudo_label_weight", self.student.pseudo_label_weight)]
        {
            if !(w > 0.0 && w.is_finite()) {
                return Err(InvalidConfig::new(format!("student.{key}"), format!("must be positive, got {w}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file under configs/ is a valid configuration of the command its name says it is for
    /// (`self-train-*`: `svs self-train`; `vad-*`: `svs train-vad`; `*-report`: `svs report`;
    /// the rest: `svs train`).
    #[test]
    fn the_shipped_configs_parse() {
        use crate::training::config::TrainConfig;
        use crate::vad::VadTrainConfig;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut self_train = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let parsed = if name.starts_with("self-train-") {
                self_train += 1;
                SelfTrainConfig::from_file(&path).map(|c| assert!(c.filter.keep_top > 0.0))
            } else if name.starts_with("vad-") {
                VadTrainConfig::from_file(&path).map(drop)
            } else if name.ends_with("-report.toml") {
                crate::selftrain::study::StudyConfig::from_file(&path).map(drop)
            } else {
                TrainConfig::from_file(&path).map(drop)
            };
            parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(self_train >= 3, "configs/ has {self_train} self-train configs");
    }

    #[test]
    fn unknown_keys_are_named() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/self-train-cpu-synthetic.toml");
        let text = std::fs::read_to_string(&root).unwrap().replace("[filter]", "[filter]\nkeep_tpo = 0.3");
        let err = SelfTrainConfig::from_toml(&text, Path::new("s.toml")).unwrap_err().to_string();
        assert!(err.contains("keep_tpo"), "{err}");
    }
}
