//! Training on the CPU model: Eq. 3 on a batch of waveforms and its gradient with respect to
//! every parameter of the [`PoCoNet`], computed by hand layer by layer (the backward of each
//! layer lives beside its forward), and the batch-norm running statistics moved as burn's
//! training forward moves them. The optimiser stays burn's (the trainer registers these
//! gradients with it), so checkpoints, optimiser state and resume are the tensor path's.

use super::attention::{Attention, AttentionGrads};
use super::dense::{Dense, DenseGrads, Norm};
use super::gemm::{View, matmul};
use super::maps::Maps;
use super::par::map_indices;
use super::pool::{downsample_backward, upsample_backward};
use super::{CpuPoCoNet, MODEL_BINS, consistent_masks};
use crate::dsp::{Spectrogram, Stft};
use crate::model::PoCoNet;
use crate::model::dense_block::DenseBlock;
use crate::model::loss::SeparationLossConfig;
use crate::{HOP, N_FFT};
use burn::module::ParamId;
use burn::tensor::{Device, Tensor, TensorData};
use realfft::num_complex::Complex32;

/// A batch of training examples: `batch` rows of `samples` samples each (16 kHz).
#[derive(Clone, Copy, Debug)]
pub struct Waveforms<'a> {
    pub batch: usize,
    pub samples: usize,
    pub mixture: &'a [f32],
    pub vocals: &'a [f32],
    pub accompaniment: &'a [f32],
}

/// The gradient of one parameter tensor of a [`PoCoNet`], in burn's layout.
#[derive(Clone, Debug)]
pub struct ParamGradient {
    pub id: ParamId,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl ParamGradient {
    /// The gradient as a tensor on `device` (rank `D` must be the shape's).
    pub fn tensor<const D: usize>(&self, device: &Device) -> Tensor<D> {
        Tensor::from_data(TensorData::new(self.values.clone(), self.shape.clone()), device)
    }
}

/// The loss of one step and the gradients of every trainable parameter.
#[derive(Clone, Debug)]
pub struct StepGradients {
    pub loss: f64,
    pub gradients: Vec<ParamGradient>,
}

/// Computes training steps' gradients on the CPU. Holds the FFT plans across steps.
#[derive(Clone, Debug)]
pub struct CpuTrainer {
    stft: Stft,
}

impl Default for CpuTrainer {
    fn default() -> Self {
        Self { stft: Stft::new(N_FFT, HOP) }
    }
}

impl CpuTrainer {
    /// Eq. 3 on `batch` and its gradients (the tensor path's `batch_loss` and `backward`).
    /// Moves `model`'s batch-norm running statistics as a training forward does.
    pub fn gradients(&self, model: &PoCoNet, loss: &SeparationLossConfig, batch: &Waveforms) -> StepGradients {
        let Waveforms { batch: n, samples, .. } = *batch;
        assert!(n > 0 && samples > N_FFT / 2, "a batch needs examples longer than {} samples", N_FFT / 2);
        for signal in [batch.mixture, batch.vocals, batch.accompaniment] {
            assert_eq!(signal.len(), n * samples, "waveforms are not [batch][samples]");
        }
        let mut net = CpuPoCoNet::for_training(model);
        let spectra = map_indices(n, |b| self.stft.forward(&batch.mixture[b * samples..(b + 1) * samples]));
        let frames = spectra[0].n_frames;
        let flat: Vec<Vec<f32>> = spectra.iter().map(|s| s.bins.iter().flat_map(|c| [c.re, c.im]).collect()).collect();
        let inputs: Vec<&[f32]> = flat.iter().map(Vec::as_slice).collect();
        let input = net.input(&inputs, frames);
        drop(flat);
        let (raw, tape) = net.forward(input);
        net.update_running_stats(&tape);
        let (loss_value, d_raw) = self.loss(&raw, &spectra, batch, loss);
        drop(raw);
        let grads = net.backward(tape, d_raw);
        let gradients = grads.into_params(&net, model);
        write_running_stats(&net, model);
        StepGradients { loss: loss_value, gradients }
    }

    /// Eq. 3 from the output convolution's channels, and its gradient with respect to them.
    fn loss(
        &self,
        raw: &Maps,
        spectra: &[Spectrogram],
        batch: &Waveforms,
        config: &SeparationLossConfig,
    ) -> (f64, Maps) {
        let frames = spectra[0].n_frames;
        let n_bins = MODEL_BINS + 1;
        // Per example and source (vocals, accompaniment), over the threads.
        let parts = map_indices(2 * batch.batch, |i| self.source_loss(raw, spectra, batch, config, i / 2, i % 2));
        let total = parts.iter().map(|(loss, _)| loss).sum();
        // Through mixture consistency: vocals = 1/2 + diff, accompaniment = 1/2 - diff with
        // diff = (raw_vocals - raw_accompaniment) / 2; the Nyquist bin is constant.
        let mut d_raw = raw.like(4);
        // The map's frames past the spectrogram's (padding) get no gradient.
        let map_frames = d_raw.frames;
        d_raw.for_each_frame_mut(|r, dst| {
            let (b, t) = (r / map_frames, r % map_frames);
            if t >= frames {
                return;
            }
            let (d_vocals, d_accompaniment) = (&parts[2 * b].1[t * n_bins..], &parts[2 * b + 1].1[t * n_bins..]);
            for f in 0..MODEL_BINS {
                let d_diff = d_vocals[f] - d_accompaniment[f];
                let pixel = &mut dst[f * 4..f * 4 + 4];
                pixel.copy_from_slice(&[0.5 * d_diff.re, 0.5 * d_diff.im, -0.5 * d_diff.re, -0.5 * d_diff.im]);
            }
        });
        (total, d_raw)
    }

    /// Example `b`'s weighted loss for `source` (0 vocals, 1 accompaniment) and its gradient with
    /// respect to that source's mask (`[frames][bins]`).
    fn source_loss(
        &self,
        raw: &Maps,
        spectra: &[Spectrogram],
        batch: &Waveforms,
        config: &SeparationLossConfig,
        b: usize,
        source: usize,
    ) -> (f64, Vec<Complex32>) {
        let (n, samples) = (batch.batch, batch.samples);
        let mixture = &spectra[b];
        let frames = mixture.n_frames;
        let n_bins = MODEL_BINS + 1;
        let audio_scale = 1.0 / (n * samples) as f64;
        let spec_scale = 1.0 / (n * frames * n_bins) as f64;
        let sign = |x: f32| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        };
        let (reference, weight) =
            [(batch.vocals, config.lambda_vocals), (batch.accompaniment, config.lambda_accompaniment)][source];
        let reference = &reference[b * samples..(b + 1) * samples];
        let mut estimate = Spectrogram { n_frames: frames, n_bins, bins: mixture.bins.clone() };
        for t in 0..frames {
            let masks = raw.frame(b, t);
            for (f, x) in estimate.frame_mut(t).iter_mut().enumerate() {
                let m = if f < MODEL_BINS {
                    let [re, im] = consistent_masks(&masks[f * 4..f * 4 + 4])[source];
                    Complex32::new(re, im)
                } else {
                    Complex32::new(0.5, 0.0)
                };
                *x *= m;
            }
        }
        let signal = self.stft.inverse(&estimate, samples);
        let est_spec = self.stft.forward(&signal);
        let ref_spec = self.stft.forward(reference);
        let (lambda_audio, lambda_spec) = (config.lambda_audio as f64, config.lambda_spec as f64);
        let mut audio = 0.0f64;
        let mut d_signal: Vec<f32> = signal
            .iter()
            .zip(reference)
            .map(|(e, r)| {
                audio += (e - r).abs() as f64;
                (weight as f64 * lambda_audio * audio_scale * sign(e - r)) as f32
            })
            .collect();
        let mut spec = 0.0f64;
        let mut d_spec =
            Spectrogram { n_frames: est_spec.n_frames, n_bins, bins: Vec::with_capacity(est_spec.bins.len()) };
        for (e, r) in est_spec.bins.iter().zip(&ref_spec.bins) {
            let me = (e.norm_sqr() + 1e-10).sqrt();
            let mr = (r.norm_sqr() + 1e-10).sqrt();
            spec += (me - mr).abs() as f64;
            let g = (weight as f64 * lambda_spec * spec_scale * sign(me - mr)) as f32 / me;
            d_spec.bins.push(e * g);
        }
        for (d, g) in d_signal.iter_mut().zip(self.stft.forward_adjoint(&d_spec, samples)) {
            *d += g;
        }
        let loss = weight as f64 * (lambda_audio * audio * audio_scale + lambda_spec * spec * spec_scale);
        // Through the inverse STFT and the complex product with the mixture.
        let d_estimate = self.stft.inverse_adjoint(&d_signal, frames);
        let d_mask = d_estimate.bins.iter().zip(&mixture.bins).map(|(g, x)| g * x.conj()).collect();
        (loss, d_mask)
    }
}

/// Gradients of every block of a [`CpuPoCoNet`].
struct NetGrads {
    encoder: Vec<(DenseGrads, AttentionGrads)>,
    bottleneck: (DenseGrads, AttentionGrads),
    decoder: Vec<(DenseGrads, AttentionGrads)>,
    output: Vec<f32>,
    output_bias: Vec<f32>,
}

impl CpuPoCoNet {
    /// The backward pass of a training forward, from the gradient of the output convolution's
    /// channels.
    /// Moves the batch norms' running statistics by the batch statistics of `tape`.
    fn update_running_stats(&mut self, tape: &super::Tape) {
        let blocks =
            self.encoder.iter_mut().chain(std::iter::once(&mut self.bottleneck)).chain(self.decoder.iter_mut());
        let tapes = tape.encoder.iter().chain(&tape.bottleneck).chain(&tape.decoder);
        for (block, (dense_tape, _)) in blocks.zip(tapes) {
            block.update_running_stats(dense_tape);
        }
    }

    fn backward(&self, tape: super::Tape, d_raw: Maps) -> NetGrads {
        let super::Tape {
            mut encoder_inputs,
            mut encoder,
            skips,
            bottleneck_input,
            bottleneck,
            mut decoder_inputs,
            mut decoder,
            top,
        } = tape;
        let top = top.expect("a training forward keeps the output convolution's input");
        let zero = |d: &Dense, a: &Attention| (d.zero_grads(), a.zero_grads());
        let mut grads = NetGrads {
            encoder: self.encoder.iter().zip(&self.encoder_attention).map(|(d, a)| zero(d, a)).collect(),
            bottleneck: zero(&self.bottleneck, &self.bottleneck_attention),
            decoder: self.decoder.iter().zip(&self.decoder_attention).map(|(d, a)| zero(d, a)).collect(),
            output: vec![0.0; self.output.len()],
            output_bias: vec![0.0; 4],
        };
        let c = top.channels;
        let pixels = top.pixels();
        let d_raw_view = View::rows(&d_raw.data, pixels, 4);
        matmul(&mut grads.output, 0, 4, true, View::rows(&top.data, pixels, c).t(), d_raw_view);
        d_raw.for_each_pixel(|pixel| {
            for (g, v) in grads.output_bias.iter_mut().zip(pixel) {
                *g += v;
            }
        });
        let mut d_h = top.like(c);
        matmul(&mut d_h.data, 0, c, false, d_raw_view, View::rows(&self.output, c, 4).t());
        drop((top, d_raw));

        // Decoder, innermost block last in the forward pass, first here.
        let levels = self.levels;
        let mut d_skips: Vec<Option<Maps>> = (0..levels).map(|_| None).collect();
        for i in (0..levels).rev() {
            let level = levels - 1 - i;
            let (dense_tape, att_tape) = decoder.pop().expect("one tape per decoder block");
            let up = decoder_inputs.pop().expect("one input per decoder block");
            let (g_dense, g_att) = &mut grads.decoder[i];
            let x = dense_tape.outputs.last().expect("a dense block has layers");
            let d_x = self.decoder_attention[i].backward(x, att_tape, &d_h, g_att);
            let mut d_parts = self.decoder[i].backward(&[&up, &skips[level]], dense_tape, d_x, g_dense, true);
            d_skips[level] = d_parts.pop();
            d_h = upsample_backward(&d_parts.pop().expect("the upsampled part"));
        }
        let (dense_tape, att_tape) = bottleneck.expect("a training forward keeps the bottleneck");
        let input = bottleneck_input.expect("a training forward keeps the bottleneck's input");
        let (g_dense, g_att) = &mut grads.bottleneck;
        let d_x = self.bottleneck_attention.backward(dense_tape.outputs.last().expect("layers"), att_tape, &d_h, g_att);
        d_h = self.bottleneck.backward(&[&input], dense_tape, d_x, g_dense, true).pop().expect("one input part");
        drop(input);
        for l in (0..levels).rev() {
            let (dense_tape, att_tape) = encoder.pop().expect("one tape per encoder block");
            let input = encoder_inputs.pop().expect("one input per encoder block");
            let mut d_y = d_skips[l].take().expect("every skip feeds a decoder block");
            downsample_backward(&d_h, &mut d_y);
            let (g_dense, g_att) = &mut grads.encoder[l];
            let x = dense_tape.outputs.last().expect("a dense block has layers");
            let d_x = self.encoder_attention[l].backward(x, att_tape, &d_y, g_att);
            let mut d_in = self.encoder[l].backward(&[&input], dense_tape, d_x, g_dense, l > 0);
            if l > 0 {
                d_h = d_in.pop().expect("one input part");
            }
        }
        grads
    }
}

impl NetGrads {
    /// The gradients by parameter id of `model` (the model `net` was built from).
    fn into_params(self, net: &CpuPoCoNet, model: &PoCoNet) -> Vec<ParamGradient> {
        let mut out = Vec::new();
        let blocks = model.encoder.iter().chain(std::iter::once(&model.bottleneck)).chain(&model.decoder);
        let attentions = model
            .encoder_attention
            .iter()
            .chain(std::iter::once(&model.bottleneck_attention))
            .chain(&model.decoder_attention);
        let net_blocks = net.encoder.iter().chain(std::iter::once(&net.bottleneck)).chain(&net.decoder);
        let net_attentions = net
            .encoder_attention
            .iter()
            .chain(std::iter::once(&net.bottleneck_attention))
            .chain(&net.decoder_attention);
        let grads = self.encoder.into_iter().chain(std::iter::once(self.bottleneck)).chain(self.decoder);
        for ((((block, attention), net_block), net_attention), (g_dense, g_att)) in
            blocks.zip(attentions).zip(net_blocks).zip(net_attentions).zip(grads)
        {
            dense_params(block, net_block, g_dense, &mut out);
            attention_params(attention, net_attention, g_att, &mut out);
        }
        let [_, c, _, _] = model.output.weight.dims();
        let mut weight = vec![0.0f32; 4 * c];
        for ci in 0..c {
            for o in 0..4 {
                weight[o * c + ci] = self.output[ci * 4 + o];
            }
        }
        out.push(ParamGradient { id: model.output.weight.id, shape: vec![4, c, 1, 1], values: weight });
        if let Some(bias) = &model.output.bias {
            out.push(ParamGradient { id: bias.id, shape: vec![4], values: self.output_bias });
        }
        out
    }
}

fn dense_params(block: &DenseBlock, net: &Dense, grads: DenseGrads, out: &mut Vec<ParamGradient>) {
    let DenseGrads { weight, gamma, beta } = grads;
    for ((((conv, norm), layer), weight), (gamma, beta)) in
        block.convs.iter().zip(&block.norms).zip(&net.layers).zip(weight).zip(gamma.into_iter().zip(beta))
    {
        let shape = conv.weight.dims().to_vec();
        out.push(ParamGradient { id: conv.weight.id, shape, values: layer.conv.grads_to_burn(&weight) });
        if let Some(bias) = &conv.bias {
            // Batch norm subtracts the batch mean, so the bias has no effect on the loss.
            out.push(ParamGradient { id: bias.id, shape: vec![net.channels], values: vec![0.0; net.channels] });
        }
        out.push(ParamGradient { id: norm.gamma.id, shape: vec![net.channels], values: gamma });
        out.push(ParamGradient { id: norm.beta.id, shape: vec![net.channels], values: beta });
    }
}

fn attention_params(
    block: &crate::model::CausalFrameAttention,
    net: &Attention,
    grads: AttentionGrads,
    out: &mut Vec<ParamGradient>,
) {
    let (reduce, mix) = grads.conv_weights_to_burn(net);
    let (c, a) = (net.channels, net.attention_channels);
    out.push(ParamGradient { id: block.reduce.weight.id, shape: vec![a, c, 1, 1], values: reduce });
    out.push(ParamGradient { id: block.mix.weight.id, shape: vec![c, c + a, 1, 1], values: mix });
    let AttentionGrads { reduce_bias, query, query_bias, key, key_bias, mix_bias, .. } = grads;
    if let Some(b) = &block.reduce.bias {
        out.push(ParamGradient { id: b.id, shape: vec![a], values: reduce_bias });
    }
    if let Some(b) = &block.mix.bias {
        out.push(ParamGradient { id: b.id, shape: vec![c], values: mix_bias });
    }
    for (linear, weight, bias) in [(&block.query, query, query_bias), (&block.key, key, key_bias)] {
        let shape = linear.weight.dims().to_vec();
        out.push(ParamGradient { id: linear.weight.id, shape, values: weight });
        if let Some(b) = &linear.bias {
            out.push(ParamGradient { id: b.id, shape: vec![net.key_dim], values: bias });
        }
    }
}

/// Writes the running statistics the training forward moved back into `model`'s batch norms.
fn write_running_stats(net: &CpuPoCoNet, model: &PoCoNet) {
    let device = model.output.weight.device();
    let blocks = model.encoder.iter().chain(std::iter::once(&model.bottleneck)).chain(&model.decoder);
    let net_blocks = net.encoder.iter().chain(std::iter::once(&net.bottleneck)).chain(&net.decoder);
    for (block, net_block) in blocks.zip(net_blocks) {
        for (norm, layer) in block.norms.iter().zip(&net_block.layers) {
            let Norm::Batch(p) = &layer.norm else { unreachable!("a training network has batch statistics") };
            let tensor = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
            // As burn's BatchNorm does it; `value_sync` folds this thread's update in at once.
            norm.running_mean.update(tensor(&p.running_mean));
            norm.running_var.update(tensor(&p.running_var));
            let _ = (norm.running_mean.value_sync(), norm.running_var.value_sync());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::tensor_stft::{model_istft, model_stft};
    use crate::model::attention::CausalFrameAttentionConfig;
    use crate::model::dense_block::DenseBlockConfig;
    use crate::model::pooling::{downsample, upsample};
    use crate::model::{PoCoNetConfig, SeparationLossConfig};
    use burn::module::{Module, Param};
    use burn::tensor::{Distribution, Gradients};

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn flat<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    fn grad<const D: usize>(p: &Param<Tensor<D>>, grads: &Gradients) -> Vec<f32> {
        flat(p.val().grad(grads).expect("parameter has a gradient"))
    }

    /// `|a - b| / |b|` (L2 norms); panics with `what` if it exceeds `tol` or `b` is zero.
    fn assert_close(what: &str, a: &[f32], b: &[f32], tol: f64) {
        assert_eq!(a.len(), b.len(), "{what}: lengths differ");
        let diff: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>().sqrt();
        let norm: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum::<f64>().sqrt();
        assert!(norm > 0.0, "{what}: reference is zero");
        assert!(diff / norm <= tol, "{what}: relative error {:.2e}", diff / norm);
    }

    use super::super::tests::randomise_norms;

    fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    #[test]
    fn dense_block_gradients_match_autodiff() {
        let d = device();
        // Large enough that the convolutions run over several units of rows; odd frames and
        // bins leave the last row of tiles and the last tile of each row part empty.
        let shape = [2, 3, 71, 37];
        assert!(Maps::zeros(2, 71, 37, 3).conv_rows().1 > 2 * super::super::conv::unit_rows(37, 3));
        let mut block = DenseBlockConfig::new(3, 4).init(&d);
        randomise_norms(&mut block, &d);
        // The CPU block starts from the statistics before burn's forward moves them.
        let plain = block.valid();
        let x = random(shape, &d).require_grad();
        let y = block.forward(x.clone());
        let r = random(y.dims(), &d);
        let grads = y.clone().mul(r.clone()).sum().backward();

        let mut net = Dense::new(&plain, &[3], true);
        let x_map = Maps::from_nchw(&flat(x.clone()), shape);
        let tape = net.forward(&[&x_map]);
        assert_close("output", &tape.outputs.last().unwrap().to_nchw(), &flat(y), 1e-5);
        net.update_running_stats(&tape);
        let mut g = net.zero_grads();
        let d_x = net.backward(&[&x_map], tape, Maps::from_nchw(&flat(r), [2, 4, 71, 37]), &mut g, true);
        assert_close("input", &d_x[0].to_nchw(), &flat(x.grad(&grads).unwrap()), 1e-4);
        for (i, ((conv, norm), layer)) in block.convs.iter().zip(&block.norms).zip(&net.layers).enumerate() {
            assert_close(
                &format!("conv {i}"),
                &layer.conv.grads_to_burn(&g.weight[i]),
                &grad(&conv.weight, &grads),
                1e-4,
            );
            assert_close(&format!("gamma {i}"), &g.gamma[i], &grad(&norm.gamma, &grads), 1e-4);
            assert_close(&format!("beta {i}"), &g.beta[i], &grad(&norm.beta, &grads), 1e-4);
            // The bias before batch norm has no effect: autodiff finds zero too, up to the
            // round-off of its sums over the 5,254 pixels.
            let bias = grad(conv.bias.as_ref().unwrap(), &grads);
            assert!(bias.iter().all(|v| v.abs() < 1e-3), "conv bias gradient {bias:?}");
            let Norm::Batch(p) = &layer.norm else { unreachable!() };
            assert_close(&format!("running mean {i}"), &p.running_mean, &flat(norm.running_mean.value_sync()), 1e-5);
            assert_close(&format!("running var {i}"), &p.running_var, &flat(norm.running_var.value_sync()), 1e-5);
        }
    }

    #[test]
    fn attention_gradients_match_autodiff() {
        let d = device();
        let shape = [2, 3, 7, 4];
        let block = CausalFrameAttentionConfig::new(3, 4).with_attention_channels(2).with_key_dim(5).init(&d);
        let x = random(shape, &d).require_grad();
        let y = block.forward(x.clone());
        let r = random(shape, &d);
        let grads = y.clone().mul(r.clone()).sum().backward();

        let net = Attention::new(&block.valid());
        let x_map = Maps::from_nchw(&flat(x.clone()), shape);
        let (out, tape) = net.forward(&x_map, crate::model::cpu::AttentionSpan::ALL);
        assert_close("output", &out.to_nchw(), &flat(y), 1e-5);
        let mut g = net.zero_grads();
        let d_x = net.backward(&x_map, tape, &Maps::from_nchw(&flat(r), shape), &mut g);
        assert_close("input", &d_x.to_nchw(), &flat(x.grad(&grads).unwrap()), 1e-4);
        let (reduce, mix) = g.conv_weights_to_burn(&net);
        assert_close("reduce", &reduce, &grad(&block.reduce.weight, &grads), 1e-4);
        assert_close("reduce bias", &g.reduce_bias, &grad(block.reduce.bias.as_ref().unwrap(), &grads), 1e-4);
        assert_close("mix", &mix, &grad(&block.mix.weight, &grads), 1e-4);
        assert_close("mix bias", &g.mix_bias, &grad(block.mix.bias.as_ref().unwrap(), &grads), 1e-4);
        assert_close("query", &g.query, &grad(&block.query.weight, &grads), 1e-4);
        assert_close("query bias", &g.query_bias, &grad(block.query.bias.as_ref().unwrap(), &grads), 1e-4);
        assert_close("key", &g.key, &grad(&block.key.weight, &grads), 1e-4);
        // The softmax cancels the key bias: zero here, round-off from autodiff.
        assert!(g.key_bias.iter().all(|v| *v == 0.0));
        let key_bias = grad(block.key.bias.as_ref().unwrap(), &grads);
        let scale = grad(&block.key.weight, &grads).iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(key_bias.iter().all(|v| v.abs() < 1e-4 * scale), "key bias gradient {key_bias:?}");
    }

    #[test]
    fn down_and_upsampling_gradients_match_autodiff() {
        let d = device();
        let shape = [2, 3, 6, 8];
        let x = random(shape, &d).require_grad();
        let down = downsample(x.clone());
        let r = random(down.dims(), &d);
        let grads = down.clone().mul(r.clone()).sum().backward();
        let x_map = Maps::from_nchw(&flat(x.clone()), shape);
        assert_close("down", &super::super::pool::downsample(&x_map).to_nchw(), &flat(down), 1e-6);
        let mut d_x = x_map.like(3);
        downsample_backward(&Maps::from_nchw(&flat(r), [2, 3, 3, 4]), &mut d_x);
        assert_close("down grad", &d_x.to_nchw(), &flat(x.grad(&grads).unwrap()), 1e-6);

        let up = upsample(x.clone());
        let r = random(up.dims(), &d);
        let grads = up.clone().mul(r.clone()).sum().backward();
        assert_close("up", &super::super::pool::upsample(&x_map).to_nchw(), &flat(up), 1e-6);
        let d_x = upsample_backward(&Maps::from_nchw(&flat(r), [2, 3, 12, 16]));
        assert_close("up grad", &d_x.to_nchw(), &flat(x.grad(&grads).unwrap()), 1e-6);
    }

    fn waveforms(batch: usize, samples: usize, seed: u64) -> [Vec<f32>; 3] {
        let noise = |k: u64| -> Vec<f32> {
            (0..batch * samples)
                .map(|i| {
                    let h = (i as u64 + 7919 * k + seed * 104_729).wrapping_mul(2_654_435_761) >> 7;
                    (h % 2000) as f32 / 10_000.0 - 0.1 + 0.2 * ((i as f32) * 0.01 * (k + 1) as f32).sin()
                })
                .collect()
        };
        let vocals = noise(1);
        let accompaniment = noise(2);
        let mixture = vocals.iter().zip(&accompaniment).map(|(v, a)| v + a).collect();
        [mixture, vocals, accompaniment]
    }

    /// The tensor path's Eq. 3 on a batch (as the trainer's `batch_loss`).
    fn tensor_loss(
        model: &PoCoNet,
        loss: &SeparationLossConfig,
        w: &[Vec<f32>; 3],
        batch: usize,
        samples: usize,
        d: &Device,
    ) -> Tensor<1> {
        let t = |x: &[f32]| Tensor::<1>::from_floats(x, d).reshape([batch, samples]);
        let estimates = model.separate_spectrogram(model_stft(t(&w[0])));
        let [b, _, frames, bins, _] = estimates.dims();
        let source = |i| model_istft(estimates.clone().narrow(1, i, 1).reshape([b, frames, bins, 2]), samples);
        loss.init().forward(source(0), source(1), t(&w[1]), t(&w[2]))
    }

    #[test]
    fn output_consistency_and_loss_gradients_match_autodiff() {
        // The tail of the network alone: from the output convolution's 4 channels through
        // mixture consistency, the masks, the inverse STFT and Eq. 2-3.
        let d = device();
        let (batch, samples) = (2, 3000);
        let w = waveforms(batch, samples, 3);
        let stft = Stft::new(N_FFT, HOP);
        let frames = stft.n_frames(samples);
        let raw =
            Tensor::<4>::random([batch, 4, frames, MODEL_BINS], Distribution::Normal(0.0, 0.5), &d).require_grad();
        let config = SeparationLossConfig::new().with_lambda_spec(0.7).with_lambda_accompaniment(1.3);
        let t = |x: &[f32]| Tensor::<1>::from_floats(x, &d).reshape([batch, samples]);
        let mixture = model_stft(t(&w[0]));
        let masks: Tensor<5> = raw.clone().reshape([batch, 2, 2, frames, MODEL_BINS]).permute([0, 1, 3, 4, 2]);
        let masks = masks.pad([(0, 0), (0, 0), (0, 0), (0, 1), (0, 0)], burn::tensor::ops::PadMode::Constant(0.0));
        let masks = crate::model::poconet::mixture_consistent(masks);
        let mixture5: Tensor<5> = mixture.unsqueeze_dim(1);
        let estimates = crate::model::complex::complex_mul(masks, mixture5.repeat_dim(1, 2));
        let source =
            |i| model_istft(estimates.clone().narrow(1, i, 1).reshape([batch, frames, MODEL_BINS + 1, 2]), samples);
        let l = config.init().forward(source(0), source(1), t(&w[1]), t(&w[2]));
        let expected_loss = flat(l.clone())[0];
        let grads = l.backward();

        let trainer = CpuTrainer::default();
        let spectra: Vec<Spectrogram> =
            (0..batch).map(|b| stft.forward(&w[0][b * samples..(b + 1) * samples])).collect();
        let mut raw_map = Maps::zeros(batch, frames, MODEL_BINS, 4);
        let nchw = flat(raw.clone());
        let from = Maps::from_nchw(&nchw, [batch, 4, frames, MODEL_BINS]);
        raw_map.data.copy_from_slice(&from.data);
        let wf = Waveforms { batch, samples, mixture: &w[0], vocals: &w[1], accompaniment: &w[2] };
        let (loss, d_raw) = trainer.loss(&raw_map, &spectra, &wf, &config);
        assert!((loss as f32 - expected_loss).abs() <= 1e-4 * expected_loss, "loss {loss} vs {expected_loss}");
        assert_close("d raw", &d_raw.to_nchw(), &flat(raw.grad(&grads).unwrap()), 1e-3);
    }

    #[test]
    fn whole_model_gradients_match_autodiff() {
        let d = device();
        // 14 frames, padded to 16 for the two levels: the padding frames get no gradient.
        let (batch, samples) = (2, 3500);
        let config =
            PoCoNetConfig::new().with_levels(2).with_base_channels(4).with_max_channels(8).with_attention_key_dim(6);
        // Seeded (and holding the seed's lock against parallel tests' draws): float round-off
        // against the 1e-3 tolerance should not depend on which random model a run draws.
        let model = crate::device::seeded(&d, 17, || {
            let mut model = config.init(&d);
            for block in model.encoder.iter_mut().chain(model.decoder.iter_mut()) {
                randomise_norms(block, &d);
            }
            randomise_norms(&mut model.bottleneck, &d);
            model
        });
        let model = model.train();
        let cpu_model = model.valid();
        let w = waveforms(batch, samples, 5);
        let loss_config = SeparationLossConfig::new();
        let l = tensor_loss(&model, &loss_config, &w, batch, samples, &d);
        let expected_loss = flat(l.clone())[0] as f64;
        let grads = l.backward();

        let wf = Waveforms { batch, samples, mixture: &w[0], vocals: &w[1], accompaniment: &w[2] };
        let step = CpuTrainer::default().gradients(&cpu_model, &loss_config, &wf);
        assert!((step.loss - expected_loss).abs() <= 1e-4 * expected_loss, "loss {} vs {expected_loss}", step.loss);
        // Every trainable parameter has a gradient, and each agrees with autodiff's.
        let mut autodiff = AutodiffGrads(&grads, Default::default(), 0);
        model.visit(&mut autodiff);
        let n_running = 2 * 3 * (2 * config.levels + 1);
        assert_eq!(step.gradients.len() + n_running, autodiff.2, "one gradient per parameter");
        let mut checked = 0;
        let scale = autodiff.1.values().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        for g in &step.gradients {
            let reference = &autodiff.1[&g.id];
            if g.values.iter().all(|v| *v == 0.0) {
                // A convolution bias before batch norm, a key bias before the softmax: autodiff
                // finds round-off only.
                let max = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(max < 1e-4 * scale, "a parameter with zero gradient has {max} from autodiff");
                continue;
            }
            assert_close(&format!("parameter {:?} {:?}", g.id, g.shape), &g.values, reference, 1e-3);
            checked += 1;
        }
        assert!(checked > 40, "only {checked} parameters compared");
        // Running statistics moved alike.
        for (a, b) in model.encoder.iter().chain(&model.decoder).zip(cpu_model.encoder.iter().chain(&cpu_model.decoder))
        {
            for (na, nb) in a.norms.iter().zip(&b.norms) {
                assert_close(
                    "running mean",
                    &flat(nb.running_mean.value_sync()),
                    &flat(na.running_mean.value_sync()),
                    1e-4,
                );
                assert_close(
                    "running var",
                    &flat(nb.running_var.value_sync()),
                    &flat(na.running_var.value_sync()),
                    1e-4,
                );
            }
        }
    }

    /// Every parameter's id and its autodiff gradient (empty for running statistics).
    struct AutodiffGrads<'a>(&'a Gradients, std::collections::HashMap<ParamId, Vec<f32>>, usize);
    impl burn::module::ModuleVisitor for AutodiffGrads<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.2 += 1;
            if let Some(g) = param.val().grad(self.0) {
                self.1.insert(param.id, flat(g));
            }
        }
    }
}
