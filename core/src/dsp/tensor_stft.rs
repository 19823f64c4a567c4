//! The model's STFT on burn tensors (any device, differentiable under autodiff), with the
//! paper's settings: 1024-point FFT, hop 256, periodic Hann window, centred frames.
//! burn-signal's `stft`/`istft` follow `torch.stft`/`torch.istft`, so these match PyTorch.

use crate::{HOP, N_FFT};
use burn::tensor::ops::PadMode;
use burn::tensor::signal::{StftOptions, hann_window, irfft, stft};
use burn::tensor::{Device, Tensor};

fn options() -> StftOptions {
    StftOptions { n_fft: N_FFT, hop_length: HOP, win_length: None, center: true, onesided: true }
}

fn window(device: &Device) -> Tensor<1> {
    hann_window(N_FFT, true, device)
}

/// `[batch, samples]` -> `[batch, frames, 513, 2]` (real, imaginary). Needs more than 512 samples.
pub fn model_stft(signal: Tensor<2>) -> Tensor<4> {
    let device = signal.device();
    stft(signal, Some(window(&device)), options())
}

/// `[batch, frames, 513, 2]` -> `[batch, length]`, as `torch.istft(center=True, length=..)`.
///
/// Written here rather than calling burn-signal's `istft` because that one trims the centre
/// padding before honouring `length` (losing the last samples when the length is not a multiple
/// of the hop, unlike PyTorch) and overlap-adds one frame at a time (one graph node per frame,
/// slow to train through). Since the hop is a quarter of the FFT size, overlap-add is four
/// shifted sums of hop-sized blocks.
pub fn model_istft(spec: Tensor<4>, length: usize) -> Tensor<2> {
    let device = spec.device();
    let [batch, frames, bins, _] = spec.dims();
    let re: Tensor<2> = spec.clone().narrow(3, 0, 1).reshape([batch * frames, bins]);
    let im: Tensor<2> = spec.narrow(3, 1, 1).reshape([batch * frames, bins]);
    let windowed = irfft(re, im, 1, Some(N_FFT)).mul(window(&device).reshape([1, N_FFT]));
    let overlap = N_FFT / HOP;
    let blocks: Tensor<4> = windowed.reshape([batch, frames, overlap, HOP]);
    let mut sum: Option<Tensor<3>> = None;
    for j in 0..overlap {
        let part: Tensor<3> = blocks.clone().narrow(2, j, 1).reshape([batch, frames, HOP]);
        let shifted = part.pad([(0, 0), (j, overlap - 1 - j), (0, 0)], PadMode::Constant(0.0));
        sum = Some(match sum {
            Some(s) => s.add(shifted),
            None => shifted,
        });
    }
    let total = (frames + overlap - 1) * HOP;
    let signal: Tensor<2> = sum.expect("at least one block").reshape([batch, total]);
    let envelope = Tensor::<1>::from_floats(window_envelope(frames).as_slice(), &device).reshape([1, total]);
    let signal = signal.div(envelope);
    let start = N_FFT / 2;
    let available = total.saturating_sub(start).min(length);
    let signal = signal.narrow(1, start, available);
    if available < length { signal.pad([(0, 0), (0, length - available)], PadMode::Constant(0.0)) } else { signal }
}

/// Sum of squared windows under the overlap-add, floored like PyTorch's 1e-11 check.
fn window_envelope(frames: usize) -> Vec<f32> {
    let w = crate::dsp::stft::hann_window(N_FFT);
    let total = N_FFT + (frames - 1) * HOP;
    let mut env = vec![0.0f32; total];
    for t in 0..frames {
        for (i, v) in w.iter().enumerate() {
            env[t * HOP + i] += v * v;
        }
    }
    env.iter().map(|e| e.max(1e-10)).collect()
}

/// Magnitude of a `[.., 2]` complex tensor, with a small floor so the gradient of the square
/// root stays finite at zero.
pub fn magnitude<const D: usize, const D2: usize>(spec: Tensor<D>) -> Tensor<D2> {
    let last = D - 1;
    spec.powf_scalar(2.0).sum_dim(last).add_scalar(1e-10).sqrt().squeeze_dim(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::Stft;

    #[test]
    fn tensor_stft_matches_cpu_stft_and_inverts() {
        let device = Device::flex();
        let len = 8000;
        let x: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.013).sin() * 0.5 + ((i * 31) % 17) as f32 / 40.0).collect();
        let t = Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, len]);
        let spec = model_stft(t);
        let [_, frames, bins, _] = spec.dims();
        let cpu = Stft::new(N_FFT, HOP).forward(&x);
        assert_eq!((frames, bins), (cpu.n_frames, cpu.n_bins));
        let data: Vec<f32> = spec.clone().into_data().try_to_vec::<f32>().unwrap();
        let mut max_err = 0.0f32;
        for f in 0..frames {
            for b in 0..bins {
                let c = cpu.frame(f)[b];
                let i = (f * bins + b) * 2;
                max_err = max_err.max((data[i] - c.re).abs()).max((data[i + 1] - c.im).abs());
            }
        }
        assert!(max_err < 1e-2, "tensor vs cpu STFT max error {max_err}");
        let y: Vec<f32> = model_istft(spec, len).into_data().try_to_vec::<f32>().unwrap();
        let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 1e-4, "reconstruction error {err}");
    }
}
