//! `svs eval`: SDR the way the field measures it (BSS Eval v4 as museval computes it, 1 s
//! windows at 16 kHz mono, median over segments per track, median over tracks).
//!
//! Two forms:
//! - `svs eval --references REF_DIR --estimates EST_DIR [--json FILE]`: folders of
//!   `<track>/vocals.wav` + `<track>/accompaniment.wav` (the layout `svs separate` writes).
//! - `svs eval --dataset musdb18hq --root PATH --model FILE`: separate every test track with
//!   the model, then evaluate (the paper's whole protocol), caching each track's result.

use crate::data::{DatasetKind, Split, list_songs, load_song};
use crate::eval::{BssEvalConfig, FramewiseMetrics, Workspace, bss_eval_v4_with, nan_median};
use crate::progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use multiversion::multiversion;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use svs_core::audio::read_audio_bytes;
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
    let to64 = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let references = [to64(&references[0]), to64(&references[1])];
    let estimates = [to64(&estimates[0]), to64(&estimates[1])];
    evaluate_track_f64(track, &references, &estimates, &mut Workspace::default())
}

/// [`evaluate_track`] on samples already widened to `f64` (what the metrics work in), in the
/// memory of `workspace`.
fn evaluate_track_f64(
    track: &str,
    references: &[Vec<f64>],
    estimates: &[Vec<f64>],
    workspace: &mut Workspace,
) -> Result<TrackResult> {
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
    let metrics = bss_eval_v4_with(workspace, references, estimates, &BssEvalConfig::one_second_at_16khz())
        .with_context(|| format!("{track}: evaluation"))?;
    Ok(TrackResult {
        track: track.to_owned(),
        sdr_vocals: nan_median(&metrics.sdr[0]),
        sdr_accompaniment: nan_median(&metrics.sdr[1]),
        framewise: metrics,
    })
}

/// The memory one track's evaluation works in, handed from track to track: the file being
/// read, the four stems, and the metrics' workspace (about 70 MB for 60 s).
#[derive(Default)]
struct TrackBuffers {
    file: Vec<u8>,
    /// References (vocals, accompaniment), then estimates.
    stems: [Vec<f64>; 4],
    workspace: Workspace,
}

/// Loads one track's four stems and evaluates them.
fn evaluate_folders_track(name: &str, refs: &Path, ests: &Path, buffers: &mut TrackBuffers) -> Result<TrackResult> {
    let TrackBuffers { file, stems, workspace } = buffers;
    let paths = [refs.join("vocals.wav"), refs.join("accompaniment.wav")]
        .into_iter()
        .chain([ests.join("vocals.wav"), ests.join("accompaniment.wav")]);
    for (path, stem) in paths.zip(stems.iter_mut()) {
        load_16k_mono(&path, file, stem)?;
    }
    let (references, estimates) = stems.split_at(2);
    evaluate_track_f64(name, references, estimates, workspace)
}

/// Reads a stem file as 16 kHz mono `f64` samples into `out` (with `file` as the buffer for
/// its bytes), saying when it had to be converted.
///
/// WAV files that already are 16 kHz mono 16/24-bit integer or 32-bit float (what `svs
/// separate` writes) are read directly; anything else goes through the general decoder and
/// resampler. Both give the same values: the decoder's `f32` samples are exact for these
/// formats, and so are the `f64` ones read here.
fn load_16k_mono(path: &Path, file: &mut Vec<u8>, out: &mut Vec<f64>) -> Result<()> {
    file.clear();
    std::fs::File::open(path)
        .and_then(|mut f| {
            file.reserve(f.metadata()?.len() as usize);
            crate::huge_pages::advise_spare_capacity(file);
            f.read_to_end(file)
        })
        .with_context(|| format!("reading {}", path.display()))?;
    out.clear();
    if wav_16k_mono(file, out).is_none() {
        let audio = read_audio_bytes(file.clone(), &path.to_string_lossy())?;
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
        let mono = resample(&audio.to_mono(), audio.sample_rate, MODEL_SAMPLE_RATE)?;
        out.extend(mono.into_iter().map(f64::from));
    }
    if out.is_empty() {
        bail!("{}: contains no audio samples", path.display());
    }
    Ok(())
}

/// Appends to `out` the samples of a 16 kHz mono WAV file of 16- or 24-bit integers or 32-bit
/// floats, scaled as the general decoder scales them (integers divided by 2^15 or 2^23); `None`
/// (with `out` untouched) for any other file, left to the general decoder. Non-finite samples
/// are kept: the metrics reject them. hound reads the header; the samples are converted here in
/// bulk because hound's sample-by-sample reader alone costs about as much as the metrics.
fn wav_16k_mono(bytes: &[u8], out: &mut Vec<f64>) -> Option<()> {
    let mut cursor = std::io::Cursor::new(bytes);
    let (spec, declared) = {
        let reader = hound::WavReader::new(&mut cursor).ok()?;
        (reader.spec(), reader.len() as usize)
    };
    // `WavReader::new` stops at the start of the samples.
    let start = cursor.position() as usize;
    if spec.channels != 1 || spec.sample_rate != MODEL_SAMPLE_RATE {
        return None;
    }
    let width = usize::from(spec.bits_per_sample / 8);
    // hound does not say how wide the stored samples are (24 bits may sit in 4 bytes): the data
    // chunk's size, just before the samples, must be `width` bytes per sample, else this is left
    // to the general decoder (as are streamed files whose size was never filled in).
    let size = u32::from_le_bytes(bytes.get(start.checked_sub(4)?..start)?.try_into().ok()?) as usize;
    if size != declared * width || start + size > bytes.len() {
        return None;
    }
    let data = &bytes[start..start + size];
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => convert_i16(data, out),
        (hound::SampleFormat::Int, 24) => convert_i24(data, out),
        (hound::SampleFormat::Float, 32) => convert_f32(data, out),
        _ => return None,
    }
    Some(())
}

/// Appends the samples of `data`, `N` bytes each, converted by `sample`.
///
/// A plain loop into the reserved space rather than `Vec::extend`: `extend` is a separate
/// generic function that the AVX2 copies below do not inline, and it then called `sample` once
/// per sample (a third of the evaluation's file handling in a profile).
#[inline(always)]
fn convert<const N: usize>(data: &[u8], out: &mut Vec<f64>, sample: impl Fn([u8; N]) -> f64) {
    let (chunks, _) = data.as_chunks::<N>();
    out.reserve(chunks.len());
    crate::huge_pages::advise_spare_capacity(out);
    // Written in place of the spare capacity: zeroing it first (`resize`) cost as much again.
    let slots = &mut out.spare_capacity_mut()[..chunks.len()];
    for (slot, &bytes) in slots.iter_mut().zip(chunks) {
        slot.write(sample(bytes));
    }
    // SAFETY: the loop above initialised the `chunks.len()` slots after the current length.
    unsafe { out.set_len(out.len() + chunks.len()) };
}

/// 16-bit samples, divided by 2^15 as the general decoder does.
#[multiversion(targets("x86_64+avx2"))]
fn convert_i16(data: &[u8], out: &mut Vec<f64>) {
    convert::<2>(data, out, |b| i16::from_le_bytes(b) as f64 / 32_768.0)
}

/// 24-bit samples, divided by 2^23 as the general decoder does.
#[multiversion(targets("x86_64+avx2"))]
fn convert_i24(data: &[u8], out: &mut Vec<f64>) {
    convert::<3>(data, out, |[a, b, c]| (i32::from_le_bytes([0, a, b, c]) >> 8) as f64 / 8_388_608.0)
}

/// 32-bit float samples.
#[multiversion(targets("x86_64+avx2"))]
fn convert_f32(data: &[u8], out: &mut Vec<f64>) {
    convert::<4>(data, out, |b| f32::from_le_bytes(b) as f64)
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
    // One set of buffers per concurrent track, reused by the next: freed when all are done.
    let pool = Mutex::new(Vec::<TrackBuffers>::new());
    let outcomes: Vec<(String, Result<TrackResult>)> = tracks
        .par_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let mut buffers = pool.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
            let result = evaluate_folders_track(&name, dir, &ests.join(&name), &mut buffers);
            pool.lock().unwrap_or_else(|e| e.into_inner()).push(buffers);
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

/// The folder a model's per-track results are cached in: its file name and a hash of its bytes,
/// so a model retrained at the same path is evaluated afresh instead of being given the old
/// model's cached results.
fn cache_folder_name(model: &Path) -> Result<String> {
    let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    let stem = model.file_stem().unwrap_or_default().to_string_lossy();
    Ok(format!("{stem}-{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)))
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
    let cache = args.results.join(cache_folder_name(model_path)?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use svs_core::audio::{BitDepth, wav_bytes};

    #[test]
    fn cached_results_belong_to_the_model_file_s_contents() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("best.safetensors");
        std::fs::write(&model, b"model one").unwrap();
        let first = cache_folder_name(&model).unwrap();
        assert!(first.starts_with("best-"), "{first}");
        assert_eq!(cache_folder_name(&model).unwrap(), first);
        // Retrained at the same path: a different folder, so the old results are not reused.
        std::fs::write(&model, b"model two").unwrap();
        assert_ne!(cache_folder_name(&model).unwrap(), first);
        let err = cache_folder_name(&dir.path().join("missing.safetensors")).unwrap_err();
        assert!(format!("{err:#}").contains("missing.safetensors"), "{err:#}");
    }

    #[test]
    fn direct_wav_reading_matches_the_general_decoder() {
        let samples: Vec<f32> = (0..5000).map(|i| ((i as f32 * 0.013).sin() * 0.9).clamp(-1.0, 1.0)).collect();
        for depth in [BitDepth::Int16, BitDepth::Int24, BitDepth::Float32] {
            let bytes = wav_bytes(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![samples.clone()]), depth).unwrap();
            let mut direct = Vec::new();
            assert!(wav_16k_mono(&bytes, &mut direct).is_some(), "{depth:?}");
            let decoded = read_audio_bytes(bytes, "x.wav").unwrap();
            let general: Vec<f64> = decoded.channels[0].iter().map(|&x| x as f64).collect();
            assert_eq!(direct, general, "{depth:?}");
        }
        // Other rates and channel counts are left to the general decoder.
        for buffer in [
            AudioBuffer::new(44_100, vec![samples.clone()]),
            AudioBuffer::new(MODEL_SAMPLE_RATE, vec![samples.clone(), samples.clone()]),
        ] {
            let bytes = wav_bytes(&buffer, BitDepth::Int24).unwrap();
            assert!(wav_16k_mono(&bytes, &mut Vec::new()).is_none());
        }
        assert!(wav_16k_mono(b"not a wav file at all", &mut Vec::new()).is_none());
    }
}
