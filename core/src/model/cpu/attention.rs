//! The attention block (see [`crate::model::attention`]) on [`Maps`], forward and backward:
//! the 1x1 convolutions are products over all pixels of the batch; the per-frame rows, the
//! query/key projections and the causal softmax run per example, the examples over the threads.

use super::gemm::{View, matmul};
use super::maps::Maps;
use super::par::map_indices;
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

/// What the backward pass needs: per example, its [`ExampleTape`]; the attended map.
#[derive(Debug)]
pub(crate) struct AttentionTape {
    examples: Vec<ExampleTape>,
    attended: Maps,
}

/// One example's rows (`[frames, a * bins]`), queries and keys (`[frames, key_dim]`) and
/// attention weights (`[frames, frames]`).
#[derive(Debug)]
struct ExampleTape {
    rows: Vec<f32>,
    queries: Vec<f32>,
    keys: Vec<f32>,
    weights: Vec<f32>,
}

/// One example's share of the backward pass: the gradient of its rows and its parts of the
/// projections' and the reduction bias's gradients.
struct ExampleGrads {
    d_rows: Vec<f32>,
    query: Vec<f32>,
    query_bias: Vec<f32>,
    key: Vec<f32>,
    reduce_bias: Vec<f32>,
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
        let (c, a) = (self.channels, self.attention_channels);
        debug_assert_eq!(x.channels, c);
        let (frames, row_len) = (x.frames, a * x.bins);
        let pixels = x.pixels();
        let mut reduced = x.like(a);
        matmul(&mut reduced.data, 0, a, false, View::rows(&x.data, pixels, c), View::rows(&self.reduce, c, a));
        let per_example = map_indices(x.batch, |b| self.example_forward(&reduced, b, span));
        drop(reduced);
        let mut attended = x.like(a);
        attended.for_each_frame_mut(|r, frame| {
            row_to_pixels(&per_example[r / frames].1[(r % frames) * row_len..][..row_len], a, frame);
        });
        let examples = per_example.into_iter().map(|(tape, _)| tape).collect();
        let mut out = x.like(c);
        matmul(&mut out.data, 0, c, false, View::rows(&x.data, pixels, c), View::rows(&self.mix_x, c, c));
        matmul(&mut out.data, 0, c, true, View::rows(&attended.data, pixels, a), View::rows(&self.mix_a, a, c));
        // The borders of x and of the attended map are zero and the bias goes to real pixels
        // only, so the output's border stays zero.
        out.for_each_frame_mut(|_, frame| {
            for pixel in frame.chunks_exact_mut(c) {
                for (v, b) in pixel.iter_mut().zip(&self.mix_bias) {
                    *v += b;
                }
            }
        });
        (out, AttentionTape { examples, attended })
    }

    /// Example `b`'s rows, projections and causal softmax, from the reduced map: its tape and
    /// its attended rows (`[frames, a * bins]`).
    fn example_forward(&self, reduced: &Maps, b: usize, span: AttentionSpan) -> (ExampleTape, Vec<f32>) {
        let (a, kd, frames, bins) = (self.attention_channels, self.key_dim, reduced.frames, reduced.bins);
        let row_len = a * bins;
        let mut rows = vec![0.0f32; frames * row_len];
        for (t, row) in rows.chunks_exact_mut(row_len).enumerate() {
            pixels_to_row(reduced.frame(b, t), a, row);
            for (channel, bias) in row.chunks_exact_mut(bins).zip(&self.reduce_bias) {
                channel.iter_mut().for_each(|v| *v += bias);
            }
        }
        let rows_view = View::rows(&rows, frames, row_len);
        let project = |w: &[f32], bias: &[f32]| {
            let mut out = vec![0.0f32; frames * kd];
            for row in out.chunks_exact_mut(kd) {
                row.copy_from_slice(bias);
            }
            matmul(&mut out, 0, kd, true, rows_view, View::rows(w, row_len, kd));
            out
        };
        let (queries, keys) = (project(&self.query, &self.query_bias), project(&self.key, &self.key_bias));
        let mut weights = vec![0.0f32; frames * frames];
        let (q, k) = (View::rows(&queries, frames, kd), View::rows(&keys, frames, kd));
        matmul(&mut weights, 0, frames, false, q, k.t());
        let norm = (kd as f32).sqrt();
        // Causal softmax: frame t weighs frames 0..first and recent..=t.
        for (t, row) in weights.chunks_exact_mut(frames).enumerate() {
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
        let mut attended_rows = vec![0.0f32; frames * row_len];
        matmul(&mut attended_rows, 0, row_len, false, View::rows(&weights, frames, frames), rows_view);
        (ExampleTape { rows, queries, keys, weights }, attended_rows)
    }

    /// Adds the parameter gradients for `d_out` (zero outside real pixels) to `grads` and
    /// returns the gradient with respect to `x` (border zero).
    pub fn backward(&self, x: &Maps, tape: AttentionTape, d_out: &Maps, grads: &mut AttentionGrads) -> Maps {
        let (c, a) = (self.channels, self.attention_channels);
        let (frames, row_len) = (x.frames, a * x.bins);
        let pixels = x.pixels();
        let AttentionTape { examples, attended } = tape;
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
        let per_example = map_indices(x.batch, |b| self.example_backward(&examples[b], &d_attended, b));
        drop(d_attended);
        let add = |sum: &mut [f32], part: &[f32]| sum.iter_mut().zip(part).for_each(|(s, p)| *s += p);
        for example in &per_example {
            add(&mut grads.query, &example.query);
            add(&mut grads.query_bias, &example.query_bias);
            add(&mut grads.key, &example.key);
            add(&mut grads.reduce_bias, &example.reduce_bias);
        }
        // The key bias adds q_t . b to every score of row t alike, which the softmax cancels:
        // its gradient is exactly zero.
        grads.key_bias.fill(0.0);
        // Reduction 1x1 convolution (its bias is added in row layout).
        let mut d_reduced = x.like(a);
        d_reduced.for_each_frame_mut(|r, frame| {
            row_to_pixels(&per_example[r / frames].d_rows[(r % frames) * row_len..][..row_len], a, frame);
        });
        drop(per_example);
        let d_reduced_view = View::rows(&d_reduced.data, pixels, a);
        matmul(&mut grads.reduce, 0, a, true, View::rows(&x.data, pixels, c).t(), d_reduced_view);
        matmul(&mut d_x.data, 0, c, true, d_reduced_view, View::rows(&self.reduce, c, a).t());
        d_x.clear_border();
        d_x
    }

    /// Example `b`'s share of the backward pass through the attention, softmax and
    /// projections, from the gradient of the attended map.
    fn example_backward(&self, tape: &ExampleTape, d_attended: &Maps, b: usize) -> ExampleGrads {
        let (a, kd, frames, bins) = (self.attention_channels, self.key_dim, d_attended.frames, d_attended.bins);
        let row_len = a * bins;
        let mut d_attended_rows = vec![0.0f32; frames * row_len];
        for (t, row) in d_attended_rows.chunks_exact_mut(row_len).enumerate() {
            pixels_to_row(d_attended.frame(b, t), a, row);
        }
        let rows = View::rows(&tape.rows, frames, row_len);
        let d_att = View::rows(&d_attended_rows, frames, row_len);
        let mut d_weights = vec![0.0f32; frames * frames];
        matmul(&mut d_weights, 0, frames, false, d_att, rows.t());
        let mut d_rows = vec![0.0f32; frames * row_len];
        matmul(&mut d_rows, 0, row_len, false, View::rows(&tape.weights, frames, frames).t(), d_att);
        // Softmax backward (on the scaled scores), then the 1 / sqrt(key_dim) scale.
        let norm = (kd as f32).sqrt();
        for (t, (wr, dr)) in tape.weights.chunks_exact(frames).zip(d_weights.chunks_exact_mut(frames)).enumerate() {
            let dot: f32 = wr[..=t].iter().zip(dr.iter()).map(|(w, d)| w * d).sum();
            for (d, w) in dr[..=t].iter_mut().zip(wr) {
                *d = w * (*d - dot) / norm;
            }
            dr[t + 1..].fill(0.0);
        }
        let (q, k) = (View::rows(&tape.queries, frames, kd), View::rows(&tape.keys, frames, kd));
        let d_s = View::rows(&d_weights, frames, frames);
        let mut d_q = vec![0.0f32; frames * kd];
        matmul(&mut d_q, 0, kd, false, d_s, k);
        let mut d_k = vec![0.0f32; frames * kd];
        matmul(&mut d_k, 0, kd, false, d_s.t(), q);
        let mut weight_grads = [vec![0.0f32; row_len * kd], vec![0.0f32; row_len * kd]];
        for ((d, w), grad) in [(&d_q, &self.query), (&d_k, &self.key)].into_iter().zip(&mut weight_grads) {
            let d_view = View::rows(d, frames, kd);
            matmul(grad, 0, kd, false, rows.t(), d_view);
            matmul(&mut d_rows, 0, row_len, true, d_view, View::rows(w, row_len, kd).t());
        }
        let mut query_bias = vec![0.0f32; kd];
        for row in d_q.chunks_exact(kd) {
            query_bias.iter_mut().zip(row).for_each(|(g, v)| *g += v);
        }
        let mut reduce_bias = vec![0.0f32; a];
        for row in d_rows.chunks_exact(row_len) {
            for (g, channel) in reduce_bias.iter_mut().zip(row.chunks_exact(bins)) {
                *g += channel.iter().sum::<f32>();
            }
        }
        let [query, key] = weight_grads;
        ExampleGrads { d_rows, query, query_bias, key, reduce_bias }
    }
}

/// One frame of a channels-last map (`[bins][a]`) as a channel-major row (`[a][bins]`).
fn pixels_to_row(frame: &[f32], a: usize, row: &mut [f32]) {
    let bins = frame.len() / a;
    for (f, pixel) in frame.chunks_exact(a).enumerate() {
        for (ai, v) in pixel.iter().enumerate() {
            row[ai * bins + f] = *v;
        }
    }
}

/// The inverse of [`pixels_to_row`].
fn row_to_pixels(row: &[f32], a: usize, frame: &mut [f32]) {
    let bins = frame.len() / a;
    for (f, pixel) in frame.chunks_exact_mut(a).enumerate() {
        for (ai, v) in pixel.iter_mut().enumerate() {
            *v = row[ai * bins + f];
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
