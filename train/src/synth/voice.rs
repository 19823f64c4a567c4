//! Singing-voice synthesizer: a band-limited Rosenberg glottal pulse train at the melody's
//! pitch (portamento, onset scoops, delayed vibrato, jitter and shimmer), shaped by a cascade
//! of formant resonators that glide between vowels, with consonant noise at syllable edges and
//! breath noise before phrases. It is not meant to fool a listener; it is meant to carry the
//! cues a separator uses to tell a voice from instruments: harmonics under moving formants,
//! vibrato, syllabic onsets and unvoiced noise.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::SynthError;
use super::dsp::{OnePole, Resonator, midi_to_hz, polyblep, smoothstep};
use crate::dsp::biquad::{BiquadFilter, bandpass_coeffs};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoiceType {
    Male,
    Female,
}

impl VoiceType {
    /// Comfortable melody range (MIDI) for pop singing.
    pub fn range(self) -> (i32, i32) {
        match self {
            VoiceType::Male => (45, 67),
            VoiceType::Female => (55, 79),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VoiceType::Male => "male",
            VoiceType::Female => "female",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vowel {
    A,
    E,
    I,
    O,
    U,
    Ae,
    Uh,
}

impl Vowel {
    pub const ALL: [Vowel; 7] = [Vowel::A, Vowel::E, Vowel::I, Vowel::O, Vowel::U, Vowel::Ae, Vowel::Uh];

    /// F1-F3 of an adult male voice in Hz (classic vowel-chart values, F1 of the close
    /// vowels raised a little as singers do). Female voices scale them by
    /// [`VoiceConfig::formant_scale`].
    pub fn formants(self) -> [f32; 3] {
        match self {
            Vowel::A => [730.0, 1090.0, 2440.0],
            Vowel::E => [530.0, 1840.0, 2480.0],
            Vowel::I => [300.0, 2250.0, 3000.0],
            Vowel::O => [570.0, 840.0, 2410.0],
            Vowel::U => [330.0, 870.0, 2240.0],
            Vowel::Ae => [660.0, 1720.0, 2410.0],
            Vowel::Uh => [640.0, 1190.0, 2390.0],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Consonant {
    P,
    T,
    K,
    B,
    D,
    G,
    S,
    Sh,
    F,
    V,
    Z,
    H,
    M,
    N,
    L,
    R,
    W,
    Y,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manner {
    Plosive,
    Fricative,
    Aspirate,
    Nasal,
    Approximant,
}

/// Acoustic recipe of a consonant.
#[derive(Clone, Copy, Debug)]
struct ConsonantSpec {
    manner: Manner,
    duration_s: f32,
    /// Glottal level during the consonant relative to the vowel (0 = unvoiced).
    voicing: f32,
    /// Band of the frication or burst noise.
    noise_hz: f32,
    noise_q: f32,
    /// Noise RMS relative to the vowel's RMS.
    noise_level: f32,
    /// Formant targets (male Hz) the tract moves to during the consonant.
    locus: [f32; 3],
}

impl Consonant {
    pub const ALL: [Consonant; 18] = [
        Consonant::P,
        Consonant::T,
        Consonant::K,
        Consonant::B,
        Consonant::D,
        Consonant::G,
        Consonant::S,
        Consonant::Sh,
        Consonant::F,
        Consonant::V,
        Consonant::Z,
        Consonant::H,
        Consonant::M,
        Consonant::N,
        Consonant::L,
        Consonant::R,
        Consonant::W,
        Consonant::Y,
    ];

    fn spec(self) -> ConsonantSpec {
        use Manner::*;
        let s = |manner, duration_s, voicing, noise_hz, noise_q, noise_level, locus| ConsonantSpec {
            manner,
            duration_s,
            voicing,
            noise_hz,
            noise_q,
            noise_level,
            locus,
        };
        match self {
            Consonant::P => s(Plosive, 0.07, 0.0, 900.0, 0.7, 0.8, [300.0, 800.0, 2200.0]),
            Consonant::T => s(Plosive, 0.07, 0.0, 4000.0, 0.8, 0.9, [300.0, 1800.0, 2700.0]),
            Consonant::K => s(Plosive, 0.075, 0.0, 2000.0, 1.2, 0.9, [300.0, 1900.0, 2300.0]),
            Consonant::B => s(Plosive, 0.055, 0.12, 900.0, 0.7, 0.4, [300.0, 800.0, 2200.0]),
            Consonant::D => s(Plosive, 0.05, 0.12, 3500.0, 0.8, 0.45, [300.0, 1700.0, 2600.0]),
            Consonant::G => s(Plosive, 0.06, 0.12, 2000.0, 1.2, 0.45, [300.0, 1900.0, 2300.0]),
            Consonant::S => s(Fricative, 0.10, 0.0, 6200.0, 1.5, 0.35, [300.0, 1700.0, 2600.0]),
            Consonant::Sh => s(Fricative, 0.10, 0.0, 3000.0, 1.5, 0.4, [300.0, 1900.0, 2500.0]),
            Consonant::F => s(Fricative, 0.08, 0.0, 4500.0, 0.4, 0.12, [300.0, 1000.0, 2300.0]),
            Consonant::V => s(Fricative, 0.06, 0.45, 4500.0, 0.4, 0.08, [300.0, 1000.0, 2300.0]),
            Consonant::Z => s(Fricative, 0.08, 0.4, 6200.0, 1.5, 0.2, [300.0, 1700.0, 2600.0]),
            Consonant::H => s(Aspirate, 0.07, 0.0, 0.0, 1.0, 0.0, [0.0; 3]),
            Consonant::M => s(Nasal, 0.07, 0.45, 0.0, 1.0, 0.0, [250.0, 1100.0, 2200.0]),
            Consonant::N => s(Nasal, 0.065, 0.45, 0.0, 1.0, 0.0, [250.0, 1600.0, 2600.0]),
            Consonant::L => s(Approximant, 0.05, 0.75, 0.0, 1.0, 0.0, [360.0, 1100.0, 2700.0]),
            Consonant::R => s(Approximant, 0.06, 0.75, 0.0, 1.0, 0.0, [330.0, 1150.0, 1600.0]),
            Consonant::W => s(Approximant, 0.05, 0.7, 0.0, 1.0, 0.0, [300.0, 700.0, 2200.0]),
            Consonant::Y => s(Approximant, 0.05, 0.7, 0.0, 1.0, 0.0, [280.0, 2200.0, 2950.0]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Syllable {
    /// Consonant before the vowel (placed partly before the beat, as singers do).
    pub onset: Option<Consonant>,
    pub vowel: Vowel,
    /// Consonant closing the syllable, typically at a phrase end.
    pub coda: Option<Consonant>,
}

/// One sung note: the unit of the melody and of the song's metadata.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SungNote {
    pub start_s: f64,
    pub duration_s: f64,
    /// Intended pitch as a MIDI note number.
    pub midi: f32,
    /// Loudness 0..1.
    pub velocity: f32,
    pub syllable: Syllable,
    /// Melisma: the note continues the previous syllable (no consonant, no scoop).
    pub slur: bool,
}

impl SungNote {
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }
}

/// Parameters of one singer. [`VoiceConfig::new`] gives a typical voice;
/// [`VoiceConfig::random`] draws a plausible individual.
#[derive(Clone, Debug, PartialEq)]
pub struct VoiceConfig {
    pub sample_rate: u32,
    pub voice_type: VoiceType,
    pub vibrato_rate_hz: f32,
    pub vibrato_depth_cents: f32,
    /// Time into a note before vibrato starts; short notes therefore stay straight.
    pub vibrato_onset_s: f32,
    /// Time over which vibrato grows to full depth after its onset.
    pub vibrato_ramp_s: f32,
    /// Length of the pitch glide between legato notes.
    pub portamento_s: f32,
    /// Depth of the from-below pitch approach at note starts.
    pub scoop_cents: f32,
    /// Share of (non-phrase-initial) notes that get a scoop; phrase starts always do.
    pub scoop_probability: f32,
    /// Slow random pitch drift (standard deviation, cents).
    pub jitter_cents: f32,
    /// Random per-period amplitude variation (fraction).
    pub shimmer: f32,
    /// Aspiration noise mixed into the glottal source (0 = pressed, 0.3 = very breathy).
    pub breathiness: f32,
    /// Share of the glottal period during which the glottis is open.
    pub open_quotient: f32,
    /// Ratio of the opening to the closing phase of the glottal pulse.
    pub speed_quotient: f32,
    /// Scales every formant: ~1.0 for men, ~1.17 for women (shorter vocal tract).
    pub formant_scale: f32,
    /// Extra spectral tilt, 0 (bright) .. 1 (dark, soft voice).
    pub tilt: f32,
    /// Level of the inhalation noise before phrases, relative to the vowels.
    pub breath_level: f32,
    /// Scales all consonant noise.
    pub consonant_level: f32,
}

impl VoiceConfig {
    pub fn new(voice_type: VoiceType, sample_rate: u32) -> Self {
        let female = voice_type == VoiceType::Female;
        Self {
            sample_rate,
            voice_type,
            vibrato_rate_hz: 5.5,
            vibrato_depth_cents: 45.0,
            vibrato_onset_s: 0.25,
            vibrato_ramp_s: 0.3,
            portamento_s: 0.07,
            scoop_cents: 60.0,
            scoop_probability: 0.3,
            jitter_cents: 6.0,
            shimmer: 0.05,
            breathiness: if female { 0.12 } else { 0.08 },
            open_quotient: if female { 0.65 } else { 0.58 },
            speed_quotient: 2.5,
            formant_scale: if female { 1.17 } else { 1.0 },
            tilt: 0.3,
            breath_level: 0.12,
            consonant_level: 1.0,
        }
    }

    /// A random but plausible singer of the given type.
    pub fn random<R: Rng + ?Sized>(voice_type: VoiceType, sample_rate: u32, rng: &mut R) -> Self {
        let female = voice_type == VoiceType::Female;
        Self {
            sample_rate,
            voice_type,
            vibrato_rate_hz: rng.random_range(4.8..6.3),
            vibrato_depth_cents: rng.random_range(20.0..70.0),
            vibrato_onset_s: rng.random_range(0.15..0.35),
            vibrato_ramp_s: rng.random_range(0.15..0.4),
            portamento_s: rng.random_range(0.04..0.11),
            scoop_cents: rng.random_range(25.0..110.0),
            scoop_probability: rng.random_range(0.1..0.5),
            jitter_cents: rng.random_range(3.0..10.0),
            shimmer: rng.random_range(0.02..0.08),
            breathiness: rng.random_range(0.03..0.2),
            open_quotient: if female { rng.random_range(0.58..0.75) } else { rng.random_range(0.5..0.66) },
            speed_quotient: rng.random_range(1.8..3.5),
            formant_scale: if female { rng.random_range(1.1..1.24) } else { rng.random_range(0.94..1.06) },
            tilt: rng.random_range(0.0..0.6),
            breath_level: rng.random_range(0.05..0.2),
            consonant_level: rng.random_range(0.7..1.3),
        }
    }

    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |what: &str| Err(SynthError::InvalidConfig(format!("voice: {what}")));
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return bad(&format!("sample rate {} outside 8000..=192000", self.sample_rate));
        }
        let fields = [
            self.vibrato_rate_hz,
            self.vibrato_depth_cents,
            self.vibrato_onset_s,
            self.vibrato_ramp_s,
            self.portamento_s,
            self.scoop_cents,
            self.scoop_probability,
            self.jitter_cents,
            self.shimmer,
            self.breathiness,
            self.open_quotient,
            self.speed_quotient,
            self.formant_scale,
            self.tilt,
            self.breath_level,
            self.consonant_level,
        ];
        if fields.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return bad("every parameter must be finite and non-negative");
        }
        if !(0.2..=0.95).contains(&self.open_quotient) {
            return bad("open_quotient must be within 0.2..=0.95");
        }
        if !(0.5..=6.0).contains(&self.speed_quotient) {
            return bad("speed_quotient must be within 0.5..=6");
        }
        if !(0.5..=2.0).contains(&self.formant_scale) {
            return bad("formant_scale must be within 0.5..=2");
        }
        if self.tilt > 1.0 || self.scoop_probability > 1.0 {
            return bad("tilt and scoop_probability must be at most 1");
        }
        Ok(())
    }
}

/// Opening and closing durations of the Rosenberg pulse, in periods.
fn rosenberg_phases(open_quotient: f32, speed_quotient: f32) -> (f32, f32) {
    let opening = open_quotient * speed_quotient / (1.0 + speed_quotient);
    (opening, open_quotient - opening)
}

/// Rosenberg glottal flow (0..1) at `phase` in [0, 1): a raised-cosine opening, a quarter-
/// cosine closing and a closed phase. Used to gate aspiration noise to the open phase.
pub fn rosenberg_flow(phase: f32, open_quotient: f32, speed_quotient: f32) -> f32 {
    let (tp, tn) = rosenberg_phases(open_quotient, speed_quotient);
    let pi = std::f32::consts::PI;
    if phase < tp {
        0.5 * (1.0 - (pi * phase / tp).cos())
    } else if phase < tp + tn {
        (pi * (phase - tp) / (2.0 * tn)).cos()
    } else {
        0.0
    }
}

/// Derivative of the Rosenberg flow with respect to phase (the excitation including lip
/// radiation), sampled naively: it jumps at glottal closure, which aliases.
pub fn rosenberg_pulse(phase: f32, open_quotient: f32, speed_quotient: f32) -> f32 {
    let (tp, tn) = rosenberg_phases(open_quotient, speed_quotient);
    let pi = std::f32::consts::PI;
    if phase < tp {
        0.5 * pi / tp * (pi * phase / tp).sin()
    } else if phase < tp + tn {
        -(pi / (2.0 * tn)) * (pi * (phase - tp) / (2.0 * tn)).sin()
    } else {
        0.0
    }
}

/// Band-limited glottal excitation: [`rosenberg_pulse`] with a PolyBLEP correction at the
/// closure step (the only discontinuity), so high-pitched notes do not alias at 16 kHz.
/// `phase_step` is f0 / sample rate.
pub fn glottal_source(phase: f32, phase_step: f32, open_quotient: f32, speed_quotient: f32) -> f32 {
    let (tp, tn) = rosenberg_phases(open_quotient, speed_quotient);
    let closure = tp + tn;
    let step_height = std::f32::consts::PI / (2.0 * tn);
    let distance = (phase - closure).rem_euclid(1.0);
    rosenberg_pulse(phase, open_quotient, speed_quotient) + 0.5 * step_height * polyblep(distance, phase_step)
}

/// Most resonators the tract model uses: F1-F4 plus higher poles up to Nyquist.
pub const MAX_FORMANTS: usize = 8;

/// Cascade of formant resonators: the vocal-tract model. Besides F1-F4 it carries the higher
/// formants (roughly one per kHz, as a 17 cm tube has) up to Nyquist; without them an all-pole
/// cascade falls off a cliff above F4 and the voice sounds muffled and band-limited.
#[derive(Clone, Copy, Debug, Default)]
pub struct FormantFilter {
    resonators: [Resonator; MAX_FORMANTS],
    active: usize,
}

impl FormantFilter {
    /// Retunes the formants (at most [`MAX_FORMANTS`]); bandwidths follow from the
    /// frequencies ([`formant_bandwidth`]). State is kept so formants can glide.
    pub fn set(&mut self, formants: &[f32], sample_rate: f32) {
        self.active = formants.len().min(MAX_FORMANTS);
        for (i, (r, &f)) in self.resonators.iter_mut().zip(formants).enumerate() {
            r.set(f, formant_bandwidth(i, f), sample_rate);
        }
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        self.resonators[..self.active].iter_mut().fold(x, |acc, r| r.process(acc))
    }
}

/// Bandwidth of formant `index` (0 = F1) at `frequency_hz`: widening with frequency, as
/// measured on real voices.
pub fn formant_bandwidth(index: usize, frequency_hz: f32) -> f32 {
    match index {
        0 => 60.0 + 0.05 * frequency_hz,
        1 => 70.0 + 0.03 * frequency_hz,
        2 => 110.0 + 0.03 * frequency_hz,
        _ => 200.0 + 0.06 * frequency_hz,
    }
}

/// Formant frequencies for tract targets `f` (F1-F3, male Hz) at fundamental `f0`: scaled to
/// the singer, F1 raised above f0 for high notes (sopranos tune F1 to the fundamental),
/// ordered, below Nyquist, followed by the fixed higher formants. Returns the array and how
/// many entries are used.
pub fn formant_frequencies(f: [f32; 3], f0: f32, config: &VoiceConfig) -> ([f32; MAX_FORMANTS], usize) {
    let top = 0.45 * config.sample_rate as f32;
    let s = config.formant_scale;
    let mut out = [0.0f32; MAX_FORMANTS];
    out[0] = (f[0] * s).max(f0 * 1.15).min(top * 0.5);
    out[1] = (f[1] * s).max(out[0] + 250.0).min(top * 0.7);
    out[2] = (f[2] * s).max(out[1] + 300.0).min(top * 0.85);
    let mut count = 3;
    let mut next = (3500.0 * s).max(out[2] + 500.0);
    while count < MAX_FORMANTS && next < top {
        out[count] = next;
        count += 1;
        next += 1000.0 * s;
    }
    (out, count)
}

/// Vibrato depth in cents at `time_in_note` seconds into a note: nothing before the onset
/// delay, then a smooth rise to full depth, as trained singers do.
pub fn vibrato_depth(time_in_note: f32, config: &VoiceConfig) -> f32 {
    if time_in_note <= config.vibrato_onset_s {
        return 0.0;
    }
    let ramp = config.vibrato_ramp_s.max(1e-3);
    config.vibrato_depth_cents * smoothstep((time_in_note - config.vibrato_onset_s) / ramp)
}

/// Renders `notes` into a buffer of `num_samples` samples at `config.sample_rate`.
/// Invalid notes (non-finite, non-positive duration, pitch outside MIDI 20..=108) are
/// skipped; overlapping notes are shortened. Output level: vowels at roughly 0.1 RMS.
pub fn sing(notes: &[SungNote], num_samples: usize, config: &VoiceConfig, seed: u64) -> Result<Vec<f32>, SynthError> {
    config.validate()?;
    let mut out = vec![0.0f32; num_samples];
    let notes = sanitize_notes(notes);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut previous_end = f64::NEG_INFINITY;
    for range in split_phrases(&notes, 0.05) {
        let phrase = &notes[range];
        let gap = phrase[0].start_s - previous_end;
        render_phrase(phrase, gap, config, &mut rng, &mut out);
        previous_end = phrase[phrase.len() - 1].end_s();
    }
    Ok(out)
}

fn sanitize_notes(notes: &[SungNote]) -> Vec<SungNote> {
    let mut v: Vec<SungNote> = notes
        .iter()
        .copied()
        .filter(|n| {
            n.start_s.is_finite()
                && n.duration_s.is_finite()
                && n.midi.is_finite()
                && n.velocity.is_finite()
                && n.duration_s > 0.02
                && (20.0..=108.0).contains(&n.midi)
        })
        .collect();
    v.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    for i in 1..v.len() {
        let next_start = v[i].start_s;
        let prev = &mut v[i - 1];
        if prev.end_s() > next_start {
            prev.duration_s = (next_start - prev.start_s).max(0.0);
        }
    }
    v.retain(|n| n.duration_s > 0.02);
    v
}

/// Groups notes separated by less than `max_gap_s` into phrases (sung in one breath).
fn split_phrases(notes: &[SungNote], max_gap_s: f64) -> Vec<std::ops::Range<usize>> {
    let mut phrases = Vec::new();
    let mut start = 0;
    for i in 1..=notes.len() {
        if i == notes.len() || notes[i].start_s - notes[i - 1].end_s() > max_gap_s {
            if i > start {
                phrases.push(start..i);
            }
            start = i;
        }
    }
    phrases
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoiseShape {
    /// Plosive release: a few milliseconds, decaying.
    Burst,
    /// Fricative: sustained with soft edges.
    Frication,
    /// Inhalation: slow swell and fade.
    Breath,
}

/// Unvoiced noise that bypasses the formant filter (it is produced in front of the tract).
#[derive(Clone, Copy, Debug)]
struct NoiseEvent {
    /// Absolute sample index (may be negative: clipped when rendered).
    start: i64,
    len: usize,
    center_hz: f32,
    q: f32,
    /// RMS relative to the vowel RMS.
    level: f32,
    shape: NoiseShape,
}

/// Per-sample control signals of one phrase.
struct Tracks {
    voicing: Vec<f32>,
    aspiration: Vec<f32>,
    formants: [Vec<f32>; 3],
}

/// Loudness factor of a note from its velocity.
fn note_level(note: &SungNote) -> f32 {
    0.5 + 0.5 * note.velocity.clamp(0.0, 1.0)
}

fn render_phrase(notes: &[SungNote], gap_before_s: f64, config: &VoiceConfig, rng: &mut ChaCha8Rng, out: &mut [f32]) {
    let fs = config.sample_rate as f64;
    let first = notes[0].start_s;
    let last_end = notes[notes.len() - 1].end_s();
    // Room before the first vowel for an anticipated consonant, after the last for the decay.
    let span_start = ((first - 0.12).max(0.0) * fs).floor() as i64;
    let span_end = (((last_end + 0.25) * fs).ceil() as i64).min(out.len() as i64);
    if span_start >= span_end {
        return;
    }
    let len = (span_end - span_start) as usize;
    let (tracks, mut events) = articulation_tracks(notes, span_start, len, config);
    let f0 = pitch_contour(notes, span_start, len, config, rng);
    let mut voiced = synthesize_voiced(&f0, &tracks, config, rng);

    // Normalise the phrase so vowels sit at ~0.1 RMS scaled by the phrase's loudness; the
    // consonant and breath levels below are relative to that.
    let mean_level = notes.iter().map(note_level).sum::<f32>() / notes.len() as f32;
    let (sum, count) = voiced
        .iter()
        .zip(&tracks.voicing)
        .filter(|(_, v)| **v > 0.3)
        .fold((0.0f64, 0usize), |(s, c), (x, _)| (s + (*x as f64).powi(2), c + 1));
    let vowel_rms = 0.1 * mean_level;
    if count > 0 && sum > 0.0 {
        let gain = vowel_rms / ((sum / count as f64).sqrt() as f32);
        voiced.iter_mut().for_each(|x| *x *= gain);
    }
    for (o, v) in out[span_start as usize..span_end as usize].iter_mut().zip(&voiced) {
        *o += v;
    }

    if gap_before_s > 0.6 && config.breath_level > 0.0 {
        let duration = rng.random_range(0.25..0.45f64).min(gap_before_s - 0.2);
        let start = ((first - 0.06 - duration) * fs).round() as i64;
        events.push(NoiseEvent {
            start,
            len: (duration * fs) as usize,
            center_hz: rng.random_range(1200.0..2500.0),
            q: 0.6,
            level: config.breath_level,
            shape: NoiseShape::Breath,
        });
    }
    for event in &events {
        render_noise(event, vowel_rms, config.sample_rate as f32, rng, out);
    }
}

/// Builds voicing, aspiration and formant-target tracks for a phrase, plus the noise events
/// of its consonants. Targets are step functions; they are smoothed here so formants glide
/// (coarticulation) and voicing fades in and out instead of clicking.
fn articulation_tracks(
    notes: &[SungNote],
    span_start: i64,
    len: usize,
    config: &VoiceConfig,
) -> (Tracks, Vec<NoiseEvent>) {
    let fs = config.sample_rate as f64;
    let index = |t: f64| -> usize { ((t * fs).round() as i64 - span_start).clamp(0, len as i64) as usize };
    let mut voicing = vec![0.0f32; len];
    let aspiration = vec![0.0f32; len];
    let first_vowel = notes[0].syllable.vowel.formants();
    let mut formants = [vec![first_vowel[0]; len], vec![first_vowel[1]; len], vec![first_vowel[2]; len]];
    let mut events = Vec::new();

    // Vowels: each note holds its vowel until the next note starts (legato).
    for (k, note) in notes.iter().enumerate() {
        let a = index(note.start_s);
        let b = if k + 1 < notes.len() { index(notes[k + 1].start_s) } else { len };
        let level = note_level(note);
        let end_voicing = if k + 1 < notes.len() { b } else { index(note.end_s()) };
        voicing[a..end_voicing].iter_mut().for_each(|v| *v = level);
        let f = note.syllable.vowel.formants();
        for (track, value) in formants.iter_mut().zip(f) {
            track[a..b].iter_mut().for_each(|x| *x = value);
        }
    }
    // Phrase envelope: soft attack and a release that fades into the end of the last note.
    let attack = index(notes[0].start_s);
    let attack_len = (0.04 * fs) as usize;
    for i in 0..attack_len.min(len - attack) {
        voicing[attack + i] *= i as f32 / attack_len as f32;
    }
    let last = &notes[notes.len() - 1];
    let release_s = (0.4 * last.duration_s).min(0.15);
    let (ra, rb) = (index(last.end_s() - release_s), index(last.end_s()));
    for (j, v) in voicing[ra..rb].iter_mut().enumerate() {
        *v *= 1.0 - j as f32 / (rb - ra).max(1) as f32;
    }

    let mut tracks = Tracks { voicing, aspiration, formants };
    // Consonants overwrite the targets inside their regions.
    for (k, note) in notes.iter().enumerate() {
        let level = note_level(note);
        if let (Some(c), false) = (note.syllable.onset, note.slur) {
            let spec = c.spec();
            let duration = (spec.duration_s as f64).min(0.4 * note.duration_s);
            // Singers start the consonant before the beat so the vowel lands on it; take the
            // time from the previous note, but never more than a third of it.
            let lead = if k > 0 { (0.5 * duration).min(notes[k - 1].duration_s / 3.0) } else { 0.5 * duration };
            let a = note.start_s - lead;
            apply_consonant(
                &spec,
                index(a),
                index(a + duration),
                level,
                false,
                &mut tracks,
                &mut events,
                span_start,
                fs,
            );
        }
        if let Some(c) = note.syllable.coda {
            let spec = c.spec();
            let duration = (spec.duration_s as f64 * 1.2).min(0.3 * note.duration_s);
            let b = note.end_s();
            apply_consonant(
                &spec,
                index(b - duration),
                index(b),
                level,
                true,
                &mut tracks,
                &mut events,
                span_start,
                fs,
            );
        }
    }

    let sr = config.sample_rate as f32;
    smooth(&mut tracks.voicing, OnePole::smoother(0.006, sr, 0.0));
    smooth(&mut tracks.aspiration, OnePole::smoother(0.004, sr, 0.0));
    for track in tracks.formants.iter_mut() {
        let initial = track[0];
        smooth(track, OnePole::smoother(0.018, sr, initial));
    }
    (tracks, events)
}

fn smooth(track: &mut [f32], mut smoother: OnePole) {
    for x in track.iter_mut() {
        *x = smoother.process(*x);
    }
}

/// Writes one consonant into the tracks for samples `a..b` of the phrase.
#[allow(clippy::too_many_arguments)]
fn apply_consonant(
    spec: &ConsonantSpec,
    a: usize,
    b: usize,
    level: f32,
    coda: bool,
    tracks: &mut Tracks,
    events: &mut Vec<NoiseEvent>,
    span_start: i64,
    fs: f64,
) {
    if b <= a {
        return;
    }
    let set =
        |track: &mut [f32], range: std::ops::Range<usize>, value: f32| track[range].iter_mut().for_each(|x| *x = value);
    let set_locus = |tracks: &mut Tracks, range: std::ops::Range<usize>| {
        if spec.locus[0] > 0.0 {
            for (track, value) in tracks.formants.iter_mut().zip(spec.locus) {
                set(track, range.clone(), value);
            }
        }
    };
    match spec.manner {
        Manner::Plosive => {
            let release = a + (b - a) * 13 / 20;
            set(&mut tracks.voicing, a..release, spec.voicing * level);
            set_locus(tracks, a..release);
            events.push(NoiseEvent {
                start: span_start + release as i64,
                len: (0.012 * fs) as usize,
                center_hz: spec.noise_hz,
                q: spec.noise_q,
                level: spec.noise_level,
                shape: NoiseShape::Burst,
            });
            if spec.voicing == 0.0 || coda {
                // Aspiration after an unvoiced release (the "h" in "pa"), voicing resumes after.
                set(&mut tracks.voicing, release..b, 0.0);
                set(&mut tracks.aspiration, release..b, 0.3 * level);
            }
        }
        Manner::Fricative => {
            set(&mut tracks.voicing, a..b, spec.voicing * level);
            set_locus(tracks, a..b);
            events.push(NoiseEvent {
                start: span_start + a as i64,
                len: b - a,
                center_hz: spec.noise_hz,
                q: spec.noise_q,
                level: spec.noise_level,
                shape: NoiseShape::Frication,
            });
        }
        Manner::Aspirate => {
            set(&mut tracks.voicing, a..b, 0.0);
            set(&mut tracks.aspiration, a..b, 0.35 * level);
        }
        Manner::Nasal | Manner::Approximant => {
            set(&mut tracks.voicing, a..b, spec.voicing * level);
            set_locus(tracks, a..b);
        }
    }
}

/// Instantaneous fundamental frequency (Hz) for every sample of a phrase: note pitches joined
/// by portamento, scoops into note starts, delayed vibrato, slow jitter and a small fall-off
/// after the phrase's last note.
fn pitch_contour(
    notes: &[SungNote],
    span_start: i64,
    len: usize,
    config: &VoiceConfig,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let fs = config.sample_rate as f64;
    let scoops: Vec<bool> = notes
        .iter()
        .enumerate()
        .map(|(k, n)| k == 0 || (!n.slur && rng.random::<f32>() < config.scoop_probability))
        .collect();
    let last_end = notes[notes.len() - 1].end_s();
    let portamento = config.portamento_s.max(1e-3);
    let rate = config.vibrato_rate_hz * rng.random_range(0.95..1.05f32);
    let mut vibrato_phase = rng.random_range(0.0..std::f32::consts::TAU);
    let mut jitter_target = 0.0f32;
    let mut jitter = OnePole::smoother(0.04, fs as f32, 0.0);
    let jitter_period = (0.02 * fs) as usize;
    let mut f0 = vec![0.0f32; len];
    let mut k = 0;
    for (i, out) in f0.iter_mut().enumerate() {
        let t = (span_start + i as i64) as f64 / fs;
        while k + 1 < notes.len() && t >= notes[k + 1].start_s {
            k += 1;
        }
        let note = &notes[k];
        let dt = (t - note.start_s) as f32;
        let mut midi = note.midi;
        if k > 0 && dt < portamento {
            let prev = notes[k - 1].midi;
            midi = prev + (note.midi - prev) * smoothstep(dt.max(0.0) / portamento);
        }
        if scoops[k] {
            midi -= config.scoop_cents / 100.0 * (-dt.max(0.0) / 0.06).exp();
        }
        if t > last_end {
            midi -= 0.8 * smoothstep(((t - last_end) / 0.25) as f32);
        }
        if i % jitter_period.max(1) == 0 {
            jitter_target = rng.random_range(-1.7..1.7f32);
        }
        let drift = jitter.process(jitter_target);
        vibrato_phase += std::f32::consts::TAU * rate / fs as f32;
        if vibrato_phase > std::f32::consts::TAU {
            vibrato_phase -= std::f32::consts::TAU;
        }
        midi += (vibrato_depth(dt, config) * vibrato_phase.sin() + config.jitter_cents * drift) / 100.0;
        *out = midi_to_hz(midi).min(0.45 * fs as f32);
    }
    f0
}

/// The voiced (and aspirated) part of a phrase: glottal pulses plus aspiration noise, tilted,
/// through the formant cascade.
fn synthesize_voiced(f0: &[f32], tracks: &Tracks, config: &VoiceConfig, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let fs = config.sample_rate as f32;
    let (oq, sq) = (config.open_quotient, config.speed_quotient);
    let mut phase = rng.random::<f32>();
    let mut amplitude = 1.0f32;
    let mut tilt = OnePole::lowpass(900.0, fs);
    let mut filter = FormantFilter::default();
    let mut out = vec![0.0f32; f0.len()];
    // The glottal derivative peaks around 5-10; scale the noise to be comparable.
    let noise_scale = 6.0;
    for i in 0..f0.len() {
        if i % 8 == 0 {
            let targets = [tracks.formants[0][i], tracks.formants[1][i], tracks.formants[2][i]];
            let (formants, count) = formant_frequencies(targets, f0[i], config);
            filter.set(&formants[..count], fs);
        }
        let step = f0[i] / fs;
        phase += step;
        if phase >= 1.0 {
            phase -= 1.0;
            amplitude = 1.0 + config.shimmer * rng.random_range(-1.0..1.0f32);
        }
        let noise = rng.random_range(-1.0..1.0f32) * noise_scale;
        let flow = rosenberg_flow(phase, oq, sq);
        let pulse = glottal_source(phase, step, oq, sq) * amplitude;
        let source =
            tracks.voicing[i] * (pulse + config.breathiness * noise * (0.25 + flow)) + tracks.aspiration[i] * noise;
        let dark = tilt.process(source);
        let tilted = source + config.tilt * (dark - source);
        out[i] = filter.process(tilted);
    }
    out
}

/// Adds one consonant or breath noise event to `out`.
fn render_noise(event: &NoiseEvent, vowel_rms: f32, sample_rate: f32, rng: &mut ChaCha8Rng, out: &mut [f32]) {
    let section = bandpass_coeffs(f64::from(event.center_hz), f64::from(event.q.max(0.05)), sample_rate as u32);
    let mut filter = BiquadFilter::new(section);
    // A band-pass keeps roughly bandwidth/(fs/2) of white noise's power; undo that so `level`
    // means "RMS relative to the vowel".
    let bandwidth = (event.center_hz / event.q.max(0.05)).min(sample_rate / 2.0);
    let band_share = (1.57 * bandwidth / (sample_rate / 2.0)).clamp(0.02, 1.0);
    let gain = event.level * vowel_rms / (0.577 * band_share.sqrt());
    let len = event.len.max(1);
    for j in 0..len {
        let idx = event.start + j as i64;
        let noise = rng.random_range(-1.0..1.0f32);
        let y = filter.process(noise);
        let x = j as f32 / len as f32;
        let envelope = match event.shape {
            NoiseShape::Burst => (-(j as f32) / (0.003 * sample_rate)).exp() * 2.0,
            NoiseShape::Frication => smoothstep(x / 0.3) * smoothstep((1.0 - x) / 0.25),
            NoiseShape::Breath => (std::f32::consts::PI * x).sin().powi(2),
        };
        if idx >= 0 && (idx as usize) < out.len() {
            out[idx as usize] += gain * envelope * y;
        }
    }
}
