//! `svs train-vad --config FILE [--resume] [--backend cpu|wgpu|cuda] [--device N]`: trains the
//! vocal and the accompaniment voice-activity detectors and exports both as model files.

use crate::config_file::ConfigFile;
use crate::training::TrainOptions;
use crate::vad::{VadTrainConfig, train_detectors};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use svs_core::BackendKind;

#[derive(Args, Debug)]
pub struct TrainVadArgs {
    /// Detector training configuration (TOML; see configs/vad-cpu-synthetic.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Continue each detector's run from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    #[arg(long, default_value_t = 0)]
    pub device: usize,
}

pub fn run(args: TrainVadArgs) -> Result<()> {
    let config = VadTrainConfig::from_file(&args.config)?;
    let options = TrainOptions {
        backend: args.backend,
        devices: vec![args.device],
        resume: args.resume,
        init: None,
        stop_after: None,
    };
    let results =
        train_detectors(&config, &options).with_context(|| format!("training with {}", args.config.display()))?;
    for (path, v) in results {
        println!(
            "{}: validation cross-entropy {:.4}, frame accuracy {:.1}%",
            path.display(),
            v.loss,
            100.0 * v.accuracy
        );
    }
    Ok(())
}
