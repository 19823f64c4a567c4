//! The one training loop, shared by the separator and the voice-activity detectors: draw an
//! augmented batch, step, log, validate and keep the best model, checkpoint, and stop after a
//! given number of steps (tests use that to simulate a kill). What differs between the models
//! (the loss and its step, the validation and its score, what gets saved) is a [`Learner`].

use super::checkpoint::{self, TrainingState};
use super::config::TrainingSection;
use super::data::{Batch, TrainingData};
use super::metrics::{self, MetricsRecord};
use super::schedule::ScheduleConfig;
use crate::augment::Augmenter;
use crate::progress;
use anyhow::{Result, bail};
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::store::ModuleSnapshot;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use std::path::Path;
use std::time::Instant;
use svs_core::ModelFile;

/// A model being trained, with its optimiser and its validation.
pub trait Learner {
    /// What one validation measured.
    type Validation;

    /// Shown beside the progress bar ("training", "vocals detector").
    fn label(&self) -> String;

    /// Adapts a freshly drawn batch before the step (the detectors silence sources).
    fn prepare(&self, batch: Batch, _rng: &mut ChaCha8Rng) -> Batch {
        batch
    }

    /// One optimisation step; returns the batch's loss.
    fn step(&mut self, batch: &Batch, learning_rate: f64) -> f64;

    fn validate(&self) -> Self::Validation;

    /// The validation score that picks the best model; higher is better.
    fn score(validation: &Self::Validation) -> f64;

    /// The validation's line in `metrics.jsonl`.
    fn record(iteration: u64, validation: &Self::Validation) -> MetricsRecord;

    /// The validation as a log line.
    fn describe(validation: &Self::Validation) -> String;

    /// Writes the current model as the run's best (`best.safetensors`).
    fn save_best(&self, run: &Path, iteration: u64, validation: &Self::Validation) -> Result<()>;

    /// Writes a checkpoint of the current model, optimiser and `state`.
    fn save_checkpoint(&self, run: &Path, state: &TrainingState) -> Result<()>;
}

/// A resumed run: its model (with the checkpoint's weights), optimiser and state.
pub type Resumed<M> = (M, ModuleOptimizer, TrainingState);

/// Resumes run `run` from its latest checkpoint, if it has one: the checkpoint's model
/// configuration (read by `saved_config`) must equal `config`; `init` builds the model the
/// weights are loaded into. `None` (with a warning) when there is nothing to resume.
pub fn resume_latest<M: Module + ModuleSnapshot, C: PartialEq>(
    run: &Path,
    config: &C,
    saved_config: impl FnOnce(&ModelFile) -> Result<C>,
    init: impl FnOnce() -> M,
) -> Result<Option<Resumed<M>>> {
    let Some((dir, state)) = checkpoint::latest(run)? else {
        tracing::warn!("{}: no checkpoint to resume from; starting from the beginning", run.display());
        return Ok(None);
    };
    if saved_config(&checkpoint::model_file(&dir)?)? != *config {
        bail!("{}: the checkpoint's model does not match the configuration's model", dir.display());
    }
    let mut model = init();
    let optimizer = checkpoint::resume(run, &dir, &state, &mut model)?;
    Ok(Some((model, optimizer, state)))
}

/// The model, optimiser and state a run starts from: its latest checkpoint when `resume` (see
/// [`resume_latest`]; `init` builds the model the weights go into), else (also when there is
/// nothing to resume) `fresh`'s model with a fresh optimiser and state seeded by `seed`.
pub fn resume_or_start<M: Module + ModuleSnapshot, C: PartialEq>(
    run: &Path,
    resume: bool,
    config: &C,
    saved_config: impl FnOnce(&ModelFile) -> Result<C>,
    init: impl FnOnce() -> M,
    fresh: impl FnOnce() -> Result<M>,
    seed: u64,
) -> Result<Resumed<M>> {
    if resume {
        if let Some(resumed) = resume_latest(run, config, saved_config, init)? {
            return Ok(resumed);
        }
    }
    let model = fresh()?;
    let (optimizer, state) = fresh_start(run, seed);
    Ok((model, optimizer, state))
}

/// A fresh optimiser and state for a run started from the beginning (its old metrics go).
pub fn fresh_start(run: &Path, seed: u64) -> (ModuleOptimizer, TrainingState) {
    let _ = std::fs::remove_file(run.join("metrics.jsonl"));
    (AdamConfig::new().init(), TrainingState::new(&ChaCha8Rng::seed_from_u64(seed)))
}

/// How long and how often (from the configuration), and when this invocation stops early.
#[derive(Clone, Copy, Debug)]
pub struct LoopSettings<'a> {
    pub training: &'a TrainingSection,
    pub schedule: &'a ScheduleConfig,
    /// Stop after this many steps of this invocation.
    pub stop_after: Option<u64>,
}

/// Trains `learner` from `state` up to the configured iterations (or `stop_after` steps, or
/// until early stopping ends it), in run directory `run`. Returns the best validation reached
/// by this invocation, if any.
pub fn run<L: Learner>(
    run: &Path,
    learner: &mut L,
    data: &TrainingData,
    augmenter: &Augmenter,
    state: &mut TrainingState,
    settings: LoopSettings,
) -> Result<Option<L::Validation>> {
    let training = settings.training;
    let total = training.iterations;
    let mut rng = state.rng()?;
    let label = learner.label();
    let bar = progress::bar(total, label.clone(), "it");
    bar.set_position(state.iteration);
    let mut best = None;
    let (mut loss_sum, mut steps_since_log, mut log_start) = (0.0f64, 0u64, Instant::now());
    let mut steps_this_run = 0;
    while state.iteration < total {
        if settings.stop_after.is_some_and(|n| steps_this_run >= n) || training.stops_early(state) {
            break;
        }
        let it = state.iteration;
        let batch = learner.prepare(data.batch(augmenter, training.batch_size, &mut rng), &mut rng);
        let lr = settings.schedule.learning_rate(it);
        let loss = learner.step(&batch, lr);
        if !loss.is_finite() {
            bail!("the loss became {loss} at iteration {it}; the last checkpoint is intact");
        }
        state.iteration += 1;
        steps_this_run += 1;
        state.store_rng(&rng);
        bar.set_position(state.iteration);
        loss_sum += loss;
        steps_since_log += 1;
        let last = state.iteration == total;
        if state.iteration % training.log_every == 0 || last {
            let seconds = log_start.elapsed().as_secs_f64() / steps_since_log as f64;
            let loss = loss_sum / steps_since_log as f64;
            let examples_per_second = training.batch_size as f64 / seconds;
            bar.set_message(format!("{label}: loss {loss:.4} lr {lr:.1e} {examples_per_second:.2} ex/s"));
            metrics::append(
                run,
                &MetricsRecord::Train {
                    iteration: state.iteration,
                    loss,
                    learning_rate: lr,
                    examples_per_second,
                    seconds_per_iteration: seconds,
                },
            )?;
            (loss_sum, steps_since_log, log_start) = (0.0, 0, Instant::now());
        }
        if state.iteration % training.validate_every == 0 || last {
            let validation = learner.validate();
            tracing::info!("{label}, iteration {}: {}", state.iteration, L::describe(&validation));
            metrics::append(run, &L::record(state.iteration, &validation))?;
            let score = L::score(&validation);
            let improved = score.is_finite() && state.best_score.is_none_or(|b| score > b);
            // The first validation always writes a best model, so a run has one even if its
            // score is not finite yet.
            if improved || state.best_iteration.is_none() {
                state.best_score = score.is_finite().then_some(score);
                state.best_iteration = Some(state.iteration);
                learner.save_best(run, state.iteration, &validation)?;
                best = Some(validation);
            }
            if let Err(e) = metrics::plot(run) {
                tracing::warn!("plotting failed: {e:#}");
            }
        }
        let stopping = training.stops_early(state);
        if stopping {
            tracing::info!(
                "{label}: stopping early at iteration {}: {} validations without improving on iteration {}",
                state.iteration,
                training.patience.unwrap_or_default(),
                state.best_iteration.unwrap_or_default()
            );
        }
        if state.iteration % training.checkpoint_every == 0 || last || stopping {
            learner.save_checkpoint(run, state)?;
        }
    }
    bar.finish_and_clear();
    Ok(best)
}
