//! The voice-activity detector of the paper's data filtering (Sec. 2.1.1): a 2D-CRNN after
//! Pishdadian, Wichern and Le Roux ("Finding strength in weakness", 2020) that reads a
//! mixture's STFT magnitude and estimates, per frame, the energy ratio of one source (vocals or
//! accompaniment) over the mixture, in [0, 1].
//!
//! Layers (docs/ARCHITECTURE.md): `blocks` of [3x3 conv, batch norm, ReLU, max-pool by 4 along
//! frequency only] (512 bins -> 128 -> 32 -> 8 with the default three blocks, frames untouched),
//! the channels x remaining bins of each frame flattened into one feature vector, a
//! bidirectional GRU over time (the detector only ever runs offline, on whole songs), and a
//! linear layer to one logit per frame. The input magnitude is `log(1 + |X|)` of the
//! RMS-normalised signal, so the detector does not depend on the song's loudness.

use super::poconet::MODEL_BINS;
use crate::dsp::Stft;
use crate::dsp::tensor_stft::{magnitude, model_stft};
use crate::{HOP, MODEL_SAMPLE_RATE, N_FFT};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::gru::{BiGru, BiGruConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// Frequency pooling factor of each block.
const POOL: usize = 4;

#[derive(Config, Debug, PartialEq)]
pub struct VadConfig {
    /// Output channels of each convolution block (one block per entry).
    #[config(default = "vec![16, 32, 32]")]
    pub channels: Vec<usize>,
    /// Hidden size of each direction of the GRU.
    #[config(default = 64)]
    pub hidden: usize,
}

impl VadConfig {
    /// Bins left after the frequency pooling.
    pub fn pooled_bins(&self) -> usize {
        // checked: a damaged configuration with many blocks must not overflow (it pools to 0).
        POOL.checked_pow(self.channels.len() as u32).map_or(0, |pooling| MODEL_BINS / pooling)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.channels.is_empty() || self.channels.iter().any(|&c| c == 0) {
            return Err("the detector needs at least one block with at least one channel".into());
        }
        if self.pooled_bins() == 0 {
            return Err(format!("{} blocks pool {MODEL_BINS} bins away entirely (at most 4)", self.channels.len()));
        }
        if self.hidden == 0 {
            return Err("the GRU needs at least one hidden unit".into());
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> VocalActivityDetector {
        self.validate().expect("valid detector configuration");
        let mut blocks = Vec::new();
        let mut cin = 1;
        for &c in &self.channels {
            blocks.push(ConvBlock {
                conv: Conv2dConfig::new([cin, c], [3, 3]).with_padding(PaddingConfig2d::Same).init(device),
                norm: BatchNormConfig::new(c).init(device),
                activation: Relu::new(),
                pool: MaxPool2dConfig::new([1, POOL]).with_strides([1, POOL]).init(),
            });
            cin = c;
        }
        let features = cin * self.pooled_bins();
        VocalActivityDetector {
            blocks,
            gru: BiGruConfig::new(features, self.hidden, true).init(device),
            output: LinearConfig::new(2 * self.hidden, 1).init(device),
        }
    }
}

#[derive(Module, Debug)]
struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    activation: Relu,
    pool: MaxPool2d,
}

impl ConvBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pool.forward(self.activation.forward(self.norm.forward(self.conv.forward(x))))
    }
}

/// Per-frame energy ratio of one source over the mixture.
#[derive(Module, Debug)]
pub struct VocalActivityDetector {
    blocks: Vec<ConvBlock>,
    gru: BiGru,
    output: Linear,
}

impl VocalActivityDetector {
    /// `[batch, samples]` at 16 kHz -> per-frame logits `[batch, frames]`, one frame per hop of
    /// the model's STFT (centred frames: `1 + samples / 256`).
    pub fn forward_logits(&self, signal: Tensor<2>) -> Tensor<2> {
        let [batch, _] = signal.dims();
        // RMS normalisation, as the separator does: the ratio does not depend on loudness.
        let rms = signal.clone().powf_scalar(2.0).mean_dim(1).sqrt().add_scalar(1e-5);
        let spec = model_stft(signal.div(rms));
        let [_, frames, bins, _] = spec.dims();
        let mag: Tensor<3> = magnitude(spec);
        let x = mag.narrow(2, 0, bins - 1).add_scalar(1.0).log().reshape([batch, 1, frames, bins - 1]);
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [_, channels, _, pooled] = x.dims();
        let x: Tensor<3> = x.swap_dims(1, 2).reshape([batch, frames, channels * pooled]);
        let (x, _) = self.gru.forward(x, None);
        self.output.forward(x).reshape([batch, frames])
    }

    /// Per-frame energy ratios in [0, 1].
    pub fn forward(&self, signal: Tensor<2>) -> Tensor<2> {
        sigmoid(self.forward_logits(signal))
    }

    /// Energy ratios of every frame of a whole 16 kHz mono signal, processed in windows of
    /// `CHUNK_SECONDS` (bounded memory on long songs; the recurrence restarts per window, which
    /// costs little since a ratio depends mostly on its own frame).
    pub fn frame_ratios(&self, signal: &[f32], device: &Device) -> Vec<f32> {
        let frames = frame_count(signal.len());
        let chunk = CHUNK_SECONDS * MODEL_SAMPLE_RATE as usize;
        let mut out = Vec::with_capacity(frames);
        let mut start = 0;
        while out.len() < frames {
            // Each window starts on a frame boundary and yields `len / HOP` whole frames; the
            // last one also yields the final centred frame.
            let end = (start + chunk).min(signal.len());
            let mut window = signal[start..end].to_vec();
            if window.len() < N_FFT {
                window.resize(N_FFT, 0.0);
            }
            let n = window.len();
            let ratios = self
                .forward(Tensor::<1>::from_floats(window.as_slice(), device).reshape([1, n]))
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 output");
            let keep = if end == signal.len() { frames - out.len() } else { (end - start) / HOP };
            out.extend(ratios.into_iter().take(keep));
            start = end;
        }
        out.truncate(frames);
        out
    }
}

/// Window length of [`VocalActivityDetector::frame_ratios`] (a multiple of the hop).
pub const CHUNK_SECONDS: usize = 32;

/// Frames of the model's centred STFT of `samples` samples.
pub fn frame_count(samples: usize) -> usize {
    1 + samples / HOP
}

/// The detector's training target for one source: per frame, the source's STFT energy over the
/// mixture's, clipped to [0, 1] (interference can make it exceed 1). Frames where both sources
/// are silent (below -100 dB of the loudest mixture frame, or digital silence) have target 0.
pub fn energy_ratio_targets(source: &[f32], other: &[f32]) -> Vec<f32> {
    let stft = Stft::new(N_FFT, HOP);
    let mixture: Vec<f32> = source.iter().zip(other).map(|(s, o)| s + o).collect();
    let energies = |x: &[f32]| -> Vec<f64> {
        let spec = stft.forward(x);
        (0..spec.n_frames).map(|t| spec.frame(t).iter().map(|c| c.norm_sqr() as f64).sum()).collect()
    };
    let (e_s, e_o, e_x) = (energies(source), energies(other), energies(&mixture));
    let loudest = e_x.iter().cloned().fold(0.0, f64::max);
    let silent = (loudest * 1e-10).max(1e-20);
    e_s.iter()
        .zip(&e_o)
        .zip(&e_x)
        .map(|((&s, &o), &x)| if s + o <= silent || x <= 0.0 { 0.0 } else { (s / x).clamp(0.0, 1.0) as f32 })
        .collect()
}

/// Binary cross-entropy between logits and soft targets in [0, 1], averaged, in the
/// numerically stable form `max(z, 0) - z t + log(1 + exp(-|z|))` (burn's BCE takes integer
/// class targets only; the detector's targets are ratios).
pub fn soft_bce_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let positive = logits.clone().clamp_min(0.0);
    let log_term = logits.clone().abs().neg().exp().add_scalar(1.0).log();
    positive.sub(logits.mul(targets)).add(log_term).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn sine(freq: f32, seconds: f32, amp: f32) -> Vec<f32> {
        let n = (seconds * MODEL_SAMPLE_RATE as f32) as usize;
        (0..n).map(|i| amp * (2.0 * std::f32::consts::PI * freq * i as f32 / MODEL_SAMPLE_RATE as f32).sin()).collect()
    }

    #[test]
    fn shapes_follow_the_stft_frames() {
        let device = Device::flex();
        let vad = VadConfig::new().init(&device);
        let signal = Tensor::<2>::random([2, 8000], burn::tensor::Distribution::Normal(0.0, 0.1), &device);
        let out = vad.forward(signal);
        assert_eq!(out.dims(), [2, frame_count(8000)]);
        let values = out.into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn frame_ratios_cover_a_long_signal_in_windows() {
        let device = Device::flex();
        let vad = VadConfig::new().with_channels(vec![4]).with_hidden(4).init(&device);
        let signal = sine(440.0, 70.5, 0.1);
        let ratios = vad.frame_ratios(&signal, &device);
        assert_eq!(ratios.len(), frame_count(signal.len()));
        // Inside one window the windowed result equals processing that window alone.
        let first = vad.frame_ratios(&signal[..CHUNK_SECONDS * 16000], &device);
        for (a, b) in ratios.iter().zip(&first).take(1000) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn targets_are_energy_ratios() {
        // Equal-power sources at disjoint frequencies: ratio one half.
        let a = sine(500.0, 1.0, 0.5);
        let b = sine(2000.0, 1.0, 0.5);
        let t = energy_ratio_targets(&a, &b);
        assert_eq!(t.len(), frame_count(a.len()));
        for &r in &t[4..t.len() - 4] {
            assert!((r - 0.5).abs() < 0.02, "{r}");
        }
        // A quiet source: ratio 0.01 (amplitude 0.1 of the other's).
        let t = energy_ratio_targets(&sine(500.0, 1.0, 0.05), &b);
        assert!((t[20] - 0.01).abs() < 0.002, "{}", t[20]);
        // Silence in both: 0; the source alone: 1.
        let silent = vec![0.0; 16000];
        assert!(energy_ratio_targets(&silent, &silent).iter().all(|&r| r == 0.0));
        let alone = energy_ratio_targets(&a, &silent);
        assert!(alone[4..alone.len() - 4].iter().all(|&r| (r - 1.0).abs() < 1e-4));
    }

    #[test]
    fn soft_bce_matches_the_formula() {
        let device = Device::flex();
        let z = [-2.0f32, 0.0, 3.0, 0.5];
        let t = [0.0f32, 0.5, 1.0, 0.25];
        let logits = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [1, 4]), &device);
        let targets = Tensor::<2>::from_data(TensorData::new(t.to_vec(), [1, 4]), &device);
        let got = soft_bce_with_logits(logits, targets).into_scalar::<f32>();
        let want: f32 = z
            .iter()
            .zip(&t)
            .map(|(&z, &t)| {
                let p = 1.0 / (1.0 + (-z).exp());
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            })
            .sum::<f32>()
            / 4.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}
