//! The attention block (see [`crate::model::attention`]) on [`Maps`], forward and backward:
//! the 1x1 convolutions are products over all pixels of the batch; the per-frame rows, the
//! query/key projections and the causal softmax run per example.

use super::gemm::{View, matmul};
use super::maps::Maps;
use super::{AttentionSpan, bias_values, values};
use crate::model::attention::CausalFrameAttention;

#[derive(Clone, Debug)]
pub(crate) struct Attention {
    pub channels: usize,
    pub attention_channels: usize,
    pub key_dim: usize,
    /// `[channels, a]` (a 1x1 convolution as `[in, out]`).
    pub reduce: Vec<f32>,
    pub reduce_bias: Vec<f32>,
    /// `[a * bins, key_dim]` (burn's `Linear` layout).
    pub query: Vec<f32>,
    pub query_bias: Vec<f32>,
    pub key: Vec<f32>,
    pub key_bias: Vec<f32>,
    /// The mixing 1x1 convolution's block-output rows `[channels, channels]` and attended rows
    /// `[a, channels]`.
    pub mix_x: Vec<f32>,
    pub mix_a: Vec<f32>,
    pub mix_bias: Vec<f32>,
}

/// What the backward pass needs: per example, the rows (`[frames, a * bins]`), queries and keys
/// (`[frames, key_dim]`) and attention weights (`[frames, frames]`); the attended map.
#[derive(Debug)]
pub(crate) struct AttentionTape {
    rows: Vec<f32>,
    queries: Vec<f32>,
    keys: Vec<f32>,
    weights: Vec<f32>,
    attended: Maps,
}

/// Gradients, in the layout of [`Attention`]'s fields.
#[derive(Debug)]
pub(crate) struct AttentionGrads {
    pub reduce: Vec<f32>,
    pub reduce_bias: Vec<f32>,
    pub query: Vec<f32>,
    pub query_bias: Vec<f32>,
    pub key: Vec<f32>,
    pub key_bias: Vec<f32>,
    pub mix_x: Vec<f32>,
    pub mix_a: Vec<f32>,
    pub mix_bias: Vec<f32>,
}

impl Attention {
    pub fn new(block: &CausalFrameAttention) -> Self {
        let a = block.attention_channels;
        let [_, channels, _, _] = block.reduce.weight.dims();
        let reduce = values(block.reduce.weight.val());
        let mix = values(block.mix.weight.val());
        let linear = |l: &burn::nn::Linear| {
            let [_, d_out] = l.weight.dims();
            let bias = l.bias.as_ref().map(|b| values(b.val())).unwrap_or_else(|| vec![0.0; d_out]);
            (values(l.weight.val()), bias)
        };
        let (query, query_bias) = linear(&block.query);
        let (key, key_bias) = linear(&block.key);
        Self {
            channels,
            attention_channels: a,
            key_dim: block.key_dim,
            reduce: transpose_1x1(&reduce, a, channels, 0, channels),
            reduce_bias: bias_values(&block.reduce, a),
            query,
            query_bias,
            key,
            key_bias,
            mix_x: transpose_1x1(&mix, channels, channels + a, 0, channels),
            mix_a: transpose_1x1(&mix, channels, channels + a, channels, a),
            mix_bias: bias_values(&block.mix, channels),
        }
    }

    pub fn zero_grads(&self) -> AttentionGrads {
        let z = |v: &Vec<f32>| vec![0.0; v.len()];
        AttentionGrads {
            reduce: z(&self.reduce),
            reduce_bias: z(&self.reduce_bias),
            query: z(&self.query),
            query_bias: z(&self.query_bias),
            key: z(&self.key),
            key_bias: z(&self.key_bias),
            mix_x: z(&self.mix_x),
            mix_a: z(&self.mix_a),
            mix_bias: z(&self.mix_bias),
        }
    }

    /// `span`: which frames each frame attends to ([`AttentionSpan::ALL`] in training).
    pub fn forward(&self, x: &Maps, span: AttentionSpan) -> (Maps, AttentionTape) {
        let (c, a, kd) = (self.channels, self.attention_channels, self.key_dim);
        let (batch, frames, bins) = (x.batch, x.frames, x.bins);
        debug_assert_eq!(x.channels, c);
        let row_len = a * bins;
        let pixels = x.pixels();
        let mut reduced = x.like(a);
        matmul(&mut reduced.data, 0, a, false, View::rows(&x.data, pixels, c), View::rows(&self.reduce, c, a));
        let mut rows = vec![0.0f32; batch * frames * row_len];
        for b in 0..batch {
            for t in 0..frames {
                let dst = &mut rows[(b * frames + t) * row_len..][..row_len];
                for (f, pixel) in reduced.frame(b, t).chunks_exact(a).enumerate() {
                    for (ai, v) in pixel.iter().enumerate() {
                        dst[ai * bins + f] = v + self.reduce_bias[ai];
                    }
                }
            }
        }
        drop(reduced);
        let mut queries = vec![0.0f32; batch * frames * kd];
        let mut keys = vec![0.0f32; batch * frames * kd];
        let mut weights = vec![0.0f32; batch * frames * frames];
        let mut attended_rows = vec![0.0f32; batch * frames * row_len];
        let norm = (kd as f32).sqrt();
        for b in 0..batch {
            let rows_b = View::new(&rows, b * frames * row_len, [frames, row_len], [row_len, 1]);
            for (out, w, bias) in
                [(&mut queries, &self.query, &self.query_bias), (&mut keys, &self.key, &self.key_bias)]
            {
                let out = &mut out[b * frames * kd..][..frames * kd];
                for row in out.chunks_exact_mut(kd) {
                    row.copy_from_slice(bias);
                }
                matmul(out, 0, kd, true, rows_b, View::rows(w, row_len, kd));
            }
            let q = View::new(&queries, b * frames * kd, [frames, kd], [kd, 1]);
            let k = View::new(&keys, b * frames * kd, [frames, kd], [kd, 1]);
            let w = &mut weights[b * frames * frames..][..frames * frames];
            matmul(w, 0, frames, false, q, k.t());
            // Causal softmax: frame t weighs frames 0..first and recent..=t.
            for t in 0..frames {
                let row = &mut w[t * frames..(t + 1) * frames];
                let (first, recent) = span.of_frame(t);
                let (head, tail) = row.split_at_mut(recent);
                let (sinks, tail) = (&mut head[..first], &mut tail[..(t + 1).saturating_sub(recent)]);
                let max = sinks.iter().chain(tail.iter()).fold(f32::NEG_INFINITY, |m, v| m.max(v / norm));
                let mut sum = 0.0f32;
                for v in sinks.iter_mut().chain(tail.iter_mut()) {
                    *v = (*v / norm - max).exp();
                    sum += *v;
                }
                for v in sinks.iter_mut().chain(tail.iter_mut()) {
                    *v /= sum;
                }
                row[first..recent.min(t + 1)].fill(0.0);
                row[t + 1..].fill(0.0);
            }
            let w = View::new(&weights, b * frames * frames, [frames, frames], [frames, 1]);
            matmul(&mut attended_rows, b * frames * row_len, row_len, false, w, rows_b);
        }
        let mut attended = x.like(a);
        rows_to_pixels(&attended_rows, &mut attended);
        drop(attended_rows);
        let mut out = x.like(c);
        matmul(&mut out.data, 0, c, false, View::rows(&x.data, pixels, c), View::rows(&self.mix_x, c, c));
        matmul(&mut out.data, 0, c, true, View::rows(&attended.data, pixels, a), View::rows(&self.mix_a, a, c));
        // The borders of x and of the attended map are zero and the bias goes to real pixels
        // only, so the output's border stays zero.
        out.for_each_pixel_mut(|pixel| {
            for (v, b) in pixel.iter_mut().zip(&self.mix_bias) {
                *v += b;
            }
        });
        (out, AttentionTape { rows, queries, keys, weights, attended })
    }

    /// Adds the parameter gradients for `d_out` (zero outside real pixels) to `grads` and
    /// returns the gradient with respect to `x` (border zero).
    pub fn backward(&self, x: &Maps, tape: AttentionTape, d_out: &Maps, grads: &mut AttentionGrads) -> Maps {
        let (c, a, kd) = (self.channels, self.attention_channels, self.key_dim);
        let (batch, frames, bins) = (x.batch, x.frames, x.bins);
        let row_len = a * bins;
        let pixels = x.pixels();
        let AttentionTape { rows, queries, keys, weights, attended } = tape;
        let d_out_view = View::rows(&d_out.data, pixels, c);
        // Mixing 1x1 convolution.
        matmul(&mut grads.mix_x, 0, c, true, View::rows(&x.data, pixels, c).t(), d_out_view);
        matmul(&mut grads.mix_a, 0, c, true, View::rows(&attended.data, pixels, a).t(), d_out_view);
        drop(attended);
        d_out.for_each_pixel(|pixel| {
            for (g, v) in grads.mix_bias.iter_mut().zip(pixel) {
                *g += v;
            }
        });
        let mut d_x = x.like(c);
        matmul(&mut d_x.data, 0, c, false, d_out_view, View::rows(&self.mix_x, c, c).t());
        let mut d_attended = x.like(a);
        matmul(&mut d_attended.data, 0, a, false, d_out_view, View::rows(&self.mix_a, a, c).t());
        let mut d_attended_rows = vec![0.0f32; batch * frames * row_len];
        pixels_to_rows(&d_attended, &mut d_attended_rows);
        drop(d_attended);
        // Per example: attention, softmax, projections.
        let mut d_rows = vec![0.0f32; batch * frames * row_len];
        let norm = (kd as f32).sqrt();
        let mut d_weights = vec![0.0f32; frames * frames];
        let mut d_q = vec![0.0f32; frames * kd];
        let mut d_k = vec![0.0f32; frames * kd];
        for b in 0..batch {
            let rows_b = View::new(&rows, b * frames * row_len, [frames, row_len], [row_len, 1]);
            let d_att_b = View::new(&d_attended_rows, b * frames * row_len, [frames, row_len], [row_len, 1]);
            let w_b = View::new(&weights, b * frames * frames, [frames, frames], [frames, 1]);
            matmul(&mut d_weights, 0, frames, false, d_att_b, rows_b.t());
            matmul(&mut d_rows, b * frames * row_len, row_len, true, w_b.t(), d_att_b);
            // Softmax backward (on the scaled scores), then the 1 / sqrt(key_dim) scale.
            let w = &weights[b * frames * frames..][..frames * frames];
            for t in 0..frames {
                let (wr, dr) = (&w[t * frames..=t * frames + t], &mut d_weights[t * frames..(t + 1) * frames]);
                let dot: f32 = wr.iter().zip(dr.iter()).map(|(w, d)| w * d).sum();
                for (d, w) in dr[..=t].iter_mut().zip(wr) {
                    *d = w * (*d - dot) / norm;
                }
                dr[t + 1..].fill(0.0);
            }
            let q = View::new(&queries, b * frames * kd, [frames, kd], [kd, 1]);
            let k = View::new(&keys, b * frames * kd, [frames, kd], [kd, 1]);
            let d_s = View::rows(&d_weights, frames, frames);
            matmul(&mut d_q, 0, kd, false, d_s, k);
            matmul(&mut d_k, 0, kd, false, d_s.t(), q);
            for (d, w, gw, gb) in [
                (&d_q, &self.query, &mut grads.query, &mut grads.query_bias),
                (&d_k, &self.key, &mut grads.key, &mut grads.key_bias),
            ] {
                let d_view = View::rows(d, frames, kd);
                matmul(gw, 0, kd, true, rows_b.t(), d_view);
                for row in d.chunks_exact(kd) {
                    for (g, v) in gb.iter_mut().zip(row) {
                        *g += v;
                    }
                }
                matmul(&mut d_rows, b * frames * row_len, row_len, true, d_view, View::rows(w, row_len, kd).t());
            }
        }
        // The key bias adds q_t . b to every score of row t alike, which the softmax cancels:
        // its gradient is exactly zero (what is summed above is round-off).
        grads.key_bias.fill(0.0);
        drop(d_attended_rows);
        // Reduction 1x1 convolution (its bias is added in row layout).
        let mut d_reduced = x.like(a);
        for b in 0..batch {
            for t in 0..frames {
                let src = &d_rows[(b * frames + t) * row_len..][..row_len];
                for (f, pixel) in d_reduced.frame_mut(b, t).chunks_exact_mut(a).enumerate() {
                    for (ai, v) in pixel.iter_mut().enumerate() {
                        *v = src[ai * bins + f];
                        grads.reduce_bias[ai] += *v;
                    }
                }
            }
        }
        let d_reduced_view = View::rows(&d_reduced.data, pixels, a);
        matmul(&mut grads.reduce, 0, a, true, View::rows(&x.data, pixels, c).t(), d_reduced_view);
        matmul(&mut d_x.data, 0, c, true, d_reduced_view, View::rows(&self.reduce, c, a).t());
        d_x.clear_border();
        d_x
    }
}

/// `[batch][frames][a * bins]` rows (channel-major within a row) into a channels-last map.
fn rows_to_pixels(rows: &[f32], map: &mut Maps) {
    let (a, bins) = (map.channels, map.bins);
    for b in 0..map.batch {
        for t in 0..map.frames {
            let src = &rows[(b * map.frames + t) * a * bins..][..a * bins];
            for (f, pixel) in map.frame_mut(b, t).chunks_exact_mut(a).enumerate() {
                for (ai, v) in pixel.iter_mut().enumerate() {
                    *v = src[ai * bins + f];
                }
            }
        }
    }
}

/// The inverse of [`rows_to_pixels`].
fn pixels_to_rows(map: &Maps, rows: &mut [f32]) {
    let (a, bins) = (map.channels, map.bins);
    for b in 0..map.batch {
        for t in 0..map.frames {
            let dst = &mut rows[(b * map.frames + t) * a * bins..][..a * bins];
            for (f, pixel) in map.frame(b, t).chunks_exact(a).enumerate() {
                for (ai, v) in pixel.iter().enumerate() {
                    dst[ai * bins + f] = *v;
                }
            }
        }
    }
}

/// Columns `first..first + n` of a 1x1 convolution's weights (burn's `[out, in]`, `cols` inputs)
/// as an `[n, out]` matrix.
pub(crate) fn transpose_1x1(w: &[f32], out: usize, cols: usize, first: usize, n: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; n * out];
    for o in 0..out {
        for c in 0..n {
            t[c * out + o] = w[o * cols + first + c];
        }
    }
    t
}

impl AttentionGrads {
    /// The reduce, mix and linear weight gradients in burn's layouts:
    /// `(reduce [a, c], mix [c, c + a])` (1x1 convolutions as `[out, in]`).
    pub fn conv_weights_to_burn(&self, block: &Attention) -> (Vec<f32>, Vec<f32>) {
        let (c, a) = (block.channels, block.attention_channels);
        let mut reduce = vec![0.0f32; a * c];
        for ci in 0..c {
            for ai in 0..a {
                reduce[ai * c + ci] = self.reduce[ci * a + ai];
            }
        }
        let mut mix = vec![0.0f32; c * (c + a)];
        for o in 0..c {
            for ci in 0..c {
                mix[o * (c + a) + ci] = self.mix_x[ci * c + o];
            }
            for ai in 0..a {
                mix[o * (c + a) + c + ai] = self.mix_a[ai * c + o];
            }
        }
        (reduce, mix)
    }
}
