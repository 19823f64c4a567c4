//! Data filtering with the voice-activity detectors (paper Sec. 2.1.1).
//!
//! A pseudo-labeled vocal track should hold no accompaniment and a pseudo-labeled
//! accompaniment no voice. So the vocal label goes into the *accompaniment* detector and the
//! accompaniment label into the *vocal* detector; a frame where either detected energy ratio
//! exceeds the threshold is a "poor quality frame". Songs with a smaller fraction of poor
//! frames are better; the best `keep_top` fraction is kept (the paper's best: 25%).

use super::figure::{Series, poor_frame_histogram};
use super::label::{LabelRecord, finished_songs};
use crate::data::song::{AudioRef, load_ref};
use crate::data::{DatasetKind, list_songs, load_song};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use svs_core::ModelFile;
use svs_core::model::VocalActivityDetector;
use svs_core::model_file::{ModelKind, write_atomically};

/// The two detectors and the threshold.
pub struct VadFilter {
    vocal: VocalActivityDetector,
    accompaniment: VocalActivityDetector,
    threshold: f32,
    device: Device,
}

/// Poor-quality frames of one song.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SongQuality {
    pub song: String,
    pub frames: usize,
    pub poor_frames: usize,
}

impl SongQuality {
    pub fn poor_fraction(&self) -> f64 {
        self.poor_frames as f64 / self.frames.max(1) as f64
    }
}

impl VadFilter {
    /// Loads both detectors; each file must be the kind its flag says.
    pub fn new(vocal: &ModelFile, accompaniment: &ModelFile, threshold: f32, device: &Device) -> Result<Self> {
        vocal.expect_kind(ModelKind::VadVocals)?;
        accompaniment.expect_kind(ModelKind::VadAccompaniment)?;
        if !(0.0..1.0).contains(&threshold) {
            bail!("the threshold must be in [0, 1), got {threshold}");
        }
        Ok(Self {
            vocal: vocal.vad(device)?.0,
            accompaniment: accompaniment.vad(device)?.0,
            threshold,
            device: device.clone(),
        })
    }

    /// A frame is poor when either detected energy ratio exceeds this.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Counts the poor-quality frames of a (vocal part, accompaniment part) pair at 16 kHz mono:
    /// frames where the vocal part has accompaniment in it, or the accompaniment part voice.
    pub fn assess(&self, song: &str, vocal_part: &[f32], accompaniment_part: &[f32]) -> SongQuality {
        let leaked_music = self.accompaniment.frame_ratios(vocal_part, &self.device);
        let leaked_voice = self.vocal.frame_ratios(accompaniment_part, &self.device);
        let poor_frames = leaked_music
            .iter()
            .zip(&leaked_voice)
            .filter(|(m, v)| **m > self.threshold || **v > self.threshold)
            .count();
        SongQuality { song: song.into(), frames: leaked_music.len().min(leaked_voice.len()), poor_frames }
    }
}

/// Ranks songs best first (smallest poor fraction; ties by name, so the ranking is stable).
pub fn rank(mut songs: Vec<SongQuality>) -> Vec<SongQuality> {
    songs.sort_by(|a, b| a.poor_fraction().total_cmp(&b.poor_fraction()).then_with(|| a.song.cmp(&b.song)));
    songs
}

/// How many of `n` ranked songs the top fraction `keep_top` keeps (at least one when `n > 0`).
pub fn kept_count(n: usize, keep_top: f64) -> usize {
    if n == 0 { 0 } else { ((n as f64 * keep_top).round() as usize).clamp(1, n) }
}

/// What `svs filter` wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FilterSummary {
    pub threshold: f32,
    pub keep_top: f64,
    pub songs: usize,
    pub kept: usize,
    pub kept_dir: PathBuf,
    pub ranking: Vec<SongQuality>,
}

/// Assesses every labeled song in `labels`, writes `ranking.csv`, `kept.txt`, `filter.json` and
/// `kept/` (links to the kept songs' folders, in the `paired` layout) into `out`.
pub fn filter_labels(filter: &VadFilter, labels: &Path, keep_top: f64, out: &Path) -> Result<FilterSummary> {
    if !(keep_top > 0.0 && keep_top <= 1.0) {
        bail!("--keep-top must be in (0, 1] (0.25 keeps the best quarter), got {keep_top}");
    }
    let songs = finished_songs(labels)?;
    if songs.is_empty() {
        bail!("{}: no labeled songs (run `svs label` first)", labels.display());
    }
    let bar = crate::progress::bar(songs.len() as u64, "filtering", "songs");
    let mut qualities = Vec::new();
    for (dir, record) in &songs {
        let quality = assess_labels(filter, dir, record)?;
        qualities.push(quality);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let ranking = rank(qualities);
    let kept = kept_count(ranking.len(), keep_top);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut csv = String::from("rank,song,frames,poor_frames,poor_fraction,kept\n");
    for (i, q) in ranking.iter().enumerate() {
        let name = q.song.replace('"', "\"\"");
        csv += &format!("{},\"{name}\",{},{},{:.6},{}\n", i + 1, q.frames, q.poor_frames, q.poor_fraction(), i < kept);
    }
    write_atomically(&out.join("ranking.csv"), csv.as_bytes())?;
    let kept_names: Vec<&str> = ranking[..kept].iter().map(|q| q.song.as_str()).collect();
    write_atomically(&out.join("kept.txt"), (kept_names.join("\n") + "\n").as_bytes())?;
    let kept_dir = out.join("kept");
    link_kept(&songs, &kept_names, &kept_dir)?;
    let summary =
        FilterSummary { threshold: filter.threshold, keep_top, songs: ranking.len(), kept, kept_dir, ranking };
    write_atomically(&out.join("filter.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    Ok(summary)
}

/// Poor-quality frames of every song of a dataset, for Figure 2: karaoke recordings as they
/// are (vocal track, background track), labeled songs' clean stems (vocals, accompaniment).
pub fn assess_corpus(filter: &VadFilter, kind: DatasetKind, root: &Path) -> Result<Vec<SongQuality>> {
    let listing = list_songs(kind, root).with_context(|| format!("listing {}", root.display()))?;
    let bar = crate::progress::bar(listing.songs.len() as u64, format!("assessing {}", root.display()), "songs");
    let mut out = Vec::new();
    for song in &listing.songs {
        let audio = load_song(song).with_context(|| format!("{}: {}", root.display(), song.name))?;
        match audio.signals.as_slice() {
            [vocal_part, accompaniment_part] => out.push(filter.assess(&song.name, vocal_part, accompaniment_part)),
            _ => bail!("{}: {} has no separate vocal and accompaniment parts", root.display(), song.name),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

fn assess_labels(filter: &VadFilter, dir: &Path, record: &LabelRecord) -> Result<SongQuality> {
    let load = |name: &str| load_ref(&AudioRef::file(dir.join(name)));
    let vocals = load(&record.vocals).with_context(|| format!("{}: vocal label", record.song))?;
    let accompaniment = load(&record.accompaniment).with_context(|| format!("{}: accompaniment label", record.song))?;
    Ok(filter.assess(&record.song, &vocals, &accompaniment))
}

/// Rebuilds `kept/` with one folder per kept song holding hard links to its labels (a copy
/// where the file system has no hard links), so it reads as a `paired` dataset.
fn link_kept(songs: &[(PathBuf, LabelRecord)], kept: &[&str], kept_dir: &Path) -> Result<()> {
    let tmp = kept_dir.with_extension("partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    for (dir, record) in songs.iter().filter(|(_, r)| kept.contains(&r.song.as_str())) {
        let target = tmp.join(dir.file_name().context("song folder has a name")?);
        std::fs::create_dir_all(&target)?;
        for name in [&record.vocals, &record.accompaniment] {
            let (from, to) = (dir.join(name), target.join(name));
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
            }
        }
    }
    if kept_dir.exists() {
        std::fs::remove_dir_all(kept_dir)?;
    }
    std::fs::rename(&tmp, kept_dir).with_context(|| format!("writing {}", kept_dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(song: &str, frames: usize, poor: usize) -> SongQuality {
        SongQuality { song: song.into(), frames, poor_frames: poor }
    }

    #[test]
    fn ranking_is_by_poor_fraction_then_name() {
        let ranked = rank(vec![q("c", 100, 50), q("a", 10, 1), q("b", 1000, 100), q("d", 200, 10)]);
        let names: Vec<&str> = ranked.iter().map(|q| q.song.as_str()).collect();
        assert_eq!(names, ["d", "a", "b", "c"]);
    }

    #[test]
    fn top_fraction_keeps_at_least_one() {
        assert_eq!(kept_count(100, 0.25), 25);
        assert_eq!(kept_count(10, 0.25), 3);
        assert_eq!(kept_count(3, 0.01), 1);
        assert_eq!(kept_count(0, 0.5), 0);
        assert_eq!(kept_count(7, 1.0), 7);
    }
}

/// Figure 2's other corpora: (name, dataset layout, root).
pub type FigureCorpus<'a> = (&'a str, DatasetKind, &'a Path);

/// Filters the pseudo-labels in `labels` into `out` (as [`filter_labels`]), then draws the
/// paper's Figure 2 there (`figure2.png`/`.svg`): the self-labeled songs' poor-frame counts
/// beside those of `corpora` (the raw unlabeled and the labeled corpus).
pub fn filter_and_plot(
    filter: &VadFilter,
    labels: &Path,
    keep_top: f64,
    out: &Path,
    corpora: &[FigureCorpus],
) -> Result<FilterSummary> {
    let summary = filter_labels(filter, labels, keep_top, out)?;
    let mut series = Vec::new();
    for (name, kind, root) in corpora {
        let songs = assess_corpus(filter, *kind, root)?;
        series.push(Series { name: (*name).into(), counts: songs.iter().map(|q| q.poor_frames).collect() });
    }
    series.insert(
        corpora.len().min(1),
        Series { name: "self-labeled".into(), counts: summary.ranking.iter().map(|q| q.poor_frames).collect() },
    );
    let title = format!("Poor-quality frames per song (threshold {})", filter.threshold());
    poor_frame_histogram(&out.join("figure2"), &title, &series)?;
    Ok(summary)
}
