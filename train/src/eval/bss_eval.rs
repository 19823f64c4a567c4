//! BSS Eval version 4 (`museval.evaluate(..., mode="v4")`): framewise SDR, ISR, SIR and SAR
//! with distortion filters fitted once over the whole track, then applied frame by frame
//! (see `decomposition` for the four ratios). A frame in which any reference or any estimate
//! is all zeros is NaN for every target.

use std::ops::Range;

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::correlation::{cross_correlations, cross_correlations_in_blocks};
use super::decomposition::{FrameScorer, time_energies, transform_len};
use super::error::EvalError;
use super::fft::Fft;
use super::projection::whole_track_filters;
use super::signals::{first_non_finite_error, validated};

/// Framing and filter length of the evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BssEvalConfig {
    /// Frame length in samples. A frame at least as long as the signal gives one frame over it.
    pub window: usize,
    /// Distance between frame starts in samples.
    pub hop: usize,
    /// Number of taps of the distortion filters (museval's `filters_len`).
    pub filter_len: usize,
}

impl BssEvalConfig {
    /// museval's defaults for a sample rate: one-second frames without overlap (`win = hop =
    /// 1.0` seconds in `eval_mus_track`) and 512-tap filters.
    pub fn museval_default(sample_rate: usize) -> Self {
        Self { window: sample_rate, hop: sample_rate, filter_len: 512 }
    }

    /// One-second frames at 16 kHz: `window = hop = 16000`, 512-tap filters.
    pub fn one_second_at_16khz() -> Self {
        Self::museval_default(16_000)
    }

    fn validate(&self) -> Result<(), EvalError> {
        if self.window == 0 {
            return Err(EvalError::InvalidConfig("window must be at least one sample"));
        }
        if self.hop == 0 {
            return Err(EvalError::InvalidConfig("hop must be at least one sample"));
        }
        if self.filter_len == 0 {
            return Err(EvalError::InvalidConfig("filter_len must be at least one tap"));
        }
        Ok(())
    }
}

impl Default for BssEvalConfig {
    fn default() -> Self {
        Self::one_second_at_16khz()
    }
}

/// Framewise metrics in dB, indexed `[source][frame]`; NaN where museval gives NaN.
///
/// In JSON every non-finite value is `null` (read back as NaN): museval's own JSON output
/// likewise stores infinities as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FramewiseMetrics {
    #[serde(serialize_with = "nulls_for_non_finite", deserialize_with = "nan_for_nulls")]
    pub sdr: Vec<Vec<f64>>,
    #[serde(serialize_with = "nulls_for_non_finite", deserialize_with = "nan_for_nulls")]
    pub isr: Vec<Vec<f64>>,
    #[serde(serialize_with = "nulls_for_non_finite", deserialize_with = "nan_for_nulls")]
    pub sir: Vec<Vec<f64>>,
    #[serde(serialize_with = "nulls_for_non_finite", deserialize_with = "nan_for_nulls")]
    pub sar: Vec<Vec<f64>>,
}

impl FramewiseMetrics {
    /// Number of frames (the same for every source and metric).
    pub fn n_frames(&self) -> usize {
        self.sdr.first().map_or(0, Vec::len)
    }
}

fn nulls_for_non_finite<S: Serializer>(rows: &[Vec<f64>], serializer: S) -> Result<S::Ok, S::Error> {
    let rows: Vec<Vec<Option<f64>>> =
        rows.iter().map(|row| row.iter().map(|v| v.is_finite().then_some(*v)).collect()).collect();
    rows.serialize(serializer)
}

fn nan_for_nulls<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let rows = Vec::<Vec<Option<f64>>>::deserialize(deserializer)?;
    Ok(rows.into_iter().map(|row| row.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect())
}

/// BSS Eval v4 of mono sources: `references[j]` and `estimates[j]` are the samples of source
/// `j`, all of one length.
///
/// Mirrors `museval.evaluate(references, estimates, win=window, hop=hop, mode="v4")`, i.e.
/// `museval.metrics.bss_eval` with `compute_permutation=False`, `framewise_filters=False` and
/// `bsseval_sources_version=False`, except that estimates of another length are an error here
/// instead of being zero-padded or cut.
pub fn bss_eval_v4(
    references: &[Vec<f64>],
    estimates: &[Vec<f64>],
    config: &BssEvalConfig,
) -> Result<FramewiseMetrics, EvalError> {
    bss_eval_v4_with(&mut Workspace::default(), references, estimates, config)
}

/// [`bss_eval_v4`] in the memory of `workspace`, for scoring many tracks one after another.
pub fn bss_eval_v4_with(
    workspace: &mut Workspace,
    references: &[Vec<f64>],
    estimates: &[Vec<f64>],
    config: &BssEvalConfig,
) -> Result<FramewiseMetrics, EvalError> {
    let references: Vec<Vec<&[f64]>> = references.iter().map(|s| vec![s.as_slice()]).collect();
    let estimates: Vec<Vec<&[f64]>> = estimates.iter().map(|s| vec![s.as_slice()]).collect();
    evaluate(workspace, &references, &estimates, config)
}

/// Memory that evaluations can reuse: the spectra of every frame (tens of megabytes for a
/// track of a few minutes). Scoring many tracks with one workspace per thread spares the
/// allocation, and the page faults of touching fresh memory, on every track.
#[derive(Default)]
pub struct Workspace {
    spectra: Vec<Complex<f64>>,
}

/// BSS Eval v4 of multichannel sources, indexed `[source][channel][sample]`.
///
/// Mirrors `museval.evaluate(..., mode="v4")` on arrays shaped (sources, samples, channels):
/// the filters map every reference channel to every estimate channel, energies are summed over
/// channels, and a source counts as silent in a frame when the sum of its channels is zero at
/// every sample (museval's `_any_source_silent`).
pub fn bss_eval_v4_multichannel(
    references: &[Vec<Vec<f64>>],
    estimates: &[Vec<Vec<f64>>],
    config: &BssEvalConfig,
) -> Result<FramewiseMetrics, EvalError> {
    evaluate(&mut Workspace::default(), &channel_slices(references), &channel_slices(estimates), config)
}

fn channel_slices(sources: &[Vec<Vec<f64>>]) -> Vec<Vec<&[f64]>> {
    sources.iter().map(|chs| chs.iter().map(Vec::as_slice).collect()).collect()
}

/// Frame ranges as museval's `Framing`: `floor((len - window + hop) / hop)` full frames when
/// the window is shorter than the signal (a trailing partial frame is dropped), otherwise a
/// single frame over the whole signal.
fn frames(len: usize, config: &BssEvalConfig) -> Vec<Range<usize>> {
    if config.window < len {
        let count = (len - config.window) / config.hop + 1;
        (0..count).map(|t| t * config.hop..t * config.hop + config.window).collect()
    } else {
        std::iter::once(0..len).collect()
    }
}

/// Largest amount of memory kept for the spectra of every frame (see [`evaluate`]): about
/// 8 minutes of 16 kHz mono with two sources (33 MB a minute), 1.5 minutes of 44.1 kHz stereo.
/// Longer signals transform each frame twice instead.
const KEEP_SPECTRA_BYTES: usize = 256 << 20;

/// The shared body of the public entry points, on flattened channel slices.
///
/// When the frames tile the signal (museval's default, `hop == window`), the blocks in which
/// the whole-track correlations are taken are the frames themselves, transformed at the
/// scoring length: the spectra then serve both the filters and the frame scores, and every
/// sample is transformed once.
fn evaluate(
    workspace: &mut Workspace,
    references: &[Vec<&[f64]>],
    estimates: &[Vec<&[f64]>],
    config: &BssEvalConfig,
) -> Result<FramewiseMetrics, EvalError> {
    config.validate()?;
    let (refs, ests) = validated(references, estimates)?;
    let n_sources = refs.sources();
    let ranges = frames(refs.len(), config);
    let mut planner = RealFftPlanner::<f64>::new();

    let block = ranges[0].len();
    let tiled = ranges.len() == 1 || config.hop == config.window;
    let fft_len = transform_len(block, config.filter_len);
    let per_block = (refs.signals.len() + ests.signals.len()) * (fft_len / 2 + 1);
    let spectra_bytes = refs.len().div_ceil(block) * per_block * std::mem::size_of::<Complex<f64>>();
    let keep = tiled && spectra_bytes <= KEEP_SPECTRA_BYTES;
    let kept = &mut workspace.spectra;
    // `validated` left out the scan for non-finite samples: the correlations tell whether one is
    // needed.
    let finite = |correlations: Vec<Vec<f64>>| {
        if correlations.iter().flatten().all(|v| v.is_finite()) {
            return Ok(correlations);
        }
        match first_non_finite_error(&refs, &ests) {
            Some(error) => Err(error),
            None => Ok(correlations), // finite samples, overflowing sums: as before
        }
    };
    let (to_all, to_own) = if tiled {
        whole_track_filters(&refs, &ests, config.filter_len, |signals, pairs, max_lag| {
            let mut fft = Fft::new(&mut planner, fft_len);
            let kept = keep.then_some(&mut *kept);
            finite(cross_correlations_in_blocks(signals, pairs, max_lag, &mut planner, &mut fft, block, kept)?)
        })?
    } else {
        whole_track_filters(&refs, &ests, config.filter_len, |signals, pairs, max_lag| {
            finite(cross_correlations(signals, pairs, max_lag)?)
        })?
    };

    let nan_rows = vec![vec![f64::NAN; ranges.len()]; n_sources];
    let mut metrics =
        FramewiseMetrics { sdr: nan_rows.clone(), isr: nan_rows.clone(), sir: nan_rows.clone(), sar: nan_rows };
    let mut scorer: Option<FrameScorer> = None;
    for (t, range) in ranges.into_iter().enumerate() {
        let silent = (0..n_sources).any(|j| refs.is_silent(j, range.clone()) || ests.is_silent(j, range.clone()));
        if silent {
            continue; // NaN for every source, as museval
        }
        // Every frame has the same length except a lone whole-signal frame: transforms and
        // filter spectra are set up once per length.
        let scorer = match scorer.take() {
            Some(s) if s.frame_len() == range.len() => scorer.insert(s),
            _ => scorer.insert(FrameScorer::new(&mut planner, range.len(), &to_all, &to_own, refs.channels)?),
        };
        let scores = if keep {
            // Frame t is block t of the correlations, transformed at this scorer's length.
            let energies = time_energies(&refs, &ests, range);
            scorer.score_spectra(&kept[t * per_block..(t + 1) * per_block], &energies)
        } else {
            scorer.score(&refs, &ests, range)?
        };
        for (j, [sdr, isr, sir, sar]) in scores.into_iter().enumerate() {
            metrics.sdr[j][t] = sdr;
            metrics.isr[j][t] = isr;
            metrics.sir[j][t] = sir;
            metrics.sar[j][t] = sar;
        }
    }
    Ok(metrics)
}
