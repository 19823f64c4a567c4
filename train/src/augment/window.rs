//! Choosing what an example is cut from: which segment(s) (random mixing) and where in them
//! (the random window).

use crate::random::chance;
use rand::Rng;

/// Start of a `window`-sample window drawn uniformly within a `len`-sample signal; 0 when the
/// signal is not longer than the window (it is then zero-padded by [`crop`]).
pub fn draw_window_start(len: usize, window: usize, rng: &mut impl Rng) -> usize {
    if len <= window { 0 } else { rng.random_range(0..=len - window) }
}

/// `len` samples of `signal` from `start`, zero-padded past its end. Non-finite samples (a
/// corrupt file) become 0 so they cannot turn a whole example into NaN.
pub fn crop(signal: &[f32], start: usize, len: usize) -> Vec<f32> {
    let available = signal.get(start..).unwrap_or(&[]);
    let mut out: Vec<f32> = available.iter().take(len).map(|&x| if x.is_finite() { x } else { 0.0 }).collect();
    out.resize(len, 0.0);
    out
}

/// Which segment supplies each source of an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixPair {
    pub vocals: usize,
    pub accompaniment: usize,
}

impl MixPair {
    /// Whether the two sources come from different segments (a random mix).
    pub fn is_mixed(&self) -> bool {
        self.vocals != self.accompaniment
    }
}

/// Random-mixing pairing over `count` segments whose songs are given by `song_of`.
///
/// The vocals segment is drawn uniformly. With probability `probability` the accompaniment
/// comes from a uniformly drawn segment of a *different song*: pairing two segments of one song
/// could put a song's vocals over its own (merely shifted) accompaniment, which is not the
/// independent-sources mixture random mixing is meant to create. If the corpus holds a single
/// song, another segment of it is the best available (or the same one, if there is only one).
/// Otherwise both sources come from the vocals' segment (an ordinary, aligned example).
///
/// `count` must be positive (a pair of 0s is returned otherwise).
pub fn random_mix(count: usize, song_of: impl Fn(usize) -> usize, probability: f64, rng: &mut impl Rng) -> MixPair {
    if count == 0 {
        return MixPair { vocals: 0, accompaniment: 0 };
    }
    let vocals = rng.random_range(0..count);
    let mixed = chance(rng, probability);
    if !mixed || count == 1 {
        return MixPair { vocals, accompaniment: vocals };
    }
    let song = song_of(vocals);
    let accompaniment = draw_other_song(count, &song_of, song, rng)
        // Single-song corpus: any other segment (uniform over the count - 1 others).
        .unwrap_or_else(|| (vocals + 1 + rng.random_range(0..count - 1)) % count);
    MixPair { vocals, accompaniment }
}

/// A uniform draw among the segments whose song differs from `song`, or `None` if there are
/// none. Rejection sampling first (cheap when, as usual, most segments are of other songs), then
/// an exact count-and-index pass, so the draw stays uniform and always terminates.
fn draw_other_song(count: usize, song_of: &impl Fn(usize) -> usize, song: usize, rng: &mut impl Rng) -> Option<usize> {
    const TRIES: usize = 32;
    for _ in 0..TRIES {
        let candidate = rng.random_range(0..count);
        if song_of(candidate) != song {
            return Some(candidate);
        }
    }
    let others = (0..count).filter(|&i| song_of(i) != song).count();
    if others == 0 {
        return None;
    }
    let pick = rng.random_range(0..others);
    (0..count).filter(|&i| song_of(i) != song).nth(pick)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn windows_stay_inside_and_short_signals_are_padded() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let s = draw_window_start(100, 30, &mut rng);
            assert!(s <= 70);
        }
        assert_eq!(draw_window_start(20, 30, &mut rng), 0);
        assert_eq!(crop(&[1.0, 2.0, 3.0], 1, 4), vec![2.0, 3.0, 0.0, 0.0]);
        assert_eq!(crop(&[1.0], 5, 2), vec![0.0, 0.0]);
        assert_eq!(crop(&[f32::NAN, f32::INFINITY, 0.5], 0, 3), vec![0.0, 0.0, 0.5]);
    }

    #[test]
    fn window_start_covers_the_whole_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let starts: Vec<usize> = (0..2000).map(|_| draw_window_start(10, 5, &mut rng)).collect();
        for s in 0..=5 {
            assert!(starts.contains(&s), "start {s} never drawn");
        }
    }

    #[test]
    fn mixing_with_one_song_uses_another_segment_of_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let pair = random_mix(4, |_| 7, 1.0, &mut rng);
            assert!(pair.is_mixed() && pair.vocals < 4 && pair.accompaniment < 4);
        }
        assert_eq!(random_mix(1, |_| 0, 1.0, &mut rng), MixPair { vocals: 0, accompaniment: 0 });
        assert_eq!(random_mix(0, |_| 0, 1.0, &mut rng), MixPair { vocals: 0, accompaniment: 0 });
    }

    #[test]
    fn rare_other_songs_are_still_found_exactly() {
        // 999 segments of song 0 and one of song 1: rejection sampling usually fails for vocals
        // from song 0, and the exact pass must then find segment 999.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let song_of = |i: usize| usize::from(i == 999);
        for _ in 0..200 {
            let pair = random_mix(1000, song_of, 1.0, &mut rng);
            assert_ne!(song_of(pair.vocals), song_of(pair.accompaniment));
        }
    }

    #[test]
    fn mixing_probability_is_respected() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mixed = (0..4000).filter(|_| random_mix(50, |i| i / 5, 0.25, &mut rng).is_mixed()).count();
        let rate = mixed as f64 / 4000.0;
        assert!((rate - 0.25).abs() < 0.03, "{rate}");
    }
}
