//! Thin wrapper over `realfft` for the zero-padded transforms BSS Eval needs.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::error::EvalError;

/// Smallest even length `>= min_len` whose only prime factors are 2, 3 and 5.
///
/// Linear correlations and convolutions only need *some* transform length that avoids circular
/// wrap-around (museval rounds up to a power of two); 5-smooth lengths keep rustfft on its fast
/// mixed-radix paths while wasting far less padding than the next power of two.
pub(crate) fn fast_len(min_len: usize) -> usize {
    let target = min_len.max(2);
    let mut best = target.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            // Smallest 2^k * p35 (k >= 1) reaching the target.
            let mut len = p35 * 2;
            while len < target {
                len *= 2;
            }
            best = best.min(len);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// Forward and inverse real transforms of one length, with their buffers.
pub(crate) struct Fft {
    len: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    time: Vec<f64>,
    scratch_forward: Vec<Complex<f64>>,
    scratch_inverse: Vec<Complex<f64>>,
}

impl Fft {
    pub(crate) fn new(planner: &mut RealFftPlanner<f64>, len: usize) -> Self {
        let forward = planner.plan_fft_forward(len);
        let inverse = planner.plan_fft_inverse(len);
        let scratch_forward = forward.make_scratch_vec();
        let scratch_inverse = inverse.make_scratch_vec();
        Self { len, forward, inverse, time: vec![0.0; len], scratch_forward, scratch_inverse }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of complex bins of a spectrum (`len / 2 + 1`).
    pub(crate) fn bins(&self) -> usize {
        self.len / 2 + 1
    }

    /// Spectrum of `samples` zero-padded to the transform length, written into `out`.
    pub(crate) fn spectrum(&mut self, samples: &[f64], out: &mut [Complex<f64>]) -> Result<(), EvalError> {
        debug_assert!(samples.len() <= self.len);
        self.time[..samples.len()].copy_from_slice(samples);
        self.time[samples.len()..].fill(0.0);
        self.forward.process_with_scratch(&mut self.time, out, &mut self.scratch_forward)?;
        Ok(())
    }

    /// Unnormalised inverse transform (the result is `len` times the true signal).
    /// `spectrum` is used as scratch and left unspecified.
    pub(crate) fn inverse(&mut self, spectrum: &mut [Complex<f64>], out: &mut [f64]) -> Result<(), EvalError> {
        // A real signal's DC and Nyquist bins are real; products of such spectra can carry a
        // signed zero or rounding there, which realfft would reject.
        spectrum[0].im = 0.0;
        if self.len.is_multiple_of(2) {
            spectrum[self.len / 2].im = 0.0;
        }
        self.inverse.process_with_scratch(spectrum, out, &mut self.scratch_inverse)?;
        Ok(())
    }

    /// Weights turning a half spectrum into Parseval's sum: the bins that stand for a pair of
    /// conjugate frequencies count twice, DC (and Nyquist for even lengths) once, and the whole
    /// is divided by the length, so `sum(w * |X|^2)` is the time-domain energy.
    pub(crate) fn parseval_weights(&self) -> Vec<f64> {
        let scale = 1.0 / self.len as f64;
        (0..self.bins())
            .map(|k| {
                let unpaired = k == 0 || (self.len.is_multiple_of(2) && k == self.len / 2);
                if unpaired { scale } else { 2.0 * scale }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fast_len;

    fn is_smooth(mut n: usize) -> bool {
        for p in [2, 3, 5] {
            while n.is_multiple_of(p) {
                n /= p;
            }
        }
        n == 1
    }

    #[test]
    fn fast_len_is_the_smallest_even_smooth_length() {
        assert_eq!(fast_len(1), 2);
        assert_eq!(fast_len(16511), 17280);
        assert_eq!(fast_len(16384), 16384);
        for n in 1..3000 {
            let len = fast_len(n);
            assert!(len >= n && len.is_multiple_of(2) && is_smooth(len), "{n} -> {len}");
            assert!((n.max(2)..len).all(|m| !(m.is_multiple_of(2) && is_smooth(m))), "{n} -> {len}");
        }
    }
}
