//! Causal 2x down- and up-sampling of `[batch, channels, frames, bins]` feature maps.
//!
//! A coarse frame t' averages fine frames 2t'-1 and 2t' (the input is shifted by one frame),
//! and upsampling repeats it onto fine frames 2t' and 2t'+1: both only ever see the past, so
//! the U-Net stays causal in time. Frequency is pooled and repeated plainly.

use burn::prelude::*;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::{AvgPoolOptions, PadMode};

/// Halves frames and bins. Needs an even number of frames.
pub fn downsample(x: Tensor<4>) -> Tensor<4> {
    let [_, _, frames, _] = x.dims();
    debug_assert!(frames % 2 == 0, "frames must be even, got {frames}");
    let shifted = x.pad([(0, 0), (0, 0), (1, 0), (0, 0)], PadMode::Constant(0.0));
    avg_pool2d(shifted, AvgPoolOptions::new([2, 2]))
}

/// Doubles frames and bins by repetition.
pub fn upsample(x: Tensor<4>) -> Tensor<4> {
    let [b, c, t, f] = x.dims();
    let x: Tensor<4> = x.unsqueeze_dim::<5>(3).repeat_dim(3, 2).reshape([b, c, 2 * t, f]);
    x.unsqueeze_dim::<5>(4).repeat_dim(4, 2).reshape([b, c, 2 * t, 2 * f])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_then_up_is_causal() {
        let d = Device::flex();
        // frames 0..4 with values 1,2,3,4 at one bin pair
        let x = Tensor::<1>::from_floats([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0], &d).reshape([1, 1, 4, 2]);
        let down: Vec<f32> = downsample(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        // coarse 0 = avg(pad 0, frame 0) = 0.5 ; coarse 1 = avg(frame 1, frame 2) = 2.5
        assert_eq!(down, vec![0.5, 2.5]);
        let up = upsample(downsample(x));
        assert_eq!(up.dims(), [1, 1, 4, 2]);
        let v: Vec<f32> = up.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v, vec![0.5, 0.5, 0.5, 0.5, 2.5, 2.5, 2.5, 2.5]);
    }
}
