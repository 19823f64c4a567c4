//! Choosing where the model runs. In burn 0.22 a model has no backend type parameter: the
//! `Device` its tensors live on picks the backend at run time.

use burn::tensor::Device;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// burn's pure-Rust CPU backend (`flex`), also used in wasm.
    #[default]
    Cpu,
    /// Any GPU through wgpu (Vulkan, Metal, DX12, WebGPU); lavapipe in tests.
    Wgpu,
    /// NVIDIA GPUs through CUDA (GPU servers; the `cuda` feature of svs-train).
    Cuda,
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "wgpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!("unknown backend '{other}' (expected cpu, wgpu or cuda)")),
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the {0} backend is not compiled into this build (rebuild with the '{0}' feature)")]
pub struct BackendUnavailable(pub BackendKind);

impl BackendKind {
    /// The device for this backend (device `index` for multi-GPU machines).
    pub fn device(self, index: usize) -> Result<Device, BackendUnavailable> {
        match self {
            #[cfg(feature = "flex")]
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(if index == 0 {
                Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
            } else {
                Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index))
            }),
            #[cfg(feature = "cuda")]
            Self::Cuda => Ok(Device::cuda(index)),
            #[allow(unreachable_patterns)]
            other => {
                let _ = index;
                Err(BackendUnavailable(other))
            }
        }
    }
}

/// Runs `init` (a model's random initialisation) right after seeding `device`'s generator with
/// `seed`, so the same seed always gives the same weights.
///
/// burn's generators are process-wide (one per backend, behind a lock taken per draw), so a
/// seed set by one thread can be consumed by another thread's draws before this thread's init
/// runs: two trainings in one process (parallel tests, a pipeline) would then start from
/// different weights for the same seed. Every seeded initialisation in svs goes through here,
/// which holds one process-wide lock across the seed and the draws.
pub fn seeded<T>(device: &Device, seed: u64, init: impl FnOnce() -> T) -> T {
    static SEEDED_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A panic inside another init leaves nothing half-done that this one depends on.
    let _guard = SEEDED_INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    init()
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tensor};

    #[test]
    fn the_same_seed_gives_the_same_draws_while_other_threads_draw() {
        let device = Device::flex();
        let draw = || Tensor::<1>::random([64], Distribution::Uniform(0.0, 1.0), &device).into_data();
        let reference = seeded(&device, 7, draw);
        let noise = std::thread::spawn({
            let device = device.clone();
            move || {
                for i in 0..2000 {
                    seeded(&device, i, || Tensor::<1>::random([8], Distribution::Default, &device));
                }
            }
        });
        for _ in 0..200 {
            assert_eq!(seeded(&device, 7, draw), reference);
        }
        noise.join().unwrap();
        assert_ne!(seeded(&device, 8, draw), reference, "a different seed must give different draws");
    }
}
