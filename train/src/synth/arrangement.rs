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

/// GM percussion keys used by the drum patterns.
mod drum {
    pub const KICK: i32 = 36;
    pub const SIDE_STICK: i32 = 37;
    pub const SNARE: i32 = 38;
    pub const CLAP: i32 = 39;
    pub const HAT_CLOSED: i32 = 42;
    pub const HAT_PEDAL: i32 = 44;
    pub const HAT_OPEN: i32 = 46;
    pub const CRASH: i32 = 49;
    pub const RIDE: i32 = 51;
    pub const TAMBOURINE: i32 = 54;
    pub const SHAKER: i32 = 70;
    /// High to low.
    pub const TOMS: [i32; 6] = [50, 48, 47, 45, 43, 41];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    Pop,
    Rock,
    Ballad,
    Dance,
    Funk,
    Folk,
}

/// Instrument pools (GM programs, 0-based) of a style. Voice-like programs (choir, voice
/// oohs, voice lead) are deliberately absent: in the accompaniment they would blur exactly
/// the distinction the separator must learn.
struct Palette {
    bass: &'static [u8],
    comp: &'static [u8],
    pad: &'static [u8],
    arp: &'static [u8],
    lead: &'static [u8],
    drum_kits: &'static [u8],
}

impl Style {
    pub const ALL: [Style; 6] = [Style::Pop, Style::Rock, Style::Ballad, Style::Dance, Style::Funk, Style::Folk];

    pub fn name(self) -> &'static str {
        match self {
            Style::Pop => "pop",
            Style::Rock => "rock",
            Style::Ballad => "ballad",
            Style::Dance => "dance",
            Style::Funk => "funk",
            Style::Folk => "folk",
        }
    }

    fn tempo_range(self) -> (f32, f32) {
        match self {
            Style::Pop => (88.0, 128.0),
            Style::Rock => (100.0, 150.0),
            Style::Ballad => (66.0, 86.0),
            Style::Dance => (118.0, 132.0),
            Style::Funk => (90.0, 116.0),
            Style::Folk => (80.0, 124.0),
        }
    }

    fn palette(self) -> Palette {
        match self {
            Style::Pop => Palette {
                bass: &[33, 34, 35, 38],
                comp: &[0, 4, 5, 24, 25, 27],
                pad: &[48, 49, 50, 88, 89],
                arp: &[0, 4, 8, 11, 46, 80],
                lead: &[73, 65, 80, 56, 71, 11],
                drum_kits: &[0, 8, 16],
            },
            Style::Rock => Palette {
                bass: &[33, 34],
                comp: &[29, 30, 27, 25, 18],
                pad: &[48, 50, 16, 61],
                arp: &[25, 27, 0],
                lead: &[29, 30, 81, 65, 56],
                drum_kits: &[0, 8, 16],
            },
            Style::Ballad => Palette {
                bass: &[32, 33, 35],
                comp: &[0, 1, 4, 24, 46],
                pad: &[48, 49, 89, 50, 19],
                arp: &[0, 46, 8, 11, 24],
                lead: &[73, 40, 71, 68, 42],
                drum_kits: &[0, 8, 40],
            },
            Style::Dance => Palette {
                bass: &[38, 39, 87],
                comp: &[81, 80, 4, 90, 62],
                pad: &[88, 89, 90, 95, 50],
                arp: &[80, 81, 98, 8],
                lead: &[80, 81, 84],
                drum_kits: &[24, 25, 0],
            },
            Style::Funk => Palette {
                bass: &[36, 37, 33],
                comp: &[27, 28, 4, 16, 7],
                pad: &[61, 62, 16, 48],
                arp: &[7, 4, 11],
                lead: &[65, 66, 56, 17],
                drum_kits: &[0, 8],
            },
            Style::Folk => Palette {
                bass: &[32, 33],
                comp: &[24, 25, 21, 105],
                pad: &[48, 21, 49, 19],
                arp: &[24, 25, 46, 105, 15],
                lead: &[73, 40, 22, 71, 110, 79],
                drum_kits: &[0, 40, 32],
            },
        }
    }

    /// Probability of a swung feel, and the swung subdivision in beats.
    fn swing(self) -> (f64, f64) {
        match self {
            Style::Funk => (0.4, 0.25),
            Style::Folk => (0.3, 0.5),
            Style::Ballad | Style::Pop => (0.12, 0.5),
            _ => (0.0, 0.5),
        }
    }

    fn triple_meter_probability(self) -> f64 {
        match self {
            Style::Ballad => 0.25,
            Style::Folk => 0.3,
            Style::Pop => 0.05,
            _ => 0.0,
        }
    }

    fn seventh_probability(self) -> f64 {
        match self {
            Style::Funk => 0.5,
            Style::Pop | Style::Ballad => 0.25,
            Style::Dance => 0.2,
            _ => 0.0,
        }
    }
}

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

    fn base_energy(self) -> f32 {
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

    let choir = rng.random_bool(config.choir_double_probability.clamp(0.0, 1.0)).then(|| choir_part(&melody));

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

fn choose_tempo(rng: &mut ChaCha8Rng, style: Style, limits: (f32, f32)) -> f32 {
    let (lo, hi) = style.tempo_range();
    let (mut a, mut b) = (lo.max(limits.0), hi.min(limits.1));
    if a >= b {
        // The style's range does not meet the configured one: the configuration wins.
        (a, b) = (limits.0.min(limits.1), limits.0.max(limits.1));
    }
    if !(a.is_finite() && b.is_finite()) || a <= 0.0 {
        return 120.0;
    }
    if a == b { a } else { rng.random_range(a..b).round() }
}

/// Section kinds and lengths (bars) of the rendered window.
fn plan_structure(
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

fn place_sections(
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
fn chord_spans(
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

/// The song's basic drum groove on a 16th-note grid.
struct Groove {
    kick: Vec<usize>,
    snare: Vec<usize>,
    snare_key: i32,
    hats: Vec<usize>,
    chorus_hat: i32,
    ghost_probability: f64,
    open_hats: Vec<usize>,
    percussion: Option<i32>,
}

impl Groove {
    fn for_style(rng: &mut ChaCha8Rng, style: Style, beats_per_bar: u32) -> Groove {
        let eighths: Vec<usize> = (0..beats_per_bar as usize * 4).step_by(2).collect();
        let sixteenths: Vec<usize> = (0..beats_per_bar as usize * 4).collect();
        if beats_per_bar == 3 {
            return Groove {
                kick: if rng.random_bool(0.5) { vec![0] } else { vec![0, 6] },
                snare: if rng.random_bool(0.5) { vec![4, 8] } else { vec![8] },
                snare_key: if style == Style::Ballad { drum::SIDE_STICK } else { drum::SNARE },
                hats: eighths,
                chorus_hat: drum::RIDE,
                ghost_probability: 0.0,
                open_hats: vec![],
                percussion: (style == Style::Folk).then_some(drum::TAMBOURINE),
            };
        }
        let extra_kick = |rng: &mut ChaCha8Rng, options: &[usize]| options.choose(rng).copied();
        match style {
            Style::Pop => Groove {
                kick: [vec![0, 8], extra_kick(rng, &[6, 10, 14, 3]).into_iter().collect()].concat(),
                snare: vec![4, 12],
                snare_key: if rng.random_bool(0.3) { drum::CLAP } else { drum::SNARE },
                hats: if rng.random_bool(0.3) { sixteenths } else { eighths },
                chorus_hat: if rng.random_bool(0.5) { drum::HAT_OPEN } else { drum::RIDE },
                ghost_probability: 0.05,
                open_hats: vec![14],
                percussion: rng.random_bool(0.3).then_some(drum::TAMBOURINE),
            },
            Style::Rock => Groove {
                kick: [vec![0, 8], extra_kick(rng, &[10, 6, 7]).into_iter().collect()].concat(),
                snare: vec![4, 12],
                snare_key: drum::SNARE,
                hats: eighths,
                chorus_hat: if rng.random_bool(0.6) { drum::RIDE } else { drum::CRASH },
                ghost_probability: 0.03,
                open_hats: vec![14],
                percussion: None,
            },
            Style::Ballad => Groove {
                kick: vec![0, 10],
                snare: if rng.random_bool(0.5) { vec![8] } else { vec![4, 12] },
                snare_key: if rng.random_bool(0.5) { drum::SIDE_STICK } else { drum::SNARE },
                hats: eighths,
                chorus_hat: drum::RIDE,
                ghost_probability: 0.0,
                open_hats: vec![],
                percussion: None,
            },
            Style::Dance => Groove {
                kick: vec![0, 4, 8, 12],
                snare: vec![4, 12],
                snare_key: if rng.random_bool(0.6) { drum::CLAP } else { drum::SNARE },
                hats: sixteenths,
                chorus_hat: drum::HAT_CLOSED,
                ghost_probability: 0.0,
                open_hats: vec![2, 6, 10, 14],
                percussion: rng.random_bool(0.4).then_some(drum::SHAKER),
            },
            Style::Funk => Groove {
                kick: [vec![0, 10], extra_kick(rng, &[3, 7, 6, 13]).into_iter().collect()].concat(),
                snare: vec![4, 12],
                snare_key: drum::SNARE,
                hats: sixteenths,
                chorus_hat: drum::HAT_CLOSED,
                ghost_probability: 0.25,
                open_hats: vec![6],
                percussion: rng.random_bool(0.4).then_some(drum::TAMBOURINE),
            },
            Style::Folk => Groove {
                kick: vec![0, 8],
                snare: vec![4, 12],
                snare_key: if rng.random_bool(0.5) { drum::SIDE_STICK } else { drum::SNARE },
                hats: eighths,
                chorus_hat: drum::RIDE,
                ghost_probability: 0.05,
                open_hats: vec![],
                percussion: Some(if rng.random_bool(0.5) { drum::TAMBOURINE } else { drum::SHAKER }),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DrumMode {
    Off,
    /// Time-keeping only: hats and a kick on the downbeat.
    Minimal,
    Full,
    HalfTime,
}

fn drum_mode(rng: &mut ChaCha8Rng, kind: SectionKind) -> DrumMode {
    use DrumMode::*;
    match kind {
        SectionKind::Intro => weighted(rng, &[(Off, 0.35), (Minimal, 0.35), (Full, 0.3)]),
        SectionKind::Verse | SectionKind::PreChorus | SectionKind::Chorus => Full,
        SectionKind::Bridge => weighted(rng, &[(HalfTime, 0.4), (Full, 0.6)]),
        SectionKind::Break => weighted(rng, &[(Full, 0.7), (Off, 0.3)]),
        SectionKind::Outro => weighted(rng, &[(Full, 0.5), (Minimal, 0.5)]),
    }
}

fn drum_part(rng: &mut ChaCha8Rng, ctx: &Context, groove: &Groove) -> Track {
    let mut track = Track::default();
    let steps = ctx.steps_per_bar();
    for (index, section) in ctx.sections.iter().enumerate() {
        let mode = drum_mode(rng, section.kind);
        if mode == DrumMode::Off {
            continue;
        }
        let base = 60.0 + 55.0 * section.energy;
        let chorus_like = matches!(section.kind, SectionKind::Chorus | SectionKind::Break);
        let hat_key = match (mode, chorus_like) {
            (DrumMode::Minimal, _) => {
                if rng.random_bool(0.5) {
                    drum::HAT_PEDAL
                } else {
                    drum::HAT_CLOSED
                }
            }
            (_, true) => groove.chorus_hat,
            _ => drum::HAT_CLOSED,
        };
        let dense_hats = section.kind == SectionKind::PreChorus && rng.random_bool(0.4);
        let has_next = index + 1 < ctx.sections.len();
        for bar in 0..section.bars {
            let bar_beat = ((section.start_bar + bar) * ctx.beats_per_bar) as f64;
            let last_bar = bar + 1 == section.bars;
            let fill_steps = if last_bar && has_next && mode != DrumMode::Minimal && rng.random_bool(0.75) {
                if rng.random_bool(0.6) { 4 } else { 8.min(steps) }
            } else if bar % 4 == 3 && mode == DrumMode::Full && rng.random_bool(0.15) {
                2
            } else {
                0
            };
            let fill_from = steps - fill_steps;
            let at = |step: usize| bar_beat + step as f64 * 0.25;
            if bar == 0 && section.energy > 0.6 && mode != DrumMode::Minimal {
                track.push(at(0), 2.0, drum::CRASH, base + 10.0);
            }
            for step in 0..fill_from {
                let on_beat = step % 4 == 0;
                let kick = match mode {
                    DrumMode::Minimal => step == 0,
                    DrumMode::HalfTime => step == 0 || (groove.kick.contains(&step) && step > 8),
                    _ => {
                        groove.kick.contains(&step)
                            || (step % 2 == 0 && !on_beat && rng.random_bool(0.06 * section.energy as f64))
                    }
                };
                if kick {
                    track.push(at(step), 0.25, drum::KICK, base + rng.random_range(0.0..10.0));
                }
                let snare = match mode {
                    DrumMode::Minimal => false,
                    DrumMode::HalfTime => step == steps / 2,
                    _ => groove.snare.contains(&step),
                };
                if snare {
                    let key = if chorus_like && groove.snare_key == drum::SIDE_STICK {
                        drum::SNARE
                    } else {
                        groove.snare_key
                    };
                    track.push(at(step), 0.25, key, base + 8.0);
                } else if mode == DrumMode::Full && rng.random_bool(groove.ghost_probability) && step % 2 == 1 {
                    track.push(at(step), 0.25, drum::SNARE, rng.random_range(28.0..45.0));
                }
                let hat_step = groove.hats.contains(&step) || (dense_hats && mode == DrumMode::Full);
                if hat_step {
                    let open = mode == DrumMode::Full
                        && groove.open_hats.contains(&step)
                        && (chorus_like || rng.random_bool(0.25));
                    let key = if open { drum::HAT_OPEN } else { hat_key };
                    let accent = if on_beat {
                        0.85
                    } else if step % 2 == 0 {
                        0.7
                    } else {
                        0.5
                    };
                    track.push(at(step), 0.25, key, base * accent);
                }
                if let Some(perc) = groove.percussion
                    && section.energy > 0.55
                    && step % 2 == 0
                    && mode == DrumMode::Full
                {
                    track.push(at(step), 0.25, perc, base * if on_beat { 0.6 } else { 0.45 });
                }
            }
            if fill_steps > 0 {
                drum_fill(rng, &mut track, bar_beat, fill_from, steps, base);
            }
        }
    }
    track
}

/// A fill over the last `steps - from` 16ths of a bar: snare roll, descending toms, or both.
fn drum_fill(rng: &mut ChaCha8Rng, track: &mut Track, bar_beat: f64, from: usize, steps: usize, base: f32) {
    let kind = rng.random_range(0..3);
    let count = steps - from;
    track.push(bar_beat + from as f64 * 0.25, 0.25, drum::KICK, base);
    for (i, step) in (from..steps).enumerate() {
        if kind == 2 && step % 2 == 1 {
            continue;
        }
        let progress = i as f32 / count.max(1) as f32;
        let key = match kind {
            0 => drum::SNARE,
            1 => drum::TOMS[(i * drum::TOMS.len() / count.max(1)).min(drum::TOMS.len() - 1)],
            _ => {
                if i % 4 < 2 {
                    drum::SNARE
                } else {
                    drum::TOMS[(i / 2) % drum::TOMS.len()]
                }
            }
        };
        track.push(bar_beat + step as f64 * 0.25, 0.25, key, base * (0.7 + 0.35 * progress));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BassPattern {
    Sustain,
    Quarters,
    Eighths,
    RootFifth,
    Octaves,
    Offbeat,
    FollowKick,
    Syncopated,
}

fn bass_pattern(rng: &mut ChaCha8Rng, style: Style, kind: SectionKind) -> BassPattern {
    use BassPattern::*;
    let busy = matches!(kind, SectionKind::Chorus | SectionKind::Break | SectionKind::PreChorus);
    if matches!(kind, SectionKind::Intro | SectionKind::Outro) && rng.random_bool(0.5) {
        return Sustain;
    }
    let options: &[BassPattern] = match (style, busy) {
        (Style::Pop, false) => &[Eighths, RootFifth, FollowKick, Quarters],
        (Style::Pop, true) => &[Eighths, Octaves, FollowKick],
        (Style::Rock, _) => &[Eighths, FollowKick],
        (Style::Ballad, false) => &[Sustain, RootFifth],
        (Style::Ballad, true) => &[RootFifth, Quarters],
        (Style::Dance, _) => &[Offbeat, Octaves],
        (Style::Funk, _) => &[Syncopated, Syncopated, Octaves],
        (Style::Folk, _) => &[RootFifth, Quarters],
    };
    options.choose(rng).copied().unwrap_or(Quarters)
}

fn bass_part(rng: &mut ChaCha8Rng, ctx: &Context, groove: &Groove) -> Track {
    let mut track = Track::default();
    // A funk riff: one bar of 16th positions, reused throughout the song.
    let riff: Vec<(f64, bool)> = {
        let cells: [&[f64]; 3] =
            [&[0.0, 0.75, 1.5, 2.5, 3.0, 3.5], &[0.0, 1.0, 1.75, 2.5, 3.25], &[0.0, 0.5, 1.75, 2.0, 3.0, 3.75]];
        let cell = cells[rng.random_range(0..cells.len())];
        cell.iter().map(|&b| (b, b > 0.0 && rng.random_bool(0.35))).collect()
    };
    for section in ctx.sections {
        let pattern = bass_pattern(rng, ctx.style, section.kind);
        let velocity = 70.0 + 45.0 * section.energy;
        for (i, span) in ctx.chords_in(section) {
            let root = span.chord.bass_root();
            let fifth = root + span.chord.fifth();
            let (s, len) = (span.start_beat, span.beats);
            let next_root = ctx.chords.get(i + 1).map(|c| c.chord.bass_root());
            let mut hits: Vec<(f64, f64, i32, f32)> = Vec::new();
            match pattern {
                BassPattern::Sustain => hits.push((0.0, len * 0.95, root, 0.9)),
                BassPattern::Quarters => {
                    for b in 0..len.ceil() as usize {
                        hits.push((b as f64, 0.9, root, if b == 0 { 1.0 } else { 0.85 }));
                    }
                }
                BassPattern::Eighths => {
                    for e in 0..(len * 2.0).ceil() as usize {
                        hits.push((e as f64 * 0.5, 0.42, root, if e % 2 == 0 { 1.0 } else { 0.8 }));
                    }
                }
                BassPattern::RootFifth => {
                    for b in 0..len.ceil() as usize {
                        let note = if b % 2 == 0 {
                            root
                        } else if fifth > 47 {
                            fifth - 12
                        } else {
                            fifth
                        };
                        hits.push((b as f64, 0.9, note, if b == 0 { 1.0 } else { 0.85 }));
                    }
                }
                BassPattern::Octaves => {
                    for e in 0..(len * 2.0).ceil() as usize {
                        hits.push((e as f64 * 0.5, 0.4, if e % 2 == 0 { root } else { root + 12 }, 0.9));
                    }
                }
                BassPattern::Offbeat => {
                    for b in 0..len.ceil() as usize {
                        hits.push((b as f64 + 0.5, 0.4, root, 0.95));
                    }
                }
                BassPattern::FollowKick => {
                    let bar_len = ctx.beats_per_bar as f64;
                    let mut positions: Vec<f64> = Vec::new();
                    let mut bar = 0.0;
                    while bar < len {
                        positions.extend(groove.kick.iter().map(|&k| bar + k as f64 * 0.25).filter(|&p| p < len));
                        bar += bar_len;
                    }
                    for (j, &p) in positions.iter().enumerate() {
                        let next = positions.get(j + 1).copied().unwrap_or(len);
                        hits.push((p, ((next - p) * 0.9).min(2.0), root, if j == 0 { 1.0 } else { 0.85 }));
                    }
                }
                BassPattern::Syncopated => {
                    let bar_len = ctx.beats_per_bar as f64;
                    let mut bar = 0.0;
                    while bar < len {
                        for &(b, up) in &riff {
                            if bar + b < len {
                                hits.push((
                                    bar + b,
                                    0.3,
                                    if up { root + 12 } else { root },
                                    if b == 0.0 { 1.0 } else { 0.8 },
                                ));
                            }
                        }
                        bar += bar_len;
                    }
                }
            }
            // Approach note into the next chord, as bass players lead the ear to the change.
            if let Some(next) = next_root
                && pattern != BassPattern::Sustain
                && rng.random_bool(0.3)
                && next != root
                && len >= 2.0
            {
                hits.retain(|h| h.0 < len - 0.5);
                // From a semitone below (unless that leaves the bass register) or a step above.
                let approach = if next > 28 && rng.random_bool(0.5) { next - 1 } else { ctx.key.step(next, 1) };
                hits.push((len - 0.5, 0.45, approach, 0.85));
            }
            for (offset, beats, key, accent) in hits {
                let beats = beats.min(len - offset);
                track.push(s + offset, beats, key, velocity * accent);
            }
        }
    }
    track
}

/// Rhythm cells for chord comping, (offset, length) in beats within a bar.
fn comp_cell(rng: &mut ChaCha8Rng, style: Style, energy: f32, beats_per_bar: u32) -> (Vec<(f64, f64)>, bool) {
    let bar = beats_per_bar as f64;
    if beats_per_bar == 3 {
        let cells: [Vec<(f64, f64)>; 3] =
            [vec![(0.0, 3.0)], vec![(0.0, 0.9), (1.0, 0.8), (2.0, 0.8)], vec![(1.0, 0.8), (2.0, 0.8)]];
        return (cells[if energy < 0.5 { 0 } else { rng.random_range(1..3) }].clone(), false);
    }
    let whole = vec![(0.0, bar)];
    let halves = vec![(0.0, 2.0), (2.0, 2.0)];
    let quarters: Vec<(f64, f64)> = (0..4).map(|b| (b as f64, 0.8)).collect();
    let eighths: Vec<(f64, f64)> = (0..8).map(|e| (e as f64 * 0.5, 0.4)).collect();
    let pop = vec![(0.0, 1.4), (1.5, 1.4), (3.0, 0.9)];
    let offbeats: Vec<(f64, f64)> = (0..4).map(|b| (b as f64 + 0.5, 0.35)).collect();
    let strum = vec![(0.0, 0.9), (1.0, 0.45), (1.5, 0.45), (2.5, 0.45), (3.0, 0.45), (3.5, 0.45)];
    let syncopated = vec![(0.0, 0.7), (1.5, 0.45), (2.5, 1.4)];
    if energy < 0.5 {
        return (if rng.random_bool(0.5) { whole } else { halves }, false);
    }
    let options: Vec<(Vec<(f64, f64)>, bool)> = match style {
        Style::Pop => vec![(pop, false), (quarters, false), (strum, true), (halves, false)],
        Style::Rock => vec![(eighths, false), (pop, false), (halves, false)],
        Style::Ballad => vec![(halves, false), (whole, false), (quarters, false)],
        Style::Dance => vec![(offbeats, false), (pop, false), (syncopated, false)],
        Style::Funk => vec![(syncopated, false), (offbeats, false), (eighths, false)],
        Style::Folk => vec![(strum, true), (quarters, true), (halves, true)],
    };
    options.choose(rng).cloned().unwrap_or((vec![(0.0, bar)], false))
}

fn is_guitar(program: u8) -> bool {
    (24..=31).contains(&program) || program == 105
}

fn comp_part(rng: &mut ChaCha8Rng, ctx: &Context, program: u8) -> Track {
    let mut track = Track::default();
    let power_chords = program == 29 || program == 30;
    let notes_per_chord = if rng.random_bool(0.5) { 3 } else { 4 };
    let strum_beats = 0.012 / ctx.clock.seconds_per_beat;
    let mut previous: Option<Vec<i32>> = None;
    for section in ctx.sections {
        let (cell, strummed) = comp_cell(rng, ctx.style, section.energy, ctx.beats_per_bar);
        let strummed = strummed || is_guitar(program);
        let velocity = 55.0 + 50.0 * section.energy;
        for bar in 0..section.bars {
            let bar_beat = ((section.start_bar + bar) * ctx.beats_per_bar) as f64;
            for (h, &(offset, length)) in cell.iter().enumerate() {
                if offset >= ctx.beats_per_bar as f64 {
                    continue;
                }
                let beat = bar_beat + offset;
                let span = ctx.chord_at(beat);
                let length = length.min(span.start_beat + span.beats - beat).max(0.1);
                let voicing = if power_chords {
                    let r = 40 + (span.chord.root as i32 + 12 - 4) % 12;
                    vec![r, r + 7, r + 12]
                } else {
                    voice_chord(&span.chord, previous.as_deref(), 52, 76, notes_per_chord)
                };
                // Upstrokes (on off-beats) sound high strings first.
                let up = strummed && offset.fract() != 0.0;
                let accent = if h == 0 { 1.0 } else { 0.85 };
                for (i, &note) in voicing.iter().enumerate() {
                    let order = if up { voicing.len() - 1 - i } else { i };
                    let delay = if strummed { order as f64 * strum_beats } else { 0.0 };
                    track.push(beat + delay, length - delay, note, velocity * accent);
                }
                if !power_chords {
                    previous = Some(voicing);
                }
            }
        }
    }
    track
}

fn pad_part(rng: &mut ChaCha8Rng, ctx: &Context) -> Track {
    let mut track = Track::default();
    let mut previous: Option<Vec<i32>> = None;
    for section in ctx.sections {
        let p = match section.kind {
            SectionKind::Chorus | SectionKind::Outro => 0.9,
            SectionKind::Bridge | SectionKind::Break => 0.7,
            SectionKind::Intro => 0.5,
            SectionKind::Verse | SectionKind::PreChorus => 0.35,
        };
        if !rng.random_bool(p) {
            continue;
        }
        let velocity = 45.0 + 35.0 * section.energy;
        for (_, span) in ctx.chords_in(section) {
            let voicing = voice_chord(&span.chord, previous.as_deref(), 55, 79, 4);
            for &note in &voicing {
                track.push(span.start_beat, span.beats, note, velocity);
            }
            previous = Some(voicing);
        }
    }
    track
}

fn arp_part(rng: &mut ChaCha8Rng, ctx: &Context) -> Track {
    let mut track = Track::default();
    let step = if ctx.clock.seconds_per_beat > 0.55 && rng.random_bool(0.5) { 0.25 } else { 0.5 };
    let up_down = rng.random_bool(0.5);
    for section in ctx.sections {
        let p = match section.kind {
            SectionKind::Verse | SectionKind::Intro => 0.7,
            SectionKind::Bridge | SectionKind::Break => 0.6,
            _ => 0.45,
        };
        if !rng.random_bool(p) {
            continue;
        }
        let velocity = 50.0 + 35.0 * section.energy;
        for (_, span) in ctx.chords_in(section) {
            let mut tones = span.chord.tones_in(60, 84);
            tones.truncate(6);
            if tones.is_empty() {
                continue;
            }
            let cycle: Vec<i32> = if up_down && tones.len() > 2 {
                tones.iter().chain(tones[1..tones.len() - 1].iter().rev()).copied().collect()
            } else {
                tones.clone()
            };
            let count = (span.beats / step).floor() as usize;
            for i in 0..count {
                let accent = if (i as f64 * step).fract() == 0.0 { 1.0 } else { 0.8 };
                track.push(span.start_beat + i as f64 * step, step * 1.1, cycle[i % cycle.len()], velocity * accent);
            }
        }
    }
    track
}

/// An instrumental melody line: full melodies where nobody sings, short answering licks in
/// the vocal's rests elsewhere (call and response).
fn lead_part(rng: &mut ChaCha8Rng, ctx: &Context, vocal_rests: &[(f64, f64)]) -> Track {
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
fn phrase_rhythm(rng: &mut ChaCha8Rng, phrase_beats: f64, seconds_per_beat: f64, long_notes: bool) -> Vec<(f64, f64)> {
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
fn melody_pitches(
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
struct MelodyBeat {
    beat: f64,
    beats: f64,
    midi: i32,
    phrase_start: bool,
    phrase_end: bool,
    energy: f32,
    position: f32,
}

/// The vocal melody of every sung section, plus the rests between its phrases (for the
/// lead's answering licks). Phrases within a section reuse two rhythms (AABA etc.), as real
/// songs repeat their motifs.
fn vocal_melody(rng: &mut ChaCha8Rng, ctx: &Context, voice: VoiceType) -> (Vec<MelodyBeat>, Vec<(f64, f64)>) {
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

fn random_syllable(rng: &mut ChaCha8Rng, phrase_end: bool) -> Syllable {
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
fn sung_notes(rng: &mut ChaCha8Rng, ctx: &Context, melody: &[MelodyBeat], duration_s: f64) -> Vec<SungNote> {
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

/// The SoundFont's "Choir Aahs" doubling the melody.
fn choir_part(melody: &[SungNote]) -> Part {
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
        program: 52,
        channel: 0,
        volume: 100,
        reverb_send: 60,
        notes: make_monophonic_keys(notes),
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
