//! The preprocessing cache written by `svs prepare` (paper Sec. 3.2): every song resampled to
//! 16 kHz mono and cut into non-overlapping 30-second segments, the last one zero-padded.
//!
//! Layout of a cache directory:
//! - `songs/<song>.s16`: the segments, 16-bit little-endian PCM, segment-major and, within a
//!   segment, signal-major (`[seg0 vocals][seg0 accompaniment][seg1 vocals]...`), scaled by
//!   the song's `scale` so loud sums of stems do not clip.
//! - `songs/<song>.json`: the song's manifest entry, written last: its presence marks the song
//!   as done, so an interrupted `svs prepare` redoes only unfinished songs, and a half-written
//!   `.s16` (under a `.partial` name until complete) is never taken as done.
//! - `manifest.json`: every song, written at the end of each run.

use super::loaders::DatasetKind;
use super::song::{Song, Split};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SEGMENT_SECONDS: usize = 30;
pub const SEGMENT_SAMPLES: usize = SEGMENT_SECONDS * svs_core::MODEL_SAMPLE_RATE as usize;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedSong {
    pub name: String,
    pub dataset: DatasetKind,
    pub split: Split,
    /// Signal names in storage order (e.g. vocals, accompaniment).
    pub signals: Vec<String>,
    pub n_segments: usize,
    /// Length before padding.
    pub seconds: f64,
    /// Samples are stored as `round(x / scale * 32767)`.
    pub scale: f32,
    /// File name of the segments, relative to `songs/`.
    pub file: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub songs: Vec<CachedSong>,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: corrupt cache entry: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CacheError + '_ {
    move |error| CacheError::Io { path: path.to_owned(), error }
}

/// A file-system-safe name for a song.
pub fn safe_name(name: &str) -> String {
    name.chars().map(|c| if c.is_alphanumeric() || "-_. ".contains(c) { c } else { '_' }).collect()
}

/// Cuts signals into zero-padded 30 s segments.
pub fn segment(signal: &[f32]) -> Vec<Vec<f32>> {
    let n = signal.len().div_ceil(SEGMENT_SAMPLES).max(1);
    (0..n)
        .map(|i| {
            let mut s =
                signal[(i * SEGMENT_SAMPLES).min(signal.len())..((i + 1) * SEGMENT_SAMPLES).min(signal.len())].to_vec();
            s.resize(SEGMENT_SAMPLES, 0.0);
            s
        })
        .collect()
}

/// Writes one song's signals into the cache (atomically: data first, then the manifest entry).
pub fn write_song(
    dir: &Path,
    dataset: DatasetKind,
    song: &Song,
    signals: &[Vec<f32>],
) -> Result<CachedSong, CacheError> {
    let songs_dir = dir.join("songs");
    std::fs::create_dir_all(&songs_dir).map_err(io(&songs_dir))?;
    let base = cache_key(song);
    let len = signals.first().map_or(0, Vec::len);
    let peak = signals.iter().flatten().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = peak.max(1.0);
    let segmented: Vec<Vec<Vec<f32>>> = signals.iter().map(|s| segment(s)).collect();
    let n_segments = segmented[0].len();
    let mut bytes = Vec::with_capacity(n_segments * signals.len() * SEGMENT_SAMPLES * 2);
    for seg in 0..n_segments {
        for signal in &segmented {
            for x in &signal[seg] {
                bytes.extend_from_slice(&((x / scale * 32767.0).round() as i16).to_le_bytes());
            }
        }
    }
    let data_path = songs_dir.join(format!("{base}.s16"));
    write_atomically(&data_path, &bytes)?;
    let entry = CachedSong {
        name: song.name.clone(),
        dataset,
        split: song.split,
        signals: song.sources.signal_names().iter().map(|s| s.to_string()).collect(),
        n_segments,
        seconds: len as f64 / svs_core::MODEL_SAMPLE_RATE as f64,
        scale,
        file: format!("{base}.s16"),
    };
    let json_path = songs_dir.join(format!("{base}.json"));
    write_atomically(&json_path, serde_json::to_string_pretty(&entry).expect("serialisable").as_bytes())?;
    Ok(entry)
}

/// A song's file name in the cache: its split and name (MUSDB has the same names in
/// several datasets' splits, and a synthetic corpus may reuse names across splits).
fn cache_key(song: &Song) -> String {
    let split = serde_json::to_value(song.split).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    safe_name(&format!("{split}-{}", song.name))
}

/// Whether a song is already complete in the cache.
pub fn is_done(dir: &Path, song: &Song) -> bool {
    dir.join("songs").join(format!("{}.json", cache_key(song))).is_file()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    svs_core::model_file::write_atomically(path, bytes).map_err(io(path))
}

/// Reads every complete song entry of a cache directory, sorted by name.
pub fn read_entries(dir: &Path) -> Result<Vec<CachedSong>, CacheError> {
    let songs_dir = dir.join("songs");
    let mut entries = Vec::new();
    for item in std::fs::read_dir(&songs_dir).map_err(io(&songs_dir))? {
        let path = item.map_err(io(&songs_dir))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let entry: CachedSong = serde_json::from_str(&text)
                .map_err(|e| CacheError::Corrupt { path: path.clone(), reason: e.to_string() })?;
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Writes `manifest.json` from the complete entries.
pub fn write_manifest(dir: &Path) -> Result<Manifest, CacheError> {
    let manifest = Manifest { songs: read_entries(dir)? };
    write_atomically(
        &dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("serialisable").as_bytes(),
    )?;
    Ok(manifest)
}

/// Segments loaded into memory as f32, with the song each belongs to.
#[derive(Clone, Debug, Default)]
pub struct SegmentCache {
    pub songs: Vec<CachedSong>,
    /// `segments[i][signal]`, `SEGMENT_SAMPLES` long.
    pub segments: Vec<Vec<Vec<f32>>>,
    /// Index into `songs` of each segment.
    pub song_of: Vec<usize>,
}

impl SegmentCache {
    /// Loads the segments of the songs in `splits` (all splits if empty).
    pub fn open(dir: &Path, splits: &[Split]) -> Result<Self, CacheError> {
        let mut cache = SegmentCache::default();
        for entry in read_entries(dir)? {
            if !splits.is_empty() && !splits.contains(&entry.split) {
                continue;
            }
            let path = dir.join("songs").join(&entry.file);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let n_signals = entry.signals.len();
            let expected = entry.n_segments * n_signals * SEGMENT_SAMPLES * 2;
            if bytes.len() != expected {
                return Err(CacheError::Corrupt {
                    path,
                    reason: format!("{} bytes, expected {expected}", bytes.len()),
                });
            }
            let song_index = cache.songs.len();
            let scale = entry.scale / 32767.0;
            for seg in bytes.chunks_exact(n_signals * SEGMENT_SAMPLES * 2) {
                let signals = seg
                    .chunks_exact(SEGMENT_SAMPLES * 2)
                    .map(|s| s.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 * scale).collect())
                    .collect();
                cache.segments.push(signals);
                cache.song_of.push(song_index);
            }
            cache.songs.push(entry);
        }
        Ok(cache)
    }

    pub fn hours(&self) -> f64 {
        self.songs.iter().map(|s| s.seconds).sum::<f64>() / 3600.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::song::{AudioRef, SongSources};

    #[test]
    fn segments_are_30s_and_zero_padded() {
        let x = vec![0.5f32; SEGMENT_SAMPLES + 10];
        let s = segment(&x);
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|v| v.len() == SEGMENT_SAMPLES));
        assert_eq!(s[1][9], 0.5);
        assert_eq!(s[1][10], 0.0);
    }

    #[test]
    fn write_then_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let song = Song {
            name: "a/b: song".into(),
            split: Split::Train,
            sources: SongSources::Stems {
                vocals: vec![AudioRef::file("v.wav")],
                accompaniment: vec![AudioRef::file("a.wav")],
            },
        };
        let v: Vec<f32> = (0..40000).map(|i| (i as f32 * 0.01).sin() * 1.5).collect();
        let a: Vec<f32> = (0..40000).map(|i| (i as f32 * 0.02).cos() * 0.2).collect();
        assert!(!is_done(dir.path(), &song));
        let entry = write_song(dir.path(), DatasetKind::Paired, &song, &[v.clone(), a.clone()]).unwrap();
        assert!(is_done(dir.path(), &song));
        assert_eq!(entry.scale, 1.5f32.max(v.iter().fold(0.0, |m: f32, x| m.max(x.abs()))));
        let cache = SegmentCache::open(dir.path(), &[Split::Train]).unwrap();
        assert_eq!(cache.segments.len(), 1);
        let err = v.iter().zip(&cache.segments[0][0]).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(err < 1e-4, "{err}");
        assert!(SegmentCache::open(dir.path(), &[Split::Test]).unwrap().segments.is_empty());
        // A truncated data file is reported, not silently used.
        let data = dir.path().join("songs").join(&entry.file);
        let bytes = std::fs::read(&data).unwrap();
        std::fs::write(&data, &bytes[..100]).unwrap();
        assert!(matches!(SegmentCache::open(dir.path(), &[]), Err(CacheError::Corrupt { .. })));
    }
}
