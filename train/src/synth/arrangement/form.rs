//! The song's form: which sections, how long, and the chords over them.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    Intro,
    Verse,
    PreChorus,
    Chorus,
    Bridge,
    Break,
    Outro,
}

impl SectionKind {
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Intro => "intro",
            SectionKind::Verse => "verse",
            SectionKind::PreChorus => "pre-chorus",
            SectionKind::Chorus => "chorus",
            SectionKind::Bridge => "bridge",
            SectionKind::Break => "break",
            SectionKind::Outro => "outro",
        }
    }

    pub(super) fn base_energy(self) -> f32 {
        match self {
            SectionKind::Intro => 0.45,
            SectionKind::Verse => 0.6,
            SectionKind::PreChorus => 0.7,
            SectionKind::Chorus => 0.9,
            SectionKind::Bridge => 0.65,
            SectionKind::Break => 0.75,
            SectionKind::Outro => 0.5,
        }
    }
}

/// Section kinds and lengths (bars) of the rendered window.
pub(super) fn plan_structure(
    rng: &mut ChaCha8Rng,
    bars_needed: u32,
    bar_s: f64,
    random_start_probability: f64,
) -> Vec<(SectionKind, u32, bool)> {
    use SectionKind::*;
    // Four-bar intros only where they stay short: long silences waste training excerpts.
    let intro_bars = if 4.0 * bar_s > 8.5 || rng.random_bool(0.5) { 2 } else { 4 };
    let verse_bars = if bar_s < 2.0 && rng.random_bool(0.4) { 16 } else { 8 };
    let pre_chorus = rng.random_bool(0.35);
    let vocal_bridge = rng.random_bool(0.6);
    let mut song = vec![(Intro, intro_bars, false)];
    let verse_chorus = |song: &mut Vec<(SectionKind, u32, bool)>| {
        song.push((Verse, verse_bars, true));
        if pre_chorus {
            song.push((PreChorus, 4, true));
        }
        song.push((Chorus, 8, true));
    };
    verse_chorus(&mut song);
    verse_chorus(&mut song);
    if vocal_bridge {
        song.push((Bridge, if bar_s > 2.5 { 4 } else { 8 }, true));
    }
    if !vocal_bridge || rng.random_bool(0.3) {
        song.push((Break, 4, false));
    }
    song.push((Chorus, 8, true));
    if rng.random_bool(0.4) {
        song.push((Chorus, 8, true));
    }
    song.push((Outro, 4, false));

    let start =
        if rng.random_bool(random_start_probability.clamp(0.0, 1.0)) { rng.random_range(0..song.len() - 1) } else { 0 };
    let mut window: Vec<_> = song[start..].to_vec();
    // Long requests: repeat verse/chorus pairs before the outro until the window is covered.
    while window.iter().map(|s| s.1).sum::<u32>() < bars_needed {
        let outro = window.pop();
        verse_chorus(&mut window);
        window.extend(outro);
    }
    // Drop sections that start after the window ends.
    let mut total = 0;
    window.retain(|s| {
        let keep = total < bars_needed;
        total += s.1;
        keep
    });
    window
}

pub(super) fn place_sections(
    rng: &mut ChaCha8Rng,
    plan: &[(SectionKind, u32, bool)],
    beats_per_bar: u32,
    clock: &Clock,
) -> Vec<Section> {
    let mut start_bar = 0;
    let mut sections = Vec::with_capacity(plan.len());
    for (i, &(kind, bars, vocals)) in plan.iter().enumerate() {
        let repeat = plan[..i].iter().filter(|p| p.0 == kind).count() as f32;
        let energy = (kind.base_energy() + 0.04 * repeat + rng.random_range(-0.07..0.07f32)).clamp(0.2, 1.0);
        let beat = |bar: u32| (bar * beats_per_bar) as f64;
        sections.push(Section {
            kind,
            start_bar,
            bars,
            start_s: clock.time(beat(start_bar)),
            end_s: clock.time(beat(start_bar + bars)),
            energy,
            vocals,
        });
        start_bar += bars;
    }
    sections
}

/// Chord spans of every section: each section kind has its own progression, cycled at the
/// song's harmonic rhythm.
pub(super) fn chord_spans(
    rng: &mut ChaCha8Rng,
    style: Style,
    key: Key,
    sections: &[Section],
    beats_per_bar: u32,
    tempo: f32,
) -> Vec<ChordSpan> {
    let pool = progression_pool(key.mode);
    let verse: &[i32] = pool.choose(rng).copied().unwrap_or(&[0, 4, 5, 3]);
    let chorus: &[i32] = pool.choose(rng).copied().unwrap_or(&[0, 4, 5, 3]);
    let bridge: &[i32] = pool.choose(rng).copied().unwrap_or(&[0, 4, 5, 3]);
    let pre: &[i32] = pre_chorus_pool(key.mode).choose(rng).copied().unwrap_or(&[3, 4]);
    let bar = beats_per_bar as f64;
    let chord_beats = weighted(
        rng,
        &[
            (bar, 0.6),
            (2.0 * bar, if tempo > 100.0 { 0.25 } else { 0.0 }),
            (bar / 2.0, if beats_per_bar == 4 && tempo < 110.0 { 0.15 } else { 0.0 }),
        ],
    );
    let sevenths = style.seventh_probability();
    let seventh_degrees: Vec<bool> = (0..7).map(|_| rng.random_bool(sevenths)).collect();
    let mut spans = Vec::new();
    for section in sections {
        let (progression, beats) = match section.kind {
            SectionKind::Verse | SectionKind::Intro => (verse, chord_beats),
            SectionKind::Chorus | SectionKind::Outro | SectionKind::Break => (chorus, chord_beats),
            SectionKind::Bridge => (bridge, chord_beats),
            SectionKind::PreChorus => (pre, (section.bars as f64 * bar / pre.len() as f64).min(2.0 * bar)),
        };
        let start = (section.start_bar * beats_per_bar) as f64;
        let end = start + section.bars as f64 * bar;
        let mut beat = start;
        let mut i = 0;
        while beat < end - 1e-9 {
            let degree = progression[i % progression.len()];
            let chord = Chord::diatonic(&key, degree, seventh_degrees[degree.rem_euclid(7) as usize]);
            spans.push(ChordSpan { start_beat: beat, beats: beats.min(end - beat), chord });
            beat += beats;
            i += 1;
        }
    }
    spans
}
