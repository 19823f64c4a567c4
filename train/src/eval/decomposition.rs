//! Per-frame decomposition of each estimate and its four energy ratios.
//!
//! museval (`_bss_decomp_mtifilt`, `_project`) convolves the frame's references, zero outside
//! the frame, with the whole-track filters, giving two projections of estimate `j` that run
//! `filter_len - 1` samples past the frame: `P_j` (on reference `j` alone) and `P_all` (on all
//! references). With `s` the reference and `ŝ` the estimate, `_bss_crit` then takes
//!
//! * SDR = 10 log10(|s|^2 / |ŝ - s|^2)  (the error terms add up to `ŝ - s`)
//! * ISR = 10 log10(|s|^2 / |P_j - s|^2)
//! * SIR = 10 log10(|P_j|^2 / |P_all - P_j|^2)
//! * SAR = 10 log10(|P_all|^2 / |ŝ - P_all|^2)
//!
//! Here the projections are never formed in time: their energies come from the spectra by
//! Parseval, so each frame costs one forward transform per signal and no inverse.

use std::ops::Range;

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

use super::error::EvalError;
use super::fft::{Fft, fast_len};
use super::kernels::energy_and_squared_distance;
use super::projection::Filters;
use super::signals::SourceSet;
use multiversion::multiversion;

/// Bins of the projections formed at a time.
const PROJECTION_CHUNK: usize = 256;

/// Length of the transforms that score frames of `frame_len` samples with filters of
/// `filter_len` taps: long enough for the projections' tails, so no circular wrap-around.
pub(crate) fn transform_len(frame_len: usize, filter_len: usize) -> usize {
    fast_len(frame_len + filter_len - 1)
}

/// Spectra of the filters at one frame length, and buffers for scoring frames of that length.
pub(crate) struct FrameScorer {
    frame_len: usize,
    fft: Fft,
    weights: Vec<f64>,
    n_sources: usize,
    channels: usize,
    /// Mono estimates of two sources (the protocol's case) take the fused pass
    /// [`add_energies_mono_pair`]; anything else the general one.
    fused: bool,
    /// `to_all[(j * n_refs + r) * channels + c]`: filter from reference signal `r` to channel
    /// `c` of estimate `j`.
    to_all: Vec<Vec<Complex<f64>>>,
    /// `to_own[(j * channels + rc) * channels + c]`: filter from channel `rc` of reference `j`
    /// to channel `c` of estimate `j`.
    to_own: Vec<Vec<Complex<f64>>>,
    /// Spectra of one frame's signals: the references', then the estimates', `bins` each.
    frame_spectra: Vec<Complex<f64>>,
    /// Scratch for the spectra of P_j and P_all, `PROJECTION_CHUNK` bins at a time.
    own: Vec<Complex<f64>>,
    all: Vec<Complex<f64>>,
}

impl FrameScorer {
    pub(crate) fn new(
        planner: &mut RealFftPlanner<f64>,
        frame_len: usize,
        to_all: &Filters,
        to_own: &[Filters],
        channels: usize,
    ) -> Result<Self, EvalError> {
        let n_sources = to_own.len();
        let n_refs = n_sources * channels;
        let mut fft = Fft::new(planner, transform_len(frame_len, to_all.len()));
        let bins = fft.bins();
        let mut spectrum = |taps: Vec<f64>| -> Result<Vec<Complex<f64>>, EvalError> {
            let mut out = vec![Complex::new(0.0, 0.0); bins];
            fft.spectrum(&taps, &mut out)?;
            Ok(out)
        };
        let mut all = Vec::with_capacity(n_sources * n_refs * channels);
        for j in 0..n_sources {
            for r in 0..n_refs {
                for c in 0..channels {
                    all.push(spectrum(to_all.response(r, j * channels + c))?);
                }
            }
        }
        let mut own = Vec::with_capacity(n_sources * channels * channels);
        for filters in to_own {
            for rc in 0..channels {
                for c in 0..channels {
                    own.push(spectrum(filters.response(rc, c))?);
                }
            }
        }
        let zeros = vec![Complex::new(0.0, 0.0); PROJECTION_CHUNK];
        Ok(Self {
            frame_len,
            weights: fft.parseval_weights(),
            fft,
            n_sources,
            channels,
            fused: channels == 1 && n_sources == 2,
            to_all: all,
            to_own: own,
            frame_spectra: Vec::new(),
            own: zeros.clone(),
            all: zeros,
        })
    }

    pub(crate) fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// `[sdr, isr, sir, sar]` of every source in the frame `range`, which must have
    /// `frame_len` samples (museval's `_bss_decomp_mtifilt` and `_bss_crit`).
    pub(crate) fn score(
        &mut self,
        refs: &SourceSet,
        ests: &SourceSet,
        range: Range<usize>,
    ) -> Result<Vec<[f64; 4]>, EvalError> {
        let bins = self.fft.bins();
        let mut spectra = std::mem::take(&mut self.frame_spectra);
        spectra.resize((refs.signals.len() + ests.signals.len()) * bins, Complex::new(0.0, 0.0));
        let signals = refs.signals.iter().chain(&ests.signals);
        for (signal, spectrum) in signals.zip(spectra.chunks_exact_mut(bins)) {
            self.fft.spectrum(&signal[range.clone()], spectrum)?;
        }
        let energies = time_energies(refs, ests, range);
        let scores = self.score_spectra(&spectra, &energies);
        self.frame_spectra = spectra;
        Ok(scores)
    }

    /// [`score`](Self::score) with the frame's spectra and [`time_energies`] already taken:
    /// `spectra` (by a transform of this scorer's length) holds the references' signals, then
    /// the estimates', each `fft.bins()` long, as `correlation::cross_correlations_in_blocks`
    /// keeps them.
    pub(crate) fn score_spectra(&mut self, spectra: &[Complex<f64>], time_energies: &[TimeEnergies]) -> Vec<[f64; 4]> {
        let bins = self.fft.bins();
        let n_refs = self.n_sources * self.channels;
        let spectrum = |i: usize| &spectra[i * bins..(i + 1) * bins];
        debug_assert_eq!(time_energies.len(), self.n_sources);
        let mut out = Vec::with_capacity(self.n_sources);
        for (j, time) in time_energies.iter().enumerate() {
            let mut energies = ProjectionEnergies::default();
            if self.fused {
                // The protocol's case (mono vocals and accompaniment): projections and energies
                // in one pass over the bins, the projections never stored.
                add_energies_mono_pair(
                    &mut energies,
                    &self.weights,
                    [spectrum(j), spectrum(n_refs + j)],
                    &self.to_own[j],
                    [spectrum(0), spectrum(1)],
                    [&self.to_all[2 * j], &self.to_all[2 * j + 1]],
                );
            } else {
                for c in 0..self.channels {
                    let k = j * self.channels + c;
                    // A stretch of bins at a time, so that the projections stay in the L1 cache.
                    for start in (0..bins).step_by(PROJECTION_CHUNK) {
                        let chunk = start..(start + PROJECTION_CHUNK).min(bins);
                        self.project(j, c, &spectrum, chunk.clone());
                        let n = chunk.len();
                        add_energies(
                            &mut energies,
                            &self.weights[chunk.clone()],
                            &spectrum(k)[chunk.clone()],
                            &spectrum(n_refs + k)[chunk],
                            &self.own[..n],
                            &self.all[..n],
                        );
                    }
                }
            }
            out.push([
                safe_db(time.reference, time.error),
                safe_db(time.reference, energies.spatial),
                safe_db(energies.own, energies.interference),
                safe_db(energies.all, energies.artifacts),
            ]);
        }
        out
    }

    /// Spectra of `P_j` and `P_all` for channel `c` of estimate `j` at the bins `chunk` into
    /// the start of `own` and `all` (museval's `_project`), from the references' spectra
    /// `reference(r)`.
    fn project<'s>(
        &mut self,
        j: usize,
        c: usize,
        reference: &impl Fn(usize) -> &'s [Complex<f64>],
        chunk: Range<usize>,
    ) {
        let (channels, n_refs) = (self.channels, self.n_sources * self.channels);
        let own = &mut self.own[..chunk.len()];
        own.fill(Complex::new(0.0, 0.0));
        for rc in 0..channels {
            let filter = &self.to_own[(j * channels + rc) * channels + c];
            multiply_accumulate(own, &reference(j * channels + rc)[chunk.clone()], &filter[chunk.clone()]);
        }
        let all = &mut self.all[..chunk.len()];
        all.fill(Complex::new(0.0, 0.0));
        for r in 0..n_refs {
            let filter = &self.to_all[(j * n_refs + r) * channels + c];
            multiply_accumulate(all, &reference(r)[chunk.clone()], &filter[chunk.clone()]);
        }
    }
}

/// Time-domain energies of one source in one frame, summed over channels: exact sums, like
/// museval's over its padded arrays.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimeEnergies {
    /// |s|^2.
    pub(crate) reference: f64,
    /// |ŝ - s|^2 (the SDR's denominator: the error terms add up to `ŝ - s`).
    pub(crate) error: f64,
}

/// [`TimeEnergies`] of every source in the frame `range`.
pub(crate) fn time_energies(refs: &SourceSet, ests: &SourceSet, range: Range<usize>) -> Vec<TimeEnergies> {
    (0..refs.sources())
        .map(|j| {
            let mut sums = TimeEnergies::default();
            for c in 0..refs.channels {
                let (energy, error) =
                    energy_and_squared_distance(&refs.channel(j, c)[range.clone()], &ests.channel(j, c)[range.clone()]);
                sums.reference += energy;
                sums.error += error;
            }
            sums
        })
        .collect()
}

/// Energies of the projection error terms of one frame, summed over channels.
#[derive(Default)]
struct ProjectionEnergies {
    /// |P_j - s|^2: museval's `e_spat`.
    spatial: f64,
    /// |P_j|^2 = |s + e_spat|^2.
    own: f64,
    /// |P_all - P_j|^2: museval's `e_interf`.
    interference: f64,
    /// |P_all|^2 = |s + e_spat + e_interf|^2.
    all: f64,
    /// |ŝ - P_all|^2: museval's `e_artif`.
    artifacts: f64,
}

impl ProjectionEnergies {
    /// Adds two sets of running sums, each in the order of the fields.
    fn add(&mut self, even: [f64; 5], odd: [f64; 5]) {
        self.spatial += even[0] + odd[0];
        self.own += even[1] + odd[1];
        self.interference += even[2] + odd[2];
        self.all += even[3] + odd[3];
        self.artifacts += even[4] + odd[4];
    }
}

/// Adds one channel's energies from the spectra, with the Parseval `weights`.
#[multiversion(targets("x86_64+avx2"))]
fn add_energies(
    energies: &mut ProjectionEnergies,
    weights: &[f64],
    reference: &[Complex<f64>],
    estimate: &[Complex<f64>],
    own: &[Complex<f64>],
    all: &[Complex<f64>],
) {
    // Two sets of running sums in locals (even and odd bins), so that the additions overlap
    // instead of each waiting for the one before.
    let n = weights.len();
    let (reference, estimate, own, all) = (&reference[..n], &estimate[..n], &own[..n], &all[..n]);
    let (mut even, mut odd) = ([0.0f64; 5], [0.0f64; 5]);
    for k in (0..n / 2).map(|i| 2 * i) {
        add_bin(&mut even, weights[k], reference[k], estimate[k], own[k], all[k]);
        add_bin(&mut odd, weights[k + 1], reference[k + 1], estimate[k + 1], own[k + 1], all[k + 1]);
    }
    if n % 2 == 1 {
        let k = n - 1;
        add_bin(&mut even, weights[k], reference[k], estimate[k], own[k], all[k]);
    }
    energies.add(even, odd);
}

/// One bin's terms of the five sums, weighted (`sum` in the order of [`ProjectionEnergies`]).
#[inline(always)]
fn add_bin(sum: &mut [f64; 5], w: f64, s: Complex<f64>, e: Complex<f64>, p_own: Complex<f64>, p_all: Complex<f64>) {
    sum[0] += w * (p_own - s).norm_sqr();
    sum[1] += w * p_own.norm_sqr();
    sum[2] += w * (p_all - p_own).norm_sqr();
    sum[3] += w * p_all.norm_sqr();
    sum[4] += w * (e - p_all).norm_sqr();
}

/// [`FrameScorer::project`] and [`add_energies`] fused for one mono estimate `j` of two sources:
/// at each bin, `P_j = H_own * S_j` and `P_all = A_0 * S_0 + A_1 * S_1` (the same products and
/// sums, in the same order, as the general path) feed the five sums directly. About twice as
/// fast: the general path stores the projections and reads them back.
#[multiversion(targets("x86_64+avx2"))]
fn add_energies_mono_pair(
    energies: &mut ProjectionEnergies,
    weights: &[f64],
    [reference, estimate]: [&[Complex<f64>]; 2],
    own_filter: &[Complex<f64>],
    [s0, s1]: [&[Complex<f64>]; 2],
    [a0, a1]: [&[Complex<f64>]; 2],
) {
    let n = weights.len();
    let (reference, estimate, own_filter) = (&reference[..n], &estimate[..n], &own_filter[..n]);
    let (s0, s1, a0, a1) = (&s0[..n], &s1[..n], &a0[..n], &a1[..n]);
    // One bin: the projections, then their terms of the sums. A function rather than a closure:
    // the closure was not inlined into the AVX2 copy, costing a call per bin.
    #[inline(always)]
    fn bin(sum: &mut [f64; 5], w: f64, s: Complex<f64>, e: Complex<f64>, h: Complex<f64>, terms: [Complex<f64>; 4]) {
        let [s0, a0, s1, a1] = terms;
        add_bin(sum, w, s, e, s * h, s0 * a0 + s1 * a1);
    }
    let (mut even, mut odd) = ([0.0f64; 5], [0.0f64; 5]);
    for k in (0..n / 2).map(|i| 2 * i) {
        let m = k + 1;
        bin(&mut even, weights[k], reference[k], estimate[k], own_filter[k], [s0[k], a0[k], s1[k], a1[k]]);
        bin(&mut odd, weights[m], reference[m], estimate[m], own_filter[m], [s0[m], a0[m], s1[m], a1[m]]);
    }
    if n % 2 == 1 {
        let k = n - 1;
        bin(&mut even, weights[k], reference[k], estimate[k], own_filter[k], [s0[k], a0[k], s1[k], a1[k]]);
    }
    energies.add(even, odd);
}

/// `acc += x * y`, bin by bin.
#[multiversion(targets("x86_64+avx2"))]
fn multiply_accumulate(acc: &mut [Complex<f64>], x: &[Complex<f64>], y: &[Complex<f64>]) {
    for ((a, x), y) in acc.iter_mut().zip(x).zip(y) {
        *a += x * y;
    }
}

/// `10 log10(num / den)`, +inf for a zero denominator (museval's `_safe_db`).
fn safe_db(num: f64, den: f64) -> f64 {
    if den == 0.0 { f64::INFINITY } else { 10.0 * (num / den).log10() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::correlation::cross_correlations;
    use crate::eval::projection::whole_track_filters;
    use crate::eval::signals::validated;
    use crate::eval::tests::noise;

    #[test]
    fn the_fused_mono_pass_equals_the_general_one() {
        let len = 3000;
        let (s0, s1) = (noise(len, 1), noise(len, 2));
        // Estimates: each reference with leakage of the other and noise.
        let e0: Vec<f64> = (0..len).map(|n| s0[n] + 0.3 * s1[n] + 0.1 * noise(len, 3)[n]).collect();
        let e1: Vec<f64> = (0..len).map(|n| s1[n] - 0.2 * s0[n] + 0.05 * noise(len, 4)[n]).collect();
        let references = vec![vec![s0.as_slice()], vec![s1.as_slice()]];
        let estimates = vec![vec![e0.as_slice()], vec![e1.as_slice()]];
        let (refs, ests) = validated(&references, &estimates).unwrap();
        let (to_all, to_own) = whole_track_filters(&refs, &ests, 64, cross_correlations).unwrap();
        let mut planner = RealFftPlanner::new();
        let mut scorer = FrameScorer::new(&mut planner, 1000, &to_all, &to_own, 1).unwrap();
        assert!(scorer.fused);
        let fused = scorer.score(&refs, &ests, 1000..2000).unwrap();
        scorer.fused = false;
        let general = scorer.score(&refs, &ests, 1000..2000).unwrap();
        for (f, g) in fused.iter().flatten().zip(general.iter().flatten()) {
            assert!(f.is_finite() && (f - g).abs() < 1e-9, "fused {fused:?}, general {general:?}");
        }
        // The metrics are not trivially equal among themselves (the comparison means something).
        assert!((fused[0][1] - fused[0][2]).abs() > 0.1, "{fused:?}");
    }
}
