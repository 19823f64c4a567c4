//! Configuration of the augmentation pipeline: one struct per transform, all with defaults, so a
//! config file only names what it changes. Unknown keys are rejected (a typo must not silently
//! fall back to a default).
//!
//! The defaults are the paper's best teacher (Wang et al. 2021, Sec. 3.3): 10-second windows and
//! random mixing with probability 1. The paper gives no ranges for the other transforms; ours are
//! mild ones that keep the examples musically plausible.

use serde::{Deserialize, Serialize};

use super::error::AugmentError;

/// Everything the [`super::Augmenter`] draws from. Load from TOML with
/// [`AugmentConfig::from_toml_str`]; check against a sample rate with [`AugmentConfig::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentConfig {
    /// Length T of a training example in seconds (the paper tries 2.5, 5 and 10).
    pub window_seconds: f64,
    pub random_mix: RandomMixConfig,
    pub gain: GainConfig,
    pub pitch: PitchConfig,
    pub lowpass: LowpassConfig,
    pub eq: EqConfig,
    pub headroom: HeadroomConfig,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            window_seconds: 10.0,
            random_mix: RandomMixConfig::default(),
            gain: GainConfig::default(),
            pitch: PitchConfig::default(),
            lowpass: LowpassConfig::default(),
            eq: EqConfig::default(),
            headroom: HeadroomConfig::default(),
        }
    }
}

/// Random mixing: the vocals of one song over the accompaniment of another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomMixConfig {
    pub enabled: bool,
    /// Probability that an example pairs two different songs (the paper's best teacher: 1).
    pub probability: f64,
}

impl Default for RandomMixConfig {
    fn default() -> Self {
        Self { enabled: true, probability: 1.0 }
    }
}

/// Dynamic mixing ratio: an independent random gain per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GainConfig {
    pub enabled: bool,
    /// Probability, per source, of applying a gain.
    pub probability: f64,
    pub min_db: f64,
    pub max_db: f64,
}

impl Default for GainConfig {
    fn default() -> Self {
        Self { enabled: true, probability: 1.0, min_db: -6.0, max_db: 6.0 }
    }
}

/// Pitch shift that keeps the duration, drawn independently per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PitchConfig {
    pub enabled: bool,
    /// Probability, per source, of shifting.
    pub probability: f64,
    /// Shift range in semitones, drawn uniformly (continuous, not just whole semitones).
    pub min_semitones: f64,
    pub max_semitones: f64,
    /// Phase-vocoder frame length in samples (1024 = 64 ms at 16 kHz: long enough to resolve
    /// the harmonics of a low voice, short enough to keep onsets reasonably sharp).
    pub fft_size: usize,
    /// Phase-vocoder hop in samples (a quarter frame: the usual overlap for Hann windows).
    pub hop: usize,
}

impl Default for PitchConfig {
    fn default() -> Self {
        Self { enabled: true, probability: 0.3, min_semitones: -2.0, max_semitones: 2.0, fft_size: 1024, hop: 256 }
    }
}

/// Random low-pass filter (Butterworth), drawn independently per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LowpassConfig {
    pub enabled: bool,
    /// Probability, per source, of filtering.
    pub probability: f64,
    /// Cutoff range in Hz, drawn log-uniformly. Must stay below the Nyquist frequency: at
    /// 16 kHz that is 8 kHz, hence a default top of 7.5 kHz rather than 8 kHz.
    pub min_cutoff_hz: f64,
    pub max_cutoff_hz: f64,
    /// Filter order (even: built from second-order sections); 4 gives 24 dB per octave.
    pub order: usize,
}

impl Default for LowpassConfig {
    fn default() -> Self {
        Self { enabled: true, probability: 0.2, min_cutoff_hz: 4000.0, max_cutoff_hz: 7500.0, order: 4 }
    }
}

/// Random EQ: 1 to `max_bands` peaking / low-shelf / high-shelf bands, drawn per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EqConfig {
    pub enabled: bool,
    /// Probability, per source, of equalising.
    pub probability: f64,
    pub max_bands: usize,
    /// Each band's gain is drawn uniformly from `-max_gain_db..=max_gain_db`.
    pub max_gain_db: f64,
    /// Band frequency range in Hz, drawn log-uniformly (below the Nyquist frequency).
    pub min_freq_hz: f64,
    pub max_freq_hz: f64,
    /// Peaking-band quality factor range, drawn log-uniformly.
    pub min_q: f64,
    pub max_q: f64,
}

impl Default for EqConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            probability: 0.3,
            max_bands: 3,
            max_gain_db: 6.0,
            min_freq_hz: 60.0,
            max_freq_hz: 7000.0,
            min_q: 0.5,
            max_q: 2.0,
        }
    }
}

/// Keeps the example within range: when the mixture's peak exceeds `max_peak`, all three
/// signals are scaled by one factor, so the mixing ratio and `mixture = vocals + accompaniment`
/// both survive. Gains of +6 dB on two sources can otherwise push a mixture far past full scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadroomConfig {
    pub enabled: bool,
    pub max_peak: f32,
}

impl Default for HeadroomConfig {
    fn default() -> Self {
        Self { enabled: true, max_peak: 1.0 }
    }
}

/// Largest pitch shift accepted: two octaves either way (a stretch ratio of 4 already makes the
/// phase vocoder's intermediate signal four times as long).
const MAX_SEMITONES: f64 = 24.0;
/// Largest gain accepted, in dB either way; beyond it a "mixing ratio" is muting a source.
const MAX_GAIN_DB: f64 = 60.0;
/// Longest window accepted, in seconds (far beyond the paper's 10 s; guards huge allocations).
const MAX_WINDOW_SECONDS: f64 = 600.0;
const MAX_LOWPASS_ORDER: usize = 16;
const MAX_EQ_BANDS: usize = 16;

impl AugmentConfig {
    /// Parses a TOML document (all keys optional; unknown keys are an error naming the key).
    pub fn from_toml_str(text: &str) -> Result<Self, AugmentError> {
        Ok(toml::from_str(text)?)
    }

    /// The window length in samples at `sample_rate`.
    pub fn window_samples(&self, sample_rate: u32) -> usize {
        (self.window_seconds * f64::from(sample_rate)).round() as usize
    }

    /// Checks every range against `sample_rate` (frequencies must lie below Nyquist). The error
    /// names the first bad key.
    pub fn validate(&self, sample_rate: u32) -> Result<(), AugmentError> {
        if sample_rate == 0 {
            return Err(AugmentError::invalid("sample_rate", "must be positive"));
        }
        let nyquist = f64::from(sample_rate) / 2.0;
        within("window_seconds", self.window_seconds, 0.0, MAX_WINDOW_SECONDS)?;
        if self.window_samples(sample_rate) == 0 {
            return Err(AugmentError::invalid("window_seconds", "is shorter than one sample"));
        }
        probability("random_mix.probability", self.random_mix.probability)?;

        let g = &self.gain;
        probability("gain.probability", g.probability)?;
        within("gain.min_db", g.min_db, -MAX_GAIN_DB, MAX_GAIN_DB)?;
        within("gain.max_db", g.max_db, -MAX_GAIN_DB, MAX_GAIN_DB)?;
        ordered("gain.max_db", g.min_db, g.max_db)?;

        let p = &self.pitch;
        probability("pitch.probability", p.probability)?;
        within("pitch.min_semitones", p.min_semitones, -MAX_SEMITONES, MAX_SEMITONES)?;
        within("pitch.max_semitones", p.max_semitones, -MAX_SEMITONES, MAX_SEMITONES)?;
        ordered("pitch.max_semitones", p.min_semitones, p.max_semitones)?;
        if !(16..=65536).contains(&p.fft_size) || !p.fft_size.is_multiple_of(2) {
            return Err(AugmentError::invalid(
                "pitch.fft_size",
                format!("must be even, 16 to 65536 (got {})", p.fft_size),
            ));
        }
        if p.hop == 0 || p.hop > p.fft_size / 2 {
            return Err(AugmentError::invalid("pitch.hop", format!("must be 1 to fft_size / 2 (got {})", p.hop)));
        }

        let l = &self.lowpass;
        probability("lowpass.probability", l.probability)?;
        below_nyquist("lowpass.min_cutoff_hz", l.min_cutoff_hz, nyquist)?;
        below_nyquist("lowpass.max_cutoff_hz", l.max_cutoff_hz, nyquist)?;
        ordered("lowpass.max_cutoff_hz", l.min_cutoff_hz, l.max_cutoff_hz)?;
        if l.order == 0 || !l.order.is_multiple_of(2) || l.order > MAX_LOWPASS_ORDER {
            return Err(AugmentError::invalid(
                "lowpass.order",
                format!("must be even, 2 to {MAX_LOWPASS_ORDER} (got {})", l.order),
            ));
        }

        let e = &self.eq;
        probability("eq.probability", e.probability)?;
        if e.max_bands > MAX_EQ_BANDS {
            return Err(AugmentError::invalid("eq.max_bands", format!("must be at most {MAX_EQ_BANDS}")));
        }
        within("eq.max_gain_db", e.max_gain_db, 0.0, MAX_GAIN_DB)?;
        below_nyquist("eq.min_freq_hz", e.min_freq_hz, nyquist)?;
        below_nyquist("eq.max_freq_hz", e.max_freq_hz, nyquist)?;
        ordered("eq.max_freq_hz", e.min_freq_hz, e.max_freq_hz)?;
        within("eq.min_q", e.min_q, 0.05, 100.0)?;
        within("eq.max_q", e.max_q, 0.05, 100.0)?;
        ordered("eq.max_q", e.min_q, e.max_q)?;

        let h = &self.headroom;
        if !(h.max_peak.is_finite() && h.max_peak > 0.0) {
            return Err(AugmentError::invalid("headroom.max_peak", format!("must be positive (got {})", h.max_peak)));
        }
        Ok(())
    }
}

fn within(key: &'static str, value: f64, lo: f64, hi: f64) -> Result<(), AugmentError> {
    // `contains` is false for NaN, so NaN is rejected here too.
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(AugmentError::invalid(key, format!("must be within {lo} to {hi} (got {value})")))
    }
}

fn probability(key: &'static str, value: f64) -> Result<(), AugmentError> {
    within(key, value, 0.0, 1.0)
}

fn ordered(max_key: &'static str, min: f64, max: f64) -> Result<(), AugmentError> {
    if min <= max {
        Ok(())
    } else {
        Err(AugmentError::invalid(max_key, format!("is below the matching minimum ({max} < {min})")))
    }
}

fn below_nyquist(key: &'static str, hz: f64, nyquist: f64) -> Result<(), AugmentError> {
    if hz > 0.0 && hz < nyquist {
        Ok(())
    } else {
        Err(AugmentError::invalid(
            key,
            format!("must be above 0 and below the Nyquist frequency {nyquist} Hz (got {hz})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers_best_teacher_and_valid() {
        let c = AugmentConfig::default();
        assert_eq!(c.window_seconds, 10.0);
        assert!(c.random_mix.enabled);
        assert_eq!(c.random_mix.probability, 1.0);
        c.validate(16_000).unwrap();
        assert_eq!(c.window_samples(16_000), 160_000);
    }

    #[test]
    fn toml_round_trip_and_partial_files() {
        let c = AugmentConfig::default();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(AugmentConfig::from_toml_str(&text).unwrap(), c);
        let partial = AugmentConfig::from_toml_str("window_seconds = 2.5\n[pitch]\nprobability = 0.5\n").unwrap();
        assert_eq!(partial.window_seconds, 2.5);
        assert_eq!(partial.pitch.probability, 0.5);
        assert_eq!(partial.pitch.max_semitones, 2.0);
        assert_eq!(partial.eq, EqConfig::default());
        assert_eq!(AugmentConfig::from_toml_str("").unwrap(), c);
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let top = AugmentConfig::from_toml_str("window_secs = 5.0\n").unwrap_err().to_string();
        assert!(top.contains("window_secs"), "{top}");
        let nested = AugmentConfig::from_toml_str("[lowpass]\ncutoff_hz = 3000.0\n").unwrap_err().to_string();
        assert!(nested.contains("cutoff_hz"), "{nested}");
        let table = AugmentConfig::from_toml_str("[reverb]\nenabled = true\n").unwrap_err().to_string();
        assert!(table.contains("reverb"), "{table}");
    }

    #[test]
    fn bad_ranges_name_their_key() {
        type Breaker = Box<dyn Fn(&mut AugmentConfig)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("window_seconds", Box::new(|c| c.window_seconds = 0.0)),
            ("window_seconds", Box::new(|c| c.window_seconds = f64::NAN)),
            ("random_mix.probability", Box::new(|c| c.random_mix.probability = 1.5)),
            ("gain.max_db", Box::new(|c| c.gain.max_db = -10.0)),
            ("pitch.max_semitones", Box::new(|c| c.pitch.max_semitones = 30.0)),
            ("pitch.fft_size", Box::new(|c| c.pitch.fft_size = 1023)),
            ("pitch.hop", Box::new(|c| c.pitch.hop = 0)),
            ("lowpass.max_cutoff_hz", Box::new(|c| c.lowpass.max_cutoff_hz = 8000.0)),
            ("lowpass.order", Box::new(|c| c.lowpass.order = 3)),
            ("eq.min_freq_hz", Box::new(|c| c.eq.min_freq_hz = 0.0)),
            ("eq.max_q", Box::new(|c| c.eq.max_q = 0.1)),
            ("headroom.max_peak", Box::new(|c| c.headroom.max_peak = 0.0)),
        ];
        for (key, break_it) in cases {
            let mut c = AugmentConfig::default();
            break_it(&mut c);
            let err = c.validate(16_000).unwrap_err();
            assert!(matches!(err, AugmentError::InvalidConfig { key: k, .. } if k == key), "{key}: {err}");
            assert!(err.to_string().contains(key), "{err}");
        }
        assert!(AugmentConfig::default().validate(0).is_err());
        // The default 7.5 kHz cutoff is fine at 16 kHz but not at 8 kHz.
        let err = AugmentConfig::default().validate(8_000).unwrap_err().to_string();
        assert!(err.contains("lowpass.min_cutoff_hz"), "{err}");
    }
}
