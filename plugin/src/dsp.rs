//! The plugin's per-sample DSP as small pure functions, so the mixing rules are unit-tested
//! without a host.

/// The bottom of the gain sliders: at or below it a stem is silent (-inf dB).
pub const MIN_DB: f32 = -60.0;
/// The top of the gain sliders.
pub const MAX_DB: f32 = 12.0;

/// dB to linear gain, with `MIN_DB` and below meaning silence (so the slider reaches -inf).
pub fn slider_gain(db: f32) -> f32 {
    if db <= MIN_DB { 0.0 } else { svs_core::dsp::db_to_gain(db) }
}

/// One output sample. `dry` is the input delayed by the plugin's latency, `vocals` the separated
/// vocals of the same instant; the accompaniment is `dry - vocals` (as in the core, so the stems
/// always re-sum to the input). Written as `g_a * dry + (g_v - g_a) * vocals` so that at equal
/// gains the vocals cancel exactly: at 0 dB / 0 dB and full wet the output *is* `dry`, bit for bit.
#[inline]
pub fn mix_sample(dry: f32, vocals: f32, g_vocals: f32, g_accompaniment: f32, wet: f32) -> f32 {
    let separated = g_accompaniment * dry + (g_vocals - g_accompaniment) * vocals;
    dry + wet * (separated - dry)
}

/// A linear ramp towards a target over a fixed time: the gains, the dry/wet amount and the
/// fallback to dry move through it so automation, solo/mute and late blocks never click.
#[derive(Clone, Copy, Debug)]
pub struct Ramp {
    current: f32,
    target: f32,
    step: f32,
    steps_left: u32,
    length: u32,
}

impl Ramp {
    /// A ramp that reaches a new target in `length` samples, starting settled at `value`.
    pub fn new(value: f32, length: u32) -> Self {
        Self { current: value, target: value, step: 0.0, steps_left: 0, length: length.max(1) }
    }

    pub fn set_target(&mut self, target: f32) {
        if target != self.target {
            self.target = target;
            self.steps_left = self.length;
            self.step = (target - self.current) / self.length as f32;
        }
    }

    /// Jumps to `value` without ramping (used when the vocals are missing: there is nothing to
    /// fade from).
    pub fn jump(&mut self, value: f32) {
        *self = Self::new(value, self.length);
    }

    #[inline]
    pub fn next(&mut self) -> f32 {
        if self.steps_left > 0 {
            self.steps_left -= 1;
            // The last step lands exactly on the target (no float drift).
            self.current = if self.steps_left == 0 { self.target } else { self.current + self.step };
        }
        self.current
    }
}

/// A fixed delay per channel: the dry path, delayed by the plugin's latency so that it lines up
/// with the separated vocals.
#[derive(Clone, Debug)]
pub struct DelayLine {
    buffer: Vec<[f32; 2]>,
    index: usize,
}

impl DelayLine {
    /// Allocates; call outside the audio thread.
    pub fn new(delay: usize) -> Self {
        Self { buffer: vec![[0.0; 2]; delay.max(1)], index: 0 }
    }

    pub fn clear(&mut self) {
        self.buffer.fill([0.0; 2]);
        self.index = 0;
    }

    /// Pushes `x` and returns the frame from `delay` samples ago.
    #[inline]
    pub fn tick(&mut self, x: [f32; 2]) -> [f32; 2] {
        let out = std::mem::replace(&mut self.buffer[self.index], x);
        self.index += 1;
        if self.index == self.buffer.len() {
            self.index = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_gains_reproduce_the_dry_signal_exactly() {
        for (d, v) in [(0.3, 0.1), (-0.7, 0.65), (1e-8, -3.0), (0.123_456_7, 0.987_654_3)] {
            assert_eq!(mix_sample(d, v, 1.0, 1.0, 1.0), d);
            assert_eq!(mix_sample(d, v, 0.5, 0.1, 0.0), d, "dry/wet at 0 is the dry signal");
        }
    }

    #[test]
    fn stems_follow_their_gains() {
        let (d, v) = (0.8f32, 0.3f32);
        assert!((mix_sample(d, v, 0.0, 1.0, 1.0) - (d - v)).abs() < 1e-7, "vocals off: accompaniment");
        assert!((mix_sample(d, v, 1.0, 0.0, 1.0) - v).abs() < 1e-7, "accompaniment off: vocals");
        assert!((mix_sample(d, v, 2.0, 1.0, 1.0) - (d + v)).abs() < 1e-7);
        assert!((mix_sample(d, v, 0.0, 1.0, 0.5) - (d - 0.5 * v)).abs() < 1e-7);
    }

    #[test]
    fn slider_reaches_silence() {
        assert_eq!(slider_gain(MIN_DB), 0.0);
        assert_eq!(slider_gain(MIN_DB - 10.0), 0.0);
        assert_eq!(slider_gain(0.0), 1.0);
        assert!((slider_gain(-6.0) - 0.501_187).abs() < 1e-5);
    }

    #[test]
    fn ramp_reaches_its_target_exactly_and_monotonically() {
        let mut r = Ramp::new(1.0, 4);
        r.set_target(0.0);
        let steps: Vec<f32> = (0..6).map(|_| r.next()).collect();
        assert_eq!(steps, vec![0.75, 0.5, 0.25, 0.0, 0.0, 0.0]);
        r.jump(0.3);
        assert_eq!(r.next(), 0.3);
    }

    #[test]
    fn delay_line_delays() {
        let mut d = DelayLine::new(3);
        let out: Vec<f32> = (1..=6).map(|i| d.tick([i as f32, -(i as f32)])[0]).collect();
        assert_eq!(out, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
        d.clear();
        assert_eq!(d.tick([9.0, 9.0]), [0.0, 0.0]);
    }
}
