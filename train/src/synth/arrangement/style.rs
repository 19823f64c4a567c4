//! Musical styles: their tempo ranges, instrument palettes and feel.

use super::*;

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
pub(super) struct Palette {
    pub(super) bass: &'static [u8],
    pub(super) comp: &'static [u8],
    pub(super) pad: &'static [u8],
    pub(super) arp: &'static [u8],
    pub(super) lead: &'static [u8],
    pub(super) drum_kits: &'static [u8],
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

    pub(super) fn tempo_range(self) -> (f32, f32) {
        match self {
            Style::Pop => (88.0, 128.0),
            Style::Rock => (100.0, 150.0),
            Style::Ballad => (66.0, 86.0),
            Style::Dance => (118.0, 132.0),
            Style::Funk => (90.0, 116.0),
            Style::Folk => (80.0, 124.0),
        }
    }

    pub(super) fn palette(self) -> Palette {
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
    pub(super) fn swing(self) -> (f64, f64) {
        match self {
            Style::Funk => (0.4, 0.25),
            Style::Folk => (0.3, 0.5),
            Style::Ballad | Style::Pop => (0.12, 0.5),
            _ => (0.0, 0.5),
        }
    }

    pub(super) fn triple_meter_probability(self) -> f64 {
        match self {
            Style::Ballad => 0.25,
            Style::Folk => 0.3,
            Style::Pop => 0.05,
            _ => 0.0,
        }
    }

    pub(super) fn seventh_probability(self) -> f64 {
        match self {
            Style::Funk => 0.5,
            Style::Pop | Style::Ballad => 0.25,
            Style::Dance => 0.2,
            _ => 0.0,
        }
    }
}

/// General MIDI programs (0-based) that sound like a voice: Choir Aahs, Voice Oohs, Synth Voice,
/// Lead 6 (voice), Pad 4 (choir). The sound effects from 120 on (fret noise, breath, seashore,
/// birds, telephone, helicopter, applause, gunshot) are left out too: they are not music.
const VOICE_LIKE: [u8; 5] = [CHOIR_AAHS, VOICE_OOHS, 54, 85, 91];

/// Whether `program` may play accompaniment drawn from all of General MIDI
/// ([`any_melodic_accompaniment`]: the wide palette, instrument lines, instrumentals' melodies).
pub fn is_melodic_accompaniment(program: u8) -> bool {
    program < 120 && !VOICE_LIKE.contains(&program)
}

/// One of General MIDI's melodic programs that may play accompaniment ([`is_melodic_accompaniment`]),
/// drawn evenly.
pub(super) fn any_melodic_accompaniment<R: Rng + ?Sized>(rng: &mut R) -> u8 {
    let programs: Vec<u8> = (0..=127).filter(|&p| is_melodic_accompaniment(p)).collect();
    pick(rng, &programs)
}

/// Gives each of `parts` (drums and bass excluded by the caller), with `probability`, a program
/// drawn from all of General MIDI's melodic instruments instead of its style's palette: xylophones,
/// marimbas, bells, ethnic instruments, most winds and brass, synth pads and effects, which the
/// styles' palettes leave out and real accompaniments have. Voice-like programs stay out.
pub fn wide_palette<R: Rng + ?Sized>(parts: &mut [Part], probability: f64, rng: &mut R) {
    for part in parts {
        if rng.random_bool(probability.clamp(0.0, 1.0)) {
            part.program = any_melodic_accompaniment(rng);
        }
    }
}

pub(super) fn choose_tempo(rng: &mut ChaCha8Rng, style: Style, limits: (f32, f32)) -> f32 {
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
