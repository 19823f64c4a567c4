//! The detectors' training loop: Adam on the soft binary cross-entropy between the detector's
//! per-frame logits and the true energy ratios of augmented labeled examples. Checkpoints,
//! resume, metrics and plots work as for the separator (`training::checkpoint`, `metrics`).
//!
//! Each detector trains in its own run directory (`<output_dir>/vocals`,
//! `<output_dir>/accompaniment`) and its best model (lowest validation loss) is exported as
//! `<output_dir>/vad-vocals.safetensors` and `vad-accompaniment.safetensors`.

use super::config::VadTrainConfig;
use crate::augment::Augmenter;
use crate::training::checkpoint::{self, TrainingState};
use crate::training::data::{Batch, TrainingData};
use crate::training::metrics::MetricsRecord;
use crate::training::run_loop::{self, Learner, LoopSettings};
use crate::training::trainer::{TrainOptions, git_commit};
use crate::training::validation::ValidationSet;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use svs_core::MODEL_SAMPLE_RATE;
use svs_core::model::vad::{energy_ratio_targets, frame_count, soft_bce_with_logits};
use svs_core::model::{VadConfig, VocalActivityDetector};
use svs_core::model_file::{ModelFile, ModelKind, ModelMetadata, save_vad};

/// Which source's share of the mixture a detector estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectedSource {
    Vocals,
    Accompaniment,
}

impl DetectedSource {
    pub const BOTH: [DetectedSource; 2] = [DetectedSource::Vocals, DetectedSource::Accompaniment];

    pub fn name(self) -> &'static str {
        match self {
            DetectedSource::Vocals => "vocals",
            DetectedSource::Accompaniment => "accompaniment",
        }
    }

    pub fn kind(self) -> ModelKind {
        match self {
            DetectedSource::Vocals => ModelKind::VadVocals,
            DetectedSource::Accompaniment => ModelKind::VadAccompaniment,
        }
    }

    /// The exported model's path in a `train-vad` output directory.
    pub fn model_path(self, output_dir: &Path) -> PathBuf {
        output_dir.join(format!("vad-{}.safetensors", self.name()))
    }

    /// (this source, the other source) of a labeled pair.
    fn pick<'a>(self, vocals: &'a [f32], accompaniment: &'a [f32]) -> (&'a [f32], &'a [f32]) {
        match self {
            DetectedSource::Vocals => (vocals, accompaniment),
            DetectedSource::Accompaniment => (accompaniment, vocals),
        }
    }
}

/// Validation of a detector on held-out songs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorValidation {
    pub loss: f64,
    /// Fraction of frames where the estimate and the true ratio fall on the same side of 0.5.
    pub accuracy: f64,
}

/// Trains both detectors in turn (each resumable) and returns their exported paths.
pub fn train_detectors(config: &VadTrainConfig, options: &TrainOptions) -> Result<Vec<(PathBuf, DetectorValidation)>> {
    let mut out = Vec::new();
    for source in DetectedSource::BOTH {
        let result = train_detector(config, source, options)
            .with_context(|| format!("training the {} detector", source.name()))?;
        out.push(result);
    }
    Ok(out)
}

/// Fraction of training examples in which one source is silenced.
pub const LONE_SOURCE_PROBABILITY: f64 = 0.5;

/// Silences one source in some examples (the vocals in half of them, the accompaniment in the
/// other half), so the detectors also learn lone sources: filtering feeds them exactly that (a
/// vocal label alone, an accompaniment label alone), and with random mixing a training mixture
/// otherwise almost always holds both. Without this, the detectors trained here flagged most
/// frames of clean stems as leaky.
pub fn with_lone_sources(mut batch: Batch, rng: &mut ChaCha8Rng) -> Batch {
    for b in 0..batch.batch {
        let u: f64 = rng.random();
        if u >= LONE_SOURCE_PROBABILITY {
            continue;
        }
        let range = b * batch.samples..(b + 1) * batch.samples;
        let silenced = if u < LONE_SOURCE_PROBABILITY / 2.0 { &mut batch.vocals } else { &mut batch.accompaniment };
        silenced[range.clone()].fill(0.0);
        for i in range {
            batch.mixture[i] = batch.vocals[i] + batch.accompaniment[i];
        }
    }
    batch
}

/// The per-frame targets of a batch, `[batch, frames]`.
fn batch_targets(batch: &Batch, source: DetectedSource, device: &Device) -> Tensor<2> {
    let frames = frame_count(batch.samples);
    let mut targets = Vec::with_capacity(batch.batch * frames);
    for b in 0..batch.batch {
        let range = b * batch.samples..(b + 1) * batch.samples;
        let (s, o) = source.pick(&batch.vocals[range.clone()], &batch.accompaniment[range]);
        targets.extend(energy_ratio_targets(s, o));
    }
    Tensor::from_data(TensorData::new(targets, [batch.batch, frames]), device)
}

fn batch_loss(model: &VocalActivityDetector, batch: &Batch, source: DetectedSource, device: &Device) -> Tensor<1> {
    let mixture = Tensor::<1>::from_floats(batch.mixture.as_slice(), device).reshape([batch.batch, batch.samples]);
    soft_bce_with_logits(model.forward_logits(mixture), batch_targets(batch, source, device))
}

/// Loss and accuracy on whole validation songs.
pub fn validate_detector(
    model: &VocalActivityDetector,
    source: DetectedSource,
    set: &ValidationSet,
    device: &Device,
) -> DetectorValidation {
    let (mut loss, mut correct, mut frames) = (0.0, 0usize, 0usize);
    for (_, vocals, accompaniment) in &set.songs {
        let (s, o) = source.pick(vocals, accompaniment);
        let targets = energy_ratio_targets(s, o);
        let mixture: Vec<f32> = vocals.iter().zip(accompaniment).map(|(v, a)| v + a).collect();
        let estimates = model.frame_ratios(&mixture, device);
        for (&p, &t) in estimates.iter().zip(&targets) {
            let p = p.clamp(1e-7, 1.0 - 1e-7) as f64;
            loss -= t as f64 * p.ln() + (1.0 - t as f64) * (1.0 - p).ln();
            correct += usize::from((p > 0.5) == (t > 0.5));
        }
        frames += targets.len();
    }
    let n = frames.max(1) as f64;
    DetectorValidation { loss: loss / n, accuracy: correct as f64 / n }
}

fn train_detector(
    config: &VadTrainConfig,
    source: DetectedSource,
    options: &TrainOptions,
) -> Result<(PathBuf, DetectorValidation)> {
    let run = config.training.output_dir.join(source.name());
    let exported = source.model_path(&config.training.output_dir);
    std::fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
    let index = *options.devices.first().context("no device")?;
    let inference_device = options.backend.device(index)?;
    let device = inference_device.clone().autodiff();
    let model_config = config.detector.resolve();
    let commit = git_commit();

    // Different seeds for the two detectors' initialisations, the same data stream.
    let seed = config.training.seed ^ (source as u64 + 1);
    let (model, optimizer, mut state) = run_loop::resume_or_start(
        &run,
        options.resume,
        &model_config,
        |f| Ok(f.vad_config()?),
        || model_config.init(&device),
        || Ok(svs_core::device::seeded(&device, seed, || model_config.init(&device))),
        config.training.seed,
    )?;
    if config.training.is_finished(&state) && exported.exists() {
        let model = ModelFile::read(&exported)?.vad(&inference_device)?.0;
        let validation = ValidationSet::for_training(&config.data)?;
        tracing::info!("{}: already trained", exported.display());
        return Ok((exported, validate_detector(&model, source, &validation, &inference_device)));
    }
    std::fs::write(run.join("config.toml"), toml::to_string_pretty(config)?)?;

    let data = TrainingData::open(&config.data.train)?;
    let augmenter = Augmenter::new(config.augment.clone(), MODEL_SAMPLE_RATE)?;
    let validation = ValidationSet::for_training(&config.data)?;
    let trained_on = data.trained_on();
    tracing::info!(
        "training the {} detector ({} parameters) on {:.2} h of audio",
        source.name(),
        model.num_params(),
        data.hours()
    );
    let mut learner = DetectorLearner {
        model: Some(model),
        optimizer,
        source,
        device,
        inference_device: inference_device.clone(),
        validation,
        config,
        model_config,
        trained_on,
        commit,
    };
    let settings =
        LoopSettings { training: &config.training, schedule: &config.optimizer, stop_after: options.stop_after };
    run_loop::run(&run, &mut learner, &data, &augmenter, &mut state, settings)?;
    let validation = learner.validation;
    if !config.training.is_finished(&state) {
        bail!("stopped at iteration {} of {}", state.iteration, config.training.iterations);
    }
    let best = run.join("best.safetensors");
    let bytes = std::fs::read(&best).with_context(|| format!("reading {}", best.display()))?;
    svs_core::model_file::write_atomically(&exported, &bytes)
        .with_context(|| format!("writing {}", exported.display()))?;
    let model = ModelFile::read(&exported)?.vad(&inference_device)?.0;
    Ok((exported.clone(), validate_detector(&model, source, &validation, &inference_device)))
}

/// A detector as the training loop sees it: soft cross-entropy with Adam, validated by the
/// same loss on whole songs.
struct DetectorLearner<'a> {
    /// Always present between steps (burn's optimiser step takes the model by value).
    model: Option<VocalActivityDetector>,
    optimizer: ModuleOptimizer,
    source: DetectedSource,
    device: Device,
    inference_device: Device,
    validation: ValidationSet,
    config: &'a VadTrainConfig,
    model_config: VadConfig,
    trained_on: Vec<String>,
    commit: String,
}

impl DetectorLearner<'_> {
    fn model(&self) -> &VocalActivityDetector {
        self.model.as_ref().expect("the model is present between steps")
    }

    fn metadata(&self, iterations: u64, v: Option<&DetectorValidation>) -> ModelMetadata {
        let name = self.source.name();
        ModelMetadata {
            trained_on: self.trained_on.join(", "),
            iterations,
            test_set: v
                .map(|v| {
                    format!(
                        "validation: {} songs of {}: cross-entropy {:.4}, frame accuracy {:.3}",
                        self.validation.songs.len(),
                        self.config.data.validation.display(),
                        v.loss,
                        v.accuracy
                    )
                })
                .unwrap_or_default(),
            git_commit: self.commit.clone(),
            training_config: toml::to_string_pretty(self.config).unwrap_or_default(),
            notes: format!("{name} voice-activity detector (energy ratio of the {name} over the mixture)"),
            ..Default::default()
        }
    }
}

impl Learner for DetectorLearner<'_> {
    type Validation = DetectorValidation;

    fn label(&self) -> String {
        format!("{} detector", self.source.name())
    }

    fn prepare(&self, batch: Batch, rng: &mut ChaCha8Rng) -> Batch {
        with_lone_sources(batch, rng)
    }

    fn step(&mut self, batch: &Batch, learning_rate: f64) -> f64 {
        let model = self.model.take().expect("the model is present between steps");
        let loss = batch_loss(&model, batch, self.source, &self.device);
        let value = loss.clone().into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optimizer.step(learning_rate, model, grads));
        value
    }

    fn validate(&self) -> DetectorValidation {
        validate_detector(&self.model().valid(), self.source, &self.validation, &self.inference_device)
    }

    /// The negated validation cross-entropy: the best detector has the lowest loss.
    fn score(v: &DetectorValidation) -> f64 {
        -v.loss
    }

    fn record(iteration: u64, v: &DetectorValidation) -> MetricsRecord {
        MetricsRecord::DetectorValidation { iteration, loss: v.loss, accuracy: v.accuracy }
    }

    fn describe(v: &DetectorValidation) -> String {
        format!("validation cross-entropy {:.4}, frame accuracy {:.3}", v.loss, v.accuracy)
    }

    fn save_best(&self, run: &Path, iteration: u64, v: &DetectorValidation) -> Result<()> {
        let meta = self.metadata(iteration, Some(v));
        save_vad(&run.join("best.safetensors"), &self.model().valid(), &self.model_config, self.source.kind(), &meta)?;
        Ok(())
    }

    fn save_checkpoint(&self, run: &Path, state: &TrainingState) -> Result<()> {
        let meta = self.metadata(state.iteration, None);
        let model = self.model().valid();
        checkpoint::save(run, &model, self.source.kind(), &self.model_config, &meta, &self.optimizer, state)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn lone_sources_silence_one_source_and_keep_the_mixture_consistent() {
        let n = 100;
        let batch = Batch {
            batch: 400,
            samples: n,
            mixture: vec![3.0; 400 * n],
            vocals: vec![1.0; 400 * n],
            accompaniment: vec![2.0; 400 * n],
        };
        let out = with_lone_sources(batch, &mut ChaCha8Rng::seed_from_u64(1));
        let (mut alone_v, mut alone_a, mut both) = (0, 0, 0);
        for b in 0..out.batch {
            let r = b * n..(b + 1) * n;
            let (v, a, m) = (&out.vocals[r.clone()], &out.accompaniment[r.clone()], &out.mixture[r]);
            assert!(m.iter().zip(v.iter().zip(a)).all(|(m, (v, a))| *m == v + a));
            match (v[0] > 0.0, a[0] > 0.0) {
                (true, false) => alone_v += 1,
                (false, true) => alone_a += 1,
                (true, true) => both += 1,
                _ => panic!("both sources silenced"),
            }
        }
        // About a quarter, a quarter and a half.
        assert!((70..130).contains(&alone_v) && (70..130).contains(&alone_a) && (160..240).contains(&both));
    }
}
