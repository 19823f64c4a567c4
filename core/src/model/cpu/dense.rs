//! The DenseNet block (see [`crate::model::dense_block`]) on [`Maps`]: three causal 3x3
//! convolutions, each followed by batch normalisation and ReLU, each over the concatenation of
//! the block input and the earlier layers' outputs (kept as separate parts, never copied).
//!
//! For inference the batch norm is folded into the convolution (running statistics). For
//! training it uses the batch's statistics as burn's `BatchNorm` does (biased variance over
//! batch, frames and bins; running statistics moved by `momentum`), with ReLU in the same pass
//! over the data, and the backward pass keeps what it needs: the pre-normalisation output and
//! the statistics.

use super::conv::{Conv3x3, TapGrads};
use super::maps::Maps;
use super::{norm_frames, values};
use crate::model::dense_block::DenseBlock;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;

#[derive(Clone, Debug)]
pub(crate) struct Dense {
    pub channels: usize,
    pub layers: Vec<DenseLayer>,
}

#[derive(Clone, Debug)]
pub(crate) struct DenseLayer {
    pub conv: Conv3x3,
    pub norm: Norm,
}

#[derive(Clone, Debug)]
pub(crate) enum Norm {
    /// Batch norm folded into the convolution: `relu(conv + bias)`.
    Folded { bias: Vec<f32> },
    /// Batch statistics (training).
    Batch(BatchNormParams),
}

#[derive(Clone, Debug)]
pub(crate) struct BatchNormParams {
    /// The convolution's bias: batch norm subtracts it again, so it only moves the running mean.
    pub conv_bias: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
    pub epsilon: f64,
    pub momentum: f64,
}

/// What the backward pass of one block needs from its forward pass.
#[derive(Debug, Default)]
pub(crate) struct DenseTape {
    /// Per layer: the convolution's output before batch norm (without bias).
    pre_norm: Vec<Maps>,
    /// Per layer: the output after ReLU (the last one is the block's output).
    pub outputs: Vec<Maps>,
    stats: Vec<BatchStats>,
}

#[derive(Clone, Debug)]
pub(crate) struct BatchStats {
    /// Mean of the convolution output without its bias.
    pub mean: Vec<f32>,
    /// Biased variance.
    pub variance: Vec<f32>,
    inv_std: Vec<f32>,
}

/// Gradients of one block, per layer.
#[derive(Debug)]
pub(crate) struct DenseGrads {
    pub weight: Vec<TapGrads>,
    pub gamma: Vec<Vec<f32>>,
    pub beta: Vec<Vec<f32>>,
}

impl Dense {
    /// `input_parts`: the channel counts of the maps the block's input concatenates. `training`
    /// keeps batch norm as batch statistics; otherwise it is folded in.
    pub fn new(block: &DenseBlock, input_parts: &[usize], training: bool) -> Self {
        let channels = block.convs[0].weight.dims()[0];
        let layers = block
            .convs
            .iter()
            .zip(&block.norms)
            .enumerate()
            .map(|(i, (conv, norm))| {
                let parts: Vec<usize> = input_parts.iter().copied().chain(std::iter::repeat_n(channels, i)).collect();
                DenseLayer::new(conv, norm, &parts, training)
            })
            .collect();
        Self { channels, layers }
    }

    /// `inputs`: the maps whose concatenation is the block's input.
    pub fn forward(&self, inputs: &[&Maps]) -> DenseTape {
        let mut tape = DenseTape::default();
        for layer in &self.layers {
            let parts: Vec<&Maps> = inputs.iter().copied().chain(tape.outputs.iter()).collect();
            let mut z = parts[0].like(self.channels);
            layer.conv.forward(&parts, &mut z);
            z.clear_border();
            let c = self.channels;
            match &layer.norm {
                Norm::Folded { bias } => {
                    z.for_each_frame_mut(|_, frame| {
                        for pixel in frame.chunks_exact_mut(c) {
                            for (v, b) in pixel.iter_mut().zip(bias) {
                                *v = (*v + b).max(0.0);
                            }
                        }
                    });
                    tape.outputs.push(z);
                }
                Norm::Batch(params) => {
                    let stats = BatchStats::of(&z, params.epsilon);
                    let mut y = z.like(c);
                    y.for_each_frame_mut(|row, frame| {
                        let zs = z.frame(row / z.frames, row % z.frames);
                        norm_frames::normalise_relu(
                            frame,
                            zs,
                            &stats.mean,
                            &stats.inv_std,
                            &params.gamma,
                            &params.beta,
                        );
                    });
                    tape.pre_norm.push(z);
                    tape.stats.push(stats);
                    tape.outputs.push(y);
                }
            }
        }
        tape
    }

    /// The streaming form of [`Self::forward`] for inference (no allocation): `outputs` holds
    /// each layer's output map, one frame whose border rows are its two frames before (see
    /// [`super::stream`]), already rolled on by one frame; their current frames are computed.
    pub fn forward_frame(&self, inputs: &[&Maps], outputs: &mut [Maps]) {
        for (i, layer) in self.layers.iter().enumerate() {
            let (earlier, rest) = outputs.split_at_mut(i);
            let out = &mut rest[0];
            layer.conv.forward_frame(inputs, earlier, out);
            let Norm::Folded { bias } = &layer.norm else { panic!("the streaming network is built for inference") };
            for pixel in out.frame_mut(0, 0).chunks_exact_mut(self.channels) {
                for (v, b) in pixel.iter_mut().zip(bias) {
                    *v = (*v + b).max(0.0);
                }
            }
        }
    }

    pub fn zero_grads(&self) -> DenseGrads {
        DenseGrads {
            weight: self.layers.iter().map(|l| l.conv.zero_grads()).collect(),
            gamma: self.layers.iter().map(|_| vec![0.0; self.channels]).collect(),
            beta: self.layers.iter().map(|_| vec![0.0; self.channels]).collect(),
        }
    }

    /// Backward through a training-mode forward: adds to `grads` and returns the gradient of
    /// each input part (border cleared) if `input_grads`.
    pub fn backward(
        &self,
        inputs: &[&Maps],
        tape: DenseTape,
        d_out: Maps,
        grads: &mut DenseGrads,
        input_grads: bool,
    ) -> Vec<Maps> {
        let DenseTape { mut pre_norm, outputs, stats } = tape;
        let n_layers = self.layers.len();
        assert_eq!(pre_norm.len(), n_layers, "backward needs a training-mode forward");
        let mut d_outputs: Vec<Option<Maps>> = (0..n_layers).map(|_| None).collect();
        d_outputs[n_layers - 1] = Some(d_out);
        let mut d_inputs: Vec<Maps> =
            if input_grads { inputs.iter().map(|m| m.like(m.channels)).collect() } else { Vec::new() };
        for i in (0..n_layers).rev() {
            let layer = &self.layers[i];
            let Norm::Batch(params) = &layer.norm else { unreachable!("training tape with folded norm") };
            let d_y = d_outputs[i].take().expect("every layer's output feeds a later layer or the block output");
            let mut d_z = pre_norm.pop().expect("one pre-norm map per layer");
            batch_norm_relu_backward(
                &mut d_z,
                &outputs[i],
                &d_y,
                params,
                &stats[i],
                &mut grads.gamma[i],
                &mut grads.beta[i],
            );
            drop(d_y);
            let parts: Vec<&Maps> = inputs.iter().copied().chain(outputs[..i].iter()).collect();
            layer.conv.weight_grad(&parts, &d_z, &mut grads.weight[i]);
            // The input gradients of the block's input parts (if asked for) and of the earlier
            // layers' outputs, in the convolution's part order.
            let earlier: Vec<&mut Maps> =
                d_outputs[..i].iter_mut().map(|d| d.get_or_insert_with(|| d_z.like(self.channels))).collect();
            let first_part = if input_grads { 0 } else { inputs.len() };
            // (`d_inputs` is empty unless `input_grads`.)
            let mut d_ins: Vec<&mut Maps> = d_inputs.iter_mut().chain(earlier).collect();
            layer.conv.input_grads(&d_z, first_part, &mut d_ins);
        }
        for d in &mut d_inputs {
            d.clear_border();
        }
        d_inputs
    }

    /// The running statistics after this forward (burn's update: `running * (1 - momentum) +
    /// batch * momentum`, with the batch mean including the convolution bias).
    pub fn update_running_stats(&mut self, tape: &DenseTape) {
        for (layer, stats) in self.layers.iter_mut().zip(&tape.stats) {
            let Norm::Batch(p) = &mut layer.norm else { continue };
            let m = p.momentum as f32;
            for o in 0..p.gamma.len() {
                p.running_mean[o] = p.running_mean[o] * (1.0 - m) + (stats.mean[o] + p.conv_bias[o]) * m;
                p.running_var[o] = p.running_var[o] * (1.0 - m) + stats.variance[o] * m;
            }
        }
    }
}

impl DenseLayer {
    fn new(conv: &Conv2d, norm: &BatchNorm, parts: &[usize], training: bool) -> Self {
        let [cout, _, kh, kw] = conv.weight.dims();
        assert_eq!([kh, kw], [3, 3], "dense-block convolutions are 3x3");
        let w = values(conv.weight.val());
        let b = super::bias_values(conv, cout);
        let gamma = values(norm.gamma.val());
        let beta = values(norm.beta.val());
        let mean = values(norm.running_mean.value_sync());
        let var = values(norm.running_var.value_sync());
        if training {
            let params = BatchNormParams {
                conv_bias: b,
                gamma,
                beta,
                running_mean: mean,
                running_var: var,
                epsilon: norm.epsilon,
                momentum: norm.momentum,
            };
            return Self { conv: Conv3x3::new(&w, cout, parts, None), norm: Norm::Batch(params) };
        }
        // batch_norm(x) = (x - mean) / sqrt(var + eps) * gamma + beta, folded into the conv.
        let scale: Vec<f64> = (0..cout).map(|o| gamma[o] as f64 / (var[o] as f64 + norm.epsilon).sqrt()).collect();
        let bias = (0..cout).map(|o| ((b[o] as f64 - mean[o] as f64) * scale[o] + beta[o] as f64) as f32).collect();
        Self { conv: Conv3x3::new(&w, cout, parts, Some(&scale)), norm: Norm::Folded { bias } }
    }
}

impl BatchStats {
    /// Per-channel mean and biased variance over the real pixels.
    fn of(z: &Maps, epsilon: f64) -> Self {
        let mean = per_channel_mean(z, &vec![0.0; z.channels], 1);
        let variance = per_channel_mean(z, &mean, 2);
        Self {
            mean: mean.iter().map(|m| *m as f32).collect(),
            variance: variance.iter().map(|v| *v as f32).collect(),
            inv_std: variance.iter().map(|v| (1.0 / (v + epsilon).sqrt()) as f32).collect(),
        }
    }
}

/// The mean over the real pixels of `(value - centre)^power` per channel (`power` 1 or 2),
/// accumulated in f64 frame by frame, then over the frames in order, so the result does not
/// depend on the threads. (f32 sums within a frame, though faster, moved the loss curve of
/// `cpu_step`'s test off the tensor path's: a channel whose mean is far from zero loses its
/// variance to round-off.)
fn per_channel_mean(z: &Maps, centre: &[f64], power: i32) -> Vec<f64> {
    let c = z.channels;
    let partials = z.map_frames(|_, frame| {
        let mut sum = vec![0.0f64; c];
        norm_frames::add_centred_powers(&mut sum, frame, centre, power);
        sum
    });
    let count = (z.batch * z.frames * z.bins) as f64;
    add_up(c, &partials).iter().map(|t| t / count).collect()
}

/// Per-frame partial sums added up per channel, in frame order.
fn add_up<'a>(c: usize, partials: impl IntoIterator<Item = &'a Vec<f64>>) -> Vec<f64> {
    let mut total = vec![0.0f64; c];
    for p in partials {
        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    total
}

/// Backward through `y = relu(gamma * (z - mean) * inv_std + beta)`: `z` (the pre-norm map) is
/// overwritten with its gradient (border cleared); gamma's and beta's gradients are added.
fn batch_norm_relu_backward(
    z: &mut Maps,
    y: &Maps,
    d_y: &Maps,
    params: &BatchNormParams,
    stats: &BatchStats,
    d_gamma: &mut [f32],
    d_beta: &mut [f32],
) {
    let (c, frames) = (z.channels, z.frames);
    let (mean, inv_std) = (&stats.mean[..c], &stats.inv_std[..c]);
    // Per frame: the sums of d_a and d_a * x_hat, where d_a is d_y where ReLU passed it.
    let partials = z.map_frames(|row, zs| {
        let (ys, ds) = (y.frame(row / frames, row % frames), d_y.frame(row / frames, row % frames));
        let (mut sum, mut sum_x) = (vec![0.0f64; c], vec![0.0f64; c]);
        norm_frames::add_backward_sums(&mut sum, &mut sum_x, zs, ys, ds, mean, inv_std);
        (sum, sum_x)
    });
    let sum = add_up(c, partials.iter().map(|(s, _)| s));
    let sum_x = add_up(c, partials.iter().map(|(_, sx)| sx));
    for o in 0..c {
        d_gamma[o] += sum_x[o] as f32;
        d_beta[o] += sum[o] as f32;
    }
    let n = (z.batch * frames * z.bins) as f64;
    let mean_d: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let mean_dx: Vec<f32> = sum_x.iter().map(|s| (s / n) as f32).collect();
    let scale: Vec<f32> = (0..c).map(|o| params.gamma[o] * stats.inv_std[o]).collect();
    let (mean_d, mean_dx, scale) = (&mean_d[..c], &mean_dx[..c], &scale[..c]);
    z.for_each_frame_mut(|row, zs| {
        let (ys, ds) = (y.frame(row / frames, row % frames), d_y.frame(row / frames, row % frames));
        norm_frames::backward_in_place(zs, ys, ds, mean, inv_std, scale, mean_d, mean_dx);
    });
    z.clear_border();
}
