//! The evaluation protocol the field uses (paper Sec. 4.1): BSS Eval v4 as museval computes
//! it, on 1 s windows at 16 kHz mono, the median over segments per track and the median over
//! tracks; on folders of stems, or on a dataset split separated by a model.

use super::stems::load_16k_mono;
use super::{BssEvalConfig, EvalError, FramewiseMetrics, Workspace, bss_eval_v4_with, nan_median};
use crate::data::{AudioRef, DatasetKind, Song, SongSources, Split, list_songs, load_song};
use crate::progress;
use anyhow::{Context, Result, anyhow, bail};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use svs_core::model_file::write_atomically;
use svs_core::{
    AudioBuffer, BackendKind, LiveConfig, LiveSeparator, MODEL_SAMPLE_RATE, MaskMode, ModelFile, Separator,
    SeparatorConfig, Stems,
};

/// The protocol, as reports name it.
pub const PROTOCOL: &str = "BSS Eval v4 (museval 0.4.1 mode v4), 1 s windows, 16 kHz mono; medians";

/// The sources scored, in the order of [`FramewiseMetrics`]' rows.
pub const SOURCES: [&str; 2] = ["vocals", "accompaniment"];

/// A model on a dataset split.
#[derive(Clone, Debug)]
pub struct DatasetEvaluation {
    pub dataset: DatasetKind,
    pub root: PathBuf,
    pub model: PathBuf,
    pub split: Split,
    pub backend: BackendKind,
    /// Where per-track results are cached (resumable).
    pub results: PathBuf,
    /// Separate with the live mode (the streaming network, under 100 ms of latency, on the
    /// CPU) with these settings instead of the windowed separator: what the plugin's Live
    /// latency costs in SDR.
    pub live: Option<LiveConfig>,
    /// The windowed separator's settings (unused with `live`).
    pub windows: SeparatorConfig,
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

/// The evaluation of a set of tracks.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Sorted by track name.
    pub tracks: Vec<TrackResult>,
    pub summary: Summary,
}

impl Evaluation {
    /// Results by track; a failed track is logged and named in the summary.
    fn from_outcomes(outcomes: Vec<(String, Result<TrackResult>)>) -> Self {
        let mut tracks = Vec::new();
        let mut failed = Vec::new();
        for (name, outcome) in outcomes {
            match outcome {
                Ok(r) => tracks.push(r),
                Err(e) => {
                    tracing::error!("{e:#}");
                    failed.push(name);
                }
            }
        }
        tracks.sort_by(|a, b| a.track.cmp(&b.track));
        let summary = summarise(&tracks, failed);
        Self { tracks, summary }
    }
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
        .map_err(|error| track_error(track, error))?;
    Ok(TrackResult {
        track: track.to_owned(),
        sdr_vocals: nan_median(&metrics.sdr[0]),
        sdr_accompaniment: nan_median(&metrics.sdr[1]),
        framewise: metrics,
    })
}

/// `error` of `track`'s metrics, a silent source named by its stem: an instrumental's silent vocals
/// is the usual cause, and "reference 0" does not say which stem that is.
fn track_error(track: &str, error: EvalError) -> anyhow::Error {
    match error {
        EvalError::SilentSource { kind, source_index } => anyhow!(
            "{track}: the {} {kind} is silent (all zeros) over the whole song, so it has no SDR (museval refuses it too)",
            SOURCES.get(source_index).unwrap_or(&"?")
        ),
        other => anyhow::Error::new(other).context(format!("{track}: evaluation")),
    }
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

/// Medians over tracks.
fn summarise(results: &[TrackResult], failed: Vec<String>) -> Summary {
    let v: Vec<f64> = results.iter().map(|r| r.sdr_vocals).collect();
    let a: Vec<f64> = results.iter().map(|r| r.sdr_accompaniment).collect();
    let (sv, sa) = (nan_median(&v), nan_median(&a));
    Summary { tracks: results.len(), failed, sdr_vocals: sv, sdr_accompaniment: sa, mean: (sv + sa) / 2.0 }
}

/// Evaluates folders of stems: `refs/<track>/{vocals,accompaniment}.wav` against the same
/// files under `ests/<track>/` (the layout `svs separate` writes), tracks in parallel.
pub fn evaluate_folders(refs: &Path, ests: &Path) -> Result<Evaluation> {
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
    Ok(Evaluation::from_outcomes(outcomes))
}

/// The folder a model's per-track results are cached in: its file name and a hash of its bytes,
/// so a model retrained at the same path is evaluated afresh instead of being given the old
/// model's cached results.
fn cache_folder_name(model: &Path) -> Result<String> {
    let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    let stem = model.file_stem().unwrap_or_default().to_string_lossy();
    Ok(format!("{stem}-{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)))
}

/// What a cached track result was computed from, as a hash: the song's source files (paths as
/// listed, sizes and modification times). Two datasets whose songs share names (every synthetic
/// corpus has a `synth-0000`) or a corpus regenerated in place never reuse each other's results.
fn track_key(song: &Song) -> String {
    let refs: Vec<&AudioRef> = match &song.sources {
        SongSources::Stems { vocals, accompaniment } => vocals.iter().chain(accompaniment).collect(),
        SongSources::Karaoke { vocal_track, background_track } => vec![vocal_track, background_track],
        SongSources::Mixture { mixture } => vec![mixture],
    };
    let mut identity = serde_json::to_string(&song.sources).unwrap_or_default();
    for r in refs {
        if let Ok(meta) = std::fs::metadata(&r.path) {
            let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            identity.push_str(&format!("|{}|{:?}", meta.len(), modified));
        }
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(identity.as_bytes()))
}

/// One song's separation, windowed or live.
type SeparateSong = Box<dyn FnMut(&AudioBuffer) -> Result<Stems>>;

/// Separates every track of a dataset split with a model and evaluates it (the paper's whole
/// protocol). Each track's result is cached under `results`, in a folder named by the model
/// file's contents, so an interrupted evaluation resumes.
/// The suffix of the cache folder for results of these settings, so that results of other
/// settings are cached apart. The plain folder holds the default windows with the complex mask
/// (the only mask before the magnitude ratio), so caches written before it stay valid.
fn cache_mode(live: Option<&LiveConfig>, windows: &SeparatorConfig) -> String {
    let mask = match live.map_or(windows.mask, |live| live.mask) {
        MaskMode::Complex => "",
        MaskMode::MagnitudeRatio => "-magnitude-ratio",
    };
    let plain_windows = SeparatorConfig { mask: MaskMode::Complex, ..windows.clone() };
    match live {
        Some(live) => format!("-live-{}s-{}s{mask}", live.attention_seconds, live.first_seconds),
        None if plain_windows != crate::training::validation::network_estimate_config() => {
            format!("-windows-{}s-{}-{}s{mask}", windows.chunk_seconds, windows.overlap, windows.context_seconds)
        }
        None => mask.to_string(),
    }
}

pub fn evaluate_dataset(options: &DatasetEvaluation) -> Result<Evaluation> {
    let (root, model_path, kind) = (options.root.as_path(), options.model.as_path(), options.dataset);
    let listing = list_songs(kind, root)?;
    let songs: Vec<_> = listing.songs.into_iter().filter(|s| s.split == options.split).collect();
    if songs.is_empty() {
        bail!("{}: no {:?} tracks", root.display(), options.split);
    }
    let file = ModelFile::read(model_path).with_context(|| format!("loading model {}", model_path.display()))?;
    let device = options.backend.device(0)?;
    let mut separate: SeparateSong = if let Some(live) = &options.live {
        if options.backend != BackendKind::Cpu {
            bail!("the live mode runs on the CPU (not --backend {})", options.backend);
        }
        let (model, _) = file.separator(&device)?;
        let mut live = LiveSeparator::new(&model, MODEL_SAMPLE_RATE, 1, live)?;
        Box::new(move |audio| Ok(live.separate(audio)?))
    } else {
        let separator = Separator::from_model_file(&file, device, options.windows.clone())?;
        Box::new(move |audio| Ok(separator.separate(audio, |_| {})?))
    };
    let mode = cache_mode(options.live.as_ref(), &options.windows);
    let cache = options.results.join(format!("{}{mode}", cache_folder_name(model_path)?));
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let bar = progress::bar(songs.len() as u64, "separating + evaluating", "tracks");
    let mut outcomes = Vec::new();
    for song in &songs {
        let cached = cache.join(format!("{}-{}.json", crate::data::cache::safe_name(&song.name), track_key(song)));
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
            let stems = separate(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![mixture]))?;
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
    Ok(Evaluation::from_outcomes(outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_each_mask_and_setting_are_cached_apart() {
        let complex = SeparatorConfig { mask: MaskMode::Complex, ..Default::default() };
        let ratio = SeparatorConfig::default();
        assert_eq!(ratio.mask, MaskMode::MagnitudeRatio, "the default mask");
        let short = SeparatorConfig { chunk_seconds: 3.0, ..ratio.clone() };
        let short_complex = SeparatorConfig { mask: MaskMode::Complex, ..short.clone() };
        let live = LiveConfig::default();
        let live_complex = LiveConfig { mask: MaskMode::Complex, ..live.clone() };
        let modes = [
            cache_mode(None, &complex),
            cache_mode(None, &ratio),
            cache_mode(None, &short),
            cache_mode(None, &short_complex),
            cache_mode(Some(&live), &ratio),
            cache_mode(Some(&live_complex), &ratio),
        ];
        assert_eq!(modes[0], "", "caches written before the magnitude ratio were the complex mask's");
        for (i, a) in modes.iter().enumerate() {
            for b in &modes[i + 1..] {
                assert_ne!(a, b, "two settings share a cache folder");
            }
        }
    }

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
    fn cached_tracks_belong_to_their_files_not_to_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let song = |root: &str| {
            let file = |name: &str| {
                let path = dir.path().join(root).join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                if !path.exists() {
                    std::fs::write(&path, root.as_bytes()).unwrap();
                }
                AudioRef::file(path)
            };
            Song {
                name: "synth-0000".into(),
                split: Split::Test,
                sources: SongSources::Stems {
                    vocals: vec![file("vocals.wav")],
                    accompaniment: vec![file("other.wav")],
                },
            }
        };
        // The same name in two corpora: two keys; the same files: the same key.
        let (a, b) = (song("one"), song("two"));
        assert_ne!(track_key(&a), track_key(&b));
        assert_eq!(track_key(&a), track_key(&song("one")));
        // Regenerated in place (another size): another key.
        let before = track_key(&a);
        std::fs::write(dir.path().join("one/vocals.wav"), b"a longer, regenerated file").unwrap();
        assert_ne!(track_key(&a), before);
    }

    #[test]
    fn a_silent_stem_is_named_in_the_error() {
        let tone: Vec<f32> = (0..32_000).map(|i| (i as f32 * 0.05).sin()).collect();
        let silent = vec![0.0; tone.len()];
        let err =
            evaluate_track("instrumental", [silent.clone(), tone.clone()], [tone.clone(), tone.clone()]).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.starts_with("instrumental: the vocals reference is silent"), "{message}");
        let err = evaluate_track("quiet", [tone.clone(), tone.clone()], [tone, silent]).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.starts_with("quiet: the accompaniment estimate is silent"), "{message}");
    }
}
