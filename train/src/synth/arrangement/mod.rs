//! Arrangement generator: from a random number stream, a song's style, tempo, key, section
//! structure, chord progressions, instrumentation and every note of every part, plus the
//! vocal melody with its syllables. Pure data: nothing here makes sound.
//!
//! Notes are first placed on a beat grid and converted to seconds at the end, where swing
//! and human timing/velocity jitter are applied.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::music::{Chord, Key, Mode, pre_chorus_pool, progression_pool, voice_chord};
use super::voice::{Consonant, SungNote, Syllable, VoiceType, Vowel};

mod bass;
mod drums;
mod form;
mod harmony;
mod line;
mod melody;
mod style;

use bass::*;
use drums::*;
use form::*;
use harmony::*;
use melody::*;
use style::*;

pub use form::SectionKind;
pub use line::{LineKind, instrument_line, make_instrumental};
pub use melody::{CHOIR_AAHS, VOICE_OOHS, sung_part};
pub use style::{Style, is_melodic_accompaniment, wide_palette};

/// A section of the rendered window.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub kind: SectionKind,
    pub start_bar: u32,
    pub bars: u32,
    pub start_s: f64,
    pub end_s: f64,
    /// 0..1; drives velocities, which parts play and how busy they are.
    pub energy: f32,
    pub vocals: bool,
}

/// A chord sounding from `start_beat` for `beats` beats (beats counted from the window start).
#[derive(Clone, Debug, PartialEq)]
pub struct ChordSpan {
    pub start_beat: f64,
    pub beats: f64,
    pub chord: Chord,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartRole {
    Drums,
    Bass,
    Comp,
    Pad,
    Arp,
    Lead,
    Choir,
}

impl PartRole {
    pub fn name(self) -> &'static str {
        match self {
            PartRole::Drums => "drums",
            PartRole::Bass => "bass",
            PartRole::Comp => "comp",
            PartRole::Pad => "pad",
            PartRole::Arp => "arp",
            PartRole::Lead => "lead",
            PartRole::Choir => "choir",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteEvent {
    pub start_s: f64,
    pub duration_s: f64,
    pub key: u8,
    pub velocity: u8,
}

/// One instrument on one MIDI channel. For drums (`channel` 9) `program` is the GM drum kit.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub role: PartRole,
    pub program: u8,
    pub channel: u8,
    pub volume: u8,
    pub reverb_send: u8,
    pub notes: Vec<NoteEvent>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrangementConfig {
    /// Tempo limits; each style's own range is intersected with these.
    pub tempo_range_bpm: (f32, f32),
    /// Probability that the window starts at a later section instead of the intro, so short
    /// excerpts are not all song openings.
    pub random_start_probability: f64,
    pub female_probability: f64,
    /// Probability of doubling the vocal with the SoundFont's "Choir Aahs".
    pub choir_double_probability: f64,
}

impl Default for ArrangementConfig {
    fn default() -> Self {
        Self {
            tempo_range_bpm: (70.0, 150.0),
            random_start_probability: 0.5,
            female_probability: 0.5,
            choir_double_probability: 0.3,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arrangement {
    pub style: Style,
    pub tempo_bpm: f32,
    pub beats_per_bar: u32,
    /// Share of the swung subdivision given to its first half (0.5 = straight).
    pub swing: f32,
    pub key: Key,
    pub voice_type: VoiceType,
    pub sections: Vec<Section>,
    pub chords: Vec<ChordSpan>,
    pub drums: Part,
    pub bass: Part,
    pub other: Vec<Part>,
    pub choir: Option<Part>,
    pub melody: Vec<SungNote>,
}

/// Beat grid to seconds, with swing.
#[derive(Clone, Copy, Debug)]
struct Clock {
    seconds_per_beat: f64,
    swing: f64,
    swing_unit: f64,
}

impl Clock {
    fn time(&self, beat: f64) -> f64 {
        let pair = 2.0 * self.swing_unit;
        let position = beat / pair;
        let whole = position.floor();
        let f = position - whole;
        let swung = if f < 0.5 { f * 2.0 * self.swing } else { self.swing + (f - 0.5) * 2.0 * (1.0 - self.swing) };
        (whole + swung) * pair * self.seconds_per_beat
    }
}

/// Note on the beat grid before humanisation.
#[derive(Clone, Copy, Debug)]
struct BeatNote {
    beat: f64,
    beats: f64,
    key: i32,
    velocity: f32,
}

#[derive(Default)]
struct Track {
    notes: Vec<BeatNote>,
}

impl Track {
    fn push(&mut self, beat: f64, beats: f64, key: i32, velocity: f32) {
        if beats > 0.0 && velocity > 0.0 {
            self.notes.push(BeatNote { beat, beats, key, velocity });
        }
    }
}

fn weighted<T: Copy, R: Rng + ?Sized>(rng: &mut R, items: &[(T, f32)]) -> T {
    let total: f32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f32>() * total;
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

fn pick<R: Rng + ?Sized>(rng: &mut R, items: &[u8]) -> u8 {
    items.choose(rng).copied().unwrap_or(0)
}

/// Generates a complete arrangement covering `duration_s` seconds.
pub fn generate(rng: &mut ChaCha8Rng, duration_s: f64, config: &ArrangementConfig) -> Arrangement {
    let style = *Style::ALL.choose(rng).unwrap_or(&Style::Pop);
    let beats_per_bar: u32 = if rng.random_bool(style.triple_meter_probability()) { 3 } else { 4 };
    let tempo_bpm = choose_tempo(rng, style, config.tempo_range_bpm);
    let (swing_probability, swing_unit) = style.swing();
    let swing = if rng.random_bool(swing_probability) { rng.random_range(0.56..0.64) } else { 0.5 };
    let clock = Clock { seconds_per_beat: 60.0 / tempo_bpm as f64, swing, swing_unit };
    let mode =
        weighted(rng, &[(Mode::Major, 0.5), (Mode::Minor, 0.36), (Mode::Dorian, 0.07), (Mode::Mixolydian, 0.07)]);
    let key = Key { tonic: rng.random_range(0..12), mode };
    let voice_type =
        if rng.random_bool(config.female_probability.clamp(0.0, 1.0)) { VoiceType::Female } else { VoiceType::Male };

    let bar_s = beats_per_bar as f64 * clock.seconds_per_beat;
    let bars_needed = ((duration_s.max(0.0) / bar_s).ceil() as u32).max(1);
    let plan = plan_structure(rng, bars_needed, bar_s, config.random_start_probability);
    let sections = place_sections(rng, &plan, beats_per_bar, &clock);
    let chords = chord_spans(rng, style, key, &sections, beats_per_bar, tempo_bpm);

    let palette = style.palette();
    let ctx = Context { style, key, beats_per_bar, clock, sections: &sections, chords: &chords };
    let groove = Groove::for_style(rng, style, beats_per_bar);
    let drum_track = drum_part(rng, &ctx, &groove);
    let bass_track = bass_part(rng, &ctx, &groove);
    let comp_program = pick(rng, palette.comp);
    let comp_track = comp_part(rng, &ctx, comp_program);

    let (melody_beats, phrase_rests) = vocal_melody(rng, &ctx, voice_type);
    let melody = sung_notes(rng, &ctx, &melody_beats, duration_s);

    let mut other = vec![finish_part(rng, &ctx, comp_track, PartRole::Comp, comp_program, 0, duration_s)];
    if rng.random_bool(0.65) {
        let program = pick(rng, palette.pad);
        let track = pad_part(rng, &ctx);
        other.push(finish_part(rng, &ctx, track, PartRole::Pad, program, 1, duration_s));
    }
    if rng.random_bool(0.45) {
        let program = pick(rng, palette.arp);
        let track = arp_part(rng, &ctx);
        other.push(finish_part(rng, &ctx, track, PartRole::Arp, program, 2, duration_s));
    }
    if rng.random_bool(0.55) {
        let program = pick(rng, palette.lead);
        let track = lead_part(rng, &ctx, &phrase_rests);
        other.push(finish_part(rng, &ctx, track, PartRole::Lead, program, 3, duration_s));
    }
    let drum_kit = pick(rng, palette.drum_kits);
    let drums = finish_part(rng, &ctx, drum_track, PartRole::Drums, drum_kit, 9, duration_s);
    let bass_program = pick(rng, palette.bass);
    let bass = finish_part(rng, &ctx, bass_track, PartRole::Bass, bass_program, 0, duration_s);

    let choir =
        rng.random_bool(config.choir_double_probability.clamp(0.0, 1.0)).then(|| sung_part(&melody, CHOIR_AAHS));

    Arrangement {
        style,
        tempo_bpm,
        beats_per_bar,
        swing: swing as f32,
        key,
        voice_type,
        sections,
        chords,
        drums,
        bass,
        other,
        choir,
        melody,
    }
}

/// Shared read-only state of the part generators.
struct Context<'a> {
    style: Style,
    key: Key,
    beats_per_bar: u32,
    clock: Clock,
    sections: &'a [Section],
    chords: &'a [ChordSpan],
}

impl Context<'_> {
    fn chord_index(&self, beat: f64) -> usize {
        self.chords.partition_point(|c| c.start_beat <= beat + 1e-9).saturating_sub(1)
    }

    fn chord_at(&self, beat: f64) -> &ChordSpan {
        &self.chords[self.chord_index(beat).min(self.chords.len() - 1)]
    }

    fn section_start_beat(&self, section: &Section) -> f64 {
        (section.start_bar * self.beats_per_bar) as f64
    }

    fn chords_in<'s>(&'s self, section: &'s Section) -> impl Iterator<Item = (usize, &'s ChordSpan)> + 's {
        let start = self.section_start_beat(section);
        let end = start + (section.bars * self.beats_per_bar) as f64;
        self.chords.iter().enumerate().filter(move |(_, c)| c.start_beat >= start - 1e-9 && c.start_beat < end - 1e-9)
    }

    fn steps_per_bar(&self) -> usize {
        self.beats_per_bar as usize * 4
    }
}

/// Converts a beat-grid track into a timed part: swing, human timing and velocity jitter,
/// clipped to the window.
fn finish_part(
    rng: &mut ChaCha8Rng,
    ctx: &Context,
    track: Track,
    role: PartRole,
    program: u8,
    channel: u8,
    duration_s: f64,
) -> Part {
    let (jitter_s, velocity_jitter) = match role {
        PartRole::Drums => (0.004, 6.0),
        PartRole::Bass => (0.006, 6.0),
        _ => (0.008, 8.0),
    };
    let mut notes = Vec::with_capacity(track.notes.len());
    for n in track.notes {
        let start = ctx.clock.time(n.beat) + rng.random_range(-jitter_s..=jitter_s);
        let end = ctx.clock.time(n.beat + n.beats);
        let start = start.max(0.0);
        if start >= duration_s || end <= start {
            continue;
        }
        let velocity =
            (n.velocity + rng.random_range(-velocity_jitter..=velocity_jitter)).round().clamp(1.0, 127.0) as u8;
        notes.push(NoteEvent { start_s: start, duration_s: end - start, key: n.key.clamp(0, 127) as u8, velocity });
    }
    let (volume, reverb_send) = match role {
        PartRole::Drums => (100, 30),
        PartRole::Bass => (100, 10),
        PartRole::Comp => (95, 40),
        PartRole::Pad => (80, 60),
        PartRole::Arp => (80, 50),
        PartRole::Lead => (90, 50),
        PartRole::Choir => (100, 60),
    };
    let volume = (volume + rng.random_range(-10..=10)).clamp(40, 127) as u8;
    Part { role, program, channel, volume, reverb_send, notes: make_monophonic_keys(notes) }
}

/// Sorts notes and shortens any note that would still sound when the same key is struck
/// again: a MIDI note-off releases every voice of that key, so overlaps would cut the new note.
fn make_monophonic_keys(mut notes: Vec<NoteEvent>) -> Vec<NoteEvent> {
    notes.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.key.cmp(&b.key)));
    let mut next_start = [f64::INFINITY; 128];
    for n in notes.iter_mut().rev() {
        let limit = next_start[n.key as usize] - n.start_s - 0.002;
        if n.duration_s > limit {
            n.duration_s = limit.max(0.0);
        }
        next_start[n.key as usize] = n.start_s;
    }
    notes.retain(|n| n.duration_s > 0.005);
    notes
}
