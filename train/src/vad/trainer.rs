//! The detectors' training loop: Adam on the soft binary cross-entropy between the detector's
//! per-frame logits and the true energy ratios of augmented labeled examples. Checkpoints,
//! resume, metrics and plots work as for the separator (`training::checkpoint`, `metrics`).
//!
//! Each detector trains in its own run directory (`<output_dir>/vocals`,
//! `<output_dir>/accompaniment`) and its best model (lowest validation loss) is exported as
//! `<output_dir>/vad-vocals.safetensors` and `vad-accompaniment.safetensors`.

use super::config::VadTrainConfig;
use crate::augment::Augmenter;
use crate::progress;
use crate::training::checkpoint::{self, TrainingState};
use crate::training::data::{Batch, TrainingData};
use crate::training::metrics::{self, MetricsRecord};
use crate::training::trainer::{TrainOptions, git_commit};
use crate::training::validation::ValidationSet;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::Instant;
use svs_core::MODEL_SAMPLE_RATE;
use svs_core::model::VocalActivityDetector;
use svs_core::model::vad::{energy_ratio_targets, frame_count, soft_bce_with_logits};
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

    let resumed = if options.resume { checkpoint::latest(&run)? } else { None };
    let (mut model, mut optimizer, mut state) = match resumed {
        Some((dir, state)) => {
            let saved = checkpoint::model_file(&dir)?.vad_config()?;
            if saved != model_config {
                bail!("{}: the checkpoint's detector does not match the configuration's", dir.display());
            }
            let mut model = model_config.init(&device);
            let optimizer = checkpoint::resume(&run, &dir, &state, &mut model)?;
            (model, optimizer, state)
        }
        None => {
            // Different seeds for the two detectors' initialisations, the same data stream.
            device.seed(config.training.seed ^ (source as u64 + 1));
            let _ = std::fs::remove_file(run.join("metrics.jsonl"));
            let rng = ChaCha8Rng::seed_from_u64(config.training.seed);
            (model_config.init(&device), AdamConfig::new().init(), TrainingState::new(&rng))
        }
    };
    if state.iteration >= config.training.iterations && exported.exists() {
        let model = ModelFile::read(&exported)?.vad(&inference_device)?.0;
        let validation = open_validation(config)?;
        tracing::info!("{}: already trained", exported.display());
        return Ok((exported, validate_detector(&model, source, &validation, &inference_device)));
    }
    std::fs::write(run.join("config.toml"), toml::to_string_pretty(config)?)?;

    let data = TrainingData::open(&config.data.train)?;
    let augmenter = Augmenter::new(config.augment.clone(), MODEL_SAMPLE_RATE)?;
    let validation = open_validation(config)?;
    let trained_on: Vec<String> = data.datasets.iter().map(|(_, w, l)| format!("{l} (weight {w})")).collect();
    tracing::info!(
        "training the {} detector ({} parameters) on {:.2} h of audio",
        source.name(),
        model.num_params(),
        data.hours()
    );
    let mut rng = state.rng()?;
    let total = config.training.iterations;
    let bar = progress::bar(total, format!("{} detector", source.name()), "it");
    bar.set_position(state.iteration);
    let mut steps_this_run = 0;
    let mut since_log = (0.0f64, 0u64, Instant::now());
    let metadata = |iterations: u64, v: Option<DetectorValidation>| ModelMetadata {
        trained_on: trained_on.join(", "),
        iterations,
        test_set: v
            .map(|v| {
                format!(
                    "validation: {} songs of {}: cross-entropy {:.4}, frame accuracy {:.3}",
                    validation.songs.len(),
                    config.data.validation.display(),
                    v.loss,
                    v.accuracy
                )
            })
            .unwrap_or_default(),
        git_commit: commit.clone(),
        training_config: toml::to_string_pretty(config).unwrap_or_default(),
        notes: format!(
            "{} voice-activity detector (energy ratio of the {} over the mixture)",
            source.name(),
            source.name()
        ),
        ..Default::default()
    };
    while state.iteration < total {
        if options.stop_after.is_some_and(|n| steps_this_run >= n) {
            break;
        }
        let it = state.iteration;
        let batch = with_lone_sources(data.batch(&augmenter, config.training.batch_size, &mut rng), &mut rng);
        let lr = config.optimizer.learning_rate(it);
        let loss = batch_loss(&model, &batch, source, &device);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        if !loss_value.is_finite() {
            bail!("the loss became {loss_value} at iteration {it}; the last checkpoint is intact");
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(lr, model, grads);
        state.iteration += 1;
        steps_this_run += 1;
        state.store_rng(&rng);
        bar.set_position(state.iteration);
        since_log.0 += loss_value;
        since_log.1 += 1;
        if state.iteration % config.training.log_every == 0 || state.iteration == total {
            let seconds = since_log.2.elapsed().as_secs_f64() / since_log.1 as f64;
            let loss = since_log.0 / since_log.1 as f64;
            bar.set_message(format!("{} detector: loss {loss:.4}", source.name()));
            metrics::append(
                &run,
                &MetricsRecord::Train {
                    iteration: state.iteration,
                    loss,
                    learning_rate: lr,
                    examples_per_second: config.training.batch_size as f64 / seconds,
                    seconds_per_iteration: seconds,
                },
            )?;
            since_log = (0.0, 0, Instant::now());
        }
        if state.iteration % config.training.validate_every == 0 || state.iteration == total {
            let result = validate_detector(&model.valid(), source, &validation, &inference_device);
            tracing::info!(
                "{} detector, iteration {}: validation cross-entropy {:.4}, frame accuracy {:.3}",
                source.name(),
                state.iteration,
                result.loss,
                result.accuracy
            );
            metrics::append(
                &run,
                &MetricsRecord::DetectorValidation {
                    iteration: state.iteration,
                    loss: result.loss,
                    accuracy: result.accuracy,
                },
            )?;
            // The detector's "best" is its lowest validation loss; stored negated in the
            // state's best-score slot (higher is better there).
            let score = -result.loss;
            if score.is_finite() && state.best_mean_sdr.is_none_or(|b| score > b) {
                state.best_mean_sdr = Some(score);
                state.best_iteration = Some(state.iteration);
                let meta = metadata(state.iteration, Some(result));
                save_vad(&run.join("best.safetensors"), &model.valid(), &model_config, source.kind(), &meta)?;
            }
            if let Err(e) = metrics::plot(&run) {
                tracing::warn!("plotting failed: {e:#}");
            }
        }
        if state.iteration % config.training.checkpoint_every == 0 || state.iteration == total {
            let meta = metadata(state.iteration, None);
            checkpoint::save(&run, &model.valid(), source.kind(), &model_config, &meta, &optimizer, &state)?;
        }
    }
    bar.finish_and_clear();
    if state.iteration < total {
        bail!("stopped at iteration {} of {total}", state.iteration);
    }
    let best = run.join("best.safetensors");
    let bytes = std::fs::read(&best).with_context(|| format!("reading {}", best.display()))?;
    svs_core::model_file::write_atomically(&exported, &bytes)
        .with_context(|| format!("writing {}", exported.display()))?;
    let model = ModelFile::read(&exported)?.vad(&inference_device)?.0;
    Ok((exported.clone(), validate_detector(&model, source, &validation, &inference_device)))
}

fn open_validation(config: &VadTrainConfig) -> Result<ValidationSet> {
    let set = ValidationSet::open(
        &config.data.validation,
        &config.data.validation_splits,
        config.data.validation_songs,
        config.data.validation_seconds,
    )?;
    if set.songs.is_empty() {
        bail!(
            "{}: no validation songs in splits {:?}",
            config.data.validation.display(),
            config.data.validation_splits
        );
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

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
