//! `svs prepare --dataset KIND --root PATH --out DIR`: the 16 kHz mono 30-second segment cache
//! (the library's [`crate::data::prepare`]).

use crate::data::DatasetKind;
use crate::data::prepare::{PrepareOptions, prepare};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PrepareArgs {
    /// Layout of the dataset at --root.
    #[arg(long)]
    pub dataset: DatasetKind,
    /// Dataset root folder.
    #[arg(long)]
    pub root: PathBuf,
    /// Cache directory to write (created; resumable).
    #[arg(long)]
    pub out: PathBuf,
    /// Parallel workers (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

pub fn run(args: PrepareArgs) -> Result<()> {
    let options = PrepareOptions { dataset: args.dataset, root: args.root, out: args.out, jobs: args.jobs };
    let summary = prepare(&options)?;
    println!(
        "{}: {} songs, {} segments of 30 s, {:.2} hours ({} skipped by the listing, {} failed)",
        options.out.display(),
        summary.songs,
        summary.segments,
        summary.hours,
        summary.skipped,
        summary.failed.len()
    );
    summary.require_complete()
}
