//! The spectral and level transforms: gain, low-pass and EQ, as pure functions of a signal and
//! explicit parameters (the random drawing of those parameters lives in `example.rs`).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use crate::dsp::biquad::{self, Biquad, SHELF_Q};

/// Scales `signal` by `gain_db` decibels.
pub fn apply_gain_db(signal: &[f32], gain_db: f64) -> Vec<f32> {
    let mut out = signal.to_vec();
    apply_gain_db_in_place(&mut out, gain_db);
    out
}

pub fn apply_gain_db_in_place(signal: &mut [f32], gain_db: f64) {
    let g = 10f64.powf(gain_db / 20.0) as f32;
    signal.iter_mut().for_each(|x| *x *= g);
}

/// The Q of each second-order section of an `order`-th order Butterworth low-pass: the poles sit
/// on a circle at angles (2k+1)·pi/(2·order) from the negative real axis, and a pole pair at
/// angle theta is a section with Q = 1 / (2 cos theta). Cascading these (each prewarped to the
/// same cutoff by the cookbook's bilinear design) gives a maximally flat passband, which is what
/// lets the test demand < 1 dB loss an octave below the cutoff while attenuating 24 dB per
/// octave above it at order 4 (a single biquad only manages 12).
pub fn butterworth_qs(order: usize) -> Vec<f64> {
    let n = order.max(2) / 2 * 2;
    (0..n / 2).map(|k| 1.0 / (2.0 * ((2 * k + 1) as f64 * PI / (2 * n) as f64).cos())).collect()
}

/// The sections of an `order`-th order (rounded down to even, at least 2) Butterworth low-pass.
pub fn lowpass_sections(cutoff_hz: f64, order: usize, sample_rate: u32) -> Vec<Biquad> {
    butterworth_qs(order).into_iter().map(|q| biquad::lowpass_coeffs(cutoff_hz, q, sample_rate)).collect()
}

/// Butterworth low-pass of `order` (even) at `cutoff_hz`.
pub fn lowpass(signal: &[f32], cutoff_hz: f64, order: usize, sample_rate: u32) -> Vec<f32> {
    let mut out = signal.to_vec();
    for section in lowpass_sections(cutoff_hz, order, sample_rate) {
        biquad::filter_in_place(&mut out, &section);
    }
    out
}

/// The shape of one EQ band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EqKind {
    Peaking,
    LowShelf,
    HighShelf,
}

/// One EQ band. For shelves `freq_hz` is the corner (half the gain) and `q` is ignored: they use
/// the cookbook's slope S = 1, the steepest without an overshoot bump.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EqBand {
    pub kind: EqKind,
    pub freq_hz: f64,
    pub gain_db: f64,
    pub q: f64,
}

impl EqBand {
    pub fn coeffs(&self, sample_rate: u32) -> Biquad {
        match self.kind {
            EqKind::Peaking => biquad::peaking_coeffs(self.freq_hz, self.q, self.gain_db, sample_rate),
            EqKind::LowShelf => biquad::low_shelf_coeffs(self.freq_hz, SHELF_Q, self.gain_db, sample_rate),
            EqKind::HighShelf => biquad::high_shelf_coeffs(self.freq_hz, SHELF_Q, self.gain_db, sample_rate),
        }
    }
}

/// Applies the bands in order (they commute in exact arithmetic).
pub fn eq(signal: &[f32], bands: &[EqBand], sample_rate: u32) -> Vec<f32> {
    let mut out = signal.to_vec();
    for band in bands {
        biquad::filter_in_place(&mut out, &band.coeffs(sample_rate));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn butterworth_qs_match_the_known_values() {
        let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(close(&butterworth_qs(2), &[std::f64::consts::FRAC_1_SQRT_2]));
        assert!(close(&butterworth_qs(4), &[0.5412, 1.3066]));
        assert!(close(&butterworth_qs(6), &[0.5176, std::f64::consts::FRAC_1_SQRT_2, 1.9319]));
    }

    #[test]
    fn butterworth_cascade_is_minus_3db_at_its_cutoff() {
        let fs = 16_000;
        for order in [2, 4, 8] {
            let db: f64 = lowpass_sections(3000.0, order, fs).iter().map(|s| biquad::magnitude_db(s, 3000.0, fs)).sum();
            assert!((db + 3.0103).abs() < 1e-3, "order {order}: {db}");
        }
    }

    #[test]
    fn gain_scales_by_decibels() {
        let y = apply_gain_db(&[1.0, -0.5], 20.0);
        assert!((y[0] - 10.0).abs() < 1e-5 && (y[1] + 5.0).abs() < 1e-5);
        assert_eq!(apply_gain_db(&[0.25], 0.0), vec![0.25]);
    }
}
