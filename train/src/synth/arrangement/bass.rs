//! The bass part: patterns per style and section, following the chords.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BassPattern {
    Sustain,
    Quarters,
    Eighths,
    RootFifth,
    Octaves,
    Offbeat,
    FollowKick,
    Syncopated,
}

pub(super) fn bass_pattern(rng: &mut ChaCha8Rng, style: Style, kind: SectionKind) -> BassPattern {
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

pub(super) fn bass_part(rng: &mut ChaCha8Rng, ctx: &Context, groove: &Groove) -> Track {
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
