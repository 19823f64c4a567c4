//! `svs export RUN_DIR [--checkpoint best|latest] --out MODEL_FILE`.

use crate::training::trainer::run_model;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use svs_core::model_file::write_atomically;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A training run directory (`training.output_dir`).
    pub run: PathBuf,
    /// Which model: the best by validation mean SDR, or the latest checkpoint.
    #[arg(long, default_value = "best", value_parser = ["best", "latest"])]
    pub checkpoint: String,
    /// The model file to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<()> {
    let file = run_model(&args.run, &args.checkpoint)?;
    // The training metadata (datasets, iterations, validation SDR, commit, config) is already
    // in the checkpoint's header; re-validate by building the model before writing it out.
    file.separator(&burn::tensor::Device::flex())?;
    let bytes = std::fs::read(file.name())?;
    write_atomically(&args.out, &bytes)?;
    let m = &file.metadata;
    println!(
        "{} -> {} ({} iterations, SDR vocals {}, accompaniment {})",
        args.run.display(),
        args.out.display(),
        m.iterations,
        m.sdr_vocals.map_or("-".into(), |v| format!("{v:.2} dB")),
        m.sdr_accompaniment.map_or("-".into(), |v| format!("{v:.2} dB"))
    );
    Ok(())
}
