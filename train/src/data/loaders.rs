//! Listing the songs of each dataset layout. Each loader reads only the files named in
//! docs/DATASETS.md; problems with single songs are collected (and reported by the caller)
//! instead of stopping a long job.

use super::song::{AudioRef, DataError, Song, SongSources, Split};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use svs_core::audio::SUPPORTED_EXTENSIONS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// MUSDB18-HQ: train/ and test/ folders of tracks with mixture, vocals, drums, bass, other WAVs.
    Musdb18hq,
    /// MUSDB18: train/ and test/ folders of `.stem.mp4` multitrack files.
    Musdb18,
    /// MIR-1K: Wavfile/*.wav, accompaniment left, voice right.
    Mir1k,
    /// ccMixter (KAM release): song folders with mix.wav, source-01.wav (accompaniment), source-02.wav (voice).
    Ccmixter,
    /// DAMP-VSEP: per-performance vocal and background recordings listed in a metadata CSV.
    DampVsep,
    /// Song folders with a `vocals.*` and an `accompaniment.*` file (any, possibly noisy, pairs).
    Paired,
    /// A folder of mixed songs (self-training on mixtures only).
    Mixtures,
}

/// The 14 MUSDB18 training tracks the musdb package uses as its validation split.
pub const MUSDB_VALIDATION_TRACKS: [&str; 14] = [
    "Actions - One Minute Smile",
    "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies",
    "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",
    "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",
    "Young Griffo - Pennies",
    "ANiMAL - Rockshow",
    "James May - On The Line",
    "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
];

/// Songs found, and the songs that could not be listed (reported by name, skipped).
#[derive(Debug, Default)]
pub struct Listing {
    pub songs: Vec<Song>,
    pub problems: Vec<DataError>,
}

/// Lists a dataset's songs.
pub fn list_songs(kind: DatasetKind, root: &Path) -> Result<Listing, DataError> {
    if !root.is_dir() {
        return Err(DataError::Layout { path: root.to_owned(), reason: "is not a directory".into() });
    }
    let mut listing = match kind {
        DatasetKind::Musdb18hq => musdb18hq(root)?,
        DatasetKind::Musdb18 => musdb18(root)?,
        DatasetKind::Mir1k => mir1k(root)?,
        DatasetKind::Ccmixter => ccmixter(root)?,
        DatasetKind::DampVsep => damp_vsep(root)?,
        DatasetKind::Paired => paired(root)?,
        DatasetKind::Mixtures => mixtures(root)?,
    };
    listing.songs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |error| DataError::Io { path: path.to_owned(), error }
}

/// Sorted entries of a directory.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        out.push(entry.map_err(io_err(dir))?.path());
    }
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn is_audio(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SUPPORTED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The audio file in `dir` whose name without extension is `stem`.
fn find_audio(dir: &Path, stem: &str) -> Option<PathBuf> {
    SUPPORTED_EXTENSIONS.iter().map(|ext| dir.join(format!("{stem}.{ext}"))).find(|p| p.is_file())
}

fn musdb_split(folder: &str, track: &str) -> Split {
    match folder {
        "test" => Split::Test,
        _ if MUSDB_VALIDATION_TRACKS.contains(&track) => Split::Valid,
        _ => Split::Train,
    }
}

fn musdb_folders(root: &Path) -> Result<Vec<(&'static str, PathBuf)>, DataError> {
    let folders: Vec<_> =
        ["train", "test"].into_iter().map(|f| (f, root.join(f))).filter(|(_, p)| p.is_dir()).collect();
    if folders.is_empty() {
        return Err(DataError::Layout {
            path: root.to_owned(),
            reason: "has neither a train/ nor a test/ folder".into(),
        });
    }
    Ok(folders)
}

fn musdb18hq(root: &Path) -> Result<Listing, DataError> {
    let mut listing = Listing::default();
    for (folder, dir) in musdb_folders(root)? {
        for track_dir in entries(&dir)?.into_iter().filter(|p| p.is_dir()) {
            let name = file_name(&track_dir);
            let stems: Result<Vec<PathBuf>, DataError> = ["vocals", "drums", "bass", "other"]
                .iter()
                .map(|s| {
                    find_audio(&track_dir, s).ok_or_else(|| DataError::Layout {
                        path: track_dir.join(format!("{s}.wav")),
                        reason: "missing stem".into(),
                    })
                })
                .collect();
            match stems {
                Ok(stems) => listing.songs.push(Song {
                    split: musdb_split(folder, &name),
                    name,
                    sources: SongSources::Stems {
                        vocals: vec![AudioRef::file(&stems[0])],
                        accompaniment: stems[1..].iter().map(AudioRef::file).collect(),
                    },
                }),
                Err(e) => listing.problems.push(e),
            }
        }
    }
    Ok(listing)
}

/// MUSDB18 `.stem.mp4`: stream 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals. Whether
/// symphonia can decode every stream is only known when decoding; if it cannot, the error says
/// how to convert to the HQ layout (sigsep's `musdbconvert`) rather than silently reading the
/// first stream.
fn musdb18(root: &Path) -> Result<Listing, DataError> {
    let mut listing = Listing::default();
    for (folder, dir) in musdb_folders(root)? {
        for file in entries(&dir)? {
            let name = file_name(&file);
            let Some(track) = name.strip_suffix(".stem.mp4") else { continue };
            let stream = |index| AudioRef { path: file.clone(), track: index, channel: None };
            listing.songs.push(Song {
                split: musdb_split(folder, track),
                name: track.to_owned(),
                sources: SongSources::Stems {
                    vocals: vec![stream(4)],
                    accompaniment: vec![stream(1), stream(2), stream(3)],
                },
            });
        }
    }
    Ok(listing)
}

fn mir1k(root: &Path) -> Result<Listing, DataError> {
    let dir = root.join("Wavfile");
    if !dir.is_dir() {
        return Err(DataError::Layout { path: dir, reason: "MIR-1K's Wavfile/ folder is missing".into() });
    }
    let mut listing = Listing::default();
    for file in entries(&dir)?.into_iter().filter(|p| is_audio(p)) {
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let channel = |c| AudioRef { path: file.clone(), track: 0, channel: Some(c) };
        listing.songs.push(Song {
            name,
            split: Split::Train,
            sources: SongSources::Stems { vocals: vec![channel(1)], accompaniment: vec![channel(0)] },
        });
    }
    Ok(listing)
}

fn ccmixter(root: &Path) -> Result<Listing, DataError> {
    let mut listing = Listing::default();
    for dir in entries(root)?.into_iter().filter(|p| p.is_dir()) {
        let (acc, voice) = (dir.join("source-01.wav"), dir.join("source-02.wav"));
        if acc.is_file() && voice.is_file() {
            listing.songs.push(Song {
                name: file_name(&dir),
                split: Split::Train,
                sources: SongSources::Stems {
                    vocals: vec![AudioRef::file(voice)],
                    accompaniment: vec![AudioRef::file(acc)],
                },
            });
        } else {
            listing
                .problems
                .push(DataError::Layout { path: dir, reason: "needs source-01.wav and source-02.wav".into() });
        }
    }
    Ok(listing)
}

/// DAMP-VSEP: rows of the metadata CSV(s) in the root with `perf_key`, `vocal_path` and
/// `background_path` (relative to the root). Without a CSV, folders holding a `vocal.*` and a
/// `background.*` file are taken as performances.
fn damp_vsep(root: &Path) -> Result<Listing, DataError> {
    let csvs: Vec<PathBuf> = entries(root)?.into_iter().filter(|p| p.extension().is_some_and(|e| e == "csv")).collect();
    let mut listing = Listing::default();
    if csvs.is_empty() {
        scan_damp_folders(root, &mut listing)?;
        return Ok(listing);
    }
    for csv_path in csvs {
        let mut reader = csv::Reader::from_path(&csv_path)
            .map_err(|e| DataError::Layout { path: csv_path.clone(), reason: e.to_string() })?;
        let headers =
            reader.headers().map_err(|e| DataError::Layout { path: csv_path.clone(), reason: e.to_string() })?.clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| DataError::Layout { path: csv_path.clone(), reason: format!("has no '{name}' column") })
        };
        let (key, vocal, background) = (column("perf_key")?, column("vocal_path")?, column("background_path")?);
        for (line, record) in reader.records().enumerate() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    listing
                        .problems
                        .push(DataError::Layout { path: csv_path.clone(), reason: format!("row {}: {e}", line + 2) });
                    continue;
                }
            };
            let (vocal_path, background_path) = (root.join(&record[vocal]), root.join(&record[background]));
            if !vocal_path.is_file() || !background_path.is_file() {
                let missing = if vocal_path.is_file() { background_path } else { vocal_path };
                listing
                    .problems
                    .push(DataError::Layout { path: missing, reason: "listed in the CSV but missing".into() });
                continue;
            }
            listing.songs.push(Song {
                name: record[key].to_owned(),
                split: Split::Train,
                sources: SongSources::Karaoke {
                    vocal_track: AudioRef::file(vocal_path),
                    background_track: AudioRef::file(background_path),
                },
            });
        }
    }
    Ok(listing)
}

/// Folders holding a `vocal.*` and a `background.*` file, at any depth (not below a match).
fn scan_damp_folders(root: &Path, listing: &mut Listing) -> Result<(), DataError> {
    let mut walk = walk(root).into_iter();
    while let Some(entry) = walk.next() {
        let Some(dir) = walked_dir(entry)? else { continue };
        if let (Some(vocal), Some(background)) = (find_audio(&dir, "vocal"), find_audio(&dir, "background")) {
            listing.songs.push(Song {
                name: file_name(&dir),
                split: Split::Train,
                sources: SongSources::Karaoke {
                    vocal_track: AudioRef::file(vocal),
                    background_track: AudioRef::file(background),
                },
            });
            walk.skip_current_dir();
        }
    }
    Ok(())
}

/// A sorted recursive walk that follows symbolic links (music libraries link albums in) and
/// is iterative: a link back to an ancestor is reported once by walkdir instead of recursing
/// until the path is too long (which, with two such links, took exponential time).
fn walk(root: &Path) -> walkdir::WalkDir {
    walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name()
}

/// The folder an entry of [`walk`] is, if it is one.
fn walked_dir(entry: walkdir::Result<walkdir::DirEntry>) -> Result<Option<PathBuf>, DataError> {
    match entry {
        Ok(entry) if entry.file_type().is_dir() => Ok(Some(entry.into_path())),
        Ok(_) => Ok(None),
        Err(e) => skip_or_fail(e).map(|()| None),
    }
}

/// A link loop is skipped with a warning and a dangling link below the root ignored; other
/// errors (an unreadable folder, a missing root) are returned.
fn skip_or_fail(e: walkdir::Error) -> Result<(), DataError> {
    if let Some(ancestor) = e.loop_ancestor() {
        tracing::warn!("{}: skipped, it links back to {}", path_of(&e), ancestor.display());
        return Ok(());
    }
    if e.depth() > 0 && e.io_error().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
        return Ok(());
    }
    Err(walk_error(e))
}

fn path_of(e: &walkdir::Error) -> String {
    e.path().map_or_else(String::new, |p| p.display().to_string())
}

fn walk_error(e: walkdir::Error) -> DataError {
    let path = e.path().map(Path::to_owned).unwrap_or_default();
    match e.into_io_error() {
        Some(error) => DataError::Io { path, error },
        None => DataError::Layout { path, reason: "cannot be read".into() },
    }
}

/// Song folders with `vocals.*` and `accompaniment.*`; an optional `test/`, `valid/` or
/// `train/` level sets the split (default train).
fn paired(root: &Path) -> Result<Listing, DataError> {
    let mut listing = Listing::default();
    let split_dirs: Vec<(Split, PathBuf)> = [(Split::Train, "train"), (Split::Valid, "valid"), (Split::Test, "test")]
        .into_iter()
        .map(|(s, f)| (s, root.join(f)))
        .filter(|(_, p)| p.is_dir())
        .collect();
    let split_dirs = if split_dirs.is_empty() { vec![(Split::Train, root.to_owned())] } else { split_dirs };
    for (split, dir) in split_dirs {
        for song_dir in entries(&dir)?.into_iter().filter(|p| p.is_dir()) {
            match (find_audio(&song_dir, "vocals"), find_audio(&song_dir, "accompaniment")) {
                (Some(v), Some(a)) => listing.songs.push(Song {
                    name: file_name(&song_dir),
                    split,
                    sources: SongSources::Stems {
                        vocals: vec![AudioRef::file(v)],
                        accompaniment: vec![AudioRef::file(a)],
                    },
                }),
                _ => listing.problems.push(DataError::Layout {
                    path: song_dir,
                    reason: "needs a vocals.* and an accompaniment.* file".into(),
                }),
            }
        }
    }
    Ok(listing)
}

/// Every audio file under `dir`, recursively, sorted (links followed, loops skipped).
pub fn audio_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for entry in walk(dir).min_depth(1) {
        match entry {
            Ok(entry) if !entry.file_type().is_dir() && is_audio(entry.path()) => out.push(entry.into_path()),
            Ok(_) => {}
            Err(e) => skip_or_fail(e)?,
        }
    }
    Ok(out)
}

fn mixtures(root: &Path) -> Result<Listing, DataError> {
    let files = audio_files(root)?;
    let songs = files
        .into_iter()
        .map(|f| Song {
            name: f.strip_prefix(root).unwrap_or(&f).with_extension("").to_string_lossy().replace('/', "__"),
            split: Split::Train,
            sources: SongSources::Mixture { mixture: AudioRef::file(f) },
        })
        .collect();
    Ok(Listing { songs, problems: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_loops_are_walked_once_and_dangling_links_ignored() {
        let root = tempfile::tempdir().unwrap();
        let album = root.path().join("album");
        std::fs::create_dir_all(album.join("disc 1")).unwrap();
        std::fs::write(album.join("disc 1/song.wav"), b"x").unwrap();
        std::fs::create_dir_all(root.path().join("take/p1")).unwrap();
        std::fs::write(root.path().join("take/p1/vocal.wav"), b"x").unwrap();
        std::fs::write(root.path().join("take/p1/background.wav"), b"x").unwrap();
        // Two links back up: before, each level doubled the folders to walk.
        std::os::unix::fs::symlink("..", album.join("disc 1/up")).unwrap();
        std::os::unix::fs::symlink("../..", album.join("disc 1/top")).unwrap();
        std::os::unix::fs::symlink("missing", album.join("gone.wav")).unwrap();
        let files = audio_files(root.path()).unwrap();
        assert_eq!(
            files,
            [
                album.join("disc 1/song.wav"),
                root.path().join("take/p1/background.wav"),
                root.path().join("take/p1/vocal.wav")
            ]
        );
        let listing = list_songs(DatasetKind::DampVsep, root.path()).unwrap();
        assert_eq!(listing.songs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["p1"]);
        let listing = list_songs(DatasetKind::Mixtures, root.path()).unwrap();
        assert_eq!(listing.songs.len(), 3);
        // A missing folder is still an error naming it.
        let err = audio_files(&root.path().join("nowhere")).unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
    }
}
