//! The one matrix product the streaming network ([`super::stream`]) runs, for one frame at a
//! time, written by hand.
//!
//! Why not `gemm` (which the batch path uses): every gemm call allocates (its packing buffers
//! and bookkeeping), and the streaming network runs on a plugin's audio thread, where nothing may
//! allocate. The products of one frame are small (a frame's bins times a few dozen channels).
//! Why tiles of fixed size: a loop over a run-time number of output channels is vectorised only
//! in whole vectors, so 12 channels (the default's first level) fell to the scalar remainder of a
//! 16-float AVX-512 loop, and each output row was one chain of dependent additions through
//! memory. Here the output is cut into tiles of 4 rows by 32, 16, 8, 4 or 1 columns whose sizes
//! the compiler knows: each tile's sums stay in registers over the whole inner dimension, the 4
//! rows are independent chains that share each weight load, and every width is whole vectors.
//! Each output is still summed in the same order (over `j`, from 0 or from `dst`), so the result
//! is the same to the bit as a plain loop's. The crate is built for baseline x86-64, so this is
//! compiled a second time with AVX2 and AVX-512 and the widest copy the CPU has is picked at run
//! time (multiversion; no allocation either).

use multiversion::multiversion;

/// Rows of one tile: independent chains of additions sharing each weight load.
const TILE_ROWS: usize = 4;

/// `dst[r][..n] = (accumulate ? dst[r][..n] : 0) + sum_j lhs[r][j] * rhs[j][..n]` for
/// `r < rows`: row r of `dst` starts at `r * dst_stride`, row r of `lhs` (`k` values) at
/// `r * lhs_stride` (rows may overlap: a convolution's windows), `rhs` is `[k][n]` row-major.
#[allow(clippy::too_many_arguments)] // a matrix product's shape and strides, nothing to group
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn rows_times(
    dst: &mut [f32],
    dst_stride: usize,
    lhs: &[f32],
    lhs_stride: usize,
    rows: usize,
    k: usize,
    rhs: &[f32],
    n: usize,
    accumulate: bool,
) {
    assert_eq!(rhs.len(), k * n, "rhs is not [k][n]");
    if rows == 0 {
        return;
    }
    assert!((rows - 1) * dst_stride + n <= dst.len(), "dst is too short");
    assert!((rows - 1) * lhs_stride + k <= lhs.len(), "lhs is too short");
    let product = Product { dst_stride, lhs, lhs_stride, k, rhs, n, accumulate };
    let mut r = 0;
    while r + TILE_ROWS <= rows {
        product.rows::<TILE_ROWS>(dst, r);
        r += TILE_ROWS;
    }
    while r < rows {
        product.rows::<1>(dst, r);
        r += 1;
    }
}

/// The operands of one [`rows_times`], shared by its tiles.
struct Product<'a> {
    dst_stride: usize,
    lhs: &'a [f32],
    lhs_stride: usize,
    k: usize,
    rhs: &'a [f32],
    n: usize,
    accumulate: bool,
}

impl Product<'_> {
    /// Rows `first .. first + R` of the output, tile by tile across the columns: as many
    /// 32-wide tiles as fit, then at most one of 16, 8 and 4, then single columns.
    #[inline(always)]
    fn rows<const R: usize>(&self, dst: &mut [f32], first: usize) {
        let c = self.tiles::<R, 32>(dst, first, 0);
        let c = self.tiles::<R, 16>(dst, first, c);
        let c = self.tiles::<R, 8>(dst, first, c);
        let c = self.tiles::<R, 4>(dst, first, c);
        self.tiles::<R, 1>(dst, first, c);
    }

    /// Every whole `C`-wide tile of rows `first .. first + R` from column `c` on; returns the
    /// first column left.
    #[inline(always)]
    fn tiles<const R: usize, const C: usize>(&self, dst: &mut [f32], first: usize, mut c: usize) -> usize {
        while c + C <= self.n {
            self.tile::<R, C>(dst, first, c);
            c += C;
        }
        c
    }

    /// Rows `first .. first + R`, columns `c .. c + C`: sums kept in registers over all of `k`.
    #[inline(always)]
    fn tile<const R: usize, const C: usize>(&self, dst: &mut [f32], first: usize, c: usize) {
        let mut sums = [[0.0f32; C]; R];
        if self.accumulate {
            for (i, sum) in sums.iter_mut().enumerate() {
                sum.copy_from_slice(&dst[(first + i) * self.dst_stride + c..][..C]);
            }
        }
        let x: [&[f32]; R] = std::array::from_fn(|i| &self.lhs[(first + i) * self.lhs_stride..][..self.k]);
        for j in 0..self.k {
            let w: &[f32; C] = self.rhs[j * self.n + c..][..C].try_into().expect("C values");
            for (sum, x) in sums.iter_mut().zip(&x) {
                let xj = x[j];
                for (s, w) in sum.iter_mut().zip(w) {
                    *s += xj * w;
                }
            }
        }
        for (i, sum) in sums.iter().enumerate() {
            dst[(first + i) * self.dst_stride + c..][..C].copy_from_slice(sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_rows_times_a_matrix() {
        // lhs rows are windows of 3 starting one value apart: row r = [r, r + 1, r + 2].
        let lhs: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let rhs = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0]; // [3][2]
        let mut dst = vec![7.0; 4 * 3];
        rows_times(&mut dst, 3, &lhs, 1, 4, 3, &rhs, 2, false);
        for r in 0..4 {
            let x = [r as f32, r as f32 + 1.0, r as f32 + 2.0];
            let expected = [x[0] + 10.0 * x[1] + 100.0 * x[2], 2.0 * x[0] + 20.0 * x[1] + 200.0 * x[2]];
            assert_eq!(&dst[r * 3..r * 3 + 2], &expected, "row {r}");
            assert_eq!(dst[r * 3 + 2], 7.0, "past n, dst was written");
        }
        rows_times(&mut dst, 3, &lhs, 1, 4, 3, &rhs, 2, true);
        assert_eq!(dst[0], 2.0 * (10.0 + 200.0));
    }

    /// Every tile shape and remainder (rows 1..=9, columns 1..=70), with and without
    /// accumulation, against a plain loop that sums in the same order: equal to the bit.
    #[test]
    fn every_tile_shape_sums_like_a_plain_loop() {
        let value = |i: usize| ((i * 7919 % 1000) as f32 - 500.0) / 97.0;
        for rows in 1..=9 {
            for n in (1..=20).chain([24, 31, 32, 33, 48, 64, 70]) {
                let (k, lhs_stride, dst_stride) = (5, 3, n + 2);
                let lhs: Vec<f32> = (0..(rows - 1) * lhs_stride + k).map(value).collect();
                let rhs: Vec<f32> = (0..k * n).map(|i| value(i + 31)).collect();
                for accumulate in [false, true] {
                    let start: Vec<f32> = (0..rows * dst_stride).map(|i| value(i + 77)).collect();
                    let mut dst = start.clone();
                    rows_times(&mut dst, dst_stride, &lhs, lhs_stride, rows, k, &rhs, n, accumulate);
                    for r in 0..rows {
                        for c in 0..dst_stride {
                            let at = r * dst_stride + c;
                            let expected = if c >= n {
                                start[at]
                            } else {
                                let mut sum = if accumulate { start[at] } else { 0.0 };
                                for j in 0..k {
                                    sum += lhs[r * lhs_stride + j] * rhs[j * n + c];
                                }
                                sum
                            };
                            assert_eq!(
                                dst[at].to_bits(),
                                expected.to_bits(),
                                "rows {rows}, n {n}, acc {accumulate}, ({r}, {c})"
                            );
                        }
                    }
                }
            }
        }
    }
}
