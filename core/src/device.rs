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
