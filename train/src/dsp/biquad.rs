//! Second-order IIR sections ("biquads") with the coefficient formulas of Robert
//! Bristow-Johnson's Audio EQ Cookbook, and a filter to run them.
//!
//! Written here rather than taken from a crate because each piece is a few lines of textbook
//! maths, and owning them keeps the numerics (f64 state, clamped frequencies) under our control.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// Normalised coefficients of `H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

/// The Q of a shelf with the cookbook's slope S = 1: the steepest slope that stays monotonic.
pub const SHELF_Q: f64 = FRAC_1_SQRT_2;

/// The cookbook's intermediate quantities for a design at `freq_hz` (clamped strictly inside
/// (0, Nyquist) so a careless caller gets a valid filter instead of NaN coefficients).
struct Design {
    cos_w0: f64,
    alpha: f64,
}

fn design(freq_hz: f64, q: f64, sample_rate: u32) -> Design {
    let fs = f64::from(sample_rate.max(1));
    let f = freq_hz.clamp(fs * 1e-6, fs * 0.4999);
    let w0 = 2.0 * PI * f / fs;
    Design { cos_w0: w0.cos(), alpha: w0.sin() / (2.0 * q.max(1e-3)) }
}

/// Divides through by `a0` so the filter loop needs no division.
fn normalised(b: [f64; 3], a: [f64; 3]) -> Biquad {
    let inv = 1.0 / a[0];
    Biquad { b0: b[0] * inv, b1: b[1] * inv, b2: b[2] * inv, a1: a[1] * inv, a2: a[2] * inv }
}

/// Low-pass: unity gain at DC, -3 dB at `cutoff_hz` when `q` = 1/sqrt(2).
pub fn lowpass_coeffs(cutoff_hz: f64, q: f64, sample_rate: u32) -> Biquad {
    let Design { cos_w0: c, alpha } = design(cutoff_hz, q, sample_rate);
    let b1 = 1.0 - c;
    normalised([b1 / 2.0, b1, b1 / 2.0], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
}

/// Band-pass with 0 dB gain at `centre_hz`; `q` sets the bandwidth.
pub fn bandpass_coeffs(centre_hz: f64, q: f64, sample_rate: u32) -> Biquad {
    let Design { cos_w0: c, alpha } = design(centre_hz, q, sample_rate);
    normalised([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
}

/// High-pass: unity gain at Nyquist, -3 dB at `cutoff_hz` when `q` = 1/sqrt(2).
pub fn highpass_coeffs(cutoff_hz: f64, q: f64, sample_rate: u32) -> Biquad {
    let Design { cos_w0: c, alpha } = design(cutoff_hz, q, sample_rate);
    let b1 = 1.0 + c;
    normalised([b1 / 2.0, -b1, b1 / 2.0], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
}

/// Peaking EQ: exactly `gain_db` at `centre_hz`, unity far from it; `q` sets the bandwidth.
pub fn peaking_coeffs(centre_hz: f64, q: f64, gain_db: f64, sample_rate: u32) -> Biquad {
    let Design { cos_w0: c, alpha } = design(centre_hz, q, sample_rate);
    let a = 10f64.powf(gain_db / 40.0);
    normalised([1.0 + alpha * a, -2.0 * c, 1.0 - alpha * a], [1.0 + alpha / a, -2.0 * c, 1.0 - alpha / a])
}

/// Low shelf: `gain_db` below `corner_hz`, unity above (half the gain in dB at the corner).
pub fn low_shelf_coeffs(corner_hz: f64, q: f64, gain_db: f64, sample_rate: u32) -> Biquad {
    let Design { cos_w0: c, alpha } = design(corner_hz, q, sample_rate);
    let a = 10f64.powf(gain_db / 40.0);
    let k = 2.0 * a.sqrt() * alpha;
    normalised(
        [
            a * ((a + 1.0) - (a - 1.0) * c + k),
            2.0 * a * ((a - 1.0) - (a + 1.0) * c),
            a * ((a + 1.0) - (a - 1.0) * c - k),
        ],
        [(a + 1.0) + (a - 1.0) * c + k, -2.0 * ((a - 1.0) + (a + 1.0) * c), (a + 1.0) + (a - 1.0) * c - k],
    )
}

/// High shelf: `gain_db` above `corner_hz`, unity below (half the gain in dB at the corner).
pub fn high_shelf_coeffs(corner_hz: f64, q: f64, gain_db: f64, sample_rate: u32) -> Biquad {
    let Design { cos_w0: c, alpha } = design(corner_hz, q, sample_rate);
    let a = 10f64.powf(gain_db / 40.0);
    let k = 2.0 * a.sqrt() * alpha;
    normalised(
        [
            a * ((a + 1.0) + (a - 1.0) * c + k),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
            a * ((a + 1.0) + (a - 1.0) * c - k),
        ],
        [(a + 1.0) - (a - 1.0) * c + k, 2.0 * ((a - 1.0) - (a + 1.0) * c), (a + 1.0) - (a - 1.0) * c - k],
    )
}

/// A section running over a signal, sample by sample. Transposed direct form II with f64
/// state: low-cutoff sections have poles near z = 1, where f32 state loses precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiquadFilter {
    section: Biquad,
    s1: f64,
    s2: f64,
}

impl BiquadFilter {
    /// The filter at rest.
    pub fn new(section: Biquad) -> Self {
        Self { section, s1: 0.0, s2: 0.0 }
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let Biquad { b0, b1, b2, a1, a2 } = self.section;
        let input = f64::from(x);
        let y = b0 * input + self.s1;
        self.s1 = b1 * input - a1 * y + self.s2;
        self.s2 = b2 * input - a2 * y;
        y as f32
    }
}

/// Runs `section` over `signal` in place, starting from rest.
pub fn filter_in_place(signal: &mut [f32], section: &Biquad) {
    let mut filter = BiquadFilter::new(*section);
    for x in signal.iter_mut() {
        *x = filter.process(*x);
    }
}

/// [`filter_in_place`] on a copy.
pub fn filter(signal: &[f32], section: &Biquad) -> Vec<f32> {
    let mut out = signal.to_vec();
    filter_in_place(&mut out, section);
    out
}

/// The section's gain in dB at `freq_hz` (|H(e^jw)|), for tests and for reasoning about designs.
pub fn magnitude_db(section: &Biquad, freq_hz: f64, sample_rate: u32) -> f64 {
    let w = 2.0 * PI * freq_hz / f64::from(sample_rate.max(1));
    // Evaluate numerator and denominator polynomials in z^-1 = e^{-jw}.
    let eval = |c0: f64, c1: f64, c2: f64| {
        let re = c0 + c1 * w.cos() + c2 * (2.0 * w).cos();
        let im = -c1 * w.sin() - c2 * (2.0 * w).sin();
        re.hypot(im)
    };
    let Biquad { b0, b1, b2, a1, a2 } = *section;
    20.0 * (eval(b0, b1, b2) / eval(1.0, a1, a2)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: u32 = 16_000;

    #[test]
    fn lowpass_is_unity_at_dc_and_minus_3db_at_cutoff() {
        let lp = lowpass_coeffs(2000.0, FRAC_1_SQRT_2, FS);
        assert!(magnitude_db(&lp, 0.0, FS).abs() < 1e-9);
        assert!((magnitude_db(&lp, 2000.0, FS) + 3.0103).abs() < 1e-3);
    }

    #[test]
    fn bandpass_peaks_at_0db_and_highpass_passes_the_top() {
        let bp = bandpass_coeffs(1000.0, 2.0, FS);
        assert!(magnitude_db(&bp, 1000.0, FS).abs() < 1e-9);
        assert!(magnitude_db(&bp, 100.0, FS) < -15.0 && magnitude_db(&bp, 6000.0, FS) < -15.0);
        let hp = highpass_coeffs(200.0, FRAC_1_SQRT_2, FS);
        assert!(magnitude_db(&hp, 7999.0, FS).abs() < 1e-3);
        assert!((magnitude_db(&hp, 200.0, FS) + 3.0103).abs() < 1e-3);
        assert!(magnitude_db(&hp, 20.0, FS) < -35.0);
    }

    #[test]
    fn peaking_hits_its_gain_at_the_centre() {
        for gain in [-6.0, 3.0, 6.0] {
            let pk = peaking_coeffs(1000.0, 1.0, gain, FS);
            assert!((magnitude_db(&pk, 1000.0, FS) - gain).abs() < 1e-9);
            assert!(magnitude_db(&pk, 0.0, FS).abs() < 1e-9);
        }
    }

    #[test]
    fn shelves_reach_their_gain_on_their_side() {
        let low = low_shelf_coeffs(500.0, SHELF_Q, 6.0, FS);
        assert!((magnitude_db(&low, 0.0, FS) - 6.0).abs() < 1e-9);
        assert!(magnitude_db(&low, 7900.0, FS).abs() < 0.05);
        assert!((magnitude_db(&low, 500.0, FS) - 3.0).abs() < 1e-6);
        let high = high_shelf_coeffs(3000.0, SHELF_Q, -6.0, FS);
        assert!((magnitude_db(&high, 8000.0, FS) + 6.0).abs() < 1e-9);
        assert!(magnitude_db(&high, 0.0, FS).abs() < 1e-9);
    }

    #[test]
    fn filter_matches_the_response_on_a_tone() {
        let pk = peaking_coeffs(1000.0, 2.0, 6.0, FS);
        let x: Vec<f32> = (0..FS).map(|i| (2.0 * PI * 1000.0 * f64::from(i) / f64::from(FS)).sin() as f32).collect();
        let y = filter(&x, &pk);
        // Skip the start-up transient.
        let rms = |s: &[f32]| (s.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
        let db = 20.0 * (rms(&y[4000..]) / rms(&x[4000..])).log10();
        assert!((db - 6.0).abs() < 0.05, "{db}");
    }

    #[test]
    fn out_of_range_frequencies_still_give_finite_coefficients() {
        for f in [0.0, -5.0, 8000.0, 1e9] {
            let c = lowpass_coeffs(f, FRAC_1_SQRT_2, FS);
            assert!([c.b0, c.b1, c.b2, c.a1, c.a2].iter().all(|v| v.is_finite()), "{f}: {c:?}");
        }
    }
}
