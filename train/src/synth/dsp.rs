//! Small DSP building blocks shared by the singing synthesizer, the song mixer and the
//! leakage model. Everything here is allocation-free per sample and deterministic.

use std::f64::consts::PI;

/// Level in decibels of an energy ratio; `-inf` stays representable as a very low number so
/// callers never see NaN.
pub fn energy_ratio_db(numerator: f64, denominator: f64) -> f32 {
    let tiny = 1e-30;
    (10.0 * ((numerator + tiny) / (denominator + tiny)).log10()) as f32
}

/// Sum of squares, accumulated in f64 so long signals do not lose precision.
pub fn energy(signal: &[f32]) -> f64 {
    signal.iter().map(|&x| (x as f64) * (x as f64)).sum()
}

/// Largest absolute sample value (0 for an empty signal).
pub fn peak(signal: &[f32]) -> f32 {
    signal.iter().fold(0.0f32, |m, &x| m.max(x.abs()))
}

/// MIDI note number (fractional allowed) to frequency in Hz.
pub fn midi_to_hz(midi: f32) -> f32 {
    440.0 * 2f32.powf((midi - 69.0) / 12.0)
}

/// Polynomial band-limited step residual (PolyBLEP). `t` is the phase distance from the
/// discontinuity in cycles (wrapped to [0, 1)), `dt` the phase increment per sample. Adding
/// `height / 2 * polyblep(t, dt)` to a naive waveform with a step of `height` removes most of
/// the aliasing that the step would otherwise fold back below Nyquist.
pub fn polyblep(t: f32, dt: f32) -> f32 {
    if dt <= 0.0 {
        return 0.0;
    }
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// Two-pole resonator in the Klatt form, unity gain at DC. A cascade of these is the classic
/// formant synthesizer's vocal-tract model: the relative formant amplitudes come out right
/// without per-formant gains.
#[derive(Clone, Copy, Debug, Default)]
pub struct Resonator {
    a: f32,
    b: f32,
    c: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    /// Retunes the resonator without clearing its state, so formants can glide.
    pub fn set(&mut self, frequency_hz: f32, bandwidth_hz: f32, sample_rate: f32) {
        let t = 1.0 / sample_rate as f64;
        let c = -(-2.0 * PI * bandwidth_hz as f64 * t).exp();
        let b = 2.0 * (-PI * bandwidth_hz as f64 * t).exp() * (2.0 * PI * frequency_hz as f64 * t).cos();
        self.a = (1.0 - b - c) as f32;
        self.b = b as f32;
        self.c = c as f32;
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// One-pole low-pass smoother; used for spectral tilt and for smoothing control tracks.
#[derive(Clone, Copy, Debug, Default)]
pub struct OnePole {
    coefficient: f32,
    state: f32,
}

impl OnePole {
    /// Low-pass at `cutoff_hz`.
    pub fn lowpass(cutoff_hz: f32, sample_rate: f32) -> Self {
        let c = (-2.0 * std::f32::consts::PI * cutoff_hz.max(0.0) / sample_rate).exp();
        Self { coefficient: c, state: 0.0 }
    }

    /// Smoother whose step response reaches 63 % after `time_constant_s`.
    pub fn smoother(time_constant_s: f32, sample_rate: f32, initial: f32) -> Self {
        let c = if time_constant_s > 0.0 { (-1.0 / (time_constant_s * sample_rate)).exp() } else { 0.0 };
        Self { coefficient: c, state: initial }
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        self.state = x + self.coefficient * (self.state - x);
        self.state
    }
}

/// Smooth 0→1 ramp (cubic smoothstep) for glides and fades.
pub fn smoothstep(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// One damped feedback delay line of the [`Reverb`].
#[derive(Clone, Debug)]
struct DelayLine {
    buffer: Vec<f32>,
    position: usize,
    gain: f32,
    damping: OnePole,
}

impl DelayLine {
    /// The sample leaving the line, damped and attenuated.
    #[inline]
    fn read(&mut self) -> f32 {
        self.damping.process(self.buffer[self.position]) * self.gain
    }

    #[inline]
    fn write(&mut self, x: f32) {
        self.buffer[self.position] = x;
        self.position = (self.position + 1) % self.buffer.len();
    }
}

/// Feedback-delay-network reverb: eight damped delay lines mixed by a Hadamard matrix. Costs a
/// few dozen operations per sample, so every stem can get its own room without the price of
/// convolving with a seconds-long response.
#[derive(Clone, Debug)]
pub struct Reverb {
    lines: Vec<DelayLine>,
    predelay: Vec<f32>,
    predelay_position: usize,
}

impl Reverb {
    /// `rt60_s`: time for the tail to fall 60 dB; `size`: scales the delay lengths (0.5 small
    /// room .. 1.5 hall); `damping_hz`: high frequencies above it die faster.
    pub fn new(sample_rate: u32, rt60_s: f32, size: f32, damping_hz: f32) -> Self {
        // Mutually prime-ish lengths so the echoes do not pile up into a pitched ring.
        const DELAYS_MS: [f32; 8] = [23.3, 28.9, 31.7, 37.1, 41.3, 43.9, 47.3, 53.9];
        let fs = sample_rate.max(1) as f32;
        let rt60 = rt60_s.clamp(0.05, 10.0);
        let size = size.clamp(0.2, 3.0);
        let lines = DELAYS_MS
            .iter()
            .map(|ms| {
                let len = ((ms * size * 1e-3 * fs) as usize).max(1);
                DelayLine {
                    buffer: vec![0.0f32; len],
                    position: 0,
                    // Gain per pass so that the line loses 60 dB per rt60.
                    gain: 10f32.powf(-3.0 * len as f32 / (rt60 * fs)),
                    damping: OnePole::lowpass(damping_hz.clamp(500.0, 0.45 * fs), fs),
                }
            })
            .collect();
        let predelay = vec![0.0f32; ((0.012 * size * fs) as usize).max(1)];
        Self { lines, predelay, predelay_position: 0 }
    }

    /// One sample in, one sample of wet (reverberant) signal out.
    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let delayed = std::mem::replace(&mut self.predelay[self.predelay_position], x);
        self.predelay_position = (self.predelay_position + 1) % self.predelay.len();
        let mut y = [0.0f32; 8];
        for (value, line) in y.iter_mut().zip(self.lines.iter_mut()) {
            *value = line.read();
        }
        let out = y.iter().sum::<f32>() * 0.25;
        hadamard8(&mut y);
        // The Hadamard matrix scaled by 1/sqrt(8) is orthogonal: the loop loses energy only
        // through the line gains and damping.
        for (line, value) in self.lines.iter_mut().zip(y) {
            line.write(delayed + value * 0.353_553_4);
        }
        out
    }
}

/// Unnormalised fast Walsh-Hadamard transform of eight values.
fn hadamard8(v: &mut [f32; 8]) {
    let mut h = 1;
    while h < 8 {
        for i in (0..8).step_by(2 * h) {
            for j in i..i + h {
                let (a, b) = (v[j], v[j + h]);
                v[j] = a + b;
                v[j + h] = a - b;
            }
        }
        h *= 2;
    }
}

/// Wet signal of `signal` through a [`Reverb`], same length (the tail past the end is cut).
pub fn reverberate(signal: &[f32], reverb: &mut Reverb) -> Vec<f32> {
    signal.iter().map(|&x| reverb.process(x)).collect()
}
