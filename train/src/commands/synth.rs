//! `svs synth`: a synthetic corpus of songs with known stems (the library's
//! [`crate::synth::corpus`]).

use crate::synth::corpus::{CorpusOptions, SynthKind, write_corpus};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of songs (the training split for `labeled`).
    #[arg(long)]
    pub songs: usize,
    /// Songs for the test split (`labeled` only).
    #[arg(long, default_value_t = 0)]
    pub test_songs: usize,
    /// Seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "labeled")]
    pub kind: SynthKind,
    /// Length of each song in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f32,
    /// General MIDI SoundFont (default: $SVS_SOUNDFONT or Debian's TimGM6mb / FluidR3_GM).
    #[arg(long)]
    pub soundfont: Option<PathBuf>,
    /// `damp` only: also write each recording's clean voice and accompaniment
    /// (`vocal-truth.wav`, `background-truth.wav`), to score pseudo-labels against.
    #[arg(long)]
    pub truth: bool,
}

pub fn run(args: SynthArgs) -> Result<()> {
    let options = CorpusOptions {
        out: args.out,
        songs: args.songs,
        test_songs: args.test_songs,
        seed: args.seed,
        kind: args.kind,
        seconds: args.seconds,
        soundfont: args.soundfont,
        truth: args.truth,
    };
    let summary = write_corpus(&options)?;
    println!(
        "{}: {} songs of {} s in {:.1} s ({:.0}x real time)",
        options.out.display(),
        summary.songs,
        options.seconds,
        summary.elapsed_seconds,
        summary.songs as f64 * options.seconds as f64 / summary.elapsed_seconds.max(1e-9)
    );
    Ok(())
}
