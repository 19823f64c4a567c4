//! The same weights give the same masks on the CPU backend (burn flex) and on wgpu (Mesa's
//! lavapipe in CI: scripts/test installs mesa-vulkan-drivers).

#![cfg(feature = "wgpu")]

use burn::tensor::{Device, Tensor};
use svs_core::BackendKind;
use svs_core::model::PoCoNetConfig;
use svs_core::model_file::{ModelFile, ModelKind, ModelMetadata, model_bytes};

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
