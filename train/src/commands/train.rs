//! `svs train --config FILE [--seed N] [--output-dir DIR] [--resume | --init MODEL]
//! [--backend cuda|wgpu|cpu] [--devices 0,1]`.

use crate::config_file::ConfigFile;
use crate::training::{TrainConfig, TrainOptions, train};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use svs_core::BackendKind;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training configuration (TOML; see configs/).
    #[arg(long)]
    pub config: PathBuf,
    /// Continue the run in the configuration's output_dir from its latest checkpoint.
    #[arg(long, conflicts_with = "init")]
    pub resume: bool,
    /// Initialise the weights from a model file (e.g. fine-tune a teacher).
    #[arg(long)]
    pub init: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    /// Comma-separated device indices; several train data-parallel.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub devices: Vec<usize>,
    /// Overrides `training.seed` (weights, data order, augmentation): repeats of one
    /// configuration under several seeds.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overrides `training.output_dir` (e.g. one folder per seed).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let mut config = TrainConfig::from_file(&args.config)?;
    if let Some(seed) = args.seed {
        config.training.seed = seed;
    }
    if let Some(dir) = args.output_dir {
        config.training.output_dir = dir;
    }
    let options = TrainOptions {
        backend: args.backend,
        devices: args.devices,
        resume: args.resume,
        init: args.init,
        stop_after: None,
    };
    let summary = train(&config, &options).with_context(|| format!("training with {}", args.config.display()))?;
    match summary.best {
        Some(best) => println!(
            "{}: {} iterations; best validation SDR vocals {:.2} dB, accompaniment {:.2} dB",
            summary.run.display(),
            summary.iterations,
            best.sdr_vocals,
            best.sdr_accompaniment
        ),
        None => println!("{}: {} iterations", summary.run.display(), summary.iterations),
    }
    Ok(())
}
