//! Fixtures shared by the training tests.

use std::path::Path;
use svs_train::data::cache::write_song;
use svs_train::data::{AudioRef, DatasetKind, Song, SongSources, Split};

/// A tiny labeled cache: "vocals" are vibrato tones in bursts, "accompaniment" filtered noise
/// with a beat, so the two are distinguishable.
pub fn make_cache(dir: &Path, songs: usize, split: Split) {
    for s in 0..songs {
        let n = 16000 * 4;
        let f0 = 200.0 + 40.0 * s as f32;
        let vocals: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / 16000.0;
                let on = ((t * 2.0) as usize + s) % 3 != 0;
                let phase = 2.0 * std::f32::consts::PI * (f0 * t + 3.0 * (5.0 * t).sin());
                if on { 0.3 * (phase.sin() + 0.5 * (2.0 * phase).sin()) } else { 0.0 }
            })
            .collect();
        let mut state = 12345u32 + s as u32;
        let accompaniment: Vec<f32> = (0..n)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let beat = if (i / 4000) % 2 == 0 { 1.0 } else { 0.3 };
                0.2 * noise * beat
            })
            .collect();
        let song = Song {
            name: format!("song{s}"),
            split,
            sources: SongSources::Stems {
                vocals: vec![AudioRef::file("v.wav")],
                accompaniment: vec![AudioRef::file("a.wav")],
            },
        };
        write_song(dir, DatasetKind::Paired, &song, &[vocals, accompaniment]).unwrap();
    }
}
