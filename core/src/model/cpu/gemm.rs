//! Matrix products over strided views of `f32` buffers.
//!
//! The arithmetic is the `gemm` crate's (the kernels burn's flex backend runs on). Calling it
//! directly rather than through burn tensors lets a view overlap itself (a convolution's 3x3
//! windows over a channels-last map are rows that share memory, see [`super::maps`]), read a
//! transposed operand through its strides, and accumulate into an existing buffer, so no
//! im2col, transpose or product buffer is ever built.

use super::par::map_indices;

/// A read-only `rows x cols` matrix inside `data`: element (i, j) at
/// `offset + i * row_stride + j * col_stride`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    data: &'a [f32],
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// Panics if any element lies outside `data` (the only check the unsafe product needs).
    pub(crate) fn new(
        data: &'a [f32],
        offset: usize,
        [rows, cols]: [usize; 2],
        [row_stride, col_stride]: [usize; 2],
    ) -> Self {
        if rows > 0 && cols > 0 {
            let last = offset + (rows - 1) * row_stride + (cols - 1) * col_stride;
            assert!(last < data.len(), "view ends at {last}, past the buffer's {} values", data.len());
        }
        Self { data, offset, rows, cols, row_stride, col_stride }
    }

    /// A dense row-major matrix.
    pub(crate) fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix has the wrong size");
        Self::new(data, 0, [rows, cols], [cols, 1])
    }

    pub(crate) fn t(self) -> Self {
        Self { rows: self.cols, cols: self.rows, row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }

    /// Rows `first..first + n`.
    fn row_range(self, first: usize, n: usize) -> Self {
        Self { offset: self.offset + first * self.row_stride, rows: n, ..self }
    }

    /// Columns `first..first + n`.
    fn col_range(self, first: usize, n: usize) -> Self {
        Self { offset: self.offset + first * self.col_stride, cols: n, ..self }
    }
}

/// `dst = (accumulate ? dst : 0) + lhs * rhs`, where `dst` is row-major with `dst_row_stride`
/// from `dst_offset`, on every thread.
pub(crate) fn matmul(
    dst: &mut [f32],
    dst_offset: usize,
    dst_row_stride: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
) {
    product(dst, dst_offset, dst_row_stride, accumulate, lhs, rhs, threads());
}

/// [`matmul`] on the calling thread only (`dst` from its start), for products inside
/// [`for_each_row_tile`] or [`sum_over_row_tiles`], which spread the work over the threads
/// themselves.
pub(crate) fn matmul_here(dst: &mut [f32], dst_row_stride: usize, accumulate: bool, lhs: View, rhs: View) {
    product(dst, 0, dst_row_stride, accumulate, lhs, rhs, 1);
}

/// [`matmul`] on up to `threads` threads.
fn product(
    dst: &mut [f32],
    dst_offset: usize,
    dst_row_stride: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
    threads: usize,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "inner dimensions differ");
    if m == 0 || n == 0 {
        return;
    }
    let last = dst_offset + (m - 1) * dst_row_stride + n - 1;
    assert!(last < dst.len(), "product ends at {last}, past the buffer's {} values", dst.len());
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                dst[dst_offset + i * dst_row_stride..][..n].fill(0.0);
            }
        }
        return;
    }
    // A long inner dimension with a small result (weight gradients: pixels x channels) gives
    // gemm's own threading, which splits the result, nothing to share: split the sum instead.
    if threads > 1 && k >= 8192 && m * n <= 256 * 256 {
        split_inner(dst, dst_offset, dst_row_stride, accumulate, lhs, rhs, threads);
        return;
    }
    let parallel = if threads > 1 && (m * n * k) as f64 > 2e6 { parallelism() } else { gemm::Parallelism::None };
    // SAFETY: every element either view reads and every element written was checked to lie
    // inside its slice above; `dst` is borrowed mutably, so nothing else reads it meanwhile.
    unsafe { gemm_raw(dst.as_mut_ptr().add(dst_offset), dst_row_stride, accumulate, lhs, rhs, parallel) }
}

/// `dst = (accumulate ? dst : 0) + lhs * rhs` through gemm, `dst` row-major from the pointer.
///
/// # Safety
/// Every element of the `lhs.rows x rhs.cols` result at `dst` (rows `dst_row_stride` apart)
/// must be writable and not read by anything else meanwhile; the views must lie inside their
/// slices (as [`View::new`] checks).
unsafe fn gemm_raw(
    dst: *mut f32,
    dst_row_stride: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
    parallel: gemm::Parallelism,
) {
    unsafe {
        gemm::gemm(
            lhs.rows,
            rhs.cols,
            lhs.cols,
            dst,
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr().add(lhs.offset),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr().add(rhs.offset),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallel,
        );
    }
}

/// [`matmul`] with the inner dimension cut into one share per thread, each summed into its own
/// buffer, then added up.
fn split_inner(
    dst: &mut [f32],
    dst_offset: usize,
    dst_row_stride: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
    threads: usize,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let per = k.div_ceil(threads);
    let partial = |i: usize| {
        let first = i * per;
        let len = per.min(k - first);
        let mut out = vec![0.0f32; m * n];
        matmul_serial(&mut out, lhs.col_range(first, len), rhs.row_range(first, len));
        out
    };
    let partials = map_indices(k.div_ceil(per), partial);
    for i in 0..m {
        let row = &mut dst[dst_offset + i * dst_row_stride..][..n];
        if !accumulate {
            row.fill(0.0);
        }
        for p in &partials {
            for (d, s) in row.iter_mut().zip(&p[i * n..(i + 1) * n]) {
                *d += s;
            }
        }
    }
}

fn matmul_serial(dst: &mut [f32], lhs: View, rhs: View) {
    assert_eq!(dst.len(), lhs.rows * rhs.cols, "product buffer has the wrong size");
    // SAFETY: as in `matmul`: the views were bounds-checked when built (sub-ranges of checked
    // views stay inside them) and `dst` holds exactly m x n values.
    unsafe { gemm_raw(dst.as_mut_ptr(), rhs.cols, false, lhs, rhs, gemm::Parallelism::None) }
}

/// Calls `f(tiles, first, rows)` for rows `first..first + rows` of the row-major matrices
/// `dsts` (`row_lens[d]` values a row of `dsts[d]`, the same rows in each), in tiles of
/// `tile_rows` rows spread over the threads; `tiles[d]` holds exactly those rows of `dsts[d]`.
pub(crate) fn for_each_row_tile(
    dsts: &mut [&mut [f32]],
    row_lens: &[usize],
    first: usize,
    rows: usize,
    tile_rows: usize,
    f: impl Fn(&mut [&mut [f32]], usize, usize) + Sync,
) {
    let count = rows.div_ceil(tile_rows);
    let mut tiles: Vec<Vec<&mut [f32]>> = (0..count).map(|_| Vec::with_capacity(dsts.len())).collect();
    for (dst, &len) in dsts.iter_mut().zip(row_lens) {
        let span = &mut dst[first * len..(first + rows) * len];
        for (tile, chunk) in tiles.iter_mut().zip(span.chunks_mut(tile_rows * len)) {
            tile.push(chunk);
        }
    }
    let tile = |(i, mut chunks): (usize, Vec<&mut [f32]>)| {
        f(&mut chunks, first + i * tile_rows, tile_rows.min(rows - i * tile_rows));
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        tiles.into_par_iter().enumerate().for_each(tile);
    }
    #[cfg(not(feature = "parallel"))]
    tiles.into_iter().enumerate().for_each(tile);
}

/// `sum over tiles of f(sum, first, rows)` for rows `first..first + rows` in tiles of
/// `tile_rows`: each thread adds its tiles into its own zeroed buffer of `len` values (`f`
/// accumulates into the buffer it is given), and the buffers are added up. For products whose
/// inner dimension is the pixels (weight gradients): their small results stay in cache while
/// each tile's rows are read once for every part and tap.
pub(crate) fn sum_over_row_tiles(
    len: usize,
    first: usize,
    rows: usize,
    tile_rows: usize,
    f: impl Fn(&mut [f32], usize, usize) + Sync,
) -> Vec<f32> {
    let tiles = rows.div_ceil(tile_rows);
    let shares = threads().min(tiles).max(1);
    let share = |s: usize| {
        let mut sum = vec![0.0f32; len];
        for t in (s..tiles).step_by(shares) {
            let start = t * tile_rows;
            f(&mut sum, first + start, tile_rows.min(rows - start));
        }
        sum
    };
    let mut sums = map_indices(shares, share);
    let mut total = sums.remove(0);
    for other in &sums {
        total.iter_mut().zip(other).for_each(|(t, o)| *t += o);
    }
    total
}

fn threads() -> usize {
    #[cfg(feature = "parallel")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "parallel"))]
    1
}

fn parallelism() -> gemm::Parallelism {
    #[cfg(feature = "parallel")]
    return gemm::Parallelism::Rayon(rayon::current_num_threads());
    #[cfg(not(feature = "parallel"))]
    gemm::Parallelism::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn products_of_views_match_the_definition() {
        let (m, k, n) = (7, 9000, 5); // long enough to take the split-sum path
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
        let expected = naive(&a, &b, m, k, n);
        let mut c = vec![1.0; m * n];
        matmul(&mut c, 0, n, false, View::rows(&a, m, k), View::rows(&b, k, n));
        assert_eq!(c, expected);
        // Transposed views and accumulation: c += (a^T)^T b.
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        matmul(&mut c, 0, n, true, View::rows(&at, k, m).t(), View::rows(&b, k, n));
        let twice: Vec<f32> = expected.iter().map(|v| 2.0 * v).collect();
        assert_eq!(c, twice);
        // Overlapping rows: row i of the view starts at element i (windows of 3).
        let x: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let w = [1.0, 10.0, 100.0];
        let mut y = vec![0.0; 8];
        matmul(&mut y, 0, 1, false, View::new(&x, 0, [8, 3], [1, 1]), View::rows(&w, 3, 1));
        assert_eq!(y[2], 2.0 + 30.0 + 400.0);
    }

    #[test]
    #[should_panic(expected = "past the buffer")]
    fn a_view_outside_its_buffer_is_refused() {
        let x = [0.0f32; 4];
        View::new(&x, 2, [2, 2], [1, 1]);
    }
}
