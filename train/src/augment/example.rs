//! Composing the transforms into a training example. Drawing (`plan`) is separated from
//! rendering (`render`): the plan is plain data, so it can be logged, tested, or replayed.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::AugmentConfig;
use super::error::AugmentError;
use super::filters::{self, EqBand, EqKind};
use super::pitch::{self, VocoderParams};
use super::window::{self, MixPair};
use crate::random::{chance, log_uniform, uniform};

/// The two sources of one (typically 30-second) segment of a song, mono at the augmenter's rate.
#[derive(Debug, Clone, Copy)]
pub struct SourcePair<'a> {
    pub vocals: &'a [f32],
    pub accompaniment: &'a [f32],
}

/// Access to a corpus of segments.
pub trait SegmentSource {
    /// Number of segments.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Segment `index` (< `len()`).
    fn segment(&self, index: usize) -> SourcePair<'_>;
    /// The song id of a segment, so random mixing pairs *different songs*.
    fn song_of(&self, index: usize) -> usize;
}

/// One training example; `mixture[i] == vocals[i] + accompaniment[i]` exactly (computed last).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingExample {
    pub mixture: Vec<f32>,
    pub vocals: Vec<f32>,
    pub accompaniment: Vec<f32>,
}

/// The random choices applied to one source; `None` / empty means "not applied".
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEffects {
    pub pitch_semitones: Option<f64>,
    pub lowpass_cutoff_hz: Option<f64>,
    pub eq: Vec<EqBand>,
    pub gain_db: Option<f64>,
}

/// Every random choice behind one example.
#[derive(Debug, Clone, PartialEq)]
pub struct ExamplePlan {
    pub pair: MixPair,
    /// Window starts (in samples) in the vocals' and the accompaniment's segment; equal when
    /// both come from one segment, so the sources stay aligned.
    pub vocals_start: usize,
    pub accompaniment_start: usize,
    pub vocals_effects: SourceEffects,
    pub accompaniment_effects: SourceEffects,
}

/// Draws training examples from a corpus according to an [`AugmentConfig`]. Immutable and
/// `Sync`: share one across threads, each with its own rng.
#[derive(Debug, Clone)]
pub struct Augmenter {
    config: AugmentConfig,
    sample_rate: u32,
}

impl Augmenter {
    /// Validates `config` against `sample_rate`; the error names the first bad key.
    pub fn new(config: AugmentConfig, sample_rate: u32) -> Result<Self, AugmentError> {
        config.validate(sample_rate)?;
        Ok(Self { config, sample_rate })
    }

    pub fn config(&self) -> &AugmentConfig {
        &self.config
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Length of every example in samples (T · sample rate).
    pub fn window_samples(&self) -> usize {
        self.config.window_samples(self.sample_rate)
    }

    /// Draws an example: picks segment(s) with `rng`, draws the window, random-mixes with
    /// probability p, and applies gain / pitch / low-pass / EQ per source. The same rng state
    /// gives the same example.
    ///
    /// # Panics
    /// If `segments` is empty; see [`Augmenter::try_example`].
    pub fn example(&self, segments: &dyn SegmentSource, rng: &mut ChaCha8Rng) -> TrainingExample {
        match self.try_example(segments, rng) {
            Ok(example) => example,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Augmenter::example`], with an error instead of a panic for an empty source.
    pub fn try_example(
        &self,
        segments: &dyn SegmentSource,
        rng: &mut ChaCha8Rng,
    ) -> Result<TrainingExample, AugmentError> {
        let plan = self.plan(segments, rng)?;
        Ok(self.render(segments, &plan))
    }

    /// Draws every random choice of one example, without any signal processing.
    pub fn plan(&self, segments: &dyn SegmentSource, rng: &mut ChaCha8Rng) -> Result<ExamplePlan, AugmentError> {
        if segments.is_empty() {
            return Err(AugmentError::EmptySource);
        }
        let mix = &self.config.random_mix;
        let probability = if mix.enabled { mix.probability } else { 0.0 };
        let pair = window::random_mix(segments.len(), |i| segments.song_of(i), probability, rng);
        let window = self.window_samples();
        let vocals_len = segments.segment(pair.vocals).vocals.len();
        let accompaniment_len = segments.segment(pair.accompaniment).accompaniment.len();
        let (vocals_start, accompaniment_start) = if pair.is_mixed() {
            // Unrelated sources: independent windows add variety for free.
            (
                window::draw_window_start(vocals_len, window, rng),
                window::draw_window_start(accompaniment_len, window, rng),
            )
        } else {
            let start = window::draw_window_start(vocals_len.min(accompaniment_len), window, rng);
            (start, start)
        };
        let vocals_effects = draw_effects(&self.config, rng);
        let accompaniment_effects = draw_effects(&self.config, rng);
        Ok(ExamplePlan { pair, vocals_start, accompaniment_start, vocals_effects, accompaniment_effects })
    }

    /// Renders a plan: crops the windows, applies each source's effects, keeps the mixture in
    /// range, and sums. Deterministic (no randomness here).
    pub fn render(&self, segments: &dyn SegmentSource, plan: &ExamplePlan) -> TrainingExample {
        let window = self.window_samples();
        let vocals = window::crop(segment_or_silence(segments, plan.pair.vocals).vocals, plan.vocals_start, window);
        let accompaniment = window::crop(
            segment_or_silence(segments, plan.pair.accompaniment).accompaniment,
            plan.accompaniment_start,
            window,
        );
        let mut vocals = self.apply_effects(vocals, &plan.vocals_effects);
        let mut accompaniment = self.apply_effects(accompaniment, &plan.accompaniment_effects);
        if self.config.headroom.enabled {
            fit_headroom(&mut vocals, &mut accompaniment, self.config.headroom.max_peak);
        }
        let mixture = vocals.iter().zip(&accompaniment).map(|(v, a)| v + a).collect();
        TrainingExample { mixture, vocals, accompaniment }
    }

    /// Pitch shift, low-pass, EQ, gain, in that order (gain last so filters see the original
    /// level; the order of the linear filters does not matter).
    pub fn apply_effects(&self, signal: Vec<f32>, effects: &SourceEffects) -> Vec<f32> {
        let sr = self.sample_rate;
        let mut out = signal;
        if let Some(semitones) = effects.pitch_semitones {
            let p = &self.config.pitch;
            out = pitch::pitch_shift_with(&out, semitones, VocoderParams { fft_size: p.fft_size, hop: p.hop });
        }
        if let Some(cutoff) = effects.lowpass_cutoff_hz {
            out = filters::lowpass(&out, cutoff, self.config.lowpass.order, sr);
        }
        if !effects.eq.is_empty() {
            out = filters::eq(&out, &effects.eq, sr);
        }
        if let Some(db) = effects.gain_db {
            filters::apply_gain_db_in_place(&mut out, db);
        }
        // Filters of validated configs are stable, but a finite input near f32::MAX times a
        // +6 dB gain is not; zero anything non-finite rather than poison a training batch.
        out.iter_mut().filter(|x| !x.is_finite()).for_each(|x| *x = 0.0);
        out
    }
}

/// Segment `index`, or empty signals when it is out of range (a plan replayed on another
/// corpus), so rendering gives silence instead of panicking.
fn segment_or_silence(segments: &dyn SegmentSource, index: usize) -> SourcePair<'_> {
    if index < segments.len() { segments.segment(index) } else { SourcePair { vocals: &[], accompaniment: &[] } }
}

/// Draws one source's effects from `config` (each transform on with its probability).
pub fn draw_effects(config: &AugmentConfig, rng: &mut impl Rng) -> SourceEffects {
    let p = &config.pitch;
    let pitch_semitones =
        (p.enabled && chance(rng, p.probability)).then(|| uniform(rng, p.min_semitones, p.max_semitones));
    let l = &config.lowpass;
    let lowpass_cutoff_hz =
        (l.enabled && chance(rng, l.probability)).then(|| log_uniform(rng, l.min_cutoff_hz, l.max_cutoff_hz));
    let e = &config.eq;
    let eq = if e.enabled && e.max_bands > 0 && chance(rng, e.probability) {
        let bands = rng.random_range(1..=e.max_bands);
        (0..bands).map(|_| draw_eq_band(config, rng)).collect()
    } else {
        Vec::new()
    };
    let g = &config.gain;
    let gain_db = (g.enabled && chance(rng, g.probability)).then(|| uniform(rng, g.min_db, g.max_db));
    SourceEffects { pitch_semitones, lowpass_cutoff_hz, eq, gain_db }
}

fn draw_eq_band(config: &AugmentConfig, rng: &mut impl Rng) -> EqBand {
    let e = &config.eq;
    let kind = match rng.random_range(0..3) {
        0 => EqKind::Peaking,
        1 => EqKind::LowShelf,
        _ => EqKind::HighShelf,
    };
    EqBand {
        kind,
        freq_hz: log_uniform(rng, e.min_freq_hz, e.max_freq_hz),
        gain_db: uniform(rng, -e.max_gain_db, e.max_gain_db),
        q: log_uniform(rng, e.min_q, e.max_q),
    }
}

/// Scales both sources by one factor when their sum's peak exceeds `max_peak`, which keeps the
/// mixing ratio and the exact-sum property.
pub fn fit_headroom(vocals: &mut [f32], accompaniment: &mut [f32], max_peak: f32) {
    let peak = vocals.iter().zip(accompaniment.iter()).map(|(v, a)| (v + a).abs()).fold(0.0f32, f32::max);
    if peak > max_peak && peak.is_finite() {
        let scale = max_peak / peak;
        vocals.iter_mut().chain(accompaniment.iter_mut()).for_each(|x| *x *= scale);
    }
}
