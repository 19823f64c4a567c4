//! `svs eval`: SDR the way the field measures it (the library's [`crate::eval::protocol`]).
//!
//! Two forms:
//! - `svs eval --references REF_DIR --estimates EST_DIR [--json FILE]`: folders of
//!   `<track>/vocals.wav` + `<track>/accompaniment.wav` (the layout `svs separate` writes).
//! - `svs eval --dataset musdb18hq --root PATH --model FILE`: separate every test track with
//!   the model, then evaluate (the paper's whole protocol), caching each track's result.

use crate::data::{DatasetKind, Split};
use crate::eval::protocol::{DatasetEvaluation, Evaluation, evaluate_dataset, evaluate_folders};
use crate::eval::report::{JsonFormat, write_json};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use svs_core::{BackendKind, LiveConfig};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Reference stems: one folder per track with vocals.wav and accompaniment.wav.
    #[arg(long, requires = "estimates", conflicts_with = "dataset")]
    pub references: Option<PathBuf>,
    /// Estimated stems in the same layout.
    #[arg(long)]
    pub estimates: Option<PathBuf>,
    /// A dataset to separate and evaluate (its test split).
    #[arg(long, requires_all = ["root", "model"])]
    pub dataset: Option<DatasetKind>,
    #[arg(long)]
    pub root: Option<PathBuf>,
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value = "test")]
    pub split: Split,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    /// Where per-track results are cached with --dataset (resumable).
    #[arg(long, default_value = "eval-results")]
    pub results: PathBuf,
    /// Write framewise values, per-track medians and the summary as JSON (a folder of
    /// per-track files with --format museval).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Layout of --json: svs's own, or museval's (one file per track, read by museval's
    /// aggregation tools).
    #[arg(long, value_enum, default_value = "svs", requires = "json")]
    pub format: JsonFormat,
    /// With --dataset: separate in live mode (the streaming network with under 100 ms of
    /// latency, the plugin's Live setting) instead of the windowed separator.
    #[arg(long, requires = "dataset", conflicts_with_all = ["chunk_seconds", "overlap", "context_seconds"])]
    pub live: bool,
    /// With --live: seconds of recent past the attention sees.
    #[arg(long, default_value_t = LiveConfig::default().attention_seconds)]
    pub live_attention_seconds: f32,
    /// With --live: seconds at the stream's start every frame keeps attending to.
    #[arg(long, default_value_t = LiveConfig::default().first_seconds)]
    pub live_first_seconds: f32,
    /// With --dataset: the windowed separator's settings (the CLI's defaults unless given).
    #[command(flatten)]
    pub windows: super::WindowArgs,
}

fn print_table(evaluation: &Evaluation) {
    let summary = &evaluation.summary;
    println!("{:<48} {:>12} {:>18}", "track", "SDR vocals", "SDR accompaniment");
    for r in &evaluation.tracks {
        println!("{:<48} {:>9.2} dB {:>15.2} dB", r.track, r.sdr_vocals, r.sdr_accompaniment);
    }
    println!(
        "{:<48} {:>9.2} dB {:>15.2} dB   mean {:.2} dB ({} tracks)",
        "median over tracks", summary.sdr_vocals, summary.sdr_accompaniment, summary.mean, summary.tracks
    );
}

pub fn run(args: EvalArgs) -> Result<()> {
    let evaluation = match (&args.references, &args.dataset) {
        (Some(refs), None) => evaluate_folders(refs, args.estimates.as_deref().context("--estimates is required")?)?,
        (None, Some(kind)) => evaluate_dataset(&DatasetEvaluation {
            dataset: *kind,
            root: args.root.clone().context("--root is required")?,
            model: args.model.clone().context("--model is required")?,
            split: args.split,
            backend: args.backend,
            results: args.results.clone(),
            windows: args.windows.config(),
            live: args.live.then(|| LiveConfig {
                attention_seconds: args.live_attention_seconds,
                first_seconds: args.live_first_seconds,
                mask: args.windows.mask.into(),
            }),
        })?,
        _ => bail!("give --references and --estimates, or --dataset, --root and --model"),
    };
    print_table(&evaluation);
    if let Some(path) = &args.json {
        write_json(&evaluation, path, args.format)?;
    }
    let failed = &evaluation.summary.failed;
    if !failed.is_empty() {
        bail!("{} tracks could not be evaluated: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}
