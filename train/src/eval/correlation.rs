//! Short-lag cross-correlations of long signals, computed block by block with FFTs.
//!
//! museval takes one transform of the whole track per signal (a power of two above the track
//! length) to get the correlations at lags below the filter length. Only `2 * max_lag - 1` lags
//! are needed, so here each signal is cut into blocks that are transformed separately: the
//! products of spectra are summed over blocks, and the few products that straddle a block
//! boundary are added from small transforms of the samples next to each boundary. The result is
//! the same linear correlation with far less memory traffic.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

use super::error::EvalError;
use super::fft::{Fft, fast_len};
use multiversion::multiversion;

/// Transform length used for the blocks of long signals: large enough that the boundary terms
/// are a small share of the work, small enough to stay in cache.
const BLOCK_FFT_LEN: usize = 8192;

/// Cross-correlations `r[k] = sum_n x[n] * y[n + k]` of the requested `(x, y)` pairs of
/// `signals` (all of the same length) for lags `k` in `-(max_lag - 1)..=(max_lag - 1)`, as if
/// the signals were zero outside their range. Result `i` belongs to `pairs[i]` and holds lag
/// `k` at index `k + max_lag - 1`.
///
/// This is the quantity museval's `_compute_reference_correlations` and
/// `_compute_projection_filters` read off their whole-track FFT products.
pub(crate) fn cross_correlations(
    signals: &[&[f64]],
    pairs: &[(usize, usize)],
    max_lag: usize,
) -> Result<Vec<Vec<f64>>, EvalError> {
    let n = signals.first().map_or(0, |s| s.len());
    let edge = max_lag.saturating_sub(1);
    let mut planner = RealFftPlanner::<f64>::new();
    let mut fft = Fft::new(&mut planner, block_fft_len(n, max_lag));
    let block = fft.len() - edge;
    cross_correlations_in_blocks(signals, pairs, max_lag, &mut planner, &mut fft, block, None)
}

/// Transform length for [`cross_correlations`] on signals of `n` samples: the whole signal in
/// one transform when that is short, else blocks of about `BLOCK_FFT_LEN`.
pub(crate) fn block_fft_len(n: usize, max_lag: usize) -> usize {
    let edge = max_lag.saturating_sub(1); // samples a lag can reach past a block boundary
    let long_len = fast_len(BLOCK_FFT_LEN.max(4 * max_lag));
    if n + edge <= long_len { fast_len(n + edge) } else { long_len }
}

/// [`cross_correlations`] with the signals cut into blocks of `block` samples, each
/// transformed by `fft` (whose length must be at least `block + max_lag - 1`, so that lags up to
/// `max_lag - 1` either way never wrap around within a block).
///
/// With `keep`, the spectra of every block are left there for the caller: the spectrum of
/// signal `i` in block `b` is `keep[(b * signals.len() + i) * fft.bins()..][..fft.bins()]`.
pub(crate) fn cross_correlations_in_blocks(
    signals: &[&[f64]],
    pairs: &[(usize, usize)],
    max_lag: usize,
    planner: &mut RealFftPlanner<f64>,
    fft: &mut Fft,
    block: usize,
    keep: Option<&mut Vec<Complex<f64>>>,
) -> Result<Vec<Vec<f64>>, EvalError> {
    let n = signals.first().map_or(0, |s| s.len());
    let edge = max_lag.saturating_sub(1); // samples a lag can reach past a block boundary
    assert!(block > 0 && fft.len() >= block + edge, "blocks must not wrap around");
    let n_blocks = n.div_ceil(block);

    let bins = fft.bins();
    let zero = Complex::new(0.0, 0.0);
    let keeping = keep.is_some();
    let mut own_spectra = Vec::new();
    let spectra: &mut Vec<Complex<f64>> = match keep {
        Some(spectra) => spectra,
        None => &mut own_spectra,
    };
    let per_block = signals.len() * bins;
    let size = if keeping { n_blocks * per_block } else { per_block };
    // Every value is overwritten below: of a reused buffer only a missing tail is zeroed.
    spectra.truncate(size);
    spectra.reserve(size - spectra.len());
    crate::huge_pages::advise_spare_capacity(spectra);
    spectra.resize(size, zero);
    let mut main_acc = vec![vec![zero; bins]; pairs.len()];

    // Boundary terms: for each boundary, the `edge` samples before it ("tail") and after it
    // ("head"). Lags up to `edge` pair them at relative lags within +-edge, so a transform of
    // `2 * edge` points holds them without wrap-around.
    let mut edge_fft = Fft::new(planner, fast_len(2 * edge.max(1)));
    let edge_bins = edge_fft.bins();
    let mut heads = vec![vec![zero; edge_bins]; signals.len()];
    let mut tails = vec![vec![zero; edge_bins]; signals.len()];
    // tail(x) before head(y): lags k > 0; head(x) after tail(y): lags k < 0.
    let mut forward_acc = vec![vec![zero; edge_bins]; pairs.len()];
    let mut backward_acc = vec![vec![zero; edge_bins]; pairs.len()];

    for b in 0..n_blocks {
        let start = b * block;
        let offset = if keeping { b * per_block } else { 0 };
        let block_spectra = &mut spectra[offset..offset + per_block];
        for (signal, spectrum) in signals.iter().zip(block_spectra.chunks_exact_mut(bins)) {
            fft.spectrum(clipped(signal, start, block), spectrum)?;
        }
        accumulate_pairs(&mut main_acc, block_spectra, bins, pairs);

        let boundary = start + block;
        if edge == 0 || b + 1 == n_blocks {
            continue;
        }
        for (i, signal) in signals.iter().enumerate() {
            edge_fft.spectrum(clipped(signal, boundary - edge, edge), &mut tails[i])?;
            edge_fft.spectrum(clipped(signal, boundary, edge), &mut heads[i])?;
        }
        for (p, &(x, y)) in pairs.iter().enumerate() {
            multiply_accumulate_conj(&mut forward_acc[p], &tails[x], &heads[y]);
            multiply_accumulate_conj(&mut backward_acc[p], &heads[x], &tails[y]);
        }
    }

    let mut main_time = vec![0.0; fft.len()];
    let mut forward_time = vec![0.0; edge_fft.len()];
    let mut backward_time = vec![0.0; edge_fft.len()];
    let mut out = Vec::with_capacity(pairs.len());
    for p in 0..pairs.len() {
        fft.inverse(&mut main_acc[p], &mut main_time)?;
        edge_fft.inverse(&mut forward_acc[p], &mut forward_time)?;
        edge_fft.inverse(&mut backward_acc[p], &mut backward_time)?;
        let (main_len, edge_len) = (fft.len(), edge_fft.len());
        let lags = (0..2 * edge + 1).map(|i| {
            let k = i as isize - edge as isize;
            let mut value = main_time[wrap(k, main_len)] / main_len as f64;
            if k > 0 {
                // x in the tail before a boundary, y in the head after it: relative lag k - edge.
                value += forward_time[wrap(k - edge as isize, edge_len)] / edge_len as f64;
            } else if k < 0 {
                // x in the head after a boundary, y in the tail before it: relative lag k + edge.
                value += backward_time[wrap(k + edge as isize, edge_len)] / edge_len as f64;
            }
            value
        });
        out.push(lags.collect());
    }
    Ok(out)
}

/// `signal[start..start + len]`, cut short at the end of the signal (the transform zero-pads).
fn clipped(signal: &[f64], start: usize, len: usize) -> &[f64] {
    let end = (start + len).min(signal.len());
    &signal[start.min(end)..end]
}

/// `acc[p] += conj(X) * Y` for every pair `p = (x, y)`, where signal `i`'s spectrum is
/// `spectra[i * bins..][..bins]`: a stretch of bins at a time, so that the spectra are read from
/// the L1 cache whatever the number of pairs.
fn accumulate_pairs(acc: &mut [Vec<Complex<f64>>], spectra: &[Complex<f64>], bins: usize, pairs: &[(usize, usize)]) {
    const CHUNK: usize = 128;
    for start in (0..bins).step_by(CHUNK) {
        let end = (start + CHUNK).min(bins);
        let spectrum = |i: usize| &spectra[i * bins + start..i * bins + end];
        for (acc, &(x, y)) in acc.iter_mut().zip(pairs) {
            multiply_accumulate_conj(&mut acc[start..end], spectrum(x), spectrum(y));
        }
    }
}

/// `acc += conj(x) * y`, the spectrum of the correlation `sum_n x[n] y[n + k]`.
#[multiversion(targets("x86_64+avx2"))]
fn multiply_accumulate_conj(acc: &mut [Complex<f64>], x: &[Complex<f64>], y: &[Complex<f64>]) {
    for ((a, x), y) in acc.iter_mut().zip(x).zip(y) {
        *a += x.conj() * y;
    }
}

/// Index of lag `k` in a circular buffer of `len` samples.
fn wrap(k: isize, len: usize) -> usize {
    k.rem_euclid(len as isize) as usize
}

#[cfg(test)]
mod tests {
    use super::cross_correlations;
    use crate::eval::tests::noise;

    fn direct(x: &[f64], y: &[f64], k: isize) -> f64 {
        (0..x.len())
            .filter_map(|n| {
                let m = n as isize + k;
                (m >= 0 && (m as usize) < y.len()).then(|| x[n] * y[m as usize])
            })
            .sum()
    }

    #[test]
    fn matches_direct_sums_across_many_blocks() {
        // 40_000 samples with 64 lags use several 8192-point blocks and their boundaries.
        for (len, max_lag) in [(40_000, 64), (9000, 512), (100, 30), (5, 8), (3000, 1)] {
            let a = noise(len, 1);
            let b = noise(len, 2);
            let signals = [a.as_slice(), b.as_slice()];
            let pairs = [(0, 0), (0, 1), (1, 0)];
            let got = cross_correlations(&signals, &pairs, max_lag).unwrap();
            let edge = max_lag as isize - 1;
            for (p, &(x, y)) in pairs.iter().enumerate() {
                for k in -edge..=edge {
                    let want = direct(signals[x], signals[y], k);
                    let have = got[p][(k + edge) as usize];
                    assert!((want - have).abs() < 1e-9 * len as f64, "{len} {max_lag} {k}");
                }
            }
        }
    }
}
