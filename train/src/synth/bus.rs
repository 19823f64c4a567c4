//! The mix bus: a compressor and a peak limiter on the whole song, as mixing and mastering glue
//! and level a commercial record. Both compute a gain from the mixture (their side chain) and
//! the same gain multiplies every stem, so the stems still add up to the mixture exactly (the
//! MUSDB18 layout's promise) while the song's dynamics are those of a compressed master: the
//! loud passages pulled down against the quiet ones, the peaks flattened.
//!
//! Why by hand: the Rust compressor crates process one signal in place; here the gain has to be
//! computed on one signal and applied to four, which is a few lines of envelope following.

use super::dsp::peak;

/// One song's bus settings (drawn per song, see [`BusSettings::draw`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BusSettings {
    /// Compressor threshold relative to the mixture's RMS level (dB).
    pub threshold_over_rms_db: f32,
    /// Compression ratio above the threshold (e.g. 4: 4 dB in, 1 dB out).
    pub ratio: f32,
    pub attack_s: f32,
    pub release_s: f32,
    /// The limiter holds the compressed mixture's peaks this far below their highest (dB).
    pub limiter_depth_db: f32,
    pub limiter_release_s: f32,
}

impl BusSettings {
    /// Settings of the range mixing engineers use on a mix bus: gentle to heavy compression
    /// (ratio 1.5-6, threshold 0-8 dB above the RMS level, attack 3-30 ms, release 50-400 ms)
    /// and 0.5-4 dB of peak limiting.
    pub fn draw(rng: &mut impl rand::Rng) -> Self {
        Self {
            threshold_over_rms_db: rng.random_range(0.0..8.0),
            ratio: rng.random_range(1.5..6.0),
            attack_s: rng.random_range(0.003..0.03),
            release_s: rng.random_range(0.05..0.4),
            limiter_depth_db: rng.random_range(0.5..4.0),
            limiter_release_s: rng.random_range(0.02..0.2),
        }
    }
}

/// Time constant `seconds` as a one-pole smoothing coefficient at `sample_rate`.
fn coefficient(seconds: f32, sample_rate: u32) -> f32 {
    (-1.0 / (seconds.max(1e-5) * sample_rate as f32)).exp()
}

/// The compressor's gain per sample for `mixture`: the gain computer's reduction of the
/// instantaneous level above the threshold, smoothed with the attack while it grows and the
/// release while it shrinks (a "smooth decoupled" peak compressor).
pub fn compressor_gain(mixture: &[f32], sample_rate: u32, settings: &BusSettings) -> Vec<f32> {
    let rms = (mixture.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / mixture.len().max(1) as f64).sqrt();
    if rms == 0.0 {
        return vec![1.0; mixture.len()];
    }
    let threshold_db = 20.0 * rms.log10() as f32 + settings.threshold_over_rms_db;
    let slope = 1.0 - 1.0 / settings.ratio;
    let (attack, release) = (coefficient(settings.attack_s, sample_rate), coefficient(settings.release_s, sample_rate));
    let mut reduction_db = 0.0f32;
    mixture
        .iter()
        .map(|x| {
            let level_db = 20.0 * x.abs().max(1e-9).log10();
            let target = (level_db - threshold_db).max(0.0) * slope;
            let a = if target > reduction_db { attack } else { release };
            reduction_db = a * reduction_db + (1.0 - a) * target;
            10f32.powf(-reduction_db / 20.0)
        })
        .collect()
}

/// The limiter's gain per sample for `signal`: never more than the gain that keeps each sample
/// within `ceiling`, reached ahead of time (the smallest such gain over the next `lookahead`
/// samples, so the gain falls before a peak rather than on it) and recovering with `release`.
pub fn limiter_gain(signal: &[f32], ceiling: f32, lookahead: usize, release: f32) -> Vec<f32> {
    let needed: Vec<f32> = signal.iter().map(|x| if x.abs() > ceiling { ceiling / x.abs() } else { 1.0 }).collect();
    // The smallest needed gain over [i, i + lookahead]: a running minimum from the right with a
    // monotonic queue (each index enters and leaves once).
    let mut ahead = vec![1.0f32; needed.len()];
    let mut queue = std::collections::VecDeque::new();
    for i in (0..needed.len()).rev() {
        while queue.back().is_some_and(|&j: &usize| needed[j] >= needed[i]) {
            queue.pop_back();
        }
        queue.push_back(i);
        while queue.front().is_some_and(|&j| j > i + lookahead) {
            queue.pop_front();
        }
        ahead[i] = needed[*queue.front().expect("just pushed")];
    }
    let mut gain = 1.0f32;
    ahead
        .into_iter()
        .map(|floor| {
            gain = (release * gain + (1.0 - release)).min(floor);
            gain
        })
        .collect()
}

/// The bus's gain per sample for `mixture`: the compressor's, then the limiter's on the
/// compressed mixture (5 ms look-ahead). Multiply every stem by it.
pub fn bus_gain(mixture: &[f32], sample_rate: u32, settings: &BusSettings) -> Vec<f32> {
    let mut gain = compressor_gain(mixture, sample_rate, settings);
    let compressed: Vec<f32> = mixture.iter().zip(&gain).map(|(x, g)| x * g).collect();
    let top = peak(&compressed);
    if top > 0.0 {
        let ceiling = top * 10f32.powf(-settings.limiter_depth_db / 20.0);
        let lookahead = (0.005 * sample_rate as f32) as usize;
        let limiter =
            limiter_gain(&compressed, ceiling, lookahead, coefficient(settings.limiter_release_s, sample_rate));
        gain.iter_mut().zip(limiter).for_each(|(g, l)| *g *= l);
    }
    gain
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 16_000;

    fn tone(seconds: f32, amplitude: f32) -> Vec<f32> {
        (0..(seconds * SR as f32) as usize)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / SR as f32).sin())
            .collect()
    }

    fn rms_db(x: &[f32]) -> f32 {
        10.0 * (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).log10()
    }

    #[test]
    fn the_compressor_pulls_loud_passages_down_by_its_ratio() {
        // A quiet second then a loud one (20 dB louder); threshold 6 dB under the whole
        // signal's RMS level, ratio 4: the loud part, whose peaks are 12 dB over the threshold,
        // comes out up to 3/4 of that lower, and the quiet part (under it) is left alone.
        let mut x = tone(1.0, 0.05);
        x.extend(tone(1.0, 0.5));
        let settings = BusSettings {
            threshold_over_rms_db: -6.0,
            ratio: 4.0,
            attack_s: 0.005,
            release_s: 0.1,
            limiter_depth_db: 0.0,
            limiter_release_s: 0.05,
        };
        let g = compressor_gain(&x, SR, &settings);
        let y: Vec<f32> = x.iter().zip(&g).map(|(a, b)| a * b).collect();
        let n = SR as usize;
        let (quiet_in, loud_in) = (rms_db(&x[n / 2..n]), rms_db(&x[n + n / 2..]));
        let (quiet_out, loud_out) = (rms_db(&y[n / 2..n]), rms_db(&y[n + n / 2..]));
        assert!((quiet_out - quiet_in).abs() < 0.1, "quiet part changed by {} dB", quiet_out - quiet_in);
        // The detector follows the peaks: at the crests the reduction is 3/4 of their excess,
        // between them it holds (release) or eases off.
        let excess = 20.0 * 0.5f32.log10() - (rms_db(&x) - 6.0);
        let reduction = loud_in - loud_out;
        assert!((excess - 12.0).abs() < 0.5, "{excess}");
        assert!(
            reduction > 0.5 * 0.75 * excess && reduction < 0.75 * excess + 0.3,
            "{reduction} dB for {excess} dB over"
        );
        assert!(g.iter().all(|v| *v > 0.0 && *v <= 1.0));
    }

    #[test]
    fn the_limiter_holds_every_sample_under_its_ceiling_and_acts_ahead() {
        let mut x = tone(0.5, 0.2);
        let spike = x.len() / 2;
        x[spike] = 0.9;
        let g = limiter_gain(&x, 0.3, 80, coefficient(0.05, SR));
        assert!(x.iter().zip(&g).all(|(a, b)| (a * b).abs() <= 0.3 + 1e-6));
        // Ahead of the spike the gain is already down; well before it, untouched.
        assert!(g[spike - 40] < 0.5 && g[spike - 200] == 1.0, "{} {}", g[spike - 40], g[spike - 200]);
        // It recovers after the spike (3000 samples: almost four release time constants).
        assert!(g[spike + 3000] > 0.97, "{}", g[spike + 3000]);
    }

    #[test]
    fn silence_passes_unchanged() {
        use rand::SeedableRng;
        let settings = BusSettings::draw(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        assert!(bus_gain(&vec![0.0; 1000], SR, &settings).iter().all(|g| *g == 1.0));
    }
}
