//! Recorded instrumental music as an extra accompaniment layer: an excerpt of a real recording
//! (for instance Debian's `wesnoth-1.16-music` orchestral tracks) mixed into a song's `other`
//! stem, so a separator hears real recorded instruments, rooms and productions in the
//! accompaniment and not only a General MIDI SoundFont's samples.
//!
//! The excerpt is not in the song's key or tempo: it is a layer of real sound, not part of the
//! arrangement. Every file in the library must be instrumental (no voice), since the layer is
//! counted as accompaniment.

use super::recorded::ClipLibrary;
use rand::Rng;

/// Fade at an excerpt's cut ends (s), so no cut clicks.
const FADE_S: f64 = 0.05;

/// A layer of `n` samples: a random excerpt of a random clip of `clips` (unit RMS over the
/// clip), starting at a random point of the clip. A clip shorter than the song is placed at a
/// random point of the song, silence around it. Returns the layer and the clip's name.
pub fn music_layer(clips: &ClipLibrary, n: usize, rng: &mut impl Rng) -> (Vec<f32>, String) {
    let (name, samples) = clips.clip(rng.random_range(0..clips.len()));
    let mut layer = vec![0.0f32; n];
    let (from, to, len) = if samples.len() > n {
        (rng.random_range(0..=samples.len() - n), 0, n)
    } else {
        (0, rng.random_range(0..=n - samples.len()), samples.len())
    };
    let fade = ((FADE_S * clips.sample_rate() as f64) as usize).clamp(1, len.max(2) / 2);
    for (i, (dst, v)) in layer[to..to + len].iter_mut().zip(&samples[from..from + len]).enumerate() {
        let edge = i.min(len - 1 - i);
        *dst = v * (edge as f32 / fade as f32).min(1.0);
    }
    (layer, name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn library(lengths: &[usize]) -> ClipLibrary {
        let clips = lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| (format!("clip{i}"), (0..len).map(|t| ((t as f32) * 0.05).sin() + 0.1).collect()))
            .collect();
        ClipLibrary::from_samples(16_000, clips).unwrap()
    }

    #[test]
    fn a_long_clip_gives_an_excerpt_of_itself_faded_at_its_cut_ends() {
        let clips = library(&[48_000]);
        let (layer, name) = music_layer(&clips, 16_000, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!((layer.len(), name.as_str()), (16_000, "clip0"));
        let (_, samples) = clips.clip(0);
        // Find where the excerpt starts: the middle of the layer matches the clip exactly there.
        let from = (0..=samples.len() - 16_000)
            .find(|&f| (4000..4100).all(|i| layer[i] == samples[f + i]))
            .expect("the layer's middle is a piece of the clip");
        assert!(layer[0] == 0.0 && layer[15_999] == 0.0, "ends faded to silence");
        assert!((800..15_200).all(|i| layer[i] == samples[from + i]), "untouched between the fades");
    }

    #[test]
    fn a_short_clip_lies_inside_the_song_with_silence_around_it() {
        let clips = library(&[4000]);
        let (layer, _) = music_layer(&clips, 16_000, &mut ChaCha8Rng::seed_from_u64(5));
        let sounding: Vec<usize> = (0..layer.len()).filter(|&i| layer[i] != 0.0).collect();
        let (first, last) = (sounding[0], *sounding.last().unwrap());
        assert!(last - first < 4000 && last - first > 3900, "the whole clip, once: {first}..{last}");
    }
}
