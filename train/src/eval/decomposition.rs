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
use super::kernels::{dot, squared_distance};
use super::projection::Filters;
use super::signals::SourceSet;

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
    ref_spectra: Vec<Vec<Complex<f64>>>,
    est_spectra: Vec<Vec<Complex<f64>>>,
    /// Scratch for the spectra of P_j and P_all.
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
        // Long enough for the projections' tails: no circular wrap-around.
        let mut fft = Fft::new(planner, fast_len(frame_len + to_all.len() - 1));
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
        let zeros = vec![Complex::new(0.0, 0.0); bins];
        Ok(Self {
            frame_len,
            weights: fft.parseval_weights(),
            fft,
            n_sources,
            channels,
            to_all: all,
            to_own: own,
            ref_spectra: vec![zeros.clone(); n_refs],
            est_spectra: vec![zeros.clone(); n_refs],
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
        for (signal, spectrum) in refs.signals.iter().zip(self.ref_spectra.iter_mut()) {
            self.fft.spectrum(&signal[range.clone()], spectrum)?;
        }
        for (signal, spectrum) in ests.signals.iter().zip(self.est_spectra.iter_mut()) {
            self.fft.spectrum(&signal[range.clone()], spectrum)?;
        }
        let mut out = Vec::with_capacity(self.n_sources);
        for j in 0..self.n_sources {
            // Exact time-domain sums, like museval's over the padded arrays.
            let (mut true_energy, mut error_energy) = (0.0, 0.0);
            for c in 0..self.channels {
                let s = &refs.channel(j, c)[range.clone()];
                let e = &ests.channel(j, c)[range.clone()];
                true_energy += dot(s, s);
                error_energy += squared_distance(s, e);
            }
            let mut energies = ProjectionEnergies::default();
            for c in 0..self.channels {
                self.project(j, c);
                let k = j * self.channels + c;
                energies.add(&self.weights, &self.ref_spectra[k], &self.est_spectra[k], &self.own, &self.all);
            }
            out.push([
                safe_db(true_energy, error_energy),
                safe_db(true_energy, energies.spatial),
                safe_db(energies.own, energies.interference),
                safe_db(energies.all, energies.artifacts),
            ]);
        }
        Ok(out)
    }

    /// Spectra of `P_j` and `P_all` for channel `c` of estimate `j` into `own` and `all`
    /// (museval's `_project`).
    fn project(&mut self, j: usize, c: usize) {
        let (channels, n_refs) = (self.channels, self.n_sources * self.channels);
        self.own.fill(Complex::new(0.0, 0.0));
        for rc in 0..channels {
            let filter = &self.to_own[(j * channels + rc) * channels + c];
            multiply_accumulate(&mut self.own, &self.ref_spectra[j * channels + rc], filter);
        }
        self.all.fill(Complex::new(0.0, 0.0));
        for r in 0..n_refs {
            let filter = &self.to_all[(j * n_refs + r) * channels + c];
            multiply_accumulate(&mut self.all, &self.ref_spectra[r], filter);
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

impl ProjectionEnergies {
    /// Adds one channel's energies from the spectra, with the Parseval `weights`.
    fn add(
        &mut self,
        weights: &[f64],
        reference: &[Complex<f64>],
        estimate: &[Complex<f64>],
        own: &[Complex<f64>],
        all: &[Complex<f64>],
    ) {
        let bins = weights.iter().zip(reference).zip(estimate).zip(own).zip(all);
        for ((((&w, &s), &e), &p_own), &p_all) in bins {
            self.spatial += w * (p_own - s).norm_sqr();
            self.own += w * p_own.norm_sqr();
            self.interference += w * (p_all - p_own).norm_sqr();
            self.all += w * p_all.norm_sqr();
            self.artifacts += w * (e - p_all).norm_sqr();
        }
    }
}

/// `acc += x * y`, bin by bin.
fn multiply_accumulate(acc: &mut [Complex<f64>], x: &[Complex<f64>], y: &[Complex<f64>]) {
    for ((a, x), y) in acc.iter_mut().zip(x).zip(y) {
        *a += x * y;
    }
}

/// `10 log10(num / den)`, +inf for a zero denominator (museval's `_safe_db`).
fn safe_db(num: f64, den: f64) -> f64 {
    if den == 0.0 { f64::INFINITY } else { 10.0 * (num / den).log10() }
}
