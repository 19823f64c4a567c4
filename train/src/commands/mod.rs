//! One module per subcommand.

pub mod bench;
pub mod compare;
pub mod eval;
pub mod export;
pub mod filter;
pub mod info;
pub mod label;
pub mod prepare;
pub mod report;
pub mod self_train;
pub mod separate;
pub mod synth;
pub mod train;
pub mod train_vad;

use anyhow::{Context, Result};
use clap::Args;
use std::path::Path;
use svs_core::model_file::ModelFile;
use svs_core::{MaskMode, SeparatorConfig};

/// The windowed separator's settings, as `svs separate` and `svs eval` take them.
#[derive(Args, Debug, Clone)]
pub struct WindowArgs {
    /// Length of the windows the song is processed in, in seconds.
    #[arg(long, default_value_t = SeparatorConfig::default().chunk_seconds)]
    pub chunk_seconds: f32,
    /// Fraction of each window cross-faded with the next (0 to 0.5).
    #[arg(long, default_value_t = SeparatorConfig::default().overlap)]
    pub overlap: f32,
    /// Seconds of input before each window the model also sees (more work, better window starts;
    /// helps short windows most).
    #[arg(long, default_value_t = SeparatorConfig::default().context_seconds)]
    pub context_seconds: f32,
    /// How the network's vocal mask is applied (also with --live).
    #[arg(long, value_enum, default_value_t)]
    pub mask: MaskArg,
}

/// `--mask`: [`MaskMode`] on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MaskArg {
    /// The network's complex mask as it is: what training validates, and what every figure
    /// measured before 2026-12-07 used.
    Complex,
    /// The vocals' share of the two stems' magnitudes, a real gain with the mixture's phase
    /// (scores better).
    #[default]
    MagnitudeRatio,
}

impl From<MaskArg> for MaskMode {
    fn from(arg: MaskArg) -> Self {
        match arg {
            MaskArg::Complex => MaskMode::Complex,
            MaskArg::MagnitudeRatio => MaskMode::MagnitudeRatio,
        }
    }
}

impl WindowArgs {
    pub fn config(&self) -> SeparatorConfig {
        SeparatorConfig {
            chunk_seconds: self.chunk_seconds,
            overlap: self.overlap,
            context_seconds: self.context_seconds,
            mask: self.mask.into(),
        }
    }
}

/// Reads the separator model named on the command line, or the embedded default.
pub fn load_model_file(path: Option<&Path>) -> Result<ModelFile> {
    match path {
        Some(path) => ModelFile::read(path).with_context(|| format!("loading model {}", path.display())),
        None => crate::default_model::default_model().context(
            "no --model given and this build has no embedded default model; pass --model FILE \
             (a model from `svs export`)",
        ),
    }
}
