//! `svs eval`: SDR the way the field measures it (BSS Eval v4 as museval computes it, 1 s
//! windows at 16 kHz mono, median over segments per track, median over tracks).
//!
//! Two forms:
//! - `svs eval --references REF_DIR --estimates EST_DIR [--json FILE]`: folders of
//!   `<track>/vocals.wav` + `<track>/accompaniment.wav` (the layout `svs separate` writes).
//! - `svs eval --dataset musdb18hq --root PATH --model FILE`: separate every test track with
//!   the model, then evaluate (the paper's whole protocol), caching each track's result.

use crate::data::{DatasetKind, Split, list_songs, load_song};
use crate::eval::{BssEvalConfig, FramewiseMetrics, bss_eval_v4, nan_median};
use crate::progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use svs_core::audio::read_audio;
use svs_core::dsp::resample;
use svs_core::model_file::write_atomically;
use svs_core::{AudioBuffer, BackendKind, MODEL_SAMPLE_RATE, Separator, SeparatorConfig};

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
    /// Write framewise values, per-track medians and the summary as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrackResult {
    pub track: String,
    pub sdr_vocals: f64,
    pub sdr_accompaniment: f64,
    pub framewise: FramewiseMetrics,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub tracks: usize,
    pub failed: Vec<String>,
    pub sdr_vocals: f64,
    pub sdr_accompaniment: f64,
    pub mean: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    protocol: &'static str,
    summary: &'a Summary,
    tracks: &'a [TrackResult],
}

/// Evaluates one track's 16 kHz mono signals.
pub fn evaluate_track(track: &str, references: [Vec<f32>; 2], estimates: [Vec<f32>; 2]) -> Result<TrackResult> {
    let len = references[0].len();
    for (what, x) in [
        ("vocals estimate", &estimates[0]),
        ("accompaniment estimate", &estimates[1]),
        ("accompaniment reference", &references[1]),
    ] {
        if x.len() != len {
            bail!("{track}: {what} has {} samples at 16 kHz, the vocals reference {len}", x.len());
        }
    }
    let to64 = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let metrics = bss_eval_v4(
        &[to64(&references[0]), to64(&references[1])],
        &[to64(&estimates[0]), to64(&estimates[1])],
        &BssEvalConfig::one_second_at_16khz(),
    )
    .with_context(|| format!("{track}: evaluation"))?;
    Ok(TrackResult {
        track: track.to_owned(),
        sdr_vocals: nan_median(&metrics.sdr[0]),
        sdr_accompaniment: nan_median(&metrics.sdr[1]),
        framewise: metrics,
    })
}

/// A stem file as 16 kHz mono, saying when it had to be converted.
fn load_16k_mono(path: &Path) -> Result<Vec<f32>> {
    let audio = read_audio(path)?;
    if audio.n_channels() > 1 || audio.sample_rate != MODEL_SAMPLE_RATE {
        tracing::info!(
            "{}: {} ch at {} Hz -> mono 16 kHz (the protocol's format)",
            path.display(),
            audio.n_channels(),
            audio.sample_rate
        );
    }
    if audio.channels.iter().flatten().any(|x| !x.is_finite()) {
        bail!("{}: contains NaN or infinite samples", path.display());
    }
    Ok(resample(&audio.to_mono(), audio.sample_rate, MODEL_SAMPLE_RATE)?)
}

fn stem_pair(dir: &Path) -> Result<[Vec<f32>; 2]> {
    Ok([load_16k_mono(&dir.join("vocals.wav"))?, load_16k_mono(&dir.join("accompaniment.wav"))?])
}

fn summarise(results: &[TrackResult], failed: Vec<String>) -> Summary {
    let v: Vec<f64> = results.iter().map(|r| r.sdr_vocals).collect();
    let a: Vec<f64> = results.iter().map(|r| r.sdr_accompaniment).collect();
    let (sv, sa) = (nan_median(&v), nan_median(&a));
    Summary { tracks: results.len(), failed, sdr_vocals: sv, sdr_accompaniment: sa, mean: (sv + sa) / 2.0 }
}

fn print_table(results: &[TrackResult], summary: &Summary) {
    println!("{:<48} {:>12} {:>18}", "track", "SDR vocals", "SDR accompaniment");
    for r in results {
        println!("{:<48} {:>9.2} dB {:>15.2} dB", r.track, r.sdr_vocals, r.sdr_accompaniment);
    }
    println!(
        "{:<48} {:>9.2} dB {:>15.2} dB   mean {:.2} dB ({} tracks)",
        "median over tracks", summary.sdr_vocals, summary.sdr_accompaniment, summary.mean, summary.tracks
    );
}

pub fn run(args: EvalArgs) -> Result<()> {
    let (mut results, failed) = match (&args.references, &args.dataset) {
        (Some(refs), None) => eval_folders(refs, args.estimates.as_deref().context("--estimates is required")?)?,
        (None, Some(kind)) => eval_dataset(*kind, &args)?,
        _ => bail!("give --references and --estimates, or --dataset, --root and --model"),
    };
    results.sort_by(|a, b| a.track.cmp(&b.track));
    let summary = summarise(&results, failed.clone());
    print_table(&results, &summary);
    if let Some(path) = &args.json {
        let report = Report {
            protocol: "BSS Eval v4 (museval 0.4.1 mode v4), 1 s windows, 16 kHz mono; medians",
            summary: &summary,
            tracks: &results,
        };
        write_atomically(path, serde_json::to_string_pretty(&report)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !failed.is_empty() {
        bail!("{} tracks could not be evaluated: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}

fn eval_folders(refs: &Path, ests: &Path) -> Result<(Vec<TrackResult>, Vec<String>)> {
    let mut tracks: Vec<PathBuf> = std::fs::read_dir(refs)
        .with_context(|| format!("reading {}", refs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    tracks.sort();
    let bar = progress::bar(tracks.len() as u64, "evaluating", "tracks");
    let outcomes: Vec<(String, Result<TrackResult>)> = tracks
        .par_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let result = stem_pair(dir)
                .and_then(|r| stem_pair(&ests.join(&name)).map(|e| (r, e)))
                .and_then(|(r, e)| evaluate_track(&name, r, e));
            bar.inc(1);
            (name, result)
        })
        .collect();
    bar.finish_and_clear();
    Ok(split_outcomes(outcomes))
}

fn split_outcomes(outcomes: Vec<(String, Result<TrackResult>)>) -> (Vec<TrackResult>, Vec<String>) {
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for (name, outcome) in outcomes {
        match outcome {
            Ok(r) => results.push(r),
            Err(e) => {
                tracing::error!("{e:#}");
                failed.push(name);
            }
        }
    }
    (results, failed)
}

fn eval_dataset(kind: DatasetKind, args: &EvalArgs) -> Result<(Vec<TrackResult>, Vec<String>)> {
    let root = args.root.as_deref().context("--root is required")?;
    let model_path = args.model.as_deref().context("--model is required")?;
    let listing = list_songs(kind, root)?;
    let songs: Vec<_> = listing.songs.into_iter().filter(|s| s.split == args.split).collect();
    if songs.is_empty() {
        bail!("{}: no {:?} tracks", root.display(), args.split);
    }
    let file = super::load_model_file(Some(model_path))?;
    let device = args.backend.device(0)?;
    let (model, _) = file.separator(&device)?;
    let separator = Separator::new(model, device, SeparatorConfig::default())?;
    let cache = args.results.join(model_path.file_stem().unwrap_or_default());
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let bar = progress::bar(songs.len() as u64, "separating + evaluating", "tracks");
    let mut outcomes = Vec::new();
    for song in &songs {
        let cached = cache.join(format!("{}.json", crate::data::cache::safe_name(&song.name)));
        let outcome = (|| -> Result<TrackResult> {
            if let Ok(text) = std::fs::read_to_string(&cached) {
                if let Ok(result) = serde_json::from_str::<TrackResult>(&text) {
                    return Ok(result);
                }
            }
            let audio = load_song(song)?;
            let [vocals, accompaniment]: [Vec<f32>; 2] =
                audio.signals.try_into().map_err(|_| anyhow::anyhow!("{}: not a two-stem track", song.name))?;
            let mixture: Vec<f32> = vocals.iter().zip(&accompaniment).map(|(v, a)| v + a).collect();
            let stems = separator.separate(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![mixture]), |_| {})?;
            let result = evaluate_track(
                &song.name,
                [vocals, accompaniment],
                [stems.vocals.channels[0].clone(), stems.accompaniment.channels[0].clone()],
            )?;
            write_atomically(&cached, serde_json::to_string(&result)?.as_bytes())?;
            Ok(result)
        })();
        bar.inc(1);
        outcomes.push((song.name.clone(), outcome));
    }
    bar.finish_and_clear();
    Ok(split_outcomes(outcomes))
}
