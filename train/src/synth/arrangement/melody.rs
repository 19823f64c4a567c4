//! The vocal melody (notes and syllables), the lead instrument answering it, and the choir doubling it.

use super::*;

/// An instrumental melody line: full melodies where nobody sings, short answering licks in
/// the vocal's rests elsewhere (call and response).
pub(super) fn lead_part(rng: &mut ChaCha8Rng, ctx: &Context, vocal_rests: &[(f64, f64)]) -> Track {
    let mut track = Track::default();
    let (low, high) = (62, 86);
    for section in ctx.sections {
        if section.vocals {
            continue;
        }
        let play = match section.kind {
            SectionKind::Break => 0.9,
            SectionKind::Intro => 0.6,
            SectionKind::Outro => 0.5,
            _ => 0.5,
        };
        if !rng.random_bool(play) {
            continue;
        }
        let start = ctx.section_start_beat(section);
        let phrase_beats = (2 * ctx.beats_per_bar) as f64;
        let mut beat = start;
        let end = start + (section.bars * ctx.beats_per_bar) as f64;
        let velocity = 70.0 + 30.0 * section.energy;
        while beat + phrase_beats <= end + 1e-9 {
            let rhythm = phrase_rhythm(rng, phrase_beats, ctx.clock.seconds_per_beat, false);
            let absolute: Vec<(f64, f64)> = rhythm.iter().map(|&(o, d)| (beat + o, d)).collect();
            let pitches = melody_pitches(rng, ctx, &absolute, low, high, 74);
            for ((b, d), p) in absolute.into_iter().zip(pitches) {
                track.push(b, d * 0.95, p, velocity);
            }
            beat += phrase_beats;
        }
    }
    if rng.random_bool(0.5) {
        for &(rest_start, rest_beats) in vocal_rests {
            if rest_beats < 1.5 || !rng.random_bool(0.4) {
                continue;
            }
            let count = rng.random_range(2..=4);
            let step = (rest_beats - 0.5).min(2.0) / count as f64;
            let rhythm: Vec<(f64, f64)> = (0..count).map(|i| (rest_start + 0.25 + i as f64 * step, step)).collect();
            let pitches = melody_pitches(rng, ctx, &rhythm, low, high, 76);
            for ((b, d), p) in rhythm.into_iter().zip(pitches) {
                track.push(b, d * 0.9, p, 60.0);
            }
        }
    }
    track
}

/// A phrase's rhythm: (offset, length) in beats from the phrase start. Singing starts on or
/// just after the downbeat, fills 55-85 % of the phrase and ends on a held note; the rest is
/// a breath.
pub(super) fn phrase_rhythm(
    rng: &mut ChaCha8Rng,
    phrase_beats: f64,
    seconds_per_beat: f64,
    long_notes: bool,
) -> Vec<(f64, f64)> {
    let start = weighted(rng, &[(0.0, 0.55), (0.5, 0.25), (1.0, 0.2)]);
    let end = ((phrase_beats * rng.random_range(0.55..0.85)) * 2.0).round() / 2.0;
    let end = end.clamp(start + 1.0, (phrase_beats - 0.5).max(start + 1.0));
    // Durations too short to sing a syllable at this tempo are not offered.
    let singable = |d: f64| d * seconds_per_beat >= 0.15;
    let options: Vec<(f64, f32)> = if long_notes {
        vec![(0.5, 3.0), (1.0, 4.0), (1.5, 2.0), (2.0, 2.0), (3.0, 0.5)]
    } else {
        vec![(0.25, 0.7), (0.5, 4.0), (1.0, 4.0), (1.5, 1.5), (2.0, 1.0)]
    }
    .into_iter()
    .filter(|&(d, _)| singable(d))
    .collect();
    let options = if options.is_empty() { vec![(1.0, 1.0)] } else { options };
    let mut notes = Vec::new();
    let mut t = start;
    while t < end - 1e-9 {
        let mut d = weighted(rng, &options);
        if t + d > end - 0.25 {
            d = end - t;
        }
        notes.push((t, d));
        t += d;
    }
    // Hold the last note a little longer when there is room: phrases end on long notes.
    if let Some(last) = notes.last_mut() {
        let room = (phrase_beats - 0.5 - end).max(0.0);
        last.1 += room.min(1.0);
    }
    notes
}

/// Pitches for a rhythm: chord tones on strong beats and chord changes, scale steps between,
/// an arch-shaped contour pulled back towards `center`, kept inside `[low, high]`.
pub(super) fn melody_pitches(
    rng: &mut ChaCha8Rng,
    ctx: &Context,
    rhythm: &[(f64, f64)],
    low: i32,
    high: i32,
    center: i32,
) -> Vec<i32> {
    let n = rhythm.len();
    let mut pitches = Vec::with_capacity(n);
    let mut previous = ctx.key.snap(center + rng.random_range(-3..=3)).clamp(low, high);
    for (i, &(beat, _)) in rhythm.iter().enumerate() {
        let span = ctx.chord_at(beat);
        let strong = i == 0
            || i + 1 == n
            || (beat - span.start_beat).abs() < 1e-6
            || (beat.fract() == 0.0 && (beat as i64) % 2 == 0);
        let progress = i as f32 / (n.max(2) - 1) as f32;
        let rise = if progress < 0.5 { 0.25 } else { -0.25 };
        let pull = (center - previous) as f32 * 0.04;
        let up = (0.5 + rise + pull).clamp(0.1, 0.9);
        let size = weighted(rng, &[(0, 0.12), (1, 0.55), (2, 0.25), (3, 0.08)]);
        let step = if rng.random::<f32>() < up { size } else { -size };
        let mut pitch = ctx.key.step(previous, step);
        if pitch > high || pitch < low {
            pitch = ctx.key.step(previous, -step);
        }
        if strong {
            pitch = span.chord.nearest_tone(pitch, low, high);
        }
        pitch = pitch.clamp(low, high);
        pitches.push(pitch);
        previous = pitch;
    }
    pitches
}

/// A melody note on the beat grid, before syllables and timing.
#[derive(Clone, Copy, Debug)]
pub(super) struct MelodyBeat {
    pub(super) beat: f64,
    pub(super) beats: f64,
    pub(super) midi: i32,
    pub(super) phrase_start: bool,
    pub(super) phrase_end: bool,
    pub(super) energy: f32,
    pub(super) position: f32,
}

/// The vocal melody of every sung section, plus the rests between its phrases (for the
/// lead's answering licks). Phrases within a section reuse two rhythms (AABA etc.), as real
/// songs repeat their motifs.
pub(super) fn vocal_melody(
    rng: &mut ChaCha8Rng,
    ctx: &Context,
    voice: VoiceType,
) -> (Vec<MelodyBeat>, Vec<(f64, f64)>) {
    let (low, high) = voice.range();
    let base_center = (low + high) / 2 - 2;
    let bar_s = ctx.beats_per_bar as f64 * ctx.clock.seconds_per_beat;
    let phrase_bars = [1u32, 2, 4].into_iter().find(|&b| b as f64 * bar_s >= 3.2).unwrap_or(4);
    let phrase_beats = (phrase_bars * ctx.beats_per_bar) as f64;
    let mut notes = Vec::new();
    let mut rests = Vec::new();
    for (index, section) in ctx.sections.iter().enumerate() {
        if !section.vocals {
            continue;
        }
        // A verse after a chorus (or one opening the window) often lets the band play a
        // phrase before the singer comes back in.
        let after_intro = index > 0 && ctx.sections[index - 1].kind == SectionKind::Intro;
        let lead_in = section.kind == SectionKind::Verse && !after_intro && rng.random_bool(0.6);
        let long = matches!(section.kind, SectionKind::Chorus | SectionKind::Bridge);
        let center = base_center
            + match section.kind {
                SectionKind::Chorus => 3,
                SectionKind::Bridge | SectionKind::PreChorus => 1,
                _ => 0,
            };
        let rhythms = [
            phrase_rhythm(rng, phrase_beats, ctx.clock.seconds_per_beat, long),
            phrase_rhythm(rng, phrase_beats, ctx.clock.seconds_per_beat, long),
        ];
        let forms: [[usize; 4]; 3] = [[0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 1]];
        let form = forms[rng.random_range(0..forms.len())];
        let phrases = section.bars / phrase_bars;
        let start = ctx.section_start_beat(section);
        for p in 0..phrases as usize {
            let phrase_start = start + p as f64 * phrase_beats;
            if lead_in && p == 0 {
                rests.push((phrase_start, phrase_beats));
                continue;
            }
            let rhythm = &rhythms[form[p % 4]];
            let absolute: Vec<(f64, f64)> = rhythm.iter().map(|&(o, d)| (phrase_start + o, d)).collect();
            let pitches = melody_pitches(rng, ctx, &absolute, low, high, center);
            let count = absolute.len();
            for (i, (&(beat, beats), midi)) in absolute.iter().zip(pitches).enumerate() {
                notes.push(MelodyBeat {
                    beat,
                    beats,
                    midi,
                    phrase_start: i == 0,
                    phrase_end: i + 1 == count,
                    energy: section.energy,
                    position: i as f32 / count.max(1) as f32,
                });
            }
            if let Some(&(b, d)) = absolute.last() {
                let rest_start = b + d;
                rests.push((rest_start, phrase_start + phrase_beats - rest_start));
            }
        }
    }
    (notes, rests)
}

pub(super) fn random_syllable(rng: &mut ChaCha8Rng, phrase_end: bool) -> Syllable {
    use Consonant::*;
    let onset = rng.random_bool(0.75).then(|| {
        weighted(
            rng,
            &[
                (T, 8.0),
                (D, 6.0),
                (S, 6.0),
                (N, 7.0),
                (M, 6.0),
                (L, 7.0),
                (K, 4.0),
                (B, 5.0),
                (W, 5.0),
                (H, 4.0),
                (R, 5.0),
                (Y, 3.0),
                (P, 3.0),
                (G, 2.0),
                (F, 3.0),
                (V, 2.0),
                (Sh, 2.0),
                (Z, 1.0),
            ],
        )
    });
    let vowel = weighted(
        rng,
        &[
            (Vowel::A, 5.0),
            (Vowel::E, 3.0),
            (Vowel::I, 4.0),
            (Vowel::O, 4.0),
            (Vowel::U, 2.0),
            (Vowel::Ae, 2.0),
            (Vowel::Uh, 3.0),
        ],
    );
    let coda_probability = if phrase_end { 0.4 } else { 0.06 };
    let coda = rng
        .random_bool(coda_probability)
        .then(|| weighted(rng, &[(N, 3.0), (M, 2.0), (S, 2.0), (T, 2.0), (L, 1.0), (Z, 1.0)]));
    Syllable { onset, vowel, coda }
}

/// Turns the beat-grid melody into timed, syllabled notes. Notes of a phrase are legato:
/// each lasts until the next starts.
pub(super) fn sung_notes(rng: &mut ChaCha8Rng, ctx: &Context, melody: &[MelodyBeat], duration_s: f64) -> Vec<SungNote> {
    let mut notes: Vec<SungNote> = Vec::with_capacity(melody.len());
    let mut phrase_offset = 0.0;
    for (i, m) in melody.iter().enumerate() {
        if m.phrase_start {
            // The whole phrase is early or late together (a singer's feel), not each note.
            phrase_offset = rng.random_range(-0.015..0.015);
        }
        let start_s = (ctx.clock.time(m.beat) + phrase_offset).max(0.0);
        let end_beat =
            if !m.phrase_end { melody.get(i + 1).map_or(m.beat + m.beats, |n| n.beat) } else { m.beat + m.beats };
        let end_s = (ctx.clock.time(end_beat) + phrase_offset).min(duration_s);
        if end_s - start_s < 0.05 || start_s >= duration_s {
            continue;
        }
        let slur = !m.phrase_start && rng.random_bool(0.12);
        let syllable = match (slur, notes.last()) {
            (true, Some(prev)) => Syllable { onset: None, vowel: prev.syllable.vowel, coda: None },
            _ => random_syllable(rng, m.phrase_end),
        };
        let shape = 0.9 + 0.1 * (std::f32::consts::PI * m.position).sin();
        let velocity = ((0.5 + 0.45 * m.energy) * shape + rng.random_range(-0.05..0.05f32)).clamp(0.0, 1.0);
        notes.push(SungNote { start_s, duration_s: end_s - start_s, midi: m.midi as f32, velocity, syllable, slur });
    }
    notes
}

/// GM program 52, a sampled choir singing "aah".
pub const CHOIR_AAHS: u8 = 52;
/// GM program 53, a sampled voice singing "ooh".
pub const VOICE_OOHS: u8 = 53;

/// The SoundFont's `program` (a sampled voice: [`CHOIR_AAHS`], [`VOICE_OOHS`]) singing the
/// melody: the choir that doubles the vocal, or a sampled lead voice.
pub fn sung_part(melody: &[SungNote], program: u8) -> Part {
    let notes = melody
        .iter()
        .map(|n| NoteEvent {
            start_s: n.start_s,
            duration_s: n.duration_s,
            key: n.midi.round().clamp(0.0, 127.0) as u8,
            velocity: (60.0 + 40.0 * n.velocity).round().clamp(1.0, 127.0) as u8,
        })
        .collect();
    Part {
        role: PartRole::Choir,
        program,
        channel: 0,
        volume: 100,
        reverb_send: 60,
        notes: make_monophonic_keys(notes),
    }
}
