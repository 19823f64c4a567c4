//! Winograd's minimal filtering F(4, 3) along frequency: four outputs of a 3-tap correlation
//! from six products instead of twelve (Lavin & Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2016). [`super::conv`] applies it to the frequency taps of the dense blocks'
//! causal 3x3 convolution (the time taps stay offset rows of a product, as before), which
//! halves the multiply-adds of its forward pass, its input gradient and its weight gradient.
//!
//! For one tile of `TILE` outputs `y` from `POINTS` inputs `x` and a kernel `g`:
//! `y = AT (G g ⊙ BT x)`. Over channels the elementwise product becomes, per point, a matrix
//! product `[tiles, in] x [in, out]`. The transposes give the backward pass: the gradient with
//! respect to the point-wise products is `A dy` and the kernel's gradient is `G^T` of the
//! point-wise kernel gradient.
//!
//! Why by hand: no Rust crate offers Winograd convolution over our channels-last maps with
//! borders (burn's conv2d is direct or im2col), and the transforms are a few lines each.
//! Approximation: the result equals the direct convolution's up to round-off, which is a few
//! times larger than the direct sum's (the transforms scale by up to 8); the gradient and
//! loss-curve tests bound it against burn's direct convolution.

use multiversion::multiversion;

/// Outputs per tile.
pub(crate) const TILE: usize = 4;
/// Inputs per tile, and products per tile and channel pair.
pub(crate) const POINTS: usize = TILE + 2;

/// The input transform `BT` (interpolation points 0, ±1, ±2, ∞).
const BT: [[f32; POINTS]; POINTS] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];

/// The kernel transform `G`.
const G: [[f64; 3]; POINTS] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// The output transform `AT`.
const AT: [[f32; POINTS]; TILE] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// `AT` transposed, for the backward pass (a constant, so that its zeros fold away as `AT`'s).
const A: [[f32; TILE]; POINTS] = [
    [1.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0, -1.0],
    [1.0, 2.0, 4.0, 8.0],
    [1.0, -2.0, 4.0, -8.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// Channels per block of the transforms: one AVX2 register (half an AVX-512 one). Channel
/// counts are small (8 to a few hundred), too short for the compiler's vectorised loops, which
/// want several registers' worth; fixed blocks of this many lanes vectorise at any count.
const LANES: usize = 8;

/// `m x` for `L` channels at once: `x[k]` holds input k of each channel. Only `m`'s non-zero
/// entries are multiplied: `m` is a constant, so once inlined no product with zero (nor with
/// one) is left.
#[inline(always)]
fn apply<const R: usize, const K: usize, const L: usize>(m: &[[f32; K]; R], x: &[[f32; L]; K]) -> [[f32; L]; R] {
    let mut out = [[0.0; L]; R];
    for r in 0..R {
        // -0.0 is the identity of addition (0.0 is not, for -0.0), so the first term folds in.
        let mut acc = [-0.0f32; L];
        for k in 0..K {
            let b = m[r][k];
            if b != 0.0 {
                for l in 0..L {
                    acc[l] += b * x[k][l];
                }
            }
        }
        out[r] = acc;
    }
    out
}

/// A 3-tap kernel at the points: `G g`.
pub(crate) fn kernel_points(g: [f64; 3]) -> [f32; POINTS] {
    std::array::from_fn(|i| (0..3).map(|k| G[i][k] * g[k]).sum::<f64>() as f32)
}

/// The gradient of a 3-tap kernel from the gradient of its points: `G^T du`.
pub(crate) fn kernel_grad(du: [f32; POINTS]) -> [f32; 3] {
    std::array::from_fn(|k| (0..POINTS).map(|i| G[i][k] * du[i] as f64).sum::<f64>() as f32)
}

/// The points of every tile of one map row: tile j's inputs are pixels `TILE * j ..
/// TILE * j + POINTS` of `row` (`n` channels a pixel; pixels past its end count as zero), and
/// `points[i * plane + j * stride..][..n]` receives `(BT x)[i]`, channel by channel (the points
/// lie in `POINTS` planes of `plane` values).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn row_points(row: &[f32], n: usize, tiles: usize, points: &mut [f32], plane: usize, stride: usize) {
    let mut padded = Vec::new();
    for j in 0..tiles {
        let start = TILE * j * n;
        let x = if start + POINTS * n <= row.len() {
            &row[start..start + POINTS * n]
        } else {
            padded.clear();
            padded.extend_from_slice(&row[start..]);
            padded.resize(POINTS * n, 0.0);
            &padded[..]
        };
        tile_points(&BT, x, n, &mut points[j * stride..], plane);
    }
}

/// `tile[i * plane..][..n] = (m x)[i]` per channel for one tile: `x` holds `K` pixels of `n`
/// channels each. Channels go in blocks of [`LANES`], the rest one by one.
#[inline(always)]
fn tile_points<const K: usize>(m: &[[f32; K]; POINTS], x: &[f32], n: usize, tile: &mut [f32], plane: usize) {
    // One bounds check for the tile's points in all planes.
    let tile = &mut tile[..(POINTS - 1) * plane + n];
    let mut c = 0;
    while c + LANES <= n {
        tile_points_block::<K, LANES>(m, x, n, c, tile, plane);
        c += LANES;
    }
    for c in c..n {
        tile_points_block::<K, 1>(m, x, n, c, tile, plane);
    }
}

/// [`tile_points`] for channels `c .. c + L`.
#[inline(always)]
fn tile_points_block<const K: usize, const L: usize>(
    m: &[[f32; K]; POINTS],
    x: &[f32],
    n: usize,
    c: usize,
    tile: &mut [f32],
    plane: usize,
) {
    let v: [[f32; L]; K] = std::array::from_fn(|k| lanes(&x[k * n + c..]));
    for (i, out) in apply(m, &v).into_iter().enumerate() {
        *lanes_mut(&mut tile[i * plane + c..]) = out;
    }
}

/// The first `L` values of `x` as an array (one bounds check, then plain loads).
#[inline(always)]
fn lanes<const L: usize>(x: &[f32]) -> [f32; L] {
    *x.first_chunk::<L>().expect("L values")
}

/// The first `L` values of `x` as a mutable array.
#[inline(always)]
fn lanes_mut<const L: usize>(x: &mut [f32]) -> &mut [f32; L] {
    x.first_chunk_mut::<L>().expect("L values")
}

/// The outputs of every tile of one map row from its points (`m[i * plane + j * stride..][..n]`):
/// `AT m` written to (or, if `accumulate`, added to) pixels `TILE * j + 1 ..` of `row` (`n`
/// channels a pixel), the real pixels only (bins `..bins`).
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn row_outputs(
    m: &[f32],
    [plane, stride]: [usize; 2],
    n: usize,
    row: &mut [f32],
    bins: usize,
    accumulate: bool,
) {
    for j in 0..bins.div_ceil(TILE) {
        let count = TILE.min(bins - TILE * j);
        let tile = &m[j * stride..][..(POINTS - 1) * plane + n];
        let y = &mut row[(TILE * j + 1) * n..(TILE * j + 1 + count) * n];
        let mut c = 0;
        while c + LANES <= n {
            outputs_block::<LANES>(tile, plane, y, n, c, accumulate);
            c += LANES;
        }
        for c in c..n {
            outputs_block::<1>(tile, plane, y, n, c, accumulate);
        }
    }
}

/// [`row_outputs`] for channels `c .. c + L` of one tile (`y`: its outputs, `count * n`
/// values; `tile`: its points, `plane` values apart).
#[inline(always)]
fn outputs_block<const L: usize>(tile: &[f32], plane: usize, y: &mut [f32], n: usize, c: usize, accumulate: bool) {
    let v: [[f32; L]; POINTS] = std::array::from_fn(|i| lanes(&tile[i * plane + c..]));
    for (k, out) in apply(&AT, &v).iter().enumerate().take(y.len() / n) {
        let y = lanes_mut::<L>(&mut y[k * n + c..]);
        if accumulate {
            for l in 0..L {
                y[l] += out[l];
            }
        } else {
            *y = *out;
        }
    }
}

/// The gradients at the points of every tile of one map row, `A dy`, from the gradients of
/// the row's real pixels (`dy`: a whole row of `n` channels a pixel, bins `..bins` real):
/// `points[i * plane + j * stride..][..n]`; outputs past `bins` count as zero.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(crate) fn row_output_grads(dy: &[f32], n: usize, bins: usize, points: &mut [f32], plane: usize, stride: usize) {
    let mut padded = Vec::new();
    for j in 0..bins.div_ceil(TILE) {
        let (first, count) = ((TILE * j + 1) * n, TILE.min(bins - TILE * j));
        let y = if count == TILE {
            &dy[first..first + TILE * n]
        } else {
            // The row's last tile, partly past its end: its missing outputs' gradients are zero.
            padded.clear();
            padded.extend_from_slice(&dy[first..first + count * n]);
            padded.resize(TILE * n, 0.0);
            &padded[..]
        };
        tile_points(&A, y, n, &mut points[j * stride..], plane);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y[j] = sum_k x[j + k] g[k]` directly.
    fn correlate(x: &[f32], g: [f64; 3]) -> Vec<f64> {
        (0..x.len() - 2).map(|j| (0..3).map(|k| x[j + k] as f64 * g[k]).sum()).collect()
    }

    #[test]
    fn the_backward_matrix_is_the_output_transform_transposed() {
        for i in 0..POINTS {
            for k in 0..TILE {
                assert_eq!(A[i][k], AT[k][i]);
            }
        }
    }

    #[test]
    fn a_row_of_tiles_is_the_direct_correlation() {
        // A row of 7 bins between its two zero border pixels: two tiles, the second with three
        // outputs; two channels, so the per-channel loops run with n > 1.
        let (n, bins) = (2, 7);
        let mut row = vec![0.0f32; (bins + 2) * n];
        for (i, v) in row[n..(bins + 1) * n].iter_mut().enumerate() {
            *v = ((i * 7 % 11) as f32 - 5.0) * 0.3;
        }
        let g = [[0.5, -1.25, 2.0], [-0.75, 0.1, 0.9]];
        let tiles = bins.div_ceil(TILE);
        let mut points = vec![0.0; POINTS * tiles * n];
        row_points(&row, n, tiles, &mut points, tiles * n, n);
        // The product at each point, per channel (a 1 x 1 "matrix product").
        let m: Vec<f32> =
            (0..POINTS * tiles * n).map(|at| points[at] * kernel_points(g[at % n])[at / (tiles * n)]).collect();
        let mut y = vec![9.0; (bins + 2) * n];
        row_outputs(&m, [tiles * n, n], n, &mut y, bins, false);
        for c in 0..n {
            let xc: Vec<f32> = (0..bins + 2).map(|p| row[p * n + c]).collect();
            for (f, want) in correlate(&xc, g[c]).iter().enumerate() {
                let got = y[(f + 1) * n + c];
                assert!((got as f64 - want).abs() < 1e-5, "bin {f} of channel {c}: {got} against {want}");
            }
            // The border pixels are not written.
            assert_eq!((y[c], y[(bins + 1) * n + c]), (9.0, 9.0));
        }
        // Accumulation adds.
        let mut y2 = y.clone();
        row_outputs(&m, [tiles * n, n], n, &mut y2, bins, true);
        assert!((y2[n] - 2.0 * y[n]).abs() < 1e-5);
    }

    #[test]
    fn the_transposed_transforms_give_the_kernels_gradient() {
        // For loss = sum_f dy[f] y[f], d loss / d g[k] = sum_f dy[f] x[f + k] (x with its border).
        let bins: usize = 6;
        let x: Vec<f32> = vec![0.0, 0.3, -1.2, 2.5, 0.7, -0.4, 1.1, 0.0];
        let dy: Vec<f32> = vec![7.0, 0.5, -2.0, 1.5, 0.25, -1.0, 3.0, 7.0];
        let tiles = bins.div_ceil(TILE);
        let mut points = vec![0.0; POINTS * tiles];
        row_points(&x, 1, tiles, &mut points, tiles, 1);
        let mut d_points = vec![0.0; POINTS * tiles];
        row_output_grads(&dy, 1, bins, &mut d_points, tiles, 1);
        // Summed over tiles, as the matrix products do.
        let du: [f32; POINTS] =
            std::array::from_fn(|i| (0..tiles).map(|j| points[i * tiles + j] * d_points[i * tiles + j]).sum());
        let dg = kernel_grad(du);
        for k in 0..3 {
            let want: f64 = (0..bins).map(|f| dy[f + 1] as f64 * x[f + k] as f64).sum();
            assert!((dg[k] as f64 - want).abs() < 1e-5, "tap {k}: {} against {want}", dg[k]);
        }
    }
}
