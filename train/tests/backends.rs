//! The same weights give the same masks on the CPU backend (burn flex) and on wgpu (Mesa's
//! lavapipe in CI: scripts/test installs mesa-vulkan-drivers).

#![cfg(feature = "wgpu")]

mod common;

use burn::tensor::{Device, Tensor};
use svs_core::BackendKind;
use svs_core::model::PoCoNetConfig;
use svs_core::model_file::{ModelFile, ModelKind, ModelMetadata, model_bytes, save_separator};
use svs_train::data::Split;
use svs_train::training::{TrainOptions, train};

#[test]
fn cpu_and_wgpu_agree() {
    let cpu = Device::flex();
    let config = PoCoNetConfig::new().with_levels(2).with_base_channels(8).with_max_channels(16);
    let model = config.init(&cpu);
    let bytes = model_bytes(&model, ModelKind::Separator, &config, &ModelMetadata::default()).unwrap();
    let file = ModelFile::from_bytes(bytes, "m.safetensors").unwrap();
    let wgpu = BackendKind::Wgpu.device(0).unwrap();
    let (on_gpu, _) = file.separator(&wgpu).unwrap();
    let input: Vec<f32> = (0..40 * 513 * 2).map(|i| ((i * 7919) % 2000) as f32 / 1000.0 - 1.0).collect();
    let run = |m: &svs_core::PoCoNet, d: &Device| -> Vec<f32> {
        let x = Tensor::<1>::from_floats(input.as_slice(), d).reshape([1, 40, 513, 2]);
        m.masks(x).into_data().try_to_vec::<f32>().unwrap()
    };
    let (a, b) = (run(&model, &cpu), run(&on_gpu, &wgpu));
    let err = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    // f32 kernels on different hardware sum in different orders; masks are O(1).
    assert!(err < 1e-3, "CPU and wgpu masks differ by {err}");
    assert!(a.iter().any(|v| (v - 0.5).abs() > 1e-3), "masks are trivially constant");
}

/// Data parallel over two different devices, the CPU and lavapipe: the step equals one on the
/// CPU alone, and the batch-norm running statistics come back to the CPU.
#[test]
fn data_parallel_over_cpu_and_wgpu_equals_one_device() {
    let _training = common::one_training_at_a_time();
    let cpu = Device::flex().autodiff();
    let gpu = BackendKind::Wgpu.device(0).unwrap().autodiff();
    common::check_data_parallel_step(&[cpu, gpu], 1e-3);
}

/// `svs train --backend wgpu`: from the same initial weights and the same data order, the first
/// training loss on lavapipe equals the CPU's, and the run validates and exports.
#[test]
fn training_on_wgpu_matches_the_cpu() {
    let _training = common::one_training_at_a_time();
    let root = tempfile::tempdir().unwrap();
    common::make_cache(&root.path().join("train"), 2, Split::Train);
    common::make_cache(&root.path().join("valid"), 1, Split::Valid);
    let init = root.path().join("init.safetensors");
    let model_config = common::train_config(root.path(), "x").model.resolve();
    let cpu = Device::flex();
    save_separator(&init, &model_config.init(&cpu), &model_config, &ModelMetadata::default()).unwrap();
    let first_loss = |backend: BackendKind, name: &str| {
        let mut config = common::train_config(root.path(), name);
        config.training.iterations = 2;
        config.training.validate_every = 2;
        config.training.log_every = 1;
        let options =
            TrainOptions { backend, devices: vec![0], resume: false, init: Some(init.clone()), stop_after: None };
        let summary = train(&config, &options).unwrap();
        let best = summary.best.expect("validated at the last iteration");
        assert!(best.sdr_vocals.is_finite(), "{name}: {best:?}");
        assert!(root.path().join(name).join("best.safetensors").exists());
        let metrics = std::fs::read_to_string(root.path().join(name).join("metrics.jsonl")).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(metrics.lines().find(|l| l.contains("\"train\"")).unwrap()).unwrap();
        first["loss"].as_f64().unwrap()
    };
    let (on_cpu, on_gpu) = (first_loss(BackendKind::Cpu, "cpu"), first_loss(BackendKind::Wgpu, "wgpu"));
    assert!((on_cpu - on_gpu).abs() < 1e-3 * on_cpu, "first loss {on_cpu} on the CPU, {on_gpu} on wgpu");
}
