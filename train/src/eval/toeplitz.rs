//! Solving the normal equations of BSS Eval's distortion filters.
//!
//! The Gram matrix of delayed references is block Toeplitz: ordered by (delay, signal), block
//! `(a, b)` is the matrix of correlations at lag `a - b`. museval hands it to a dense LU solve
//! (`np.linalg.solve`), cubic in `sources * channels * filter_len`. Here the block Levinson
//! recursion solves it in quadratic time; because Levinson is not backward stable on badly
//! conditioned matrices, its answer is polished by iterative refinement against the exact
//! matrix, and if that does not reach a backward-stable residual the dense LU solve that museval
//! uses is done instead.

use nalgebra::DMatrix;

use super::kernels::{axpy, dot};

/// Largest accepted normwise backward error `|T x - y| / (|T| |x| + |y|)` (infinity norms).
/// Dense LU reaches about `dimension * eps` (~1e-13 for 1024 unknowns); refinement usually gets
/// far below that.
const BACKWARD_ERROR_TOLERANCE: f64 = 1e-12;

/// Refinement steps before giving up on the fast path.
const MAX_REFINEMENT_STEPS: usize = 6;

/// Symmetric block-Toeplitz matrix with `n_blocks` x `n_blocks` blocks of size `m` x `m`.
/// Block `(a, b)` is `lag(a - b)`, with `lag(-k) = lag(k)^T`.
pub(crate) struct BlockToeplitz {
    m: usize,
    n_blocks: usize,
    /// `lags[(k * m + p) * m + q]` is entry `(p, q)` of `lag(k)`, for `k` in `0..n_blocks`.
    lags: Vec<f64>,
    /// Row `p` of the blocks at lags `n_blocks - 1` down to 0:
    /// `behind[p][(n_blocks - 1 - k) * m + q] = lag(k)[p][q]`. A block row's part left of the
    /// diagonal, and the rows the Levinson recursion needs, are then contiguous slices.
    behind: Vec<Vec<f64>>,
    /// Row `p` of the blocks at lags 0, -1, -2, ...: `ahead[p][k * m + q] = lag(-k)[p][q]`.
    ahead: Vec<Vec<f64>>,
}

impl BlockToeplitz {
    /// `lag(k, p, q)` gives entry `(p, q)` of the block at lag `k >= 0`.
    pub(crate) fn from_fn(m: usize, n_blocks: usize, lag: impl Fn(usize, usize, usize) -> f64) -> Self {
        let mut lags = vec![0.0; n_blocks * m * m];
        for k in 0..n_blocks {
            for p in 0..m {
                for q in 0..m {
                    lags[(k * m + p) * m + q] = lag(k, p, q);
                }
            }
        }
        let mut behind = vec![vec![0.0; n_blocks * m]; m];
        let mut ahead = vec![vec![0.0; n_blocks * m]; m];
        for k in 0..n_blocks {
            for p in 0..m {
                for q in 0..m {
                    behind[p][(n_blocks - 1 - k) * m + q] = lags[(k * m + p) * m + q];
                    ahead[p][k * m + q] = lags[(k * m + q) * m + p];
                }
            }
        }
        Self { m, n_blocks, lags, behind, ahead }
    }

    /// Order of the matrix.
    pub(crate) fn dim(&self) -> usize {
        self.m * self.n_blocks
    }

    /// Adds `value` to the main diagonal (museval's `G + eps * I`).
    pub(crate) fn add_to_diagonal(&mut self, value: f64) {
        let (m, n) = (self.m, self.n_blocks);
        for p in 0..m {
            self.lags[p * m + p] += value;
            self.behind[p][(n - 1) * m + p] += value;
            self.ahead[p][p] += value;
        }
    }

    /// Entry `(p, q)` of the block at signed lag `k` (block row minus block column).
    fn entry(&self, k: isize, p: usize, q: usize) -> f64 {
        let m = self.m;
        if k >= 0 { self.lags[(k as usize * m + p) * m + q] } else { self.lags[((-k) as usize * m + q) * m + p] }
    }

    /// `T x` for `x` with `r` columns, row-major with rows ordered (block, signal).
    pub(crate) fn mul(&self, x: &[f64], r: usize) -> Vec<f64> {
        let (m, n) = (self.m, self.n_blocks);
        let dim = m * n;
        let columns = transpose(x, dim, r);
        let mut out = vec![0.0; dim * r];
        for a in 0..n {
            for p in 0..m {
                // Blocks b <= a (lags a..0), then b > a (lags -1..-(n-1-a)).
                let left = &self.behind[p][(n - 1 - a) * m..];
                let right = &self.ahead[p][m..(n - a) * m];
                for (c, column) in columns.chunks_exact(dim).enumerate() {
                    let (before, after) = column.split_at((a + 1) * m);
                    out[(a * m + p) * r + c] = dot(left, before) + dot(right, after);
                }
            }
        }
        out
    }

    /// Infinity norm (largest absolute row sum).
    fn norm_inf(&self) -> f64 {
        let (m, n) = (self.m, self.n_blocks);
        let mut best = 0.0f64;
        for p in 0..m {
            // Absolute sums of row p of each block, at lags 0, 1, .. and 0, -1, ..
            let block_sums = |row: &[f64]| -> Vec<f64> {
                row.chunks_exact(m).map(|block| block.iter().map(|v| v.abs()).sum()).collect()
            };
            let mut at_lag = block_sums(&self.behind[p]);
            at_lag.reverse();
            let at_negative_lag = block_sums(&self.ahead[p]);
            // Block row a holds lags a down to 0 and -1 down to -(n - 1 - a).
            let mut left: f64 = 0.0;
            let mut right: f64 = at_negative_lag[1..].iter().sum();
            for a in 0..n {
                left += at_lag[a];
                if a > 0 {
                    right -= at_negative_lag[n - a];
                }
                best = best.max(left + right);
            }
        }
        best
    }

    fn to_dense(&self) -> DMatrix<f64> {
        let (m, n) = (self.m, self.n_blocks);
        DMatrix::from_fn(m * n, m * n, |i, j| {
            self.entry(i as isize / m as isize - j as isize / m as isize, i % m, j % m)
        })
    }

    /// Solves `T x = rhs` for `rhs` with `r` columns (row-major, rows ordered (block, signal)).
    ///
    /// Mirrors the `np.linalg.solve(G + eps * I, D)` of museval's `_compute_projection_filters`
    /// (the `eps` is added by the caller), including its fall-back to least squares
    /// (`np.linalg.lstsq`) when the matrix is exactly singular.
    pub(crate) fn solve(&self, rhs: &[f64], r: usize) -> Vec<f64> {
        self.solve_fast(rhs, r).unwrap_or_else(|| self.solve_dense(rhs, r))
    }

    /// Levinson plus iterative refinement; `None` when the result is not backward stable.
    fn solve_fast(&self, rhs: &[f64], r: usize) -> Option<Vec<f64>> {
        let mut x = self.levinson(rhs, r)?;
        let norm_t = self.norm_inf();
        let norm_rhs = max_abs(rhs);
        for step in 0..=MAX_REFINEMENT_STEPS {
            let tx = self.mul(&x, r);
            let residual: Vec<f64> = rhs.iter().zip(&tx).map(|(y, t)| y - t).collect();
            let backward_error = max_abs(&residual) / (norm_t * max_abs(&x) + norm_rhs);
            if !backward_error.is_finite() {
                return None;
            }
            if backward_error <= BACKWARD_ERROR_TOLERANCE {
                return Some(x);
            }
            if step == MAX_REFINEMENT_STEPS {
                break;
            }
            let correction = self.levinson(&residual, r)?;
            x.iter_mut().zip(&correction).for_each(|(x, c)| *x += c);
        }
        None
    }

    /// Dense LU with partial pivoting, as LAPACK's `gesv` behind `np.linalg.solve`; singular
    /// matrices get the minimum-norm least-squares answer, as `np.linalg.lstsq`.
    fn solve_dense(&self, rhs: &[f64], r: usize) -> Vec<f64> {
        let dim = self.dim();
        let matrix = self.to_dense();
        let b = DMatrix::from_row_slice(dim, r, rhs);
        let solution = match matrix.clone().lu().solve(&b) {
            Some(x) if x.iter().all(|v| v.is_finite()) => x,
            _ => {
                let svd = matrix.svd(true, true);
                // numpy's default rcond: eps * max(M, N) relative to the largest singular value.
                let largest = svd.singular_values.max();
                let cutoff = f64::EPSILON * dim as f64 * largest;
                svd.solve(&b, cutoff).unwrap_or_else(|_| DMatrix::zeros(dim, r))
            }
        };
        // Back to row-major.
        let mut out = vec![0.0; dim * r];
        for i in 0..dim {
            for c in 0..r {
                out[i * r + c] = solution[(i, c)];
            }
        }
        out
    }

    /// Block Levinson recursion (Whittle / Wiggins-Robinson form) for a general right-hand side.
    ///
    /// Keeps the forward and backward solutions `f`, `b` of `T_k f = [I; 0; ..]` and
    /// `T_k b = [..; 0; I]` for the leading `k + 1` blocks, and the solution `x` of the leading
    /// part of the system, growing all three by one block per step. All three are stored by
    /// columns (each `dim` long), so every update is a dot product or an axpy over a long
    /// contiguous slice. `None` if a pivot block is singular (the matrix is not positive
    /// definite in floating point).
    fn levinson(&self, rhs: &[f64], r: usize) -> Option<Vec<f64>> {
        let (m, n) = (self.m, self.n_blocks);
        let (mm, dim) = (m * m, m * n);
        let identity: Vec<f64> = (0..mm).map(|i| if i % (m + 1) == 0 { 1.0 } else { 0.0 }).collect();

        // f = b = T(0)^-1 and x = T(0)^-1 y_0 in the first block.
        let t0_inv = invert(&self.lags[..mm], m)?;
        let mut f = vec![0.0; m * dim];
        for p in 0..m {
            for q in 0..m {
                f[q * dim + p] = t0_inv[p * m + q];
            }
        }
        let mut b = f.clone();
        let (mut f_next, mut b_next) = (f.clone(), f.clone());
        let mut x = vec![0.0; r * dim];
        for c in 0..r {
            for p in 0..m {
                x[c * dim + p] = (0..m).map(|q| t0_inv[p * m + q] * rhs[q * r + c]).sum();
            }
        }

        let mut eps_f = vec![0.0; mm];
        let mut eps_b = vec![0.0; mm];
        let mut gap = vec![0.0; m * r];
        for k in 0..n - 1 {
            let rows = (k + 1) * m;
            // Mismatches of the zero-extended vectors in the new last / first block row:
            // eps_f = sum_j lag(k + 1 - j) f_j, eps_b = sum_j lag(-(j + 1)) b_j, and the
            // solution's gap = y_{k+1} - sum_j lag(k + 1 - j) x_j.
            for p in 0..m {
                let last_row = &self.behind[p][(n - 2 - k) * m..(n - 1) * m];
                let first_row = &self.ahead[p][m..(k + 2) * m];
                for q in 0..m {
                    eps_f[p * m + q] = dot(last_row, &f[q * dim..q * dim + rows]);
                    eps_b[p * m + q] = dot(first_row, &b[q * dim..q * dim + rows]);
                }
                for c in 0..r {
                    gap[p * r + c] = rhs[((k + 1) * m + p) * r + c] - dot(last_row, &x[c * dim..c * dim + rows]);
                }
            }
            // alpha = (I - eps_b eps_f)^-1, beta = -eps_f alpha,
            // delta = (I - eps_f eps_b)^-1, gamma = -eps_b delta.
            let mut tmp = identity.clone();
            gemm_acc(&mut tmp, &eps_b, &eps_f, m, m, m, -1.0);
            let alpha = invert(&tmp, m)?;
            let mut tmp = identity.clone();
            gemm_acc(&mut tmp, &eps_f, &eps_b, m, m, m, -1.0);
            let delta = invert(&tmp, m)?;
            let mut beta = vec![0.0; mm];
            gemm_acc(&mut beta, &eps_f, &alpha, m, m, m, -1.0);
            let mut gamma = vec![0.0; mm];
            gemm_acc(&mut gamma, &eps_b, &delta, m, m, m, -1.0);

            // f' = [f; 0] alpha + [0; b] beta,  b' = [f; 0] gamma + [0; b] delta.
            for q in 0..m {
                let f_col = &mut f_next[q * dim..q * dim + rows + m];
                let b_col = &mut b_next[q * dim..q * dim + rows + m];
                f_col.fill(0.0);
                b_col.fill(0.0);
                for l in 0..m {
                    let (f_l, b_l) = (&f[l * dim..l * dim + rows], &b[l * dim..l * dim + rows]);
                    axpy(alpha[l * m + q], f_l, &mut f_col[..rows]);
                    axpy(beta[l * m + q], b_l, &mut f_col[m..]);
                    axpy(gamma[l * m + q], f_l, &mut b_col[..rows]);
                    axpy(delta[l * m + q], b_l, &mut b_col[m..]);
                }
            }
            std::mem::swap(&mut f, &mut f_next);
            std::mem::swap(&mut b, &mut b_next);

            // x' = [x; 0] + b' gap.
            for c in 0..r {
                for l in 0..m {
                    let x_col = &mut x[c * dim..c * dim + rows + m];
                    axpy(gap[l * r + c], &b[l * dim..l * dim + rows + m], x_col);
                }
            }
        }
        let x = transpose(&x, r, dim);
        x.iter().all(|v| v.is_finite()).then_some(x)
    }
}

/// Row-major `rows` x `cols` matrix to row-major `cols` x `rows`.
fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0; a.len()];
    for i in 0..rows {
        for j in 0..cols {
            out[j * rows + i] = a[i * cols + j];
        }
    }
    out
}

/// `out += scale * a * b` for row-major `a` (rows x inner) and `b` (inner x cols).
fn gemm_acc(out: &mut [f64], a: &[f64], b: &[f64], rows: usize, inner: usize, cols: usize, scale: f64) {
    for i in 0..rows {
        for l in 0..inner {
            let a_il = scale * a[i * inner + l];
            let b_row = &b[l * cols..(l + 1) * cols];
            for (o, &b_lj) in out[i * cols..(i + 1) * cols].iter_mut().zip(b_row) {
                *o += a_il * b_lj;
            }
        }
    }
}

/// Inverse of a small row-major matrix, `None` if singular.
fn invert(a: &[f64], m: usize) -> Option<Vec<f64>> {
    if m == 1 {
        return (a[0] != 0.0).then(|| vec![1.0 / a[0]]);
    }
    let inverse = DMatrix::from_row_slice(m, m, a).try_inverse()?;
    let mut out = vec![0.0; m * m];
    for p in 0..m {
        for q in 0..m {
            out[p * m + q] = inverse[(p, q)];
        }
    }
    Some(out)
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0f64, |acc, v| acc.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_matrix(m: usize, n: usize) -> BlockToeplitz {
        // Autocorrelation-like decaying lags keep the matrix positive definite.
        BlockToeplitz::from_fn(m, n, |k, p, q| {
            let base = 0.7f64.powi(k as i32) * (1.0 + 0.1 * p as f64);
            if p == q { base * (2.0 + k as f64 * 0.01) } else { 0.3 * base * (q as f64 - p as f64 + 0.5) }
        })
    }

    #[test]
    fn levinson_matches_dense_lu() {
        for (m, n, r) in [(1, 40, 1), (2, 30, 2), (3, 12, 1)] {
            let t = test_matrix(m, n);
            let rhs: Vec<f64> = (0..m * n * r).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let fast = t.solve_fast(&rhs, r).expect("well conditioned");
            let dense = t.solve_dense(&rhs, r);
            for (a, b) in fast.iter().zip(&dense) {
                assert!((a - b).abs() < 1e-10 * (1.0 + b.abs()), "{m} {n}: {a} vs {b}");
            }
            let back = t.mul(&fast, r);
            for (a, b) in back.iter().zip(&rhs) {
                assert!((a - b).abs() < 1e-10);
            }
            let dense = t.to_dense();
            let dense_norm = dense.row_iter().map(|row| row.iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max);
            assert!((t.norm_inf() - dense_norm).abs() < 1e-12 * dense_norm);
        }
    }

    #[test]
    fn singular_matrix_falls_back_to_least_squares() {
        // Two identical signals: every block is rank one, so T is singular.
        let t = BlockToeplitz::from_fn(2, 4, |k, _, _| 0.5f64.powi(k as i32));
        let rhs = vec![1.0; 8];
        let x = t.solve(&rhs, 1);
        assert!(x.iter().all(|v| v.is_finite()));
    }
}
