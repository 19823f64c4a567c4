//! PoCoNet compiled for inference on the CPU (burn's `flex` backend).
//!
//! [`PoCoNet::masks`] runs the network as burn tensor operations, which is what training needs
//! (autodiff, any device). On the CPU that spends more time around the convolutions than in
//! them: burn's generic convolution transposes every input to channels-last, gathers an im2col
//! matrix element by element, has gemm re-pack it, and allocates (and page-faults) every
//! intermediate afresh; the DenseNet blocks copy their growing concatenations. This module is
//! the same network for inference only:
//!
//! - batch normalisation is folded into the convolution before it (running statistics), and
//!   the output projection is reduced to the vocal mask's two channels;
//! - activations are channels-last buffers with a zero border (two frames before the first,
//!   one bin either side), so the 3x3 window of a pixel's three frequency neighbours is one
//!   contiguous run of memory: a convolution is, per time tap, one gemm product over a
//!   zero-copy view of overlapping windows (burn's `unfold`), with no im2col copy at all;
//! - a concatenation is never built: a convolution over `cat(a, b, ...)` is the sum of
//!   convolutions over the parts (DenseNet inputs, the decoder's upsampled input and skip);
//! - burn's `matmul` (gemm, multi-threaded) does the arithmetic, in tiles of frames whose
//!   partial products are summed with the bias and ReLU on the way out.
//!
//! The masks equal [`PoCoNet::masks`] up to float round-off (tested below).

use super::attention::CausalFrameAttention;
use super::dense_block::DenseBlock;
use super::poconet::{MODEL_BINS, PoCoNet};
use super::positional::frequency_embedding;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor, TensorData};

/// Output pixels per convolution tile (whole frames, at least one).
const TILE_PIXELS: usize = 4096;

/// The network's vocal mask, for inference on the CPU. Built from a [`PoCoNet`] (any device);
/// runs on burn's `flex` backend.
#[derive(Debug)]
pub struct CpuPoCoNet {
    encoder: Vec<Dense>,
    encoder_attention: Vec<Attention>,
    bottleneck: Dense,
    bottleneck_attention: Attention,
    decoder: Vec<Dense>,
    decoder_attention: Vec<Attention>,
    /// `[channels, 2]`: half the difference of the vocal and accompaniment output channels
    /// (real, imaginary), which is what mixture consistency leaves of the vocal mask.
    output: Tensor<2>,
    output_bias: [f32; 2],
    levels: usize,
    positional_dims: usize,
    device: Device,
}

/// A feature map, channels-last with a zero border: `[frames + 2][bins + 2][channels]`, the
/// real pixel (t, f) at row t + 2, column f + 1.
struct Map {
    frames: usize,
    bins: usize,
    channels: usize,
    data: Vec<f32>,
}

impl Map {
    fn zeros(frames: usize, bins: usize, channels: usize) -> Self {
        Self { frames, bins, channels, data: vec![0.0; (frames + 2) * (bins + 2) * channels] }
    }

    /// Index of the first value of real pixel (t, f).
    fn at(&self, t: usize, f: usize) -> usize {
        ((t + 2) * (self.bins + 2) + f + 1) * self.channels
    }

    /// The real pixels of frame t, `[bins][channels]`.
    fn frame_mut(&mut self, t: usize) -> &mut [f32] {
        let start = self.at(t, 0);
        &mut self.data[start..start + self.bins * self.channels]
    }

    /// The whole buffer (border included) as a `[pixels, channels]` matrix.
    fn into_matrix(self, device: &Device) -> Tensor<2> {
        let pixels = (self.frames + 2) * (self.bins + 2);
        matrix(self.data, [pixels, self.channels], device)
    }
}

impl CpuPoCoNet {
    pub fn new(model: &PoCoNet) -> Self {
        let device = Device::flex();
        let d = &device;
        let output = &model.output;
        let [out_channels, channels, _, _] = output.weight.dims();
        assert_eq!(out_channels, 4, "the output convolution has 4 channels");
        let w = values(output.weight.val());
        let b = bias_values(output, 4);
        // Vocal mask after mixture consistency: 0.5 + (vocals - accompaniment) / 2.
        let mut half_diff = vec![0.0f32; channels * 2];
        for c in 0..channels {
            for part in 0..2 {
                half_diff[c * 2 + part] = 0.5 * (w[part * channels + c] - w[(2 + part) * channels + c]);
            }
        }
        let input_channels = |block: &DenseBlock| block.convs[0].weight.dims()[1];
        let mut encoder = Vec::new();
        for block in &model.encoder {
            encoder.push(Dense::new(block, &[input_channels(block)], d));
        }
        let bottleneck = Dense::new(&model.bottleneck, &[input_channels(&model.bottleneck)], d);
        // A decoder block reads cat(upsampled coarser output, skip).
        let mut decoder = Vec::new();
        let mut coarse = bottleneck.channels;
        for block in &model.decoder {
            let channels = block.convs[0].weight.dims()[0];
            decoder.push(Dense::new(block, &[coarse, input_channels(block) - coarse], d));
            coarse = channels;
        }
        Self {
            encoder,
            encoder_attention: model.encoder_attention.iter().map(|a| Attention::new(a, d)).collect(),
            bottleneck,
            bottleneck_attention: Attention::new(&model.bottleneck_attention, d),
            decoder,
            decoder_attention: model.decoder_attention.iter().map(|a| Attention::new(a, d)).collect(),
            output: matrix(half_diff, [channels, 2], d),
            output_bias: [0.5 * (b[0] - b[2]), 0.5 * (b[1] - b[3])],
            levels: model.levels,
            positional_dims: model.positional_dims,
            device,
        }
    }

    /// The vocal mask of [`PoCoNet::masks`] (source 0) for one mixture.
    ///
    /// `mixture`: the model STFT, frame-major `[frames][513][2]` (real, imaginary). Returns the
    /// complex mask in the same layout.
    pub fn vocal_mask(&self, mixture: &[f32], frames: usize) -> Vec<f32> {
        let n_bins = MODEL_BINS + 1;
        assert_eq!(mixture.len(), frames * n_bins * 2, "mixture is not [frames][513][2]");
        let bins = MODEL_BINS;
        let unit = 1 << self.levels;
        let padded = frames.div_ceil(unit) * unit;

        // Input channels: real and imaginary parts scaled to unit RMS, then the positional
        // embedding; frames past the end are zero (the padding of `masks`).
        let k = self.positional_dims;
        let mut input = Map::zeros(padded, bins, 2 + k);
        let energy: f64 =
            mixture.chunks_exact(n_bins * 2).flat_map(|frame| &frame[..bins * 2]).map(|v| (*v as f64).powi(2)).sum();
        let rms = ((energy / (2 * frames * bins).max(1) as f64) as f32 + 1e-10).sqrt();
        let embedding = frequency_embedding(bins, k);
        for t in 0..frames {
            let source = &mixture[t * n_bins * 2..][..bins * 2];
            for (f, pixel) in input.frame_mut(t).chunks_exact_mut(2 + k).enumerate() {
                pixel[0] = source[2 * f] / rms;
                pixel[1] = source[2 * f + 1] / rms;
                for (j, row) in embedding.iter().enumerate() {
                    pixel[2 + j] = row[f];
                }
            }
        }

        let d = &self.device;
        let mut h = input;
        let mut skips = Vec::with_capacity(self.levels);
        for (block, attention) in self.encoder.iter().zip(&self.encoder_attention) {
            let y = attention.forward(block.forward(vec![h], d), d);
            h = downsample(&y);
            skips.push(y);
        }
        h = self.bottleneck_attention.forward(self.bottleneck.forward(vec![h], d), d);
        for (block, attention) in self.decoder.iter().zip(&self.decoder_attention) {
            let skip = skips.pop().expect("one skip per level");
            h = attention.forward(block.forward(vec![upsample(&h), skip], d), d);
        }

        let (map_frames, map_bins) = (h.frames, h.bins);
        let probe = Map { frames: map_frames, bins: map_bins, channels: 2, data: Vec::new() };
        let raw = h.into_matrix(d).matmul(self.output.clone()).into_data();
        let raw = slice(&raw);
        let mut mask = vec![0.0f32; frames * n_bins * 2];
        for t in 0..frames {
            let row = &mut mask[t * n_bins * 2..(t + 1) * n_bins * 2];
            let source = &raw[probe.at(t, 0)..][..bins * 2];
            for (dst, src) in row[..bins * 2].chunks_exact_mut(2).zip(source.chunks_exact(2)) {
                dst[0] = 0.5 + (src[0] + self.output_bias[0]);
                dst[1] = src[1] + self.output_bias[1];
            }
            // The Nyquist bin has no estimate: both masks are 0.5.
            row[bins * 2] = 0.5;
            row[bins * 2 + 1] = 0.0;
        }
        mask
    }
}

/// A DenseNet block with batch norm folded into its convolutions.
#[derive(Debug)]
struct Dense {
    channels: usize,
    layers: Vec<DenseConv>,
}

impl Dense {
    /// `input_parts`: the channel counts of the maps the block's input concatenates.
    fn new(block: &DenseBlock, input_parts: &[usize], device: &Device) -> Self {
        let channels = block.convs[0].weight.dims()[0];
        let layers = block
            .convs
            .iter()
            .zip(&block.norms)
            .enumerate()
            .map(|(i, (conv, norm))| {
                let parts: Vec<usize> = input_parts.iter().copied().chain(std::iter::repeat_n(channels, i)).collect();
                DenseConv::new(conv, norm, &parts, device)
            })
            .collect();
        Self { channels, layers }
    }

    /// `input`: the maps whose concatenation is the block's input. Returns the last layer's
    /// output.
    fn forward(&self, input: Vec<Map>, device: &Device) -> Map {
        let (frames, bins) = (input[0].frames, input[0].bins);
        let mut parts: Vec<Tensor<1>> = input.into_iter().map(|m| flat(m.data, device)).collect();
        let last = self.layers.len() - 1;
        for layer in &self.layers[..last] {
            let y = layer.forward(&parts, frames, bins);
            parts.push(flat(y.data, device));
        }
        self.layers[last].forward(&parts, frames, bins)
    }
}

/// A causal 3x3 convolution (two past frames, one bin either side) with batch norm and ReLU,
/// over an input given as parts (a concatenation along channels).
#[derive(Debug)]
struct DenseConv {
    out_channels: usize,
    /// Channels of each input part.
    parts: Vec<usize>,
    /// Per part, one `[3 * part channels, out]` matrix per time tap (0: two frames back,
    /// 2: the current frame); row `kf * channels + c` for frequency tap kf (0: the bin below).
    taps: Vec<[Tensor<2>; 3]>,
    bias: Vec<f32>,
}

impl DenseConv {
    fn new(conv: &Conv2d, norm: &BatchNorm, parts: &[usize], device: &Device) -> Self {
        let [cout, cin, kh, kw] = conv.weight.dims();
        assert_eq!([kh, kw], [3, 3], "dense-block convolutions are 3x3");
        assert_eq!(parts.iter().sum::<usize>(), cin, "input parts do not add up to the input channels");
        let w = values(conv.weight.val());
        let b = bias_values(conv, cout);
        let gamma = values(norm.gamma.val());
        let beta = values(norm.beta.val());
        let mean = values(norm.running_mean.value());
        let var = values(norm.running_var.value());
        // batch_norm(x) = (x - mean) / sqrt(var + eps) * gamma + beta, folded into the conv.
        let scale: Vec<f64> = (0..cout).map(|o| gamma[o] as f64 / (var[o] as f64 + norm.epsilon).sqrt()).collect();
        let bias = (0..cout).map(|o| ((b[o] as f64 - mean[o] as f64) * scale[o] + beta[o] as f64) as f32).collect();
        let mut taps = Vec::with_capacity(parts.len());
        let mut first = 0;
        for &n in parts {
            taps.push(std::array::from_fn(|kt| {
                let mut m = vec![0.0f32; 3 * n * cout];
                for kf in 0..3 {
                    for c in 0..n {
                        for o in 0..cout {
                            let weight = w[((o * cin + first + c) * 3 + kt) * 3 + kf];
                            m[(kf * n + c) * cout + o] = (weight as f64 * scale[o]) as f32;
                        }
                    }
                }
                matrix(m, [3 * n, cout], device)
            }));
            first += n;
        }
        Self { out_channels: cout, parts: parts.to_vec(), taps, bias }
    }

    /// `parts`: the input maps' buffers (see [`Map`]), flattened. Returns
    /// `relu(bn(conv(cat(parts))))`.
    fn forward(&self, parts: &[Tensor<1>], frames: usize, bins: usize) -> Map {
        let cout = self.out_channels;
        let mut out = Map::zeros(frames, bins, cout);
        let row = (bins + 2) * cout;
        let tile = (TILE_PIXELS / (bins + 2)).max(1);
        // Each tile writes its own frames (buffer rows t + 2).
        let tiles: Vec<(usize, &mut [f32])> =
            out.data[2 * row..].chunks_mut(tile * row).enumerate().map(|(i, rows)| (i * tile, rows)).collect();
        // Two threads take alternate tiles: while one sums its products (serial work), the
        // other's gemm has both cores.
        #[cfg(feature = "parallel")]
        {
            let (even, odd): (Vec<_>, Vec<_>) = tiles.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    for (_, (t0, rows)) in odd {
                        self.tile(parts, t0, bins, rows);
                    }
                });
                for (_, (t0, rows)) in even {
                    self.tile(parts, t0, bins, rows);
                }
            });
        }
        #[cfg(not(feature = "parallel"))]
        for (t0, rows) in tiles {
            self.tile(parts, t0, bins, rows);
        }
        out
    }

    /// The output frames starting at `t0` into `rows` (their buffer rows, whole frames).
    fn tile(&self, parts: &[Tensor<1>], t0: usize, bins: usize, rows: &mut [f32]) {
        let cout = self.out_channels;
        let width = bins + 2;
        let n = rows.len() / (width * cout);
        // Outputs for buffer pixels q = row * width + column over the tile's frames, from the
        // first real column of frame t0 to the last of frame t0 + n - 1 (border columns in
        // between are computed and dropped). Tap (kt, kf) of output q reads buffer pixel
        // q + kt * width + kf - 1: per kt, windows of 3 pixels starting at q + kt * width - 1.
        let first = t0 * width + 1;
        let len = n * width - 2;
        let mut products = Vec::with_capacity(3 * parts.len());
        for ((part, &channels), taps) in parts.iter().zip(&self.parts).zip(&self.taps) {
            for (kt, tap) in taps.iter().enumerate() {
                let start = (first + kt * width - 1) * channels;
                let windows: Tensor<2> =
                    part.clone().narrow(0, start, (len + 2) * channels).unfold(0, 3 * channels, channels);
                products.push(windows.matmul(tap.clone()).into_data());
            }
        }
        let products: Vec<&[f32]> = products.iter().map(slice).collect();
        for (t, frame) in rows.chunks_exact_mut(width * cout).enumerate() {
            let offset = t * width * cout;
            let dst = &mut frame[cout..(width - 1) * cout];
            dst.copy_from_slice(&products[0][offset..offset + dst.len()]);
            for product in &products[1..] {
                for (d, s) in dst.iter_mut().zip(&product[offset..]) {
                    *d += s;
                }
            }
            for pixel in dst.chunks_exact_mut(cout) {
                for (d, b) in pixel.iter_mut().zip(&self.bias) {
                    *d = (*d + b).max(0.0);
                }
            }
        }
    }
}

/// The attention block (see [`super::attention`]) on channels-last maps.
#[derive(Debug)]
struct Attention {
    channels: usize,
    attention_channels: usize,
    key_dim: usize,
    /// `[channels, a]`
    reduce: Tensor<2>,
    reduce_bias: Vec<f32>,
    /// `[a * bins, key_dim]` and `[1, key_dim]`
    query: Tensor<2>,
    query_bias: Tensor<2>,
    key: Tensor<2>,
    key_bias: Tensor<2>,
    /// The mixing 1x1 convolution split into its block-output and attended rows,
    /// `[channels, channels]` and `[a, channels]`.
    mix_x: Tensor<2>,
    mix_a: Tensor<2>,
    mix_bias: Vec<f32>,
}

impl Attention {
    fn new(block: &CausalFrameAttention, device: &Device) -> Self {
        let a = block.attention_channels;
        let [_, channels, _, _] = block.reduce.weight.dims();
        let reduce = values(block.reduce.weight.val());
        let mix = values(block.mix.weight.val());
        let width = channels + a;
        // Transposed 1x1 convolutions: [in, out].
        let transpose = |w: &[f32], rows: usize, cols: usize, first: usize, n: usize| {
            let mut t = vec![0.0f32; n * rows];
            for o in 0..rows {
                for c in 0..n {
                    t[c * rows + o] = w[o * cols + first + c];
                }
            }
            t
        };
        let linear = |l: &burn::nn::Linear| {
            let [d_in, d_out] = l.weight.dims();
            let bias = l.bias.as_ref().map(|b| values(b.val())).unwrap_or_else(|| vec![0.0; d_out]);
            (matrix(values(l.weight.val()), [d_in, d_out], device), matrix(bias, [1, d_out], device))
        };
        let (query, query_bias) = linear(&block.query);
        let (key, key_bias) = linear(&block.key);
        Self {
            channels,
            attention_channels: a,
            key_dim: block.key_dim,
            reduce: matrix(transpose(&reduce, a, channels, 0, channels), [channels, a], device),
            reduce_bias: bias_values(&block.reduce, a),
            query,
            query_bias,
            key,
            key_bias,
            mix_x: matrix(transpose(&mix, channels, width, 0, channels), [channels, channels], device),
            mix_a: matrix(transpose(&mix, channels, width, channels, a), [a, channels], device),
            mix_bias: bias_values(&block.mix, channels),
        }
    }

    fn forward(&self, x: Map, device: &Device) -> Map {
        let (c, a) = (self.channels, self.attention_channels);
        let (frames, bins) = (x.frames, x.bins);
        debug_assert_eq!(x.channels, c);
        let shape = Map { frames, bins, channels: a, data: Vec::new() };
        let x = x.into_matrix(device);
        // The reduced channels as one row per frame, [frames, a * bins].
        let reduced = x.clone().matmul(self.reduce.clone()).into_data();
        let reduced = slice(&reduced);
        let mut rows = vec![0.0f32; frames * a * bins];
        for t in 0..frames {
            let src = &reduced[shape.at(t, 0)..][..bins * a];
            let dst = &mut rows[t * a * bins..(t + 1) * a * bins];
            for (f, pixel) in src.chunks_exact(a).enumerate() {
                for (ai, v) in pixel.iter().enumerate() {
                    dst[ai * bins + f] = v + self.reduce_bias[ai];
                }
            }
        }
        let rows = matrix(rows, [frames, a * bins], device);
        let q = rows.clone().matmul(self.query.clone()).add(self.query_bias.clone());
        let k = rows.clone().matmul(self.key.clone()).add(self.key_bias.clone());
        let scores = q.matmul(k.transpose()).into_data();
        let scores = slice(&scores);
        // Causal softmax: frame t weighs frames 0..=t.
        let norm = (self.key_dim as f32).sqrt();
        let mut weights = vec![0.0f32; frames * frames];
        for t in 0..frames {
            let s = &scores[t * frames..=t * frames + t];
            let w = &mut weights[t * frames..=t * frames + t];
            let max = s.iter().fold(f32::NEG_INFINITY, |m, v| m.max(v / norm));
            let mut sum = 0.0f32;
            for (w, v) in w.iter_mut().zip(s) {
                *w = (v / norm - max).exp();
                sum += *w;
            }
            for w in w.iter_mut() {
                *w /= sum;
            }
        }
        let attended = matrix(weights, [frames, frames], device).matmul(rows).into_data();
        let attended = slice(&attended);
        // Channels-last, real pixels only: [frames * bins, a].
        let mut pixels = vec![0.0f32; frames * bins * a];
        for t in 0..frames {
            let src = &attended[t * a * bins..(t + 1) * a * bins];
            let dst = &mut pixels[t * bins * a..(t + 1) * bins * a];
            for ai in 0..a {
                for (f, v) in src[ai * bins..(ai + 1) * bins].iter().enumerate() {
                    dst[f * a + ai] = *v;
                }
            }
        }
        let mixed = matrix(pixels, [frames * bins, a], device).matmul(self.mix_a.clone()).into_data();
        let mixed = slice(&mixed);
        // The border of x is zero and the bias is added to real pixels only: it stays zero.
        let data = x.matmul(self.mix_x.clone()).into_data().try_into_vec::<f32>().expect("f32 output");
        let mut out = Map { frames, bins, channels: c, data };
        for t in 0..frames {
            let src = &mixed[t * bins * c..(t + 1) * bins * c];
            for (pixel, s) in out.frame_mut(t).chunks_exact_mut(c).zip(src.chunks_exact(c)) {
                for ((d, s), b) in pixel.iter_mut().zip(s).zip(&self.mix_bias) {
                    *d += s + b;
                }
            }
        }
        out
    }
}

/// Causal 2x2 average pooling (see [`super::resampling::downsample`]): coarse frame t
/// averages frames 2t - 1 (zero for t = 0: the border) and 2t.
fn downsample(x: &Map) -> Map {
    let c = x.channels;
    let mut out = Map::zeros(x.frames / 2, x.bins / 2, c);
    for t in 0..out.frames {
        // Frame 2t - 1 is row 2t + 1 of the buffer: the border row for t = 0.
        let previous = x.at(2 * t, 0) - (x.bins + 2) * c;
        let current = x.at(2 * t, 0);
        let dst = out.frame_mut(t);
        for (f, pixel) in dst.chunks_exact_mut(c).enumerate() {
            let (p, q) = (previous + 2 * f * c, current + 2 * f * c);
            for (i, d) in pixel.iter_mut().enumerate() {
                *d = (x.data[p + i] + x.data[p + c + i] + x.data[q + i] + x.data[q + c + i]) / 4.0;
            }
        }
    }
    out
}

/// 2x repetition in frames and bins.
fn upsample(x: &Map) -> Map {
    let c = x.channels;
    let mut out = Map::zeros(x.frames * 2, x.bins * 2, c);
    for t in 0..x.frames {
        let src = &x.data[x.at(t, 0)..][..x.bins * c];
        for row in [2 * t, 2 * t + 1] {
            for (pair, pixel) in out.frame_mut(row).chunks_exact_mut(2 * c).zip(src.chunks_exact(c)) {
                pair[..c].copy_from_slice(pixel);
                pair[c..].copy_from_slice(pixel);
            }
        }
    }
    out
}

fn matrix(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn flat(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_into_vec_as::<f32>().expect("float weights")
}

fn bias_values(conv: &Conv2d, channels: usize) -> Vec<f32> {
    conv.bias.as_ref().map(|b| values(b.val())).unwrap_or_else(|| vec![0.0; channels])
}

fn slice(data: &TensorData) -> &[f32] {
    data.as_slice::<f32>().expect("f32 tensor")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PoCoNetConfig;
    use burn::module::{Param, RunningState};
    use burn::tensor::Distribution;

    /// Batch norms with non-trivial statistics, as after training (a fresh model's are 0 / 1).
    fn randomise_norms(block: &mut DenseBlock, device: &Device) {
        for norm in &mut block.norms {
            let [n] = norm.gamma.dims();
            let uniform = |lo, hi| Tensor::<1>::random([n], Distribution::Uniform(lo, hi), device);
            norm.gamma = Param::from_tensor(uniform(0.5, 1.5));
            norm.beta = Param::from_tensor(uniform(-0.5, 0.5));
            norm.running_mean = RunningState::new(uniform(-0.3, 0.3));
            norm.running_var = RunningState::new(uniform(0.3, 2.0));
        }
    }

    fn random_model(config: PoCoNetConfig, device: &Device) -> PoCoNet {
        let mut model = config.init(device);
        for block in model.encoder.iter_mut().chain(model.decoder.iter_mut()) {
            randomise_norms(block, device);
        }
        randomise_norms(&mut model.bottleneck, device);
        model
    }

    #[test]
    fn folded_cpu_model_gives_the_same_vocal_mask() {
        let device = Device::flex();
        for (config, frames) in [
            (PoCoNetConfig::new().with_levels(2).with_base_channels(8).with_max_channels(16), 13),
            (PoCoNetConfig::new().with_levels(3).with_base_channels(6).with_max_channels(20), 40),
            (PoCoNetConfig::new().with_levels(1).with_base_channels(4).with_max_channels(4), 1),
        ] {
            let model = random_model(config, &device);
            let mixture = Tensor::<4>::random([1, frames, 513, 2], Distribution::Normal(0.0, 0.3), &device);
            let flat: Vec<f32> = mixture.to_data().try_to_vec::<f32>().unwrap();
            let expected: Vec<f32> = model.masks(mixture).narrow(1, 0, 1).into_data().try_to_vec::<f32>().unwrap();
            let got = CpuPoCoNet::new(&model).vocal_mask(&flat, frames);
            assert_eq!(got.len(), expected.len());
            let diff = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            let spread = expected.iter().map(|v| (v - 0.5).abs()).fold(0.0f32, f32::max);
            assert!(diff < 1e-4, "{frames} frames: masks differ by {diff}");
            assert!(spread > 1e-2, "the masks are trivial ({spread}), the test means nothing");
        }
    }
}
