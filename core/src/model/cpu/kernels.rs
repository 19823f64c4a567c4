//! The one matrix product the streaming network ([`super::stream`]) runs, for one frame at a
//! time, written by hand.
//!
//! Why not `gemm` (which the batch path uses): every gemm call allocates (its packing buffers
//! and bookkeeping), and the streaming network runs on a plugin's audio thread, where nothing may
//! allocate. The products of one frame are small (a frame's bins times a few dozen channels), so
//! a plain loop that the compiler vectorises over the output channels does well enough; the
//! crate is built for baseline x86-64, so the loop is compiled a second time with AVX2 and AVX-512
//! and the widest copy the CPU has is picked at run time (multiversion; no allocation either).

use multiversion::multiversion;

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
    for r in 0..rows {
        let out = &mut dst[r * dst_stride..][..n];
        if !accumulate {
            out.fill(0.0);
        }
        let x = &lhs[r * lhs_stride..][..k];
        for (xj, w) in x.iter().zip(rhs.chunks_exact(n)) {
            for (o, w) in out.iter_mut().zip(w) {
                *o += xj * w;
            }
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
}
