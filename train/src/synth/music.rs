//! Music theory for the arrangement generator: keys, modes, diatonic chords, progressions and
//! chord voicings. Pitches are MIDI note numbers held as `i32` so interval arithmetic never
//! underflows; they are clamped to 0..=127 only when turned into events.

const NOTE_NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];

/// Name of a pitch class (0 = C).
pub fn pitch_class_name(pitch_class: u8) -> &'static str {
    NOTE_NAMES[(pitch_class % 12) as usize]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Major,
    Minor,
    Dorian,
    Mixolydian,
}

impl Mode {
    /// Semitone offsets of the seven scale degrees from the tonic.
    pub fn intervals(self) -> [i32; 7] {
        match self {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => [0, 2, 3, 5, 7, 8, 10],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::Dorian => "dorian",
            Mode::Mixolydian => "mixolydian",
        }
    }

    /// Whether the tonic triad is minor; decides which progression pool fits.
    pub fn is_minor(self) -> bool {
        matches!(self, Mode::Minor | Mode::Dorian)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// Pitch class of the tonic, 0 = C.
    pub tonic: u8,
    pub mode: Mode,
}

impl Key {
    pub fn name(&self) -> String {
        format!("{} {}", pitch_class_name(self.tonic), self.mode.name())
    }

    /// Semitones above the tonic of 0-based scale degree `degree`; degrees outside 0..7 wrap
    /// into neighbouring octaves.
    pub fn degree_offset(&self, degree: i32) -> i32 {
        self.mode.intervals()[degree.rem_euclid(7) as usize] + 12 * degree.div_euclid(7)
    }

    pub fn contains(&self, midi: i32) -> bool {
        let pc = (midi - self.tonic as i32).rem_euclid(12);
        self.mode.intervals().contains(&pc)
    }

    /// Nearest scale note to `midi` (ties resolve downwards).
    pub fn snap(&self, midi: i32) -> i32 {
        (0..7).flat_map(|d| [midi - d, midi + d]).find(|&m| self.contains(m)).unwrap_or(midi)
    }

    /// The scale note `steps` scale steps away from `midi`.
    pub fn step(&self, midi: i32, steps: i32) -> i32 {
        let mut m = self.snap(midi);
        let dir = steps.signum();
        for _ in 0..steps.abs() {
            m += dir;
            while !self.contains(m) {
                m += dir;
            }
        }
        m
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chord {
    /// Pitch class of the root.
    pub root: u8,
    /// Ascending semitone offsets of the chord tones from the root; the first is 0.
    pub intervals: Vec<i32>,
}

impl Chord {
    /// Triad (or seventh chord) built by stacking scale thirds on `degree`.
    pub fn diatonic(key: &Key, degree: i32, seventh: bool) -> Chord {
        let base = key.degree_offset(degree);
        let count = if seventh { 4 } else { 3 };
        let intervals = (0..count).map(|i| key.degree_offset(degree + 2 * i) - base).collect();
        Chord { root: ((key.tonic as i32 + base).rem_euclid(12)) as u8, intervals }
    }

    pub fn contains(&self, midi: i32) -> bool {
        let pc = (midi - self.root as i32).rem_euclid(12);
        self.intervals.iter().any(|&i| i.rem_euclid(12) == pc)
    }

    /// Interval of the chord's fifth (a diminished fifth on a diminished chord).
    pub fn fifth(&self) -> i32 {
        self.intervals.get(2).copied().unwrap_or(7)
    }

    /// Chord tone nearest to `midi` inside `[low, high]`; falls back to clamping.
    pub fn nearest_tone(&self, midi: i32, low: i32, high: i32) -> i32 {
        (0..12)
            .flat_map(|d| [midi - d, midi + d])
            .find(|&m| m >= low && m <= high && self.contains(m))
            .unwrap_or(midi.clamp(low, high))
    }

    /// The root placed in the bass register E1..D#2, so bass lines sit where real ones do.
    pub fn bass_root(&self) -> i32 {
        28 + (self.root as i32 + 12 - 4) % 12
    }

    /// All chord tones inside `[low, high]`, ascending.
    pub fn tones_in(&self, low: i32, high: i32) -> Vec<i32> {
        (low..=high).filter(|&m| self.contains(m)).collect()
    }
}

/// Progression templates as 0-based scale degrees. Separate pools for major-like and
/// minor-like modes so every chord is idiomatic for its key.
pub fn progression_pool(mode: Mode) -> &'static [&'static [i32]] {
    const MAJOR: &[&[i32]] = &[
        &[0, 4, 5, 3],
        &[5, 3, 0, 4],
        &[0, 5, 3, 4],
        &[0, 3, 4, 3],
        &[0, 3, 0, 4],
        &[3, 0, 4, 5],
        &[0, 2, 3, 4],
        &[0, 4, 5, 2, 3, 0, 3, 4],
        &[1, 4, 0, 5],
        &[0, 3, 5, 4],
    ];
    const MINOR: &[&[i32]] = &[
        &[0, 5, 2, 6],
        &[0, 3, 6, 2],
        &[0, 5, 6, 0],
        &[0, 6, 5, 6],
        &[0, 3, 4, 0],
        &[5, 6, 0, 0],
        &[0, 2, 6, 3],
        &[0, 3, 0, 6],
    ];
    const MIXOLYDIAN: &[&[i32]] = &[&[0, 6, 3, 0], &[0, 3, 6, 3], &[0, 4, 6, 3]];
    const DORIAN: &[&[i32]] = &[&[0, 3, 0, 3], &[0, 6, 3, 0], &[0, 2, 3, 6]];
    match mode {
        Mode::Major => MAJOR,
        Mode::Minor => MINOR,
        Mode::Mixolydian => MIXOLYDIAN,
        Mode::Dorian => DORIAN,
    }
}

/// Short progressions that build tension before a chorus.
pub fn pre_chorus_pool(mode: Mode) -> &'static [&'static [i32]] {
    const MAJOR: &[&[i32]] = &[&[3, 4], &[5, 4], &[3, 5, 3, 4], &[1, 4]];
    const MINOR: &[&[i32]] = &[&[5, 6], &[3, 6], &[3, 4], &[5, 3, 6, 6]];
    if mode.is_minor() { MINOR } else { MAJOR }
}

/// Voices `chord` with `count` notes stacked upwards inside `[low, high]`, choosing the
/// inversion closest to `previous` (smooth voice leading, as a keyboard player would) or,
/// without a previous voicing, the one centred nearest the middle of the range.
pub fn voice_chord(chord: &Chord, previous: Option<&[i32]>, low: i32, high: i32, count: usize) -> Vec<i32> {
    let tones = chord.tones_in(low, high);
    let count = count.max(1);
    let mut best: Option<(f32, Vec<i32>)> = None;
    for start in 0..tones.len() {
        if start + count > tones.len() {
            break;
        }
        let candidate: Vec<i32> = tones[start..start + count].to_vec();
        let score = match previous {
            Some(prev) if !prev.is_empty() => {
                candidate.iter().enumerate().map(|(i, &n)| (n - prev[i.min(prev.len() - 1)]).abs() as f32).sum::<f32>()
            }
            _ => {
                let mean = candidate.iter().sum::<i32>() as f32 / count as f32;
                (mean - (low + high) as f32 / 2.0).abs()
            }
        };
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, v)| v).unwrap_or_else(|| tones.into_iter().take(count).collect())
}
