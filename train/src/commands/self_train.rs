//! `svs self-train --config FILE [--seed N] [--output-dir DIR] [--backend cpu|wgpu|cuda]
//! [--devices 0,1] [--jobs N]`: the whole
//! noisy self-training pipeline (prepare, teacher, detectors, labels, filter, student,
//! evaluation, report), resumable stage by stage: run the same command again after a kill.

use crate::config_file::ConfigFile;
use crate::selftrain::config::SelfTrainConfig;
use crate::selftrain::pipeline::{PipelineOptions, run as run_pipeline};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use svs_core::BackendKind;

#[derive(Args, Debug)]
pub struct SelfTrainArgs {
    /// Pipeline configuration (TOML; see configs/self-train-*.toml).
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    /// Comma-separated device indices; several train data-parallel.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub devices: Vec<usize>,
    /// Songs labeled (and prepared) at once (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Overrides every training stage's seed (teacher, detectors, students; the corpora keep
    /// theirs): repeats of one configuration under several seeds.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overrides `output_dir` (e.g. one folder per seed).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
}

pub fn run(args: SelfTrainArgs) -> Result<()> {
    let mut config = SelfTrainConfig::from_file(&args.config)?;
    if let Some(seed) = args.seed {
        config = config.with_training_seed(seed);
    }
    if let Some(dir) = args.output_dir {
        config.output_dir = dir;
    }
    let options = PipelineOptions { backend: args.backend, devices: args.devices, jobs: args.jobs };
    let report =
        run_pipeline(&config, &options).with_context(|| format!("self-training with {}", args.config.display()))?;
    println!("{}", std::fs::read_to_string(&report).unwrap_or_default());
    println!("report: {}", report.display());
    Ok(())
}
