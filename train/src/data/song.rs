//! A song as a dataset describes it (which files hold which source) and its audio at 16 kHz mono.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use svs_core::MODEL_SAMPLE_RATE;
use svs_core::audio::{AudioReader, DecodeError};
use svs_core::dsp::{ResampleError, resample};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Valid,
    Test,
}

/// One channel or track of an audio file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioRef {
    pub path: PathBuf,
    /// Audio track inside the file (MUSDB18's `.stem.mp4` holds five).
    #[serde(default)]
    pub track: usize,
    /// One channel only (MIR-1K keeps accompaniment left and voice right); `None` = downmix.
    #[serde(default)]
    pub channel: Option<usize>,
}

impl AudioRef {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), track: 0, channel: None }
    }
}

/// What a song offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SongSources {
    /// Clean stems; several files of one source are summed (MUSDB: drums + bass + other).
    Stems { vocals: Vec<AudioRef>, accompaniment: Vec<AudioRef> },
    /// Karaoke-app recordings (DAMP): a vocal track with music leaking in and a background
    /// track with voice leaking in. Unlabeled: they are pseudo-labeled by the teacher.
    Karaoke { vocal_track: AudioRef, background_track: AudioRef },
    /// A mixed song only.
    Mixture { mixture: AudioRef },
}

impl SongSources {
    /// Names of the signals `load_song` returns, in order.
    pub fn signal_names(&self) -> &'static [&'static str] {
        match self {
            SongSources::Stems { .. } => &["vocals", "accompaniment"],
            SongSources::Karaoke { .. } => &["vocal_track", "background_track"],
            SongSources::Mixture { .. } => &["mixture"],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Song {
    pub name: String,
    pub split: Split,
    pub sources: SongSources,
}

/// A song's signals at 16 kHz mono, all the same length, in `SongSources::signal_names` order.
#[derive(Clone, Debug)]
pub struct SongAudio {
    pub signals: Vec<Vec<f32>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("{path}: {error}")]
    Resample { path: PathBuf, error: ResampleError },
    #[error("{path}: has no channel {channel} (it has {available})")]
    Channel { path: PathBuf, channel: usize, available: usize },
    #[error("{path}: {reason}")]
    Layout { path: PathBuf, reason: String },
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

/// Decodes one reference at 16 kHz mono.
pub fn load_ref(reference: &AudioRef) -> Result<Vec<f32>, DataError> {
    let decoded = AudioReader::open_track(&reference.path, reference.track).and_then(AudioReader::read_to_end);
    let audio = match decoded {
        Ok(audio) => audio,
        // MUSDB18's multitrack MP4s: say what to do instead of failing obscurely.
        Err(e) if reference.path.to_string_lossy().ends_with(".stem.mp4") => {
            return Err(DataError::Layout {
                path: reference.path.clone(),
                reason: format!(
                    "cannot decode stream {} of this .stem.mp4 ({e}); convert MUSDB18 to the HQ layout \
                     with sigsep's `musdbconvert` and use --dataset musdb18hq",
                    reference.track
                ),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let mono = match reference.channel {
        None => audio.to_mono(),
        Some(c) => audio.channels.get(c).cloned().ok_or_else(|| DataError::Channel {
            path: reference.path.clone(),
            channel: c,
            available: audio.n_channels(),
        })?,
    };
    resample(&mono, audio.sample_rate, MODEL_SAMPLE_RATE)
        .map_err(|error| DataError::Resample { path: reference.path.clone(), error })
}

/// Sum of several references (zero-extended to the longest).
fn load_sum(references: &[AudioRef]) -> Result<Vec<f32>, DataError> {
    let mut sum: Vec<f32> = Vec::new();
    for reference in references {
        let x = load_ref(reference)?;
        if x.len() > sum.len() {
            sum.resize(x.len(), 0.0);
        }
        for (s, v) in sum.iter_mut().zip(&x) {
            *s += v;
        }
    }
    Ok(sum)
}

/// Decodes a song's signals at 16 kHz mono, padded to a common length.
pub fn load_song(song: &Song) -> Result<SongAudio, DataError> {
    let mut signals = match &song.sources {
        SongSources::Stems { vocals, accompaniment } => vec![load_sum(vocals)?, load_sum(accompaniment)?],
        SongSources::Karaoke { vocal_track, background_track } => {
            vec![load_ref(vocal_track)?, load_ref(background_track)?]
        }
        SongSources::Mixture { mixture } => vec![load_ref(mixture)?],
    };
    let len = signals.iter().map(Vec::len).max().unwrap_or(0);
    for s in &mut signals {
        s.resize(len, 0.0);
    }
    Ok(SongAudio { signals })
}
