//! Preparing a dataset for training (paper Sec. 3.2): decode, resample to 16 kHz mono, cut into
//! 30-second segments and cache them. Parallel over songs, resumable (songs already cached are
//! skipped).

use super::cache::{is_done, write_manifest, write_song};
use super::{DatasetKind, list_songs, load_song};
use crate::progress;
use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Mutex;

/// What to prepare, and where.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    /// Layout of the dataset at `root`.
    pub dataset: DatasetKind,
    pub root: PathBuf,
    /// The cache directory (created).
    pub out: PathBuf,
    /// Parallel workers (None: all cores).
    pub jobs: Option<usize>,
}

/// What the cache holds after [`prepare`], and what could not be prepared.
#[derive(Clone, Debug)]
pub struct PrepareSummary {
    pub songs: usize,
    pub segments: usize,
    pub hours: f64,
    /// Songs the dataset's listing could not use (each already logged).
    pub skipped: usize,
    /// Songs that failed to decode or write (each already logged).
    pub failed: Vec<String>,
}

impl PrepareSummary {
    /// An error unless every listed song was prepared.
    pub fn require_complete(&self) -> Result<()> {
        let missing = self.failed.len() + self.skipped;
        if missing > 0 {
            bail!("{missing} songs could not be prepared (see the messages above)");
        }
        Ok(())
    }
}

/// Prepares the songs not cached yet and rewrites the cache's manifest. A song that fails is
/// logged and counted, and the others go on.
pub fn prepare(options: &PrepareOptions) -> Result<PrepareSummary> {
    let listing =
        list_songs(options.dataset, &options.root).with_context(|| format!("listing {}", options.root.display()))?;
    for problem in &listing.problems {
        tracing::warn!("skipped: {problem}");
    }
    let todo: Vec<_> = listing.songs.iter().filter(|s| !is_done(&options.out, s)).collect();
    let already = listing.songs.len() - todo.len();
    if already > 0 {
        tracing::info!("{already} songs already prepared, {} to go", todo.len());
    }
    std::fs::create_dir_all(&options.out).with_context(|| format!("creating {}", options.out.display()))?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.jobs.unwrap_or(0)).build()?;
    let bar = progress::bar(todo.len() as u64, "preparing", "songs");
    let failures = Mutex::new(Vec::new());
    pool.install(|| {
        todo.par_iter().for_each(|song| {
            let result = load_song(song).map_err(anyhow::Error::from).and_then(|audio| {
                write_song(&options.out, options.dataset, song, &audio.signals).map_err(anyhow::Error::from)
            });
            if let Err(e) = result {
                tracing::error!("{}: {e:#}", song.name);
                failures.lock().unwrap_or_else(|e| e.into_inner()).push(song.name.clone());
            }
            bar.inc(1);
        })
    });
    bar.finish_and_clear();
    let manifest = write_manifest(&options.out)?;
    Ok(PrepareSummary {
        songs: manifest.songs.len(),
        segments: manifest.songs.iter().map(|s| s.n_segments).sum(),
        hours: manifest.songs.iter().map(|s| s.seconds).sum::<f64>() / 3600.0,
        skipped: listing.problems.len(),
        failed: failures.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
}
