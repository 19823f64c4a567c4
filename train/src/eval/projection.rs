//! The least-squares distortion filters, fitted once over the whole track.

use super::error::EvalError;
use super::signals::SourceSet;
use super::toeplitz::BlockToeplitz;

/// Least-squares distortion filters, `taps[(tap * refs + ref_signal) * cols + col]`, mapping
/// reference signals onto the estimate channels `col`.
#[derive(Clone)]
pub(crate) struct Filters {
    refs: usize,
    cols: usize,
    taps: Vec<f64>,
}

impl Filters {
    pub(crate) fn len(&self) -> usize {
        self.taps.len() / (self.refs * self.cols)
    }

    /// Impulse response from reference signal `r` to column `col`.
    pub(crate) fn response(&self, r: usize, col: usize) -> Vec<f64> {
        (0..self.len()).map(|tap| self.taps[(tap * self.refs + r) * self.cols + col]).collect()
    }
}

/// Filters of every target: `to_all` projects each estimate on all references (museval's `C`,
/// columns = all estimate channels), `to_own[j]` projects estimate `j` on reference `j` alone
/// (museval's `Cj`, columns = estimate `j`'s channels). Mirrors `compute_GsfC` and
/// `compute_Cj` inside museval's `bss_eval` with `framewise_filters=False`.
///
/// `correlate(signals, pairs, max_lag)` computes the whole-track cross-correlations as
/// [`cross_correlations`](super::correlation::cross_correlations) does; `signals` are the
/// reference signals followed by the estimate channels.
pub(crate) fn whole_track_filters(
    refs: &SourceSet,
    ests: &SourceSet,
    filter_len: usize,
    correlate: impl FnOnce(&[&[f64]], &[(usize, usize)], usize) -> Result<Vec<Vec<f64>>, EvalError>,
) -> Result<(Filters, Vec<Filters>), EvalError> {
    let correlations = CorrelationTable::compute(refs, ests, filter_len, correlate)?;
    let all_refs: Vec<usize> = (0..refs.signals.len()).collect();
    let all_cols: Vec<usize> = (0..ests.signals.len()).collect();
    let to_all = projection_filters(&correlations, &all_refs, &all_cols, filter_len);
    let channels = refs.channels;
    let n_sources = refs.sources();
    let to_own = (0..n_sources)
        .map(|j| {
            if n_sources == 1 {
                // The very same system: reuse its solution so that P_all == P_j exactly and
                // SIR is +inf, as in museval.
                to_all.clone()
            } else {
                let own: Vec<usize> = (j * channels..(j + 1) * channels).collect();
                projection_filters(&correlations, &own, &own, filter_len)
            }
        })
        .collect();
    Ok((to_all, to_own))
}

/// Solves the normal equations `G c = D` of one projection, as museval's
/// `_compute_projection_filters`: `G` is the Gram matrix of the delayed reference signals
/// `ref_signals` (museval's `_compute_reference_correlations`), `D` their correlations with
/// the estimate channels `est_cols`.
fn projection_filters(
    correlations: &CorrelationTable,
    ref_signals: &[usize],
    est_cols: &[usize],
    filter_len: usize,
) -> Filters {
    let m = ref_signals.len();
    let r = est_cols.len();
    let mut gram = BlockToeplitz::from_fn(m, filter_len, |k, p, q| {
        // Block (a, b) at lag k = a - b, entry (p, q): sum_n ref_p[n - a] ref_q[n - b], which
        // is the correlation sum_n ref_p[n] ref_q[n + k].
        correlations.reference(ref_signals[p], ref_signals[q], k as isize)
    });
    // museval solves with G + eps * I (eps = machine epsilon).
    gram.add_to_diagonal(f64::EPSILON);
    let mut rhs = vec![0.0; filter_len * m * r];
    for tap in 0..filter_len {
        for (p, &signal) in ref_signals.iter().enumerate() {
            for (c, &col) in est_cols.iter().enumerate() {
                // sum_n ref_p[n - tap] est_c[n]
                rhs[(tap * m + p) * r + c] = correlations.with_estimate(signal, col, tap);
            }
        }
    }
    Filters { refs: m, cols: r, taps: gram.solve(&rhs, r) }
}

/// Correlations among the reference signals and between references and estimate channels, at
/// lags below the filter length.
struct CorrelationTable {
    n_refs: usize,
    max_lag: usize,
    /// Reference pairs `(p, q)` with `p <= q`, then every (reference, estimate channel) pair.
    values: Vec<Vec<f64>>,
}

impl CorrelationTable {
    fn compute(
        refs: &SourceSet,
        ests: &SourceSet,
        max_lag: usize,
        correlate: impl FnOnce(&[&[f64]], &[(usize, usize)], usize) -> Result<Vec<Vec<f64>>, EvalError>,
    ) -> Result<Self, EvalError> {
        let n_refs = refs.signals.len();
        let mut signals = refs.signals.clone();
        signals.extend_from_slice(&ests.signals);
        let mut pairs = Vec::new();
        for p in 0..n_refs {
            for q in p..n_refs {
                pairs.push((p, q));
            }
        }
        for p in 0..n_refs {
            for e in 0..ests.signals.len() {
                pairs.push((p, n_refs + e));
            }
        }
        let values = correlate(&signals, &pairs, max_lag)?;
        Ok(Self { n_refs, max_lag, values })
    }

    /// `sum_n ref_p[n] ref_q[n + k]`.
    fn reference(&self, p: usize, q: usize, k: isize) -> f64 {
        let (p, q, k) = if p <= q { (p, q, k) } else { (q, p, -k) };
        // Index of pair (p, q), p <= q, in row-major upper-triangle order.
        let index = p * self.n_refs - p * (p + 1) / 2 + q;
        self.values[index][(k + self.max_lag as isize - 1) as usize]
    }

    /// `sum_n ref_p[n] est_col[n + k]` for `k >= 0`.
    fn with_estimate(&self, p: usize, col: usize, k: usize) -> f64 {
        let triangle = self.n_refs * (self.n_refs + 1) / 2;
        let n_cols = (self.values.len() - triangle) / self.n_refs;
        self.values[triangle + p * n_cols + col][k + self.max_lag - 1]
    }
}
