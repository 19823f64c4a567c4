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
        let scores = self.score_spectra(refs, ests, range, &spectra);
        self.frame_spectra = spectra;
        Ok(scores)
    }

    /// [`score`](Self::score) with the frame's spectra already taken (by a transform of this
    /// scorer's length): `spectra` holds the references' signals, then the estimates', each
    /// `fft.bins()` long, as `correlation::cross_correlations_in_blocks` keeps them.
    pub(crate) fn score_spectra(
        &mut self,
        refs: &SourceSet,
        ests: &SourceSet,
        range: Range<usize>,
        spectra: &[Complex<f64>],
    ) -> Vec<[f64; 4]> {
        let bins = self.fft.bins();
        let n_refs = refs.signals.len();
        let spectrum = |i: usize| &spectra[i * bins..(i + 1) * bins];
        let mut out = Vec::with_capacity(self.n_sources);
        for j in 0..self.n_sources {
            // Exact time-domain sums, like museval's over the padded arrays.
            let (mut true_energy, mut error_energy) = (0.0, 0.0);
            for c in 0..self.channels {
                let s = &refs.channel(j, c)[range.clone()];
                let e = &ests.channel(j, c)[range.clone()];
                let (energy, error) = energy_and_squared_distance(s, e);
                true_energy += energy;
                error_energy += error;
            }
            let mut energies = ProjectionEnergies::default();
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
            out.push([
                safe_db(true_energy, error_energy),
                safe_db(true_energy, energies.spatial),
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
    #[inline(always)]
    fn add(sum: &mut [f64; 5], w: f64, s: Complex<f64>, e: Complex<f64>, p_own: Complex<f64>, p_all: Complex<f64>) {
        sum[0] += w * (p_own - s).norm_sqr();
        sum[1] += w * p_own.norm_sqr();
        sum[2] += w * (p_all - p_own).norm_sqr();
        sum[3] += w * p_all.norm_sqr();
        sum[4] += w * (e - p_all).norm_sqr();
    }
    let (mut even, mut odd) = ([0.0f64; 5], [0.0f64; 5]);
    for k in (0..n / 2).map(|i| 2 * i) {
        add(&mut even, weights[k], reference[k], estimate[k], own[k], all[k]);
        add(&mut odd, weights[k + 1], reference[k + 1], estimate[k + 1], own[k + 1], all[k + 1]);
    }
    if n % 2 == 1 {
        let k = n - 1;
        add(&mut even, weights[k], reference[k], estimate[k], own[k], all[k]);
    }
    let sums = [even, odd];
    energies.spatial += sums[0][0] + sums[1][0];
    energies.own += sums[0][1] + sums[1][1];
    energies.interference += sums[0][2] + sums[1][2];
    energies.all += sums[0][3] + sums[1][3];
    energies.artifacts += sums[0][4] + sums[1][4];
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
