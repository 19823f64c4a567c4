//! Each dataset loader on a small fixture written in that dataset's distributed layout.

use std::path::Path;
use svs_core::audio::{AudioBuffer, BitDepth, wav_bytes};
use svs_train::data::cache::{SegmentCache, read_entries};
use svs_train::data::loaders::Listing;
use svs_train::data::{DatasetKind, SongSources, Split, list_songs, load_song};

fn wav(path: &Path, rate: u32, channels: Vec<Vec<f32>>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, wav_bytes(&AudioBuffer::new(rate, channels), BitDepth::Int16).unwrap()).unwrap();
}

fn constant(rate: u32, seconds: f32, value: f32) -> Vec<f32> {
    vec![value; (rate as f32 * seconds) as usize]
}

fn list(kind: DatasetKind, root: &Path) -> Listing {
    list_songs(kind, root).unwrap()
}

#[test]
fn musdb18hq_sums_the_accompaniment_and_knows_the_validation_split() {
    let root = tempfile::tempdir().unwrap();
    for (folder, track) in [("train", "Leaf - Summerghost"), ("train", "A - B"), ("test", "C - D")] {
        let dir = root.path().join(folder).join(track);
        for (stem, value) in [("vocals", 0.1), ("drums", 0.2), ("bass", 0.05), ("other", 0.01)] {
            wav(&dir.join(format!("{stem}.wav")), 44100, vec![constant(44100, 1.0, value); 2]);
        }
    }
    // A track missing a stem is reported, not fatal.
    wav(&root.path().join("train/Broken/vocals.wav"), 44100, vec![constant(44100, 1.0, 0.1)]);
    let listing = list(DatasetKind::Musdb18hq, root.path());
    assert_eq!(listing.songs.len(), 3);
    assert_eq!(listing.problems.len(), 1);
    assert!(listing.problems[0].to_string().contains("Broken"));
    let split = |name: &str| listing.songs.iter().find(|s| s.name == name).unwrap().split;
    assert_eq!(split("Leaf - Summerghost"), Split::Valid);
    assert_eq!(split("A - B"), Split::Train);
    assert_eq!(split("C - D"), Split::Test);
    let audio = load_song(&listing.songs[0]).unwrap();
    assert_eq!(audio.signals[0].len(), 16000, "resampled to 16 kHz");
    let mid = 8000;
    assert!((audio.signals[0][mid] - 0.1).abs() < 2e-3);
    assert!((audio.signals[1][mid] - 0.26).abs() < 2e-3, "accompaniment = drums + bass + other");
}

#[test]
fn mir1k_splits_channels_ccmixter_pairs_sources() {
    let root = tempfile::tempdir().unwrap();
    let mir = root.path().join("mir");
    wav(&mir.join("Wavfile/abjones_1_01.wav"), 16000, vec![constant(16000, 1.0, 0.3), constant(16000, 1.0, -0.2)]);
    let listing = list(DatasetKind::Mir1k, &mir);
    let audio = load_song(&listing.songs[0]).unwrap();
    assert!((audio.signals[0][100] + 0.2).abs() < 1e-3, "voice is the right channel");
    assert!((audio.signals[1][100] - 0.3).abs() < 1e-3, "accompaniment is the left channel");

    let cc = root.path().join("cc");
    wav(&cc.join("Song/source-01.wav"), 44100, vec![constant(44100, 1.0, 0.4)]);
    wav(&cc.join("Song/source-02.wav"), 44100, vec![constant(44100, 1.0, 0.1)]);
    std::fs::create_dir_all(cc.join("Incomplete")).unwrap();
    let listing = list(DatasetKind::Ccmixter, &cc);
    assert_eq!((listing.songs.len(), listing.problems.len()), (1, 1));
    let audio = load_song(&listing.songs[0]).unwrap();
    assert!((audio.signals[0][8000] - 0.1).abs() < 1e-3 && (audio.signals[1][8000] - 0.4).abs() < 1e-3);
}

#[test]
fn damp_vsep_reads_its_csv_and_paired_and_mixture_folders_work() {
    let root = tempfile::tempdir().unwrap();
    let damp = root.path().join("damp");
    wav(&damp.join("10/PH/en/k1/vocal.wav"), 22050, vec![constant(22050, 1.0, 0.2)]);
    wav(&damp.join("10/PH/en/k1/background.wav"), 44100, vec![constant(44100, 1.0, 0.3)]);
    std::fs::write(
        damp.join("vsep.csv"),
        "perf_key,background_path,vocal_path,country\nk1,10/PH/en/k1/background.wav,10/PH/en/k1/vocal.wav,PH\nk2,x/background.wav,x/vocal.wav,US\n",
    )
    .unwrap();
    let listing = list(DatasetKind::DampVsep, &damp);
    assert_eq!(listing.songs.len(), 1);
    assert!(listing.problems[0].to_string().contains("x/vocal.wav"), "{}", listing.problems[0]);
    assert!(matches!(listing.songs[0].sources, SongSources::Karaoke { .. }));
    let audio = load_song(&listing.songs[0]).unwrap();
    assert_eq!(audio.signals[0].len(), audio.signals[1].len());

    let paired = root.path().join("paired");
    wav(&paired.join("test/s1/vocals.wav"), 16000, vec![constant(16000, 0.5, 0.1)]);
    wav(&paired.join("test/s1/accompaniment.wav"), 16000, vec![constant(16000, 0.5, 0.2)]);
    let listing = list(DatasetKind::Paired, &paired);
    assert_eq!(listing.songs[0].split, Split::Test);

    let mixtures = root.path().join("mix");
    wav(&mixtures.join("a/b.wav"), 16000, vec![constant(16000, 0.5, 0.1)]);
    std::fs::write(mixtures.join("readme.txt"), "not audio").unwrap();
    let listing = list(DatasetKind::Mixtures, &mixtures);
    assert_eq!(listing.songs.len(), 1);
    assert_eq!(listing.songs[0].name, "a__b");
}

#[test]
fn prepare_is_resumable_and_reports_unreadable_files() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("paired");
    for s in ["s1", "s2"] {
        wav(&data.join(s).join("vocals.wav"), 44100, vec![constant(44100, 31.0, 0.1)]);
        wav(&data.join(s).join("accompaniment.wav"), 44100, vec![constant(44100, 31.0, 0.2)]);
    }
    std::fs::create_dir_all(data.join("bad")).unwrap();
    std::fs::write(data.join("bad/vocals.wav"), b"junk").unwrap();
    std::fs::write(data.join("bad/accompaniment.wav"), b"junk").unwrap();
    let out = root.path().join("cache");
    let svs = std::env::var("CARGO_BIN_EXE_svs").map(std::path::PathBuf::from).unwrap();
    let run = || {
        std::process::Command::new(&svs)
            .args(["prepare", "--dataset", "paired", "--root"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(!first.status.success(), "the unreadable song must make the exit code non-zero");
    assert!(String::from_utf8_lossy(&first.stderr).contains("bad"));
    let entries = read_entries(&out).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].n_segments, 2, "31 s = a full segment and a padded one");
    // A second run redoes nothing that is complete.
    let stamp = std::fs::metadata(out.join("songs").join(&entries[0].file)).unwrap().modified().unwrap();
    run();
    assert_eq!(std::fs::metadata(out.join("songs").join(&entries[0].file)).unwrap().modified().unwrap(), stamp);
    let cache = SegmentCache::open(&out, &[Split::Train]).unwrap();
    assert_eq!(cache.segments.len(), 4);
    assert!((cache.segments[1][1][8000] - 0.2).abs() < 1e-3, "second segment starts at 30 s");
    assert_eq!(cache.segments[1][1][16000 * 2], 0.0, "zero padding after the song's end");
}

#[test]
fn musdb18_stem_files_are_listed_with_their_streams_and_undecodable_ones_explained() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("test")).unwrap();
    std::fs::write(root.path().join("test/A - B.stem.mp4"), b"not really an mp4").unwrap();
    let listing = list(DatasetKind::Musdb18, root.path());
    assert_eq!(listing.songs.len(), 1);
    assert_eq!(listing.songs[0].split, Split::Test);
    match &listing.songs[0].sources {
        SongSources::Stems { vocals, accompaniment } => {
            assert_eq!(vocals[0].track, 4);
            assert_eq!(accompaniment.iter().map(|a| a.track).collect::<Vec<_>>(), vec![1, 2, 3]);
        }
        other => panic!("{other:?}"),
    }
    let err = load_song(&listing.songs[0]).unwrap_err().to_string();
    assert!(err.contains("musdbconvert") && err.contains("A - B.stem.mp4"), "{err}");
}
