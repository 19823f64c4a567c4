//! Validation on held-out songs: the same SDR the paper reports (BSS Eval v4, median of
//! one-second segment SDRs per song, median over songs) plus the loss.

use super::config::DataSection;
use crate::data::{CacheError, SegmentCache, Split};
use crate::eval::{BssEvalConfig, bss_eval_v4, nan_median};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;
use svs_core::model::{PoCoNet, SeparationLoss};
use svs_core::{AudioBuffer, MODEL_SAMPLE_RATE, MaskMode, Separator, SeparatorConfig};

/// Held-out songs at 16 kHz mono: (name, vocals, accompaniment).
pub struct ValidationSet {
    pub songs: Vec<(String, Vec<f32>, Vec<f32>)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationResult {
    pub loss: f64,
    pub sdr_vocals: f64,
    pub sdr_accompaniment: f64,
    pub songs: usize,
}

impl ValidationResult {
    pub fn mean_sdr(&self) -> f64 {
        (self.sdr_vocals + self.sdr_accompaniment) / 2.0
    }
}

impl ValidationSet {
    /// The validation songs a training configuration names; none is an error.
    pub fn for_training(data: &DataSection) -> anyhow::Result<Self> {
        let set =
            Self::open(&data.validation, &data.validation_splits, data.validation_songs, data.validation_seconds)?;
        if set.songs.is_empty() {
            anyhow::bail!("{}: no validation songs in splits {:?}", data.validation.display(), data.validation_splits);
        }
        Ok(set)
    }

    pub fn open(dir: &Path, splits: &[Split], max_songs: usize, seconds: f64) -> Result<Self, CacheError> {
        let cache = SegmentCache::open(dir, splits)?;
        let samples = (seconds * MODEL_SAMPLE_RATE as f64) as usize;
        let mut songs = Vec::new();
        for (index, song) in cache.songs.iter().enumerate() {
            if max_songs > 0 && songs.len() >= max_songs {
                break;
            }
            if song.signals.len() != 2 {
                continue;
            }
            let (mut vocals, mut accompaniment) = (Vec::new(), Vec::new());
            for (seg, _) in cache.song_of.iter().enumerate().filter(|(_, s)| **s == index) {
                vocals.extend_from_slice(&cache.segments[seg][0]);
                accompaniment.extend_from_slice(&cache.segments[seg][1]);
            }
            let len = samples.min((song.seconds * MODEL_SAMPLE_RATE as f64) as usize).min(vocals.len());
            vocals.truncate(len);
            accompaniment.truncate(len);
            songs.push((song.name.clone(), vocals, accompaniment));
        }
        Ok(Self { songs })
    }
}

/// The separator settings training measures and labels with: the default windows and the
/// network's complex mask as it is ([`MaskMode::Complex`]), not the magnitude ratio a user's
/// separation applies. Validation then scores what the loss trains, and every run (model
/// selection, pseudo-labels, the pipeline's report) is the same as before the magnitude ratio
/// became the separators' default, so documented runs still reproduce bit for bit.
pub fn network_estimate_config() -> SeparatorConfig {
    SeparatorConfig { mask: MaskMode::Complex, ..Default::default() }
}

/// Separates every validation song with `model` (an inference model on `device`) and scores it.
pub fn validate(model: PoCoNet, device: &Device, set: &ValidationSet, loss: &SeparationLoss) -> ValidationResult {
    let separator =
        Separator::new(model, device.clone(), network_estimate_config()).expect("default settings are valid");
    let (mut sdr_v, mut sdr_a, mut losses) = (Vec::new(), Vec::new(), Vec::new());
    for (name, vocals, accompaniment) in &set.songs {
        let mixture: Vec<f32> = vocals.iter().zip(accompaniment).map(|(v, a)| v + a).collect();
        let stems = match separator.separate(&AudioBuffer::new(MODEL_SAMPLE_RATE, vec![mixture]), |_| {}) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("validation song {name}: {e}");
                continue;
            }
        };
        let (est_v, est_a) = (&stems.vocals.channels[0], &stems.accompaniment.channels[0]);
        let to64 = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        match bss_eval_v4(
            &[to64(vocals), to64(accompaniment)],
            &[to64(est_v), to64(est_a)],
            &BssEvalConfig::one_second_at_16khz(),
        ) {
            Ok(metrics) => {
                sdr_v.push(nan_median(&metrics.sdr[0]));
                sdr_a.push(nan_median(&metrics.sdr[1]));
            }
            // A song with a silent stem has no SDR (museval refuses it too); it still has a loss.
            Err(e) => tracing::debug!("validation song {name}: no SDR ({e})"),
        }
        let t = |x: &[f32]| Tensor::<1>::from_floats(x, device).reshape([1, x.len()]);
        let l = loss.forward(t(est_v), t(est_a), t(vocals), t(accompaniment)).into_scalar::<f32>();
        losses.push(l as f64);
    }
    ValidationResult {
        loss: losses.iter().sum::<f64>() / losses.len().max(1) as f64,
        sdr_vocals: nan_median(&sdr_v),
        sdr_accompaniment: nan_median(&sdr_a),
        songs: set.songs.len(),
    }
}
