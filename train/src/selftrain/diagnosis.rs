//! The data filter checked against the truth (for synthetic DAMP-like corpora written with
//! `svs synth --kind damp --truth`): how good each pseudo-label really is, and whether the
//! detectors' poor-frame fraction ranks the songs by that quality.
//!
//! A pseudo-label's true quality is its signal-to-residual ratio against the clean part of its
//! recording, `10 log10(|s|^2 / |s - s_hat|^2)` over the whole song, for the vocal label (against
//! the clean voice in the vocal track) and the accompaniment label (against the clean
//! accompaniment in the background track). This is the plain SDR, without BSS Eval's
//! distortion filter: the labels come from two different recordings, so there is no common
//! mixture for BSS Eval's joint projection.

use super::filter::FilterSummary;
use super::label::{LabelRecord, finished_songs};
use crate::data::song::{AudioRef, load_ref};
use crate::data::{DatasetKind, SongSources, list_songs};
use crate::stats::spearman;
use crate::synth::corpus::{DAMP_BACKGROUND_TRUTH, DAMP_VOCAL_TRUTH};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// One pseudo-labeled song: what the filter saw and what the truth says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelQuality {
    pub song: String,
    pub poor_fraction: f64,
    pub kept: bool,
    /// True signal-to-residual ratios (dB) of the vocal and accompaniment labels.
    pub sdr_vocals: f64,
    pub sdr_accompaniment: f64,
}

impl LabelQuality {
    pub fn mean_sdr(&self) -> f64 {
        (self.sdr_vocals + self.sdr_accompaniment) / 2.0
    }
}

/// The filter against the truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterDiagnosis {
    pub songs: Vec<LabelQuality>,
    /// Spearman correlation of the poor-frame fraction with the labels' true mean SDR: a
    /// useful filter makes it clearly negative (more poor frames, worse labels).
    pub rank_correlation: f64,
    /// Mean true SDR (mean of the two labels) of the kept and of the dropped songs.
    pub kept_mean_sdr: f64,
    pub dropped_mean_sdr: f64,
}

/// Scores every ranked song's labels against the truth files beside its recordings in the
/// unlabeled corpus. `None` when the corpus has no truth (real data, or written without
/// `--truth`).
pub fn diagnose_filter(
    summary: &FilterSummary,
    labels: &Path,
    corpus: DatasetKind,
    root: &Path,
) -> Result<Option<FilterDiagnosis>> {
    let listing = list_songs(corpus, root).with_context(|| format!("listing {}", root.display()))?;
    let folders: HashMap<String, std::path::PathBuf> = listing
        .songs
        .into_iter()
        .filter_map(|s| match s.sources {
            SongSources::Karaoke { vocal_track, .. } => vocal_track.path.parent().map(|p| (s.name, p.to_owned())),
            _ => None,
        })
        .collect();
    let records: HashMap<String, (std::path::PathBuf, LabelRecord)> =
        finished_songs(labels)?.into_iter().map(|(dir, r)| (r.song.clone(), (dir, r))).collect();
    let kept = summary.kept;
    let mut songs = Vec::new();
    for (rank, quality) in summary.ranking.iter().enumerate() {
        let Some(folder) = folders.get(&quality.song) else { continue };
        if !folder.join(DAMP_VOCAL_TRUTH).is_file() || !folder.join(DAMP_BACKGROUND_TRUTH).is_file() {
            return Ok(None);
        }
        let Some((dir, record)) = records.get(&quality.song) else { continue };
        let load = |path: std::path::PathBuf| load_ref(&AudioRef::file(path));
        let vocal_truth = load(folder.join(DAMP_VOCAL_TRUTH))?;
        let background_truth = load(folder.join(DAMP_BACKGROUND_TRUTH))?;
        let vocal_label = load(dir.join(&record.vocals))?;
        let accompaniment_label = load(dir.join(&record.accompaniment))?;
        songs.push(LabelQuality {
            song: quality.song.clone(),
            poor_fraction: quality.poor_fraction(),
            kept: rank < kept,
            sdr_vocals: signal_to_residual_db(&vocal_truth, &vocal_label),
            sdr_accompaniment: signal_to_residual_db(&background_truth, &accompaniment_label),
        });
    }
    if songs.is_empty() {
        return Ok(None);
    }
    Ok(Some(summarise(songs)))
}

fn summarise(songs: Vec<LabelQuality>) -> FilterDiagnosis {
    let fractions: Vec<f64> = songs.iter().map(|s| s.poor_fraction).collect();
    let sdrs: Vec<f64> = songs.iter().map(LabelQuality::mean_sdr).collect();
    let mean = |keep: bool| {
        let v: Vec<f64> = songs.iter().filter(|s| s.kept == keep).map(LabelQuality::mean_sdr).collect();
        if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
    };
    FilterDiagnosis {
        rank_correlation: spearman(&fractions, &sdrs),
        kept_mean_sdr: mean(true),
        dropped_mean_sdr: mean(false),
        songs,
    }
}

/// `10 log10(|s|^2 / |s - s_hat|^2)` over the common length; infinite for a perfect estimate.
pub fn signal_to_residual_db(truth: &[f32], estimate: &[f32]) -> f64 {
    let (mut signal, mut residual) = (0.0f64, 0.0f64);
    for (&s, &e) in truth.iter().zip(estimate) {
        signal += f64::from(s) * f64::from(s);
        residual += (f64::from(s) - f64::from(e)).powi(2);
    }
    10.0 * (signal / residual).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_to_residual_known_answers() {
        let s = [1.0f32, -1.0, 1.0, -1.0];
        let half: Vec<f32> = s.iter().map(|x| x * 0.5).collect();
        // Residual is half the signal: 20 log10(2) = 6.02 dB.
        assert!((signal_to_residual_db(&s, &half) - 6.0206).abs() < 1e-3);
        assert_eq!(signal_to_residual_db(&s, &s), f64::INFINITY);
    }

    #[test]
    fn a_filter_that_ranks_by_quality_correlates_negatively() {
        let song = |i: usize, kept: bool| LabelQuality {
            song: format!("s{i}"),
            poor_fraction: i as f64 / 10.0,
            kept,
            sdr_vocals: 10.0 - i as f64,
            sdr_accompaniment: 12.0 - i as f64,
        };
        let d = summarise(vec![song(0, true), song(1, true), song(2, false), song(3, false)]);
        assert!((d.rank_correlation + 1.0).abs() < 1e-12);
        assert!((d.kept_mean_sdr - 10.5).abs() < 1e-12 && (d.dropped_mean_sdr - 8.5).abs() < 1e-12);
    }
}
