//! The dense blocks' causal 3x3 convolution (two past frames, one bin either side) on
//! [`Maps`], forward and backward, each a few matrix products over zero-copy views.
//!
//! Output pixel P reads input pixel `P + (kt - 2) * width + kf - 1` for time tap kt and
//! frequency tap kf; the three frequency taps of one time tap are one contiguous window of
//! `3 * channels` values, so per time tap the convolution is `windows(input) @ W_kt`. The input
//! gradient is the same shape of product the other way round: input pixel p receives from
//! output pixels `p + (2 - kt) * width + 1 - kf`, i.e. from the window of three output-gradient
//! pixels starting at `p + (2 - kt) * width - 1` (taps reversed in frequency), so it is
//! `windows(d_out) @ W'_kt` with no col2im. The weight gradient is `windows(input)^T @ d_out`.
//! An input given as several parts (a concatenation along channels) is never built: each part
//! has its own slice of the weights. Each product runs tile by tile over the pixels
//! ([`super::gemm::TILE_ROWS`]), every part and tap on one tile before the next, so a tile's
//! rows are read from memory once rather than once per part and tap.

use super::gemm::{View, for_each_row_tile, matmul_here, sum_over_row_tiles};
use super::kernels::rows_times;
use super::maps::Maps;

#[derive(Clone, Debug)]
pub(crate) struct Conv3x3 {
    pub out_channels: usize,
    /// Channels of each input part.
    pub parts: Vec<usize>,
    /// Per part and time tap, `[3 * channels, out]`: row `kf * channels + c`.
    forward_taps: Vec<[Vec<f32>; 3]>,
    /// Per part and time tap, `[3 * out, channels]`: row `j * out + o` holds frequency tap
    /// `2 - j`.
    backward_taps: Vec<[Vec<f32>; 3]>,
}

/// Weight gradients in the layout of [`Conv3x3`]'s forward taps.
pub(crate) type TapGrads = Vec<[Vec<f32>; 3]>;

impl Conv3x3 {
    /// `weight`: burn's `[out, in, 3 (time), 3 (frequency)]`, each output channel scaled by
    /// `scale[o]` (batch norm folded in) when given; `parts` add up to `in`.
    pub fn new(weight: &[f32], out_channels: usize, parts: &[usize], scale: Option<&[f64]>) -> Self {
        let cin: usize = parts.iter().sum();
        assert_eq!(weight.len(), out_channels * cin * 9, "weights are not [out, in, 3, 3]");
        let w = |o: usize, c: usize, kt: usize, kf: usize| {
            let v = weight[((o * cin + c) * 3 + kt) * 3 + kf];
            scale.map_or(v, |s| (v as f64 * s[o]) as f32)
        };
        let mut forward_taps = Vec::with_capacity(parts.len());
        let mut backward_taps = Vec::with_capacity(parts.len());
        let mut first = 0;
        for &n in parts {
            forward_taps.push(std::array::from_fn(|kt| {
                let mut m = vec![0.0f32; 3 * n * out_channels];
                for kf in 0..3 {
                    for c in 0..n {
                        for o in 0..out_channels {
                            m[(kf * n + c) * out_channels + o] = w(o, first + c, kt, kf);
                        }
                    }
                }
                m
            }));
            backward_taps.push(std::array::from_fn(|kt| {
                let mut m = vec![0.0f32; 3 * out_channels * n];
                for j in 0..3 {
                    for o in 0..out_channels {
                        for c in 0..n {
                            m[(j * out_channels + o) * n + c] = w(o, first + c, kt, 2 - j);
                        }
                    }
                }
                m
            }));
            first += n;
        }
        Self { out_channels, parts: parts.to_vec(), forward_taps, backward_taps }
    }

    /// `conv(cat(inputs))` without bias into `out` (overwritten; its border is left dirty).
    pub fn forward(&self, inputs: &[&Maps], out: &mut Maps) {
        let cout = self.out_channels;
        let (first, count) = out.conv_span();
        let width = out.width();
        for_each_row_tile(&mut out.data, cout, first, count, |tile, start, rows| {
            for (p, (input, taps)) in inputs.iter().zip(&self.forward_taps).enumerate() {
                let n = input.channels;
                debug_assert_eq!(n, self.parts[p]);
                for (kt, tap) in taps.iter().enumerate() {
                    let windows =
                        View::new(&input.data, (start + kt * width - 2 * width - 1) * n, [rows, 3 * n], [n, 1]);
                    matmul_here(tile, cout, p > 0 || kt > 0, windows, View::rows(tap, 3 * n, cout));
                }
            }
        });
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
        let cout = self.out_channels;
        let (first, count) = d_out.conv_span();
        let width = d_out.width();
        // Every part's and tap's gradient in one buffer, in `grads`' order.
        let len = 9 * cout * self.parts.iter().sum::<usize>();
        let sum = sum_over_row_tiles(len, first, count, |sum, start, rows| {
            let d_out_rows = View::new(&d_out.data, start * cout, [rows, cout], [cout, 1]);
            let mut at = 0;
            for input in inputs {
                let n = input.channels;
                for kt in 0..3 {
                    let windows =
                        View::new(&input.data, (start + kt * width - 2 * width - 1) * n, [rows, 3 * n], [n, 1]);
                    matmul_here(&mut sum[at..at + 3 * n * cout], cout, true, windows.t(), d_out_rows);
                    at += 3 * n * cout;
                }
            }
        });
        let mut sums = sum.as_slice();
        for tap in grads.iter_mut().flatten() {
            let (this, rest) = sums.split_at(tap.len());
            tap.iter_mut().zip(this).for_each(|(g, s)| *g += s);
            sums = rest;
        }
    }

    /// Adds the gradient with respect to input part `part` to `d_in` (its border is left dirty).
    pub fn input_grad(&self, d_out: &Maps, part: usize, d_in: &mut Maps) {
        let cout = self.out_channels;
        let n = self.parts[part];
        debug_assert_eq!(d_in.channels, n);
        let (first, count) = d_out.conv_span();
        let width = d_out.width();
        let taps = &self.backward_taps[part];
        for_each_row_tile(&mut d_in.data, n, first, count, |tile, start, rows| {
            for (kt, tap) in taps.iter().enumerate() {
                let windows =
                    View::new(&d_out.data, (start + (2 - kt) * width - 1) * cout, [rows, 3 * cout], [cout, 1]);
                matmul_here(tile, n, true, windows, View::rows(tap, 3 * cout, n));
            }
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
