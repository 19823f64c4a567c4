//! PoCoNet's DenseNet block: three 3x3 convolutions, each followed by batch normalisation and
//! ReLU, each seeing the concatenation of the block input and every earlier layer's output.
//! Convolutions are causal in time (padding only on the past side) and centred in frequency,
//! so a frame's output never depends on later frames.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

#[derive(Config, Debug)]
pub struct DenseBlockConfig {
    pub in_channels: usize,
    pub channels: usize,
    #[config(default = 3)]
    pub layers: usize,
}

#[derive(Module, Debug)]
pub struct DenseBlock {
    pub(crate) convs: Vec<Conv2d>,
    pub(crate) norms: Vec<BatchNorm>,
}

impl DenseBlockConfig {
    pub fn init(&self, device: &Device) -> DenseBlock {
        let mut convs = Vec::with_capacity(self.layers);
        let mut norms = Vec::with_capacity(self.layers);
        for i in 0..self.layers {
            let in_ch = self.in_channels + i * self.channels;
            // (top, left, bottom, right) over (time, frequency): two past frames, none ahead.
            let conv = Conv2dConfig::new([in_ch, self.channels], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(2, 1, 0, 1))
                .init(device);
            convs.push(conv);
            norms.push(BatchNormConfig::new(self.channels).init(device));
        }
        DenseBlock { convs, norms }
    }
}

impl DenseBlock {
    /// `[batch, in_channels, frames, bins]` -> `[batch, channels, frames, bins]`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut features = input;
        let mut output = None;
        for (i, (conv, norm)) in self.convs.iter().zip(&self.norms).enumerate() {
            let y = relu(norm.forward(conv.forward(features.clone())));
            if i + 1 < self.convs.len() {
                features = Tensor::cat(vec![features, y.clone()], 1);
            }
            output = Some(y);
        }
        output.expect("a dense block has at least one layer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_causality() {
        let device = Device::flex();
        let block = DenseBlockConfig::new(2, 4).init(&device);
        let x = Tensor::<4>::random([1, 2, 8, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let y = block.forward(x.clone());
        assert_eq!(y.dims(), [1, 4, 8, 6]);
        // Changing frame 5 must not change frames 0..5.
        let x2 = x.slice_fill([0..1, 0..2, 5..6, 0..6], 3.0);
        let y2 = block.forward(x2);
        let a: Vec<f32> = y.narrow(2, 0, 5).into_data().try_to_vec::<f32>().unwrap();
        let b: Vec<f32> = y2.clone().narrow(2, 0, 5).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(a, b);
        // ...but it does change frame 5 itself (the test can fail).
        let c: Vec<f32> = y2.narrow(2, 5, 3).into_data().try_to_vec::<f32>().unwrap();
        assert!(c.iter().any(|v| *v != 0.0));
    }
}
