//! The separator (PoCoNet, paper Sec. 2.2), its loss (Eq. 2-3) and the voice-activity detector
//! (Sec. 2.1.1). All modules are backend-agnostic: the tensors' `Device` picks the backend.

pub mod attention;
pub mod complex;
pub mod cpu;
pub mod dense_block;
pub mod loss;
pub mod poconet;
pub mod pooling;
pub mod positional;
pub mod vad;

pub use attention::{CausalFrameAttention, CausalFrameAttentionConfig};
pub use cpu::CpuPoCoNet;
pub use dense_block::{DenseBlock, DenseBlockConfig};
pub use loss::{SeparationLoss, SeparationLossConfig};
pub use poconet::{PoCoNet, PoCoNetConfig, Preset};
pub use vad::{VadConfig, VocalActivityDetector};
