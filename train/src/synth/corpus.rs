//! Writing a synthetic corpus to disk in the layouts the real datasets use, so the same
//! loaders read it (docs/DATASETS.md says what it is for and how far it is from real music).
//! Songs are written in parallel, each folder under a temporary name renamed into place, so an
//! interrupted run resumes where it stopped and never leaves a half-written song.

use super::recorded::ClipLibrary;
use super::{SongSynthesizer, SynthConfig, SynthSong, damp_pair, default_soundfont_path};
use crate::progress;
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use svs_core::AudioBuffer;
use svs_core::audio::{BitDepth, wav_bytes};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SynthKind {
    /// Clean stems in the MUSDB18-HQ layout (train/ and test/ folders).
    Labeled,
    /// DAMP-VSEP-like karaoke recordings with leakage, and a metadata CSV.
    Damp,
    /// Mixed songs only.
    Mixtures,
}

/// What corpus to write.
#[derive(Clone, Debug)]
pub struct CorpusOptions {
    pub out: PathBuf,
    /// Songs (the training split for [`SynthKind::Labeled`]).
    pub songs: usize,
    /// Songs of the test split ([`SynthKind::Labeled`] only).
    pub test_songs: usize,
    /// The same seed gives the same corpus.
    pub seed: u64,
    pub kind: SynthKind,
    /// Length of each song in seconds.
    pub seconds: f32,
    /// General MIDI SoundFonts, one drawn per song (none: [`default_soundfont_path`]).
    pub soundfonts: Vec<PathBuf>,
    /// Drum kits (SoundFonts with a General MIDI kit), one of which or the song's own SoundFont
    /// plays each song's drums ([`SongSynthesizer::with_drum_soundfonts`]).
    pub drum_soundfonts: Vec<PathBuf>,
    /// [`SynthKind::Damp`] only: also write the truth inside each recording (`vocal-truth.wav`:
    /// the clean voice in `vocal.wav`; `background-truth.wav`: the clean accompaniment in
    /// `background.wav`, each at its track's gain), to score pseudo-labels against.
    pub truth: bool,
    /// A folder of recorded voice clips (wav, ogg, flac, mp3; searched recursively): with
    /// [`Self::recorded_voice_probability`] a song's voice is made of them instead of the
    /// synthetic singer ([`super::recorded`]).
    pub voice_clips: Option<PathBuf>,
    /// Default: [`SynthConfig`]'s.
    pub recorded_voice_probability: Option<f32>,
    /// Probability of a song sung by the SoundFont's sampled voices; default:
    /// [`SynthConfig`]'s (none).
    pub sampled_voice_probability: Option<f32>,
    /// Probability of a song going through the mix bus ([`super::bus`]); default:
    /// [`SynthConfig`]'s (none).
    pub bus_probability: Option<f32>,
    /// Probability of a harmony singer in a song's choruses; default: [`SynthConfig`]'s (none).
    pub harmony_probability: Option<f32>,
    /// The range the vocal-to-accompaniment ratio is drawn from (dB); default: [`SynthConfig`]'s.
    pub vocal_to_accompaniment_db: Option<(f32, f32)>,
    /// A folder of recorded instrumental music (searched recursively as
    /// [`Self::voice_clips`]): with [`Self::music_layer_probability`] a song's `other` stem gets
    /// an excerpt of one of them ([`super::music_layer`]).
    pub music_clips: Option<PathBuf>,
    /// Default: [`SynthConfig`]'s (none).
    pub music_layer_probability: Option<f32>,
    /// Probability that each accompaniment part but the drums and the bass plays any melodic
    /// General MIDI instrument ([`SynthConfig::wide_palette_probability`]); default: none.
    pub wide_palette_probability: Option<f32>,
    /// Probability of an instrumental line over the voice
    /// ([`SynthConfig::instrument_line_probability`]); default: none.
    pub instrument_line_probability: Option<f32>,
    /// Probability that a song is an instrumental, its melody played by an instrument and its
    /// vocals silent ([`SynthConfig::instrumental_probability`]); default: none.
    pub instrumental_probability: Option<f32>,
}

/// The clean voice inside a synthetic DAMP performance's `vocal.wav` ([`CorpusOptions::truth`]).
pub const DAMP_VOCAL_TRUTH: &str = "vocal-truth.wav";
/// The clean accompaniment inside its `background.wav`.
pub const DAMP_BACKGROUND_TRUTH: &str = "background-truth.wav";

/// What [`write_corpus`] wrote.
#[derive(Clone, Debug)]
pub struct CorpusSummary {
    pub songs: usize,
    /// Wall-clock seconds it took (songs already there cost nothing).
    pub elapsed_seconds: f64,
}

/// Seed of song `index` of a corpus: kinds and splits draw from disjoint seed ranges, so a
/// labeled corpus and a DAMP-like corpus made with the same `--seed` share no song.
fn song_seed(seed: u64, kind: SynthKind, test: bool, index: usize) -> u64 {
    let stream = match (kind, test) {
        (SynthKind::Labeled, false) => 1,
        (SynthKind::Labeled, true) => 2,
        (SynthKind::Damp, _) => 3,
        (SynthKind::Mixtures, _) => 4,
    };
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (stream << 56) ^ index as u64
}

/// Writes the corpus (resumable: finished songs are kept).
pub fn write_corpus(args: &CorpusOptions) -> Result<CorpusSummary> {
    let (soundfont, more_soundfonts) = match args.soundfonts.split_first() {
        Some((first, more)) => (first.clone(), more),
        None => (
            default_soundfont_path().context(
                "no SoundFont found: install Debian's timgm6mb-soundfont (scripts/test does) or pass --soundfont",
            )?,
            &[][..],
        ),
    };
    let defaults = SynthConfig::default();
    let config = SynthConfig {
        duration_seconds: args.seconds,
        recorded_voice_probability: args.recorded_voice_probability.unwrap_or(defaults.recorded_voice_probability),
        sampled_voice_probability: args.sampled_voice_probability.unwrap_or(defaults.sampled_voice_probability),
        bus_probability: args.bus_probability.unwrap_or(defaults.bus_probability),
        harmony_probability: args.harmony_probability.unwrap_or(defaults.harmony_probability),
        vocal_to_accompaniment_db: args.vocal_to_accompaniment_db.unwrap_or(defaults.vocal_to_accompaniment_db),
        music_layer_probability: args.music_layer_probability.unwrap_or(defaults.music_layer_probability),
        wide_palette_probability: args.wide_palette_probability.unwrap_or(defaults.wide_palette_probability),
        instrument_line_probability: args.instrument_line_probability.unwrap_or(defaults.instrument_line_probability),
        instrumental_probability: args.instrumental_probability.unwrap_or(defaults.instrumental_probability),
        ..defaults
    };
    let sample_rate = config.sample_rate;
    let mut synth = SongSynthesizer::new(&soundfont, config)?
        .with_soundfonts(more_soundfonts)?
        .with_drum_soundfonts(&args.drum_soundfonts)?;
    if let Some(dir) = &args.voice_clips {
        let clips = ClipLibrary::load(dir, sample_rate)?;
        tracing::info!("{} voice clips from {}", clips.len(), dir.display());
        synth = synth.with_voice_clips(std::sync::Arc::new(clips))?;
    }
    if let Some(dir) = &args.music_clips {
        let clips = ClipLibrary::load(dir, sample_rate)?;
        tracing::info!("{} music clips from {}", clips.len(), dir.display());
        synth = synth.with_music_clips(std::sync::Arc::new(clips))?;
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let jobs: Vec<(bool, usize)> = (0..args.songs)
        .map(|i| (false, i))
        .chain((0..if args.kind == SynthKind::Labeled { args.test_songs } else { 0 }).map(|i| (true, i)))
        .collect();
    let bar = progress::bar(jobs.len() as u64, "synthesising", "songs");
    let start = std::time::Instant::now();
    let results: Vec<Result<Option<String>>> = jobs
        .par_iter()
        .map(|&(test, index)| {
            let result = write_song(&synth, args, test, index);
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();
    let mut rows = Vec::new();
    for result in results {
        if let Some(row) = result? {
            rows.push(row);
        }
    }
    if args.kind == SynthKind::Damp {
        write_damp_csv(&args.out, &rows)?;
    }
    Ok(CorpusSummary { songs: jobs.len(), elapsed_seconds: start.elapsed().as_secs_f64() })
}

/// Writes one song (skipping it if a previous run finished it); returns its CSV row for DAMP.
fn write_song(synth: &SongSynthesizer, args: &CorpusOptions, test: bool, index: usize) -> Result<Option<String>> {
    let seed = song_seed(args.seed, args.kind, test, index);
    let name = format!("synth-{:04}", index);
    let rate = synth.config().sample_rate;
    match args.kind {
        SynthKind::Labeled => {
            let dir = args.out.join(if test { "test" } else { "train" }).join(&name);
            write_folder(&dir, || {
                let song = synth.song(seed);
                Ok(vec![
                    ("mixture.wav", wav(rate, song.mixture())?),
                    ("vocals.wav", wav(rate, song.vocals)?),
                    ("drums.wav", wav(rate, song.drums)?),
                    ("bass.wav", wav(rate, song.bass)?),
                    ("other.wav", wav(rate, song.other)?),
                ])
            })?;
            Ok(None)
        }
        SynthKind::Damp => {
            let key = format!("synth_{}_{index:05}", args.seed);
            let dir = args.out.join(&key);
            // The performance's CSV row lives in its folder too, so a resumed run rebuilds the
            // metadata CSV with the leak levels of performances finished earlier.
            write_folder(&dir, || {
                let song: SynthSong = synth.song(seed);
                let pair = damp_pair(&song, seed ^ 0xDA3F);
                let (acc_db, voice_db) = (pair.accompaniment_leak_db, pair.voice_leak_db);
                let row = format!("{key},{key}/vocal.wav,{key}/background.wav,{acc_db:.2},{voice_db:.2}");
                let mut files = vec![
                    ("vocal.wav", wav(rate, pair.vocal_track)?),
                    ("background.wav", wav(rate, pair.background_track)?),
                    ("metadata-row.csv", row.into_bytes()),
                ];
                if args.truth {
                    let scaled = |x: &[f32], gain: f32| x.iter().map(|v| v * gain).collect::<Vec<f32>>();
                    let voice = scaled(&song.vocals, pair.vocal_track_gain);
                    let accompaniment = scaled(&song.accompaniment(), pair.background_track_gain);
                    files.push((DAMP_VOCAL_TRUTH, wav(rate, voice)?));
                    files.push((DAMP_BACKGROUND_TRUTH, wav(rate, accompaniment)?));
                }
                Ok(files)
            })?;
            let row = dir.join("metadata-row.csv");
            Ok(Some(std::fs::read_to_string(&row).with_context(|| format!("reading {}", row.display()))?))
        }
        SynthKind::Mixtures => {
            let path = args.out.join(format!("{name}.wav"));
            if !path.exists() {
                let song = synth.song(seed);
                write_atomically(&path, &wav(rate, song.mixture())?)?;
            }
            Ok(None)
        }
    }
}

fn wav(rate: u32, samples: Vec<f32>) -> Result<Vec<u8>> {
    // 32-bit float so the stems sum exactly to the mixture.
    Ok(wav_bytes(&AudioBuffer::new(rate, vec![samples]), BitDepth::Float32)?)
}

/// Writes the files of a song folder into a temporary folder renamed into place at the end,
/// so an interrupted run never leaves a half-written song that looks complete.
fn write_folder(dir: &Path, files: impl FnOnce() -> Result<Vec<(&'static str, Vec<u8>)>>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let tmp = dir.with_extension("partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    for (name, bytes) in files()? {
        let path = tmp.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::rename(&tmp, dir).with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))?;
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    svs_core::model_file::write_atomically(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The DAMP-VSEP-style metadata CSV (the columns our DAMP loader reads, plus the leak levels).
fn write_damp_csv(out: &Path, rows: &[String]) -> Result<()> {
    if rows.is_empty() {
        bail!("no performances written");
    }
    let path = out.join("vsep_metadata.csv");
    let mut file = std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "perf_key,vocal_path,background_path,accompaniment_leak_db,voice_leak_db")?;
    for row in rows {
        writeln!(file, "{row}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::dsp::{energy, energy_ratio_db};
    use svs_core::audio::read_audio;

    #[test]
    fn damp_truth_is_the_clean_part_of_each_recording() {
        if default_soundfont_path().filter(|p| p.is_file()).is_none() {
            eprintln!("SKIPPED: no General MIDI SoundFont (apt-get install timgm6mb-soundfont)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let options = CorpusOptions {
            out: dir.path().join("damp"),
            songs: 3,
            test_songs: 0,
            seed: 5,
            kind: SynthKind::Damp,
            seconds: 8.0,
            soundfonts: Vec::new(),
            drum_soundfonts: Vec::new(),
            truth: true,
            voice_clips: None,
            recorded_voice_probability: None,
            sampled_voice_probability: None,
            bus_probability: None,
            harmony_probability: None,
            vocal_to_accompaniment_db: None,
            music_clips: None,
            music_layer_probability: None,
            wide_palette_probability: None,
            instrument_line_probability: None,
            instrumental_probability: None,
        };
        assert_eq!(write_corpus(&options).unwrap().songs, 3);
        let csv = std::fs::read_to_string(options.out.join("vsep_metadata.csv")).unwrap();
        let mut sung = 0;
        for row in csv.lines().skip(1) {
            let fields: Vec<&str> = row.split(',').collect();
            let folder = options.out.join(fields[0]);
            let read = |name: &str| read_audio(&folder.join(name)).unwrap().channels.remove(0);
            let (background, truth) = (read("background.wav"), read(DAMP_BACKGROUND_TRUTH));
            let (vocal, voice) = (read("vocal.wav"), read(DAMP_VOCAL_TRUTH));
            assert_eq!(background.len(), truth.len());
            // background = (accompaniment + leaked voice) x gain, truth = accompaniment x gain:
            // their difference is the leaked voice, at the level the metadata says (none at all
            // when the song's excerpt has no singing).
            let leak: Vec<f32> = background.iter().zip(&truth).map(|(b, t)| b - t).collect();
            if energy(&voice) == 0.0 {
                assert_eq!(energy(&leak), 0.0, "{row}: voice leaked from a silent voice");
                continue;
            }
            let voice_db: f32 = fields[4].parse().unwrap();
            let measured = energy_ratio_db(energy(&leak), energy(&truth));
            assert!((measured - voice_db).abs() < 0.05, "{row}: voice leak {measured} dB");
            let leak: Vec<f32> = vocal.iter().zip(&voice).map(|(v, t)| v - t).collect();
            let accompaniment_db: f32 = fields[3].parse().unwrap();
            // The accompaniment leak plus mic noise 20 dB or more below it.
            let measured = energy_ratio_db(energy(&leak), energy(&voice));
            assert!(measured > accompaniment_db - 0.05 && measured < accompaniment_db + 0.5, "{row}: {measured} dB");
            sung += 1;
        }
        assert!(sung > 0, "no song of the corpus has singing: the test checks nothing");
    }

    #[test]
    fn the_vocal_level_range_and_the_mix_bus_reach_the_written_songs() {
        if default_soundfont_path().filter(|p| p.is_file()).is_none() {
            eprintln!("SKIPPED: no General MIDI SoundFont (apt-get install timgm6mb-soundfont)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // The same song at a vocal level of -10 dB and of +5 dB: every stem is scaled by one
        // gain after the voice's, so the voice-to-accompaniment energy differs by 15 dB.
        let options = |name: &str, range: (f32, f32), bus: Option<f32>| CorpusOptions {
            out: dir.path().join(name),
            songs: 1,
            test_songs: 0,
            seed: 5,
            kind: SynthKind::Labeled,
            seconds: 6.0,
            soundfonts: Vec::new(),
            drum_soundfonts: Vec::new(),
            truth: false,
            voice_clips: None,
            recorded_voice_probability: None,
            sampled_voice_probability: None,
            bus_probability: bus,
            harmony_probability: None,
            vocal_to_accompaniment_db: Some(range),
            music_clips: None,
            music_layer_probability: None,
            wide_palette_probability: None,
            instrument_line_probability: None,
            instrumental_probability: None,
        };
        let ratio = |name: &str, level: f32, bus: Option<f32>| {
            let options = options(name, (level, level), bus);
            write_corpus(&options).unwrap();
            let song = std::fs::read_dir(options.out.join("train")).unwrap().next().unwrap().unwrap().path();
            let read = |stem: &str| read_audio(&song.join(stem)).unwrap().channels.remove(0);
            let (vocals, mixture) = (read("vocals.wav"), read("mixture.wav"));
            let accompaniment: Vec<f32> = mixture.iter().zip(&vocals).map(|(m, v)| m - v).collect();
            (energy_ratio_db(energy(&vocals), energy(&accompaniment)), mixture)
        };
        let (quiet, plain) = ratio("quiet", -10.0, None);
        let (loud, _) = ratio("loud", 5.0, None);
        assert!((loud - quiet - 15.0).abs() < 0.1, "{quiet} dB and {loud} dB");
        // Through the bus the same song is another mixture (compressed), the same length.
        let (_, bused) = ratio("bused", -10.0, Some(1.0));
        assert_eq!(bused.len(), plain.len());
        assert_ne!(bused, plain);
        // A range the wrong way round is refused.
        let bad = options("bad", (5.0, -10.0), None);
        let err = format!("{:#}", write_corpus(&bad).unwrap_err());
        assert!(err.contains("vocal_to_accompaniment_db"), "{err}");
    }
}
