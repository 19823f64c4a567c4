//! A CPU short-time Fourier transform that follows `torch.stft(center=True)`: periodic Hann
//! window, reflect padding of `n_fft / 2` on both sides, frames every `hop` samples, and an
//! inverse that divides by the summed squared window (the least-squares ISTFT).
//!
//! The separator uses this one (not the tensor STFT) to apply masks to the full-rate channels:
//! it works for any FFT size (realfft handles non-powers of two, which a 44.1 kHz frame of
//! 64 ms needs) and needs no device round trip.

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// A periodic Hann window, as `torch.hann_window(n, periodic=True)`.
pub fn hann_window(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (0.5 - 0.5 * phase.cos()) as f32
        })
        .collect()
}

/// Complex spectrogram, frame-major: `bins[frame * n_bins + bin]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    pub n_frames: usize,
    pub n_bins: usize,
    pub bins: Vec<Complex32>,
}

impl Spectrogram {
    pub fn frame(&self, t: usize) -> &[Complex32] {
        &self.bins[t * self.n_bins..(t + 1) * self.n_bins]
    }
    pub fn frame_mut(&mut self, t: usize) -> &mut [Complex32] {
        &mut self.bins[t * self.n_bins..(t + 1) * self.n_bins]
    }
}

/// The buffers [`Stft`]'s one-frame transforms work in.
pub struct FrameBuffers {
    time: Vec<f32>,
    /// The spectrum [`Stft::frame_forward`] writes and [`Stft::frame_inverse`] reads.
    pub spectrum: Vec<Complex32>,
    forward_scratch: Vec<Complex32>,
    inverse_scratch: Vec<Complex32>,
}

/// Planned forward and inverse real FFTs with a Hann window.
#[derive(Clone)]
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft").field("n_fft", &self.n_fft).field("hop", &self.hop).finish()
    }
}

impl Stft {
    /// `n_fft` must be even and `hop` at most `n_fft / 2` (so the Hann windows overlap enough
    /// to invert); both are checked.
    pub fn new(n_fft: usize, hop: usize) -> Self {
        assert!(n_fft >= 4 && n_fft % 2 == 0, "n_fft must be even and >= 4, got {n_fft}");
        assert!(hop >= 1 && hop <= n_fft / 2, "hop must be in 1..=n_fft/2, got {hop}");
        let mut planner = RealFftPlanner::<f32>::new();
        Self {
            n_fft,
            hop,
            window: hann_window(n_fft),
            forward: planner.plan_fft_forward(n_fft),
            inverse: planner.plan_fft_inverse(n_fft),
        }
    }

    pub fn n_fft(&self) -> usize {
        self.n_fft
    }
    pub fn hop(&self) -> usize {
        self.hop
    }
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }
    /// Number of frames for a signal of `len` samples (centred frames).
    pub fn n_frames(&self, len: usize) -> usize {
        len / self.hop + 1
    }

    /// Forward STFT of a signal of any length >= 1 (PyTorch needs `len > n_fft / 2` for reflect
    /// padding; shorter signals are zero-extended first so this never fails).
    pub fn forward(&self, signal: &[f32]) -> Spectrogram {
        let half = self.n_fft / 2;
        let padded = reflect_pad(signal, half);
        let n_frames = self.n_frames(signal.len());
        let n_bins = self.n_bins();
        let mut bins = Vec::with_capacity(n_frames * n_bins);
        let mut buffers = self.frame_buffers();
        for t in 0..n_frames {
            let start = t * self.hop;
            bins.extend_from_slice(self.frame_forward(&padded[start..start + self.n_fft], &mut buffers));
        }
        Spectrogram { n_frames, n_bins, bins }
    }

    /// Inverse STFT (windowed overlap-add divided by the summed squared window), trimmed of the
    /// centre padding and cut or zero-extended to `length` samples.
    pub fn inverse(&self, spec: &Spectrogram, length: usize) -> Vec<f32> {
        assert_eq!(spec.n_bins, self.n_bins(), "spectrogram has the wrong number of bins");
        let half = self.n_fft / 2;
        let total = self.n_fft + spec.n_frames.saturating_sub(1) * self.hop;
        let mut output = vec![0.0f32; total];
        let mut norm = vec![0.0f32; total];
        let mut buffers = self.frame_buffers();
        for t in 0..spec.n_frames {
            buffers.spectrum.copy_from_slice(spec.frame(t));
            let frame = self.frame_inverse(&mut buffers);
            let start = t * self.hop;
            for i in 0..self.n_fft {
                output[start + i] += frame[i];
                norm[start + i] += self.window[i] * self.window[i];
            }
        }
        (0..length)
            .map(|i| {
                let j = i + half;
                if j < total && norm[j] > 1e-8 { output[j] / norm[j] } else { 0.0 }
            })
            .collect()
    }

    /// Buffers for [`Self::frame_forward`] and [`Self::frame_inverse`], which then allocate
    /// nothing (the live separator runs them on an audio thread).
    pub fn frame_buffers(&self) -> FrameBuffers {
        FrameBuffers {
            time: self.forward.make_input_vec(),
            spectrum: self.forward.make_output_vec(),
            forward_scratch: self.forward.make_scratch_vec(),
            inverse_scratch: self.inverse.make_scratch_vec(),
        }
    }

    /// The spectrum of one frame of `n_fft` samples (windowed here), in `buffers.spectrum`.
    pub fn frame_forward<'a>(&self, samples: &[f32], buffers: &'a mut FrameBuffers) -> &'a mut [Complex32] {
        for ((x, s), w) in buffers.time.iter_mut().zip(samples).zip(&self.window) {
            *x = s * w;
        }
        self.forward
            .process_with_scratch(&mut buffers.time, &mut buffers.spectrum, &mut buffers.forward_scratch)
            .expect("buffer sizes come from the plan");
        &mut buffers.spectrum
    }

    /// One frame's share of [`Self::inverse`]'s overlap-add: the inverse FFT of
    /// `buffers.spectrum` (consumed), scaled by `1 / n_fft` and windowed. Dividing the sum of
    /// these by the summed squared window ([`Self::summed_squared_window`]) inverts the STFT.
    pub fn frame_inverse<'a>(&self, buffers: &'a mut FrameBuffers) -> &'a [f32] {
        // A real signal's DC and Nyquist bins are real; realfft rejects anything else.
        let last = buffers.spectrum.len() - 1;
        buffers.spectrum[0].im = 0.0;
        buffers.spectrum[last].im = 0.0;
        self.inverse
            .process_with_scratch(&mut buffers.spectrum, &mut buffers.time, &mut buffers.inverse_scratch)
            .expect("buffer sizes come from the plan");
        let scale = 1.0 / self.n_fft as f32;
        for (x, w) in buffers.time.iter_mut().zip(&self.window) {
            *x *= scale * w;
        }
        &buffers.time
    }

    /// The squared windows of all frames overlapping sample `i` of the padded signal, summed,
    /// away from the signal's ends (the same for every `i` when the hop divides `n_fft`).
    pub fn summed_squared_window(&self, i: usize) -> f32 {
        (0..self.n_fft)
            .filter(|k| (i + self.n_fft - k).is_multiple_of(self.hop))
            .map(|k| self.window[k] * self.window[k])
            .sum()
    }

    /// The adjoint of [`Stft::forward`] for a signal of `len` samples: the gradient with
    /// respect to the signal of a loss whose gradient with respect to the spectrum is `grad`
    /// (real and imaginary parts as independent values).
    pub fn forward_adjoint(&self, grad: &Spectrogram, len: usize) -> Vec<f32> {
        assert_eq!(grad.n_bins, self.n_bins(), "spectrogram has the wrong number of bins");
        let half = self.n_fft / 2;
        let mut padded = vec![0.0f32; len + 2 * half];
        let mut buf = self.inverse.make_input_vec();
        let mut frame = self.inverse.make_output_vec();
        let mut scratch = self.inverse.make_scratch_vec();
        let last = buf.len() - 1;
        for t in 0..grad.n_frames {
            // sum_k (g_re cos - g_im sin) over the one-sided bins is the unnormalised inverse
            // real FFT of g / 2 (of g itself at DC and Nyquist, which count once).
            for (z, g) in buf.iter_mut().zip(grad.frame(t)) {
                *z = g * 0.5;
            }
            buf[0] = Complex32::new(grad.frame(t)[0].re, 0.0);
            buf[last] = Complex32::new(grad.frame(t)[last].re, 0.0);
            self.inverse
                .process_with_scratch(&mut buf, &mut frame, &mut scratch)
                .expect("buffer sizes come from the plan");
            let start = t * self.hop;
            for (i, v) in frame.iter().enumerate() {
                if let Some(p) = padded.get_mut(start + i) {
                    *p += v * self.window[i];
                }
            }
        }
        let mut out = vec![0.0f32; len];
        for (i, v) in padded.iter().enumerate() {
            if let Some(j) = reflect_source(i as isize - half as isize, len) {
                out[j] += v;
            }
        }
        out
    }

    /// The adjoint of [`Stft::inverse`] for `n_frames` frames: the gradient with respect to the
    /// spectrum (real and imaginary parts as independent values) of a loss whose gradient with
    /// respect to the output signal is `grad`.
    pub fn inverse_adjoint(&self, grad: &[f32], n_frames: usize) -> Spectrogram {
        let half = self.n_fft / 2;
        let total = self.n_fft + n_frames.saturating_sub(1) * self.hop;
        let mut norm = vec![0.0f32; total];
        for t in 0..n_frames {
            for (i, w) in self.window.iter().enumerate() {
                norm[t * self.hop + i] += w * w;
            }
        }
        let mut scaled = vec![0.0f32; total];
        for (i, g) in grad.iter().enumerate() {
            let j = i + half;
            if j < total && norm[j] > 1e-8 {
                scaled[j] = g / norm[j];
            }
        }
        let n_bins = self.n_bins();
        let mut bins = vec![Complex32::new(0.0, 0.0); n_frames * n_bins];
        let mut frame = self.forward.make_input_vec();
        let mut scratch = self.forward.make_scratch_vec();
        let scale = 1.0 / self.n_fft as f32;
        for t in 0..n_frames {
            let start = t * self.hop;
            for (i, x) in frame.iter_mut().enumerate() {
                *x = scaled[start + i] * scale * self.window[i];
            }
            let out = &mut bins[t * n_bins..(t + 1) * n_bins];
            self.forward.process_with_scratch(&mut frame, out, &mut scratch).expect("buffer sizes come from the plan");
            // Each middle bin stands for itself and its conjugate twin; the inverse ignores the
            // imaginary parts at DC and Nyquist.
            let last = n_bins - 1;
            for z in &mut out[1..last] {
                *z *= 2.0;
            }
            out[0].im = 0.0;
            out[last].im = 0.0;
        }
        Spectrogram { n_frames, n_bins, bins }
    }
}

/// Reflect padding as `torch.nn.functional.pad(mode="reflect")`, falling back to zeros where the
/// signal is too short to reflect.
fn reflect_pad(signal: &[f32], pad: usize) -> Vec<f32> {
    let n = signal.len();
    (0..n + 2 * pad).map(|i| reflect_source(i as isize - pad as isize, n).map_or(0.0, |j| signal[j])).collect()
}

/// The sample of a signal of `n` samples that reflect padding puts at position `i` (negative:
/// before the start), or `None` for a zero.
fn reflect_source(i: isize, n: usize) -> Option<usize> {
    if n < 2 {
        return (i == 0 && n == 1).then_some(0);
    }
    let n = n as isize;
    if i < -(n - 1) || i > 2 * (n - 1) {
        // Beyond one reflection torch would fail; zeros keep short chunks usable.
        return None;
    }
    let period = 2 * (n - 1);
    let mut j = i.rem_euclid(period);
    if j >= n {
        j = period - j;
    }
    Some(j as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: f32, len: usize) -> Vec<f32> {
        (0..len).map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate).sin()).collect()
    }

    #[test]
    fn sine_lands_in_its_bin_with_the_right_magnitude() {
        // 1000 Hz at 16 kHz with a 1024-point FFT sits exactly on bin 64.
        let stft = Stft::new(1024, 256);
        let x = sine(1000.0, 16000.0, 16000);
        let spec = stft.forward(&x);
        let t = spec.n_frames / 2;
        let frame = spec.frame(t);
        let (peak, _) = frame.iter().enumerate().max_by(|a, b| a.1.norm().partial_cmp(&b.1.norm()).unwrap()).unwrap();
        assert_eq!(peak, 64);
        // A unit sine through a Hann window: |X| = A * sum(w) / 2 = n_fft / 4.
        let expected = 1024.0 / 4.0;
        assert!((frame[64].norm() - expected).abs() / expected < 1e-3, "{}", frame[64].norm());
        assert!(frame[10].norm() < 1e-2);
    }

    #[test]
    fn perfect_reconstruction() {
        for (n_fft, hop, len) in [(1024, 256, 16000), (2824, 706, 44100), (512, 128, 1000)] {
            let stft = Stft::new(n_fft, hop);
            let x: Vec<f32> = (0..len).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
            let y = stft.inverse(&stft.forward(&x), len);
            let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "n_fft {n_fft}: max error {err}");
        }
    }

    #[test]
    fn frame_count_matches_torch() {
        // torch.stft(center=True) gives 1 + len // hop frames.
        let stft = Stft::new(1024, 256);
        assert_eq!(stft.forward(&vec![0.0; 16000]).n_frames, 63);
        assert_eq!(stft.forward(&vec![0.0; 256]).n_frames, 2);
    }

    #[test]
    fn reflect_padding_matches_torch() {
        // torch.nn.functional.pad(tensor([1,2,3,4]), (2,2), mode="reflect") = [3,2,1,2,3,4,3,2]
        assert_eq!(reflect_pad(&[1.0, 2.0, 3.0, 4.0], 2), vec![3., 2., 1., 2., 3., 4., 3., 2.]);
    }

    #[test]
    fn adjoints_satisfy_the_inner_product_identity() {
        // <A x, y> = <x, A^T y> for the forward STFT and the inverse, with arbitrary x and y.
        let stft = Stft::new(64, 16);
        let len = 150;
        let noise = |seed: usize, n: usize| -> Vec<f32> {
            (0..n).map(|i| (((i + seed) * 2_654_435_761usize) % 1000) as f32 / 500.0 - 1.0).collect()
        };
        let x = noise(1, len);
        let spec = stft.forward(&x);
        let y: Vec<Complex32> =
            noise(2, 2 * spec.bins.len()).chunks_exact(2).map(|p| Complex32::new(p[0], p[1])).collect();
        let y = Spectrogram { n_frames: spec.n_frames, n_bins: spec.n_bins, bins: y };
        let lhs: f64 = spec.bins.iter().zip(&y.bins).map(|(a, b)| (a.re * b.re + a.im * b.im) as f64).sum();
        let rhs: f64 = x.iter().zip(stft.forward_adjoint(&y, len)).map(|(a, b)| (a * b) as f64).sum();
        assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "forward: {lhs} vs {rhs}");
        // The inverse ignores the imaginary parts at DC and Nyquist; its input is y.
        let g = noise(3, len);
        let out = stft.inverse(&y, len);
        let lhs: f64 = out.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
        let adj = stft.inverse_adjoint(&g, y.n_frames);
        let rhs: f64 = y.bins.iter().zip(&adj.bins).map(|(a, b)| (a.re * b.re + a.im * b.im) as f64).sum();
        assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "inverse: {lhs} vs {rhs}");
        assert!(lhs.abs() > 1e-2, "degenerate test");
    }
}
