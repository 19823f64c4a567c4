//! `svs prepare --dataset KIND --root PATH --out DIR`: decode, resample to 16 kHz mono, cut into
//! 30-second segments and cache them (paper Sec. 3.2). Parallel over songs, resumable.

use crate::data::cache::{is_done, write_manifest, write_song};
use crate::data::{DatasetKind, list_songs, load_song};
use crate::progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Mutex;

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
    let listing = list_songs(args.dataset, &args.root).with_context(|| format!("listing {}", args.root.display()))?;
    for problem in &listing.problems {
        tracing::warn!("skipped: {problem}");
    }
    let todo: Vec<_> = listing.songs.iter().filter(|s| !is_done(&args.out, s)).collect();
    let already = listing.songs.len() - todo.len();
    if already > 0 {
        tracing::info!("{already} songs already prepared, {} to go", todo.len());
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.jobs.unwrap_or(0)).build()?;
    let bar = progress::bar(todo.len() as u64, "preparing", "songs");
    let failures = Mutex::new(Vec::new());
    pool.install(|| {
        todo.par_iter().for_each(|song| {
            let result = load_song(song).map_err(anyhow::Error::from).and_then(|audio| {
                write_song(&args.out, args.dataset, song, &audio.signals).map_err(anyhow::Error::from)
            });
            if let Err(e) = result {
                tracing::error!("{}: {e:#}", song.name);
                failures.lock().expect("not poisoned").push(song.name.clone());
            }
            bar.inc(1);
        })
    });
    bar.finish_and_clear();
    let manifest = write_manifest(&args.out)?;
    let segments: usize = manifest.songs.iter().map(|s| s.n_segments).sum();
    let hours: f64 = manifest.songs.iter().map(|s| s.seconds).sum::<f64>() / 3600.0;
    println!(
        "{}: {} songs, {segments} segments of 30 s, {hours:.2} hours ({} skipped by the listing, {} failed)",
        args.out.display(),
        manifest.songs.len(),
        listing.problems.len(),
        failures.lock().expect("not poisoned").len()
    );
    let failed = failures.into_inner().expect("not poisoned");
    if !failed.is_empty() || !listing.problems.is_empty() {
        bail!("{} songs could not be prepared (see the messages above)", failed.len() + listing.problems.len());
    }
    Ok(())
}
