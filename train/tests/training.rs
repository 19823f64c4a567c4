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
    let cpu = burn::tensor::Device::flex().autodiff();
    common::check_data_parallel_step(&[cpu.clone(), cpu], 1e-5);
}

#[test]
fn training_runs_data_parallel_end_to_end() {
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
