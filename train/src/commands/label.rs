//! `svs label --teacher MODEL --dataset KIND --corpus DIR --out DIR [--shard i/N] [--jobs N]`:
//! pseudo-labels an unlabeled corpus with a teacher (resumable, idempotent, shardable).

use crate::data::DatasetKind;
use crate::selftrain::Shard;
use crate::selftrain::label::label_corpus;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use svs_core::{BackendKind, ModelFile};

#[derive(Args, Debug)]
pub struct LabelArgs {
    /// The teacher separator (a model file).
    #[arg(long)]
    pub teacher: PathBuf,
    /// Layout of the corpus: damp-vsep (karaoke recordings), mixtures, or any labeled layout
    /// (whose mixtures are then separated).
    #[arg(long, default_value = "damp-vsep")]
    pub dataset: DatasetKind,
    /// The unlabeled corpus's root folder.
    #[arg(long)]
    pub corpus: PathBuf,
    /// Output folder (one folder of labels per song; songs already labeled are skipped).
    #[arg(long)]
    pub out: PathBuf,
    /// This machine's share: i/N takes the songs whose sorted index is i modulo N.
    #[arg(long, default_value = "0/1")]
    pub shard: Shard,
    /// Songs labeled at once (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendKind,
    #[arg(long, default_value_t = 0)]
    pub device: usize,
}

pub fn run(args: LabelArgs) -> Result<()> {
    let teacher =
        ModelFile::read(&args.teacher).with_context(|| format!("loading teacher {}", args.teacher.display()))?;
    let device = args.backend.device(args.device)?;
    let summary = label_corpus(&teacher, &device, args.dataset, &args.corpus, &args.out, args.shard, args.jobs)?;
    println!(
        "{} (shard {}): {} songs labeled, {} already done, {} failed, {} skipped by the listing",
        args.out.display(),
        args.shard,
        summary.labeled,
        summary.skipped,
        summary.failed.len(),
        summary.listing_problems
    );
    if !summary.failed.is_empty() {
        bail!("{} songs could not be labeled: {}", summary.failed.len(), summary.failed.join(", "));
    }
    Ok(())
}
