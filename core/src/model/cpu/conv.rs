//! The dense blocks' causal 3x3 convolution (two past frames, one bin either side) on
//! [`Maps`], forward and backward.
//!
//! Output pixel (t, f) reads input frames t - 2 ..= t and bins f - 1 ..= f + 1. The batch path
//! runs Winograd's F(4, 3) along frequency ([`super::winograd`]): each map row is cut into
//! tiles of four output bins, whose six input bins are transformed into six points; per point
//! and time tap the convolution is then one matrix product `[tiles, in] x [in, out]`, and the
//! time taps are the same products over rows of points two, one and zero rows back (offset
//! views, nothing copied). That is 18 multiply-adds per input and output channel for four
//! output pixels instead of 36. The input gradient is the same convolution of the output
//! gradient with the kernel flipped (reading rows ahead instead of back), and the weight
//! gradient the points' products `points^T x A dy` summed over tiles, then `G^T`. An input
//! given as several parts (a concatenation along channels) is never built: each part's points
//! fill their own columns. All of it runs unit by unit over rows ([`unit_rows`]), a unit's
//! points staying in cache between the transforms and the products.
//!
//! The streaming path (one frame at a time, [`Conv3x3::forward_frame`]) keeps the direct
//! convolution: a frame is one row, too little for the transforms to pay.

use super::gemm::{View, for_each_row_tile, matmul_here, sum_over_row_tiles};
use super::kernels::rows_times;
use super::maps::Maps;
use super::winograd::{self, POINTS, TILE};
use std::cell::RefCell;

#[derive(Clone, Debug)]
pub(crate) struct Conv3x3 {
    pub out_channels: usize,
    /// Channels of each input part.
    pub parts: Vec<usize>,
    /// Per part and time tap, `[3 * channels, out]`: row `kf * channels + c` (the streaming
    /// path's direct convolution).
    forward_taps: Vec<[Vec<f32>; 3]>,
    /// The kernel at the Winograd points: `[3 (time tap)][POINTS][in][out]`, all parts' input
    /// channels in order.
    forward_points: Vec<f32>,
    /// The flipped kernel at the points for the input gradient:
    /// `[3 (time tap)][POINTS][out][in]`, all parts' input channels in order.
    backward_points: Vec<f32>,
}

/// Weight gradients in the layout of [`Conv3x3`]'s forward taps.
pub(crate) type TapGrads = Vec<[Vec<f32>; 3]>;

/// Tiles in a row of `bins` bins.
fn tiles(bins: usize) -> usize {
    bins.div_ceil(TILE)
}

/// Map rows per unit of work for maps of `bins` bins whose transformed side has `channels`
/// channels: as many as keep the unit's points (six values per input value) within a few
/// hundred KB, so they stay in the core's cache between the transform and the products, but
/// at least 4 (each unit also transforms the two rows before it, for the time taps).
pub(crate) fn unit_rows(bins: usize, channels: usize) -> usize {
    const BYTES: usize = 1 << 19;
    (BYTES / (POINTS * tiles(bins) * channels * 4)).clamp(4, 64)
}

impl Conv3x3 {
    /// `weight`: burn's `[out, in, 3 (time), 3 (frequency)]`, each output channel scaled by
    /// `scale[o]` (batch norm folded in) when given; `parts` add up to `in`.
    pub fn new(weight: &[f32], out_channels: usize, parts: &[usize], scale: Option<&[f64]>) -> Self {
        let cin: usize = parts.iter().sum();
        let cout = out_channels;
        assert_eq!(weight.len(), cout * cin * 9, "weights are not [out, in, 3, 3]");
        let w = |o: usize, c: usize, kt: usize, kf: usize| {
            let v = weight[((o * cin + c) * 3 + kt) * 3 + kf];
            scale.map_or(v as f64, |s| (v as f64 * s[o]) as f32 as f64)
        };
        let mut forward_taps = Vec::with_capacity(parts.len());
        let mut first = 0;
        for &n in parts {
            forward_taps.push(std::array::from_fn(|kt| {
                let mut m = vec![0.0f32; 3 * n * cout];
                for kf in 0..3 {
                    for c in 0..n {
                        for o in 0..cout {
                            m[(kf * n + c) * cout + o] = w(o, first + c, kt, kf) as f32;
                        }
                    }
                }
                m
            }));
            first += n;
        }
        let mut forward_points = vec![0.0f32; 3 * POINTS * cin * cout];
        for kt in 0..3 {
            for c in 0..cin {
                for o in 0..cout {
                    let points = winograd::kernel_points(std::array::from_fn(|kf| w(o, c, kt, kf)));
                    for (i, v) in points.into_iter().enumerate() {
                        forward_points[((kt * POINTS + i) * cin + c) * cout + o] = v;
                    }
                }
            }
        }
        let mut backward_points = vec![0.0f32; 3 * POINTS * cout * cin];
        for kt in 0..3 {
            for o in 0..cout {
                for c in 0..cin {
                    let flipped = std::array::from_fn(|v| w(o, c, kt, 2 - v));
                    for (i, v) in winograd::kernel_points(flipped).into_iter().enumerate() {
                        backward_points[((kt * POINTS + i) * cout + o) * cin + c] = v;
                    }
                }
            }
        }
        Self { out_channels, parts: parts.to_vec(), forward_taps, forward_points, backward_points }
    }

    fn in_channels(&self) -> usize {
        self.parts.iter().sum()
    }

    /// `conv(cat(inputs))` without bias into `out`: every real pixel overwritten, the border
    /// rows between examples left dirty, the border columns untouched.
    pub fn forward(&self, inputs: &[&Maps], out: &mut Maps) {
        let (cin, cout) = (self.in_channels(), self.out_channels);
        let (width, bins) = (out.width(), out.bins);
        let tiles = tiles(bins);
        let (first, count) = out.conv_rows();
        let unit = unit_rows(bins, cin);
        for_each_row_tile(&mut [&mut out.data], &[width * cout], first, count, unit, |blocks, start, rows| {
            // Input rows start - 2 .. start + rows: output row r's time tap kt reads row r + kt.
            let (plane_in, plane_out) = ((rows + 2) * tiles * cin, rows * tiles * cout);
            with_scratch(POINTS * plane_in, POINTS * plane_out, |points, products| {
                parts_to_points(inputs, start - 2, rows + 2, points);
                for (i, product) in products.chunks_exact_mut(plane_out).enumerate() {
                    for kt in 0..3 {
                        let lhs = View::new(points, i * plane_in + kt * tiles * cin, [rows * tiles, cin], [cin, 1]);
                        let rhs = View::rows(self.forward_point(kt, i), cin, cout);
                        matmul_here(product, cout, kt > 0, lhs, rhs);
                    }
                }
                points_to_rows(products, rows, tiles, [0, cout], cout, blocks[0], false);
            });
        });
    }

    /// `[in][out]` of time tap `kt` at point `i`.
    fn forward_point(&self, kt: usize, i: usize) -> &[f32] {
        let len = self.in_channels() * self.out_channels;
        &self.forward_points[(kt * POINTS + i) * len..][..len]
    }

    /// The streaming form of [`Self::forward`] (no allocation): every map holds one frame
    /// (`frames == 1`, `batch == 1`) whose two border rows are the two frames before it (see
    /// [`super::stream`]); writes the frame of `out` (without bias) and nothing else. The input
    /// parts are `inputs` followed by `earlier` (a dense block's earlier layers).
    pub fn forward_frame(&self, inputs: &[&Maps], earlier: &[Maps], out: &mut Maps) {
        let cout = self.out_channels;
        let (w, bins) = (out.width(), out.bins);
        let first = out.pixel(0, 0, 0) * cout;
        let parts = inputs.iter().copied().chain(earlier);
        for (p, (input, taps)) in parts.zip(&self.forward_taps).enumerate() {
            let n = input.channels;
            debug_assert_eq!(n, self.parts[p]);
            debug_assert_eq!((input.frames, input.batch), (1, 1));
            for (kt, tap) in taps.iter().enumerate() {
                // Output bin f reads row kt (frame kt - 2), pixels f .. f + 2 (bins f - 1 ..= f + 1).
                let windows = &input.data[kt * w * n..];
                rows_times(&mut out.data[first..], cout, windows, n, bins, 3 * n, tap, cout, p > 0 || kt > 0);
            }
        }
    }

    /// Adds the weight gradients for `d_out` (zero outside real pixels) to `grads`.
    pub fn weight_grad(&self, inputs: &[&Maps], d_out: &Maps, grads: &mut TapGrads) {
        let (cin, cout) = (self.in_channels(), self.out_channels);
        let tiles = tiles(d_out.bins);
        let (first, count) = d_out.conv_rows();
        // Per time tap and point, `[in][out]`: the gradient of the kernel at the points.
        let len = 3 * POINTS * cin * cout;
        let sum = sum_over_row_tiles(len, first, count, unit_rows(d_out.bins, cin), |sum, start, rows| {
            let (plane_in, plane_out) = ((rows + 2) * tiles * cin, rows * tiles * cout);
            with_scratch(POINTS * plane_in, POINTS * plane_out, |points, d_points| {
                parts_to_points(inputs, start - 2, rows + 2, points);
                grads_to_points(d_out, start, rows, d_points);
                for i in 0..POINTS {
                    let d_rows = View::new(d_points, i * plane_out, [rows * tiles, cout], [cout, 1]);
                    for kt in 0..3 {
                        let lhs = View::new(points, i * plane_in + kt * tiles * cin, [rows * tiles, cin], [cin, 1]);
                        let sum = &mut sum[(kt * POINTS + i) * cin * cout..][..cin * cout];
                        matmul_here(sum, cout, true, lhs.t(), d_rows);
                    }
                }
            });
        });
        let mut first = 0;
        for (&n, taps) in self.parts.iter().zip(grads.iter_mut()) {
            for (kt, tap) in taps.iter_mut().enumerate() {
                for c in 0..n {
                    for o in 0..cout {
                        let at = |i: usize| sum[((kt * POINTS + i) * cin + first + c) * cout + o];
                        for (kf, g) in winograd::kernel_grad(std::array::from_fn(at)).into_iter().enumerate() {
                            tap[(kf * n + c) * cout + o] += g;
                        }
                    }
                }
            }
            first += n;
        }
    }

    /// Adds the gradients with respect to input parts `first_part ..` to `d_ins` (one map per
    /// part, in order), at their real pixels (the border rows between examples are left dirty).
    pub fn input_grads(&self, d_out: &Maps, first_part: usize, d_ins: &mut [&mut Maps]) {
        let (cin, cout) = (self.in_channels(), self.out_channels);
        let parts = &self.parts[first_part..];
        assert_eq!(d_ins.len(), parts.len(), "one gradient map per part from the first");
        // The parts' columns: from the first part's first channel on.
        let column = self.parts[..first_part].iter().sum::<usize>();
        let columns = cin - column;
        let Some(map) = d_ins.first() else { return };
        let (width, bins) = (map.width(), map.bins);
        let tiles = tiles(bins);
        let (first, count) = map.conv_rows();
        let row_lens: Vec<usize> = d_ins.iter().map(|m| width * m.channels).collect();
        let mut data: Vec<&mut [f32]> = d_ins.iter_mut().map(|m| &mut m.data[..]).collect();
        let unit = unit_rows(bins, cout);
        for_each_row_tile(&mut data, &row_lens, first, count, unit, |blocks, start, rows| {
            // Output-gradient rows start .. start + rows + 2: input row r's time tap kt
            // receives from row r + 2 - kt.
            let (plane_in, plane_out) = ((rows + 2) * tiles * cout, rows * tiles * columns);
            with_scratch(POINTS * plane_in, POINTS * plane_out, |points, products| {
                parts_to_points(&[d_out], start, rows + 2, points);
                for (i, product) in products.chunks_exact_mut(plane_out).enumerate() {
                    for kt in 0..3 {
                        let back = (2 - kt) * tiles * cout;
                        let lhs = View::new(points, i * plane_in + back, [rows * tiles, cout], [cout, 1]);
                        let kernel = (kt * POINTS + i) * cout * cin + column;
                        let rhs = View::new(&self.backward_points, kernel, [cout, columns], [cin, 1]);
                        matmul_here(product, columns, kt > 0, lhs, rhs);
                    }
                }
                let mut at = 0;
                for (&n, block) in parts.iter().zip(blocks.iter_mut()) {
                    points_to_rows(products, rows, tiles, [at, columns], n, block, true);
                    at += n;
                }
            });
        });
    }

    /// Zero weight gradients in the forward taps' layout.
    pub fn zero_grads(&self) -> TapGrads {
        self.parts.iter().map(|&n| std::array::from_fn(|_| vec![0.0; 3 * n * self.out_channels])).collect()
    }

    /// Gradients in the forward taps' layout back to burn's `[out, in, 3, 3]`.
    pub fn grads_to_burn(&self, grads: &TapGrads) -> Vec<f32> {
        let cout = self.out_channels;
        let cin: usize = self.parts.iter().sum();
        let mut out = vec![0.0f32; cout * cin * 9];
        let mut first = 0;
        for (&n, taps) in self.parts.iter().zip(grads) {
            for (kt, tap) in taps.iter().enumerate() {
                for kf in 0..3 {
                    for c in 0..n {
                        for o in 0..cout {
                            out[((o * cin + first + c) * 3 + kt) * 3 + kf] = tap[(kf * n + c) * cout + o];
                        }
                    }
                }
            }
            first += n;
        }
        out
    }
}

thread_local! {
    /// Per thread, the points and products of the unit of rows it works on, reused from unit
    /// to unit: every value is written before it is read, so no unit allocates or zeroes
    /// megabytes afresh.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// `f(a, b)` on this thread's scratch buffers, `a_len` and `b_len` values long (contents
/// undefined: left from earlier units).
fn with_scratch<R>(a_len: usize, b_len: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let [a, b] = &mut *scratch;
        for (buf, len) in [(&mut *a, a_len), (&mut *b, b_len)] {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
        }
        f(&mut a[..a_len], &mut b[..b_len])
    })
}

/// Fills `points` (`[POINTS][rows][tiles][channels of all parts]`) with the points of map rows
/// `first .. first + rows` of the concatenation of `parts`.
fn parts_to_points(parts: &[&Maps], first: usize, rows: usize, points: &mut [f32]) {
    let cin: usize = parts.iter().map(|m| m.channels).sum();
    let (width, tiles) = (parts[0].width(), tiles(parts[0].bins));
    let plane = rows * tiles * cin;
    debug_assert_eq!(points.len(), POINTS * plane);
    let mut offset = 0;
    for map in parts {
        let n = map.channels;
        for r in 0..rows {
            let row = &map.data[(first + r) * width * n..][..width * n];
            // Tile j reads pixels 4j .. 4j + 6 of the row (bins 4j - 1 .. 4j + 4).
            winograd::row_points(row, n, tiles, &mut points[r * tiles * cin + offset..], plane, cin);
        }
        offset += n;
    }
}

/// Fills `points` (`[POINTS][rows][tiles][channels]`) with the gradients at the points of
/// output-gradient rows `first .. first + rows` of `d_out` (`A dy` per tile).
fn grads_to_points(d_out: &Maps, first: usize, rows: usize, points: &mut [f32]) {
    let (n, width, bins) = (d_out.channels, d_out.width(), d_out.bins);
    let tiles = tiles(bins);
    let plane = rows * tiles * n;
    for r in 0..rows {
        let row = &d_out.data[(first + r) * width * n..][..width * n];
        winograd::row_output_grads(row, n, bins, &mut points[r * tiles * n..], plane, n);
    }
}

/// Writes (or adds, if `accumulate`) outputs from `products` (`[POINTS][rows][tiles][columns]`,
/// `[offset, columns]`: the outputs' `n` channels are columns `offset .. offset + n` of each
/// row) to the real pixels of the map rows in `block` (`rows` rows of `n` channels).
fn points_to_rows(
    products: &[f32],
    rows: usize,
    tiles: usize,
    [offset, columns]: [usize; 2],
    n: usize,
    block: &mut [f32],
    accumulate: bool,
) {
    let plane = rows * tiles * columns;
    let width = block.len() / (rows * n);
    for (r, row) in block.chunks_exact_mut(width * n).enumerate() {
        winograd::row_outputs(
            &products[r * tiles * columns + offset..],
            [plane, columns],
            n,
            row,
            width - 2,
            accumulate,
        );
    }
}
