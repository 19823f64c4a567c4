//! Pseudo-labelling (paper Sec. 2.1 and 3.3): the teacher separates the unlabeled corpus.
//!
//! - Karaoke recordings (DAMP): the vocal label is the teacher's *vocal* output on the vocal
//!   track (removing the music that leaked into the singer's microphone); the accompaniment
//!   label is its *accompaniment* output on the background track.
//! - Mixtures (and labeled songs used as if unlabeled): both labels come from separating the
//!   mixture.
//!
//! Output, per song: `<out>/<song>/vocals.wav` and `accompaniment.wav` (16 kHz mono float, the
//! rate training uses) and `label.json`, written last; a song is done only when its
//! `label.json` names both files, so a killed run never takes a half-written song as done.
//! The folders are in the `paired` layout, so `svs prepare --dataset paired` reads them.

use super::shard::Shard;
use crate::data::cache::safe_name;
use crate::data::{DatasetKind, Song, SongSources, list_songs, load_song};
use crate::progress;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use svs_core::audio::{BitDepth, wav_bytes};
use svs_core::model_file::write_atomically;
use svs_core::{AudioBuffer, MODEL_SAMPLE_RATE, ModelFile, Separator};

/// The teacher, ready to label songs.
pub struct PseudoLabeler {
    pub teacher: Separator,
}

/// Pseudo-labels of one song at 16 kHz mono.
pub struct PseudoLabels {
    pub vocals: Vec<f32>,
    pub accompaniment: Vec<f32>,
}

/// What `label.json` records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub song: String,
    /// "karaoke" or "mixture": how the labels were made.
    pub source: String,
    pub teacher: String,
    pub seconds: f64,
    pub vocals: String,
    pub accompaniment: String,
}

pub const RECORD: &str = "label.json";

impl PseudoLabeler {
    /// The teacher from a model file, on `device`, with the settings training measures with.
    pub fn new(teacher: &ModelFile, device: &Device) -> Result<Self> {
        let config = crate::training::validation::network_estimate_config();
        Ok(Self { teacher: Separator::from_model_file(teacher, device.clone(), config)? })
    }

    fn separate(&self, signal: Vec<f32>) -> Result<svs_core::Stems> {
        Ok(self.teacher.separate(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![signal]), |_| {})?)
    }

    /// Labels one song's 16 kHz mono signals (in `SongSources::signal_names` order).
    pub fn label(&self, sources: &SongSources, signals: Vec<Vec<f32>>) -> Result<PseudoLabels> {
        let mono = |stems: svs_core::Stems| {
            (stems.vocals.channels.into_iter().next(), stems.accompaniment.channels.into_iter().next())
        };
        match (sources, <[Vec<f32>; 2]>::try_from(signals)) {
            (SongSources::Karaoke { .. }, Ok([vocal_track, background_track])) => {
                let (vocals, _) = mono(self.separate(vocal_track)?);
                let (_, accompaniment) = mono(self.separate(background_track)?);
                Ok(PseudoLabels {
                    vocals: vocals.context("no vocal output")?,
                    accompaniment: accompaniment.context("no accompaniment output")?,
                })
            }
            (SongSources::Stems { .. }, Ok([v, a])) => {
                let mixture = v.iter().zip(&a).map(|(v, a)| v + a).collect();
                let (vocals, accompaniment) = mono(self.separate(mixture)?);
                Ok(PseudoLabels {
                    vocals: vocals.context("no output")?,
                    accompaniment: accompaniment.context("no output")?,
                })
            }
            (SongSources::Mixture { .. }, Err(mut signals)) if signals.len() == 1 => {
                let (vocals, accompaniment) = mono(self.separate(signals.remove(0))?);
                Ok(PseudoLabels {
                    vocals: vocals.context("no output")?,
                    accompaniment: accompaniment.context("no output")?,
                })
            }
            _ => bail!("unexpected signals for this kind of song"),
        }
    }
}

fn source_name(sources: &SongSources) -> &'static str {
    match sources {
        SongSources::Karaoke { .. } => "karaoke",
        _ => "mixture",
    }
}

/// The folder a song's labels go to.
pub fn song_dir(out: &Path, song: &str) -> PathBuf {
    out.join(safe_name(song))
}

/// The song's record, if it was labeled completely.
pub fn finished(out: &Path, song: &str) -> Option<LabelRecord> {
    let dir = song_dir(out, song);
    let record: LabelRecord = serde_json::from_str(&std::fs::read_to_string(dir.join(RECORD)).ok()?).ok()?;
    (dir.join(&record.vocals).is_file() && dir.join(&record.accompaniment).is_file() && record.song == song)
        .then_some(record)
}

/// Every completely labeled song in `out`, sorted by name.
pub fn finished_songs(out: &Path) -> Result<Vec<(PathBuf, LabelRecord)>> {
    let mut songs = Vec::new();
    for entry in std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
        let dir = entry?.path();
        let Ok(text) = std::fs::read_to_string(dir.join(RECORD)) else { continue };
        let Ok(record) = serde_json::from_str::<LabelRecord>(&text) else { continue };
        if dir.join(&record.vocals).is_file() && dir.join(&record.accompaniment).is_file() {
            songs.push((dir, record));
        }
    }
    songs.sort_by(|a, b| a.1.song.cmp(&b.1.song));
    Ok(songs)
}

fn write_labels(out: &Path, song: &Song, labels: &PseudoLabels, teacher: &str) -> Result<()> {
    let dir = song_dir(out, &song.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, signal) in [("vocals.wav", &labels.vocals), ("accompaniment.wav", &labels.accompaniment)] {
        let bytes = wav_bytes(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![signal.clone()]), BitDepth::Float32)?;
        write_atomically(&dir.join(name), &bytes).with_context(|| format!("writing {}", dir.join(name).display()))?;
    }
    let record = LabelRecord {
        song: song.name.clone(),
        source: source_name(&song.sources).into(),
        teacher: teacher.into(),
        seconds: labels.vocals.len() as f64 / MODEL_SAMPLE_RATE as f64,
        vocals: "vocals.wav".into(),
        accompaniment: "accompaniment.wav".into(),
    };
    // Written last: its presence is what makes the song done.
    write_atomically(&dir.join(RECORD), serde_json::to_string_pretty(&record)?.as_bytes())?;
    Ok(())
}

/// What a labelling run did.
#[derive(Debug, Default)]
pub struct LabelSummary {
    pub labeled: usize,
    pub skipped: usize,
    pub failed: Vec<String>,
    pub listing_problems: usize,
}

/// Labels this shard's songs of a corpus that are not labeled yet, `jobs` songs at a time
/// (each worker thread holds its own copy of the teacher).
pub fn label_corpus(
    teacher: &ModelFile,
    device: &Device,
    kind: DatasetKind,
    corpus: &Path,
    out: &Path,
    shard: Shard,
    jobs: usize,
) -> Result<LabelSummary> {
    let listing = list_songs(kind, corpus).with_context(|| format!("listing {}", corpus.display()))?;
    for problem in &listing.problems {
        tracing::warn!("skipped: {problem}");
    }
    let mine: Vec<&Song> =
        listing.songs.iter().enumerate().filter(|(i, _)| shard.contains(*i)).map(|(_, s)| s).collect();
    let todo: Vec<&Song> = mine.iter().copied().filter(|s| finished(out, &s.name).is_none()).collect();
    let mut summary = LabelSummary {
        skipped: mine.len() - todo.len(),
        listing_problems: listing.problems.len(),
        ..Default::default()
    };
    if summary.skipped > 0 {
        tracing::info!("shard {shard}: {} songs already labeled, {} to go", summary.skipped, todo.len());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let teacher_name = teacher.name().display().to_string();
    PseudoLabeler::new(teacher, device)?; // fail early, once, on a bad teacher
    let failures = Mutex::new(Vec::new());
    let bar = progress::bar(todo.len() as u64, "pseudo-labelling", "songs");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    pool.install(|| {
        todo.par_iter().for_each_init(
            || PseudoLabeler::new(teacher, device),
            |labeler, song| {
                let result = labeler
                    .as_ref()
                    .map_err(|e| anyhow::anyhow!("{e:#}"))
                    .and_then(|labeler| load_song(song).map_err(anyhow::Error::from).map(|a| (labeler, a)))
                    .and_then(|(labeler, audio)| labeler.label(&song.sources, audio.signals))
                    .and_then(|labels| write_labels(out, song, &labels, &teacher_name));
                if let Err(e) = result {
                    tracing::error!("{}: {e:#}", song.name);
                    failures.lock().expect("not poisoned").push(song.name.clone());
                }
                bar.inc(1);
            },
        )
    });
    bar.finish_and_clear();
    summary.failed = failures.into_inner().expect("not poisoned");
    summary.labeled = todo.len() - summary.failed.len();
    Ok(summary)
}
