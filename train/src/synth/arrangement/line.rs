//! An instrumental line that plays while the voice sings: a countermelody, the voice's melody
//! doubled an octave away, or a drone. The styles' lead instruments play only where the voice
//! rests, so without such a line a lone pitched line in a training song is always the voice, and
//! a separator learns that shortcut: it then calls any real solo instrument, drone or riff a voice
//! (docs/results/real-voices.md, "Where the default fails").

use super::*;

/// What the line plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// Its own melody over the voice's phrases, above or below the voice.
    CounterMelody,
    /// The voice's own notes an octave above or below.
    Doubling,
    /// One held note, the key's tonic, re-struck every two bars, through the whole song.
    Drone,
}

impl LineKind {
    pub fn name(self) -> &'static str {
        match self {
            LineKind::CounterMelody => "countermelody",
            LineKind::Doubling => "doubling",
            LineKind::Drone => "drone",
        }
    }
}

/// MIDI channel of the line: the `other` parts of [`generate`] use 0 to 3.
const LINE_CHANNEL: u8 = 4;
/// MIDI channel of an instrumental's melody ([`make_instrumental`]), which may have a line too.
const MELODY_CHANNEL: u8 = 5;

/// A line of a kind drawn evenly, played by any melodic General MIDI program
/// ([`any_melodic_accompaniment`]), for `arrangement` (the line is accompaniment: it joins `other`).
pub fn instrument_line(arrangement: &Arrangement, rng: &mut ChaCha8Rng, duration_s: f64) -> (LineKind, Part) {
    let program = any_melodic_accompaniment(rng);
    let kind = [LineKind::CounterMelody, LineKind::Doubling, LineKind::Drone][rng.random_range(0..3)];
    let ctx = Context {
        style: arrangement.style,
        key: arrangement.key,
        beats_per_bar: arrangement.beats_per_bar,
        clock: Clock {
            seconds_per_beat: 60.0 / arrangement.tempo_bpm as f64,
            swing: arrangement.swing as f64,
            swing_unit: arrangement.style.swing().1,
        },
        sections: &arrangement.sections,
        chords: &arrangement.chords,
    };
    let part = match kind {
        LineKind::CounterMelody => {
            let track = counter_melody(rng, &ctx);
            finish_part(rng, &ctx, track, PartRole::Lead, program, LINE_CHANNEL, duration_s)
        }
        LineKind::Drone => {
            let track = drone(rng, &ctx);
            finish_part(rng, &ctx, track, PartRole::Pad, program, LINE_CHANNEL, duration_s)
        }
        LineKind::Doubling => doubling(rng, &arrangement.melody, program),
    };
    (kind, part)
}

/// Phrases in every section the voice sings, in a register above or below the voice's middle.
fn counter_melody(rng: &mut ChaCha8Rng, ctx: &Context) -> Track {
    let mut track = Track::default();
    let (low, high, center) = if rng.random_bool(0.5) { (67, 88, 77) } else { (45, 64, 55) };
    let long_notes = rng.random_bool(0.5);
    for section in ctx.sections.iter().filter(|s| s.vocals) {
        let start = ctx.section_start_beat(section);
        let end = start + (section.bars * ctx.beats_per_bar) as f64;
        let phrase_beats = (2 * ctx.beats_per_bar) as f64;
        let velocity = 60.0 + 30.0 * section.energy;
        let mut beat = start;
        while beat + phrase_beats <= end + 1e-9 {
            let rhythm = phrase_rhythm(rng, phrase_beats, ctx.clock.seconds_per_beat, long_notes);
            let absolute: Vec<(f64, f64)> = rhythm.iter().map(|&(o, d)| (beat + o, d)).collect();
            let pitches = melody_pitches(rng, ctx, &absolute, low, high, center);
            for ((b, d), p) in absolute.into_iter().zip(pitches) {
                track.push(b, d * 0.95, p, velocity);
            }
            beat += phrase_beats;
        }
    }
    track
}

/// The tonic in one octave between C3 and B4, held two bars at a time through every section.
fn drone(rng: &mut ChaCha8Rng, ctx: &Context) -> Track {
    let mut track = Track::default();
    let key = 48 + ctx.key.tonic as i32 + if rng.random_bool(0.5) { 0 } else { 12 };
    let velocity = rng.random_range(50.0..80.0);
    let hold = (2 * ctx.beats_per_bar) as f64;
    for section in ctx.sections {
        let start = ctx.section_start_beat(section);
        let end = start + (section.bars * ctx.beats_per_bar) as f64;
        let mut beat = start;
        while beat < end - 1e-9 {
            track.push(beat, hold.min(end - beat), key, velocity);
            beat += hold;
        }
    }
    track
}

/// The voice's notes an octave above or below, as the voice times them.
fn doubling(rng: &mut ChaCha8Rng, melody: &[SungNote], program: u8) -> Part {
    let shift = if rng.random_bool(0.5) { 12 } else { -12 };
    played_melody(melody, program, LINE_CHANNEL, shift)
}

/// `melody` played by `program` on `channel`, `shift` semitones away, as the voice times it.
fn played_melody(melody: &[SungNote], program: u8, channel: u8, shift: i32) -> Part {
    let notes = melody
        .iter()
        .map(|n| NoteEvent {
            start_s: n.start_s,
            duration_s: n.duration_s,
            key: (n.midi.round() as i32 + shift).clamp(0, 127) as u8,
            velocity: (50.0 + 50.0 * n.velocity.clamp(0.0, 1.0)).round() as u8,
        })
        .collect();
    Part { role: PartRole::Lead, program, channel, volume: 90, reverb_send: 50, notes: make_monophonic_keys(notes) }
}

/// Turns `arrangement` into an instrumental: the voice's melody played by any melodic General MIDI
/// program joins `other`, the choir doubling goes, and the band is thinned (the drums, the bass and
/// each `other` part each stay with probability 1/2), so some songs are a lone instrument. The
/// caller leaves the vocals silent. A separator that has only heard lone melodic lines sung calls
/// every one a voice (docs/results/real-voices.md, "Where the default fails"); here the same
/// melodies, rhythms and registers come from an instrument and are accompaniment.
pub fn make_instrumental(arrangement: &mut Arrangement, rng: &mut ChaCha8Rng) {
    let program = any_melodic_accompaniment(rng);
    let melody = played_melody(&arrangement.melody, program, MELODY_CHANNEL, 0);
    for part in [&mut arrangement.drums, &mut arrangement.bass] {
        if rng.random_bool(0.5) {
            part.notes.clear();
        }
    }
    arrangement.other.retain(|_| rng.random_bool(0.5));
    arrangement.other.push(melody);
    arrangement.choir = None;
}
