//! `svs filter --vad-vocal MODEL --vad-accomp MODEL --labels DIR --threshold X --keep-top Q
//! --out DIR [--raw-corpus DIR] [--labeled-corpus DIR]`: ranks pseudo-labeled songs by their
//! fraction of poor-quality frames, keeps the best, and draws the paper's Figure 2.

use crate::data::DatasetKind;
use crate::selftrain::filter::{FigureCorpus, VadFilter, filter_and_plot};
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use svs_core::{BackendKind, ModelFile};

#[derive(Args, Debug)]
pub struct FilterArgs {
    /// The vocal detector (from `svs train-vad`).
    #[arg(long)]
    pub vad_vocal: PathBuf,
    /// The accompaniment detector.
    #[arg(long)]
    pub vad_accomp: PathBuf,
    /// Pseudo-labels written by `svs label`.
    #[arg(long)]
    pub labels: PathBuf,
    /// A frame is poor when either detected energy ratio exceeds this.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Fraction of songs kept, best first (the paper's best: 0.25).
    #[arg(long, default_value_t = 0.25)]
    pub keep_top: f64,
    /// Output folder: ranking.csv, kept.txt, kept/ (a `paired` dataset), figure2.png and .svg.
    #[arg(long)]
    pub out: PathBuf,
    /// The raw unlabeled corpus, for Figure 2.
    #[arg(long)]
    pub raw_corpus: Option<PathBuf>,
    #[arg(long, default_value = "damp-vsep")]
    pub raw_dataset: DatasetKind,
    /// The labeled data, for Figure 2.
    #[arg(long)]
    pub labeled_corpus: Option<PathBuf>,
    #[arg(long, default_value = "musdb18hq")]
    pub labeled_dataset: DatasetKind,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    #[arg(long, default_value_t = 0)]
    pub device: usize,
}

pub fn run(args: FilterArgs) -> Result<()> {
    let device = args.backend.device(args.device)?;
    let read = |p: &Path| ModelFile::read(p).with_context(|| format!("loading detector {}", p.display()));
    let filter = VadFilter::new(&read(&args.vad_vocal)?, &read(&args.vad_accomp)?, args.threshold, &device)?;
    let mut corpora: Vec<FigureCorpus> = Vec::new();
    if let Some(root) = &args.raw_corpus {
        corpora.push(("raw", args.raw_dataset, root));
    }
    if let Some(root) = &args.labeled_corpus {
        corpora.push(("labeled", args.labeled_dataset, root));
    }
    let summary = filter_and_plot(&filter, &args.labels, args.keep_top, &args.out, &corpora)?;
    println!(
        "{}: kept {} of {} songs (top {:.0}%, threshold {}); ranking.csv, kept.txt, kept/, figure2.png/.svg",
        args.out.display(),
        summary.kept,
        summary.songs,
        100.0 * summary.keep_top,
        summary.threshold
    );
    Ok(())
}
