//! The attention block (PoCoNet; 5 channels, key/query dimension 20). The public PoCoNet text
//! does not spell the block out; this is our reading (docs/ARCHITECTURE.md):
//! a 1x1 convolution reduces the block output to 5 channels; each frame's 5 x F slice is
//! projected to a 20-dimensional query and key; the value is the 5 x F slice itself; softmax
//! attention runs over frames and is causal (a frame attends to itself and the past only); the
//! attended 5 channels are concatenated onto the block output and mixed back by a 1x1 conv.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

#[derive(Config, Debug)]
pub struct CausalFrameAttentionConfig {
    pub channels: usize,
    pub n_bins: usize,
    #[config(default = 5)]
    pub attention_channels: usize,
    #[config(default = 20)]
    pub key_dim: usize,
}

#[derive(Module, Debug)]
pub struct CausalFrameAttention {
    pub(crate) reduce: Conv2d,
    pub(crate) query: Linear,
    pub(crate) key: Linear,
    pub(crate) mix: Conv2d,
    pub(crate) attention_channels: usize,
    pub(crate) key_dim: usize,
}

impl CausalFrameAttentionConfig {
    pub fn init(&self, device: &Device) -> CausalFrameAttention {
        let a = self.attention_channels;
        CausalFrameAttention {
            reduce: Conv2dConfig::new([self.channels, a], [1, 1]).init(device),
            query: LinearConfig::new(a * self.n_bins, self.key_dim).init(device),
            key: LinearConfig::new(a * self.n_bins, self.key_dim).init(device),
            mix: Conv2dConfig::new([self.channels + a, self.channels], [1, 1]).init(device),
            attention_channels: a,
            key_dim: self.key_dim,
        }
    }
}

impl CausalFrameAttention {
    /// `[batch, channels, frames, bins]` -> same shape.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, _, frames, bins] = x.dims();
        let a = self.attention_channels;
        let reduced = self.reduce.forward(x.clone());
        // One row per frame: [batch, frames, a * bins].
        let rows = reduced.permute([0, 2, 1, 3]).reshape([batch, frames, a * bins]);
        let q = self.query.forward(rows.clone());
        let k = self.key.forward(rows.clone());
        let scores = q.matmul(k.swap_dims(1, 2)).div_scalar((self.key_dim as f32).sqrt());
        // Causal: frame t may not look at frames after t.
        let future = Tensor::<3, Bool>::tril_mask([batch, frames, frames], 0, &scores.device());
        let weights = softmax(scores.mask_fill(future, -1e9), 2);
        let attended = weights.matmul(rows).reshape([batch, frames, a, bins]).permute([0, 2, 1, 3]);
        self.mix.forward(Tensor::cat(vec![x, attended], 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_is_causal_and_keeps_shape() {
        let device = Device::flex();
        let block = CausalFrameAttentionConfig::new(3, 4).init(&device);
        let x = Tensor::<4>::random([2, 3, 6, 4], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let y = block.forward(x.clone());
        assert_eq!(y.dims(), [2, 3, 6, 4]);
        let x2 = x.slice_fill([0..2, 0..3, 4..6, 0..4], 5.0);
        let y2 = block.forward(x2);
        let diff = y.clone().narrow(2, 0, 4).sub(y2.clone().narrow(2, 0, 4)).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-5, "past frames changed by {diff}");
        let diff_future = y.narrow(2, 4, 2).sub(y2.narrow(2, 4, 2)).abs().max().into_scalar::<f32>();
        assert!(diff_future > 1e-3);
    }
}
