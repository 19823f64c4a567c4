//! The training loop: Adam on Eq. 3 with the paper's schedule, validation with the real SDR,
//! atomic checkpoints, bit-for-bit resume, metrics and plots.

use super::checkpoint::{self, TrainingState};
use super::config::TrainConfig;
use super::cpu_step::{StepPath, cpu_train_step};
use super::data::{Batch, TrainingData};
use super::metrics::MetricsRecord;
use super::run_loop::{self, Learner, LoopSettings};
use super::validation::{ValidationResult, ValidationSet, validate};
use crate::augment::Augmenter;
use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::tensor::{Device, Tensor};
use std::path::{Path, PathBuf};
use svs_core::dsp::tensor_stft::{model_istft, model_stft};
use svs_core::model::cpu::train::CpuTrainer;
use svs_core::model::{PoCoNet, PoCoNetConfig, SeparationLoss};
use svs_core::model_file::{ModelFile, ModelKind, ModelMetadata, save_separator};
use svs_core::{BackendKind, MODEL_SAMPLE_RATE};

/// How to run (not part of the reproducible configuration).
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub backend: BackendKind,
    /// Device indices; more than one trains data-parallel.
    pub devices: Vec<usize>,
    /// Continue the run in `training.output_dir` from its latest checkpoint.
    pub resume: bool,
    /// Start from this model's weights (e.g. a teacher) instead of a random initialisation.
    pub init: Option<PathBuf>,
    /// Stop after this many iterations of this invocation (tests use it to simulate a kill).
    pub stop_after: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct TrainSummary {
    pub run: PathBuf,
    pub iterations: u64,
    pub best: Option<ValidationResult>,
}

/// Eq. 3 on a batch: STFT of the mixture, masks, inverse STFT, loss against the references.
pub fn batch_loss(model: &PoCoNet, loss: &SeparationLoss, batch: &Batch, device: &Device) -> Tensor<1> {
    let t = |x: &[f32]| Tensor::<1>::from_floats(x, device).reshape([batch.batch, batch.samples]);
    let estimates = model.separate_spectrogram(model_stft(t(&batch.mixture)));
    let [b, _, frames, bins, _] = estimates.dims();
    let source = |i| model_istft(estimates.clone().narrow(1, i, 1).reshape([b, frames, bins, 2]), batch.samples);
    loss.forward(source(0), source(1), t(&batch.vocals), t(&batch.accompaniment))
}

pub fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// Splits a batch into `parts` nearly equal sub-batches (data parallelism).
fn split_batch(batch: &Batch, parts: usize) -> Vec<Batch> {
    let per = batch.batch.div_ceil(parts);
    (0..batch.batch)
        .step_by(per)
        .map(|start| {
            let n = per.min(batch.batch - start);
            let range = start * batch.samples..(start + n) * batch.samples;
            Batch {
                batch: n,
                samples: batch.samples,
                mixture: batch.mixture[range.clone()].to_vec(),
                vocals: batch.vocals[range.clone()].to_vec(),
                accompaniment: batch.accompaniment[range].to_vec(),
            }
        })
        .collect()
}

/// One optimisation step on `batch`: on one device, or data-parallel over several, where each
/// device computes the gradients of its share of the batch on its own copy of the model and
/// burn's `step_multi` adds them up. Each share's loss is weighted by its size, so the summed
/// gradient is the gradient of the whole batch's mean loss. Returns the model and that loss.
pub fn train_step(
    model: PoCoNet,
    optimizer: &mut ModuleOptimizer,
    loss: &SeparationLoss,
    batch: &Batch,
    devices: &[Device],
    lr: f64,
) -> (PoCoNet, f64) {
    if let [device] = devices {
        let l = batch_loss(&model, loss, batch, device);
        let value = l.clone().into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(l.backward(), &model);
        return (optimizer.step(lr, model, grads), value);
    }
    let mut multi = MultiGradientsParams::default();
    let mut sum = 0.0;
    for (part, dev) in split_batch(batch, devices.len()).iter().zip(devices) {
        let replica = model.clone().fork(dev);
        let l = batch_loss(&replica, loss, part, dev).mul_scalar(part.batch as f32 / batch.batch as f32);
        sum += l.clone().into_scalar::<f32>() as f64;
        multi.grads.push((GradientsParams::from_grads(l.backward(), &replica), dev.clone()));
    }
    // Forking a replica moves the batch-norm running statistics it shares with `model` onto the
    // replica's device; bring them home so the next step and validation find them there.
    let home = devices[0].clone();
    (optimizer.step_multi(lr, model, multi).fork(&home), sum)
}

pub fn train(config: &TrainConfig, options: &TrainOptions) -> Result<TrainSummary> {
    let run = config.training.output_dir.clone();
    std::fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
    let path = StepPath::for_run(options.backend, &options.devices);
    tracing::info!("training steps on the {path} path");
    // Both paths keep the model on an autodiff device: burn's optimiser carries each parameter's
    // autodiff state across its update (the CPU path's gradients are plain tensors, as autodiff's
    // own are).
    let devices: Vec<Device> =
        options.devices.iter().map(|&i| options.backend.device(i).map(Device::autodiff)).collect::<Result<_, _>>()?;
    let device = devices.first().context("no device")?.clone();
    let inference_device = options.backend.device(options.devices[0])?;
    let model_config = config.model.resolve();
    let commit = git_commit();

    // Model, optimiser and state: from the latest checkpoint, else fresh or from --init.
    let fresh = || match &options.init {
        Some(path) => {
            let (model, init_config) = ModelFile::read(path)?.separator(&device)?;
            if init_config != model_config {
                bail!("{}: --init model does not match the configuration's model", path.display());
            }
            Ok(model)
        }
        None => Ok(svs_core::device::seeded(&device, config.training.seed, || model_config.init(&device))),
    };
    let (model, optimizer, mut state) = run_loop::resume_or_start(
        &run,
        options.resume,
        &model_config,
        |f| Ok(f.separator_config()?),
        || model_config.init(&device),
        fresh,
        config.training.seed,
    )?;
    let model = model.train();
    std::fs::write(run.join("config.toml"), toml::to_string_pretty(config)?)?;
    std::fs::write(run.join("git-commit"), &commit)?;

    let data = TrainingData::open(&config.data.train)?;
    let augmenter = Augmenter::new(config.augment.clone(), MODEL_SAMPLE_RATE)?;
    let validation = ValidationSet::for_training(&config.data)?;
    let loss = config.loss.resolve().init();
    let trained_on = data.trained_on();
    tracing::info!(
        "training {} parameters on {:.2} h of audio ({}), {} validation songs",
        model.num_params(),
        data.hours(),
        trained_on.join(", "),
        validation.songs.len()
    );
    let mut learner = SeparatorLearner {
        model: Some(model),
        path,
        cpu: CpuTrainer::default(),
        optimizer,
        loss,
        devices,
        inference_device,
        validation,
        config,
        model_config,
        trained_on,
        commit,
    };
    let settings =
        LoopSettings { training: &config.training, schedule: &config.optimizer, stop_after: options.stop_after };
    let best = run_loop::run(&run, &mut learner, &data, &augmenter, &mut state, settings)?;
    Ok(TrainSummary { run, iterations: state.iteration, best })
}

/// The separator as the training loop sees it: Eq. 3 with Adam, validated by the SDR.
struct SeparatorLearner<'a> {
    /// Always present between steps (burn's optimiser step takes the model by value).
    model: Option<PoCoNet>,
    path: StepPath,
    cpu: CpuTrainer,
    optimizer: ModuleOptimizer,
    loss: SeparationLoss,
    devices: Vec<Device>,
    inference_device: Device,
    validation: ValidationSet,
    config: &'a TrainConfig,
    model_config: PoCoNetConfig,
    trained_on: Vec<String>,
    commit: String,
}

impl SeparatorLearner<'_> {
    fn model(&self) -> &PoCoNet {
        self.model.as_ref().expect("the model is present between steps")
    }
}

impl Learner for SeparatorLearner<'_> {
    type Validation = ValidationResult;

    fn label(&self) -> String {
        "training".into()
    }

    fn step(&mut self, batch: &Batch, learning_rate: f64) -> f64 {
        let model = self.model.take().expect("the model is present between steps");
        let (model, loss) = match self.path {
            StepPath::Cpu => cpu_train_step(&self.cpu, model, &mut self.optimizer, &self.loss, batch, learning_rate),
            StepPath::Tensor => train_step(model, &mut self.optimizer, &self.loss, batch, &self.devices, learning_rate),
        };
        self.model = Some(model);
        loss
    }

    fn validate(&self) -> ValidationResult {
        validate(self.model().valid(), &self.inference_device, &self.validation, &self.loss)
    }

    /// The mean of the vocal and accompaniment validation SDRs.
    fn score(result: &ValidationResult) -> f64 {
        result.mean_sdr()
    }

    fn record(iteration: u64, result: &ValidationResult) -> MetricsRecord {
        MetricsRecord::Validation {
            iteration,
            loss: result.loss,
            sdr_vocals: result.sdr_vocals,
            sdr_accompaniment: result.sdr_accompaniment,
            mean_sdr: result.mean_sdr(),
        }
    }

    fn describe(result: &ValidationResult) -> String {
        format!(
            "validation loss {:.4}, SDR vocals {:.2} dB, accompaniment {:.2} dB",
            result.loss, result.sdr_vocals, result.sdr_accompaniment
        )
    }

    fn save_best(&self, run: &Path, iteration: u64, result: &ValidationResult) -> Result<()> {
        let meta = metadata(self.config, &self.trained_on, &self.commit, iteration, Some(result));
        save_separator(&run.join("best.safetensors"), &self.model().valid(), &self.model_config, &meta)?;
        Ok(())
    }

    fn save_checkpoint(&self, run: &Path, state: &TrainingState) -> Result<()> {
        let meta = metadata(self.config, &self.trained_on, &self.commit, state.iteration, None);
        let model = self.model().valid();
        checkpoint::save(run, &model, ModelKind::Separator, &self.model_config, &meta, &self.optimizer, state)?;
        Ok(())
    }
}

fn metadata(
    config: &TrainConfig,
    trained_on: &[String],
    commit: &str,
    iterations: u64,
    result: Option<&ValidationResult>,
) -> ModelMetadata {
    ModelMetadata {
        trained_on: trained_on.join(", "),
        iterations,
        sdr_vocals: result.map(|r| r.sdr_vocals),
        sdr_accompaniment: result.map(|r| r.sdr_accompaniment),
        test_set: result
            .map(|r| format!("validation: {} songs of {}", r.songs, config.data.validation.display()))
            .unwrap_or_default(),
        git_commit: commit.to_owned(),
        training_config: toml::to_string_pretty(config).unwrap_or_default(),
        notes: String::new(),
    }
}

/// The model of a run: its best (by validation mean SDR) or its latest checkpoint.
pub fn run_model(run: &Path, which: &str) -> Result<ModelFile> {
    match which {
        "best" => Ok(ModelFile::read(&run.join("best.safetensors"))?),
        "latest" => {
            let (dir, _) = checkpoint::latest(run)?.with_context(|| format!("{}: no checkpoint", run.display()))?;
            checkpoint::model_file(&dir)
        }
        other => bail!("unknown checkpoint '{other}' (expected best or latest)"),
    }
}
