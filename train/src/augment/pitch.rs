//! Pitch shifting that keeps the duration: a phase-vocoder time stretch by the pitch ratio,
//! then a resampling back to the original length (the same two steps as librosa's
//! `effects.pitch_shift`, which is what augmentation pipelines in Python commonly use).
//!
//! Why hand-written: rubato only resamples, which moves pitch and duration together. The
//! usual duration-preserving libraries (Rubber Band, SoundTouch) are C++ under (L)GPL and would
//! bring a C++ toolchain and a licence question into a pure-Rust build, and we
//! found no Rust crate we could vouch for. A batch phase vocoder is ~100 lines over realfft and
//! fully testable here, so we own it; the resampling, where anti-aliasing matters (an upward
//! shift pushes content past Nyquist), stays rubato's.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use svs_core::dsp::{hann_window, resample_to_len};

/// Phase-vocoder frame settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VocoderParams {
    /// Frame length in samples (even).
    pub fft_size: usize,
    /// Hop between frames in samples (at most `fft_size / 2`; a quarter frame is usual).
    pub hop: usize,
}

impl VocoderParams {
    /// About 64 ms frames (a power of two) with a quarter-frame hop: 1024 / 256 at 16 kHz.
    pub fn for_sample_rate(sample_rate: u32) -> Self {
        let fft_size = ((f64::from(sample_rate) * 0.064).round() as usize).next_power_of_two().clamp(64, 16384);
        Self { fft_size, hop: fft_size / 4 }
    }

    /// A usable version of these settings (even frame of at least 16, hop in 1..=frame/2), so
    /// the pure functions below never panic on odd input.
    fn sanitised(self) -> Self {
        let fft_size = self.fft_size.max(16) / 2 * 2;
        Self { fft_size, hop: self.hop.clamp(1, fft_size / 2) }
    }
}

/// The frequency ratio of a shift by `semitones` (equal temperament).
pub fn semitone_ratio(semitones: f64) -> f64 {
    2f64.powf(semitones / 12.0)
}

/// Shifts the pitch of `signal` by `semitones` (fractional allowed) keeping its length, with
/// frames of about 64 ms (see [`VocoderParams::for_sample_rate`]).
pub fn pitch_shift(signal: &[f32], semitones: f64, sample_rate: u32) -> Vec<f32> {
    pitch_shift_with(signal, semitones, VocoderParams::for_sample_rate(sample_rate))
}

/// [`pitch_shift`] with explicit phase-vocoder settings. Returns exactly `signal.len()` samples.
pub fn pitch_shift_with(signal: &[f32], semitones: f64, params: VocoderParams) -> Vec<f32> {
    let ratio = semitone_ratio(semitones);
    // A shift below a hundredth of a cent is inaudible; skip the work and its (small) smearing.
    if signal.is_empty() || !ratio.is_finite() || (ratio - 1.0).abs() < 1e-6 {
        return signal.to_vec();
    }
    // Stretching by the ratio and squeezing back multiplies every frequency by the ratio.
    let stretched = time_stretch(signal, ratio, params);
    resample_to_len(&stretched, signal.len())
}

/// Stretches `signal` in time by `ratio` (2 = twice as long) without changing its pitch.
/// Returns `round(len * ratio)` samples (none for a ratio that is not a positive number).
///
/// Phase vocoder with identity phase locking (Laroche & Dolson 1999): synthesis frame j reads
/// the analysis frames at fractional position j / ratio, interpolating their magnitudes; each
/// spectral peak's phase advances by the phase difference its bin shows between the two
/// neighbouring analysis frames (one hop apart, like the synthesis frames, so that difference
/// *is* the advance, whatever its multiple of 2 pi); the bins around a peak keep their analysis
/// phase offsets to it, which avoids most of the plain vocoder's "phasiness" on voices.
///
/// Phases are carried as unit complex numbers rather than angles: advancing and locking become
/// complex products, with no atan2/sin/cos per bin (the costly part of a vocoder) and no
/// wrapping to get wrong.
pub fn time_stretch(signal: &[f32], ratio: f64, params: VocoderParams) -> Vec<f32> {
    if !(ratio.is_finite() && ratio > 0.0) {
        return Vec::new();
    }
    let out_len = (signal.len() as f64 * ratio).round() as usize;
    if out_len == 0 {
        return Vec::new();
    }
    let VocoderParams { fft_size: n, hop } = params.sanitised();
    // Periodic Hann: its squares overlap-add to a constant at hops of n/4.
    let window = hann_window(n);
    let mut planner = RealFftPlanner::<f32>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);

    let frames = analyse(signal, &window, hop, &forward);
    let bins = n / 2 + 1;
    let out_frames = out_len.div_ceil(hop) + 1;
    let mut synth = Synthesiser::new(n, hop, out_frames, &window, inverse);
    // The phase each bin would have in the next synthesis frame if nothing were locked.
    let mut advanced = frames[0].phasor.clone();
    let mut locked = vec![Complex::new(1.0f32, 0.0); bins];
    let mut magnitude = vec![0.0f32; bins];
    let mut peaks = Vec::with_capacity(bins / 2);
    let last = frames.len() - 1;
    for j in 0..out_frames {
        let position = j as f64 / ratio;
        let i0 = (position.floor() as usize).min(last);
        let i1 = (i0 + 1).min(last);
        let frac = (position - i0 as f64).clamp(0.0, 1.0) as f32;
        let (a, b) = (&frames[i0], &frames[i1]);
        for ((m, x), y) in magnitude.iter_mut().zip(&a.magnitude).zip(&b.magnitude) {
            *m = (1.0 - frac) * x + frac * y;
        }
        lock_phases(&advanced, &magnitude, &a.phasor, &mut peaks, &mut locked);
        synth.add_frame(j, &magnitude, &locked);
        for k in 0..bins {
            advanced[k] = locked[k] * b.phasor[k] * a.phasor[k].conj();
        }
    }
    synth.finish(out_len)
}

/// `c / |c|`, or 1 for a (near-)zero `c` whose phase means nothing.
fn unit(c: Complex<f32>) -> Complex<f32> {
    let norm = c.norm();
    if norm > 1e-20 { c / norm } else { Complex::new(1.0, 0.0) }
}

/// One analysis frame: magnitudes and phases (as unit phasors).
struct Frame {
    magnitude: Vec<f32>,
    phasor: Vec<Complex<f32>>,
}

/// Short-time spectra of `signal`, frame m centred on sample m·hop (zero-padded by half a frame
/// at the start so the first frame is centred on sample 0), up to one frame past the end.
fn analyse(signal: &[f32], window: &[f32], hop: usize, fft: &Arc<dyn RealToComplex<f32>>) -> Vec<Frame> {
    let n = window.len();
    let count = signal.len().div_ceil(hop) + 2;
    let mut padded = vec![0.0f32; (count - 1) * hop + n];
    padded[n / 2..n / 2 + signal.len()].copy_from_slice(signal);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    (0..count)
        .map(|m| {
            let start = m * hop;
            for ((dst, x), w) in input.iter_mut().zip(&padded[start..start + n]).zip(window) {
                *dst = x * w;
            }
            // Cannot fail: the buffers come from this plan.
            let _ = fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch);
            Frame {
                magnitude: spectrum.iter().map(|c| c.norm()).collect(),
                phasor: spectrum.iter().map(|&c| unit(c)).collect(),
            }
        })
        .collect()
}

/// Identity phase locking: peaks (local maxima of the magnitude) take their advanced phase;
/// every other bin takes its own analysis phase rotated by the same angle as the peak whose
/// region it lies in (regions split halfway between peaks), so the phase relations around each
/// peak are those of the analysis frame. Writes the phasors to `locked`.
fn lock_phases(
    advanced: &[Complex<f32>],
    magnitude: &[f32],
    analysis: &[Complex<f32>],
    peaks: &mut Vec<usize>,
    locked: &mut [Complex<f32>],
) {
    let bins = magnitude.len();
    peaks.clear();
    peaks.extend((0..bins).filter(|&k| {
        let left = if k > 0 { magnitude[k - 1] } else { f32::NEG_INFINITY };
        let right = if k + 1 < bins { magnitude[k + 1] } else { f32::NEG_INFINITY };
        magnitude[k] > left && magnitude[k] >= right
    }));
    if peaks.is_empty() {
        // Silence (or a flat spectrum): nothing to lock to. Renormalise so rounding cannot
        // accumulate over a long silent stretch.
        for (out, adv) in locked.iter_mut().zip(advanced) {
            *out = unit(*adv);
        }
        return;
    }
    let mut region_start = 0;
    for (i, &p) in peaks.iter().enumerate() {
        let region_end = peaks.get(i + 1).map_or(bins, |&next| (p + next).div_ceil(2));
        let rotation = unit(advanced[p]) * analysis[p].conj();
        for k in region_start..region_end {
            locked[k] = analysis[k] * rotation;
        }
        region_start = region_end;
    }
}

/// Overlap-adds inverse-transformed frames and normalises by the summed squared window.
struct Synthesiser {
    n: usize,
    hop: usize,
    window: Vec<f32>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    spectrum: Vec<Complex<f32>>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    output: Vec<f32>,
    weight: Vec<f32>,
}

impl Synthesiser {
    fn new(n: usize, hop: usize, frames: usize, window: &[f32], inverse: Arc<dyn ComplexToReal<f32>>) -> Self {
        let len = (frames - 1) * hop + n;
        Self {
            n,
            hop,
            window: window.to_vec(),
            spectrum: inverse.make_input_vec(),
            frame: inverse.make_output_vec(),
            scratch: inverse.make_scratch_vec(),
            inverse,
            output: vec![0.0; len],
            weight: vec![0.0; len],
        }
    }

    fn add_frame(&mut self, index: usize, magnitude: &[f32], phasor: &[Complex<f32>]) {
        for ((c, m), p) in self.spectrum.iter_mut().zip(magnitude).zip(phasor) {
            *c = p * m;
        }
        // A real signal's DC and Nyquist bins are real; realfft rejects anything else.
        let last = self.spectrum.len() - 1;
        self.spectrum[0].im = 0.0;
        self.spectrum[last].im = 0.0;
        let _ = self.inverse.process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch);
        let start = index * self.hop;
        let scale = 1.0 / self.n as f32; // realfft's inverse is unnormalised
        for i in 0..self.n {
            let w = self.window[i];
            self.output[start + i] += self.frame[i] * w * scale;
            self.weight[start + i] += w * w;
        }
    }

    /// The first `len` samples after the half-frame of padding, divided by the window overlap.
    fn finish(self, len: usize) -> Vec<f32> {
        let offset = self.n / 2;
        // Where few frames overlap (the very edges) the weight is tiny; leave those samples at 0
        // rather than amplifying noise.
        let floor = 1e-3 * self.weight.iter().copied().fold(0.0f32, f32::max);
        (0..len)
            .map(|i| {
                let (y, w) = (self.output[offset + i], self.weight[offset + i]);
                if w > floor { y / w } else { 0.0 }
            })
            .collect()
    }
}
