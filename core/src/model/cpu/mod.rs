//! PoCoNet on the CPU, for inference and training: one implementation of the network on
//! channels-last feature maps, with a hand-written backward pass.
//!
//! [`PoCoNet::masks`] runs the network as burn tensor operations (any device, autodiff). On the
//! CPU that spends more time around the convolutions than in them: burn's generic convolution
//! gathers an im2col matrix, its backward computes the weight gradient as a convolution with a
//! frames x bins kernel and the input gradient through col2im, the DenseNet blocks copy their
//! growing concatenations, and every intermediate is allocated afresh. This module is the same
//! network, layer for layer:
//!
//! - activations are [`Maps`]: channels-last with a zero border, so a causal 3x3 convolution
//!   and both of its gradients are, per time tap, one matrix product over a zero-copy view of
//!   overlapping windows ([`conv`]), computed by the `gemm` crate on both cores ([`gemm`]);
//! - a concatenation is never built: a convolution over `cat(a, b, ...)` is the sum of
//!   convolutions over the parts (DenseNet inputs, the decoder's upsampled input and skip);
//! - for inference batch norm is folded into the convolution before it (running statistics);
//!   for training it uses the batch's statistics, fused with ReLU ([`dense`]);
//! - [`train`] adds the loss (Eq. 2-3 through the inverse STFT and the STFT) and the backward
//!   pass, and hands burn's optimiser the gradients.
//!
//! The masks equal [`PoCoNet::masks`] up to float round-off, and the gradients equal burn
//! autodiff's on the tensor graph (both tested).

mod attention;
mod conv;
mod dense;
mod gemm;
mod kernels;
mod maps;
mod norm_frames;
mod par;
mod pool;
mod stream;
pub mod train;
mod winograd;

use super::poconet::{MODEL_BINS, PoCoNet};
use super::positional::frequency_embedding;
use attention::{Attention, AttentionTape};
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use dense::{Dense, DenseTape};
use gemm::{View, matmul};
use maps::Maps;
use pool::{downsample, upsample};
pub use stream::NetworkStream;

/// The network on the CPU. Built from a [`PoCoNet`] (any device) for inference ([`Self::new`],
/// batch norm folded) or training ([`Self::for_training`], batch statistics).
#[derive(Clone, Debug)]
pub struct CpuPoCoNet {
    encoder: Vec<Dense>,
    encoder_attention: Vec<Attention>,
    bottleneck: Dense,
    bottleneck_attention: Attention,
    decoder: Vec<Dense>,
    decoder_attention: Vec<Attention>,
    /// The output 1x1 convolution as `[channels, 4]` (vocals re, im; accompaniment re, im).
    output: Vec<f32>,
    output_bias: Vec<f32>,
    levels: usize,
    positional_dims: usize,
    training: bool,
    /// Which frames each frame attends to (at full resolution); all of its past in training
    /// and by default.
    attention_span: AttentionSpan,
}

/// The frames a frame attends to: the sequence's first `first` frames and its own last `recent`
/// (itself included). Every frame of a training window can attend to the window's start, whose
/// frames are unlike the others (the causal convolutions read zeros before them); a stream that
/// only kept the recent past would lose them, so it keeps the first frames too, as streaming
/// transformers keep their first tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionSpan {
    pub first: usize,
    pub recent: usize,
}

impl AttentionSpan {
    /// All of the past.
    pub const ALL: Self = Self { first: 0, recent: usize::MAX };

    /// The same stretches of time at U-Net level `level`, in that level's coarser frames.
    pub fn at_level(self, level: usize) -> Self {
        let coarse = |n: usize| if n == usize::MAX || n == 0 { n } else { n.div_ceil(1 << level) };
        Self { first: coarse(self.first), recent: coarse(self.recent).max(1) }
    }

    /// The frames frame `t` attends to: `0..a` and `b..=t` (`a <= b <= t + 1`).
    pub(crate) fn of_frame(self, t: usize) -> (usize, usize) {
        let a = self.first.min(t + 1);
        (a, self.first.max((t + 1).saturating_sub(self.recent)).min(t + 1))
    }
}

/// Everything one forward pass computed that its backward pass needs (inference keeps only
/// what the next layer reads).
#[derive(Debug, Default)]
struct Tape {
    /// Per level, the encoder block's input.
    encoder_inputs: Vec<Maps>,
    encoder: Vec<(DenseTape, AttentionTape)>,
    /// Per level, the encoder attention's output (the skip connection).
    skips: Vec<Maps>,
    bottleneck_input: Option<Maps>,
    bottleneck: Option<(DenseTape, AttentionTape)>,
    /// Per decoder block, its upsampled input and the tapes.
    decoder_inputs: Vec<Maps>,
    decoder: Vec<(DenseTape, AttentionTape)>,
    /// The last decoder attention's output (the output convolution's input).
    top: Option<Maps>,
}

impl CpuPoCoNet {
    /// For inference (batch norm folded into the convolutions, running statistics).
    pub fn new(model: &PoCoNet) -> Self {
        Self::build(model, false)
    }

    /// For training (batch norm with the batch's statistics).
    pub fn for_training(model: &PoCoNet) -> Self {
        Self::build(model, true)
    }

    fn build(model: &PoCoNet, training: bool) -> Self {
        let [out_channels, channels, _, _] = model.output.weight.dims();
        assert_eq!(out_channels, 4, "the output convolution has 4 channels");
        let w = values(model.output.weight.val());
        let input_channels = |block: &super::DenseBlock| block.convs[0].weight.dims()[1];
        let encoder = model.encoder.iter().map(|block| Dense::new(block, &[input_channels(block)], training)).collect();
        let bottleneck = Dense::new(&model.bottleneck, &[input_channels(&model.bottleneck)], training);
        // A decoder block reads cat(upsampled coarser output, skip).
        let mut decoder = Vec::new();
        let mut coarse = bottleneck.channels;
        for block in &model.decoder {
            let dense = Dense::new(block, &[coarse, input_channels(block) - coarse], training);
            coarse = dense.channels;
            decoder.push(dense);
        }
        Self {
            encoder,
            encoder_attention: model.encoder_attention.iter().map(Attention::new).collect(),
            bottleneck,
            bottleneck_attention: Attention::new(&model.bottleneck_attention),
            decoder,
            decoder_attention: model.decoder_attention.iter().map(Attention::new).collect(),
            output: attention::transpose_1x1(&w, 4, channels, 0, channels),
            output_bias: bias_values(&model.output, 4),
            levels: model.levels,
            positional_dims: model.positional_dims,
            training,
            attention_span: AttentionSpan::ALL,
        }
    }

    /// For inference with each frame's attention limited to `span`: what the streaming
    /// separator ([`NetworkStream`]) computes, frame for frame.
    pub fn with_attention_span(mut self, span: AttentionSpan) -> Self {
        assert!(span.recent > 0, "a frame attends at least to itself");
        self.attention_span = span;
        self
    }

    /// U-Net levels below full resolution (frames are pooled `2^levels` to one at the bottom).
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// The vocal mask of [`PoCoNet::masks`] (source 0) for one mixture.
    ///
    /// `mixture`: the model STFT, frame-major `[frames][513][2]` (real, imaginary). Returns the
    /// complex mask in the same layout.
    pub fn vocal_mask(&self, mixture: &[f32], frames: usize) -> Vec<f32> {
        let input = self.input(&[mixture], frames);
        let (raw, _) = self.forward(input);
        let n_bins = MODEL_BINS + 1;
        let mut mask = vec![0.0f32; frames * n_bins * 2];
        for (t, row) in mask.chunks_exact_mut(n_bins * 2).enumerate() {
            for (dst, src) in row.chunks_exact_mut(2).zip(raw.frame(0, t).chunks_exact(4)) {
                let [vocals, _] = consistent_masks(src);
                dst.copy_from_slice(&vocals);
            }
            // The Nyquist bin has no estimate: both masks are 0.5.
            row[MODEL_BINS * 2] = 0.5;
            row[MODEL_BINS * 2 + 1] = 0.0;
        }
        mask
    }

    /// The network's input for a batch of mixtures (each the model STFT `[frames][513][2]`):
    /// real and imaginary parts scaled to unit RMS per example, then the positional embedding;
    /// frames past the end, up to a multiple of `2^levels`, are zero (the padding of `masks`).
    fn input(&self, mixtures: &[&[f32]], frames: usize) -> Maps {
        let n_bins = MODEL_BINS + 1;
        let bins = MODEL_BINS;
        let unit = 1 << self.levels;
        let padded = frames.div_ceil(unit) * unit;
        let k = self.positional_dims;
        let mut input = Maps::zeros(mixtures.len(), padded, bins, 2 + k);
        let embedding = frequency_embedding(bins, k);
        for (b, mixture) in mixtures.iter().enumerate() {
            assert_eq!(mixture.len(), frames * n_bins * 2, "mixture is not [frames][513][2]");
            let rms = input_rms(mixture.chunks_exact(n_bins * 2));
            for t in 0..frames {
                input_frame(input.frame_mut(b, t), &mixture[t * n_bins * 2..][..n_bins * 2], rms, &embedding);
            }
        }
        input
    }

    /// The U-Net: returns the output convolution's 4 channels (before mixture consistency) and
    /// the tape (empty for inference).
    fn forward(&self, input: Maps) -> (Maps, Tape) {
        let mut tape = Tape::default();
        let keep = self.training;
        let mut h = input;
        for (level, (block, attention)) in self.encoder.iter().zip(&self.encoder_attention).enumerate() {
            let (y, dense, att) = self.level(level, block, attention, &[&h]);
            let next = downsample(&y);
            if keep {
                tape.encoder_inputs.push(h);
                tape.encoder.push((dense, att));
            }
            tape.skips.push(y);
            h = next;
        }
        let (y, dense, att) = self.level(self.levels, &self.bottleneck, &self.bottleneck_attention, &[&h]);
        if keep {
            tape.bottleneck_input = Some(h);
            tape.bottleneck = Some((dense, att));
        }
        h = y;
        let mut skips: Vec<&Maps> = tape.skips.iter().collect();
        let mut decoded = Vec::new();
        for (d, (block, attention)) in self.decoder.iter().zip(&self.decoder_attention).enumerate() {
            let skip = skips.pop().expect("one skip per level");
            let up = upsample(&h);
            let (y, dense, att) = self.level(self.levels - 1 - d, block, attention, &[&up, skip]);
            if keep {
                decoded.push((up, dense, att));
            }
            h = y;
        }
        drop(skips);
        for (up, dense, att) in decoded {
            tape.decoder_inputs.push(up);
            tape.decoder.push((dense, att));
        }
        let mut raw = h.like(4);
        matmul(
            &mut raw.data,
            0,
            4,
            false,
            View::rows(&h.data, h.pixels(), h.channels),
            View::rows(&self.output, h.channels, 4),
        );
        raw.for_each_pixel_mut(|pixel| {
            for (v, b) in pixel.iter_mut().zip(&self.output_bias) {
                *v += b;
            }
        });
        if keep {
            tape.top = Some(h);
        }
        (raw, tape)
    }

    /// One dense block and its attention; inference drops the block's intermediate outputs.
    fn level(
        &self,
        level: usize,
        block: &Dense,
        attention: &Attention,
        inputs: &[&Maps],
    ) -> (Maps, DenseTape, AttentionTape) {
        let mut dense = block.forward(inputs);
        let span = self.attention_span.at_level(level);
        let (y, att) = attention.forward(dense.outputs.last().expect("a dense block has layers"), span);
        if !self.training {
            dense.outputs.clear();
        }
        (y, dense, att)
    }
}

/// The level the network's input is scaled by: the RMS of the real and imaginary parts of
/// `frames` (each a model STFT frame `[513][2]`; the Nyquist bin, which the network does not
/// see, left out), so the masks do not depend on the song's loudness.
pub(crate) fn input_rms<'a>(frames: impl Iterator<Item = &'a [f32]>) -> f32 {
    let (mut energy, mut count) = (0.0f64, 0usize);
    for frame in frames {
        energy += frame_energy(frame);
        count += 1;
    }
    rms_of(energy, count)
}

/// The energy of one model STFT frame `[513][2]` that [`input_rms`] counts (the Nyquist bin
/// left out).
pub fn frame_energy(frame: &[f32]) -> f64 {
    frame[..MODEL_BINS * 2].iter().map(|v| (*v as f64).powi(2)).sum()
}

/// [`input_rms`] of `frames` frames whose [`frame_energy`] adds up to `energy`.
pub fn rms_of(energy: f64, frames: usize) -> f32 {
    ((energy / (frames * MODEL_BINS * 2).max(1) as f64) as f32 + 1e-10).sqrt()
}

/// One frame of the network's input (`pixels`: `[512][2 + k]`) from a model STFT frame
/// (`[513][2]`): real and imaginary parts divided by `rms`, then the positional embedding.
pub(crate) fn input_frame(pixels: &mut [f32], frame: &[f32], rms: f32, embedding: &[Vec<f32>]) {
    let channels = 2 + embedding.len();
    for (f, pixel) in pixels.chunks_exact_mut(channels).enumerate() {
        pixel[0] = frame[2 * f] / rms;
        pixel[1] = frame[2 * f + 1] / rms;
        for (j, row) in embedding.iter().enumerate() {
            pixel[2 + j] = row[f];
        }
    }
}

/// The masks of both sources at one pixel from the output convolution's 4 channels, projected
/// onto mixture consistency (they sum to 1 + 0i): `[vocals, accompaniment]`, each (re, im).
fn consistent_masks(raw: &[f32]) -> [[f32; 2]; 2] {
    let diff = [0.5 * (raw[0] - raw[2]), 0.5 * (raw[1] - raw[3])];
    [[0.5 + diff[0], diff[1]], [0.5 - diff[0], -diff[1]]]
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_into_vec_as::<f32>().expect("float weights")
}

fn bias_values(conv: &Conv2d, channels: usize) -> Vec<f32> {
    conv.bias.as_ref().map(|b| values(b.val())).unwrap_or_else(|| vec![0.0; channels])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DenseBlock, PoCoNetConfig};
    use burn::module::{Param, RunningState};
    use burn::tensor::{Device, Distribution, Tensor};

    /// Batch norms with non-trivial statistics, as after training (a fresh model's are 0 / 1).
    /// Also used by the training tests (`train::tests`).
    pub(super) fn randomise_norms(block: &mut DenseBlock, device: &Device) {
        for norm in &mut block.norms {
            let [n] = norm.gamma.dims();
            let uniform = |lo, hi| Tensor::<1>::random([n], Distribution::Uniform(lo, hi), device);
            norm.gamma = Param::from_tensor(uniform(0.5, 1.5));
            norm.beta = Param::from_tensor(uniform(-0.5, 0.5));
            norm.running_mean = RunningState::new(uniform(-0.3, 0.3));
            norm.running_var = RunningState::new(uniform(0.3, 2.0));
        }
    }

    pub(super) fn random_model(config: PoCoNetConfig, device: &Device) -> PoCoNet {
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
