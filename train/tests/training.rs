//! Training end to end on a tiny model: it runs, writes its run directory, and a run killed
//! mid-way and resumed reaches exactly the weights of an uninterrupted run. On one CPU device
//! `svs train` steps with the CPU implementation (hand-written backward, `training::cpu_step`),
//! so these runs test that path; `--devices 0,1` keeps the tensor graph.

mod common;

use burn::module::Module;
use common::{make_cache, train_config as config};
use std::path::Path;
use svs_train::data::Split;
use svs_train::training::{TrainOptions, train};

/// The masks of `model` for a fixed input, in inference mode (weights and batch-norm running
/// statistics) or in training mode (batch statistics: the weights alone).
fn masks(model: svs_core::PoCoNet, training: bool) -> Vec<f32> {
    let device = burn::tensor::Device::flex().autodiff();
    let model = if training { model.fork(&device).train() } else { model };
    let input: Vec<f32> = (0..8 * 513 * 2).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    let x = burn::tensor::Tensor::<1>::from_floats(input.as_slice(), &device).reshape([1, 8, 513, 2]);
    model.masks(x).into_data().try_to_vec::<f32>().unwrap()
}

/// The latest checkpoint's model.
fn checkpoint_model(run: &Path) -> svs_core::PoCoNet {
    let dir = svs_train::training::checkpoint::latest(run).unwrap().unwrap().0;
    svs_train::training::checkpoint::model_file(&dir).unwrap().separator(&burn::tensor::Device::flex()).unwrap().0
}

/// The latest checkpoint's inference masks for a fixed input: equal exactly iff the weights and
/// running statistics are equal (the file bytes also hold metadata, such as the run's own path,
/// that legitimately differ).
fn weights(run: &Path) -> Vec<f32> {
    masks(checkpoint_model(run), false)
}

#[test]
fn a_killed_and_resumed_run_matches_an_uninterrupted_one() {
    let _training = common::one_training_at_a_time();
    let root = tempfile::tempdir().unwrap();
    make_cache(&root.path().join("train"), 3, Split::Train);
    make_cache(&root.path().join("valid"), 1, Split::Valid);
    let options = TrainOptions {
        backend: svs_core::BackendKind::Cpu,
        devices: vec![0],
        resume: false,
        init: None,
        stop_after: None,
    };

    let full = config(root.path(), "full");
    let summary = train(&full, &options).unwrap();
    assert_eq!(summary.iterations, 12);
    let run = root.path().join("full");
    for file in
        ["config.toml", "git-commit", "metrics.jsonl", "loss.svg", "loss.png", "validation.svg", "best.safetensors"]
    {
        assert!(run.join(file).exists(), "{file} missing");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().filter(|l| l.contains("\"validation\"")).count(), 2);

    // Killed after 6 steps: the latest checkpoint is iteration 4, so steps 5-6 are redone.
    let killed = config(root.path(), "killed");
    let partial = train(&killed, &TrainOptions { stop_after: Some(6), ..options.clone() }).unwrap();
    assert_eq!(partial.iterations, 6);
    let resumed = train(&killed, &TrainOptions { resume: true, ..options.clone() }).unwrap();
    assert_eq!(resumed.iterations, 12);

    assert_eq!(weights(&run), weights(&root.path().join("killed")), "resumed run diverged");
    // And training changed the weights at all (the comparison above could not pass trivially).
    let untrained = config(root.path(), "short");
    let mut short = untrained.clone();
    short.training.iterations = 4;
    train(&short, &options).unwrap();
    assert_ne!(weights(&root.path().join("short")), weights(&run));
    // The optimiser moved the weights themselves, not only the running statistics: the
    // training-mode masks (batch statistics) differ from the seeded initialisation's.
    let device = burn::tensor::Device::flex();
    let initial = svs_core::device::seeded(&device, full.training.seed, || full.model.resolve().init(&device));
    let (before, after) = (masks(initial, true), masks(checkpoint_model(&run), true));
    let moved = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "12 steps moved the training-mode masks by only {moved}");
}

/// `--devices 0,1` on the CPU backend: two replicas on the same CPU device, which exercises the
/// whole data-parallel path (split, per-replica gradients, `step_multi`, running statistics).
#[test]
fn a_data_parallel_step_equals_a_single_device_step() {
    let _training = common::one_training_at_a_time();
    let cpu = burn::tensor::Device::flex().autodiff();
    common::check_data_parallel_step(&[cpu.clone(), cpu], 1e-5);
}

#[test]
fn training_runs_data_parallel_end_to_end() {
    let _training = common::one_training_at_a_time();
    let root = tempfile::tempdir().unwrap();
    make_cache(&root.path().join("train"), 2, Split::Train);
    make_cache(&root.path().join("valid"), 1, Split::Valid);
    let mut config = config(root.path(), "parallel");
    config.training.iterations = 4;
    config.training.validate_every = 4;
    let options = TrainOptions {
        backend: svs_core::BackendKind::Cpu,
        devices: vec![0, 1],
        resume: false,
        init: None,
        stop_after: None,
    };
    let summary = train(&config, &options).unwrap();
    assert_eq!(summary.iterations, 4);
    let best = summary.best.expect("validated at the last iteration");
    assert!(best.sdr_vocals.is_finite() && best.sdr_accompaniment.is_finite(), "{best:?}");
    assert!(root.path().join("parallel/best.safetensors").exists());
}

/// A learner whose validation scores follow a script, so early stopping can be checked exactly.
struct ScriptedLearner {
    scores: Vec<f64>,
    validations: std::cell::Cell<usize>,
    checkpoints: std::cell::RefCell<Vec<u64>>,
}

impl svs_train::training::run_loop::Learner for ScriptedLearner {
    type Validation = f64;
    fn label(&self) -> String {
        "scripted".into()
    }
    fn step(&mut self, _batch: &svs_train::training::data::Batch, _learning_rate: f64) -> f64 {
        1.0
    }
    fn validate(&self) -> f64 {
        let n = self.validations.get();
        self.validations.set(n + 1);
        self.scores[n]
    }
    fn score(validation: &f64) -> f64 {
        *validation
    }
    fn record(iteration: u64, validation: &f64) -> svs_train::training::metrics::MetricsRecord {
        svs_train::training::metrics::MetricsRecord::DetectorValidation { iteration, loss: -validation, accuracy: 0.0 }
    }
    fn describe(validation: &f64) -> String {
        format!("score {validation}")
    }
    fn save_best(&self, _run: &Path, _iteration: u64, _validation: &f64) -> anyhow::Result<()> {
        Ok(())
    }
    fn save_checkpoint(
        &self,
        _run: &Path,
        state: &svs_train::training::checkpoint::TrainingState,
    ) -> anyhow::Result<()> {
        self.checkpoints.borrow_mut().push(state.iteration);
        Ok(())
    }
}

#[test]
fn early_stopping_ends_a_run_after_patience_validations_without_improvement_also_when_resumed() {
    use svs_train::augment::Augmenter;
    use svs_train::training::run_loop::{self, LoopSettings};
    let root = tempfile::tempdir().unwrap();
    make_cache(&root.path().join("train"), 1, Split::Train);
    make_cache(&root.path().join("valid"), 1, Split::Valid);
    let mut config = config(root.path(), "scripted");
    config.training.iterations = 40;
    config.training.validate_every = 2;
    config.training.patience = Some(3);
    std::fs::create_dir_all(&config.training.output_dir).unwrap();
    let data = svs_train::training::data::TrainingData::open(&config.data.train).unwrap();
    let augmenter = Augmenter::new(config.augment.clone(), svs_core::MODEL_SAMPLE_RATE).unwrap();
    // Best at the 2nd validation (iteration 4); a tie is no improvement; 3 without one: stop at 10.
    let scores = vec![1.0, 2.0, 1.5, 2.0, 1.9, 5.0, 5.0];
    let settings = |stop_after| LoopSettings { training: &config.training, schedule: &config.optimizer, stop_after };
    let run = &config.training.output_dir;

    let mut learner =
        ScriptedLearner { scores: scores.clone(), validations: 0.into(), checkpoints: Default::default() };
    let (_, mut state) = run_loop::fresh_start(run, 7);
    let best = run_loop::run(run, &mut learner, &data, &augmenter, &mut state, settings(None)).unwrap();
    assert_eq!(state.iteration, 10, "stops 3 validations after the best");
    assert_eq!((state.best_iteration, state.best_score, best), (Some(4), Some(2.0), Some(2.0)));
    assert_eq!(learner.validations.get(), 5);
    assert_eq!(*learner.checkpoints.borrow(), [4, 8, 10], "the stopping iteration is checkpointed");
    assert!(config.training.is_finished(&state));

    // Killed after 7 steps and resumed from that state: it stops at the same iteration.
    let mut learner =
        ScriptedLearner { scores: scores.clone(), validations: 0.into(), checkpoints: Default::default() };
    let (_, mut state) = run_loop::fresh_start(run, 7);
    run_loop::run(run, &mut learner, &data, &augmenter, &mut state, settings(Some(7))).unwrap();
    assert_eq!(state.iteration, 7);
    assert!(!config.training.is_finished(&state));
    run_loop::run(run, &mut learner, &data, &augmenter, &mut state, settings(None)).unwrap();
    assert_eq!(state.iteration, 10);
    assert_eq!(learner.validations.get(), 5);

    // Without patience the same scores train all the way.
    let mut all = config.training.clone();
    all.patience = None;
    let mut learner = ScriptedLearner {
        scores: (0..20).map(|i| scores.get(i).copied().unwrap_or(0.0)).collect(),
        validations: 0.into(),
        checkpoints: Default::default(),
    };
    let (_, mut state) = run_loop::fresh_start(run, 7);
    let settings = LoopSettings { training: &all, schedule: &config.optimizer, stop_after: None };
    run_loop::run(run, &mut learner, &data, &augmenter, &mut state, settings).unwrap();
    assert_eq!(state.iteration, 40);
}
