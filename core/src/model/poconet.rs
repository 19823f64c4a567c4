//! PoCoNet as a singing-voice separator (paper Sec. 2.2): a causal-in-time U-Net of DenseNet
//! and attention blocks over the mixture's STFT (real and imaginary parts plus
//! frequency-positional embeddings), estimating a complex ratio mask per source.
//!
//! Choices we made where the paper is silent (docs/ARCHITECTURE.md):
//! - 513 bins do not halve cleanly, so the Nyquist bin is dropped (F = 512) and its mask is
//!   restored as zero before mixture consistency (which makes it 0.5 / 0.5).
//! - Down/up-sampling halves frames and bins causally (see [`super::pooling`]).
//! - The input is scaled by its RMS so the masks do not depend on the song's loudness.
//! - The two masks are projected onto mixture consistency: vocals + accompaniment = mixture
//!   exactly, so stems at 0 dB re-sum to the input.

use super::attention::{CausalFrameAttention, CausalFrameAttentionConfig};
use super::complex::complex_mul;
use super::dense_block::{DenseBlock, DenseBlockConfig};
use super::pooling::{downsample, upsample};
use super::positional::embedding_channels;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::ops::PadMode;
use serde::{Deserialize, Serialize};

/// Bins the network sees (513 minus the Nyquist bin).
pub const MODEL_BINS: usize = 512;

/// The paper's three model sizes (Tables 1-2): about 1.6 M, 8.3 M and 15.4 M parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Small,
    Medium,
    Large,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Small, Preset::Medium, Preset::Large];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Small => "small",
            Preset::Medium => "medium",
            Preset::Large => "large",
        }
    }

    /// Levels (down-samplings) and the channel cap; channels grow 32, 64, 128, 256 up to it.
    pub fn config(self) -> PoCoNetConfig {
        let (levels, max_channels) = match self {
            Preset::Small => (2, 96),
            Preset::Medium => (5, 128),
            Preset::Large => (4, 256),
        };
        PoCoNetConfig::new().with_levels(levels).with_max_channels(max_channels)
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown preset '{s}' (expected small, medium or large)"))
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Config, Debug, PartialEq)]
pub struct PoCoNetConfig {
    /// Number of down-sampling levels of the U-Net.
    #[config(default = 4)]
    pub levels: usize,
    /// Channels at the top level; doubled per level up to `max_channels`.
    #[config(default = 32)]
    pub base_channels: usize,
    #[config(default = 256)]
    pub max_channels: usize,
    /// Dimension k of the frequency-positional embedding (Eq. 1).
    #[config(default = 10)]
    pub positional_dims: usize,
    #[config(default = 5)]
    pub attention_channels: usize,
    #[config(default = 20)]
    pub attention_key_dim: usize,
}

impl PoCoNetConfig {
    /// Channels at each level, top to bottleneck.
    pub fn channels(&self) -> Vec<usize> {
        (0..=self.levels).map(|l| (self.base_channels << l).min(self.max_channels)).collect()
    }

    /// Multiply-accumulates of one forward pass per second of audio, counted analytically from
    /// the layer shapes (convolutions, attention projections and products), for windows of
    /// `window_seconds` (attention cost grows with the window). FLOPs = 2 x MACs.
    pub fn flops_per_second(&self, window_seconds: f64) -> f64 {
        let frames_per_second = crate::MODEL_SAMPLE_RATE as f64 / crate::HOP as f64;
        let context = window_seconds * frames_per_second;
        let ch = self.channels();
        let dense = |cin: usize, c: usize, bins: usize| -> f64 {
            (0..3).map(|i| 9.0 * (cin + i * c) as f64 * c as f64 * bins as f64).sum()
        };
        let attention = |c: usize, bins: usize, frames: f64| -> f64 {
            let a = self.attention_channels as f64;
            let (c, bins) = (c as f64, bins as f64);
            a * c * bins
                + 2.0 * a * bins * self.attention_key_dim as f64
                + frames / 2.0 * (self.attention_key_dim as f64 + a * bins)
                + (c + a) * c * bins
        };
        let mut macs = 0.0; // per fine frame
        let mut cin = 2 + self.positional_dims;
        for l in 0..=self.levels {
            let (bins, scale) = (MODEL_BINS >> l, (1u64 << l) as f64);
            let level_frames = context / scale;
            macs += (dense(cin, ch[l], bins) + attention(ch[l], bins, level_frames)) / scale;
            if l < self.levels {
                macs += (dense(ch[l + 1] + ch[l], ch[l], bins) + attention(ch[l], bins, level_frames)) / scale;
            }
            cin = ch[l];
        }
        macs += 4.0 * ch[0] as f64 * MODEL_BINS as f64;
        2.0 * macs * frames_per_second
    }

    pub fn init(&self, device: &Device) -> PoCoNet {
        assert!(MODEL_BINS >> self.levels >= 1, "too many levels for {MODEL_BINS} bins");
        let ch = self.channels();
        let attention = |c: usize, bins: usize| {
            CausalFrameAttentionConfig::new(c, bins)
                .with_attention_channels(self.attention_channels)
                .with_key_dim(self.attention_key_dim)
                .init(device)
        };
        let mut encoder = Vec::new();
        let mut encoder_attention = Vec::new();
        let mut in_ch = 2 + self.positional_dims;
        for l in 0..self.levels {
            encoder.push(DenseBlockConfig::new(in_ch, ch[l]).init(device));
            encoder_attention.push(attention(ch[l], MODEL_BINS >> l));
            in_ch = ch[l];
        }
        let bottleneck = DenseBlockConfig::new(in_ch, ch[self.levels]).init(device);
        let bottleneck_attention = attention(ch[self.levels], MODEL_BINS >> self.levels);
        let mut decoder = Vec::new();
        let mut decoder_attention = Vec::new();
        for l in (0..self.levels).rev() {
            decoder.push(DenseBlockConfig::new(ch[l + 1] + ch[l], ch[l]).init(device));
            decoder_attention.push(attention(ch[l], MODEL_BINS >> l));
        }
        PoCoNet {
            encoder,
            encoder_attention,
            bottleneck,
            bottleneck_attention,
            decoder,
            decoder_attention,
            output: Conv2dConfig::new([ch[0], 4], [1, 1]).init(device),
            levels: self.levels,
            positional_dims: self.positional_dims,
        }
    }
}

#[derive(Module, Debug)]
pub struct PoCoNet {
    pub(crate) encoder: Vec<DenseBlock>,
    pub(crate) encoder_attention: Vec<CausalFrameAttention>,
    pub(crate) bottleneck: DenseBlock,
    pub(crate) bottleneck_attention: CausalFrameAttention,
    pub(crate) decoder: Vec<DenseBlock>,
    pub(crate) decoder_attention: Vec<CausalFrameAttention>,
    pub(crate) output: Conv2d,
    pub(crate) levels: usize,
    pub(crate) positional_dims: usize,
}

impl PoCoNet {
    /// Complex masks for vocals and accompaniment.
    ///
    /// `mixture`: `[batch, frames, 513, 2]` (the model STFT). Returns `[batch, 2, frames, 513, 2]`
    /// with source 0 = vocals, 1 = accompaniment, projected so the two masks sum to 1 + 0i.
    pub fn masks(&self, mixture: Tensor<4>) -> Tensor<5> {
        let [batch, frames, _, _] = mixture.dims();
        let device = mixture.device();
        // [batch, 2, frames, 512], scaled to unit RMS.
        let x = mixture.narrow(2, 0, MODEL_BINS).permute([0, 3, 1, 2]);
        let rms = x.clone().powf_scalar(2.0).mean_dims(&[1, 2, 3]).add_scalar(1e-10).sqrt();
        let x = x.div(rms);
        let embedding = embedding_channels(batch, frames, MODEL_BINS, self.positional_dims, &device);
        let mut h = Tensor::cat(vec![x, embedding], 1);
        // Pad frames at the end to a multiple of 2^levels (causal: earlier frames unaffected).
        let unit = 1 << self.levels;
        let padded = frames.div_ceil(unit) * unit;
        if padded > frames {
            h = h.pad([(0, 0), (0, 0), (0, padded - frames), (0, 0)], PadMode::Constant(0.0));
        }

        let mut skips = Vec::with_capacity(self.levels);
        for (block, attention) in self.encoder.iter().zip(&self.encoder_attention) {
            let y = attention.forward(block.forward(h));
            h = downsample(y.clone());
            skips.push(y);
        }
        h = self.bottleneck_attention.forward(self.bottleneck.forward(h));
        for (block, attention) in self.decoder.iter().zip(&self.decoder_attention) {
            let skip = skips.pop().expect("one skip per level");
            h = attention.forward(block.forward(Tensor::cat(vec![upsample(h), skip], 1)));
        }
        // [batch, 4, frames, 512] -> [batch, 2 sources, frames, 512, 2 (re, im)]
        let raw = self.output.forward(h).narrow(2, 0, frames);
        let raw: Tensor<5> = raw.reshape([batch, 2, 2, frames, MODEL_BINS]).permute([0, 1, 3, 4, 2]);
        let raw = raw.pad([(0, 0), (0, 0), (0, 0), (0, 1), (0, 0)], PadMode::Constant(0.0));
        mixture_consistent(raw)
    }

    /// Masked spectrograms `[batch, 2, frames, 513, 2]` of vocals and accompaniment.
    pub fn separate_spectrogram(&self, mixture: Tensor<4>) -> Tensor<5> {
        let masks = self.masks(mixture.clone());
        let mixture: Tensor<5> = mixture.unsqueeze_dim(1);
        complex_mul(masks, mixture.repeat_dim(1, 2))
    }
}

/// Projects two complex masks so they sum to exactly 1 + 0i (the residual of the mixture is
/// shared equally), which makes the estimated sources add up to the mixture.
pub(crate) fn mixture_consistent(masks: Tensor<5>) -> Tensor<5> {
    let device = masks.device();
    let vocals = masks.clone().narrow(1, 0, 1);
    let accompaniment = masks.narrow(1, 1, 1);
    let diff = vocals.sub(accompaniment).mul_scalar(0.5);
    let half_one = Tensor::<1>::from_floats([0.5, 0.0], &device).reshape([1, 1, 1, 1, 2]);
    let vocals = half_one.clone().add(diff.clone());
    let accompaniment = half_one.sub(diff);
    Tensor::cat(vec![vocals, accompaniment], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;

    #[test]
    fn presets_have_the_papers_parameter_counts() {
        let device = Device::flex();
        for (preset, expected) in [(Preset::Small, 1.6e6), (Preset::Medium, 8.3e6), (Preset::Large, 15.4e6)] {
            let n = preset.config().init(&device).num_params() as f64;
            assert!((n - expected).abs() / expected < 0.10, "{preset}: {n} parameters, expected about {expected}");
        }
    }

    #[test]
    fn masks_have_the_right_shape_and_sum_to_one() {
        let device = Device::flex();
        let model = PoCoNetConfig::new().with_levels(2).with_max_channels(16).with_base_channels(8).init(&device);
        let mixture = Tensor::<4>::random([1, 13, 513, 2], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let masks = model.masks(mixture);
        assert_eq!(masks.dims(), [1, 2, 13, 513, 2]);
        let sum = masks.clone().narrow(1, 0, 1).add(masks.narrow(1, 1, 1));
        let re = sum.clone().narrow(4, 0, 1).sub_scalar(1.0).abs().max().into_scalar::<f32>();
        let im = sum.narrow(4, 1, 1).abs().max().into_scalar::<f32>();
        assert!(re < 1e-5 && im < 1e-5, "masks do not sum to 1: {re} {im}");
    }

    #[test]
    fn the_network_is_causal_in_time() {
        let device = Device::flex();
        let model = PoCoNetConfig::new().with_levels(2).with_max_channels(16).with_base_channels(8).init(&device);
        let a = Tensor::<4>::random([1, 16, 513, 2], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        // Same RMS normalisation for both: change late frames by a sign flip (keeps energy).
        let b = a.clone().slice_assign([0..1, 12..16, 0..513, 0..2], a.clone().narrow(1, 12, 4).neg());
        let ma = model.masks(a).narrow(2, 0, 12);
        let mb = model.masks(b).narrow(2, 0, 12);
        let diff = ma.sub(mb).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-4, "early frames depend on later frames: {diff}");
    }
}
