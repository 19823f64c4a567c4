//! The harmony parts: comping (guitar/keys), pads and arpeggios.

use super::*;

/// Rhythm cells for chord comping, (offset, length) in beats within a bar.
pub(super) fn comp_cell(
    rng: &mut ChaCha8Rng,
    style: Style,
    energy: f32,
    beats_per_bar: u32,
) -> (Vec<(f64, f64)>, bool) {
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

pub(super) fn is_guitar(program: u8) -> bool {
    (24..=31).contains(&program) || program == 105
}

pub(super) fn comp_part(rng: &mut ChaCha8Rng, ctx: &Context, program: u8) -> Track {
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

pub(super) fn pad_part(rng: &mut ChaCha8Rng, ctx: &Context) -> Track {
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

pub(super) fn arp_part(rng: &mut ChaCha8Rng, ctx: &Context) -> Track {
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
