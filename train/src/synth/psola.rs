//! Re-pitching a recorded voice onto a melody by time-domain pitch-synchronous overlap-add
//! (TD-PSOLA; Moulines & Charpentier, 1990), so spoken clips sing the song's notes while keeping
//! the speaker's timbre (formants) and consonants.
//!
//! The clip's fundamental is tracked frame by frame (the `pitch-detection` crate's McLeod
//! detector). Voiced stretches get analysis marks one period apart; each output mark, spaced by
//! the target note's period, copies the two-period Hann-windowed grain around the nearest
//! analysis mark. Unvoiced stretches (consonants, breaths) keep their own spacing, so they pass
//! through unchanged. Timing is kept: the output is as long as the clip.
//!
//! Why by hand: the one Rust TD-PSOLA crate (`tdpsola`) is AGPL-licensed; the algorithm is a few
//! dozen lines once the pitch track exists. Approximations: marks follow the tracked period
//! without snapping to glottal closures, and a target more than about half an octave from the
//! speaker's own pitch is moved by octaves towards it (a low voice sings the tune an octave
//! down, as people do), so grains are never stretched past the range PSOLA handles well.

use pitch_detection::detector::PitchDetector;
use pitch_detection::detector::mcleod::McLeodDetector;

/// Analysis frames: 40 ms windows every 5 ms.
const FRAME_S: f64 = 0.04;
const HOP_S: f64 = 0.005;
/// The voices' pitch range (Hz).
const MIN_HZ: f32 = 60.0;
const MAX_HZ: f32 = 600.0;
/// Marks in unvoiced stretches, this far apart (s).
const UNVOICED_SPACING_S: f64 = 0.01;

/// The clip's fundamental per analysis frame (`None`: unvoiced), frames [`HOP_S`] apart.
pub fn pitch_track(x: &[f32], sample_rate: u32) -> Vec<Option<f32>> {
    let size = (FRAME_S * sample_rate as f64) as usize;
    let hop = (HOP_S * sample_rate as f64) as usize;
    if x.len() < size {
        return Vec::new();
    }
    let mut detector = McLeodDetector::<f32>::new(size, size / 2);
    (0..=(x.len() - size) / hop)
        .map(|f| {
            let frame = &x[f * hop..f * hop + size];
            // Gates: a frame quieter than -50 dBFS (its summed power) is silence; a clarity under
            // 0.7 is not a clear pitch.
            detector
                .get_pitch(frame, sample_rate as usize, 1e-5 * size as f32, 0.7)
                .map(|p| p.frequency)
                .filter(|f| (MIN_HZ..=MAX_HZ).contains(f))
        })
        .collect()
}

/// `x` sung at the pitch `target(t)` (Hz, `t` in seconds from the clip's start; `None` where the
/// voice should keep its own pitch), as long as `x`.
pub fn repitch(x: &[f32], sample_rate: u32, target: impl Fn(f64) -> Option<f32>) -> Vec<f32> {
    let fs = sample_rate as f64;
    let track = pitch_track(x, sample_rate);
    let hop = HOP_S * fs;
    let centre = FRAME_S * fs / 2.0;
    // The clip's own f0 at sample `t` (the frame centred nearest to it).
    let f0_at = |t: f64| -> Option<f32> {
        if track.is_empty() {
            return None;
        }
        let frame = ((t - centre) / hop).round().clamp(0.0, (track.len() - 1) as f64) as usize;
        track[frame]
    };
    // Analysis marks with each one's period (its grain is two periods long).
    let unvoiced = UNVOICED_SPACING_S * fs;
    let mut marks: Vec<(f64, f64, bool)> = Vec::new();
    let mut t = 0.0;
    while t < x.len() as f64 {
        let (period, voiced) = match f0_at(t) {
            Some(f) => (fs / f as f64, true),
            None => (unvoiced, false),
        };
        marks.push((t, period, voiced));
        t += period;
    }
    let mut out = vec![0.0f32; x.len()];
    if marks.is_empty() {
        return out;
    }
    // Synthesis marks: spaced by the target's period where the voice is voiced.
    let mut nearest = 0;
    let mut s = 0.0;
    while s < x.len() as f64 {
        while nearest + 1 < marks.len() && (marks[nearest + 1].0 - s).abs() <= (marks[nearest].0 - s).abs() {
            nearest += 1;
        }
        let (at, period, voiced) = marks[nearest];
        let out_period = match (voiced, target(s / fs)) {
            (true, Some(hz)) if hz > 0.0 => {
                let own = fs / period;
                let mut hz = hz as f64;
                // Octaves towards the speaker's own pitch (at most ~8 semitones away).
                while hz / own > 1.6 {
                    hz /= 2.0;
                }
                while hz / own < 0.625 {
                    hz *= 2.0;
                }
                fs / hz
            }
            _ => period,
        };
        // Grains keep their power per second: with more (or fewer) grains a second, each is
        // scaled by the square root of the spacing ratio.
        let scale = (out_period / period).sqrt().min(2.0) as f32;
        add_grain(x, &mut out, at, s, period, scale);
        s += out_period;
    }
    out
}

/// Adds the Hann-windowed grain of `x` around `at` (`period` either side) to `out` around `to`.
fn add_grain(x: &[f32], out: &mut [f32], at: f64, to: f64, period: f64, scale: f32) {
    let half = period.round() as i64;
    let (at, to) = (at.round() as i64, to.round() as i64);
    for k in -half..=half {
        let (src, dst) = (at + k, to + k);
        if src < 0 || dst < 0 || src as usize >= x.len() || dst as usize >= out.len() {
            continue;
        }
        let w = 0.5 + 0.5 * (std::f64::consts::PI * k as f64 / (half as f64 + 1.0)).cos();
        out[dst as usize] += scale * w as f32 * x[src as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 16_000;

    /// A vowel-like voice: a pulse train at `hz` through a two-pole resonance at 700 Hz.
    fn voice(hz: f32, seconds: f64) -> Vec<f32> {
        let n = (seconds * SR as f64) as usize;
        let (r, theta) = (0.97f32, std::f32::consts::TAU * 700.0 / SR as f32);
        let (a1, a2) = (2.0 * r * theta.cos(), -r * r);
        let (mut y1, mut y2) = (0.0f32, 0.0f32);
        let mut phase = 0.0f32;
        (0..n)
            .map(|_| {
                phase += hz / SR as f32;
                let pulse = if phase >= 1.0 {
                    phase -= 1.0;
                    1.0
                } else {
                    0.0
                };
                let y = pulse + a1 * y1 + a2 * y2;
                (y2, y1) = (y1, y);
                0.05 * y
            })
            .collect()
    }

    fn median_pitch(x: &[f32]) -> f32 {
        let mut f: Vec<f32> = pitch_track(x, SR).into_iter().flatten().collect();
        assert!(f.len() > 10, "too few voiced frames: {}", f.len());
        f.sort_by(f32::total_cmp);
        f[f.len() / 2]
    }

    /// Energy share in a band, from a plain DFT of the middle of the signal.
    fn band_share(x: &[f32], low: f32, high: f32) -> f32 {
        let mid = &x[x.len() / 4..x.len() / 4 + 4096];
        let (mut band, mut all) = (0.0f32, 0.0f32);
        for bin in 1..2048 {
            let hz = bin as f32 * SR as f32 / 4096.0;
            let (mut re, mut im) = (0.0f32, 0.0f32);
            for (i, v) in mid.iter().enumerate() {
                let a = std::f32::consts::TAU * (bin * i) as f32 / 4096.0;
                re += v * a.cos();
                im -= v * a.sin();
            }
            let p = re * re + im * im;
            all += p;
            if (low..high).contains(&hz) {
                band += p;
            }
        }
        band / all
    }

    #[test]
    fn the_pitch_track_finds_a_voice_and_not_silence() {
        let x = voice(150.0, 0.5);
        assert!((median_pitch(&x) - 150.0).abs() < 3.0);
        assert!(pitch_track(&vec![0.0; 8000], SR).iter().all(Option::is_none));
    }

    #[test]
    fn a_voice_sings_the_target_pitch_with_its_own_formant() {
        let x = voice(150.0, 1.0);
        let y = repitch(&x, SR, |_| Some(200.0));
        assert_eq!(y.len(), x.len());
        let sung = median_pitch(&y);
        assert!((sung - 200.0).abs() < 6.0, "sung at {sung} Hz");
        // The resonance stays where it was: the share of energy around 700 Hz is about the same.
        let (before, after) = (band_share(&x, 550.0, 850.0), band_share(&y, 550.0, 850.0));
        assert!(before > 0.3 && (after - before).abs() < 0.25 * before + 0.1, "{before} -> {after}");
        // About the same loudness.
        let rms = |v: &[f32]| (v.iter().map(|s| s * s).sum::<f32>() / v.len() as f32).sqrt();
        let ratio_db = 20.0 * (rms(&y) / rms(&x)).log10();
        assert!(ratio_db.abs() < 2.5, "{ratio_db} dB");
    }

    #[test]
    fn a_target_far_from_the_voice_is_sung_octaves_nearer() {
        // A 150 Hz voice asked to sing 700 Hz (more than two octaves up) sings the same note two
        // octaves down, 175 Hz, within its own range.
        let y = repitch(&voice(150.0, 1.0), SR, |_| Some(700.0));
        let sung = median_pitch(&y);
        assert!((sung - 175.0).abs() < 5.0, "sung at {sung} Hz");
    }

    #[test]
    fn unvoiced_sound_and_no_target_pass_through() {
        // Noise has no pitch: it comes out at the same level.
        let mut state = 12345u32;
        let noise: Vec<f32> = (0..8000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let y = repitch(&noise, SR, |_| Some(300.0));
        let e = |v: &[f32]| v[800..7200].iter().map(|s| s * s).sum::<f32>();
        let ratio_db = 10.0 * (e(&y) / e(&noise)).log10();
        assert!(ratio_db.abs() < 2.0, "{ratio_db} dB");
        // Without a target, a voice keeps its pitch.
        let kept = repitch(&voice(150.0, 0.6), SR, |_| None);
        assert!((median_pitch(&kept) - 150.0).abs() < 4.0);
    }
}
