//! The drum part: grooves per style and section, and fills.

use super::*;

/// GM percussion keys used by the drum patterns.
pub(super) mod drum {
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

/// The song's basic drum groove on a 16th-note grid.
pub(super) struct Groove {
    pub(super) kick: Vec<usize>,
    pub(super) snare: Vec<usize>,
    pub(super) snare_key: i32,
    pub(super) hats: Vec<usize>,
    pub(super) chorus_hat: i32,
    pub(super) ghost_probability: f64,
    pub(super) open_hats: Vec<usize>,
    pub(super) percussion: Option<i32>,
}

impl Groove {
    pub(super) fn for_style(rng: &mut ChaCha8Rng, style: Style, beats_per_bar: u32) -> Groove {
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
pub(super) enum DrumMode {
    Off,
    /// Time-keeping only: hats and a kick on the downbeat.
    Minimal,
    Full,
    HalfTime,
}

pub(super) fn drum_mode(rng: &mut ChaCha8Rng, kind: SectionKind) -> DrumMode {
    use DrumMode::*;
    match kind {
        SectionKind::Intro => weighted(rng, &[(Off, 0.35), (Minimal, 0.35), (Full, 0.3)]),
        SectionKind::Verse | SectionKind::PreChorus | SectionKind::Chorus => Full,
        SectionKind::Bridge => weighted(rng, &[(HalfTime, 0.4), (Full, 0.6)]),
        SectionKind::Break => weighted(rng, &[(Full, 0.7), (Off, 0.3)]),
        SectionKind::Outro => weighted(rng, &[(Full, 0.5), (Minimal, 0.5)]),
    }
}

pub(super) fn drum_part(rng: &mut ChaCha8Rng, ctx: &Context, groove: &Groove) -> Track {
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
pub(super) fn drum_fill(rng: &mut ChaCha8Rng, track: &mut Track, bar_beat: f64, from: usize, steps: usize, base: f32) {
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
