//! Recorded voices as a song's vocals: clips of real speech or singing (for instance the
//! spoken letters and syllables of Debian's `klettres-data`, about 20 languages) laid over the
//! phrases of the song's melody, so a separator hears real human voices and not only
//! [`super::voice`]'s synthetic singer.
//!
//! Each clip is re-pitched onto the notes it falls on ([`super::psola`]: TD-PSOLA, which keeps
//! the speaker's formants and consonants), so a recorded voice sings the song's melody with its
//! own timbre. Approximations: a clip keeps its own rhythm (syllables are not moved onto the
//! notes' onsets), and PSOLA's grains smear the roughest voice qualities.

use super::SynthError;
use super::dsp::{energy, midi_to_hz};
use super::psola::repitch;
use super::voice::SungNote;
use rand::Rng;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use svs_core::audio::read_audio;
use svs_core::dsp::db_to_gain;
use svs_core::dsp::resample::resample;

/// File extensions read as clips.
const EXTENSIONS: [&str; 4] = ["wav", "ogg", "flac", "mp3"];
/// Clips shorter than this once their silent ends are cut are skipped (a click, not a voice).
const MIN_CLIP_SECONDS: f64 = 0.15;
/// Notes closer than this belong to one phrase.
const PHRASE_GAP_S: f64 = 0.35;
/// How far past its phrase the last clip may run before it is faded out.
const OVERRUN_S: f64 = 0.2;
/// Fade at a clip's cut ends (s), so no cut clicks.
const FADE_S: f64 = 0.01;

/// A library of audio clips at one sample rate, each trimmed of its silent ends and scaled
/// to unit RMS: recorded voices for [`recorded_vocals`], recorded music for
/// [`super::music_layer`].
#[derive(Clone, Debug)]
pub struct ClipLibrary {
    sample_rate: u32,
    clips: Vec<Clip>,
}

#[derive(Clone, Debug)]
struct Clip {
    /// The file's path relative to the library folder.
    name: String,
    samples: Vec<f32>,
}

impl ClipLibrary {
    /// Every audio file under `dir` (recursively, in path order), mixed to mono and resampled
    /// to `sample_rate`. A file that cannot be decoded is left out with a warning naming it; a
    /// folder with no usable clip is an error naming the folder.
    pub fn load(dir: &Path, sample_rate: u32) -> Result<Self, SynthError> {
        let mut paths = Vec::new();
        collect_audio_files(dir, &mut paths)?;
        paths.sort();
        let loaded: Vec<Result<Option<Clip>, String>> = paths
            .par_iter()
            .map(|path| {
                let audio = read_audio(path).map_err(|e| e.to_string())?;
                let mono = resample(&audio.to_mono(), audio.sample_rate, sample_rate)
                    .map_err(|e| format!("{}: cannot resample: {e}", path.display()))?;
                let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
                Ok(Self::prepare(mono, sample_rate).map(|samples| Clip { name, samples }))
            })
            .collect();
        // A library of many clips from a package may hold a few that the decoder cannot read:
        // each is named in a warning and left out, as a short clip is; none usable is an error.
        let mut clips = Vec::new();
        let mut unreadable = 0;
        for clip in loaded {
            match clip {
                Ok(clip) => clips.extend(clip),
                Err(message) => {
                    tracing::warn!("audio clip left out: {message}");
                    unreadable += 1;
                }
            }
        }
        if clips.is_empty() {
            return Err(SynthError::NoClips { dir: dir.to_path_buf(), unreadable });
        }
        if unreadable > 0 {
            tracing::warn!("{unreadable} of {} audio clips under {} could not be read", paths.len(), dir.display());
        }
        Ok(Self { sample_rate, clips })
    }

    /// A library from clips already at `sample_rate` (named, in order).
    pub fn from_samples(sample_rate: u32, clips: Vec<(String, Vec<f32>)>) -> Result<Self, SynthError> {
        let clips: Vec<Clip> = clips
            .into_iter()
            .filter_map(|(name, samples)| Self::prepare(samples, sample_rate).map(|samples| Clip { name, samples }))
            .collect();
        if clips.is_empty() {
            return Err(SynthError::InvalidInput("no clip is long enough to use".into()));
        }
        Ok(Self { sample_rate, clips })
    }

    /// The clip cut to where it is within 40 dB of its peak (10 ms frames) and scaled to unit
    /// RMS; `None` if what is left is too short.
    fn prepare(samples: Vec<f32>, sample_rate: u32) -> Option<Vec<f32>> {
        let frame = (sample_rate as usize / 100).max(1);
        let frame_peaks: Vec<f32> =
            samples.chunks(frame).map(|c| c.iter().fold(0.0f32, |m, v| m.max(v.abs()))).collect();
        let peak = frame_peaks.iter().copied().fold(0.0f32, f32::max);
        if !(peak > 0.0 && peak.is_finite()) {
            return None;
        }
        let loud = |p: &&f32| **p >= peak * db_to_gain(-40.0);
        let first = frame_peaks.iter().position(|p| loud(&p))?;
        let last = frame_peaks.iter().rposition(|p| loud(&p))?;
        let mut clip = samples[first * frame..((last + 1) * frame).min(samples.len())].to_vec();
        if (clip.len() as f64) < MIN_CLIP_SECONDS * sample_rate as f64 {
            return None;
        }
        let rms = (energy(&clip) / clip.len() as f64).sqrt() as f32;
        clip.iter_mut().for_each(|v| *v /= rms);
        Some(clip)
    }

    pub fn len(&self) -> usize {
        self.clips.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Clip `index`'s name (its path under the library folder) and samples.
    pub fn clip(&self, index: usize) -> (&str, &[f32]) {
        let clip = &self.clips[index];
        (&clip.name, &clip.samples)
    }
}

fn collect_audio_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SynthError> {
    let unreadable = |e: std::io::Error| SynthError::Clip { path: dir.to_path_buf(), message: e.to_string() };
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_dir() {
            collect_audio_files(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A vocal stem of `n` samples: the melody's phrases filled with clips drawn from `clips`, one
/// after another with short gaps, each re-pitched onto the notes it falls on and scaled by up
/// to 3 dB; the last clip of a phrase is cut (with a fade) [`OVERRUN_S`] after the phrase ends.
/// Returns the stem and the names of the clips it used, in order.
pub fn recorded_vocals(
    clips: &ClipLibrary,
    melody: &[SungNote],
    n: usize,
    rng: &mut impl Rng,
) -> (Vec<f32>, Vec<String>) {
    let fs = clips.sample_rate as f64;
    let mut stem = vec![0.0f32; n];
    let mut used = Vec::new();
    let fade = (FADE_S * fs) as usize;
    for (start_s, end_s) in phrases(melody) {
        let mut at = (start_s * fs).round().max(0.0) as usize;
        let stop = (((end_s + OVERRUN_S) * fs).round() as usize).min(n);
        while at < stop {
            let clip = &clips.clips[rng.random_range(0..clips.clips.len())];
            // The note sounding at each moment of the clip (its own pitch between notes).
            let clip_start = at as f64 / fs;
            let note_at = |t: f64| {
                let t = clip_start + t;
                melody.iter().find(|note| note.start_s <= t && t < note.end_s()).map(|note| midi_to_hz(note.midi))
            };
            let shifted = repitch(&clip.samples, clips.sample_rate, note_at);
            let gain = db_to_gain(rng.random_range(-3.0..=3.0f32));
            let len = shifted.len().min(stop - at);
            for (i, (dst, v)) in stem[at..at + len].iter_mut().zip(&shifted).enumerate() {
                // Fade in and out only where the clip was cut (its own ends are already quiet).
                let fade_out = if len < shifted.len() { ((len - i) as f32 / fade.max(1) as f32).min(1.0) } else { 1.0 };
                *dst += gain * v * fade_out;
            }
            used.push(clip.name.clone());
            at += len + (rng.random_range(0.03..0.25) * fs) as usize;
        }
    }
    (stem, used)
}

/// The melody's phrases, `(start, end)` in seconds: notes less than [`PHRASE_GAP_S`] apart
/// run together.
fn phrases(melody: &[SungNote]) -> Vec<(f64, f64)> {
    let mut notes: Vec<(f64, f64)> = melody.iter().map(|n| (n.start_s, n.end_s())).collect();
    notes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (start, end) in notes {
        match out.last_mut() {
            Some(last) if start - last.1 < PHRASE_GAP_S => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::voice::{Syllable, Vowel};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use svs_core::AudioBuffer;
    use svs_core::audio::{BitDepth, wav_bytes};

    /// A voiced-like burst of `seconds` between 0.2 s of silence either side.
    fn burst(rate: u32, seconds: f64, hz: f32) -> Vec<f32> {
        let pad = vec![0.0f32; (0.2 * rate as f64) as usize];
        let body = (0..(seconds * rate as f64) as usize)
            .map(|i| 0.3 * (i as f32 * hz / rate as f32 * std::f32::consts::TAU).sin());
        pad.iter().copied().chain(body).chain(pad.iter().copied()).collect()
    }

    fn note(start_s: f64, duration_s: f64) -> SungNote {
        SungNote {
            start_s,
            duration_s,
            midi: 60.0,
            velocity: 0.8,
            syllable: Syllable { onset: None, vowel: Vowel::A, coda: None },
            slur: false,
        }
    }

    #[test]
    fn a_folder_of_clips_loads_trimmed_resampled_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("en")).unwrap();
        let write = |name: &str, rate: u32, seconds: f64| {
            let bytes = wav_bytes(&AudioBuffer::new(rate, vec![burst(rate, seconds, 220.0)]), BitDepth::Int16).unwrap();
            std::fs::write(dir.path().join(name), bytes).unwrap();
        };
        write("en/b.wav", 44_100, 0.5);
        write("a.wav", 16_000, 0.8);
        write("too-short.wav", 16_000, 0.05);
        std::fs::write(dir.path().join("notes.txt"), "not audio").unwrap();
        let clips = ClipLibrary::load(dir.path(), 16_000).unwrap();
        let names: Vec<&str> = clips.clips.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a.wav", "en/b.wav"], "the short clip is skipped, the text file ignored");
        for (clip, seconds) in clips.clips.iter().zip([0.8, 0.5]) {
            // The silent margins are cut to within one 10 ms frame, and the level is unit RMS.
            let len = clip.samples.len() as f64 / 16_000.0;
            assert!((len - seconds).abs() <= 0.021, "{}: {len} s", clip.name);
            let rms = (energy(&clip.samples) / clip.samples.len() as f64).sqrt();
            assert!((rms - 1.0).abs() < 1e-3, "{}: rms {rms}", clip.name);
        }
    }

    #[test]
    fn bad_folders_and_files_are_errors_that_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let err = ClipLibrary::load(dir.path(), 16_000).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        let missing = dir.path().join("missing");
        let err = ClipLibrary::load(&missing, 16_000).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        // A folder whose only file cannot be decoded: no usable clip, and the error says one
        // file could not be read (the warning names it).
        std::fs::write(dir.path().join("broken.ogg"), b"OggS but not really").unwrap();
        let err = ClipLibrary::load(dir.path(), 16_000).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()) && err.contains("1 file"), "{err}");
        // Beside a good clip it is left out.
        let rate = 16_000;
        let bytes = wav_bytes(&AudioBuffer::new(rate, vec![burst(rate, 0.5, 220.0)]), BitDepth::Int16).unwrap();
        std::fs::write(dir.path().join("good.wav"), bytes).unwrap();
        assert_eq!(ClipLibrary::load(dir.path(), rate).unwrap().len(), 1);
    }

    #[test]
    fn clips_fill_the_phrases_and_nothing_else() {
        let rate = 16_000;
        let clips = ClipLibrary::from_samples(
            rate,
            vec![("x".into(), burst(rate, 0.4, 200.0)), ("y".into(), burst(rate, 0.7, 300.0))],
        )
        .unwrap();
        // Two phrases: 1.0-2.5 s (three notes, gaps under 0.35 s) and 4.0-4.5 s.
        let melody = [note(1.0, 0.5), note(1.6, 0.4), note(2.2, 0.3), note(4.0, 0.5)];
        let n = 6 * rate as usize;
        let (stem, used) = recorded_vocals(&clips, &melody, n, &mut ChaCha8Rng::seed_from_u64(3));
        let at = |s: f64| (s * rate as f64) as usize;
        let inside: f64 = energy(&stem[at(1.0)..at(2.5 + OVERRUN_S)]) + energy(&stem[at(4.0)..at(4.5 + OVERRUN_S)]);
        assert!(inside > 0.0 && (energy(&stem) - inside).abs() < 1e-9 * inside, "energy outside the phrases");
        // The second phrase is voiced too, not only the first.
        assert!(energy(&stem[at(4.0)..at(4.5)]) > 0.0);
        assert!(used.len() >= 3 && used.iter().all(|u| u == "x" || u == "y"), "{used:?}");
        // The same seed gives the same stem.
        let (again, _) = recorded_vocals(&clips, &melody, n, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(stem, again);
    }

    #[test]
    fn a_clip_sings_the_note_it_falls_on() {
        // A voiced 150 Hz clip over one long note, A3 (MIDI 57, 220 Hz): it comes out at 220 Hz.
        let rate = 16_000;
        let clips = ClipLibrary::from_samples(rate, vec![("x".into(), burst(rate, 1.0, 150.0))]).unwrap();
        let melody = [SungNote { midi: 57.0, ..note(0.5, 1.2) }];
        let (stem, _) = recorded_vocals(&clips, &melody, 3 * rate as usize, &mut ChaCha8Rng::seed_from_u64(1));
        let at = |s: f64| (s * rate as f64) as usize;
        let mut pitches: Vec<f32> =
            crate::synth::psola::pitch_track(&stem[at(0.6)..at(1.4)], rate).into_iter().flatten().collect();
        assert!(pitches.len() > 50, "{} voiced frames", pitches.len());
        pitches.sort_by(f32::total_cmp);
        let sung = pitches[pitches.len() / 2];
        assert!((sung - 220.0).abs() < 6.0, "sung at {sung} Hz");
    }
}
